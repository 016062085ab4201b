//! printPod tables (the ideas of printers_test.go TestPrintPod,
//! TestPrintPodWithRestartableInitContainer, TestPrintPodConditions).

use k8s_openapi::jiff::SignedDuration;
use serde_json::{json, Value};

use super::*;
use crate::testutil::{pod, t, BASE};

fn c(name: &str) -> Value {
    json!({"name": name, "image": "busybox"})
}

fn sc(name: &str) -> Value {
    json!({"name": name, "image": "busybox", "restartPolicy": "Always"})
}

fn running(name: &str, ready: bool, restarts: i32) -> Value {
    json!({"name": name, "image": "busybox", "imageID": "", "ready": ready, "started": true,
           "restartCount": restarts, "state": {"running": {"startedAt": "2023-11-14T22:13:20Z"}}})
}

fn waiting(name: &str, reason: &str, restarts: i32) -> Value {
    json!({"name": name, "image": "busybox", "imageID": "", "ready": false, "started": false,
           "restartCount": restarts, "state": {"waiting": {"reason": reason}}})
}

fn terminated(name: &str, reason: Option<&str>, code: i32, signal: Option<i32>) -> Value {
    let mut t = json!({"exitCode": code});
    if let Some(r) = reason {
        t["reason"] = json!(r);
    }
    if let Some(s) = signal {
        t["signal"] = json!(s);
    }
    json!({"name": name, "image": "busybox", "imageID": "", "ready": false, "started": false,
           "restartCount": 0, "state": {"terminated": t}})
}

/// `s` with `lastState.terminated.finishedAt` at BASE + `at`.
fn last_finished(mut s: Value, at: i64) -> Value {
    let ts = k8s_openapi::jiff::Timestamp::from_second(BASE + at)
        .unwrap()
        .to_string();
    s["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ts}});
    s
}

fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

fn cond(ty: &str, status: bool) -> Value {
    json!({"type": ty, "status": if status {"True"} else {"False"}})
}

struct Case {
    name: &'static str,
    init: Vec<Value>,
    containers: Vec<Value>,
    status: Value,
    deleted: bool,
    now: i64,
    want: [&'static str; 4],
}

fn build(case: &Case) -> Pod {
    let mut p = pod(json!({"initContainers": case.init, "containers": case.containers})).pod;
    p.status = Some(serde_json::from_value(case.status.clone()).unwrap());
    if case.deleted {
        p.metadata.deletion_timestamp = Some(crate::time::k8s_time(t(case.now - 1)));
    }
    p
}

fn case(
    name: &'static str,
    init: Vec<Value>,
    containers: Vec<Value>,
    status: Value,
    want: [&'static str; 4],
) -> Case {
    Case {
        name,
        init,
        containers,
        status,
        deleted: false,
        now: 30,
        want,
    }
}

#[test]
fn print_pod_table() {
    let mut cases = vec![
        case(
            "pending, no statuses",
            vec![],
            vec![c("app")],
            json!({"phase": "Pending"}),
            ["0/1", "Pending", "0", "30s"],
        ),
        case(
            "running and ready",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "Running", "containerStatuses": [running("a", true, 0), running("b", true, 0)]}),
            ["2/2", "Running", "0", "30s"],
        ),
        case(
            "one not ready",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "Running", "containerStatuses": [running("a", true, 3), running("b", false, 3)]}),
            ["1/2", "Running", "6", "30s"],
        ),
        case(
            "ContainerCreating",
            vec![],
            vec![c("a")],
            json!({"phase": "Pending", "containerStatuses": [waiting("a", "ContainerCreating", 0)]}),
            ["0/1", "ContainerCreating", "0", "30s"],
        ),
        case(
            "CrashLoopBackOff with restarts ago",
            vec![],
            vec![c("a")],
            json!({"phase": "Running", "containerStatuses": [last_finished(waiting("a", "CrashLoopBackOff", 2), 25)]}),
            ["0/1", "CrashLoopBackOff", "2 (5s ago)", "30s"],
        ),
        case(
            "restarts ago in minutes",
            vec![],
            vec![c("a")],
            json!({"phase": "Running", "containerStatuses": [last_finished(running("a", true, 4), -270)]}),
            ["1/1", "Running", "4 (5m ago)", "30s"],
        ),
        case(
            "Completed",
            vec![],
            vec![c("a")],
            json!({"phase": "Succeeded", "containerStatuses": [terminated("a", Some("Completed"), 0, None)]}),
            ["0/1", "Completed", "0", "30s"],
        ),
        case(
            "Error",
            vec![],
            vec![c("a")],
            json!({"phase": "Failed", "containerStatuses": [terminated("a", Some("Error"), 1, None)]}),
            ["0/1", "Error", "0", "30s"],
        ),
        case(
            "OOMKilled",
            vec![],
            vec![c("a")],
            json!({"phase": "Running", "containerStatuses": [terminated("a", Some("OOMKilled"), 137, None)]}),
            ["0/1", "OOMKilled", "0", "30s"],
        ),
        case(
            "terminated without reason: ExitCode",
            vec![],
            vec![c("a")],
            json!({"phase": "Failed", "containerStatuses": [terminated("a", None, 3, None)]}),
            ["0/1", "ExitCode:3", "0", "30s"],
        ),
        case(
            "terminated without reason: Signal",
            vec![],
            vec![c("a")],
            json!({"phase": "Failed", "containerStatuses": [terminated("a", None, 137, Some(9))]}),
            ["0/1", "Signal:9", "0", "30s"],
        ),
        case(
            "first container wins (scanned last to first)",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "Running", "containerStatuses": [waiting("a", "CrashLoopBackOff", 1), terminated("b", Some("Error"), 1, None)]}),
            ["0/2", "CrashLoopBackOff", "1", "30s"],
        ),
        case(
            "Completed with a ready running container and Ready: Running",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "Running", "conditions": [cond("Ready", true)],
                    "containerStatuses": [terminated("a", Some("Completed"), 0, None), running("b", true, 0)]}),
            ["1/2", "Running", "0", "30s"],
        ),
        case(
            "Completed with a ready running container, pod not Ready: NotReady",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "Running", "conditions": [cond("Ready", false)],
                    "containerStatuses": [terminated("a", Some("Completed"), 0, None), running("b", true, 0)]}),
            ["1/2", "NotReady", "0", "30s"],
        ),
        case(
            "status.reason wins over phase",
            vec![],
            vec![c("a")],
            json!({"phase": "Failed", "reason": "Evicted"}),
            ["0/1", "Evicted", "0", "30s"],
        ),
        case(
            "SchedulingGated",
            vec![],
            vec![c("a")],
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
            ["0/1", "SchedulingGated", "0", "30s"],
        ),
        case(
            "Init:0/2",
            vec![c("i1"), c("i2")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [waiting("i1", "PodInitializing", 0), waiting("i2", "PodInitializing", 0)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "Init:0/2", "0", "30s"],
        ),
        case(
            "Init:1/3 (first done, second running)",
            vec![c("i1"), c("i2"), c("i3")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [terminated("i1", Some("Completed"), 0, None), running("i2", false, 0), waiting("i3", "PodInitializing", 0)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "Init:1/3", "0", "30s"],
        ),
        case(
            "Init:Error",
            vec![c("i1"), c("i2")],
            vec![c("a")],
            json!({"phase": "Failed",
                    "initContainerStatuses": [terminated("i1", Some("Completed"), 0, None), terminated("i2", Some("Error"), 1, None)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "Init:Error", "0", "30s"],
        ),
        case(
            "Init:CrashLoopBackOff with init restarts",
            vec![c("i1")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [last_finished(waiting("i1", "CrashLoopBackOff", 3), 20)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "Init:CrashLoopBackOff", "3 (10s ago)", "30s"],
        ),
        case(
            "Init:Signal:9",
            vec![c("i1")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [terminated("i1", None, 137, Some(9))],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "Init:Signal:9", "0", "30s"],
        ),
        case(
            "Init:ExitCode:2",
            vec![c("i1")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [terminated("i1", None, 2, None)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "Init:ExitCode:2", "0", "30s"],
        ),
        case(
            "Init:ErrImagePull",
            vec![c("i1")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [waiting("i1", "ErrImagePull", 0)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "Init:ErrImagePull", "0", "30s"],
        ),
        case(
            "PodInitializing after the init containers",
            vec![c("i1")],
            vec![c("a")],
            json!({"phase": "Pending", "conditions": [cond("Initialized", true)],
                    "initContainerStatuses": [terminated("i1", Some("Completed"), 0, None)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/1", "PodInitializing", "0", "30s"],
        ),
        case(
            "init restarts hidden once running (only app restarts count)",
            vec![c("i1")],
            vec![c("a")],
            json!({"phase": "Running",
                    "initContainerStatuses": [{"name": "i1", "image": "busybox", "imageID": "", "ready": true, "restartCount": 4,
                                               "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                    "containerStatuses": [running("a", true, 1)]}),
            ["1/1", "Running", "1", "30s"],
        ),
        case(
            "sidecar started and ready counts in READY",
            vec![c("i1"), sc("s1")],
            vec![c("a")],
            json!({"phase": "Running", "conditions": [cond("Initialized", true)],
                    "initContainerStatuses": [terminated("i1", Some("Completed"), 0, None), running("s1", true, 0)],
                    "containerStatuses": [running("a", true, 0)]}),
            ["2/2", "Running", "0", "30s"],
        ),
        case(
            "sidecar started not ready",
            vec![sc("s1")],
            vec![c("a")],
            json!({"phase": "Running", "conditions": [cond("Initialized", true)],
                    "initContainerStatuses": [running("s1", false, 0)],
                    "containerStatuses": [running("a", true, 0)]}),
            ["1/2", "Running", "0", "30s"],
        ),
        case(
            "sidecar started, next init running: Init:1/3",
            vec![sc("s1"), c("i2"), c("i3")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [running("s1", true, 0), running("i2", false, 0), waiting("i3", "PodInitializing", 0)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["1/2", "Init:1/3", "0", "30s"],
        ),
        case(
            "sidecar not started yet: Init:0/2",
            vec![sc("s1"), c("i2")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [{"name": "s1", "image": "busybox", "imageID": "", "ready": false, "started": false,
                                               "restartCount": 0, "state": {"running": {}}}, waiting("i2", "PodInitializing", 0)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/2", "Init:0/2", "0", "30s"],
        ),
        // kubectl keeps the init reason: the app loop only overrides it with a waiting or
        // terminated reason, and a running app has neither.
        case(
            "sidecar crash-looping after init: Init:CrashLoopBackOff, app counted",
            vec![sc("s1")],
            vec![c("a")],
            json!({"phase": "Running", "conditions": [cond("Initialized", true)],
                    "initContainerStatuses": [last_finished(waiting("s1", "CrashLoopBackOff", 2), 10)],
                    "containerStatuses": [running("a", true, 0)]}),
            ["1/2", "Init:CrashLoopBackOff", "2 (20s ago)", "30s"],
        ),
        case(
            "sidecar crash-looping before init done: Init:CrashLoopBackOff",
            vec![sc("s1"), c("i2")],
            vec![c("a")],
            json!({"phase": "Pending",
                    "initContainerStatuses": [last_finished(waiting("s1", "CrashLoopBackOff", 2), 10), waiting("i2", "PodInitializing", 0)],
                    "containerStatuses": [waiting("a", "PodInitializing", 0)]}),
            ["0/2", "Init:CrashLoopBackOff", "2 (20s ago)", "30s"],
        ),
        case(
            "completed pod with sidecars: Completed",
            vec![sc("s1")],
            vec![c("a")],
            json!({"phase": "Succeeded",
                    "initContainerStatuses": [terminated("s1", Some("Error"), 137, None)],
                    "containerStatuses": [terminated("a", Some("Completed"), 0, None)]}),
            ["0/2", "Init:Error", "0", "30s"],
        ),
        // printers_test.go TestPrintPod, ported.
        case(
            "a status without state: phase, restarts summed",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "podPhase", "containerStatuses": [
                 running("a", true, 3), {"name": "b", "image": "", "imageID": "", "ready": false, "restartCount": 3}]}),
            ["1/2", "podPhase", "6", "30s"],
        ),
        case(
            "ready is not enough for reporting running",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "podPhase", "containerStatuses": [
                 running("a", true, 3), {"name": "b", "image": "", "imageID": "", "ready": true, "restartCount": 3}]}),
            ["1/2", "podPhase", "6", "30s"],
        ),
        case(
            "init exited 0 without reason is skipped; next init restarting",
            vec![c("i1"), c("i2")],
            vec![c("a")],
            json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        {"name": "i1", "image": "", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
                        last_finished(running("i2", false, 3), 20)],
                    "containerStatuses": [{"name": "a", "image": "", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {}}}]}),
            ["0/1", "Init:1/2", "3 (10s ago)", "30s"],
        ),
        case(
            "init restarts summed while initializing, latest restart wins",
            vec![c("i1"), c("i2")],
            vec![c("a")],
            json!({"phase": "podPhase",
                    "initContainerStatuses": [
                        last_finished(with(terminated("i1", None, 0, None), "restartCount", json!(2)), -90),
                        last_finished(running("i2", false, 3), 20)],
                    "containerStatuses": [{"name": "a", "image": "", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {}}}]}),
            ["0/1", "Init:1/2", "5 (10s ago)", "30s"],
        ),
        case(
            "init done: init restarts no longer counted",
            vec![c("i1")],
            vec![c("a")],
            json!({"phase": "Running",
                    "initContainerStatuses": [last_finished(with(terminated("i1", None, 0, None), "restartCount", json!(2)), -90)],
                    "containerStatuses": [last_finished(running("a", false, 4), 10)]}),
            ["0/1", "Running", "4 (20s ago)", "30s"],
        ),
        case(
            "two containers: restarts summed, most recent restart shown",
            vec![],
            vec![c("a"), c("b")],
            json!({"phase": "Running", "containerStatuses": [
                 last_finished(running("a", true, 6), 30 - 5 * 86400),
                 last_finished(running("b", true, 3), 30 - 20 * 86400)]}),
            ["2/2", "Running", "9 (5d ago)", "30s"],
        ),
        // printers_test.go TestPrintPodWithRestartableInitContainer, ported.
        case(
            "two sidecars, the first running but not started",
            vec![sc("s1"), sc("s2")],
            vec![c("a")],
            json!({"phase": "Pending", "conditions": [cond("Initialized", false)],
                    "initContainerStatuses": [
                        last_finished(with(running("s1", false, 3), "started", json!(false)), 20),
                        with(waiting("s2", "", 0), "state", json!({"waiting": {}}))],
                    "containerStatuses": [{"name": "a", "image": "busybox", "imageID": "", "ready": false,
                                           "restartCount": 0, "state": {"waiting": {}}}]}),
            ["0/3", "Init:0/2", "3 (10s ago)", "30s"],
        ),
        case(
            "two sidecars, the first started, the second not yet",
            vec![sc("s1"), sc("s2")],
            vec![c("a")],
            json!({"phase": "Pending", "conditions": [cond("Initialized", false)],
                    "initContainerStatuses": [
                        last_finished(running("s1", false, 3), 20),
                        with(running("s2", false, 0), "started", json!(false))],
                    "containerStatuses": [{"name": "a", "image": "busybox", "imageID": "", "ready": false,
                                           "restartCount": 0, "state": {"waiting": {}}}]}),
            ["0/3", "Init:1/2", "3 (10s ago)", "30s"],
        ),
        case(
            "two sidecars started, app running: restarts of sidecars and app",
            vec![sc("s1"), sc("s2")],
            vec![c("a")],
            json!({"phase": "Running", "conditions": [cond("Initialized", true)],
                    "initContainerStatuses": [last_finished(running("s1", false, 3), 20), running("s2", false, 0)],
                    "containerStatuses": [last_finished(running("a", true, 4), 10)]}),
            ["1/3", "Running", "7 (10s ago)", "30s"],
        ),
        case(
            "sidecars killed after the app completed: Completed",
            vec![sc("s1"), sc("s2")],
            vec![c("a")],
            json!({"phase": "Succeeded", "conditions": [cond("Initialized", true)],
                    "initContainerStatuses": [
                        last_finished(with(terminated("s1", Some("Error"), 137, None), "restartCount", json!(3)), 20),
                        terminated("s2", Some("Error"), 137, None)],
                    "containerStatuses": [last_finished(with(terminated("a", Some("Completed"), 0, None), "restartCount", json!(4)), 10)]}),
            ["0/3", "Completed", "7 (10s ago)", "30s"],
        ),
    ];
    let mut terminating = case(
        "deleted: Terminating",
        vec![],
        vec![c("a")],
        json!({"phase": "Running", "containerStatuses": [running("a", true, 0)]}),
        ["1/1", "Terminating", "0", "30s"],
    );
    terminating.deleted = true;
    cases.push(terminating);
    let mut node_lost = case(
        "deleted, NodeLost: Unknown",
        vec![],
        vec![c("a")],
        json!({"phase": "Running", "reason": "NodeLost", "containerStatuses": [running("a", true, 0)]}),
        ["1/1", "Unknown", "0", "30s"],
    );
    node_lost.deleted = true;
    cases.push(node_lost);
    let mut deleted_done = case(
        "deleted but terminal: phase stays",
        vec![],
        vec![c("a")],
        json!({"phase": "Succeeded", "containerStatuses": [terminated("a", Some("Completed"), 0, None)]}),
        ["0/1", "Completed", "0", "30s"],
    );
    deleted_done.deleted = true;
    cases.push(deleted_done);
    let mut old = case(
        "age in hours",
        vec![],
        vec![c("a")],
        json!({"phase": "Running", "containerStatuses": [running("a", true, 0)]}),
        ["1/1", "Running", "0", "3h20m"],
    );
    old.now = 12_000;
    cases.push(old);

    let mut failures = Vec::new();
    for case in &cases {
        let p = build(case);
        let row = print_pod(&p, t(case.now));
        let got = [
            row.ready.as_str(),
            row.status.as_str(),
            row.restarts.as_str(),
            row.age.as_str(),
        ];
        if got != case.want || row.name != "pod" {
            failures.push(format!("{}: want {:?} got {:?}", case.name, case.want, got));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn print_pod_without_creation_timestamp() {
    let mut p = pod(json!({"containers": [c("a")]})).pod;
    p.metadata.creation_timestamp = None;
    let row = print_pod(&p, t(10));
    assert_eq!(row.age, "<unknown>");
    assert_eq!(row.cells(), ["pod", "0/1", "", "0", "<unknown>"]);
    assert_eq!(POD_COLUMNS, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
}

#[test]
fn human_durations() {
    let s = |secs: i64| human_duration(SignedDuration::from_secs(secs));
    let cases = [
        (-5, "<invalid>"),
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 30 * 60, "3h30m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (50 * 3600, "2d2h"),
        (8 * 86400, "8d"),
        (364 * 86400, "364d"),
        (2 * 365 * 86400, "2y"),
        ((2 * 365 + 1) * 86400, "2y1d"),
        (8 * 365 * 86400, "8y"),
        (20 * 365 * 86400, "20y"),
    ];
    for (secs, want) in cases {
        assert_eq!(s(secs), want, "{secs}");
    }
    // Sub-second precision truncates like Go's int(d.Seconds()).
    assert_eq!(human_duration(SignedDuration::from_millis(1999)), "1s");
    assert_eq!(human_duration(SignedDuration::from_millis(-1500)), "0s");
    assert_eq!(translate_timestamp_since(None, t(0)), "<unknown>");
    assert_eq!(translate_timestamp_since(Some(t(0)), t(61)), "61s");
}
