//! Unit tests of `terminal.rs`.

use super::*;

/// A hex field ("SigIgn", "SigBlk") of /proc/<pid>/status.
fn status_field(pid: i32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:\t")))
        .unwrap()
        .to_owned()
}

#[test]
fn reset_signals_clears_ignored_signals_and_the_mask() {
    // In a forked child: the test harness's own signal state is left alone.
    let (r, to_parent) = nix::unistd::pipe().unwrap();
    let (from_parent, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only makes raw syscalls and writes to a pipe before _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: async-signal-safe calls only, ending in _exit.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_IGN);
            libc::signal(libc::SIGUSR1, libc::SIG_IGN);
            // Signal 32 is glibc's: only the raw syscall reaches it.
            libc::syscall(
                libc::SYS_rt_sigaction,
                32,
                &KernelSigaction {
                    handler: libc::SIG_IGN as libc::c_ulong,
                    flags: 0,
                    restorer: 0,
                    mask: 0,
                } as *const KernelSigaction,
                std::ptr::null_mut::<KernelSigaction>(),
                8usize,
            );
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGCHLD);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            let mut b = [0u8; 1];
            // Tell the parent the state is set, then wait until it has looked.
            libc::write(to_parent.as_raw_fd(), b.as_ptr().cast(), 1);
            libc::read(from_parent.as_raw_fd(), b.as_mut_ptr().cast(), 1);
            reset_signals();
            libc::write(to_parent.as_raw_fd(), b.as_ptr().cast(), 1);
            libc::read(from_parent.as_raw_fd(), b.as_mut_ptr().cast(), 1);
            libc::_exit(0);
        }
    }
    let step = || {
        let mut b = [0u8; 1];
        nix::unistd::read(r.as_raw_fd(), &mut b).unwrap();
    };
    let go = || nix::unistd::write(&w, b"g").unwrap();
    step();
    let ign = u64::from_str_radix(&status_field(pid, "SigIgn"), 16).unwrap();
    let blk = u64::from_str_radix(&status_field(pid, "SigBlk"), 16).unwrap();
    let bit = |s: i32| 1u64 << (s - 1);
    assert_eq!(
        ign & (bit(libc::SIGPIPE) | bit(libc::SIGUSR1) | bit(32)),
        bit(libc::SIGPIPE) | bit(libc::SIGUSR1) | bit(32)
    );
    assert_eq!(
        blk & (bit(libc::SIGTERM) | bit(libc::SIGCHLD)),
        bit(libc::SIGTERM) | bit(libc::SIGCHLD)
    );
    go();
    step();
    assert_eq!(status_field(pid, "SigIgn"), "0000000000000000");
    assert_eq!(status_field(pid, "SigBlk"), "0000000000000000");
    go();
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
}

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
