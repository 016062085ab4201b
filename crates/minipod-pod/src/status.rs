//! `core/v1.PodStatus` from the plan and the observed state, as the kubelet builds it: the
//! container statuses ([`crate::container_status`]), the phase ([`crate::phase`]), the
//! conditions (pkg/kubelet/status/generate.go), the active deadline's reason and the QoS
//! class.

use k8s_openapi::api::core::v1::{ContainerStatus, HostIP, PodCondition, PodIP, PodStatus};
use minipod_manifest::PodPlan;

use crate::container_status::find;
pub use crate::container_status::{
    container_started, container_statuses, CONTAINER_CREATING, CONTAINER_STATUS_UNKNOWN,
    CRASH_LOOP_BACK_OFF, POD_INITIALIZING, POST_START_HOOK_ERROR, RUN_CONTAINER_ERROR,
};
use crate::observed::{ObservedPod, PodTerminationReason, ProbeResults, SandboxState};
use crate::phase::phase_of;
pub use crate::phase::{final_phase, get_phase, pod_phase};
use crate::spec::{self, ContainerKind, PodPhase};
use crate::time::{k8s_time, Timestamp};

/// Condition types and reasons (core/v1 types.go, status/generate.go).
pub const POD_READY_TO_START_CONTAINERS: &str = "PodReadyToStartContainers";
pub const POD_INITIALIZED: &str = "Initialized";
pub const POD_READY: &str = "Ready";
pub const CONTAINERS_READY: &str = "ContainersReady";
pub const POD_SCHEDULED: &str = "PodScheduled";
pub const CONTAINERS_NOT_INITIALIZED: &str = "ContainersNotInitialized";
pub const CONTAINERS_NOT_READY: &str = "ContainersNotReady";
pub const POD_COMPLETED: &str = "PodCompleted";
pub const POD_FAILED: &str = "PodFailed";
pub const READINESS_GATES_NOT_READY: &str = "ReadinessGatesNotReady";

/// The full `status` of `pod`. `previous` (the last written status) keeps condition
/// `lastTransitionTime`s stable and carries conditions the kubelet does not own (readiness
/// gates). `now` stamps transitions. Pure.
pub fn build_pod_status(
    pod: &PodPlan,
    observed: &ObservedPod,
    probes: &ProbeResults,
    previous: Option<&PodStatus>,
    now: Timestamp,
) -> PodStatus {
    let (init, regular) = container_statuses(pod, observed, probes);
    let deadline_exceeded = deadline_exceeded(pod, observed, now);
    let phase = if deadline_exceeded {
        PodPhase::Failed
    } else {
        phase_of(pod, observed, &init, &regular)
    };
    let conditions = conditions(pod, observed, &init, &regular, phase, previous, now);
    let (reason, message) = if deadline_exceeded {
        (
            Some(DEADLINE_EXCEEDED.to_string()),
            Some(DEADLINE_EXCEEDED_MESSAGE.to_string()),
        )
    } else {
        (None, None)
    };
    PodStatus {
        phase: Some(phase.as_str().to_string()),
        reason,
        message,
        conditions: Some(conditions),
        init_container_statuses: (!init.is_empty()).then_some(init),
        container_statuses: Some(regular),
        start_time: observed.start_time.map(k8s_time),
        pod_ip: observed.pod_ip.clone(),
        pod_ips: observed
            .pod_ip
            .as_ref()
            .map(|ip| vec![PodIP { ip: ip.clone() }]),
        host_ip: observed.host_ip.clone(),
        host_ips: observed
            .host_ip
            .as_ref()
            .map(|ip| vec![HostIP { ip: ip.clone() }]),
        qos_class: Some(pod.qos_class().to_string()),
        ..PodStatus::default()
    }
}

/// `status.reason` / `status.message` of a pod past its active deadline
/// (kubelet active_deadline.go).
pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
pub const DEADLINE_EXCEEDED_MESSAGE: &str =
    "Pod was active on the node longer than the specified deadline";

/// The pod ran past `spec.activeDeadlineSeconds` (or is being terminated for it).
fn deadline_exceeded(pod: &PodPlan, observed: &ObservedPod, now: Timestamp) -> bool {
    let terminating_for_it = observed
        .termination
        .as_ref()
        .is_some_and(|t| t.reason == PodTerminationReason::DeadlineExceeded);
    let past = spec::active_deadline(pod, observed.start_time).is_some_and(|d| now >= d);
    terminating_for_it || (past && observed.final_phase.is_none())
}

fn condition(
    type_: &str,
    status: bool,
    reason: Option<&str>,
    message: Option<String>,
) -> PodCondition {
    PodCondition {
        type_: type_.to_string(),
        status: if status { "True" } else { "False" }.to_string(),
        reason: reason.map(str::to_string),
        message,
        ..PodCondition::default()
    }
}

/// Go's `fmt.Sprintf("%s", []string{...})`: `[a b]`.
fn go_list(names: &[String]) -> String {
    format!("[{}]", names.join(" "))
}

fn is_kubelet_condition(type_: &str) -> bool {
    matches!(
        type_,
        POD_SCHEDULED
            | POD_READY
            | POD_INITIALIZED
            | CONTAINERS_READY
            | POD_READY_TO_START_CONTAINERS
            | "PodResizePending"
            | "PodResizeInProgress"
    )
}

/// The pod's conditions in the kubelet's order: foreign conditions (from `previous`),
/// PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled.
pub fn conditions(
    pod: &PodPlan,
    observed: &ObservedPod,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: PodPhase,
    previous: Option<&PodStatus>,
    now: Timestamp,
) -> Vec<PodCondition> {
    let prev_conditions: &[PodCondition] = previous
        .and_then(|p| p.conditions.as_deref())
        .unwrap_or(&[]);
    let mut out: Vec<PodCondition> = prev_conditions
        .iter()
        .filter(|c| !is_kubelet_condition(&c.type_))
        .cloned()
        .collect();

    // generate.go GeneratePodReadyToStartContainersCondition: the sandbox exists.
    let sandbox_ready = observed.sandbox == SandboxState::Ready && observed.final_phase.is_none();
    out.push(condition(
        POD_READY_TO_START_CONTAINERS,
        sandbox_ready,
        None,
        None,
    ));
    out.push(initialized_condition(pod, init, regular, phase));
    let containers_ready = containers_ready_condition(pod, init, regular, phase);
    out.push(ready_condition(pod, &containers_ready, &out));
    out.push(containers_ready);
    out.push(condition(POD_SCHEDULED, true, None, None));

    for c in out.iter_mut() {
        let prev = prev_conditions
            .iter()
            .find(|p| p.type_ == c.type_ && p.status == c.status);
        c.last_transition_time = match prev {
            Some(p) if p.last_transition_time.is_some() => p.last_transition_time.clone(),
            _ => Some(k8s_time(now)),
        };
    }
    out
}

/// generate.go GeneratePodInitializedCondition.
fn initialized_condition(
    pod: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: PodPhase,
) -> PodCondition {
    let mut incomplete = Vec::new();
    let mut unknown = Vec::new();
    for i in &pod.init_containers {
        let c = &i.container;
        let Some(s) = find(init, regular, &c.name) else {
            unknown.push(c.name.clone());
            continue;
        };
        let initialized = if i.kind == ContainerKind::Sidecar {
            s.started == Some(true)
        } else {
            s.ready
        };
        if !initialized {
            incomplete.push(c.name.clone());
        }
    }
    if phase == PodPhase::Succeeded && unknown.is_empty() {
        return condition(POD_INITIALIZED, true, Some(POD_COMPLETED), None);
    }
    // HasAnyRegularContainerStarted: initialized before, even if sidecars are restarting.
    let regular_started = pod.containers.iter().any(|c| {
        find(init, regular, &c.name).is_some_and(|s| {
            s.state
                .as_ref()
                .is_some_and(|st| st.running.is_some() || st.terminated.is_some())
        })
    });
    if regular_started {
        return condition(POD_INITIALIZED, true, None, None);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !incomplete.is_empty() {
        messages.push(format!(
            "containers with incomplete status: {}",
            go_list(&incomplete)
        ));
    }
    if messages.is_empty() {
        condition(POD_INITIALIZED, true, None, None)
    } else {
        condition(
            POD_INITIALIZED,
            false,
            Some(CONTAINERS_NOT_INITIALIZED),
            Some(messages.join(", ")),
        )
    }
}

/// generate.go GenerateContainersReadyCondition (sidecars count).
fn containers_ready_condition(
    pod: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: PodPhase,
) -> PodCondition {
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    let sidecars = pod
        .init_containers
        .iter()
        .filter(|c| c.kind == ContainerKind::Sidecar)
        .map(|c| &c.container);
    for c in sidecars.chain(pod.containers.iter()) {
        match find(init, regular, &c.name) {
            Some(s) if !s.ready => unready.push(c.name.clone()),
            Some(_) => {}
            None => unknown.push(c.name.clone()),
        }
    }
    if (phase == PodPhase::Succeeded && unknown.is_empty()) || phase == PodPhase::Failed {
        let reason = if phase == PodPhase::Failed {
            POD_FAILED
        } else {
            POD_COMPLETED
        };
        return condition(CONTAINERS_READY, false, Some(reason), None);
    }
    let mut messages = Vec::new();
    if !unknown.is_empty() {
        messages.push(format!(
            "containers with unknown status: {}",
            go_list(&unknown)
        ));
    }
    if !unready.is_empty() {
        messages.push(format!(
            "containers with unready status: {}",
            go_list(&unready)
        ));
    }
    if messages.is_empty() {
        condition(CONTAINERS_READY, true, None, None)
    } else {
        condition(
            CONTAINERS_READY,
            false,
            Some(CONTAINERS_NOT_READY),
            Some(messages.join(", ")),
        )
    }
}

/// generate.go GeneratePodReadyCondition: ContainersReady plus readiness gates.
fn ready_condition(
    pod: &PodPlan,
    containers_ready: &PodCondition,
    conditions: &[PodCondition],
) -> PodCondition {
    if containers_ready.status != "True" {
        return PodCondition {
            type_: POD_READY.to_string(),
            ..containers_ready.clone()
        };
    }
    let mut messages = Vec::new();
    for gate in pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_deref())
        .unwrap_or(&[])
    {
        match conditions.iter().find(|c| c.type_ == gate.condition_type) {
            None => messages.push(format!(
                "corresponding condition of pod readiness gate {:?} does not exist.",
                gate.condition_type
            )),
            Some(c) if c.status != "True" => messages.push(format!(
                "the status of pod readiness gate {:?} is not \"True\", but {}",
                gate.condition_type, c.status
            )),
            Some(_) => {}
        }
    }
    if messages.is_empty() {
        condition(POD_READY, true, None, None)
    } else {
        condition(
            POD_READY,
            false,
            Some(READINESS_GATES_NOT_READY),
            Some(messages.join(", ")),
        )
    }
}

/// `status.qosClass`: one computation for the workspace, the manifest crate's.
pub use minipod_manifest::qos_class;

#[cfg(test)]
mod tests;
