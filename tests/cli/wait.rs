//! `minipod wait` end to end: conditions, jsonpath values, deletion, timeouts and errors, as
//! `kubectl wait` reports them. The pod tests are privileged: they need root.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{minipod_at, stderr_of_exit, TestRoot};
use crate::pods::{stderr, stdout, PodRoot};
use minipod_testsupport::or_skip;

#[test]
fn waits_for_ready_true_and_false_and_times_out_with_exit_1() {
    let root = or_skip!(PodRoot::new());
    root.apply_yaml(
        "pods.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: slow-ready}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "sleep 2; touch /tmp/ready; exec sleep 1000"]
    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: never-ready}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox:1.35
    command: [sleep, "1000"]
    readinessProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
"#,
    );

    let out = root.minipod(&["wait", "pod/slow-ready", "--for=condition=Ready"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pod/slow-ready condition met\n");
    let p = root.pod_json("slow-ready");
    let ready = p["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(ready["status"], "True", "{p}");

    let out = root.minipod(&["wait", "pod", "never-ready", "--for=condition=ready=false"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pod/never-ready condition met\n");

    let started = Instant::now();
    let out = root.minipod(&[
        "wait",
        "pods",
        "never-ready",
        "--for=condition=Ready",
        "--timeout",
        "1s",
    ]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "error: timed out waiting for the condition on pods/never-ready\n"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // --timeout 0 checks once.
    let out = root.minipod(&[
        "wait",
        "pod/slow-ready",
        "pod/never-ready",
        "--for=condition=Ready",
        "--timeout=0",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "pod/slow-ready condition met\n");
    assert!(
        stderr(&out).contains("timed out waiting for the condition on pods/never-ready"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn waits_for_a_jsonpath_value_on_several_pods_by_label() {
    let root = or_skip!(PodRoot::new());
    let batch = |name: &str| {
        format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: batch}}}}
spec:
  restartPolicy: Never
  containers:
  - {{name: job, image: busybox:1.35, command: [sleep, "1"]}}
"#
        )
    };
    let text = format!(
        "{}---{}---{}",
        batch("batch-a"),
        batch("batch-b"),
        r#"
apiVersion: v1
kind: Pod
metadata: {name: other}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: busybox:1.35, command: [sleep, "1000"]}
"#
    );
    let file = root.manifest("pods.yaml", &text);
    root.apply(&file, &[]);

    let out = root.minipod(&[
        "wait",
        "pods",
        "-l",
        "app=batch",
        "--for=jsonpath={.status.phase}=Succeeded",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    lines.sort();
    assert_eq!(
        lines,
        ["pod/batch-a condition met", "pod/batch-b condition met"]
    );
    for name in ["batch-a", "batch-b"] {
        assert_eq!(root.pod_json(name)["status"]["phase"], "Succeeded");
    }

    // Without a value: the field exists and is not empty.
    let out = root.minipod(&["wait", "pod/other", "--for=jsonpath={.status.startTime}"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pod/other condition met\n");
}

#[test]
fn waiting_for_create_and_for_delete_end_when_other_processes_act() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: doomed}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: busybox:1.35, command: [sleep, "1000"]}
"#,
    );
    // `--for=create` started before the pod exists.
    let creation = minipod_at(root.path())
        .args(["wait", "pod/doomed", "--for=create", "--timeout=60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    root.apply(&file, &[]);
    let created = creation.wait_with_output().unwrap();
    assert_eq!(created.status.code(), Some(0), "{}", stderr(&created));
    assert_eq!(stdout(&created), "pod/doomed condition met\n");
    root.wait_for_phase("doomed", "Running");

    let waiter = minipod_at(root.path())
        .args(["wait", "pod/doomed", "--for=delete", "--timeout=60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let root_dir = root.path().to_owned();
    let deleter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        minipod_at(&root_dir)
            .args(["delete", "pod", "doomed"])
            .output()
            .unwrap()
    });
    let out = waiter.wait_with_output().unwrap();
    let deleted = deleter.join().unwrap();
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pod/doomed condition met\n");

    // Already gone: nothing to wait for, nothing printed.
    let out = root.minipod(&["wait", "pod/doomed", "--for=delete"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_missing_pod_is_not_found_and_a_bad_condition_exits_2() {
    let root = TestRoot::new();
    let out = root.minipod(&["wait", "pod", "nope", "--for=condition=Ready"]);
    assert_eq!(
        stderr_of_exit(&out, 1),
        "Error from server (NotFound): pods \"nope\" not found\n"
    );

    let out = root.minipod(&["wait", "pod/nope", "--for=delete"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let out = root.minipod(&["wait", "pods", "--all", "--for=condition=Ready"]);
    assert_eq!(
        stderr_of_exit(&out, 1),
        "error: no matching resources found\n"
    );

    let out = root.minipod(&["wait", "pod/nope", "--for=ready"]);
    assert_eq!(
        stderr_of_exit(&out, 2),
        "error: unrecognized condition: \"ready\"\n"
    );

    for args in [
        &[
            "wait",
            "pod/nope",
            "--for=condition=Ready",
            "--timeout=soon",
        ][..],
        &["wait", "svc/nope", "--for=delete"],
        &["wait", "pods", "--for=delete"],
        &["wait", "pod/nope"],
    ] {
        let out = root.minipod(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
}
