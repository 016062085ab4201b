//! Fixtures shared by the table tests.

use minipod_manifest::PodPlan;
use serde_json::{json, Value};

use crate::action::{Action, InitStep, WaitReason};
use crate::backoff::BackoffPolicy;
use crate::observed::{HookState, ObservedPod, SandboxState, Termination};
use crate::time::Timestamp;

pub const BASE: i64 = 1_700_000_000;

/// `BASE + s` seconds.
pub fn t(s: i64) -> Timestamp {
    Timestamp::from_second(BASE + s).unwrap()
}

pub fn container(name: &str) -> Value {
    json!({"name": name, "image": "busybox", "imagePullPolicy": "IfNotPresent"})
}

pub fn sidecar(name: &str) -> Value {
    json!({"name": name, "image": "busybox", "restartPolicy": "Always"})
}

/// A pod named `pod` in `default` with uid `uid1` and the given JSON spec fields, accepted
/// through the manifest crate as `run` accepts one: its [`PodPlan`].
pub fn pod(spec: Value) -> PodPlan {
    let mut spec = spec;
    if spec.get("restartPolicy").is_none() {
        spec["restartPolicy"] = json!("Always");
    }
    let input = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pod", "namespace": "default"},
        "spec": spec,
    });
    let manifest = minipod_manifest::load(
        &[minipod_manifest::Input::new("pod.json", input.to_string())],
        &minipod_manifest::LoadOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut plan = manifest.pods.into_iter().next().expect("one pod");
    // The store's metadata, fixed so that messages and rows stay the same.
    plan.uid = "uid1".to_string();
    plan.pod.metadata.uid = Some("uid1".to_string());
    plan.pod.metadata.creation_timestamp =
        Some(serde_json::from_value(json!("2023-11-14T22:13:20Z")).unwrap());
    plan
}

/// Three regular containers foo1..foo3 (the kubelet tests' base pod).
pub fn basic() -> Value {
    json!({"containers": [container("foo1"), container("foo2"), container("foo3")]})
}

/// Init containers init1..init3 and one regular container `app`.
pub fn with_inits() -> Value {
    json!({
        "initContainers": [container("init1"), container("init2"), container("init3")],
        "containers": [container("app")],
    })
}

/// Sidecars sc1, sc2 between init containers, then `app`:
/// init1, sc1, init2, sc2 / app.
pub fn with_sidecars() -> Value {
    json!({
        "initContainers": [container("init1"), sidecar("sc1"), container("init2"), sidecar("sc2")],
        "containers": [container("app")],
    })
}

pub fn set(mut v: Value, path: &str, value: Value) -> Value {
    let mut cur = &mut v;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let last = i == parts.len() - 1;
        let next: &mut Value = if let Ok(idx) = p.parse::<usize>() {
            &mut cur[idx]
        } else {
            &mut cur[*p]
        };
        if last {
            *next = value;
            return v;
        }
        cur = next;
    }
    v
}

pub fn observed(p: &PodPlan) -> ObservedPod {
    let mut o = ObservedPod::new(p, BackoffPolicy::KUBELET);
    o.sandbox = SandboxState::Ready;
    o.start_time = Some(t(0));
    o
}

pub fn run(o: &mut ObservedPod, name: &str, at: i64) {
    let id = Some(format!("minipod://{name}-{at}"));
    assert!(
        o.record_started(name, id, Some("sha256:abc".into()), t(at)),
        "{name}"
    );
}

pub fn hook(o: &mut ObservedPod, name: &str, h: HookState) {
    assert!(o.record_post_start(name, h), "{name}");
}

/// Running, postStart finished successfully.
pub fn up(o: &mut ObservedPod, name: &str, at: i64) {
    run(o, name, at);
    hook(o, name, HookState::Succeeded);
}

pub fn exit(o: &mut ObservedPod, name: &str, code: i32, at: i64) {
    assert!(
        o.record_exit(name, Termination::exited(code, false, t(at))),
        "{name}"
    );
}

/// Ran from `at` to `at + 1` and exited with `code`.
pub fn ran(o: &mut ObservedPod, name: &str, code: i32, at: i64) {
    run(o, name, at);
    exit(o, name, code, at + 1);
}

/// Compact rendering of an action, times relative to BASE.
pub fn fmt_action(a: &Action) -> String {
    let rel = |ts: &Timestamp| {
        let ms = ts.as_millisecond() - BASE * 1000;
        if ms % 1000 == 0 {
            format!("@{}", ms / 1000)
        } else {
            format!("@{}ms", ms)
        }
    };
    match a {
        Action::CreateSandbox => "sandbox".into(),
        Action::StartContainer { name, attempt, .. } => format!("start {name}#{attempt}"),
        Action::RunPostStart { name } => format!("poststart {name}"),
        Action::KillContainer {
            name,
            reason,
            grace,
            run_pre_stop,
            ordered,
            ..
        } => format!(
            "kill {name} {} {}s{}{}",
            reason.as_str(),
            grace.as_secs(),
            if *run_pre_stop { " prestop" } else { "" },
            if *ordered { " ordered" } else { "" }
        ),
        Action::StopContainer {
            name,
            signal,
            timeout,
        } => format!(
            "stop {name} {}ms{}",
            timeout.as_millis(),
            signal.as_ref().map(|s| format!(" {s}")).unwrap_or_default()
        ),
        Action::ForceKill { name } => format!("sigkill {name}"),
        Action::TerminatePod { reason, grace } => {
            format!("terminate {reason:?} {}s", grace.as_secs())
        }
        Action::WaitUntil { at, reason } => {
            let why = match reason {
                WaitReason::BackOff { name, delay } => {
                    format!("backoff {name} {}s", delay.as_secs())
                }
                WaitReason::StartRetry { name } => format!("retry {name}"),
                WaitReason::PreStop { name } => format!("prestop {name}"),
                WaitReason::TerminationOrder { name } => format!("order {name}"),
                WaitReason::KillDeadline { name } => format!("deadline {name}"),
                WaitReason::ActiveDeadline => "active-deadline".to_string(),
            };
            format!("wait {why} {}", rel(at))
        }
        Action::PodDone { phase } => format!("done {phase}"),
    }
}

pub fn fmt_init(s: &InitStep) -> String {
    match s {
        InitStep::Done => "done".into(),
        InitStep::Start(i) => format!("start {i}"),
        InitStep::BackOff { index, until } => {
            format!("backoff {index} @{}", until.as_second() - BASE)
        }
        InitStep::WaitFor(i) => format!("wait {i}"),
        InitStep::Failed(i) => format!("failed {i}"),
    }
}
