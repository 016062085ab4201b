//! Window sizes of terminals: the local one `minipod exec -t` runs on and the pty master of
//! the process it started in a container (TIOCGWINSZ / TIOCSWINSZ, which need `unsafe`).

use std::io;
use std::os::fd::{AsFd, AsRawFd};

use libcontainer::workload::default::DefaultExecutor;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};
use oci_spec::runtime::Spec;

/// Rows and columns of a terminal (the pixel sizes are not used by anything minipod runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowSize {
    pub rows: u16,
    pub cols: u16,
}

/// The window size of the terminal `fd` refers to (ENOTTY when it is not one).
pub fn window_size(fd: impl AsFd) -> io::Result<WindowSize> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass, on a valid fd.
    let r = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::TIOCGWINSZ, &mut ws) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(WindowSize {
        rows: ws.ws_row,
        cols: ws.ws_col,
    })
}

/// Sets the window size of the terminal `fd` refers to; on a pty master the kernel sends
/// SIGWINCH to the foreground process group of the slave side.
pub fn set_window_size(fd: impl AsFd, size: WindowSize) -> io::Result<()> {
    let ws = libc::winsize {
        ws_row: size.rows,
        ws_col: size.cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one `winsize` from the struct we pass, on a valid fd.
    let r = unsafe { libc::ioctl(fd.as_fd().as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl From<WindowSize> for oci_spec::runtime::Box {
    fn from(size: WindowSize) -> Self {
        // Every field has a default: the builder cannot fail.
        oci_spec::runtime::BoxBuilder::default()
            .height(u64::from(size.rows))
            .width(u64::from(size.cols))
            .build()
            .unwrap_or_default()
    }
}

/// libcontainer's default executor, plus `process.consoleSize`, which libcontainer 0.7
/// ignores. It runs in the container's process right before the exec, where fd 0 is the pty
/// slave: setting the size there (rather than on the master once the caller has it) means the
/// command never sees the kernel's 0x0 first. `stty size` run straight away otherwise loses
/// that race about one time in three on a busy host.
#[derive(Clone)]
pub(crate) struct ConsoleSizeExecutor;

impl Executor for ConsoleSizeExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        let process = spec.process().as_ref();
        let size = process
            .filter(|p| p.terminal() == Some(true))
            .and_then(|p| p.console_size());
        if let Some(b) = size {
            let size = WindowSize {
                rows: u16::try_from(b.height()).unwrap_or(u16::MAX),
                cols: u16::try_from(b.width()).unwrap_or(u16::MAX),
            };
            // Best effort: a terminal without a size is no reason not to run the command.
            let _ = set_window_size(io::stdin(), size);
        }
        DefaultExecutor {}.exec(spec)
    }

    fn validate(&self, spec: &Spec) -> Result<(), ExecutorValidationError> {
        DefaultExecutor {}.validate(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pty_takes_and_reports_a_window_size() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let size = WindowSize {
            rows: 33,
            cols: 101,
        };
        set_window_size(&pty.master, size).unwrap();
        assert_eq!(window_size(&pty.slave).unwrap(), size);
    }

    #[test]
    fn a_pipe_is_not_a_terminal() {
        let (r, _w) = nix::unistd::pipe().unwrap();
        let err = window_size(&r).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
    }
}
