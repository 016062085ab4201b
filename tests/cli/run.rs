//! `minipod run` / `apply` / `delete` end to end, with real containers from the busybox test
//! image: the kubelet's start-up order, failure handling, hooks and graceful deletion, in the
//! spirit of Kubernetes' init_container.go, lifecycle_hook.go and container_lifecycle_test.go.
//! Privileged: they need root and fail without it (MINIPOD_SKIP_PRIVILEGED=1 skips them).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::minipod_bin;
use crate::pods::{assert_exit, position, statuses, stderr, stdout, timeline, PodRoot};
use minipod_testsupport::or_skip;

#[test]
fn the_bundled_demo_moves_through_kubectls_statuses_and_succeeds() {
    let root = or_skip!(PodRoot::new());
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/init-demo.yaml");
    let out = root.run(&demo, &[]);
    assert_exit(&out, 0);
    let header = stdout(&out).lines().next().unwrap_or_default().to_owned();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let s = statuses(&out);
    let order = [
        "Pending",
        "Init:0/1",
        "PodInitializing",
        "Running",
        "Completed",
    ];
    let mut at = 0;
    for want in order {
        at += s[at..]
            .iter()
            .position(|x| x == want)
            .unwrap_or_else(|| panic!("{want} missing after row {at} in {s:?}"));
    }
    // One row per change: no status repeats back to back.
    assert!(
        s.windows(2).all(|w| w[0] != w[1] || w[0] == "Running"),
        "{s:?}"
    );
    let logs = root.minipod(&["logs", "init-demo", "-c", "app"]);
    assert_eq!(stdout(&logs), "prepared by init container\ndone\n");
    let pod = root.pod_json("init-demo");
    assert_eq!(pod["status"]["phase"], "Succeeded");
    assert_eq!(
        pod["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
}

#[test]
fn a_failing_init_container_under_never_fails_the_pod_and_apps_never_start() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: init-fails}
spec:
  restartPolicy: Never
  initContainers:
  - {name: init, image: busybox:1.35, command: [sh, -c, "exit 3"]}
  containers:
  - {name: app, image: busybox:1.35, command: [sh, -c, "echo should not run"]}
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 1);
    assert_eq!(
        statuses(&out).last().map(String::as_str),
        Some("Init:Error")
    );
    let pod = root.pod_json("init-fails");
    assert_eq!(pod["status"]["phase"], "Failed");
    let init = &pod["status"]["initContainerStatuses"][0]["state"]["terminated"];
    assert_eq!(
        (init["exitCode"].as_i64(), init["reason"].as_str()),
        (Some(3), Some("Error"))
    );
    let app = &pod["status"]["containerStatuses"][0];
    assert_eq!(app["state"]["waiting"]["reason"], "PodInitializing");
    assert_eq!(app["restartCount"], 0);
}

#[test]
fn a_failing_init_container_under_on_failure_restarts_with_back_off_then_the_app_runs() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: init-retry}
spec:
  restartPolicy: OnFailure
  volumes: [{name: state, emptyDir: {}}]
  initContainers:
  - name: init
    image: busybox:1.35
    command: [sh, -c, "if [ -e /state/once ]; then exit 0; fi; touch /state/once; exit 1"]
    volumeMounts: [{name: state, mountPath: /state}]
  containers:
  - {name: app, image: busybox:1.35, command: [sh, -c, "echo ran"]}
"#,
    );
    let out = root.run(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "200")]);
    assert_exit(&out, 0);
    assert!(statuses(&out)
        .iter()
        .any(|s| s == "Init:Error" || s == "Init:CrashLoopBackOff"));
    let pod = root.pod_json("init-retry");
    let init = &pod["status"]["initContainerStatuses"][0];
    assert_eq!(init["restartCount"], 1);
    assert_eq!(init["lastState"]["terminated"]["exitCode"], 1);
    // Each attempt has its own log file.
    let logs = root.minipod(&["logs", "init-retry", "-c", "app"]);
    assert_eq!(stdout(&logs), "ran\n");
}

#[test]
fn post_start_runs_beside_the_entrypoint_and_holds_back_the_next_container() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: hooks}
spec:
  restartPolicy: Never
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  initContainers:
  - name: sidecar
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, "echo sidecar Starting >> /shared/log; sleep 1000"]
    lifecycle:
      postStart:
        exec: {command: [sh, -c, "sleep 1; echo sidecar PostStart >> /shared/log"]}
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "echo app Starting >> /shared/log"]
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 0);
    let t = timeline(&shared.join("log"));
    // The hook ran while the sidecar's entrypoint was already running, and the app started
    // only after the hook returned.
    assert!(
        position(&t, "sidecar Starting") < position(&t, "sidecar PostStart"),
        "{t:?}"
    );
    assert!(
        position(&t, "sidecar PostStart") < position(&t, "app Starting"),
        "{t:?}"
    );
    // The sidecar did not keep the pod alive: it was stopped once the app ended.
    let pod = root.pod_json("hooks");
    assert_eq!(pod["status"]["phase"], "Succeeded");
}

#[test]
fn delete_runs_pre_stop_then_stops_within_the_grace_period() {
    let root = or_skip!(PodRoot::new());
    let (shared, file) = root.shared_manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 5
  volumes: [{name: shared, hostPath: {path: {shared}, type: Directory}}]
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "trap 'echo app SIGTERM >> /shared/log; exit 0' TERM; while true; do sleep 0.1; done"]
    lifecycle:
      preStop:
        exec: {command: [sh, -c, "echo app PreStop >> /shared/log"]}
    volumeMounts: [{name: shared, mountPath: /shared}]
"#,
    );
    let out = root.minipod(&["apply", "-f", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pod/graceful created\n");
    root.wait_for_phase("graceful", "Running");
    let start = Instant::now();
    let out = root.minipod(&["delete", "pod", "graceful"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pod \"graceful\" deleted\n");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(
        timeline(&shared.join("log")),
        ["app PreStop", "app SIGTERM"]
    );
    let gone = root.minipod(&["get", "pod", "graceful"]);
    assert_eq!(gone.status.code(), Some(1));
    assert_eq!(
        stderr(&gone).trim(),
        "Error from server (NotFound): pods \"graceful\" not found"
    );
}

#[test]
fn a_container_ignoring_sigterm_is_killed_when_the_grace_period_ends() {
    let root = or_skip!(PodRoot::new());
    root.apply_yaml(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - {name: app, image: busybox:1.35, command: [sh, -c, "trap '' TERM; while true; do sleep 0.1; done"]}
"#,
    );
    root.wait_for_phase("stubborn", "Running");
    let start = Instant::now();
    let out = root.minipod(&["delete", "pod", "stubborn"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "killed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn ctrl_c_stops_the_pods_gracefully_removes_them_and_exits_1() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: forever}
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - {name: app, image: busybox:1.35, command: [sh, -c, "trap 'exit 0' TERM; while true; do sleep 0.1; done"]}
"#,
    );
    let mut child = Command::new(minipod_bin())
        .arg("--root")
        .arg(root.path())
        .args(["run", "-f"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    root.wait_for_phase("forever", "Running");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "run did not end after Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("Running"), "{out}");
    let gone = root.minipod(&["get", "pods"]);
    assert!(
        stderr(&gone).contains("No resources found"),
        "{}",
        stdout(&gone)
    );
}

#[test]
fn bad_input_creates_nothing_and_exits_2() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "bad.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  initContainers:
  - {name: same, image: busybox:1.35}
  containers:
  - {name: same, image: busybox:1.35}
"#,
    );
    let out = root.run(&file, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.yaml"), "{err}");
    assert!(err.contains("Duplicate value"), "{err}");
    let missing = root.manifest(
        "missing.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: m}\nspec:\n  containers:\n  - {name: a, image: nosuch:1.0, imagePullPolicy: Never}\n",
    );
    let out = root.run(&missing, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("ErrImageNeverPull: container image \"nosuch:1.0\" is not present with pull policy of Never"),
        "{err}"
    );
    let pods = root.minipod(&["get", "pods"]);
    assert!(stderr(&pods).contains("No resources found"));
}

#[test]
fn apply_is_idempotent_and_run_refuses_a_taken_name() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: once}\nspec:\n  containers:\n  - {name: a, image: busybox:1.35, command: [sleep, '1000']}\n",
    );
    root.apply(&file, &[]);
    let uid = root.pod_json("once")["metadata"]["uid"].clone();
    let again = root.minipod(&["apply", "-f", file.to_str().unwrap()]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), "pod/once unchanged\n");
    assert_eq!(root.pod_json("once")["metadata"]["uid"], uid);
    let run = root.minipod(&["run", "-d", "-f", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    assert!(stderr(&run).contains("already exists"), "{}", stderr(&run));
}

#[test]
fn readiness_probes_exec_and_http_drive_ready_and_the_ready_condition() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: ready}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: busybox:1.35
    command: [sh, -c, "mkdir -p /www && echo ok > /www/index.html && sleep 2 && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
  - name: file
    image: busybox:1.35
    command: [sh, -c, "sleep 2; touch /tmp/ready; exec sleep 1000"]
    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 1
"#,
    );
    root.apply(&file, &[]);
    let early = root.wait_for("ready", "running", |p| p["status"]["phase"] == "Running");
    let statuses = early["status"]["containerStatuses"]
        .as_array()
        .unwrap()
        .clone();
    assert!(statuses.iter().all(|c| c["ready"] == false), "{early}");
    let p = root.wait_for("ready", "ready", |p| {
        p["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|a| a.iter().all(|c| c["ready"] == true))
    });
    let conditions = p["status"]["conditions"].as_array().unwrap();
    let ready = conditions.iter().find(|c| c["type"] == "Ready").unwrap();
    assert_eq!(ready["status"], "True", "{p}");
    let row = root.minipod(&["get", "pod", "ready"]);
    assert!(stdout(&row).contains("2/2"), "{}", stdout(&row));
}

#[test]
fn a_failing_liveness_probe_restarts_the_container_and_records_unhealthy() {
    let root = or_skip!(PodRoot::new());
    root.apply_yaml(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: liveness}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "touch /tmp/alive; sleep 2; rm /tmp/alive; exec sleep 1000"]
    livenessProbe:
      exec: {command: [cat, /tmp/alive]}
      periodSeconds: 1
      failureThreshold: 1
"#,
    );
    let p = root.wait_for("liveness", "restarted", |p| {
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .is_some_and(|n| n >= 1)
    });
    let last = &p["status"]["containerStatuses"][0]["lastState"]["terminated"];
    assert_eq!(last["exitCode"], 137, "{p}");
    let describe = stdout(&root.minipod(&["describe", "pod", "liveness"]));
    assert!(describe.contains("Unhealthy"), "{describe}");
    assert!(describe.contains("Liveness probe failed"), "{describe}");
    assert!(describe.contains("Killing"), "{describe}");
}

/// `get pods -w` beside `run -d`: the rows kubectl prints for the same pod, in order.
#[test]
fn get_watch_shows_every_status_of_the_demo_in_kubectls_order() {
    let root = or_skip!(PodRoot::new());
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/init-demo.yaml");
    root.apply(&demo, &[]);
    // A named watch ends when the pod is gone; delete it once it completed.
    let watch = Command::new(minipod_bin())
        .arg("--root")
        .arg(root.path())
        .args(["get", "pods", "init-demo", "-w"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    root.wait_for_phase("init-demo", "Succeeded");
    std::thread::sleep(Duration::from_millis(300));
    assert!(root
        .minipod(&["delete", "pod", "init-demo"])
        .status
        .success());
    let out = watch.wait_with_output().unwrap();
    let s = statuses(&out);
    // The first row is whatever state the watch started in; from there on, kubectl's order.
    let order = ["Init:0/1", "PodInitializing", "Running", "Completed"];
    let start = s
        .iter()
        .position(|x| order.contains(&x.as_str()))
        .unwrap_or(0);
    let mut seen: Vec<&str> = Vec::new();
    for x in &s[start..] {
        if seen.last() != Some(&x.as_str()) {
            seen.push(x);
        }
    }
    let tail: Vec<&str> = order
        .iter()
        .skip_while(|o| **o != seen[0])
        .copied()
        .collect();
    assert_eq!(seen, tail, "rows: {s:?}");
}

#[test]
fn a_container_over_its_memory_limit_is_oom_killed() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: busybox:1.35
    command: [sh, -c, "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while true; do x=$x$x; done"]
    resources:
      limits: {memory: 32Mi}
"#,
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 1);
    assert_eq!(statuses(&out).last().map(String::as_str), Some("OOMKilled"));
    let pod = root.pod_json("oom");
    let t = &pod["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(
        (t["reason"].as_str(), t["exitCode"].as_i64()),
        (Some("OOMKilled"), Some(137))
    );
}

#[test]
fn sidecars_stop_after_the_app_containers_in_reverse_order() {
    let root = or_skip!(PodRoot::new());
    let shared = root.shared_dir();
    let sidecar = |name: &str| {
        format!(
            r#"
  - name: {name}
    image: busybox:1.35
    restartPolicy: Always
    command: [sh, -c, "trap 'echo {name} Exiting >> /shared/log; exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]"#
        )
    };
    let file = root.manifest(
        "pod.yaml",
        &format!(
            r#"
apiVersion: v1
kind: Pod
metadata: {{name: sidecars}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 10
  volumes: [{{name: shared, hostPath: {{path: {shared}, type: Directory}}}}]
  initContainers:{one}{two}
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "sleep 1; echo app Exiting >> /shared/log"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
"#,
            shared = shared.display(),
            one = sidecar("sidecar-1"),
            two = sidecar("sidecar-2"),
        ),
    );
    let out = root.run(&file, &[]);
    assert_exit(&out, 0);
    assert_eq!(
        timeline(&shared.join("log")),
        ["app Exiting", "sidecar-2 Exiting", "sidecar-1 Exiting"]
    );
    assert_eq!(root.pod_json("sidecars")["status"]["phase"], "Succeeded");
}

#[test]
fn an_init_container_that_keeps_failing_shows_init_crash_loop_back_off() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  initContainers:
  - {name: init, image: busybox:1.35, command: [sh, -c, "exit 1"]}
  containers:
  - {name: app, image: busybox:1.35, command: [sleep, "1000"]}
"#,
    );
    let out = root.apply_with_env(&file, &[("MINIPOD_BACKOFF_INITIAL_MS", "5000")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let p = root.wait_for("crash", "in back-off", |p| {
        p["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    });
    let init = &p["status"]["initContainerStatuses"][0];
    let uid = p["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        init["state"]["waiting"]["message"],
        format!("back-off 5s restarting failed container=init pod=crash_default({uid})")
    );
    assert!(init["restartCount"].as_i64().unwrap() >= 1, "{p}");
    assert_eq!(p["status"]["phase"], "Pending");
    let row = stdout(&root.minipod(&["get", "pod", "crash"]));
    assert!(row.contains("Init:CrashLoopBackOff"), "{row}");
    let describe = stdout(&root.minipod(&["describe", "pod", "crash"]));
    assert!(describe.contains("BackOff"), "{describe}");
}

#[test]
fn a_startup_probe_holds_started_and_ready_until_it_passes() {
    let root = or_skip!(PodRoot::new());
    let file = root.manifest(
        "pod.yaml",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: startup}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: app
    image: busybox:1.35
    command: [sh, -c, "sleep 2; touch /tmp/started; exec sleep 1000"]
    startupProbe:
      exec: {command: [cat, /tmp/started]}
      periodSeconds: 1
      failureThreshold: 30
"#,
    );
    root.apply(&file, &[]);
    let early = root.wait_for("startup", "running", |p| p["status"]["phase"] == "Running");
    let c = &early["status"]["containerStatuses"][0];
    assert_eq!(
        (c["started"].as_bool(), c["ready"].as_bool()),
        (Some(false), Some(false)),
        "{early}"
    );
    let p = root.wait_for("startup", "started", |p| {
        p["status"]["containerStatuses"][0]["started"] == true
    });
    assert_eq!(p["status"]["containerStatuses"][0]["ready"], true, "{p}");
    assert_eq!(
        p["status"]["containerStatuses"][0]["restartCount"], 0,
        "{p}"
    );
}
