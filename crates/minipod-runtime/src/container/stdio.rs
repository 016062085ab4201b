//! The file descriptors that become a container's (or an exec's) fd 0, 1 and 2: pipes whose
//! other ends the supervisor reads (logs) and writes (stdin), or /dev/null.

use std::fs::OpenOptions;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;

/// The file descriptors that become the container's fd 0, 1 and 2.
#[derive(Debug)]
pub struct ContainerStdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// The supervisor's ends of the pipes made by [`ContainerStdio::pipes`].
#[derive(Debug)]
pub struct StdioPipes {
    /// Write end of the container's stdin (`None`: stdin is /dev/null).
    pub stdin: Option<OwnedFd>,
    /// Read end of the container's stdout.
    pub stdout: OwnedFd,
    /// Read end of the container's stderr.
    pub stderr: OwnedFd,
}

fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)
}

fn dev_null(write: bool) -> io::Result<OwnedFd> {
    let f = OpenOptions::new()
        .read(!write)
        .write(write)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/null")?;
    Ok(f.into())
}

impl ContainerStdio {
    /// Pipes for stdout and stderr (and stdin when `with_stdin`, else /dev/null). Every fd is
    /// close-on-exec; libcontainer dup2s the container's ends onto 0, 1, 2 in the child.
    pub fn pipes(with_stdin: bool) -> io::Result<(ContainerStdio, StdioPipes)> {
        let (out_r, out_w) = pipe_cloexec()?;
        let (err_r, err_w) = pipe_cloexec()?;
        let (stdin, stdin_w) = if with_stdin {
            let (r, w) = pipe_cloexec()?;
            (r, Some(w))
        } else {
            (dev_null(false)?, None)
        };
        Ok((
            ContainerStdio {
                stdin,
                stdout: out_w,
                stderr: err_w,
            },
            StdioPipes {
                stdin: stdin_w,
                stdout: out_r,
                stderr: err_r,
            },
        ))
    }

    /// stdin, stdout and stderr all /dev/null.
    pub fn null() -> io::Result<ContainerStdio> {
        Ok(ContainerStdio {
            stdin: dev_null(false)?,
            stdout: dev_null(true)?,
            stderr: dev_null(true)?,
        })
    }
}
