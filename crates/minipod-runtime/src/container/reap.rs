//! The one child-reaper of the container module: a process this process created (a
//! container's init, which libcontainer clones with `CLONE_PARENT`, or an exec) is signalled
//! and waited for by its pid, never `waitpid(-1)`, and its exit status is kept once reaped so
//! that a later signal cannot reach a recycled pid.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{ContainerError, ExitStatus, Result};

/// A direct child of this process and, once reaped, how it ended.
#[derive(Debug)]
pub(super) struct Child {
    /// The container's name, for errors.
    name: String,
    pid: Pid,
    exit: Option<ExitStatus>,
}

impl Child {
    /// A running child of container `name`.
    pub(super) fn new(name: String, pid: Pid) -> Child {
        Child {
            name,
            pid,
            exit: None,
        }
    }

    /// A child that is already gone (or never was) with this status: signals and waits do
    /// nothing.
    pub(super) fn exited(name: String, pid: Pid, status: ExitStatus) -> Child {
        Child {
            name,
            pid,
            exit: Some(status),
        }
    }

    pub(super) fn pid(&self) -> Pid {
        self.pid
    }

    /// The exit status, once reaped.
    pub(super) fn exit(&self) -> Option<ExitStatus> {
        self.exit
    }

    /// A pidfd for the child (readable when it exits), for a poll-based event loop.
    pub(super) fn pidfd(&self) -> io::Result<OwnedFd> {
        pidfd_open(self.pid.as_raw())
    }

    /// Sends `signal` to the child. Once reaped, or when it is already gone, nothing happens.
    pub(super) fn signal(&self, signal: Signal) -> Result<()> {
        if self.exit.is_some() {
            return Ok(());
        }
        match nix::sys::signal::kill(self.pid, signal) {
            Ok(()) | Err(nix::Error::ESRCH) => Ok(()),
            Err(source) => Err(ContainerError::Signal {
                name: self.name.clone(),
                signal,
                source,
            }),
        }
    }

    /// The exit status if the child has exited (reaps it), without blocking. `oom_killed` is
    /// asked once, right after the reap.
    pub(super) fn try_wait(&mut self, oom_killed: &dyn Fn() -> bool) -> Result<Option<ExitStatus>> {
        self.wait_flags(Some(WaitPidFlag::WNOHANG), oom_killed)
    }

    /// Blocks until the child exits; returns its status (cached after the first call).
    pub(super) fn wait(&mut self, oom_killed: &dyn Fn() -> bool) -> Result<ExitStatus> {
        loop {
            if let Some(s) = self.wait_flags(None, oom_killed)? {
                return Ok(s);
            }
        }
    }

    fn wait_flags(
        &mut self,
        flags: Option<WaitPidFlag>,
        oom_killed: &dyn Fn() -> bool,
    ) -> Result<Option<ExitStatus>> {
        if let Some(s) = self.exit {
            return Ok(Some(s));
        }
        let ws = match waitpid(self.pid, flags) {
            Ok(ws) => ws,
            Err(nix::Error::EINTR) => return Ok(None),
            Err(source) => {
                return Err(ContainerError::Wait {
                    name: self.name.clone(),
                    pid: self.pid.as_raw(),
                    source,
                })
            }
        };
        let Some((code, signal)) = from_wait(ws) else {
            return Ok(None);
        };
        let s = ExitStatus {
            code,
            signal,
            oom_killed: oom_killed(),
        };
        self.exit = Some(s);
        Ok(Some(s))
    }
}

/// The exit code (128 + signal number for a killed process, as the kubelet reports it) and the
/// signal, for a wait status that says the process ended.
fn from_wait(ws: WaitStatus) -> Option<(i32, Option<i32>)> {
    match ws {
        WaitStatus::Exited(_, code) => Some((code, None)),
        WaitStatus::Signaled(_, sig, _) => Some((128 + sig as i32, Some(sig as i32))),
        _ => None,
    }
}

/// `pidfd_open(2)`: the fd is close-on-exec by definition.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
