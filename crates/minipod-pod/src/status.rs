//! `core/v1.PodStatus` from the spec and the observed state, as the kubelet builds it:
//! container statuses (pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses, with
//! `started`/`ready` as prober_manager.go UpdatePodStatus sets them), the phase
//! (kubelet_pods.go getPhase) and the conditions (pkg/kubelet/status/generate.go).

use k8s_openapi::api::core::v1::{
    ContainerState as ApiState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus, HostIP, PodCondition, PodIP, PodStatus,
};
use minipod_manifest::{ContainerPlan, PodPlan, RestartPolicy};

use crate::observed::{
    ContainerState, HookState, KillReason, ObservedContainer, ObservedPod, PodTerminationReason,
    ProbeKind, ProbeResult, ProbeResults, SandboxState, Termination, START_ERROR_REASON,
};
use crate::spec::{self, ContainerKind, PodPhase};
use crate::time::{go_duration_string, k8s_time, Timestamp};

/// Default `waiting.reason` of a container that has not run yet.
pub const POD_INITIALIZING: &str = "PodInitializing";
pub const CONTAINER_CREATING: &str = "ContainerCreating";
pub const CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";
pub const POST_START_HOOK_ERROR: &str = "PostStartHookError";
/// kubelet: ErrRunContainer, shown after the runtime's StartContainer failed.
pub const RUN_CONTAINER_ERROR: &str = "RunContainerError";

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

/// Reason given to containers that never reported a termination when the pod ended
/// (status_manager.go TerminatePod).
pub const CONTAINER_STATUS_UNKNOWN: &str = "ContainerStatusUnknown";

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
    let spec = pod;
    let (init, regular) = container_statuses(pod, observed, probes);
    let deadline_exceeded = deadline_exceeded(spec, observed, now);
    let phase = if deadline_exceeded {
        PodPhase::Failed
    } else {
        phase_of(spec, observed, &init, &regular)
    };
    let conditions = conditions(spec, observed, &init, &regular, phase, previous, now);
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
fn deadline_exceeded(spec: &PodPlan, observed: &ObservedPod, now: Timestamp) -> bool {
    let terminating_for_it = observed
        .termination
        .as_ref()
        .is_some_and(|t| t.reason == PodTerminationReason::DeadlineExceeded);
    let past = spec::active_deadline(spec, observed.start_time).is_some_and(|d| now >= d);
    terminating_for_it || (past && observed.final_phase.is_none())
}

/// The phase the pod reports now.
pub fn pod_phase(pod: &PodPlan, observed: &ObservedPod, probes: &ProbeResults) -> PodPhase {
    let spec = pod;
    let (init, regular) = container_statuses(pod, observed, probes);
    phase_of(spec, observed, &init, &regular)
}

fn phase_of(
    spec: &PodPlan,
    observed: &ObservedPod,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
) -> PodPhase {
    if let Some(p) = observed.final_phase {
        return p;
    }
    get_phase(
        spec,
        init,
        regular,
        false,
        has_active_regular_container(observed),
    )
}

/// The phase a pod ends in once every container has stopped: getPhase with
/// `podIsTerminal`, and Failed when that is still not terminal (a pod deleted before its
/// containers ran; status_manager.go TerminatePod).
pub fn final_phase(spec: &PodPlan, observed: &ObservedPod) -> PodPhase {
    if observed
        .termination
        .as_ref()
        .is_some_and(|t| t.reason == PodTerminationReason::DeadlineExceeded)
    {
        return PodPhase::Failed;
    }
    let (init, regular) = container_statuses(spec, observed, &ProbeResults::default());
    let phase = get_phase(
        spec,
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

/// Statuses of `spec.initContainers` and `spec.containers`, in spec order.
pub fn container_statuses(
    pod: &PodPlan,
    observed: &ObservedPod,
    probes: &ProbeResults,
) -> (Vec<ContainerStatus>, Vec<ContainerStatus>) {
    let spec = pod;
    let ctx = StatusContext {
        spec,
        observed,
        probes,
        has_init: !spec.init_containers.is_empty(),
    };
    let init: Vec<ContainerStatus> = spec
        .init_containers
        .iter()
        .map(|c| ctx.status(&c.container, c.kind))
        .collect();
    let mut regular: Vec<ContainerStatus> = spec
        .containers
        .iter()
        .map(|c| ctx.status(c, ContainerKind::Regular))
        .collect();
    if observed.final_phase.is_some() && has_pod_initialized(spec, &init, &regular) {
        mark_unknown_at_end(&mut regular);
    }
    (init, regular)
}

/// status_manager.go hasPodInitialized: no init containers; or a regular container that has
/// left waiting or terminated before; or the last init container completed with exit code 0.
fn has_pod_initialized(
    spec: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
) -> bool {
    if spec.init_containers.is_empty() {
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
    spec: &'a PodPlan,
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
                            spec::format_pod(&self.spec.pod)
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
                let policy = self.spec.restart_policy;
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

fn find<'a>(
    init: &'a [ContainerStatus],
    regular: &'a [ContainerStatus],
    name: &str,
) -> Option<&'a ContainerStatus> {
    regular.iter().chain(init.iter()).find(|s| s.name == name)
}

fn state_of(s: &ContainerStatus) -> ApiState {
    s.state.clone().unwrap_or_default()
}

fn last_terminated(s: &ContainerStatus) -> Option<&ContainerStateTerminated> {
    s.last_state.as_ref().and_then(|l| l.terminated.as_ref())
}

/// kubelet_pods.go getPhase (ContainerRestartRules off, its default).
pub fn get_phase(
    spec: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    pod_is_terminal: bool,
    pod_has_initialized: bool,
) -> PodPhase {
    let mut pending_restartable_init = 0;
    let mut pending_regular_init = 0;
    let mut failed_initialization = 0;

    for c in &spec.init_containers {
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
    for c in &spec.init_containers {
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

    for c in &spec.containers {
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

    let policy = spec.restart_policy;
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
    spec: &PodPlan,
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
    out.push(initialized_condition(spec, init, regular, phase));
    let containers_ready = containers_ready_condition(spec, init, regular, phase);
    out.push(ready_condition(spec, &containers_ready, &out));
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
    spec: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: PodPhase,
) -> PodCondition {
    let mut incomplete = Vec::new();
    let mut unknown = Vec::new();
    for i in &spec.init_containers {
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
    let regular_started = spec.containers.iter().any(|c| {
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
    spec: &PodPlan,
    init: &[ContainerStatus],
    regular: &[ContainerStatus],
    phase: PodPhase,
) -> PodCondition {
    let mut unknown = Vec::new();
    let mut unready = Vec::new();
    let sidecars = spec
        .init_containers
        .iter()
        .filter(|c| c.kind == ContainerKind::Sidecar)
        .map(|c| &c.container);
    for c in sidecars.chain(spec.containers.iter()) {
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
    spec: &PodPlan,
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
    for gate in spec
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
#[path = "status_tests.rs"]
mod tests;
