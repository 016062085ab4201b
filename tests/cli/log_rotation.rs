//! Bounded logs end to end (privileged: real pods): CRI log rotation as the kubelet does it,
//! `logs` across rotated files (`--tail`, `-f`), only two attempts' logs kept, repeated events
//! folded in `describe`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::minipod_at;
use crate::pods::{stderr, stdout, PodRoot};
use minipod_testsupport::or_skip;

/// The log directory of container `app` of pod `name`.
fn log_dir(root: &PodRoot, name: &str) -> PathBuf {
    let uid = root.pod_json(name)["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    root.path().join("pods").join(uid).join("logs/app")
}

fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        e.metadata().map(|m| m.len()).unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn wait_until(what: &str, secs: u64, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !pred() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pid of the supervisor of the pod with `uid` (`minipod ... __supervise UID`).
fn supervisor_pid(uid: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        (args.contains(&&b"__supervise"[..]) && args.contains(&uid.as_bytes())).then_some(pid)
    })
}

fn vm_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn two_hundred_megabytes_of_stdout_leave_at_most_fifty_on_disk_and_flat_supervisor_memory() {
    let root = or_skip!(PodRoot::new());
    // 200 MB in lines of 1000 bytes; then "done" and a pause to measure before the end.
    let file = root.manifest(
        "big.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.35
    command:
    - sh
    - -c
    - |
      sleep 1
      s=$(head -c 999 /dev/zero | tr '\0' a)
      i=0; while [ $i -lt 1000 ]; do echo $s; i=$((i+1)); done > /tmp/mb
      i=0; while [ $i -lt 200 ]; do cat /tmp/mb; i=$((i+1)); done
      echo done
      sleep 30
"#,
    );
    root.apply(&file, &[]);
    let uid = root.pod_json("big")["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut pid = None;
    wait_until("the supervisor", 10, || {
        pid = supervisor_pid(&uid);
        pid.is_some()
    });
    let pid = pid.unwrap();
    root.wait_for_phase("big", "Running");
    let hwm_before = vm_kib(pid, "VmHWM:");
    let anon_before = vm_kib(pid, "RssAnon:");
    let mut anon_max = anon_before;
    let dir = log_dir(&root, "big");
    let started = Instant::now();
    let mut max_total = 0u64;
    let mut max_files = 0usize;
    wait_until("the 200 MB to be written", 60, || {
        let f = files(&dir);
        max_total = max_total.max(f.iter().map(|(_, s)| s).sum());
        max_files = max_files.max(f.len());
        anon_max = anon_max.max(vm_kib(pid, "RssAnon:"));
        std::fs::read_to_string(dir.join("0.log")).is_ok_and(|t| t.ends_with(" stdout F done\n"))
    });
    let took = started.elapsed();
    let hwm_after = vm_kib(pid, "VmHWM:");
    let (file_after, shmem_after) = (vm_kib(pid, "RssFile:"), vm_kib(pid, "RssShmem:"));
    let f = files(&dir);
    let total: u64 = f.iter().map(|(_, s)| s).sum();
    eprintln!(
        "200 MB in {took:?}: {total} bytes on disk at the end (max seen {max_total}) in {:?}; supervisor VmHWM {hwm_before} kB -> {hwm_after} kB, RssAnon {anon_before} kB -> max {anon_max} kB (RssFile {file_after} kB, RssShmem {shmem_after} kB at the end)",
        f
    );
    assert!(f.len() <= 5, "{f:?}");
    assert!(max_files <= 6, "{max_files}"); // a .gz.tmp while compressing
    assert!(total <= 50 * 1024 * 1024, "{total}");
    assert!(max_total <= 55 * 1024 * 1024, "{max_total}");
    assert!(
        f.iter().filter(|(n, _)| n.ends_with(".gz")).count() >= 3,
        "{f:?}"
    );
    // Flat: the supervisor's peak grew by less than the size of one log file.
    assert!(
        hwm_after < hwm_before + 8 * 1024,
        "{hwm_before} -> {hwm_after}"
    );
    // `logs --tail` reads from the end: the last lines are there.
    let out = root.minipod(&["logs", "big", "--tail", "2"]);
    assert_eq!(stdout(&out), format!("{}\ndone\n", "a".repeat(999)));
}

#[test]
fn logs_read_across_rotated_files_in_order_with_tail_and_follow() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "seq.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: seq}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:1.35
    command:
    - sh
    - -c
    - 'sleep 2; i=1; while [ $i -le 2000 ]; do echo line-$i; if [ $((i % 200)) = 0 ]; then sleep 0.3; fi; i=$((i+1)); done'
"#,
    );
    let env = [
        ("MINIPOD_CONTAINER_LOG_MAX_SIZE", "8Ki"),
        ("MINIPOD_CONTAINER_LOG_MAX_FILES", "30"),
    ];
    let out = root.apply_with_env(&file, &env);
    assert!(out.status.success(), "{}", stderr(&out));
    root.wait_for_phase("seq", "Running");
    // Follow from before the first line: every line once, in order, across every rotation.
    let follow = minipod_at(root.path())
        .args(["logs", "-f", "seq"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    root.wait_for_phase("seq", "Succeeded");
    let followed = follow.wait_with_output().unwrap();
    let expected: String = (1..=2000).map(|i| format!("line-{i}\n")).collect();
    assert_eq!(stdout(&followed), expected, "{}", stderr(&followed));
    assert_eq!(stderr(&followed), "");

    let dir = log_dir(&root, "seq");
    let f = files(&dir);
    assert!(f.len() >= 8, "{f:?}");
    assert!(f.iter().any(|(n, _)| n.ends_with(".gz")), "{f:?}");
    // A file passes the limit by at most the one read from the pipe that crossed it.
    assert!(f.iter().all(|(_, s)| *s < 8 * 1024 + 64 * 1024), "{f:?}");
    let out = root.minipod(&["logs", "seq"]);
    assert_eq!(stdout(&out), expected, "{}", stderr(&out));
    // --tail beyond the current file (8 KiB hold about 170 lines).
    let out = root.minipod(&["logs", "seq", "--tail", "700"]);
    let tail: String = (1301..=2000).map(|i| format!("line-{i}\n")).collect();
    assert_eq!(stdout(&out), tail, "{}", stderr(&out));
    let out = root.minipod(&["logs", "seq", "--tail", "5000"]);
    assert_eq!(stdout(&out), expected);
}

#[test]
fn only_the_current_and_previous_attempt_logs_are_kept_and_repeats_fold_in_describe() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "crash.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, 'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo attempt-$n; sleep 0.3; exit 1']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, emptyDir: {}}]
"#,
    );
    let out = root.apply_with_env(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "100")]);
    assert!(out.status.success(), "{}", stderr(&out));
    root.wait_for("crash", "three restarts", |p| {
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .is_some_and(|n| n >= 3)
    });
    let dir = log_dir(&root, "crash");
    let names: Vec<String> = files(&dir).into_iter().map(|(n, _)| n).collect();
    let attempts: Vec<u32> = names
        .iter()
        .map(|n| n.strip_suffix(".log").unwrap().parse().unwrap())
        .collect();
    assert!(attempts.len() <= 2, "{names:?}");
    assert!(!names.contains(&"0.log".to_owned()), "{names:?}");
    assert!(attempts.iter().all(|a| *a >= 1), "{names:?}");
    // -p shows a previous attempt (the second run or later), never the first.
    let out = root.minipod(&["logs", "crash", "-p"]);
    let text = stdout(&out);
    let n: u32 = text
        .trim()
        .strip_prefix("attempt-")
        .unwrap_or_else(|| panic!("{text:?} {}", stderr(&out)))
        .parse()
        .unwrap();
    assert!(n >= 2, "{text}");
    let out = root.minipod(&["describe", "pod", "crash"]);
    let text = stdout(&out);
    let started = text
        .lines()
        .find(|l| l.contains("Started") && l.contains("Started container app"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(started.contains(" (x"), "{started}");
    assert!(started.contains(" over "), "{started}");
    let count: u32 = started
        .split(" (x")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 3, "{started}");
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("Started container app"))
            .count(),
        1,
        "{text}"
    );
}

#[test]
fn fallback_to_logs_on_error_takes_the_last_80_lines_across_a_rotation() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: last-words}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, 'i=1; while [ $i -le 3000 ]; do echo line-$i; i=$((i+1)); done; exit 3']
    terminationMessagePolicy: FallbackToLogsOnError
"#,
    );
    // 4 KiB hold about 75 records: the last 80 lines span the current and a rotated file.
    let out = root.run(&file, &[("MINIPOD_CONTAINER_LOG_MAX_SIZE", "4Ki")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let p = root.pod_json("last-words");
    let message = p["status"]["containerStatuses"][0]["state"]["terminated"]["message"].clone();
    let expected: String = (2921..=3000).map(|i| format!("line-{i}\n")).collect();
    assert_eq!(message, expected.as_str(), "{p}");
    let dir = log_dir(&root, "last-words");
    let f = files(&dir);
    assert!(f.len() > 2 && f.len() <= 5, "{f:?}");
    // The message needed the rotated file too: the current one alone holds fewer lines.
    let current = std::fs::read_to_string(dir.join("0.log")).unwrap();
    assert!(current.lines().count() < 80, "{}", current.lines().count());
}

#[test]
fn a_bad_log_rotation_setting_is_refused_before_anything_is_created() {
    let root = crate::common::TestRoot::new();
    let file = root.path().join("pod.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: app, image: busybox:1.35}\n",
    )
    .unwrap();
    for (key, value, needle) in [
        (
            "MINIPOD_CONTAINER_LOG_MAX_SIZE",
            "10MB",
            "not a positive size",
        ),
        (
            "MINIPOD_CONTAINER_LOG_MAX_FILES",
            "1",
            "must be a whole number >= 2",
        ),
    ] {
        let out = minipod_at(root.path())
            .args(["apply", "-f"])
            .arg(&file)
            .env(key, value)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(key) && err.contains(needle), "{err}");
        assert!(
            !root.path().join("pods").exists()
                || std::fs::read_dir(root.path().join("pods"))
                    .unwrap()
                    .flatten()
                    .all(|e| e.file_name().to_string_lossy().starts_with('.'))
        );
    }
}
