//! The attach-lock warm-up helper forked around container creates and execs (see
//! [`AttachLockWarmup`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::CgroupLayout;

/// A helper process that keeps the kernel's cgroup attach lock warm while a container is
/// created (or a process exec'd into one); [`AttachLockWarmup::finish`] stops and reaps it.
///
/// Every write to a `cgroup.procs` file (any hierarchy, v1 or v2) takes the global
/// `cgroup_threadgroup_rwsem` for writing. A writer that finds it idle first waits for a full
/// RCU grace period (`rcu_sync_enter`), 5–15 ms on this kind of host with the CPUs idle, and
/// the lock goes idle again one or two grace periods after the last writer. A container
/// create pays that wait at libcontainer's first v1 join, in its intermediate process, after
/// it spent milliseconds building its cgroup manager, and often once more at minipod's join
/// of the hybrid v2 mirror, after the init's set-up.
///
/// The helper writes itself back into the cgroup it already is in (a migration that moves
/// nothing) at once and then every 2 ms: the first grace period runs while the
/// supervisor and the intermediate work, and the later joins find the lock warm. It touches
/// only its own membership, holds no fd of the supervisor, and ends when killed by
/// [`AttachLockWarmup::finish`], when the supervisor dies, or after 2 s. A failure
/// (no cgroup file system, a cgroup namespace that hides the path) only loses the head start.
#[derive(Debug)]
pub struct AttachLockWarmup {
    pub(super) child: Option<Pid>,
}

/// How often the warm-up helper takes the attach lock: well under one grace period.
const WARMUP_INTERVAL: Duration = Duration::from_millis(2);
/// How long the helper keeps the lock warm at most (a create takes tens of milliseconds).
const WARMUP_MAX: Duration = Duration::from_secs(2);

impl AttachLockWarmup {
    /// Forks the helper. The child allocates (reading /proc/self/cgroup), which glibc's
    /// `fork` keeps safe even if the caller has other threads; it takes no other lock.
    pub fn start() -> AttachLockWarmup {
        let none = AttachLockWarmup { child: None };
        let Ok(layout) = CgroupLayout::host() else {
            return none;
        };
        // The hierarchy to write in, and how /proc/self/cgroup names it.
        let (mount, key): (PathBuf, String) = match layout {
            CgroupLayout::Unified { root } => (root.clone(), String::new()),
            CgroupLayout::Legacy {
                unified: Some(u), ..
            } => (u.clone(), String::new()),
            CgroupLayout::Legacy { hierarchies, .. } => match hierarchies.first() {
                Some(h) => (h.mount.clone(), h.controllers.join(",")),
                None => return none,
            },
        };
        use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
        // Signals stay blocked in the child: a handler inherited from the supervisor (a
        // self-pipe) must not run there. SIGKILL still ends it.
        let mut old = SigSet::empty();
        if pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), Some(&mut old)).is_err() {
            return none;
        }
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the child only allocates, reads and writes files and sleeps, and leaves
        // with _exit (no atexit handlers, no flush of the parent's buffers).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            warmup_child(&mount, &key, parent);
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(0) };
        }
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
        AttachLockWarmup {
            child: (pid > 0).then(|| Pid::from_raw(pid)),
        }
    }

    /// Stops and reaps the helper: call it once the container's cgroup joins are done.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(pid) = self.child.take() {
            let _ = kill(pid, Signal::SIGKILL);
            while let Err(nix::Error::EINTR) = nix::sys::wait::waitpid(pid, None) {}
        }
    }
}

impl Drop for AttachLockWarmup {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The warm-up helper: writes "0" (itself) into the `cgroup.procs` of the cgroup it is in, in
/// the hierarchy mounted at `mount` whose /proc/self/cgroup line has controllers `key` (empty:
/// the v2 line), every [`WARMUP_INTERVAL`] until killed, orphaned or [`WARMUP_MAX`] passed.
fn warmup_child(mount: &Path, key: &str, parent: libc::pid_t) {
    // SAFETY: plain prctl; then the parent check closes the race with its exit.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    // SAFETY: plain syscall.
    if unsafe { libc::getppid() } != parent {
        return;
    }
    let Ok(text) = fs::read_to_string("/proc/self/cgroup") else {
        return;
    };
    let Some(rel) = text.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, ctrl, path) = (f.next()?, f.next()?, f.next()?);
        (ctrl == key).then_some(path)
    }) else {
        return;
    };
    let procs = mount.join(rel.trim_start_matches('/')).join("cgroup.procs");
    let Ok(file) = fs::OpenOptions::new().write(true).open(procs) else {
        return;
    };
    // Nothing of the supervisor's stays open here (pipes whose EOF it waits for, sockets):
    // only the cgroup file, as fd 0.
    use std::os::fd::AsRawFd;
    // SAFETY: fd juggling on this process's own table.
    unsafe {
        if libc::dup2(file.as_raw_fd(), 0) != 0 {
            return;
        }
        libc::syscall(libc::SYS_close_range, 1u32, u32::MAX, 0u32);
    }
    std::mem::forget(file);
    let start = Instant::now();
    while start.elapsed() < WARMUP_MAX {
        // SAFETY: writes one byte from a static buffer to fd 0.
        if unsafe { libc::write(0, b"0".as_ptr().cast(), 1) } < 0 {
            return;
        }
        std::thread::sleep(WARMUP_INTERVAL);
    }
}
