//! `minipod logs`: CRI log files read back the way kubectl shows them.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Pod, PodStatus};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::common::{minipod_bin, stderr_of_exit, TestRoot};
use crate::get::fixture::*;

/// An RFC3339Nano timestamp `seconds` ago.
fn ts(seconds: i64) -> String {
    (Timestamp::now() - SignedDuration::from_secs(seconds)).to_string()
}

fn append_log(pod_dir: &Path, container: &str, attempt: u32, records: &[String]) {
    let dir = pod_dir.join("logs").join(container);
    fs::create_dir_all(&dir).unwrap();
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{attempt}.log")))
        .unwrap();
    for r in records {
        writeln!(f, "{r}").unwrap();
    }
}

/// `web` with one running container `app` and a log with a split line and an empty line.
fn web_with_log(root: &TestRoot) -> (Pod, std::path::PathBuf, Vec<String>) {
    let p = pod("web", &["app"]);
    let dir = create(root, &p);
    set_status(root, &p, &running_status(&["app"], 0));
    let t: Vec<String> = (0..6).map(|i| ts(7200 - i * 600)).collect();
    append_log(
        &dir,
        "app",
        0,
        &[
            format!("{} stdout F hello", t[0]),
            format!("{} stderr F oops", t[1]),
            format!("{} stdout P first ", t[2]),
            format!("{} stdout P hal", t[3]),
            format!("{} stdout F f", t[4]),
            format!("{} stdout F ", t[5]),
            format!("{} stdout F last", ts(10)),
        ],
    );
    (p, dir, t)
}

#[test]
fn logs_join_partial_records_and_merge_streams() {
    let root = TestRoot::new();
    web_with_log(&root);
    let out = root.minipod(&["logs", "web"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello\noops\nfirst half\n\nlast\n");
    assert_eq!(stderr(&out), "");
    let out = root.minipod(&["logs", "pod/web"]);
    assert_eq!(stdout(&out), "hello\noops\nfirst half\n\nlast\n");
}

#[test]
fn timestamps_prefix_each_line_with_its_first_record_time() {
    let root = TestRoot::new();
    let (_, _, t) = web_with_log(&root);
    let out = root.minipod(&["logs", "web", "--timestamps", "--tail", "4"]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], format!("{} oops", t[1]));
    assert_eq!(lines[1], format!("{} first half", t[2]));
    assert_eq!(lines[2], format!("{} ", t[5]));
    assert!(lines[3].ends_with(" last"));
}

#[test]
fn tail_and_since() {
    let root = TestRoot::new();
    web_with_log(&root);
    let out = root.minipod(&["logs", "web", "--tail=2"]);
    assert_eq!(stdout(&out), "\nlast\n");
    let out = root.minipod(&["logs", "web", "--tail=0"]);
    assert_eq!(stdout(&out), "");
    let out = root.minipod(&["logs", "web", "--tail=-1"]);
    assert_eq!(stdout(&out), "hello\noops\nfirst half\n\nlast\n");
    // Lines were written 2h, 1h50m, ... 1h10m and 10s ago.
    let out = root.minipod(&["logs", "web", "--since=1h"]);
    assert_eq!(stdout(&out), "last\n");
    let out = root.minipod(&["logs", "web", "--since=1h45m"]);
    assert_eq!(stdout(&out), "first half\n\nlast\n");
    let out = root.minipod(&["logs", "web", "--since-time", &ts(4500)]);
    assert_eq!(stdout(&out), "\nlast\n");
    let out = root.minipod(&["logs", "web", "--since=1h", "--tail=5"]);
    assert_eq!(stdout(&out), "last\n");
}

#[test]
fn bad_flags_are_usage_errors() {
    let root = TestRoot::new();
    web_with_log(&root);
    for args in [
        &["logs", "web", "--tail=-2"][..],
        &["logs", "web", "--since=5x"],
        &["logs", "web", "--since=0s"],
        &["logs", "web", "--since-time=yesterday"],
        &[
            "logs",
            "web",
            "--since=1h",
            &format!("--since-time={}", ts(10)),
        ],
        &["logs", "web", "-c", "app", "--all-containers"],
        &["logs", "web", "app", "-c", "app"],
        &["logs", "deploy/web"],
    ] {
        let out = root.minipod(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
}

#[test]
fn missing_pod_and_unknown_container() {
    let root = TestRoot::new();
    let out = root.minipod(&["logs", "nope"]);
    assert_eq!(
        stderr_of_exit(&out, 1),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );
    web_with_log(&root);
    let out = root.minipod(&["logs", "web", "-c", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: container nope is not valid for pod web\n"
    );
}

#[test]
fn previous_reads_the_run_before() {
    let root = TestRoot::new();
    let p = pod("web", &["app"]);
    let dir = create(&root, &p);
    append_log(&dir, "app", 0, &[format!("{} stdout F first run", ts(100))]);
    append_log(&dir, "app", 1, &[format!("{} stdout F second run", ts(50))]);
    set_status(&root, &p, &running_status(&["app"], 1));
    let out = root.minipod(&["logs", "web"]);
    assert_eq!(stdout(&out), "second run\n");
    let out = root.minipod(&["logs", "web", "-p"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "first run\n");
    let out = root.minipod(&["logs", "web", "--previous"]);
    assert_eq!(stdout(&out), "first run\n");

    // Waiting in back-off after the second run: both show the last run, like the kubelet.
    let mut status = running_status(&["app"], 2);
    status.container_statuses.as_mut().unwrap()[0].state = waiting("app", "CrashLoopBackOff").state;
    set_status(&root, &p, &status);
    assert_eq!(stdout(&root.minipod(&["logs", "web"])), "second run\n");
    assert_eq!(
        stdout(&root.minipod(&["logs", "web", "-p"])),
        "second run\n"
    );
}

#[test]
fn previous_without_an_earlier_run_is_a_bad_request() {
    let root = TestRoot::new();
    web_with_log(&root);
    let out = root.minipod(&["logs", "web", "-p"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "Error from server (BadRequest): previous terminated container \"app\" in pod \"web\" not found\n"
    );
}

#[test]
fn a_container_waiting_to_start_is_a_bad_request() {
    let root = TestRoot::new();
    let p = pod("web", &["app"]);
    create(&root, &p);
    set_status(
        &root,
        &p,
        &PodStatus {
            phase: Some("Pending".into()),
            container_statuses: Some(vec![waiting("app", "PodInitializing")]),
            ..Default::default()
        },
    );
    let out = root.minipod(&["logs", "web"]);
    assert_eq!(
        stderr_of_exit(&out, 1),
        "Error from server (BadRequest): container \"app\" in pod \"web\" is waiting to start: PodInitializing\n"
    );
}

fn multi(root: &TestRoot) -> (Pod, std::path::PathBuf) {
    let mut p = pod("multi", &["a", "b"]);
    p.spec.as_mut().unwrap().init_containers = Some(vec![Container {
        name: "init-x".into(),
        image: Some("busybox:1.36".into()),
        ..Default::default()
    }]);
    let dir = create(root, &p);
    let mut status = running_status(&["a", "b"], 0);
    status.init_container_statuses = Some(vec![terminated("init-x", 0, 0)]);
    set_status(root, &p, &status);
    append_log(
        &dir,
        "init-x",
        0,
        &[format!("{} stdout F from init", ts(30))],
    );
    append_log(&dir, "a", 0, &[format!("{} stdout F from a", ts(20))]);
    append_log(&dir, "b", 0, &[format!("{} stdout F from b", ts(10))]);
    (p, dir)
}

#[test]
fn default_container_hint_annotation_and_choice() {
    let root = TestRoot::new();
    let (mut p, _) = multi(&root);
    let out = root.minipod(&["logs", "multi"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "from a\n");
    assert_eq!(
        stderr(&out),
        "Defaulted container \"a\" out of: a, b, init-x (init)\n"
    );
    for args in [
        &["logs", "multi", "-c", "b"][..],
        &["logs", "multi", "--container=b"],
        &["logs", "multi", "b"],
    ] {
        let out = root.minipod(args);
        assert_eq!(stdout(&out), "from b\n", "{args:?}");
        assert_eq!(stderr(&out), "", "{args:?}");
    }
    let out = root.minipod(&["logs", "multi", "-c", "init-x"]);
    assert_eq!(stdout(&out), "from init\n");

    // The default-container annotation picks without a hint.
    let store = store(&root);
    store.remove("uid-multi").unwrap();
    p.metadata.annotations = Some(BTreeMap::from([(
        "kubectl.kubernetes.io/default-container".to_owned(),
        "b".to_owned(),
    )]));
    let dir = store.create(&p).unwrap().dir;
    append_log(&dir, "b", 0, &[format!("{} stdout F from b", ts(10))]);
    let out = root.minipod(&["logs", "multi"]);
    assert_eq!(stdout(&out), "from b\n");
    assert_eq!(stderr(&out), "");
}

#[test]
fn all_containers_with_prefix() {
    let root = TestRoot::new();
    multi(&root);
    let out = root.minipod(&["logs", "multi", "--all-containers", "--prefix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "[pod/multi/init-x] from init\n[pod/multi/a] from a\n[pod/multi/b] from b\n"
    );
    let out = root.minipod(&["logs", "multi", "--all-containers"]);
    assert_eq!(stdout(&out), "from init\nfrom a\nfrom b\n");
    let out = root.minipod(&["logs", "multi", "-c", "b", "--prefix", "--timestamps"]);
    assert!(
        stdout(&out).starts_with("[pod/multi/b] 20"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn follow_prints_appended_lines_moves_to_the_next_run_and_ends() {
    let root = TestRoot::new();
    let p = pod("web", &["app"]);
    let dir = create(&root, &p);
    set_status(&root, &p, &running_status(&["app"], 0));
    append_log(&dir, "app", 0, &[format!("{} stdout F one", ts(5))]);

    let mut child = Command::new(minipod_bin())
        .arg("--root")
        .arg(root.path())
        .args(["logs", "-f", "web"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = || {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("a line within 10s")
    };
    assert_eq!(next(), "one");
    // A line written in two pieces arrives whole.
    append_log(&dir, "app", 0, &[format!("{} stdout P tw", ts(0))]);
    std::thread::sleep(Duration::from_millis(300));
    append_log(&dir, "app", 0, &[format!("{} stdout F o", ts(0))]);
    assert_eq!(next(), "two");
    // The container restarts: its next run's file is followed.
    append_log(&dir, "app", 1, &[format!("{} stdout F three", ts(0))]);
    set_status(&root, &p, &running_status(&["app"], 1));
    assert_eq!(next(), "three");
    append_log(&dir, "app", 1, &[format!("{} stdout F four", ts(0))]);
    assert_eq!(next(), "four");
    // The pod finishes: follow ends.
    let mut done = running_status(&["app"], 1);
    done.phase = Some("Succeeded".into());
    done.container_statuses = Some(vec![terminated("app", 0, 1)]);
    set_status(&root, &p, &done);
    let mut status = None;
    for _ in 0..100 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if status.is_none() {
        let _ = child.kill();
    }
    assert!(status.expect("logs -f ended").success());
}

#[test]
fn follow_of_a_finished_container_prints_and_exits() {
    let root = TestRoot::new();
    let mut p = pod("job", &["app"]);
    p.spec.as_mut().unwrap().restart_policy = Some("Never".into());
    let dir = create(&root, &p);
    set_status(
        &root,
        &p,
        &PodStatus {
            phase: Some("Running".into()),
            container_statuses: Some(vec![terminated("app", 1, 0)]),
            ..Default::default()
        },
    );
    append_log(&dir, "app", 0, &[format!("{} stderr F failed", ts(5))]);
    let out = root.minipod(&["logs", "job", "-f"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "failed\n");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let root = TestRoot::new();
    let p = pod("chatty", &["app"]);
    let dir = create(&root, &p);
    set_status(&root, &p, &running_status(&["app"], 0));
    let t = ts(5);
    let records: Vec<String> = (0..20000)
        .map(|i| format!("{t} stdout F line {i}"))
        .collect();
    append_log(&dir, "app", 0, &records);
    let mut child = Command::new(minipod_bin())
        .arg("--root")
        .arg(root.path())
        .args(["logs", "chatty"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `| head -1`: read a little, then close the pipe.
    let mut first = [0u8; 6];
    std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert_eq!(&first, b"line 0");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(stderr_of_exit(&out, 0), "");
}
