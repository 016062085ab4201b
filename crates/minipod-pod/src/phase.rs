//! The pod phase (kubelet_pods.go getPhase) from the container statuses, and the phase a
//! pod ends in (status_manager.go TerminatePod). Pure.

use k8s_openapi::api::core::v1::ContainerStatus;
use minipod_manifest::{PodPlan, RestartPolicy};

use crate::container_status::{container_statuses, find, last_terminated, state_of};
use crate::observed::{ContainerState, ObservedPod, PodTerminationReason, ProbeResults};
use crate::spec::{ContainerKind, PodPhase};

/// The phase the pod reports now.
pub fn pod_phase(pod: &PodPlan, observed: &ObservedPod, probes: &ProbeResults) -> PodPhase {
    let (init, regular) = container_statuses(pod, observed, probes);
    phase_of(pod, observed, &init, &regular)
}

pub(crate) fn phase_of(
    pod: &PodPlan,
    observed: &ObservedPod,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
) -> PodPhase {
    if let Some(p) = observed.final_phase {
        return p;
    }
    get_phase(
        pod,
        init,
        regular,
        false,
        has_active_regular_container(observed),
    )
}

/// The phase a pod ends in once every container has stopped: getPhase with
/// `podIsTerminal`, and Failed when that is still not terminal (a pod deleted before its
/// containers ran; status_manager.go TerminatePod).
pub fn final_phase(pod: &PodPlan, observed: &ObservedPod) -> PodPhase {
    if observed
        .termination
        .as_ref()
        .is_some_and(|t| t.reason == PodTerminationReason::DeadlineExceeded)
    {
        return PodPhase::Failed;
    }
    let (init, regular) = container_statuses(pod, observed, &ProbeResults::default());
    let phase = get_phase(
        pod,
        &init,
        &regular,
        true,
        has_active_regular_container(observed),
    );
    if phase.is_terminal() {
        phase
    } else {
        PodPhase::Failed
    }
}

/// kubelet: HasAnyActiveRegularContainerStarted — a regular container has an instance in
/// this sandbox.
fn has_active_regular_container(observed: &ObservedPod) -> bool {
    observed
        .containers
        .iter()
        .any(|o| !matches!(o.state, ContainerState::Waiting))
}

/// kubelet_pods.go getPhase (ContainerRestartRules off, its default).
pub fn get_phase(
    pod: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    pod_is_terminal: bool,
    pod_has_initialized: bool,
) -> PodPhase {
    let mut pending_restartable_init = 0;
    let mut pending_regular_init = 0;
    let mut failed_initialization = 0;

    for c in &pod.init_containers {
        if c.kind == ContainerKind::Sidecar {
            continue;
        }
        let c = &c.container;
        let Some(s) = find(init, regular, &c.name) else {
            pending_regular_init += 1;
            continue;
        };
        let state = state_of(s);
        if state.running.is_some() {
            pending_regular_init += 1;
        } else if let Some(t) = &state.terminated {
            if t.exit_code != 0 {
                failed_initialization += 1;
            }
        } else if state.waiting.is_some() {
            match last_terminated(s) {
                Some(t) => {
                    if t.exit_code != 0 {
                        failed_initialization += 1;
                    }
                }
                None => pending_regular_init += 1,
            }
        } else {
            pending_regular_init += 1;
        }
    }

    let (mut unknown, mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0, 0);
    for c in &pod.init_containers {
        if c.kind != ContainerKind::Sidecar {
            continue;
        }
        let c = &c.container;
        let Some(s) = find(init, regular, &c.name) else {
            unknown += 1;
            continue;
        };
        let state = state_of(s);
        if state.running.is_some() {
            if s.started != Some(true) {
                pending_restartable_init += 1;
            }
            running += 1;
        } else if state.terminated.is_some() {
            // Terminated sidecars do not count towards the phase.
        } else if state.waiting.is_some() {
            if last_terminated(s).is_none() {
                pending_restartable_init += 1;
                waiting += 1;
            }
        } else {
            pending_restartable_init += 1;
            unknown += 1;
        }
    }

    for c in &pod.containers {
        let Some(s) = find(init, regular, &c.name) else {
            unknown += 1;
            continue;
        };
        let state = state_of(s);
        if state.running.is_some() {
            running += 1;
        } else if let Some(t) = &state.terminated {
            stopped += 1;
            if t.exit_code == 0 {
                succeeded += 1;
            }
        } else if state.waiting.is_some() {
            if last_terminated(s).is_some() {
                stopped += 1;
            } else {
                waiting += 1;
            }
        } else {
            unknown += 1;
        }
    }

    let policy = pod.restart_policy;
    if failed_initialization > 0 && policy == RestartPolicy::Never {
        return PodPhase::Failed;
    }
    if pending_regular_init > 0 || (pending_restartable_init > 0 && !pod_has_initialized) {
        return PodPhase::Pending;
    }
    if waiting > 0 {
        return PodPhase::Pending;
    }
    if running > 0 && unknown == 0 {
        return PodPhase::Running;
    }
    if running == 0 && stopped > 0 && unknown == 0 {
        if pod_is_terminal {
            return if stopped == succeeded {
                PodPhase::Succeeded
            } else {
                PodPhase::Failed
            };
        }
        if policy == RestartPolicy::Always {
            return PodPhase::Running;
        }
        if stopped == succeeded {
            return PodPhase::Succeeded;
        }
        if policy == RestartPolicy::Never {
            return PodPhase::Failed;
        }
        return PodPhase::Running;
    }
    PodPhase::Pending
}
