//! Window sizes of terminals: the local one `minipod exec -t` runs on and the pty master of
//! the process it started in a container (TIOCGWINSZ / TIOCSWINSZ, which need `unsafe`), and
//! the executor that starts every container process (fresh signal state, console size).

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
/// ignores, plus the signal state of a fresh process. It runs in the container's process right
/// before the exec, where fd 0 is the pty slave: setting the size there (rather than on the
/// master once the caller has it) means the command never sees the kernel's 0x0 first. `stty
/// size` run straight away otherwise loses that race about one time in three on a busy host.
///
/// Every container process (app and init containers, exec hooks and probes, `minipod exec`)
/// starts through this executor: libcontainer creates them with [`crate::container`]'s
/// builders, which all set it.
#[derive(Clone)]
pub(crate) struct ConsoleSizeExecutor;

impl Executor for ConsoleSizeExecutor {
    fn exec(&self, spec: &Spec) -> Result<(), ExecutorError> {
        reset_signals();
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

/// The highest signal number of Linux (`SIGRTMAX` as the kernel counts, without glibc's
/// reserved ones taken off).
const SIGNAL_MAX: libc::c_int = 64;

/// Gives the calling process the signal state of a fresh one: every catchable signal back
/// to its default action, an empty signal mask. Dispositions set to "ignore" and the mask
/// survive `execve`; without this a container inherits what its creator had, and Rust's
/// runtime ignores SIGPIPE at start, so `yes | head` never ends (yes spins on EPIPE). runc
/// and crun likewise reset every signal and clear the mask in the container's process before
/// its exec.
///
/// Raw syscalls rather than libc's wrappers: glibc refuses to touch the signals it reserves
/// for itself (32 and 33, SIGCANCEL and SIGSETXID), yet an inherited "ignore" on them survives
/// exec like any other. A signal the kernel refuses (SIGKILL, SIGSTOP) is skipped. Called
/// right before exec in the container's single-threaded process.
pub(crate) fn reset_signals() {
    for sig in 1..=SIGNAL_MAX {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        let _ = set_default_action(sig);
    }
    let empty: u64 = 0;
    // SAFETY: rt_sigprocmask reads one kernel sigset (8 bytes on Linux, the size passed) from
    // a valid pointer and writes nothing (old set NULL).
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        );
    }
}

/// The kernel's `struct sigaction` for rt_sigaction on the architectures whose layout is
/// handler, flags, restorer, mask (x86_64, aarch64, riscv64 and the other generic ones).
#[repr(C)]
struct KernelSigaction {
    handler: libc::c_ulong,
    flags: libc::c_ulong,
    restorer: libc::c_ulong,
    mask: u64,
}

/// Sets signal `sig`'s action to SIG_DFL with the raw syscall.
fn set_default_action(sig: libc::c_int) -> io::Result<()> {
    let act = KernelSigaction {
        handler: libc::SIG_DFL as libc::c_ulong,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: rt_sigaction reads one kernel sigaction from a valid pointer; SIG_DFL needs no
    // restorer; the old action is not asked for (NULL).
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &act as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            std::mem::size_of::<u64>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
