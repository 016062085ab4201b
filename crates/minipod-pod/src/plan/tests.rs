//! Table tests in the style of the kubelet's TestComputePodActions /
//! TestComputePodActionsWithInitContainers / ...WithRestartableInitContainers: each row is a
//! spec, a mutation of the observed state, a clock, and the expected actions.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::observed::{
    HookState, KillReason, ObservedPod, PodTermination, PodTerminationReason, ProbeKind,
    ProbeResult, ProbeResults, SandboxState,
};
use crate::spec::PodPhase;
use crate::testutil::*;

type Setup = fn(&mut ObservedPod, &mut ProbeResults);

struct Row {
    name: &'static str,
    spec: Value,
    setup: Setup,
    now: i64,
    want: &'static [&'static str],
    init: &'static str,
}

fn run_rows(rows: Vec<Row>) {
    let mut failures = Vec::new();
    for row in &rows {
        let p = pod(row.spec.clone());
        let mut o = observed(&p);
        let mut probes = ProbeResults::new();
        (row.setup)(&mut o, &mut probes);
        let got = compute_pod_actions(&p, &o, &probes, t(row.now));
        let got_actions: Vec<String> = got.actions.iter().map(fmt_action).collect();
        let got_init = fmt_init(&got.init);
        if got_actions != row.want || got_init != row.init {
            failures.push(format!(
                "{}:\n   want {:?} init {:?}\n    got {:?} init {:?}",
                row.name, row.want, row.init, got_actions, got_init
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

fn policy(v: Value, p: &str) -> Value {
    set(v, "restartPolicy", json!(p))
}

fn post_start(v: Value, path: &str) -> Value {
    set(
        v,
        &format!("{path}.lifecycle"),
        json!({"postStart": {"exec": {"command": ["sh", "-c", "true"]}}}),
    )
}

fn pre_stop(v: Value, path: &str) -> Value {
    set(
        v,
        &format!("{path}.lifecycle"),
        json!({"preStop": {"exec": {"command": ["sh", "-c", "true"]}}}),
    )
}

fn probe(v: Value, path: &str, kind: &str) -> Value {
    set(
        v,
        &format!("{path}.{kind}"),
        json!({"exec": {"command": ["true"]}, "periodSeconds": 1}),
    )
}

fn all_up(o: &mut ObservedPod) {
    for name in ["foo1", "foo2", "foo3"] {
        up(o, name, 0);
    }
}

fn deleted(o: &mut ObservedPod, grace: u64) {
    o.termination = Some(PodTermination {
        requested_at: t(10),
        grace: Duration::from_secs(grace),
        reason: PodTerminationReason::Deleted,
    });
}

fn kill_at(o: &mut ObservedPod, name: &str, reason: KillReason, pre_stop: bool, at: i64) {
    assert!(o.record_kill(
        name,
        reason,
        Duration::from_secs(30),
        pre_stop,
        false,
        t(at)
    ));
}

/// The pod deleted at 10 with 30 s grace; every running container's kill recorded at 10.
fn deleting(o: &mut ObservedPod, pre_stop: &[&str]) {
    deleted(o, 30);
    let running: Vec<String> = o
        .all()
        .filter(|c| c.is_running())
        .map(|c| c.name.clone())
        .collect();
    for name in running {
        let ps = pre_stop.contains(&name.as_str());
        assert!(o.record_kill(
            &name,
            KillReason::PodTermination,
            Duration::from_secs(30),
            ps,
            true,
            t(10)
        ));
    }
}

#[test]
fn regular_containers() {
    run_rows(vec![
        Row {
            name: "new pod: create the sandbox first",
            spec: basic(),
            setup: |o, _| o.sandbox = SandboxState::NotCreated,
            now: 0,
            want: &["sandbox"],
            init: "done",
        },
        Row {
            name: "sandbox ready: start every container, in order",
            spec: basic(),
            setup: |_, _| {},
            now: 0,
            want: &["start foo1#0", "start foo2#0", "start foo3#0"],
            init: "done",
        },
        Row {
            name: "all running: nothing to do",
            spec: basic(),
            setup: |o, _| all_up(o),
            now: 5,
            want: &[],
            init: "done",
        },
        Row {
            name: "start only the missing container",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo3", 0);
            },
            now: 5,
            want: &["start foo2#0"],
            init: "done",
        },
        Row {
            name: "Always: first restart is immediate",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 0, 5);
            },
            now: 7,
            want: &["start foo3#1"],
            init: "done",
        },
        Row {
            name: "Always: second crash waits 10s after finishedAt",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
                ran(o, "foo3", 1, 2);
            },
            now: 5,
            want: &["wait backoff foo3 10s @13"],
            init: "done",
        },
        Row {
            name: "Always: restart once the back-off expired",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
                ran(o, "foo3", 1, 2);
            },
            now: 13,
            want: &["start foo3#2"],
            init: "done",
        },
        Row {
            name: "Always: third crash waits 20s",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
                ran(o, "foo3", 1, 2);
                ran(o, "foo3", 1, 13);
            },
            now: 15,
            want: &["wait backoff foo3 20s @34"],
            init: "done",
        },
        Row {
            name: "Always: back-off resets after 10 minutes of running",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
                ran(o, "foo3", 1, 2);
                ran(o, "foo3", 1, 700);
            },
            now: 702,
            want: &["start foo3#3"],
            init: "done",
        },
        Row {
            name: "Always: exit 0 is restarted too",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 0, 0);
            },
            now: 5,
            want: &["start foo3#1"],
            init: "done",
        },
        Row {
            name: "OnFailure: exit 0 is not restarted",
            spec: policy(basic(), "OnFailure"),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 0, 0);
            },
            now: 5,
            want: &[],
            init: "done",
        },
        Row {
            name: "OnFailure: exit 1 is restarted",
            spec: policy(basic(), "OnFailure"),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
            },
            now: 5,
            want: &["start foo3#1"],
            init: "done",
        },
        Row {
            name: "Never: exit 1 is not restarted",
            spec: policy(basic(), "Never"),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
            },
            now: 5,
            want: &[],
            init: "done",
        },
        Row {
            name: "Never: all exited → terminate the pod",
            spec: policy(basic(), "Never"),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 1, 0);
                ran(o, "foo3", 0, 0);
            },
            now: 5,
            want: &["terminate Completed 30s"],
            init: "done",
        },
        Row {
            name: "OnFailure: all exited 0 → terminate the pod",
            spec: policy(basic(), "OnFailure"),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 0, 0);
                ran(o, "foo3", 0, 0);
            },
            now: 5,
            want: &["terminate Completed 30s"],
            init: "done",
        },
        Row {
            name: "OnFailure: terminate uses terminationGracePeriodSeconds",
            spec: set(
                policy(basic(), "OnFailure"),
                "terminationGracePeriodSeconds",
                json!(7),
            ),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 0, 0);
                ran(o, "foo3", 0, 0);
            },
            now: 5,
            want: &["terminate Completed 7s"],
            init: "done",
        },
        Row {
            name: "Always: all exited → restart all, immediately",
            spec: basic(),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 1, 0);
                ran(o, "foo3", 137, 0);
            },
            now: 5,
            want: &["start foo1#1", "start foo2#1", "start foo3#1"],
            init: "done",
        },
        Row {
            name: "start failure is retried after 10s; others still start",
            spec: basic(),
            setup: |o, _| {
                o.record_start_failure("foo1", "CreateContainerError", "boom", t(0));
            },
            now: 5,
            want: &["wait retry foo1 @10", "start foo2#0", "start foo3#0"],
            init: "done",
        },
        Row {
            name: "start failure: retry when due",
            spec: basic(),
            setup: |o, _| {
                o.record_start_failure("foo1", "CreateContainerError", "boom", t(0));
                up(o, "foo2", 1);
                up(o, "foo3", 1);
            },
            now: 10,
            want: &["start foo1#0"],
            init: "done",
        },
        Row {
            name: "StartError exit 128 counts as a crash",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                run(o, "foo3", 0);
                let mut term = Termination::exited(128, false, t(0));
                term.reason = Some("StartError".into());
                o.record_exit("foo3", term);
            },
            now: 1,
            want: &["start foo3#1"],
            init: "done",
        },
        Row {
            name: "StartError recorded by the supervisor: the second one backs off",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                o.record_start_error("foo3", None, "exec: not found", t(0));
                o.record_start_error("foo3", None, "exec: not found", t(1));
            },
            now: 2,
            want: &["wait backoff foo3 10s @11"],
            init: "done",
        },
        Row {
            name: "StartError under Never: not restarted, the pod is completed",
            spec: policy(json!({"containers": [container("foo1")]}), "Never"),
            setup: |o, _| {
                o.record_start_error("foo1", None, "exec: not found", t(0));
            },
            now: 1,
            want: &["terminate Completed 30s"],
            init: "done",
        },
    ]);
}

use crate::observed::Termination;

#[test]
fn probes_and_kills() {
    run_rows(vec![
        Row {
            name: "liveness failure: kill with the pod's grace",
            spec: probe(basic(), "containers.0", "livenessProbe"),
            setup: |o, p| {
                all_up(o);
                p.set("foo1", 0, ProbeKind::Liveness, ProbeResult::Failure);
            },
            now: 20,
            want: &["kill foo1 LivenessProbe 30s"],
            init: "done",
        },
        Row {
            name: "liveness success: keep",
            spec: probe(basic(), "containers.0", "livenessProbe"),
            setup: |o, p| {
                all_up(o);
                p.set("foo1", 0, ProbeKind::Liveness, ProbeResult::Success);
            },
            now: 20,
            want: &[],
            init: "done",
        },
        Row {
            name: "liveness failure: probe terminationGracePeriodSeconds wins",
            spec: set(
                probe(basic(), "containers.0", "livenessProbe"),
                "containers.0.livenessProbe.terminationGracePeriodSeconds",
                json!(5),
            ),
            setup: |o, p| {
                all_up(o);
                p.set("foo1", 0, ProbeKind::Liveness, ProbeResult::Failure);
            },
            now: 20,
            want: &["kill foo1 LivenessProbe 5s"],
            init: "done",
        },
        Row {
            name: "liveness failure: preStop runs",
            spec: pre_stop(
                probe(basic(), "containers.0", "livenessProbe"),
                "containers.0",
            ),
            setup: |o, p| {
                all_up(o);
                p.set("foo1", 0, ProbeKind::Liveness, ProbeResult::Failure);
            },
            now: 20,
            want: &["kill foo1 LivenessProbe 30s prestop"],
            init: "done",
        },
        Row {
            name: "startup failure: kill",
            spec: probe(basic(), "containers.1", "startupProbe"),
            setup: |o, p| {
                all_up(o);
                p.set("foo2", 0, ProbeKind::Startup, ProbeResult::Failure);
            },
            now: 20,
            want: &["kill foo2 StartupProbe 30s"],
            init: "done",
        },
        Row {
            name: "a verdict for an older instance is ignored",
            spec: probe(basic(), "containers.0", "livenessProbe"),
            setup: |o, p| {
                ran(o, "foo1", 1, 0);
                up(o, "foo1", 2);
                up(o, "foo2", 0);
                up(o, "foo3", 0);
                p.set("foo1", 0, ProbeKind::Liveness, ProbeResult::Failure);
            },
            now: 20,
            want: &[],
            init: "done",
        },
        Row {
            name: "readiness failure never kills",
            spec: probe(basic(), "containers.0", "readinessProbe"),
            setup: |o, p| {
                all_up(o);
                p.set("foo1", 0, ProbeKind::Readiness, ProbeResult::Failure);
            },
            now: 20,
            want: &[],
            init: "done",
        },
        Row {
            name: "Never + single container liveness failure: kill and terminate the pod",
            spec: policy(
                probe(
                    json!({"containers": [container("foo1")]}),
                    "containers.0",
                    "livenessProbe",
                ),
                "Never",
            ),
            setup: |o, p| {
                up(o, "foo1", 0);
                p.set("foo1", 0, ProbeKind::Liveness, ProbeResult::Failure);
            },
            now: 20,
            want: &["kill foo1 LivenessProbe 30s", "terminate Completed 30s"],
            init: "done",
        },
        Row {
            name: "OnFailure: a liveness-killed container restarts even after exit 0",
            spec: policy(probe(basic(), "containers.0", "livenessProbe"), "OnFailure"),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::LivenessProbe, false, 20);
                exit(o, "foo1", 0, 21);
            },
            now: 21,
            want: &["start foo1#1"],
            init: "done",
        },
        Row {
            name: "Never: a liveness-killed container is not restarted",
            spec: policy(probe(basic(), "containers.0", "livenessProbe"), "Never"),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::LivenessProbe, false, 20);
                exit(o, "foo1", 137, 21);
            },
            now: 21,
            want: &[],
            init: "done",
        },
        Row {
            name: "kill in progress: wait for preStop within the grace",
            spec: pre_stop(basic(), "containers.0"),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::LivenessProbe, true, 0);
            },
            now: 10,
            want: &["wait prestop foo1 @30"],
            init: "done",
        },
        Row {
            name: "kill in progress: preStop done → stop signal with the rest of the grace",
            spec: pre_stop(basic(), "containers.0"),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::LivenessProbe, true, 0);
                o.record_pre_stop("foo1", HookState::Succeeded);
            },
            now: 10,
            want: &["stop foo1 20000ms"],
            init: "done",
        },
        Row {
            name: "kill in progress: failed preStop does not stop the kill",
            spec: pre_stop(basic(), "containers.0"),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::LivenessProbe, true, 0);
                o.record_pre_stop("foo1", HookState::Failed);
            },
            now: 4,
            want: &["stop foo1 26000ms"],
            init: "done",
        },
        Row {
            name: "kill in progress: preStop overran the grace → 2s floor",
            spec: pre_stop(basic(), "containers.0"),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::LivenessProbe, true, 0);
            },
            now: 31,
            want: &["stop foo1 2000ms"],
            init: "done",
        },
        Row {
            name: "kill in progress without preStop: signal at once",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::StartupProbe, false, 0);
            },
            now: 0,
            want: &["stop foo1 30000ms"],
            init: "done",
        },
        Row {
            name: "stop signal sent: wait for the deadline",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::StartupProbe, false, 0);
                o.record_stop_signal("foo1", Duration::from_secs(30), t(0));
            },
            now: 10,
            want: &["wait deadline foo1 @30"],
            init: "done",
        },
        Row {
            name: "stop deadline passed: SIGKILL",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::StartupProbe, false, 0);
                o.record_stop_signal("foo1", Duration::from_secs(30), t(0));
            },
            now: 30,
            want: &["sigkill foo1"],
            init: "done",
        },
        Row {
            name: "SIGKILL sent: nothing more until it exits",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::StartupProbe, false, 0);
                o.record_stop_signal("foo1", Duration::from_secs(30), t(0));
                o.record_force_kill("foo1");
            },
            now: 31,
            want: &[],
            init: "done",
        },
        Row {
            name: "a kill in progress blocks starts (the kubelet's sync is busy)",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                kill_at(o, "foo1", KillReason::LivenessProbe, false, 0);
                o.record_stop_signal("foo1", Duration::from_secs(30), t(0));
            },
            now: 5,
            want: &["wait deadline foo1 @30"],
            init: "done",
        },
        Row {
            name: "stop signal from lifecycle.stopSignal",
            spec: set(
                basic(),
                "containers.0.lifecycle",
                json!({"stopSignal": "SIGUSR1"}),
            ),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::StartupProbe, false, 0);
            },
            now: 0,
            want: &["stop foo1 30000ms SIGUSR1"],
            init: "done",
        },
    ]);
}

#[test]
fn post_start_hooks() {
    run_rows(vec![
        Row {
            name: "postStart runs right after the start and blocks the next container",
            spec: post_start(basic(), "containers.0"),
            setup: |_, _| {},
            now: 0,
            want: &["start foo1#0", "poststart foo1"],
            init: "done",
        },
        Row {
            name: "postStart running: nothing else starts",
            spec: post_start(basic(), "containers.0"),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Running);
            },
            now: 1,
            want: &[],
            init: "done",
        },
        Row {
            name: "postStart returned: the next containers start",
            spec: post_start(basic(), "containers.0"),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Succeeded);
            },
            now: 1,
            want: &["start foo2#0", "start foo3#0"],
            init: "done",
        },
        Row {
            name: "the second container's hook blocks the third",
            spec: post_start(post_start(basic(), "containers.0"), "containers.1"),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Succeeded);
            },
            now: 1,
            want: &["start foo2#0", "poststart foo2"],
            init: "done",
        },
        Row {
            name: "started but hook not launched (supervisor restarted): launch it",
            spec: post_start(basic(), "containers.0"),
            setup: |o, _| run(o, "foo1", 0),
            now: 1,
            want: &["poststart foo1"],
            init: "done",
        },
        Row {
            name: "postStart failed: kill (FailedPostStartHook)",
            spec: post_start(basic(), "containers.0"),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Failed);
            },
            now: 1,
            want: &["kill foo1 FailedPostStartHook 30s"],
            init: "done",
        },
        Row {
            name: "postStart failed: the kill runs preStop",
            spec: set(
                basic(),
                "containers.0.lifecycle",
                json!({"postStart": {"exec": {"command": ["false"]}},
                       "preStop": {"exec": {"command": ["true"]}}}),
            ),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Failed);
            },
            now: 1,
            want: &["kill foo1 FailedPostStartHook 30s prestop"],
            init: "done",
        },
        Row {
            name: "after a postStart kill the container restarts with its hook",
            spec: post_start(basic(), "containers.0"),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Failed);
                kill_at(o, "foo1", KillReason::FailedPostStartHook, false, 1);
                exit(o, "foo1", 137, 2);
            },
            now: 2,
            want: &["start foo1#1", "poststart foo1"],
            init: "done",
        },
        Row {
            name: "Never: a postStart-killed container is not restarted",
            spec: policy(post_start(basic(), "containers.0"), "Never"),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Failed);
                kill_at(o, "foo1", KillReason::FailedPostStartHook, false, 1);
                exit(o, "foo1", 137, 2);
            },
            now: 2,
            want: &["start foo2#0", "start foo3#0"],
            init: "done",
        },
    ]);
}

#[test]
fn init_containers() {
    run_rows(vec![
        Row {
            name: "no sandbox yet: the first init container is next",
            spec: with_inits(),
            setup: |o, _| o.sandbox = SandboxState::NotCreated,
            now: 0,
            want: &["sandbox"],
            init: "start 0",
        },
        Row {
            name: "start the first init container only",
            spec: with_inits(),
            setup: |_, _| {},
            now: 0,
            want: &["start init1#0"],
            init: "start 0",
        },
        Row {
            name: "init1 running: wait",
            spec: with_inits(),
            setup: |o, _| run(o, "init1", 0),
            now: 1,
            want: &[],
            init: "wait 0",
        },
        Row {
            name: "init1 done: start init2",
            spec: with_inits(),
            setup: |o, _| ran(o, "init1", 0, 0),
            now: 1,
            want: &["start init2#0"],
            init: "start 1",
        },
        Row {
            name: "init3 running: wait for it",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 0, 1);
                run(o, "init3", 2);
            },
            now: 3,
            want: &[],
            init: "wait 2",
        },
        Row {
            name: "all init containers done: start the app",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 0, 1);
                ran(o, "init3", 0, 2);
            },
            now: 3,
            want: &["start app#0"],
            init: "done",
        },
        Row {
            name: "Always: a failed init container restarts at once",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 1);
            },
            now: 2,
            want: &["start init2#1"],
            init: "start 1",
        },
        Row {
            name: "OnFailure: a failed init container restarts at once",
            spec: policy(with_inits(), "OnFailure"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 1);
            },
            now: 2,
            want: &["start init2#1"],
            init: "start 1",
        },
        Row {
            name: "init container crash loop: back-off",
            spec: policy(with_inits(), "OnFailure"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 2);
                ran(o, "init2", 1, 3);
            },
            now: 5,
            want: &["wait backoff init2 10s @14"],
            init: "backoff 1 @14",
        },
        Row {
            name: "Never: a failed init container fails the pod",
            spec: policy(with_inits(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 1);
            },
            now: 2,
            want: &["terminate InitFailed 30s"],
            init: "failed 1",
        },
        Row {
            name: "Never: the failed pod ends Failed once terminated",
            spec: policy(with_inits(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 1);
                o.termination = Some(PodTermination {
                    requested_at: t(2),
                    grace: Duration::from_secs(30),
                    reason: PodTerminationReason::InitFailed,
                });
            },
            now: 2,
            want: &["done Failed"],
            init: "failed 1",
        },
        Row {
            name: "init containers are not re-run when the app restarts",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 0, 1);
                ran(o, "init3", 0, 2);
                ran(o, "app", 1, 3);
            },
            now: 5,
            want: &["start app#1"],
            init: "done",
        },
        Row {
            name: "app running, init records lost: init containers not re-run",
            spec: with_inits(),
            setup: |o, _| up(o, "app", 0),
            now: 5,
            want: &[],
            init: "done",
        },
        Row {
            name: "an init record lost but a later one completed: not re-run, continue",
            spec: with_inits(),
            setup: |o, _| ran(o, "init2", 0, 1),
            now: 3,
            want: &["start init3#0"],
            init: "start 2",
        },
        Row {
            name: "OnFailure: init failed, then succeeded on retry: next init starts",
            spec: policy(with_inits(), "OnFailure"),
            setup: |o, _| {
                ran(o, "init1", 1, 0);
                ran(o, "init1", 0, 1);
            },
            now: 3,
            want: &["start init2#0"],
            init: "start 1",
        },
        Row {
            name:
                "earlier init records missing, the last one running: do not re-run the earlier ones",
            spec: with_inits(),
            setup: |o, _| run(o, "init3", 0),
            now: 3,
            want: &[],
            init: "wait 2",
        },
        Row {
            name: "init start failure: retried later",
            spec: with_inits(),
            setup: |o, _| {
                o.record_start_failure("init1", "ErrImagePull", "not found", t(0));
            },
            now: 3,
            want: &["wait retry init1 @10"],
            init: "backoff 0 @10",
        },
    ]);
}

#[test]
fn sidecars() {
    run_rows(vec![
        Row {
            name: "init1 done: start sidecar sc1",
            spec: with_sidecars(),
            setup: |o, _| ran(o, "init1", 0, 0),
            now: 1,
            want: &["start sc1#0"],
            init: "start 1",
        },
        Row {
            name: "sc1 running (no probe, no hook) counts as started: start init2",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
            },
            now: 2,
            want: &["start init2#0"],
            init: "start 2",
        },
        Row {
            name: "sc1 with startupProbe, no verdict yet: wait",
            spec: probe(with_sidecars(), "initContainers.1", "startupProbe"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
            },
            now: 2,
            want: &[],
            init: "wait 1",
        },
        Row {
            name: "sc1 startupProbe succeeded: start init2",
            spec: probe(with_sidecars(), "initContainers.1", "startupProbe"),
            setup: |o, p| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                p.set("sc1", 0, ProbeKind::Startup, ProbeResult::Success);
            },
            now: 2,
            want: &["start init2#0"],
            init: "start 2",
        },
        Row {
            name: "sc1 startupProbe failed: restart it, init2 stays blocked",
            spec: probe(with_sidecars(), "initContainers.1", "startupProbe"),
            setup: |o, p| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                p.set("sc1", 0, ProbeKind::Startup, ProbeResult::Failure);
            },
            now: 2,
            want: &["kill sc1 StartupProbe 30s"],
            init: "wait 1",
        },
        Row {
            name: "sc1 postStart running: init2 waits",
            spec: post_start(with_sidecars(), "initContainers.1"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                hook(o, "sc1", HookState::Running);
            },
            now: 2,
            want: &[],
            init: "wait 1",
        },
        Row {
            name: "sc1 started with its hook: postStart runs before init2",
            spec: post_start(with_sidecars(), "initContainers.1"),
            setup: |o, _| ran(o, "init1", 0, 0),
            now: 2,
            want: &["start sc1#0", "poststart sc1"],
            init: "start 1",
        },
        Row {
            name: "sc1 postStart done: start init2",
            spec: post_start(with_sidecars(), "initContainers.1"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                hook(o, "sc1", HookState::Succeeded);
            },
            now: 2,
            want: &["start init2#0"],
            init: "start 2",
        },
        Row {
            name: "sc1 postStart failed: kill it",
            spec: post_start(with_sidecars(), "initContainers.1"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                hook(o, "sc1", HookState::Failed);
            },
            now: 2,
            want: &["kill sc1 FailedPostStartHook 30s"],
            init: "wait 1",
        },
        Row {
            name: "init2 running beside sc1: wait",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                run(o, "init2", 2);
            },
            now: 3,
            want: &[],
            init: "wait 2",
        },
        Row {
            name: "init2 done: start sc2",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
            },
            now: 3,
            want: &["start sc2#0"],
            init: "start 3",
        },
        Row {
            name: "last sidecar started: initialized, start the app",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
            },
            now: 5,
            want: &["start app#0"],
            init: "done",
        },
        Row {
            name: "everything up: nothing to do",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
            },
            now: 6,
            want: &[],
            init: "done",
        },
        Row {
            name: "sidecar exited after initialization: restarted at once",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "sc1", 0, 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
            },
            now: 6,
            want: &["start sc1#1"],
            init: "done",
        },
        Row {
            name: "sidecar restarted on any exit even under Never",
            spec: policy(with_sidecars(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                ran(o, "sc2", 0, 4);
                up(o, "app", 5);
            },
            now: 6,
            want: &["start sc2#1"],
            init: "done",
        },
        Row {
            name: "sidecar crash loop: back-off",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "sc1", 1, 1);
                ran(o, "sc1", 1, 3);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
            },
            now: 6,
            want: &["wait backoff sc1 10s @14"],
            init: "done",
        },
        Row {
            name: "sidecar liveness failure after initialization: kill",
            spec: probe(with_sidecars(), "initContainers.3", "livenessProbe"),
            setup: |o, p| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
                p.set("sc2", 0, ProbeKind::Liveness, ProbeResult::Failure);
            },
            now: 6,
            want: &["kill sc2 LivenessProbe 30s"],
            init: "done",
        },
        Row {
            name: "sidecar liveness failure during init: killed, init2 not waiting on it",
            spec: probe(with_sidecars(), "initContainers.1", "livenessProbe"),
            setup: |o, p| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                run(o, "init2", 2);
                p.set("sc1", 0, ProbeKind::Liveness, ProbeResult::Failure);
            },
            now: 3,
            want: &["kill sc1 LivenessProbe 30s"],
            init: "wait 2",
        },
        Row {
            name: "sidecar exited before the next init container started: restart it",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "sc1", 1, 1);
            },
            now: 3,
            want: &["start sc1#1"],
            init: "start 1",
        },
        Row {
            name: "initialized pod with sidecar records lost: restart the sidecars only",
            spec: with_sidecars(),
            setup: |o, _| up(o, "app", 0),
            now: 3,
            want: &["start sc1#0", "start sc2#0"],
            init: "done",
        },
        Row {
            name: "app and last sidecar exited: both restart (exited app counts as initialized)",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                ran(o, "sc2", 1, 4);
                ran(o, "app", 1, 5);
            },
            now: 7,
            want: &["start sc2#1", "start app#1"],
            init: "done",
        },
        Row {
            name: "sidecar being killed (liveness) blocks other starts",
            spec: probe(with_sidecars(), "initContainers.1", "livenessProbe"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                ran(o, "app", 1, 5);
                o.record_kill(
                    "sc1",
                    KillReason::LivenessProbe,
                    Duration::from_secs(30),
                    false,
                    false,
                    t(6),
                );
            },
            now: 7,
            want: &["stop sc1 29000ms"],
            init: "done",
        },
        Row {
            name: "Never: app done, sidecars running → terminate (sidecars do not keep it alive)",
            spec: policy(with_sidecars(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                ran(o, "app", 0, 5);
            },
            now: 7,
            want: &["terminate Completed 30s"],
            init: "done",
        },
        Row {
            name: "OnFailure: app exit 0, crashed sidecar not restarted, pod terminates",
            spec: policy(with_sidecars(), "OnFailure"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "sc1", 1, 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                ran(o, "app", 0, 5);
            },
            now: 7,
            want: &["terminate Completed 30s"],
            init: "done",
        },
    ]);
}

#[test]
fn termination() {
    run_rows(vec![
        Row {
            name: "deletion: every running container killed at once with the grace",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                deleted(o, 30);
            },
            now: 10,
            want: &[
                "kill foo1 PodTermination 30s ordered",
                "kill foo2 PodTermination 30s ordered",
                "kill foo3 PodTermination 30s ordered",
            ],
            init: "done",
        },
        Row {
            name: "deletion: preStop for the containers that have one",
            spec: pre_stop(basic(), "containers.1"),
            setup: |o, _| {
                all_up(o);
                deleted(o, 30);
            },
            now: 10,
            want: &[
                "kill foo1 PodTermination 30s ordered",
                "kill foo2 PodTermination 30s prestop ordered",
                "kill foo3 PodTermination 30s ordered",
            ],
            init: "done",
        },
        Row {
            name: "a shorter deletion ends a preStop wait under way: stop with the 2s floor",
            spec: pre_stop(basic(), "containers.0"),
            setup: |o, _| {
                all_up(o);
                deleting(o, &["foo1"]);
                o.request_deletion(Duration::from_secs(0), t(12));
            },
            now: 12,
            want: &["stop foo1 2000ms", "stop foo2 2000ms", "stop foo3 2000ms"],
            init: "done",
        },
        Row {
            name: "a shorter deletion brings a sent stop signal's SIGKILL forward",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                deleting(o, &[]);
                for name in ["foo1", "foo2", "foo3"] {
                    o.record_stop_signal(name, Duration::from_secs(30), t(10));
                }
                o.request_deletion(Duration::from_secs(1), t(15));
            },
            now: 16,
            want: &["sigkill foo1", "sigkill foo2", "sigkill foo3"],
            init: "done",
        },
        Row {
            name: "a shorter deletion keeps the 2s after a stop signal just sent",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                deleting(o, &[]);
                for name in ["foo1", "foo2", "foo3"] {
                    o.record_stop_signal(name, Duration::from_secs(30), t(11));
                }
                o.request_deletion(Duration::from_secs(0), t(12));
            },
            now: 12,
            want: &[
                "wait deadline foo1 @13",
                "wait deadline foo2 @13",
                "wait deadline foo3 @13",
            ],
            init: "done",
        },
        Row {
            name: "deletion with grace 0: no preStop",
            spec: pre_stop(basic(), "containers.1"),
            setup: |o, _| {
                all_up(o);
                deleted(o, 0);
            },
            now: 10,
            want: &[
                "kill foo1 PodTermination 0s ordered",
                "kill foo2 PodTermination 0s ordered",
                "kill foo3 PodTermination 0s ordered",
            ],
            init: "done",
        },
        Row {
            name: "deletion with grace 0: still the 2s floor before SIGKILL",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                deleted(o, 0);
                o.record_kill(
                    "foo1",
                    KillReason::PodTermination,
                    Duration::ZERO,
                    false,
                    true,
                    t(10),
                );
            },
            now: 10,
            want: &["stop foo1 2000ms"],
            init: "done",
        },
        Row {
            name: "kills recorded: stop signals with the remaining grace",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                deleting(o, &[]);
            },
            now: 12,
            want: &[
                "stop foo1 28000ms",
                "stop foo2 28000ms",
                "stop foo3 28000ms",
            ],
            init: "done",
        },
        Row {
            name: "preStop running: that container waits, the others are signalled",
            spec: pre_stop(basic(), "containers.1"),
            setup: |o, _| {
                all_up(o);
                deleting(o, &["foo2"]);
            },
            now: 12,
            want: &[
                "stop foo1 28000ms",
                "wait prestop foo2 @40",
                "stop foo3 28000ms",
            ],
            init: "done",
        },
        Row {
            name: "signals sent: wait for the deadlines",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                deleting(o, &[]);
                o.record_stop_signal("foo1", Duration::from_secs(30), t(10));
            },
            now: 20,
            want: &["wait deadline foo1 @40"],
            init: "done",
        },
        Row {
            name: "deadline passed: SIGKILL",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                deleting(o, &[]);
                o.record_stop_signal("foo1", Duration::from_secs(30), t(10));
            },
            now: 40,
            want: &["sigkill foo1"],
            init: "done",
        },
        Row {
            name: "all stopped with exit 0: Succeeded",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                deleting(o, &[]);
                for n in ["foo1", "foo2", "foo3"] {
                    exit(o, n, 0, 11);
                }
            },
            now: 12,
            want: &["done Succeeded"],
            init: "done",
        },
        Row {
            name: "all stopped, one SIGKILLed (137): Failed",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                deleting(o, &[]);
                exit(o, "foo1", 0, 11);
                exit(o, "foo2", 137, 40);
                exit(o, "foo3", 0, 11);
            },
            now: 40,
            want: &["done Failed"],
            init: "done",
        },
        Row {
            name: "deletion: nothing starts or restarts",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
                deleted(o, 30);
            },
            now: 10,
            want: &[
                "kill foo1 PodTermination 30s ordered",
                "kill foo2 PodTermination 30s ordered",
            ],
            init: "done",
        },
        Row {
            name: "deleted before anything ran: Failed",
            spec: basic(),
            setup: |o, _| deleted(o, 30),
            now: 10,
            want: &["done Failed"],
            init: "done",
        },
        Row {
            name: "deleted during init: the init container is killed",
            spec: with_inits(),
            setup: |o, _| {
                run(o, "init1", 0);
                deleted(o, 30);
            },
            now: 10,
            want: &["kill init1 PodTermination 30s ordered"],
            init: "wait 0",
        },
        Row {
            name: "deleted during init, init stopped: Failed",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "init2", 1);
                deleting(o, &[]);
                exit(o, "init2", 137, 12);
            },
            now: 12,
            want: &["done Failed"],
            init: "start 1",
        },
        Row {
            name: "sidecars: preStop of every container starts at once",
            spec: pre_stop(
                pre_stop(with_sidecars(), "initContainers.1"),
                "containers.0",
            ),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
                deleted(o, 30);
            },
            now: 10,
            want: &[
                "kill sc1 PodTermination 30s prestop ordered",
                "kill sc2 PodTermination 30s ordered",
                "kill app PodTermination 30s prestop ordered",
            ],
            init: "done",
        },
        Row {
            name: "sidecars wait while the app runs",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
                deleting(o, &[]);
            },
            now: 10,
            want: &[
                "wait order sc1 @40",
                "wait order sc2 @40",
                "stop app 30000ms",
            ],
            init: "done",
        },
        Row {
            name: "app stopped: the last sidecar goes first",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
                deleting(o, &[]);
                exit(o, "app", 0, 15);
            },
            now: 15,
            want: &["wait order sc1 @40", "stop sc2 25000ms"],
            init: "done",
        },
        Row {
            name: "app and sc2 stopped: then sc1",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
                deleting(o, &[]);
                exit(o, "app", 0, 15);
                exit(o, "sc2", 0, 16);
            },
            now: 16,
            want: &["stop sc1 24000ms"],
            init: "done",
        },
        Row {
            name: "grace exhausted while waiting: sidecars get the 2s floor",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
                deleting(o, &[]);
                o.record_stop_signal("app", Duration::from_secs(30), t(10));
            },
            now: 40,
            want: &["stop sc1 2000ms", "stop sc2 2000ms", "sigkill app"],
            init: "done",
        },
        Row {
            name: "a sidecar's preStop finishes before its turn: still waits for the app",
            spec: pre_stop(with_sidecars(), "initContainers.1"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                up(o, "app", 5);
                deleting(o, &["sc1"]);
                o.record_pre_stop("sc1", HookState::Succeeded);
                o.record_stop_signal("app", Duration::from_secs(30), t(10));
            },
            now: 11,
            want: &[
                "wait order sc1 @40",
                "wait order sc2 @40",
                "wait deadline app @40",
            ],
            init: "done",
        },
        Row {
            name: "a sidecar that is not running is not waited for",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                ran(o, "sc2", 1, 4);
                up(o, "app", 5);
                deleting(o, &[]);
                exit(o, "app", 0, 12);
            },
            now: 12,
            want: &["stop sc1 28000ms"],
            init: "done",
        },
        Row {
            name: "Completed pod: sidecars stopped in reverse order",
            spec: policy(with_sidecars(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 4);
                ran(o, "app", 0, 5);
                o.termination = Some(PodTermination {
                    requested_at: t(10),
                    grace: Duration::from_secs(30),
                    reason: PodTerminationReason::Completed,
                });
                for n in ["sc1", "sc2"] {
                    o.record_kill(
                        n,
                        KillReason::PodTermination,
                        Duration::from_secs(30),
                        false,
                        true,
                        t(10),
                    );
                }
            },
            now: 10,
            want: &["wait order sc1 @40", "stop sc2 30000ms"],
            init: "done",
        },
        Row {
            name: "Completed pod: sidecars gone → Succeeded (sidecar exits ignored)",
            spec: policy(with_sidecars(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "sc1", 137, 1);
                ran(o, "init2", 0, 2);
                ran(o, "sc2", 143, 4);
                ran(o, "app", 0, 5);
                o.termination = Some(PodTermination {
                    requested_at: t(10),
                    grace: Duration::from_secs(30),
                    reason: PodTerminationReason::Completed,
                });
            },
            now: 12,
            want: &["done Succeeded"],
            init: "done",
        },
        Row {
            name: "deletion while a liveness kill is under way: that kill keeps its budget",
            spec: basic(),
            setup: |o, _| {
                all_up(o);
                kill_at(o, "foo1", KillReason::LivenessProbe, false, 0);
                o.record_stop_signal("foo1", Duration::from_secs(30), t(0));
                deleted(o, 30);
            },
            now: 10,
            want: &[
                "wait deadline foo1 @30",
                "kill foo2 PodTermination 30s ordered",
                "kill foo3 PodTermination 30s ordered",
            ],
            init: "done",
        },
        Row {
            name: "deletion during postStart: killed with preStop",
            spec: set(
                basic(),
                "containers.0.lifecycle",
                json!({"postStart": {"exec": {"command": ["sleep", "100"]}},
                       "preStop": {"exec": {"command": ["true"]}}}),
            ),
            setup: |o, _| {
                run(o, "foo1", 0);
                hook(o, "foo1", HookState::Running);
                deleted(o, 30);
            },
            now: 10,
            want: &["kill foo1 PodTermination 30s prestop ordered"],
            init: "done",
        },
        Row {
            name: "deletion at a later time: the grace left is what remains of the budget",
            spec: basic(),
            setup: |o, _| {
                up(o, "foo1", 0);
                deleted(o, 30);
            },
            now: 25,
            want: &["kill foo1 PodTermination 15s ordered"],
            init: "done",
        },
        Row {
            name: "pod already done: nothing",
            spec: basic(),
            setup: |o, _| {
                o.final_phase = Some(PodPhase::Succeeded);
            },
            now: 50,
            want: &[],
            init: "done",
        },
    ]);
}

#[test]
fn wake_at_and_helpers() {
    let p = pod(basic());
    let mut o = observed(&p);
    up(&mut o, "foo1", 0);
    up(&mut o, "foo2", 0);
    ran(&mut o, "foo3", 1, 0);
    ran(&mut o, "foo3", 1, 2);
    let a = compute_pod_actions(&p, &o, &ProbeResults::new(), t(5));
    assert_eq!(a.wake_at(), Some(t(13)));
    assert!(a.is_idle());
    assert_eq!(a.done(), None);

    let a = compute_pod_actions(&p, &o, &ProbeResults::new(), t(13));
    assert!(!a.is_idle());
    assert_eq!(a.wake_at(), None);

    deleted(&mut o, 30);
    for n in ["foo1", "foo2"] {
        exit(&mut o, n, 0, 11);
    }
    let a = compute_pod_actions(&p, &o, &ProbeResults::new(), t(12));
    assert_eq!(a.done(), Some(PodPhase::Failed));
}

/// Drive a whole pod life through the plan with a simulated supervisor, checking the order
/// of starts (the spirit of container_lifecycle_test.go).
#[test]
fn simulated_lifecycle_ordering() {
    let spec = post_start(
        pre_stop(with_sidecars(), "initContainers.1"),
        "initContainers.3",
    );
    let p = pod(policy(spec, "Never"));
    let mut o = observed(&p);
    o.sandbox = SandboxState::NotCreated;
    let probes = ProbeResults::new();
    let mut log = Vec::new();
    let mut now = 0i64;
    for _ in 0..100 {
        let plan = compute_pod_actions(&p, &o, &probes, t(now));
        if let Some(phase) = plan.done() {
            log.push(format!("done {phase}"));
            break;
        }
        if plan.is_idle() {
            // Let time pass: regular init containers and the app finish after 1 s, hooks
            // return, stopped processes exit.
            now += 1;
            let names: Vec<(String, bool, bool)> = o
                .all()
                .filter_map(|c| {
                    c.running().map(|r| {
                        (
                            c.name.clone(),
                            r.stopping.is_some(),
                            r.post_start == HookState::Running,
                        )
                    })
                })
                .collect();
            for (name, stopping, hook_running) in names {
                if hook_running {
                    o.record_post_start(&name, HookState::Succeeded);
                    log.push(format!("hooked {name}"));
                } else if stopping {
                    let pre = o
                        .container(&name)
                        .and_then(|c| c.running())
                        .and_then(|r| r.stopping.clone());
                    if let Some(s) = pre {
                        if s.pre_stop == Some(HookState::Running) {
                            o.record_pre_stop(&name, HookState::Succeeded);
                        } else if s.signal_sent_at.is_some() {
                            exit(&mut o, &name, 0, now);
                            log.push(format!("exited {name}"));
                        }
                    }
                } else if !name.starts_with("sc") {
                    exit(&mut o, &name, 0, now);
                    log.push(format!("exited {name}"));
                }
            }
            continue;
        }
        for a in &plan.actions {
            match a {
                Action::StartContainer { name, .. } => {
                    run(&mut o, name, now);
                    log.push(format!("started {name}"));
                }
                Action::KillContainer { name, .. } => log.push(format!("killing {name}")),
                Action::StopContainer { name, .. } => log.push(format!("signalled {name}")),
                Action::TerminatePod { .. } => log.push("terminating".into()),
                _ => {}
            }
            if !matches!(a, Action::StartContainer { .. }) {
                o.record_action(a, t(now));
            }
        }
    }
    assert_eq!(
        log,
        vec![
            "started init1",
            "exited init1",
            "started sc1",
            "started init2",
            "exited init2",
            "started sc2",
            "hooked sc2",
            "started app",
            "exited app",
            "terminating",
            "killing sc1",
            "killing sc2",
            "signalled sc2",
            "exited sc2",
            "signalled sc1",
            "exited sc1",
            "done Succeeded",
        ]
    );
}

#[test]
fn deletion_requests() {
    let p = pod(basic());
    let mut o = observed(&p);
    o.request_deletion(Duration::from_secs(30), t(10));
    o.request_deletion(Duration::from_secs(60), t(11));
    let term = o.termination.clone().unwrap();
    assert_eq!(
        (term.requested_at, term.grace),
        (t(10), Duration::from_secs(30))
    );
    // A shorter grace wins.
    o.request_deletion(Duration::from_secs(1), t(12));
    let term = o.termination.clone().unwrap();
    assert_eq!(
        (term.requested_at, term.grace),
        (t(12), Duration::from_secs(1))
    );
    assert_eq!(term.reason, PodTerminationReason::Deleted);
}

#[test]
fn record_action_bookkeeping() {
    let p = pod(post_start(basic(), "containers.0"));
    let mut o = observed(&p);
    o.sandbox = SandboxState::NotCreated;
    assert!(o.record_action(&Action::CreateSandbox, t(0)));
    assert_eq!(o.sandbox, SandboxState::Ready);
    run(&mut o, "foo1", 0);
    assert!(o.record_action(
        &Action::RunPostStart {
            name: "foo1".into()
        },
        t(0)
    ));
    assert_eq!(
        o.container("foo1").unwrap().running().unwrap().post_start,
        HookState::Running
    );
    let start = Action::StartContainer {
        name: "foo2".into(),
        kind: ContainerKind::Regular,
        index: 1,
        attempt: 0,
    };
    assert!(!o.record_action(&start, t(0)));
    assert!(o.record_action(
        &Action::PodDone {
            phase: PodPhase::Failed
        },
        t(1)
    ));
    assert_eq!(o.final_phase, Some(PodPhase::Failed));
    // Unknown containers are reported.
    assert!(!o.record_action(
        &Action::ForceKill {
            name: "nope".into()
        },
        t(1)
    ));
}

#[test]
fn active_deadline() {
    run_rows(vec![
        Row {
            name: "activeDeadlineSeconds: wake up when it runs out",
            spec: set(basic(), "activeDeadlineSeconds", json!(60)),
            setup: |o, _| all_up(o),
            now: 10,
            want: &["wait active-deadline @60"],
            init: "done",
        },
        Row {
            name: "activeDeadlineSeconds passed: terminate the pod (DeadlineExceeded)",
            spec: set(basic(), "activeDeadlineSeconds", json!(60)),
            setup: |o, _| all_up(o),
            now: 60,
            want: &["terminate DeadlineExceeded 30s"],
            init: "done",
        },
        Row {
            name: "activeDeadlineSeconds passed during init",
            spec: set(with_inits(), "activeDeadlineSeconds", json!(5)),
            setup: |o, _| run(o, "init1", 0),
            now: 6,
            want: &["terminate DeadlineExceeded 30s"],
            init: "wait 0",
        },
        Row {
            name: "DeadlineExceeded termination ends Failed even if containers exited 0",
            spec: set(policy(basic(), "Never"), "activeDeadlineSeconds", json!(5)),
            setup: |o, _| {
                for n in ["foo1", "foo2", "foo3"] {
                    ran(o, n, 0, 0);
                }
                o.termination = Some(PodTermination {
                    requested_at: t(6),
                    grace: Duration::from_secs(30),
                    reason: PodTerminationReason::DeadlineExceeded,
                });
            },
            now: 7,
            want: &["done Failed"],
            init: "done",
        },
    ]);
}
