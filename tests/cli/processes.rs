//! How minipod starts and hosts processes: every process it starts in a container has the
//! signal state of a fresh process, `exec` without a tty never hands the caller's terminal to
//! the container, supervisors live in minipod's own cgroup and run from a binary no container
//! can write to, and huge durations are clamped or refused rather than panicking.
//! Privileged: they need root and fail without it (MINIPOD_SKIP_PRIVILEGED=1 skips them).

use std::process::Output;

use crate::common::{minipod_at, minipod_bin};
use crate::pods::{stderr, stdout, PodRoot};
use minipod_testsupport::or_skip;

/// The "SigIgn" and "SigBlk" lines of a /proc/<pid>/status text.
fn signal_lines(status: &str) -> Vec<String> {
    status
        .lines()
        .filter(|l| l.starts_with("SigIgn:") || l.starts_with("SigBlk:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

const FRESH: [&str; 2] = ["SigBlk: 0000000000000000", "SigIgn: 0000000000000000"];

fn assert_fresh(what: &str, status: &str) {
    let mut lines = signal_lines(status);
    lines.sort();
    assert_eq!(lines, FRESH, "{what}: {status}");
}

fn exec(root: &PodRoot, args: &[&str]) -> Output {
    let mut full = vec!["exec"];
    full.extend_from_slice(args);
    root.minipod(&full)
}

#[test]
fn every_container_process_starts_with_default_signals_and_an_empty_mask() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "sig.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: sig}
spec:
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  restartPolicy: OnFailure
  # The processes whose status is checked run cp, not a shell: busybox sh sets some
  # dispositions of its own (SIGQUIT) for the commands it starts.
  initContainers:
  - name: init
    image: busybox:1.35
    command: [cp, /proc/self/status, /shared/init]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: status
    image: busybox:1.35
    command: [cp, /proc/self/status, /shared/app]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: app
    image: busybox:1.35
    # With SIGPIPE ignored, `yes` spins on EPIPE forever once head is done.
    command: [sh, -c, "yes | head -c 2000000 | wc -c > /shared/yes.tmp; echo done >> /shared/yes.tmp; mv /shared/yes.tmp /shared/yes; sleep 3600"]
    volumeMounts: [{name: shared, mountPath: /shared}]
    lifecycle:
      postStart:
        exec: {command: [cp, /proc/self/status, /shared/hook]}
    readinessProbe:
      exec: {command: [cp, /proc/self/status, /shared/probe]}
      periodSeconds: 1
"#,
    );
    root.apply(&file, &[]);
    root.wait_for("sig", "app running", |p| {
        p["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["name"] == "app" && c["state"]["running"].is_object())
            })
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !["yes", "probe", "hook", "app"]
        .iter()
        .all(|f| shared.join(f).exists())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the pipeline or the probe never finished: {:?}",
            std::fs::read_dir(&shared)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let read = |f: &str| std::fs::read_to_string(shared.join(f)).unwrap();
    assert_eq!(read("yes"), "2000000\ndone\n");
    for f in ["init", "app", "hook", "probe"] {
        assert_fresh(f, &read(f));
    }
    // `minipod exec`, with and without stdin.
    for args in [
        &["sig", "-c", "app", "--"][..],
        &["sig", "-c", "app", "-i", "--"][..],
    ] {
        let mut full = args.to_vec();
        full.extend(["cat", "/proc/self/status"]);
        let out = exec(&root, &full);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_fresh("exec", &stdout(&out));
    }
    let out = exec(
        &root,
        &[
            "sig",
            "-c",
            "app",
            "--",
            "sh",
            "-c",
            "yes | head -c 100000 | wc -c",
        ],
    );
    assert_eq!(
        (out.status.code(), stdout(&out).trim()),
        (Some(0), "100000")
    );
}

/// Runs `minipod exec ARGS` on a fresh pty (stdin, stdout and stderr all the terminal), with
/// no input, and returns what appeared on the terminal.
fn exec_on_pty(root: &PodRoot, args: &[&str]) -> String {
    const DRIVER: &str = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors='replace'))
"#;
    root.exec_under(DRIVER, &[], args).replace('\r', "")
}

#[test]
fn exec_without_t_never_gives_the_container_the_callers_terminal() {
    let root = or_skip!(PodRoot::new());
    root.box_pod();
    let probe =
        "for n in 0 1 2; do if test -t $n; then echo $n:tty; else echo $n:notty; fi; done; \
                 ls -l /proc/self/fd/0 | sed 's/.*-> //'";
    // Under a terminal: -i gives a pipe, no -i gives /dev/null, and output comes back through
    // pipes to the terminal.
    let with_i = exec_on_pty(&root, &["-i", "box", "--", "sh", "-c", probe]);
    let lines: Vec<&str> = with_i.lines().collect();
    assert_eq!(lines[..3], ["0:notty", "1:notty", "2:notty"], "{with_i}");
    assert!(lines[3].starts_with("pipe:["), "{with_i}");
    let without = exec_on_pty(&root, &["box", "--", "sh", "-c", probe]);
    let lines: Vec<&str> = without.lines().collect();
    assert_eq!(lines[..3], ["0:notty", "1:notty", "2:notty"], "{without}");
    assert_eq!(lines[3], "/dev/null", "{without}");
    // kubectl's exact test from the issue.
    let out = exec_on_pty(
        &root,
        &[
            "-i",
            "box",
            "--",
            "sh",
            "-c",
            "test -t 0 && echo tty || echo notty",
        ],
    );
    assert_eq!(out, "notty\n");
    // Output on a terminal arrives in full and in order per stream; the exit code follows.
    let out = exec_on_pty(
        &root,
        &[
            "box",
            "--",
            "sh",
            "-c",
            "seq 1 20000 | tail -n 1; echo err >&2; exit 3",
        ],
    );
    assert!(out.starts_with("20000\n"), "{out}");
    assert!(out.contains("err\n"), "{out}");
    assert!(
        out.ends_with("command terminated with exit code 3\n"),
        "{out}"
    );
}

/// The pid of the process whose command line is `minipod ... __supervise UID`.
fn supervisor_pid(uid: &str) -> Option<i32> {
    for e in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args
            .windows(2)
            .any(|w| w[0] == b"__supervise" && w[1] == uid.as_bytes())
        {
            return Some(pid);
        }
    }
    None
}

/// The mount points of every cgroup hierarchy of this host.
fn cgroup_mounts() -> Vec<std::path::PathBuf> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(" - cgroup ") || l.contains(" - cgroup2 "))
        .map(|l| std::path::PathBuf::from(l.split(' ').nth(4).unwrap()))
        .collect()
}

/// Opening `/proc/<pid>/exe` for writing must fail: returns the errno.
fn exe_write_errno(pid: i32) -> i32 {
    match std::fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/exe"))
    {
        Ok(_) => panic!("/proc/{pid}/exe opened for writing"),
        Err(e) => e.raw_os_error().unwrap(),
    }
}

fn contents(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn supervisors_run_in_their_own_cgroup_from_a_read_only_binary() {
    let root = or_skip!(PodRoot::new());
    let pod = root.box_pod();
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
    let pid = supervisor_pid(&uid).expect("the supervisor runs");
    let before = contents(&minipod_bin());

    // Every hierarchy (v1 controllers, name=systemd, the v2 tree) names minipod's cgroup.
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let want = format!("/minipod.supervisors/{uid}");
    for line in cgroups.lines() {
        assert!(line.ends_with(&format!(":{want}")), "{cgroups}");
    }
    assert_eq!(cgroups.lines().count(), cgroup_mounts().len(), "{cgroups}");

    // CVE-2019-5736: the supervisor's binary is on a read-only overlay; so is an exec's.
    assert_eq!(exe_write_errno(pid), nix::errno::Errno::EROFS as i32);
    let mut exec = minipod_at(root.path())
        .args(["exec", "box", "--", "sleep", "5"])
        .spawn()
        .unwrap();
    let exec_pid = exec.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // Until it re-executed itself from the overlay, /proc/<pid>/exe is the host binary (both
    // its first mapping and its exe link must have moved: under load one is seen before the
    // other, and writing the running host binary is ETXTBSY, not EROFS).
    let host_bin = std::fs::canonicalize(minipod_bin()).unwrap();
    loop {
        let on_overlay = std::fs::read_to_string(format!("/proc/{exec_pid}/maps"))
            .unwrap_or_default()
            .lines()
            .next()
            .is_some_and(|l| !l.contains(minipod_bin().to_str().unwrap()));
        let exe = std::fs::read_link(format!("/proc/{exec_pid}/exe"));
        if on_overlay && exe.is_ok_and(|e| e != host_bin) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "exec never re-executed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(exe_write_errno(exec_pid), nix::errno::Errno::EROFS as i32);
    assert!(exec.wait().unwrap().success());
    assert_eq!(contents(&minipod_bin()), before, "the host binary changed");

    // Removing the pod removes the supervisor's cgroup in every hierarchy.
    let out = root.minipod(&["delete", "pod", "box", "--grace-period=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let left: Vec<_> = cgroup_mounts()
        .into_iter()
        .map(|m| m.join("minipod.supervisors").join(&uid))
        .filter(|d| d.exists())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// No panic: exit code 101 and "panicked at" are Rust's panic signature.
fn assert_no_panic(out: &Output) {
    assert_ne!(out.status.code(), Some(101), "{}", stderr(out));
    assert!(!stderr(out).contains("panicked at"), "{}", stderr(out));
}

#[test]
fn huge_durations_are_refused_or_clamped_never_a_panic() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "long.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: long}
spec:
  terminationGracePeriodSeconds: 9223372036854775807
  containers:
  - name: c
    image: busybox:1.35
    command: [sleep, "3600"]
    lifecycle:
      postStart: {sleep: {seconds: 9223372036854775807}}
      preStop: {sleep: {seconds: 9223372036854775806}}
"#,
    );
    // Flags: kubectl's (Go's) duration limit, with a clear message.
    for args in [
        &[
            "wait",
            "pod/long",
            "--for=delete",
            "--timeout",
            "100000000000000000000s",
        ][..],
        &[
            "run",
            "--timeout",
            "100000000000000000000s",
            "-f",
            file.to_str().unwrap(),
        ][..],
        &[
            "delete",
            "pod",
            "long",
            "--timeout",
            "99999999999999999999h",
        ][..],
    ] {
        let out = root.minipod(args);
        assert_no_panic(&out);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&out).contains("invalid duration"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A sleep longer than the (defaulted) grace period is refused as the API server does.
    let short = root.manifest(
        "short.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: short}
spec:
  containers:
  - name: c
    image: busybox:1.35
    command: [sleep, "3600"]
    lifecycle: {preStop: {sleep: {seconds: 9223372036854775807}}}
"#,
    );
    let out = root.apply_with_env(&short, &[]);
    assert_no_panic(&out);
    assert!(
        stderr(&out)
            .contains("must be non-negative and less than terminationGracePeriodSeconds (30)"),
        "{}",
        stderr(&out)
    );

    // Valid but huge: the postStart sleep runs (clamped) without the supervisor panicking.
    root.apply(&file, &[]);
    let pod = root.wait_for("long", "started", |p| {
        p["status"]["containerStatuses"][0]["state"]["running"].is_object()
            || p["status"]["containerStatuses"][0]["state"]["waiting"].is_object()
    });
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let pid = supervisor_pid(&uid).expect("the supervisor is still alive");
    // A huge --grace-period is taken too: the pod starts terminating, the supervisor lives.
    let out = root.minipod(&[
        "delete",
        "pod",
        "long",
        "--grace-period=9223372036854775807",
        "--wait=false",
    ]);
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the supervisor died"
    );
    let p = root.pod_json("long");
    assert!(p["metadata"]["deletionTimestamp"].is_string(), "{p}");
    // A later, shorter deletion shortens the kill under way (the kubelet's pod worker does
    // the same): a forced delete ends the pod within the 2 s minimum, not a century later.
    // (`--timeout` turns a hang into a failed delete.)
    let out = root.minipod(&[
        "delete",
        "pod",
        "long",
        "--grace-period=0",
        "--force",
        "--timeout=30s",
    ]);
    assert_no_panic(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && std::time::Instant::now() < end
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the supervisor outlived its pod"
    );
}
