use super::*;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

// The reactor reaps these children by pidfd, not through std's Child.
#[allow(clippy::zombie_processes)]
fn spawn(script: &str) -> (i32, OwnedFd, OwnedFd) {
    let mut child = Command::new("/bin/sh")
        .args(["-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = OwnedFd::from(child.stdout.take().unwrap());
    let err = OwnedFd::from(child.stderr.take().unwrap());
    (child.id() as i32, out, err)
}

fn run_until_exit(r: &mut Reactor, token: Token) -> (ExitStatus, Vec<u8>, Vec<u8>) {
    let (mut status, mut out, mut err) = (None, Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(10);
    while status.is_none() || r.has_output(token) {
        assert!(Instant::now() < deadline, "timed out");
        for ev in r.wait(Some(deadline)).unwrap() {
            match ev {
                Event::Exited {
                    token: t,
                    status: s,
                } if t == token => status = Some(s),
                Event::Output {
                    stream: Stream::Stdout,
                    bytes,
                    ..
                } => out.extend(bytes),
                Event::Output {
                    stream: Stream::Stderr,
                    bytes,
                    ..
                } => err.extend(bytes),
                _ => {}
            }
        }
    }
    (status.unwrap(), out, err)
}

#[test]
fn exit_code_and_both_streams_are_reported() {
    let mut r = Reactor::new(&[]).unwrap();
    let (pid, out, err) = spawn("echo hello; echo oops >&2; exit 3");
    r.watch_pid(7, pid, true).unwrap();
    r.watch_output(7, Stream::Stdout, out).unwrap();
    r.watch_output(7, Stream::Stderr, err).unwrap();
    let (status, out, err) = run_until_exit(&mut r, 7);
    assert_eq!(status, ExitStatus::Exited(3));
    assert_eq!(out, b"hello\n");
    assert_eq!(err, b"oops\n");
    assert!(!r.is_watching(7));
}

#[test]
fn output_written_before_an_exit_is_reported_before_it() {
    let mut r = Reactor::new(&[]).unwrap();
    let (pid, out, err) = spawn("echo last words; exit 1");
    drop(err);
    r.watch_pid(4, pid, true).unwrap();
    r.watch_output(4, Stream::Stdout, out).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        for ev in r.wait(Some(deadline)).unwrap() {
            match ev {
                Event::Output { bytes, .. } => seen.extend(bytes),
                Event::Exited { .. } => {
                    assert_eq!(seen, b"last words\n");
                    return;
                }
                _ => {}
            }
        }
        assert!(Instant::now() < deadline, "timed out");
    }
}

#[test]
fn a_killed_process_reports_128_plus_signal() {
    let mut r = Reactor::new(&[]).unwrap();
    let (pid, out, err) = spawn("kill -9 $$");
    drop((out, err));
    r.watch_pid(1, pid, true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = loop {
        let evs = r.wait(Some(deadline)).unwrap();
        if !evs.is_empty() {
            break evs;
        }
    };
    assert_eq!(
        events,
        vec![Event::Exited {
            token: 1,
            status: ExitStatus::Signaled(9)
        }]
    );
    assert_eq!(ExitStatus::Signaled(9).code(), 137);
}

#[test]
fn a_signal_becomes_an_event() {
    let mut r = Reactor::new(&[Signal::SIGUSR2]).unwrap();
    nix::sys::signal::raise(Signal::SIGUSR2).unwrap();
    let evs = r.wait_for(Duration::from_secs(5)).unwrap();
    assert_eq!(evs, vec![Event::Signal(Signal::SIGUSR2)]);
}

#[test]
fn a_deadline_with_nothing_ready_returns_empty() {
    let mut r = Reactor::new(&[]).unwrap();
    let start = Instant::now();
    let evs = r.wait_for(Duration::from_millis(30)).unwrap();
    assert!(evs.is_empty());
    assert!(start.elapsed() >= Duration::from_millis(30));
}
