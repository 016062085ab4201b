//! Cgroups: memory limit → OOMKilled, pids limit, and the whole pod tree removed on teardown
//! even with processes still running.

mod common;

use common::*;
use minipod_testsupport::or_skip;
use serde_json::json;

#[test]
fn memory_limit_oom_kill_is_reported_as_oomkilled() {
    let (env, rootfs) = or_skip!(setup("oom"));
    let report = run_probe(
        &env,
        one_pod(
            &env,
            json!([
                {"pod": "p", "name": "hog", "rootfs": rootfs, "memory_limit": 32 * 1024 * 1024,
                 // dd allocates its 128 MiB block up front and touches it.
                 "args": ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=128M", "count=4"]},
                {"pod": "p", "name": "fine", "rootfs": rootfs, "memory_limit": 32 * 1024 * 1024,
                 "args": ["/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1M", "count=4"]},
            ]),
        ),
    );
    assert_no_errors(&report);
    let hog = container(&report, "hog");
    assert_eq!(hog["oom_killed"], true, "{report:#}");
    assert_eq!(hog["reason"], "OOMKilled");
    assert_eq!(hog["exit_code"], 137);
    let fine = container(&report, "fine");
    assert_eq!(fine["oom_killed"], false, "{report:#}");
    assert_eq!(fine["reason"], "Completed");
    env.assert_clean();
}

#[test]
fn pids_limit_stops_forks() {
    let (env, rootfs) = or_skip!(setup("pids"));
    let script =
        "ok=0; for i in $(seq 40); do if sleep 30 & then ok=$((ok+1)); fi; done; echo ok=$ok";
    let report = run_probe(
        &env,
        one_pod(
            &env,
            json!([{"pod": "p", "name": "forker", "rootfs": rootfs, "pids_limit": 10,
                "args": ["/bin/sh", "-c", script]}]),
        ),
    );
    assert_no_errors(&report);
    let c = container(&report, "forker");
    let stderr = c["stderr"].as_str().unwrap();
    assert!(stderr.contains("can't fork"), "{report:#}");
    // When the container's init exits, the kernel kills the rest of its PID namespace.
    env.assert_clean();
}

#[test]
fn teardown_removes_pod_tree_with_stragglers() {
    let (env, rootfs) = or_skip!(setup("straggle"));
    let report = run_probe(
        &env,
        one_pod_with(
            &env,
            json!({"pids_limit": 100}),
            json!({}),
            json!([
                // Never deleted by the probe: the sandbox teardown must kill it.
                {"pod": "p", "name": "stubborn", "rootfs": rootfs, "wait": false,
                 "skip_delete": true, "timeout_ms": 1000,
                 "args": ["/bin/sh", "-c", "trap '' TERM; sleep 100 & sleep 100 & exec sleep 100"]},
                {"pod": "p", "name": "other", "rootfs": rootfs, "wait": false, "skip_delete": true,
                 "timeout_ms": 1000, "args": ["/bin/sleep", "100"]},
            ]),
        ),
    );
    assert_no_errors(&report);
    assert_eq!(
        container(&report, "stubborn")["exit_code"],
        137,
        "{report:#}"
    );
    env.assert_clean();
}

#[test]
fn gc_after_a_dead_supervisor_removes_everything() {
    let (env, rootfs) = or_skip!(setup("gc"));
    let report = run_probe(
        &env,
        one_pod_with(
            &env,
            json!({"share_process_namespace": true}),
            json!({"abandon": true}),
            json!([
                {"pod": "p", "name": "a", "rootfs": rootfs, "wait": false,
                 "args": ["/bin/sh", "-c", "sleep 100 & exec sleep 100"]},
                {"pod": "p", "name": "b", "rootfs": rootfs, "wait": false,
                 "args": ["/bin/sleep", "100"]},
            ]),
        ),
    );
    assert_no_errors(&report);
    // The uid one_pod gave the pod.
    let uid = format!("{}-p", env.tag);
    // The "supervisor" is gone; its pod is still running.
    assert!(!env.leftover_cgroups().is_empty());
    assert!(!env.processes().is_empty());
    let out = std::process::Command::new(common::probe())
        .arg("gc")
        .arg(env.run_root())
        .arg(&uid)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    env.assert_clean();
}
