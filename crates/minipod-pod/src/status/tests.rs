//! Status, phase and condition tables (kubelet_pods_test.go TestGetPhase,
//! status/generate_test.go in spirit).

use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, PodCondition, PodStatus};
use serde_json::{json, Value};

use super::*;
use crate::observed::{
    exit_code_for_signal, termination_reason, HookState, KillReason, ObservedPod, PodTermination,
    PodTerminationReason, ProbeKind, ProbeResult, ProbeResults, SandboxState, Termination,
};
use crate::testutil::*;

type Setup = fn(&mut ObservedPod, &mut ProbeResults);

struct Row {
    name: &'static str,
    spec: Value,
    setup: Setup,
    phase: &'static str,
    /// Rendered init + regular container statuses, in order.
    containers: &'static [&'static str],
    /// Rendered conditions; empty: not checked.
    conditions: &'static [&'static str],
}

fn fmt_state(s: &Option<k8s_openapi::api::core::v1::ContainerState>) -> String {
    let Some(s) = s else { return "none".into() };
    if let Some(w) = &s.waiting {
        let mut out = format!("waiting:{}", w.reason.as_deref().unwrap_or(""));
        if let Some(m) = &w.message {
            out.push_str(&format!("({m})"));
        }
        out
    } else if s.running.is_some() {
        "running".into()
    } else if let Some(t) = &s.terminated {
        format!(
            "terminated:{}:{}",
            t.reason.as_deref().unwrap_or(""),
            t.exit_code
        )
    } else {
        "{}".into()
    }
}

fn fmt_cs(cs: &ContainerStatus) -> String {
    let mut out = format!(
        "{} {} rc={} ready={} started={}",
        cs.name,
        fmt_state(&cs.state),
        cs.restart_count,
        cs.ready,
        cs.started.map(|b| b.to_string()).unwrap_or("nil".into())
    );
    let last = fmt_state(&cs.last_state);
    if last != "{}" {
        out.push_str(&format!(" last={last}"));
    }
    out
}

fn fmt_cond(c: &PodCondition) -> String {
    let mut out = format!("{}={}", c.type_, c.status);
    match (&c.reason, &c.message) {
        (Some(r), Some(m)) => out.push_str(&format!("({r}: {m})")),
        (Some(r), None) => out.push_str(&format!("({r})")),
        (None, Some(m)) => out.push_str(&format!("(: {m})")),
        (None, None) => {}
    }
    out
}

fn build(spec: Value, setup: Setup) -> PodStatus {
    let p = pod(spec);
    let mut o = observed(&p);
    let mut probes = ProbeResults::new();
    setup(&mut o, &mut probes);
    build_pod_status(&p, &o, &probes, None, t(100))
}

fn run_rows(rows: Vec<Row>) {
    let mut failures = Vec::new();
    for row in &rows {
        let st = build(row.spec.clone(), row.setup);
        let phase = st.phase.clone().unwrap_or_default();
        let containers: Vec<String> = st
            .init_container_statuses
            .iter()
            .flatten()
            .chain(st.container_statuses.iter().flatten())
            .map(fmt_cs)
            .collect();
        let conditions: Vec<String> = st.conditions.iter().flatten().map(fmt_cond).collect();
        let cond_ok = row.conditions.is_empty() || conditions == row.conditions;
        if phase != row.phase || containers != row.containers || !cond_ok {
            failures.push(format!(
                "{}:\n   want {} {:#?} {:#?}\n    got {} {:#?} {:#?}",
                row.name, row.phase, row.containers, row.conditions, phase, containers, conditions
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

fn probe(v: Value, path: &str, kind: &str) -> Value {
    set(
        v,
        &format!("{path}.{kind}"),
        json!({"exec": {"command": ["true"]}}),
    )
}

fn single() -> Value {
    json!({"containers": [container("app")]})
}

const ALL_TRUE: &[&str] = &[
    "PodReadyToStartContainers=True",
    "Initialized=True",
    "Ready=True",
    "ContainersReady=True",
    "PodScheduled=True",
];

#[test]
fn container_states_and_phase() {
    run_rows(vec![
        Row {
            name: "fresh pod with init containers: PodInitializing everywhere",
            spec: json!({"initContainers": [container("init1"), container("init2")],
                         "containers": [container("app")]}),
            setup: |o, _| o.sandbox = SandboxState::NotCreated,
            phase: "Pending",
            containers: &[
                "init1 waiting:PodInitializing rc=0 ready=false started=false",
                "init2 waiting:PodInitializing rc=0 ready=false started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=False",
                "Initialized=False(ContainersNotInitialized: containers with incomplete status: [init1 init2])",
                "Ready=False(ContainersNotReady: containers with unready status: [app])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [app])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "no init containers: ContainerCreating",
            spec: basic(),
            setup: |_, _| {},
            phase: "Pending",
            containers: &[
                "foo1 waiting:ContainerCreating rc=0 ready=false started=false",
                "foo2 waiting:ContainerCreating rc=0 ready=false started=false",
                "foo3 waiting:ContainerCreating rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=True",
                "Ready=False(ContainersNotReady: containers with unready status: [foo1 foo2 foo3])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [foo1 foo2 foo3])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "init container running: started, not ready",
            spec: with_inits(),
            setup: |o, _| run(o, "init1", 0),
            phase: "Pending",
            containers: &[
                "init1 running rc=0 ready=false started=true",
                "init2 waiting:PodInitializing rc=0 ready=false started=false",
                "init3 waiting:PodInitializing rc=0 ready=false started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "initialized and running: everything True",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 0, 1);
                ran(o, "init3", 0, 2);
                up(o, "app", 3);
            },
            phase: "Running",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "init2 terminated:Completed:0 rc=0 ready=true started=false",
                "init3 terminated:Completed:0 rc=0 ready=true started=false",
                "app running rc=0 ready=true started=true",
            ],
            conditions: ALL_TRUE,
        },
        Row {
            name: "initialized, app not started yet: still PodInitializing",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 0, 1);
                ran(o, "init3", 0, 2);
            },
            phase: "Pending",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "init2 terminated:Completed:0 rc=0 ready=true started=false",
                "init3 terminated:Completed:0 rc=0 ready=true started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=True",
                "Ready=False(ContainersNotReady: containers with unready status: [app])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [app])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "readiness probe without verdict: not ready",
            spec: probe(single(), "containers.0", "readinessProbe"),
            setup: |o, _| up(o, "app", 0),
            phase: "Running",
            containers: &["app running rc=0 ready=false started=true"],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=True",
                "Ready=False(ContainersNotReady: containers with unready status: [app])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [app])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "readiness probe success: ready",
            spec: probe(single(), "containers.0", "readinessProbe"),
            setup: |o, p| {
                up(o, "app", 0);
                p.set("app", 0, ProbeKind::Readiness, ProbeResult::Success);
            },
            phase: "Running",
            containers: &["app running rc=0 ready=true started=true"],
            conditions: ALL_TRUE,
        },
        Row {
            name: "startup probe pending: not started, not ready",
            spec: probe(single(), "containers.0", "startupProbe"),
            setup: |o, _| up(o, "app", 0),
            phase: "Running",
            containers: &["app running rc=0 ready=false started=false"],
            conditions: &[],
        },
        Row {
            name: "postStart still running: running but not started",
            spec: set(single(), "containers.0.lifecycle",
                      json!({"postStart": {"exec": {"command": ["true"]}}})),
            setup: |o, _| {
                run(o, "app", 0);
                hook(o, "app", HookState::Running);
            },
            phase: "Running",
            containers: &["app running rc=0 ready=false started=false"],
            conditions: &[],
        },
        Row {
            name: "init container failed once: terminated Error (restart is immediate)",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 1);
            },
            phase: "Pending",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "init2 terminated:Error:1 rc=0 ready=false started=false",
                "init3 waiting:PodInitializing rc=0 ready=false started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=False(ContainersNotInitialized: containers with incomplete status: [init2 init3])",
                "Ready=False(ContainersNotReady: containers with unready status: [app])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [app])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "init container crash loop: CrashLoopBackOff with the kubelet's message",
            spec: with_inits(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 2);
                ran(o, "init2", 1, 3);
            },
            phase: "Pending",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "init2 waiting:CrashLoopBackOff(back-off 10s restarting failed container=init2 pod=pod_default(uid1)) rc=1 ready=false started=false last=terminated:Error:1",
                "init3 waiting:PodInitializing rc=0 ready=false started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "Never: failed init container fails the pod",
            spec: policy(with_inits(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 1, 1);
            },
            phase: "Failed",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "init2 terminated:Error:1 rc=0 ready=false started=false",
                "init3 waiting:PodInitializing rc=0 ready=false started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=False(ContainersNotInitialized: containers with incomplete status: [init2 init3])",
                "Ready=False(PodFailed)",
                "ContainersReady=False(PodFailed)",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "app crash loop: CrashLoopBackOff, phase Running (Always)",
            spec: single(),
            setup: |o, _| {
                ran(o, "app", 1, 0);
                ran(o, "app", 2, 1);
                ran(o, "app", 3, 11);
            },
            phase: "Running",
            containers: &["app waiting:CrashLoopBackOff(back-off 20s restarting failed container=app pod=pod_default(uid1)) rc=2 ready=false started=false last=terminated:Error:3"],
            conditions: &[],
        },
        Row {
            name: "after a restart: restartCount and lastState",
            spec: single(),
            setup: |o, _| {
                ran(o, "app", 1, 0);
                up(o, "app", 2);
            },
            phase: "Running",
            containers: &["app running rc=1 ready=true started=true last=terminated:Error:1"],
            conditions: ALL_TRUE,
        },
        Row {
            name: "OnFailure: exit 1, immediate restart pending: terminated, Running",
            spec: policy(basic(), "OnFailure"),
            setup: |o, _| {
                up(o, "foo1", 0);
                up(o, "foo2", 0);
                ran(o, "foo3", 1, 0);
            },
            phase: "Running",
            containers: &[
                "foo1 running rc=0 ready=true started=true",
                "foo2 running rc=0 ready=true started=true",
                "foo3 terminated:Error:1 rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "OnFailure: all exited 0 → Succeeded",
            spec: policy(single(), "OnFailure"),
            setup: |o, _| ran(o, "app", 0, 0),
            phase: "Succeeded",
            containers: &["app terminated:Completed:0 rc=0 ready=false started=false"],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=True(PodCompleted)",
                "Ready=False(PodCompleted)",
                "ContainersReady=False(PodCompleted)",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "Never: one failed → Failed",
            spec: policy(basic(), "Never"),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 2, 0);
                ran(o, "foo3", 0, 0);
            },
            phase: "Failed",
            containers: &[
                "foo1 terminated:Completed:0 rc=0 ready=false started=false",
                "foo2 terminated:Error:2 rc=0 ready=false started=false",
                "foo3 terminated:Completed:0 rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=True",
                "Ready=False(PodFailed)",
                "ContainersReady=False(PodFailed)",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "Never: one still running → Running",
            spec: policy(basic(), "Never"),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 2, 0);
                up(o, "foo3", 0);
            },
            phase: "Running",
            containers: &[
                "foo1 terminated:Completed:0 rc=0 ready=false started=false",
                "foo2 terminated:Error:2 rc=0 ready=false started=false",
                "foo3 running rc=0 ready=true started=true",
            ],
            conditions: &[],
        },
        Row {
            name: "Always: all exited, restarting → Running",
            spec: basic(),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 0, 0);
                ran(o, "foo3", 0, 0);
            },
            phase: "Running",
            containers: &[
                "foo1 terminated:Completed:0 rc=0 ready=false started=false",
                "foo2 terminated:Completed:0 rc=0 ready=false started=false",
                "foo3 terminated:Completed:0 rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "sidecar started while init2 runs: Pending, sidecar ready",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                run(o, "init2", 2);
            },
            phase: "Pending",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "sc1 running rc=0 ready=true started=true",
                "init2 running rc=0 ready=false started=true",
                "sc2 waiting:PodInitializing rc=0 ready=false started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=False(ContainersNotInitialized: containers with incomplete status: [init2 sc2])",
                "Ready=False(ContainersNotReady: containers with unready status: [sc2 app])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [sc2 app])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "sidecar readiness counts for ContainersReady",
            spec: probe(with_sidecars(), "initContainers.1", "readinessProbe"),
            setup: |o, p| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 3);
                up(o, "app", 4);
                p.set("sc1", 0, ProbeKind::Readiness, ProbeResult::Failure);
            },
            phase: "Running",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "sc1 running rc=0 ready=false started=true",
                "init2 terminated:Completed:0 rc=0 ready=true started=false",
                "sc2 running rc=0 ready=true started=true",
                "app running rc=0 ready=true started=true",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=True",
                "Ready=False(ContainersNotReady: containers with unready status: [sc1])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [sc1])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "Never: app done, a sidecar still running → Running until it is stopped",
            spec: policy(with_sidecars(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                run(o, "sc1", 1);
                ran(o, "init2", 0, 2);
                ran(o, "sc2", 1, 3);
                ran(o, "app", 0, 4);
            },
            phase: "Running",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "sc1 running rc=0 ready=true started=true",
                "init2 terminated:Completed:0 rc=0 ready=true started=false",
                "sc2 terminated:Error:1 rc=0 ready=false started=false",
                "app terminated:Completed:0 rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "Never: app and sidecars done → Succeeded whatever the sidecars' exits",
            spec: policy(with_sidecars(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "sc1", 143, 1);
                ran(o, "init2", 0, 2);
                ran(o, "sc2", 137, 3);
                ran(o, "app", 0, 4);
                o.termination = Some(PodTermination {
                    requested_at: t(6),
                    grace: Duration::from_secs(30),
                    reason: PodTerminationReason::Completed,
                });
            },
            phase: "Succeeded",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "sc1 terminated:Error:143 rc=0 ready=false started=false",
                "init2 terminated:Completed:0 rc=0 ready=true started=false",
                "sc2 terminated:Error:137 rc=0 ready=false started=false",
                "app terminated:Completed:0 rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "sidecar crash loop after initialization: Running, Initialized stays True",
            spec: with_sidecars(),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "sc1", 1, 1);
                ran(o, "sc1", 1, 2);
                ran(o, "init2", 0, 2);
                run(o, "sc2", 3);
                up(o, "app", 4);
            },
            phase: "Running",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "sc1 waiting:CrashLoopBackOff(back-off 10s restarting failed container=sc1 pod=pod_default(uid1)) rc=1 ready=false started=false last=terminated:Error:1",
                "init2 terminated:Completed:0 rc=0 ready=true started=false",
                "sc2 running rc=0 ready=true started=true",
                "app running rc=0 ready=true started=true",
            ],
            conditions: &[
                "PodReadyToStartContainers=True",
                "Initialized=True",
                "Ready=False(ContainersNotReady: containers with unready status: [sc1])",
                "ContainersReady=False(ContainersNotReady: containers with unready status: [sc1])",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "start failure: waiting with the runtime's reason",
            spec: single(),
            setup: |o, _| {
                o.record_start_failure("app", "ErrImagePull", "image \"busybox\" not found", t(1));
            },
            phase: "Pending",
            containers: &["app waiting:ErrImagePull(image \"busybox\" not found) rc=0 ready=false started=false"],
            conditions: &[],
        },
        Row {
            name: "terminating: no CrashLoopBackOff, the termination shows",
            spec: single(),
            setup: |o, _| {
                ran(o, "app", 1, 0);
                ran(o, "app", 1, 1);
                o.termination = Some(PodTermination {
                    requested_at: t(3),
                    grace: Duration::from_secs(30),
                    reason: PodTerminationReason::Deleted,
                });
            },
            phase: "Running",
            containers: &["app terminated:Error:1 rc=1 ready=false started=false last=terminated:Error:1"],
            conditions: &[],
        },
        Row {
            name: "pod ended: containers that never reported are ContainerStatusUnknown",
            spec: basic(),
            setup: |o, _| {
                ran(o, "foo1", 0, 0);
                ran(o, "foo2", 0, 0);
                o.final_phase = Some(PodPhase::Failed);
            },
            phase: "Failed",
            containers: &[
                "foo1 terminated:Completed:0 rc=0 ready=false started=false",
                "foo2 terminated:Completed:0 rc=0 ready=false started=false",
                "foo3 terminated:ContainerStatusUnknown:137 rc=0 ready=false started=false",
            ],
            conditions: &[
                "PodReadyToStartContainers=False",
                "Initialized=True",
                "Ready=False(PodFailed)",
                "ContainersReady=False(PodFailed)",
                "PodScheduled=True",
            ],
        },
        Row {
            name: "pod ended during init: waiting app containers left as they are",
            spec: policy(with_inits(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 1, 0);
                o.final_phase = Some(PodPhase::Failed);
            },
            phase: "Failed",
            containers: &[
                "init1 terminated:Error:1 rc=0 ready=false started=false",
                "init2 waiting:PodInitializing rc=0 ready=false started=false",
                "init3 waiting:PodInitializing rc=0 ready=false started=false",
                "app waiting:PodInitializing rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "pod ended after init, app never created: ContainerStatusUnknown (hasPodInitialized)",
            spec: policy(with_inits(), "Never"),
            setup: |o, _| {
                ran(o, "init1", 0, 0);
                ran(o, "init2", 0, 0);
                ran(o, "init3", 0, 0);
                o.record_start_failure("app", "CreateContainerConfigError", "subPath", t(1));
                o.final_phase = Some(PodPhase::Failed);
            },
            phase: "Failed",
            containers: &[
                "init1 terminated:Completed:0 rc=0 ready=true started=false",
                "init2 terminated:Completed:0 rc=0 ready=true started=false",
                "init3 terminated:Completed:0 rc=0 ready=true started=false",
                "app terminated:ContainerStatusUnknown:137 rc=0 ready=false started=false",
            ],
            conditions: &[],
        },
        Row {
            name: "postStart failure: PostStartHookError until the restart",
            spec: set(single(), "containers.0.lifecycle",
                      json!({"postStart": {"exec": {"command": ["false"]}}})),
            setup: |o, _| {
                run(o, "app", 0);
                o.record_post_start_failure("app", "Exec lifecycle hook ([false]) failed");
                o.record_kill("app", KillReason::FailedPostStartHook, Duration::from_secs(30), false, false, t(1));
                exit(o, "app", 137, 2);
            },
            phase: "Running",
            containers: &["app waiting:PostStartHookError(Exec lifecycle hook ([false]) failed) rc=0 ready=false started=false last=terminated:Error:137"],
            conditions: &[],
        },
        Row {
            name: "postStart failure under Never: the termination shows",
            spec: policy(set(single(), "containers.0.lifecycle",
                      json!({"postStart": {"exec": {"command": ["false"]}}})), "Never"),
            setup: |o, _| {
                run(o, "app", 0);
                hook(o, "app", HookState::Failed);
                o.record_kill("app", KillReason::FailedPostStartHook, Duration::from_secs(30), false, false, t(1));
                exit(o, "app", 137, 2);
            },
            phase: "Failed",
            containers: &["app terminated:Error:137 rc=0 ready=false started=false"],
            conditions: &[],
        },
        Row {
            name: "start error: RunContainerError with the runtime's message until the restart",
            spec: single(),
            setup: |o, _| {
                o.record_start_error("app", Some("minipod://a".into()), "exec: \"/nope\": not found", t(1));
            },
            phase: "Running",
            containers: &["app waiting:RunContainerError(exec: \"/nope\": not found) rc=0 ready=false started=false last=terminated:StartError:128"],
            conditions: &[],
        },
        Row {
            name: "start error again: CrashLoopBackOff",
            spec: single(),
            setup: |o, _| {
                o.record_start_error("app", None, "not found", t(1));
                o.record_start_error("app", None, "not found", t(1));
            },
            phase: "Running",
            containers: &["app waiting:CrashLoopBackOff(back-off 10s restarting failed container=app pod=pod_default(uid1)) rc=1 ready=false started=false last=terminated:StartError:128"],
            conditions: &[],
        },
        Row {
            name: "start error under Never: final, the pod fails",
            spec: policy(single(), "Never"),
            setup: |o, _| {
                o.record_start_error("app", None, "not found", t(1));
            },
            phase: "Failed",
            containers: &["app terminated:StartError:128 rc=0 ready=false started=false"],
            conditions: &[],
        },
        Row {
            name: "liveness-killed container under OnFailure exiting 0 shows it will restart",
            spec: policy(single(), "OnFailure"),
            setup: |o, _| {
                up(o, "app", 0);
                o.record_kill("app", KillReason::LivenessProbe, Duration::from_secs(30), false, false, t(1));
                exit(o, "app", 0, 2);
                up(o, "app", 2);
                o.record_kill("app", KillReason::LivenessProbe, Duration::from_secs(30), false, false, t(3));
                exit(o, "app", 0, 4);
            },
            phase: "Running",
            containers: &["app waiting:CrashLoopBackOff(back-off 10s restarting failed container=app pod=pod_default(uid1)) rc=1 ready=false started=false last=terminated:Completed:0"],
            conditions: &[],
        },
    ]);
}

#[test]
fn status_fields() {
    let p = pod(single());
    let mut o = observed(&p);
    o.pod_ip = Some("10.88.0.5".into());
    o.host_ip = Some("192.168.1.2".into());
    up(&mut o, "app", 5);
    let st = build_pod_status(&p, &o, &ProbeResults::new(), None, t(10));
    let cs = &st.container_statuses.as_ref().unwrap()[0];
    assert_eq!(cs.container_id.as_deref(), Some("minipod://app-5"));
    assert_eq!(cs.image, "busybox");
    assert_eq!(cs.image_id, "sha256:abc");
    assert_eq!(st.pod_ip.as_deref(), Some("10.88.0.5"));
    assert_eq!(st.pod_ips.as_ref().unwrap()[0].ip, "10.88.0.5");
    assert_eq!(st.host_ip.as_deref(), Some("192.168.1.2"));
    assert_eq!(st.start_time.as_ref().map(|t| t.0), Some(t(0)));
    assert!(st.init_container_statuses.is_none());
    assert_eq!(st.qos_class.as_deref(), Some("BestEffort"));

    // JSON shape as `kubectl get pod -o json` shows it.
    let v = serde_json::to_value(&st).unwrap();
    assert_eq!(v["phase"], "Running");
    assert_eq!(v["containerStatuses"][0]["lastState"], json!({}));
    assert_eq!(v["containerStatuses"][0]["started"], json!(true));
    assert_eq!(v["containerStatuses"][0]["restartCount"], json!(0));
    assert!(v["containerStatuses"][0]["state"]["running"]["startedAt"].is_string());
    assert_eq!(v["conditions"][0]["type"], "PodReadyToStartContainers");
    assert!(v["conditions"][0]["lastTransitionTime"].is_string());

    // Waiting containers carry started=false and no containerID.
    let o2 = observed(&p);
    let v =
        serde_json::to_value(build_pod_status(&p, &o2, &ProbeResults::new(), None, t(1))).unwrap();
    assert_eq!(v["containerStatuses"][0]["started"], json!(false));
    assert!(v["containerStatuses"][0].get("containerID").is_none());
    assert_eq!(v["containerStatuses"][0]["imageID"], json!(""));
}

#[test]
fn terminated_fields() {
    let p = pod(single());
    let mut o = observed(&p);
    run(&mut o, "app", 5);
    let mut term = Termination::exited(exit_code_for_signal(9), true, t(8));
    term.message = Some("killed".into());
    o.record_exit("app", term);
    let st = build_pod_status(&p, &o, &ProbeResults::new(), None, t(10));
    let cs = &st.container_statuses.as_ref().unwrap()[0];
    // restartPolicy Always, first restart immediate: the termination shows.
    let term = cs.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(term.exit_code, 137);
    assert_eq!(term.reason.as_deref(), Some("OOMKilled"));
    assert_eq!(term.message.as_deref(), Some("killed"));
    assert_eq!(term.started_at.as_ref().map(|t| t.0), Some(t(5)));
    assert_eq!(term.finished_at.as_ref().map(|t| t.0), Some(t(8)));
    assert_eq!(term.container_id.as_deref(), Some("minipod://app-5"));
    assert_eq!(cs.container_id.as_deref(), Some("minipod://app-5"));
}

#[test]
fn termination_reasons() {
    let cases = [
        (0, false, "Completed"),
        (1, false, "Error"),
        (137, false, "Error"),
        (137, true, "OOMKilled"),
        (0, true, "OOMKilled"),
    ];
    for (code, oom, want) in cases {
        assert_eq!(termination_reason(code, oom), want, "{code} {oom}");
    }
    assert_eq!(exit_code_for_signal(9), 137);
    assert_eq!(exit_code_for_signal(15), 143);
    assert_eq!(crate::observed::START_ERROR_EXIT_CODE, 128);
}

#[test]
fn last_transition_times_are_kept() {
    let p = pod(single());
    let mut o = observed(&p);
    let first = build_pod_status(&p, &o, &ProbeResults::new(), None, t(1));
    up(&mut o, "app", 2);
    let second = build_pod_status(&p, &o, &ProbeResults::new(), Some(&first), t(3));
    let ltt = |st: &PodStatus, ty: &str| {
        st.conditions
            .as_ref()
            .unwrap()
            .iter()
            .find(|c| c.type_ == ty)
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0)
    };
    // Unchanged: kept from the previous status.
    assert_eq!(ltt(&second, "PodScheduled"), Some(t(1)));
    assert_eq!(ltt(&second, "Initialized"), Some(t(1)));
    // Changed False → True: stamped now.
    assert_eq!(ltt(&second, "Ready"), Some(t(3)));
    assert_eq!(ltt(&second, "ContainersReady"), Some(t(3)));
}

#[test]
fn readiness_gates() {
    let spec = set(
        single(),
        "readinessGates",
        json!([{"conditionType": "example.com/gate"}]),
    );
    let p = pod(spec);
    let mut o = observed(&p);
    up(&mut o, "app", 0);
    let st = build_pod_status(&p, &o, &ProbeResults::new(), None, t(1));
    let ready = st
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(
        fmt_cond(ready),
        "Ready=False(ReadinessGatesNotReady: corresponding condition of pod readiness gate \"example.com/gate\" does not exist.)"
    );

    // A foreign condition set by someone else is preserved and satisfies the gate.
    let mut prev = st.clone();
    prev.conditions.as_mut().unwrap().insert(
        0,
        PodCondition {
            type_: "example.com/gate".into(),
            status: "True".into(),
            ..Default::default()
        },
    );
    let st = build_pod_status(&p, &o, &ProbeResults::new(), Some(&prev), t(2));
    let conds: Vec<String> = st.conditions.iter().flatten().map(fmt_cond).collect();
    assert_eq!(
        conds,
        vec![
            "example.com/gate=True",
            "PodReadyToStartContainers=True",
            "Initialized=True",
            "Ready=True",
            "ContainersReady=True",
            "PodScheduled=True"
        ]
    );
}

#[test]
fn qos_classes() {
    let res = |r: Value| set(single(), "containers.0.resources", r);
    let cases = [
        (single(), "BestEffort"),
        (res(json!({"requests": {"cpu": "100m"}})), "Burstable"),
        (
            res(json!({"requests": {"cpu": "500m", "memory": "64Mi"},
                       "limits": {"cpu": "0.5", "memory": "64Mi"}})),
            "Guaranteed",
        ),
        (
            res(json!({"requests": {"cpu": "250m", "memory": "64Mi"},
                       "limits": {"cpu": "500m", "memory": "64Mi"}})),
            "Burstable",
        ),
        (
            res(json!({"requests": {"cpu": "1", "memory": "1Gi"},
                       "limits": {"cpu": "1"}})),
            "Burstable",
        ),
    ];
    for (spec, want) in cases {
        let p = pod(spec.clone());
        assert_eq!(qos_class(p.pod.spec.as_ref().unwrap()), want, "{spec}");
        assert_eq!(p.qos_class(), want, "{spec}");
    }
}

#[test]
fn final_phase_rules() {
    // Deleted while running, stopped with 0: Succeeded; with 137: Failed; before anything
    // ran: Failed.
    let p = pod(single());
    let spec = &p;
    let mut o = observed(&p);
    assert_eq!(final_phase(spec, &o), PodPhase::Failed);
    ran(&mut o, "app", 0, 0);
    assert_eq!(final_phase(spec, &o), PodPhase::Succeeded);
    let mut o = observed(&p);
    ran(&mut o, "app", 137, 0);
    assert_eq!(final_phase(spec, &o), PodPhase::Failed);
    // A latched phase wins in the status.
    o.final_phase = Some(PodPhase::Succeeded);
    assert_eq!(pod_phase(&p, &o, &ProbeResults::new()), PodPhase::Succeeded);
}

#[test]
fn deadline_exceeded_status() {
    let p = pod(set(single(), "activeDeadlineSeconds", json!(30)));
    let mut o = observed(&p);
    up(&mut o, "app", 0);
    let before = build_pod_status(&p, &o, &ProbeResults::new(), None, t(29));
    assert_eq!(before.phase.as_deref(), Some("Running"));
    assert_eq!(before.reason, None);
    let after = build_pod_status(&p, &o, &ProbeResults::new(), None, t(30));
    assert_eq!(after.phase.as_deref(), Some("Failed"));
    assert_eq!(after.reason.as_deref(), Some("DeadlineExceeded"));
    assert_eq!(
        after.message.as_deref(),
        Some("Pod was active on the node longer than the specified deadline")
    );
    // kubectl shows the reason.
    let mut shown = p.pod.clone();
    shown.status = Some(after);
    assert_eq!(
        crate::kubectl::print_pod(&shown, t(30)).status,
        "DeadlineExceeded"
    );
}
