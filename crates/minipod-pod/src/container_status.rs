//! The container statuses of a pod, as the kubelet builds them
//! (pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses, with `started`/`ready` as
//! prober_manager.go UpdatePodStatus sets them, and status_manager.go TerminatePod's
//! statuses for containers that never reported an end). Pure.

use k8s_openapi::api::core::v1::{
    ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus,
};
use minipod_manifest::{ContainerPlan, PodPlan, RestartPolicy};

use crate::observed::{
    ContainerState, HookState, KillReason, ObservedContainer, ObservedPod, ProbeKind, ProbeResult,
    ProbeResults, Termination, START_ERROR_REASON,
};
use crate::spec::{self, ContainerKind};
use crate::time::{go_duration_string, k8s_time};

/// Default `waiting.reason` of a container that has not run yet.
pub const POD_INITIALIZING: &str = "PodInitializing";
pub const CONTAINER_CREATING: &str = "ContainerCreating";
pub const CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";
pub const POST_START_HOOK_ERROR: &str = "PostStartHookError";
/// kubelet: ErrRunContainer, shown after the runtime's StartContainer failed.
pub const RUN_CONTAINER_ERROR: &str = "RunContainerError";

/// Reason given to containers that never reported a termination when the pod ended
/// (status_manager.go TerminatePod).
pub const CONTAINER_STATUS_UNKNOWN: &str = "ContainerStatusUnknown";

/// Statuses of `spec.initContainers` and `spec.containers`, in spec order.
pub fn container_statuses(
    pod: &PodPlan,
    observed: &ObservedPod,
    probes: &ProbeResults,
) -> (Vec<ContainerStatus>, Vec<ContainerStatus>) {
    let ctx = StatusContext {
        pod,
        observed,
        probes,
        has_init: !pod.init_containers.is_empty(),
    };
    let init: Vec<ContainerStatus> = pod
        .init_containers
        .iter()
        .map(|c| ctx.status(&c.container, c.kind))
        .collect();
    let mut regular: Vec<ContainerStatus> = pod
        .containers
        .iter()
        .map(|c| ctx.status(c, ContainerKind::Regular))
        .collect();
    if observed.final_phase.is_some() && has_pod_initialized(pod, &init, &regular) {
        mark_unknown_at_end(&mut regular);
    }
    (init, regular)
}

/// status_manager.go hasPodInitialized: no init containers; or a regular container that has
/// left waiting or terminated before; or the last init container completed with exit code 0.
fn has_pod_initialized(
    pod: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
) -> bool {
    if pod.init_containers.is_empty() {
        return true;
    }
    let left_waiting = regular.iter().any(|st| {
        let waiting = st.state.as_ref().is_none_or(|s| s.waiting.is_some());
        let terminated_before = st
            .last_state
            .as_ref()
            .is_some_and(|s| s.terminated.is_some());
        terminated_before || !waiting
    });
    // A sidecar (restartable init container) counts once it runs and has started.
    let last_init_succeeded = init.last().is_some_and(|st| {
        let state = st.state.as_ref();
        let completed = state
            .and_then(|s| s.terminated.as_ref())
            .is_some_and(|t| t.exit_code == 0);
        let started_sidecar =
            state.is_some_and(|s| s.running.is_some()) && st.started == Some(true);
        completed || started_sidecar
    });
    left_waiting || last_init_succeeded
}

/// status_manager.go TerminatePod: once the pod has initialized, regular containers with no
/// termination are reported as failed.
fn mark_unknown_at_end(regular: &mut [ContainerStatus]) {
    for st in regular.iter_mut() {
        let terminated = st.state.as_ref().is_some_and(|s| s.terminated.is_some());
        if terminated {
            continue;
        }
        st.state = Some(ApiState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 137,
                reason: Some(CONTAINER_STATUS_UNKNOWN.to_string()),
                message: Some(
                    "The container could not be located when the pod was terminated".to_string(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        });
        st.ready = false;
        st.started = Some(false);
    }
}

struct StatusContext<'a> {
    pod: &'a PodPlan,
    observed: &'a ObservedPod,
    probes: &'a ProbeResults,
    has_init: bool,
}

impl StatusContext<'_> {
    fn status(&self, c: &ContainerPlan, kind: ContainerKind) -> ContainerStatus {
        let fallback;
        let o = match self.observed.container(&c.name) {
            Some(o) => o,
            None => {
                fallback = ObservedContainer::new(&c.name, kind, Default::default());
                &fallback
            }
        };
        let default_waiting = if self.has_init {
            POD_INITIALIZING
        } else {
            CONTAINER_CREATING
        };
        let mut st = ContainerStatus {
            name: c.name.clone(),
            image: c.image.clone(),
            image_id: o.image_id.clone().unwrap_or_default(),
            restart_count: o.restart_count,
            ready: false,
            started: Some(false),
            last_state: Some(
                o.last_termination
                    .as_ref()
                    .map(terminated_state)
                    .unwrap_or_default(),
            ),
            ..ContainerStatus::default()
        };
        match &o.state {
            ContainerState::Waiting => {
                st.state = Some(waiting_state(default_waiting, None));
            }
            ContainerState::Running(r) => {
                st.container_id = o.container_id.clone();
                st.state = Some(ApiState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(k8s_time(r.started_at)),
                    }),
                    ..Default::default()
                });
                let started = container_started(c, o, self.probes);
                st.started = Some(started);
                // Regular init containers are ready only once they exited 0.
                st.ready = kind != ContainerKind::Init
                    && started
                    && (c.readiness_probe.is_none()
                        || self.probe(o, ProbeKind::Readiness) == Some(ProbeResult::Success));
            }
            ContainerState::Terminated(t) => {
                st.container_id = t.container_id.clone().or_else(|| o.container_id.clone());
                st.state = Some(terminated_state(t));
                st.ready = kind == ContainerKind::Init && t.exit_code == 0;
            }
        }
        // kubelet_pods.go: "Handle the containers failed to be started, which should be in
        // Waiting state" — a container that will be restarted shows why it is not running.
        let completed_init =
            kind == ContainerKind::Init && o.terminated().is_some_and(|t| t.exit_code == 0);
        if !completed_init && self.observed.termination.is_none() && self.will_restart(kind, o) {
            let waiting = if let Some(f) = &o.start_failure {
                Some(waiting_state(&f.reason, Some(f.message.clone())))
            } else if let Some(t) = o.terminated() {
                match o.backoff.current_delay(t.finished_at) {
                    Some(delay) => Some(waiting_state(
                        CRASH_LOOP_BACK_OFF,
                        Some(format!(
                            "back-off {} restarting failed container={} pod={}",
                            go_duration_string(delay),
                            c.name,
                            spec::format_pod(&self.pod.pod)
                        )),
                    )),
                    // kuberuntime_container.go startContainer returns ErrPostStartHook; the
                    // reason is shown until the (immediate) restart.
                    None if t.kill_reason == Some(KillReason::FailedPostStartHook) => Some(
                        waiting_state(POST_START_HOOK_ERROR, o.post_start_error.clone()),
                    ),
                    // startContainer returns ErrRunContainer with the runtime's message
                    // when StartContainer failed.
                    None if t.reason.as_deref() == Some(START_ERROR_REASON) => {
                        Some(waiting_state(RUN_CONTAINER_ERROR, t.message.clone()))
                    }
                    None => None,
                }
            } else {
                None
            };
            if let Some(w) = waiting {
                if let Some(t) = o.terminated() {
                    st.last_state = Some(terminated_state(t));
                }
                st.state = Some(w);
                st.ready = false;
                st.started = Some(false);
            }
        }
        st
    }

    fn probe(&self, o: &ObservedContainer, kind: ProbeKind) -> Option<ProbeResult> {
        self.probes.get(&o.name, o.restart_count, kind)
    }

    /// kubelet: ShouldContainerBeRestarted (restartable init containers always restart).
    fn will_restart(&self, kind: ContainerKind, o: &ObservedContainer) -> bool {
        match &o.state {
            ContainerState::Waiting => true,
            ContainerState::Running(_) => false,
            ContainerState::Terminated(t) => {
                if kind == ContainerKind::Sidecar {
                    return true;
                }
                let policy = self.pod.restart_policy;
                if kind == ContainerKind::Regular
                    && matches!(
                        t.kill_reason,
                        Some(KillReason::LivenessProbe | KillReason::StartupProbe)
                    )
                    && policy != RestartPolicy::Never
                {
                    return true;
                }
                match policy {
                    RestartPolicy::Never => false,
                    RestartPolicy::OnFailure => t.exit_code != 0,
                    RestartPolicy::Always => true,
                }
            }
        }
    }
}

/// `started` of a container: prober_manager.go isContainerStarted — running, and the
/// startup probe (if any) succeeded; the postStart hook must also have returned (the kubelet
/// reports the container only after startContainer, hook included, is done). Probe workers
/// use it to gate liveness/readiness.
pub fn container_started(c: &ContainerPlan, o: &ObservedContainer, probes: &ProbeResults) -> bool {
    let Some(r) = o.running() else { return false };
    let post_start_done = c.post_start.is_none() || r.post_start == HookState::Succeeded;
    post_start_done
        && (c.startup_probe.is_none()
            || probes.get(&o.name, o.restart_count, ProbeKind::Startup)
                == Some(ProbeResult::Success))
}

fn waiting_state(reason: &str, message: Option<String>) -> ApiState {
    ApiState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.to_string()),
            message,
        }),
        ..Default::default()
    }
}

fn terminated_state(t: &Termination) -> ApiState {
    ApiState {
        terminated: Some(ContainerStateTerminated {
            exit_code: t.exit_code,
            reason: t.reason.clone(),
            message: t.message.clone(),
            started_at: t.started_at.map(k8s_time),
            finished_at: Some(k8s_time(t.finished_at)),
            container_id: t.container_id.clone(),
            signal: None,
        }),
        ..Default::default()
    }
}

pub(crate) fn find<'a>(
    init: &'a [ContainerStatus],
    regular: &'a [ContainerStatus],
    name: &str,
) -> Option<&'a ContainerStatus> {
    regular.iter().chain(init.iter()).find(|s| s.name == name)
}

pub(crate) fn state_of(s: &ContainerStatus) -> ApiState {
    s.state.clone().unwrap_or_default()
}

pub(crate) fn last_terminated(s: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    s.last_state.as_ref().and_then(|l| l.terminated.as_ref())
}
