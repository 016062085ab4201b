//! The kubelet's container lifecycle end to end, for the cases run.rs does not cover: sidecars
//! that crash, init containers across app restarts, start errors, httpGet and sleep hooks,
//! exit codes of signals, restartPolicy OnFailure and the crash-loop back-off of apps. In the
//! spirit of Kubernetes' test/e2e_node/container_lifecycle_test.go and
//! test/e2e/common/node/lifecycle_hook.go: containers append "<name> <event>" lines to a
//! shared hostPath file and the tests assert on that timeline and on `get pod -o json`.
//! Privileged: they need root and fail without it (MINIPOD_SKIP_PRIVILEGED=1 skips them).

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::pods::{
    assert_exit, condition, container, position, restarts, statuses, stderr, stdout, timeline,
    PodRoot,
};
use minipod_testsupport::or_skip;

fn count(lines: &[String], needle: &str) -> usize {
    lines.iter().filter(|l| *l == needle).count()
}

// [CLT] "should restart a sidecar that exits on its own while the app keeps running" and
// [KP getPhase]: sidecars do not count for the phase.
#[test]
fn a_sidecar_that_exits_is_restarted_and_does_not_hold_back_pod_completion() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: flaky-sidecar}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  initContainers:
  - name: sidecar
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, "echo sidecar Starting >> /shared/log; sleep 0.3; exit 1"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "echo app Starting >> /shared/log; while [ ! -e /shared/go ]; do sleep 0.1; done; echo app Exiting >> /shared/log"]
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    root.apply(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "200")]);
    let p = root.wait_for("flaky-sidecar", "sidecar restarted twice", |p| {
        restarts(p, "sidecar") >= 2
    });
    // The app was not disturbed by the sidecar's restarts.
    let app = container(&p, "app");
    assert_eq!(app["restartCount"], 0, "{p}");
    assert!(app["state"]["running"].is_object(), "{p}");
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    let last = &container(&p, "sidecar")["lastState"]["terminated"];
    assert_eq!(
        (last["exitCode"].as_i64(), last["reason"].as_str()),
        (Some(1), Some("Error")),
        "{p}"
    );
    let t = timeline(&shared.join("log"));
    assert_eq!(count(&t, "app Starting"), 1, "{t:?}");
    assert!(count(&t, "sidecar Starting") >= 3, "{t:?}");

    // The app ends: the crash-looping sidecar does not keep the pod alive.
    std::fs::write(shared.join("go"), "").unwrap();
    root.wait_for_phase("flaky-sidecar", "Succeeded");
    let p = root.pod_json("flaky-sidecar");
    let sidecar = container(&p, "sidecar");
    assert!(sidecar["state"]["terminated"].is_object(), "{p}");
    assert_eq!(sidecar["ready"], false, "{p}");
    let row = stdout(&root.minipod(&["get", "pod", "flaky-sidecar"]));
    assert!(row.contains("Completed"), "{row}");
}

// [ICT] / [CLT]: "should not restart any completed init container after a regular container
// restarts" — under Always, the app crash-loops, the init container ran once.
#[test]
fn init_containers_are_not_run_again_when_an_app_container_restarts() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: no-rerun}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  initContainers:
  - name: init
    image: busybox:1.35
    command: [sh, -c, "echo init Starting >> /shared/log"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "echo app Starting >> /shared/log; exit 1"]
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    root.apply(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "100")]);
    let p = root.wait_for("no-rerun", "app restarted twice", |p| {
        restarts(p, "app") >= 2
    });
    let init = container(&p, "init");
    assert_eq!(init["restartCount"], 0, "{p}");
    assert_eq!(init["state"]["terminated"]["reason"], "Completed", "{p}");
    assert_eq!(init["ready"], true, "{p}");
    assert_eq!(condition(&p, "Initialized"), "True", "{p}");
    let t = timeline(&shared.join("log"));
    assert_eq!(count(&t, "init Starting"), 1, "{t:?}");
    assert!(count(&t, "app Starting") >= 3, "{t:?}");
    assert_eq!(position(&t, "init Starting"), 0, "{t:?}");
}

// [KP getPhase] / [PL]: under OnFailure a container that exited 0 stays completed, one that
// failed is restarted once and then completes; the pod succeeds. Init containers ran once.
#[test]
fn on_failure_restarts_only_the_container_that_failed_and_the_pod_succeeds() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: on-failure}
spec:
  restartPolicy: OnFailure
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  initContainers:
  - name: init
    image: busybox:1.35
    command: [sh, -c, "echo init Starting >> /shared/log"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: ok
    image: busybox:1.35
    command: [sh, -c, "echo ok Starting >> /shared/log"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: fails-once
    image: busybox:1.35
    command: [sh, -c, "echo fails-once Starting >> /shared/log; sleep 0.5; if [ -e /shared/failed ]; then exit 0; fi; touch /shared/failed; exit 1"]
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    let out = root.run(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "200")]);
    assert_exit(&out, 0);
    let p = root.pod_json("on-failure");
    assert_eq!(p["status"]["phase"], "Succeeded", "{p}");
    let ok = container(&p, "ok");
    assert_eq!(ok["restartCount"], 0, "{p}");
    assert_eq!(ok["state"]["terminated"]["reason"], "Completed", "{p}");
    let again = container(&p, "fails-once");
    assert_eq!(again["restartCount"], 1, "{p}");
    assert_eq!(again["lastState"]["terminated"]["exitCode"], 1, "{p}");
    assert_eq!(again["lastState"]["terminated"]["reason"], "Error", "{p}");
    assert_eq!(again["state"]["terminated"]["exitCode"], 0, "{p}");
    assert_eq!(container(&p, "init")["restartCount"], 0, "{p}");
    let t = timeline(&shared.join("log"));
    assert_eq!(count(&t, "init Starting"), 1, "{t:?}");
    assert_eq!(count(&t, "ok Starting"), 1, "{t:?}");
    assert_eq!(count(&t, "fails-once Starting"), 2, "{t:?}");
    assert_eq!(statuses(&out).last().map(String::as_str), Some("Completed"));
}

// containerd reports a process that could not be started as exited with 128 and reason
// StartError (internal/cri/server/helpers.go); under Never that is final and the pod fails.
#[test]
fn a_command_that_does_not_exist_is_a_start_error_and_fails_a_never_pod() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: no-binary}
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: busybox:1.35, command: [/no/such/binary]}
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 1);
    assert_eq!(
        statuses(&out).last().map(String::as_str),
        Some("StartError"),
        "{}",
        stdout(&out)
    );
    let p = root.pod_json("no-binary");
    assert_eq!(p["status"]["phase"], "Failed", "{p}");
    let app = container(&p, "app");
    let t = &app["state"]["terminated"];
    assert_eq!(
        (t["exitCode"].as_i64(), t["reason"].as_str()),
        (Some(128), Some("StartError")),
        "{p}"
    );
    assert!(
        t["message"]
            .as_str()
            .is_some_and(|m| m.contains("/no/such/binary")),
        "{p}"
    );
    assert_eq!(app["restartCount"], 0, "{p}");
    let describe = stdout(&root.minipod(&["describe", "pod", "no-binary"]));
    assert!(describe.contains("Failed"), "{describe}");
}

// kubelet: a start error is a crash like any other under Always (lastState StartError, the
// restart count grows, then CrashLoopBackOff).
#[test]
fn a_start_error_under_always_crash_loops() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: no-binary}
spec:
  containers:
  - {name: app, image: busybox:1.35, command: [/no/such/binary]}
"#,
    );
    root.apply(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "5000")]);
    let p = root.wait_for("no-binary", "in back-off", |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let app = container(&p, "app");
    assert!(app["restartCount"].as_i64().unwrap() >= 1, "{p}");
    let last = &app["lastState"]["terminated"];
    assert_eq!(
        (last["exitCode"].as_i64(), last["reason"].as_str()),
        (Some(128), Some("StartError")),
        "{p}"
    );
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    let row = stdout(&root.minipod(&["get", "pod", "no-binary"]));
    assert!(row.contains("CrashLoopBackOff"), "{row}");
}

// [KRM doBackOff]: an app container that keeps failing waits in CrashLoopBackOff with the
// kubelet's message, and the BackOff event is recorded.
#[test]
fn an_app_container_that_keeps_failing_shows_crash_loop_back_off() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: crashy}
spec:
  containers:
  - {name: app, image: busybox:1.35, command: [sh, -c, "exit 2"]}
"#,
    );
    root.apply(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "5000")]);
    let p = root.wait_for("crashy", "in back-off", |p| {
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let uid = p["metadata"]["uid"].as_str().unwrap();
    let app = container(&p, "app");
    assert_eq!(
        app["state"]["waiting"]["message"],
        format!("back-off 5s restarting failed container=app pod=crashy_default({uid})"),
        "{p}"
    );
    // The first restart is immediate, the second waits.
    assert_eq!(app["restartCount"], 1, "{p}");
    assert_eq!(app["lastState"]["terminated"]["exitCode"], 2, "{p}");
    assert_eq!(
        (app["ready"].as_bool(), app["started"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    assert_eq!(condition(&p, "Ready"), "False", "{p}");
    let row = stdout(&root.minipod(&["get", "pod", "crashy"]));
    assert!(row.contains("CrashLoopBackOff"), "{row}");
    let describe = stdout(&root.minipod(&["describe", "pod", "crashy"]));
    assert!(
        describe.contains("Back-off restarting failed container app in pod crashy_default("),
        "{describe}"
    );
}

// [LHT] "should execute poststart http hook properly": the hook reaches a server in the
// pod's network (here a sidecar), and it blocks the next container until it returned.
#[test]
fn an_http_get_post_start_hook_reaches_the_pod_and_holds_back_the_next_container() {
    let root = or_skip!(PodRoot::new());
    let shared = root.shared_dir();
    let cgi = shared.join("www/cgi-bin");
    std::fs::create_dir_all(&cgi).unwrap();
    std::fs::write(shared.join("www/index.html"), "ok\n").unwrap();
    let script = cgi.join("hook");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"hook $QUERY_STRING\" >> /shared/log\nsleep 1\necho 'Content-Type: text/plain'\necho\necho done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = root.manifest(
        "pod.yaml",
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: http-hook}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  volumes: [{{name: shared, hostPath: {{path: {shared}, type: Directory}}}}]
  initContainers:
  - name: web
    image: busybox:1.35
    restartPolicy: Always
    command: [httpd, -f, -p, "8080", -h, /shared/www]
    startupProbe:
      httpGet: {{path: /index.html, port: 8080}}
      periodSeconds: 1
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  containers:
  - name: first
    image: busybox:1.35
    # Outlives the hook, so that the hook's blocking is what holds "second" back.
    command: [sh, -c, "echo first Starting >> /shared/log; sleep 3"]
    lifecycle:
      postStart:
        httpGet: {{path: "/cgi-bin/hook?first", port: 8080}}
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  - name: second
    image: busybox:1.35
    command: [sh, -c, "echo second Starting >> /shared/log"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
"#,
            shared = shared.display()
        ),
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 0);
    let t = timeline(&shared.join("log"));
    assert!(
        position(&t, "hook first") < position(&t, "second Starting"),
        "{t:?}"
    );
    assert!(
        position(&t, "first Starting") < position(&t, "second Starting"),
        "{t:?}"
    );
    let describe = stdout(&root.minipod(&["describe", "pod", "http-hook"]));
    assert!(!describe.contains("FailedPostStartHook"), "{describe}");
}

// [LHT] / [KRC]: an httpGet postStart that cannot connect records FailedPostStartHook; the
// container is killed (its preStop runs) and restarted per restartPolicy.
#[test]
fn a_failing_http_get_post_start_hook_kills_and_restarts_the_container() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: bad-hook}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 2
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "trap 'echo app SIGTERM >> /shared/log; exit 1' TERM; echo app Starting >> /shared/log; while true; do sleep 0.1; done"]
    lifecycle:
      postStart:
        httpGet: {path: /, port: 9}
      preStop:
        exec: {command: [sh, -c, "echo app PreStop >> /shared/log"]}
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    root.apply(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "5000")]);
    let p = root.wait_for("bad-hook", "restarted", |p| restarts(p, "app") >= 1);
    let last = &container(&p, "app")["lastState"]["terminated"];
    assert_eq!(last["exitCode"], 1, "{p}");
    let describe = stdout(&root.minipod(&["describe", "pod", "bad-hook"]));
    assert!(describe.contains("FailedPostStartHook"), "{describe}");
    let t = timeline(&shared.join("log"));
    assert!(
        position(&t, "app Starting") < position(&t, "app PreStop"),
        "{t:?}"
    );
    assert!(
        position(&t, "app PreStop") < position(&t, "app SIGTERM"),
        "{t:?}"
    );
}

// [LHT] "should execute poststart sleep hook properly": started stays false while the hook
// sleeps.
#[test]
fn a_sleep_post_start_hook_holds_started_until_it_is_done() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: sleep-start}
spec:
  # sleep.seconds may not exceed the grace period (validation).
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: busybox:1.35
    command: [sleep, "1000"]
    lifecycle:
      postStart:
        sleep: {seconds: 2}
"#,
    );
    let begin = Instant::now();
    root.apply(&file, &[]);
    let early = root.wait_for("sleep-start", "running", |p| {
        p["status"]["containerStatuses"][0]["state"]["running"].is_object()
    });
    let c = container(&early, "app");
    assert_eq!(
        (c["started"].as_bool(), c["ready"].as_bool()),
        (Some(false), Some(false)),
        "{early}"
    );
    root.wait_for("sleep-start", "started", |p| {
        p["status"]["containerStatuses"][0]["started"] == true
    });
    let took = begin.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "started after {took:?}"
    );
    let p = root.pod_json("sleep-start");
    assert_eq!(container(&p, "app")["ready"], true, "{p}");
    assert_eq!(container(&p, "app")["restartCount"], 0, "{p}");
}

// [LHT] "should execute prestop sleep hook properly": deletion waits for the sleep, then
// sends the stop signal.
#[test]
fn a_sleep_pre_stop_hook_delays_termination() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: sleep-stop}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "trap 'echo app SIGTERM >> /shared/log; exit 0' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        sleep: {seconds: 2}
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    root.apply(&file, &[]);
    root.wait_for_phase("sleep-stop", "Running");
    let start = Instant::now();
    let out = root.minipod(&["delete", "pod", "sleep-stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(1900), "too early: {took:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert_eq!(timeline(&shared.join("log")), ["app SIGTERM"]);
}

// Exit code 128+N for a process killed by signal N (runc/containerd convention), reason
// Error. The container's shell is not PID 1 of its namespace with shareProcessNamespace, so
// it can SIGKILL itself (PID 1 ignores signals it has no handler for). `$$$$` is `$$` after
// the kubelet's `$(VAR)` expansion of command.
#[test]
fn a_container_killed_by_sigkill_exits_137_with_reason_error() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: self-kill}
spec:
  restartPolicy: Never
  shareProcessNamespace: true
  containers:
  - {name: app, image: busybox:1.35, command: [sh, -c, "kill -9 $$$$; sleep 5"]}
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 1);
    let p = root.pod_json("self-kill");
    let t = &container(&p, "app")["state"]["terminated"];
    assert_eq!(
        (t["exitCode"].as_i64(), t["reason"].as_str()),
        (Some(137), Some("Error")),
        "{p}"
    );
    assert_eq!(p["status"]["phase"], "Failed", "{p}");
    assert_eq!(statuses(&out).last().map(String::as_str), Some("Error"));
}

// [SC]: a sidecar's readiness probe counts toward the pod's Ready condition.
#[test]
fn a_sidecar_that_is_not_ready_keeps_the_pod_not_ready() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: sidecar-ready}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: sidecar
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, "sleep 2; touch /tmp/ready; exec sleep 1000"]
    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 1
  containers:
  - {name: app, image: busybox:1.35, command: [sleep, "1000"]}
"#,
    );
    root.apply(&file, &[]);
    let p = root.wait_for("sidecar-ready", "app running", |p| {
        p["status"]["containerStatuses"][0]["ready"] == true
    });
    assert_eq!(container(&p, "sidecar")["ready"], false, "{p}");
    assert_eq!(container(&p, "sidecar")["started"], true, "{p}");
    assert_eq!(condition(&p, "Initialized"), "True", "{p}");
    assert_eq!(condition(&p, "ContainersReady"), "False", "{p}");
    assert_eq!(condition(&p, "Ready"), "False", "{p}");
    let row = stdout(&root.minipod(&["get", "pod", "sidecar-ready"]));
    assert!(row.contains("1/2"), "{row}");
    let p = root.wait_for("sidecar-ready", "ready", |p| {
        p["status"]["conditions"].as_array().is_some_and(|a| {
            a.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
    });
    assert_eq!(container(&p, "sidecar")["ready"], true, "{p}");
    let row = stdout(&root.minipod(&["get", "pod", "sidecar-ready"]));
    assert!(row.contains("2/2"), "{row}");
}

// [CLT] "should terminate sidecars and fail the pod when a later init container fails"
// under Never: the regular init container after the sidecar fails, the app never starts,
// the sidecar is stopped and the pod fails.
#[test]
fn an_init_container_failing_after_a_sidecar_fails_a_never_pod_and_stops_the_sidecar() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: init-fails-after-sidecar}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 5
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  initContainers:
  - name: sidecar
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, "trap 'echo sidecar Exiting >> /shared/log; exit 0' TERM; echo sidecar Starting >> /shared/log; while true; do sleep 0.1; done"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: init
    image: busybox:1.35
    command: [sh, -c, "echo init Starting >> /shared/log; sleep 0.5; echo init Exiting >> /shared/log; exit 4"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "echo app Starting >> /shared/log"]
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    let begin = Instant::now();
    let out = root.run(&file, &[]);
    assert_exit(&out, 1);
    assert!(
        begin.elapsed() < Duration::from_secs(10),
        "{:?}",
        begin.elapsed()
    );
    assert_eq!(
        timeline(&shared.join("log")),
        [
            "sidecar Starting",
            "init Starting",
            "init Exiting",
            "sidecar Exiting"
        ]
    );
    let p = root.pod_json("init-fails-after-sidecar");
    assert_eq!(p["status"]["phase"], "Failed", "{p}");
    let init = &container(&p, "init")["state"]["terminated"];
    assert_eq!(
        (init["exitCode"].as_i64(), init["reason"].as_str()),
        (Some(4), Some("Error")),
        "{p}"
    );
    assert!(
        container(&p, "sidecar")["state"]["terminated"].is_object(),
        "{p}"
    );
    assert_eq!(
        container(&p, "app")["state"]["waiting"]["reason"],
        "PodInitializing",
        "{p}"
    );
    assert_eq!(
        statuses(&out).last().map(String::as_str),
        Some("Init:Error")
    );
}

// [CLT] "should not hang in termination if terminated during initialization": deleting a
// pod whose init container is still running stops it and the sidecar before it promptly.
// Both trap SIGTERM: a grace period spent waiting would exceed the bound.
#[test]
fn deleting_a_pod_during_initialization_stops_the_init_container_and_the_sidecar() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: delete-while-init}
spec:
  terminationGracePeriodSeconds: 20
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  initContainers:
  - name: sidecar
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, "trap 'echo sidecar Exiting >> /shared/log; exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: init
    image: busybox:1.35
    command: [sh, -c, "trap 'echo init Exiting >> /shared/log; exit 0' TERM; echo init Starting >> /shared/log; while true; do sleep 0.1; done"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - {name: app, image: busybox:1.35, command: [sleep, "1000"]}
"#,
    );
    root.apply(&file, &[]);
    root.wait_for("delete-while-init", "init running", |p| {
        p["status"]["initContainerStatuses"][1]["state"]["running"].is_object()
    });
    let start = Instant::now();
    let out = root.minipod(&["delete", "pod", "delete-while-init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // Both are stopped at once: sidecars wait only for regular containers and later sidecars
    // (kuberuntime_termination_order.go), not for a regular init container.
    let mut t = timeline(&shared.join("log"));
    t.sort();
    assert_eq!(t, ["init Exiting", "init Starting", "sidecar Exiting"]);
}

// [LHT] / [T]: preStop runs on deletion and on kills, not when the container exits by itself.
#[test]
fn pre_stop_does_not_run_when_the_container_exits_by_itself() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: no-pre-stop}
spec:
  restartPolicy: Never
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "echo app Exiting >> /shared/log"]
    lifecycle:
      preStop:
        exec: {command: [sh, -c, "echo app PreStop >> /shared/log"]}
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 0);
    assert_eq!(timeline(&shared.join("log")), ["app Exiting"]);
}

// [SC] / [CLT]: a sidecar whose startup probe fails is killed (its preStop runs) and
// restarted; the containers after it never start and the pod stays Pending.
#[test]
fn a_sidecar_failing_its_startup_probe_is_restarted_and_blocks_the_app() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: sidecar-never-starts}
spec:
  terminationGracePeriodSeconds: 2
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  initContainers:
  - name: sidecar
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, "trap 'exit 0' TERM; echo sidecar Starting >> /shared/log; while true; do sleep 0.1; done"]
    startupProbe:
      exec: {command: ["false"]}
      periodSeconds: 1
      failureThreshold: 1
    lifecycle:
      preStop:
        exec: {command: [sh, -c, "echo sidecar PreStop >> /shared/log"]}
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "echo app Starting >> /shared/log; sleep 1000"]
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    root.apply(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "200")]);
    let p = root.wait_for("sidecar-never-starts", "sidecar restarted", |p| {
        restarts(p, "sidecar") >= 1
    });
    assert_eq!(p["status"]["phase"], "Pending", "{p}");
    assert_eq!(condition(&p, "Initialized"), "False", "{p}");
    let sidecar = container(&p, "sidecar");
    assert_eq!(sidecar["started"], false, "{p}");
    assert_eq!(
        container(&p, "app")["state"]["waiting"]["reason"],
        "PodInitializing",
        "{p}"
    );
    let t = timeline(&shared.join("log"));
    assert!(
        position(&t, "sidecar Starting") < position(&t, "sidecar PreStop"),
        "{t:?}"
    );
    assert_eq!(count(&t, "app Starting"), 0, "{t:?}");
    let describe = stdout(&root.minipod(&["describe", "pod", "sidecar-never-starts"]));
    assert!(describe.contains("Startup probe failed"), "{describe}");
    let row = stdout(&root.minipod(&["get", "pod", "sidecar-never-starts"]));
    assert!(row.contains("Init:"), "{row}");
}

// kubelet: active_deadline.go — past activeDeadlineSeconds the pod is killed and fails with
// reason DeadlineExceeded.
#[test]
fn a_pod_past_its_active_deadline_is_killed_and_fails_with_deadline_exceeded() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: deadline}
spec:
  activeDeadlineSeconds: 2
  terminationGracePeriodSeconds: 1
  containers:
  - {name: app, image: busybox:1.35, command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 0.1; done"]}
"#,
    );
    let begin = Instant::now();
    let out = root.run(&file, &[]);
    let took = begin.elapsed();
    assert_exit(&out, 1);
    assert!(took >= Duration::from_millis(1900), "ended after {took:?}");
    // kubectl's STATUS then shows the container's own reason (printPod lets a terminated
    // container's reason override the pod's), so the pod's fields are checked instead.
    let p = root.pod_json("deadline");
    assert_eq!(p["status"]["phase"], "Failed", "{p}");
    assert_eq!(p["status"]["reason"], "DeadlineExceeded", "{p}");
    assert_eq!(
        p["status"]["message"], "Pod was active on the node longer than the specified deadline",
        "{p}"
    );
    assert!(
        container(&p, "app")["state"]["terminated"].is_object(),
        "{p}"
    );
}

// [T] terminationMessagePath / terminationMessagePolicy: the file's content becomes
// state.terminated.message; FallbackToLogsOnError uses the log tail when the file is empty
// and the container failed.
#[test]
fn the_termination_message_comes_from_the_file_or_the_log_on_error() {
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
  - {name: file, image: busybox:1.35, command: [sh, -c, "printf bye > /dev/termination-log; exit 0"]}
  - name: custom
    image: busybox:1.35
    command: [sh, -c, "printf custom > /tmp/msg"]
    terminationMessagePath: /tmp/msg
  - name: logs
    image: busybox:1.35
    command: [sh, -c, "echo first; echo last words; exit 3"]
    terminationMessagePolicy: FallbackToLogsOnError
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 1);
    let p = root.pod_json("last-words");
    let message = |name: &str| container(&p, name)["state"]["terminated"]["message"].clone();
    assert_eq!(message("file"), "bye", "{p}");
    assert_eq!(message("custom"), "custom", "{p}");
    assert_eq!(message("logs"), "first\nlast words\n", "{p}");
}

// [CLT] "should call sidecar container PreStop hook simultaneously": on deletion every preStop
// starts at once, the sidecar's while the app still runs; the sidecar's stop signal waits
// for the app to exit.
#[test]
fn on_deletion_sidecar_pre_stop_runs_at_once_and_its_signal_waits_for_the_app() {
    let root = or_skip!(PodRoot::new());
    let shared = root.shared_dir();
    let stopping = |name: &str, pre_stop: &str| {
        format!(
            r#"
    command: [sh, -c, "trap 'echo {name} Exiting >> /shared/log; exit 0' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {{command: [sh, -c, "echo {name} PreStop >> /shared/log; {pre_stop}"]}}
    volumeMounts: [{{name: shared, mountPath: /shared}}]"#
        )
    };
    let file = root.manifest(
        "pod.yaml",
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: pre-stops}}
spec:
  terminationGracePeriodSeconds: 10
  volumes: [{{name: shared, hostPath: {{path: {shared}, type: Directory}}}}]
  initContainers:
  - name: sidecar
    image: busybox:1.35
    restartPolicy: Always{sidecar}
  containers:
  - name: app
    image: busybox:1.35{app}
"#,
            shared = shared.display(),
            sidecar = stopping("sidecar", "true"),
            app = stopping("app", "sleep 1"),
        ),
    );
    root.apply(&file, &[]);
    root.wait_for_phase("pre-stops", "Running");
    let start = Instant::now();
    let out = root.minipod(&["delete", "pod", "pre-stops"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    let t = timeline(&shared.join("log"));
    assert_eq!(t.len(), 4, "{t:?}");
    assert!(
        position(&t, "sidecar PreStop") < position(&t, "app Exiting"),
        "{t:?}"
    );
    assert!(
        position(&t, "app PreStop") < position(&t, "app Exiting"),
        "{t:?}"
    );
    assert_eq!(t[3], "sidecar Exiting", "{t:?}");
}

// test/e2e/common/node/sysctl.go: "should support sysctls" (safe ones, also written with
// slashes) and "should not launch unsafe, but not explicitly enabled sysctls on the node"
// (SysctlForbidden); the node's --allowed-unsafe-sysctls is MINIPOD_ALLOWED_UNSAFE_SYSCTLS.
#[test]
fn unsafe_sysctls_are_rejected_unless_the_node_allows_them() {
    let root = or_skip!(PodRoot::new());
    let safe = root.manifest(
        "safe.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: safe}
spec:
  restartPolicy: Never
  securityContext:
    sysctls:
    - {name: kernel/shm_rmid_forced, value: "1"}
    - {name: net.ipv4.ip_local_port_range, value: "2048 4096"}
  containers:
  - name: test-container
    image: busybox:1.35
    command: [sh, -c, 'cat /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ip_local_port_range']
"#,
    );
    let out = root.run(&safe, &[]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let logs = stdout(&root.minipod(&["logs", "safe"]));
    assert_eq!(
        logs.split_whitespace().collect::<Vec<_>>(),
        ["1", "2048", "4096"]
    );

    let unsafe_pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: NAME}
spec:
  restartPolicy: Never
  securityContext:
    sysctls: [{name: kernel.msgmax, value: "10000000"}]
  containers:
  - {name: test-container, image: busybox:1.35, command: [cat, /proc/sys/kernel/msgmax]}
"#;
    let refused = root.manifest("refused.yaml", &unsafe_pod.replace("NAME", "refused"));
    let out = root.run(&refused, &[]);
    assert_exit(&out, 1);
    assert_eq!(
        crate::pods::statuses(&out).last().map(String::as_str),
        Some("SysctlForbidden"),
        "{}",
        stdout(&out)
    );
    let p = root.pod_json("refused");
    assert_eq!(p["status"]["phase"], "Failed", "{p}");
    assert_eq!(p["status"]["reason"], "SysctlForbidden", "{p}");
    assert_eq!(
        p["status"]["message"],
        "Pod was rejected: forbidden sysctl: \"kernel.msgmax\" not allowlisted",
        "{p}"
    );
    assert!(p["status"]["containerStatuses"].is_null(), "{p}");

    let allowed = root.manifest("allowed.yaml", &unsafe_pod.replace("NAME", "allowed"));
    let out = root.run(
        &allowed,
        &[("MINIPOD_ALLOWED_UNSAFE_SYSCTLS", "kernel.msg*")],
    );
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(stdout(&root.minipod(&["logs", "allowed"])), "10000000\n");
}

// test/e2e/common/node/downwardapi.go "should provide host IP as an env var" and the
// hostNetwork pod IP: status.hostIP is one of the node's own addresses, for every pod.
#[test]
fn host_ip_is_the_nodes_address_and_a_host_network_pod_has_it_as_pod_ip() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: HOSTNET}
spec:
  restartPolicy: Never
  hostNetwork: HOSTNETVALUE
  containers:
  - name: dapi-container
    image: busybox:1.35
    env:
    - {name: HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    command: [sh, -c, 'echo "HOST_IP=$HOST_IP POD_IP=$POD_IP"']
"#,
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let node_ips: Vec<String> = nix::ifaddrs::getifaddrs()
        .unwrap()
        .filter_map(|a| {
            a.address
                .and_then(|s| s.as_sockaddr_in().map(|s| s.ip().to_string()))
        })
        .filter(|ip| ip != "127.0.0.1")
        .collect();
    for (name, host_network) in [("pod-net", "false"), ("host-net", "true")] {
        let f = root.manifest(
            &format!("{name}.yaml"),
            &text
                .replace("HOSTNETVALUE", host_network)
                .replace("HOSTNET", name),
        );
        let out = root.run(&f, &[]);
        assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
        let p = root.pod_json(name);
        let host_ip = p["status"]["hostIP"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            node_ips.contains(&host_ip),
            "{host_ip:?} not in {node_ips:?}: {p}"
        );
        assert_eq!(p["status"]["hostIPs"][0]["ip"], host_ip.as_str(), "{p}");
        let pod_ip = if host_network == "true" {
            host_ip.as_str()
        } else {
            ""
        };
        assert_eq!(
            stdout(&root.minipod(&["logs", name])),
            format!("HOST_IP={host_ip} POD_IP={pod_ip}\n")
        );
    }
}
