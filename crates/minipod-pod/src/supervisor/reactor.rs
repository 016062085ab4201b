//! The supervisor's single-threaded event loop: one `poll(2)` over a signalfd, a pidfd per
//! watched process and the read ends of container output pipes.
//!
//! Why not threads: libcontainer clones and runs Rust code in the child, so a second thread
//! holding the allocator lock at that moment deadlocks the child (docs/architecture.md, "A pod's lifetime"). Why pidfds:
//! the supervisor must reap exactly its own processes — `waitpid(-1)` could steal an exit status
//! some library expects — and a pidfd cannot name a recycled pid. Why a self-pipe rather than
//! a signalfd: a signalfd needs the signals blocked, and a blocked mask is inherited by every
//! process started from here — containers would then ignore their stop signal.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use std::os::unix::net::UnixStream;

use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use rustix::process::{Pid, PidfdFlags, WaitId, WaitIdOptions};

/// Identifies what the caller watches; chosen by the caller.
pub type Token = u64;

/// Which output stream of a container a pipe carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a watched process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// The shell's and the kubelet's convention: 128 + N for signal N.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled(sig) => 128 + sig,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Exited {
        token: Token,
        status: ExitStatus,
    },
    Output {
        token: Token,
        stream: Stream,
        bytes: Vec<u8>,
    },
    /// The writer side of the pipe is gone (the process and all its children closed it).
    OutputClosed {
        token: Token,
        stream: Stream,
    },
    Signal(Signal),
}

#[derive(Debug, thiserror::Error)]
pub enum ReactorError {
    #[error("handle signal {signal}")]
    Signals {
        signal: Signal,
        #[source]
        source: io::Error,
    },
    #[error("watch process {pid}")]
    PidfdOpen {
        pid: i32,
        #[source]
        source: io::Error,
    },
    #[error("poll")]
    Poll(#[source] nix::Error),
}

struct WatchedPid {
    pidfd: OwnedFd,
    /// Whether the reactor reaps the process, or only reports its exit and leaves the zombie
    /// for its owner's own wait (libcontainer's container and exec handles wait themselves).
    reap: bool,
}

struct WatchedPipe {
    token: Token,
    stream: Stream,
    file: std::fs::File,
}

pub struct Reactor {
    /// Read ends of one self-pipe per handled signal.
    signals: Vec<(Signal, UnixStream)>,
    pids: BTreeMap<Token, WatchedPid>,
    pipes: Vec<WatchedPipe>,
}

impl Reactor {
    /// Delivers `signals` as [`Event::Signal`] instead of their default action. The handler
    /// only writes a byte to a pipe; processes started later get default dispositions back at
    /// exec and an unblocked mask.
    pub fn new(signals: &[Signal]) -> Result<Self, ReactorError> {
        let mut pipes = Vec::with_capacity(signals.len());
        for &signal in signals {
            let register = || -> io::Result<UnixStream> {
                let (read, write) = UnixStream::pair()?;
                read.set_nonblocking(true)?;
                write.set_nonblocking(true)?;
                signal_hook::low_level::pipe::register(signal as i32, write)?;
                Ok(read)
            };
            let read = register().map_err(|source| ReactorError::Signals { signal, source })?;
            pipes.push((signal, read));
        }
        Ok(Reactor {
            signals: pipes,
            pids: BTreeMap::new(),
            pipes: Vec::new(),
        })
    }

    /// Watches a child of this process; its exit is reported once. With `reap` the reactor
    /// reaps it; otherwise the owner must wait for it right after the report.
    pub fn watch_pid(&mut self, token: Token, pid: i32, reap: bool) -> Result<(), ReactorError> {
        let pidfd = Pid::from_raw(pid)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
            .and_then(|p| rustix::process::pidfd_open(p, PidfdFlags::empty()).map_err(Into::into))
            .map_err(|source| ReactorError::PidfdOpen { pid, source })?;
        self.pids.insert(token, WatchedPid { pidfd, reap });
        Ok(())
    }

    /// Forgets a process without reaping it (someone else waits for it).
    pub fn unwatch_pid(&mut self, token: Token) {
        self.pids.remove(&token);
    }

    pub fn is_watching(&self, token: Token) -> bool {
        self.pids.contains_key(&token)
    }

    /// Reads a pipe until its writers close it. The fd is made non-blocking.
    pub fn watch_output(&mut self, token: Token, stream: Stream, fd: OwnedFd) -> io::Result<()> {
        let flags = rustix::fs::fcntl_getfl(&fd)?;
        rustix::fs::fcntl_setfl(&fd, flags | rustix::fs::OFlags::NONBLOCK)?;
        self.pipes.push(WatchedPipe {
            token,
            stream,
            file: std::fs::File::from(fd),
        });
        Ok(())
    }

    /// Whether any pipe of this token is still open.
    pub fn has_output(&self, token: Token) -> bool {
        self.pipes.iter().any(|p| p.token == token)
    }

    /// Waits until something happens or `deadline` passes; returns what happened (possibly
    /// nothing, on timeout). Interrupted polls are retried.
    pub fn wait(&mut self, deadline: Option<Instant>) -> Result<Vec<Event>, ReactorError> {
        loop {
            let timeout = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    // Round up so that a wake-up never comes before the deadline.
                    let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
                }
            };
            let ready = {
                let mut fds =
                    Vec::with_capacity(self.signals.len() + self.pids.len() + self.pipes.len());
                for (_, read) in &self.signals {
                    fds.push(PollFd::new(read.as_fd(), PollFlags::POLLIN));
                }
                for w in self.pids.values() {
                    fds.push(PollFd::new(w.pidfd.as_fd(), PollFlags::POLLIN));
                }
                for p in &self.pipes {
                    fds.push(PollFd::new(p.file.as_fd(), PollFlags::POLLIN));
                }
                match nix::poll::poll(&mut fds, timeout) {
                    Ok(_) => {}
                    Err(nix::Error::EINTR) => continue,
                    Err(e) => return Err(ReactorError::Poll(e)),
                }
                fds.iter()
                    .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
                    .collect::<Vec<bool>>()
            };
            let mut events = Vec::new();
            let nsig = self.signals.len();
            for (i, (signal, read)) in self.signals.iter_mut().enumerate() {
                // Empty the pipe before acting, so a signal arriving meanwhile wakes us again.
                if ready[i] && drain_signal_pipe(read) {
                    events.push(Event::Signal(*signal));
                }
            }
            let pid_tokens: Vec<Token> = self.pids.keys().copied().collect();
            // Pipes are drained before exits are reported, so what a process wrote before it
            // exited is in its log when its exit is handled (FallbackToLogsOnError reads it).
            // A pipe may still outlive its process (grandchildren keep it open): each is
            // drained independently.
            let base = nsig + pid_tokens.len();
            let mut closed = Vec::new();
            for (i, pipe) in self.pipes.iter_mut().enumerate() {
                if ready[base + i] && drain_pipe(pipe, &mut events) {
                    closed.push(i);
                }
            }
            for i in closed.into_iter().rev() {
                let pipe = self.pipes.remove(i);
                events.push(Event::OutputClosed {
                    token: pipe.token,
                    stream: pipe.stream,
                });
            }
            for (i, token) in pid_tokens.iter().enumerate() {
                if ready[nsig + i] {
                    self.reap(*token, &mut events);
                }
            }
            if !events.is_empty() || deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(events);
            }
        }
    }

    /// Like [`Reactor::wait`] with a relative timeout.
    pub fn wait_for(&mut self, timeout: Duration) -> Result<Vec<Event>, ReactorError> {
        self.wait(Some(crate::time::deadline_after(Instant::now(), timeout)))
    }

    fn reap(&mut self, token: Token, events: &mut Vec<Event>) {
        let Some(w) = self.pids.get(&token) else {
            return;
        };
        let mut options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG;
        if !w.reap {
            options |= WaitIdOptions::NOWAIT;
        }
        let status = rustix::process::waitid(WaitId::PidFd(w.pidfd.as_fd()), options);
        let status = match status {
            Ok(Some(st)) => {
                if let Some(code) = st.exit_status() {
                    ExitStatus::Exited(code)
                } else if let Some(sig) = st.terminating_signal() {
                    ExitStatus::Signaled(sig)
                } else {
                    // Stopped/continued notifications are not asked for (EXITED only).
                    return;
                }
            }
            // Readable but not yet waitable: try again on the next poll.
            Ok(None) => return,
            Err(e) => {
                // ECHILD: not our child (or reaped elsewhere). The exit happened; report it
                // with an unknown status rather than waiting forever.
                log::warn!(
                    "waitid on watched process (fd {}): {e}",
                    w.pidfd.as_raw_fd()
                );
                ExitStatus::Exited(255)
            }
        };
        self.pids.remove(&token);
        events.push(Event::Exited { token, status });
    }
}

/// Empties a signal self-pipe; true when at least one signal had arrived.
fn drain_signal_pipe(read: &mut UnixStream) -> bool {
    let mut buf = [0u8; 64];
    let mut got = false;
    loop {
        match read.read(&mut buf) {
            Ok(0) => return got,
            Ok(_) => got = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return got,
        }
    }
}

/// The most one pass reads from one pipe. A container writing without pause refills its
/// pipe as fast as it is read, so "read until it would block" could hold any amount of output
/// in memory before it reaches the log file; the rest is read on the next pass (poll is
/// level-triggered), and meanwhile the full pipe makes the writer wait, as a slow disk would.
const MAX_READ_PER_PASS: usize = 256 * 1024;

/// Reads what is available, up to [`MAX_READ_PER_PASS`]; true when the pipe reached end of
/// file.
fn drain_pipe(pipe: &mut WatchedPipe, events: &mut Vec<Event>) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let mut taken = 0;
    loop {
        if taken >= MAX_READ_PER_PASS {
            return false;
        }
        match pipe.file.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => {
                taken += n;
                events.push(Event::Output {
                    token: pipe.token,
                    stream: pipe.stream,
                    bytes: buf[..n].to_vec(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("read container output: {e}");
                return true;
            }
        }
    }
}

#[cfg(test)]
mod tests;
