//! What the supervisor has observed about a pod: the input of the plan and of the status.
//!
//! The supervisor owns one [`ObservedPod`] per pod and updates it with the `record_*` methods
//! as events arrive (container started, exited, hook finished, stop signal sent...). Those
//! methods keep the bookkeeping the kubelet gets from the runtime (restart count, last
//! termination, back-off history) consistent, so the supervisor never edits fields by hand.

use std::collections::BTreeMap;
use std::time::Duration;

use minipod_manifest::PodPlan;
use serde::{Deserialize, Serialize};

use crate::backoff::{BackoffPolicy, RestartBackoff};
use crate::spec::{ContainerKind, PodPhase};
use crate::time::Timestamp;

/// State of the pod sandbox (network/IPC/UTS namespaces, volumes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SandboxState {
    NotCreated,
    Ready,
}

/// Why a container is being killed (kuberuntime_manager.go containerKillReason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KillReason {
    /// Liveness probe failed: restarted unless restartPolicy is Never.
    LivenessProbe,
    /// Startup probe failed: restarted unless restartPolicy is Never.
    StartupProbe,
    /// postStart hook failed: killed (running preStop), then restarted per restartPolicy.
    FailedPostStartHook,
    /// The pod is terminating (deleted, or finished with sidecars still running).
    PodTermination,
}

impl KillReason {
    pub fn as_str(self) -> &'static str {
        match self {
            KillReason::LivenessProbe => "LivenessProbe",
            KillReason::StartupProbe => "StartupProbe",
            KillReason::FailedPostStartHook => "FailedPostStartHook",
            KillReason::PodTermination => "PodTermination",
        }
    }
}

/// Progress of a lifecycle hook (postStart or preStop) process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HookState {
    /// Not launched yet.
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl HookState {
    pub fn finished(self) -> bool {
        matches!(self, HookState::Succeeded | HookState::Failed)
    }
}

/// A container instance that exited (`state.terminated` / `lastState.terminated`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termination {
    /// Exit status; 128 + N for signal N ([`exit_code_for_signal`]).
    pub exit_code: i32,
    /// Completed, Error, OOMKilled, StartError ([`termination_reason`]).
    pub reason: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Timestamp,
    /// `<runtime>://<id>` of the instance that exited.
    pub container_id: Option<String>,
    /// Set when the exit followed a kill the plan asked for.
    pub kill_reason: Option<KillReason>,
}

impl Termination {
    /// A termination with the runtime's reason derived from the exit code.
    pub fn exited(exit_code: i32, oom_killed: bool, finished_at: Timestamp) -> Termination {
        Termination {
            exit_code,
            reason: Some(termination_reason(exit_code, oom_killed).to_string()),
            message: None,
            started_at: None,
            finished_at,
            container_id: None,
            kill_reason: None,
        }
    }
}

/// The reason the runtime reports for an exit (containerd internal/cri/server/helpers.go,
/// container_status: OOMKilled wins, then Completed for 0, Error otherwise).
pub fn termination_reason(exit_code: i32, oom_killed: bool) -> &'static str {
    if oom_killed {
        "OOMKilled"
    } else if exit_code == 0 {
        "Completed"
    } else {
        "Error"
    }
}

/// Reason for a process that could not be started at all (exit code 128).
pub const START_ERROR_REASON: &str = "StartError";
/// Exit code containerd reports with `StartError`.
pub const START_ERROR_EXIT_CODE: i32 = 128;

/// Exit code reported for a process killed by signal `signal` (shell convention, as runc).
pub fn exit_code_for_signal(signal: i32) -> i32 {
    128 + signal
}

/// The pod's termination in progress (deletion, or the pod finished and sidecars are stopped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodTermination {
    pub requested_at: Timestamp,
    /// `--grace-period`, else `terminationGracePeriodSeconds` (kuberuntime_container.go
    /// setTerminationGracePeriod).
    pub grace: Duration,
    pub reason: PodTerminationReason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodTerminationReason {
    /// `minipod delete` (API deletion).
    Deleted,
    /// Every regular container exited for good (kubelet: computePodActions keepCount == 0).
    Completed,
    /// A regular init container failed under restartPolicy Never.
    InitFailed,
    /// `spec.activeDeadlineSeconds` ran out (kubelet active_deadline.go): the pod fails with
    /// `status.reason=DeadlineExceeded`.
    DeadlineExceeded,
}

/// A kill in progress: preStop, then the stop signal, then SIGKILL
/// (kuberuntime_container.go killContainer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stopping {
    pub reason: KillReason,
    pub requested_at: Timestamp,
    /// The grace budget at `requested_at`; preStop, waiting for the turn and the stop signal
    /// all come out of it.
    pub grace: Duration,
    /// `None`: no preStop to run (none in the spec, or no grace left).
    pub pre_stop: Option<HookState>,
    /// Part of a pod termination: sidecars wait for regular containers and later sidecars
    /// (kuberuntime_termination_order.go).
    pub ordered: bool,
    pub signal_sent_at: Option<Timestamp>,
    /// When SIGKILL is due (signal time + max(remaining grace, 2 s)).
    pub kill_at: Option<Timestamp>,
    pub force_killed: bool,
}

/// A running container instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningState {
    pub started_at: Timestamp,
    /// Ignored when the spec has no postStart hook.
    pub post_start: HookState,
    pub stopping: Option<Stopping>,
}

/// The state of the current (latest) instance of a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerState {
    /// No instance in this sandbox yet.
    Waiting,
    Running(RunningState),
    Terminated(Termination),
}

/// A failed attempt to create or start a container before its process ran
/// (`waiting.reason` CreateContainerConfigError, CreateContainerError, ErrImagePull,
/// ImagePullBackOff, RunContainerError...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartFailure {
    pub reason: String,
    pub message: String,
    pub at: Timestamp,
}

/// How long the plan waits before retrying a start that failed before the process ran
/// (the kubelet retries on its next sync; 10 s is its resync period).
pub const START_RETRY_INTERVAL: Duration = Duration::from_secs(10);

/// Everything known about one container of the pod spec.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedContainer {
    pub name: String,
    pub kind: ContainerKind,
    pub state: ContainerState,
    /// Restart count of the current/latest instance (0 for the first).
    pub restart_count: i32,
    /// The instance before the current one, if it terminated.
    pub last_termination: Option<Termination>,
    pub backoff: RestartBackoff,
    pub container_id: Option<String>,
    pub image_id: Option<String>,
    pub start_failure: Option<StartFailure>,
    /// The kubelet's message for the failed postStart hook of the latest instance
    /// (handlers.go Run); shown as `waiting.message` with PostStartHookError.
    #[serde(default)]
    pub post_start_error: Option<String>,
}

impl ObservedContainer {
    pub fn new(name: &str, kind: ContainerKind, policy: BackoffPolicy) -> ObservedContainer {
        ObservedContainer {
            name: name.to_string(),
            kind,
            state: ContainerState::Waiting,
            restart_count: 0,
            last_termination: None,
            backoff: RestartBackoff::new(policy),
            container_id: None,
            image_id: None,
            start_failure: None,
            post_start_error: None,
        }
    }

    pub fn running(&self) -> Option<&RunningState> {
        match &self.state {
            ContainerState::Running(r) => Some(r),
            _ => None,
        }
    }

    pub fn terminated(&self) -> Option<&Termination> {
        match &self.state {
            ContainerState::Terminated(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_running(&self) -> bool {
        self.running().is_some()
    }

    /// Restart count the next instance will carry (kuberuntime_container.go startContainer:
    /// previous restartCount + 1 when an instance exists).
    pub fn next_attempt(&self) -> i32 {
        match self.state {
            ContainerState::Waiting => self.restart_count,
            _ => self.restart_count + 1,
        }
    }
}

/// Everything the supervisor knows about a pod; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedPod {
    pub sandbox: SandboxState,
    /// In `spec.initContainers` order.
    pub init_containers: Vec<ObservedContainer>,
    /// In `spec.containers` order.
    pub containers: Vec<ObservedContainer>,
    pub termination: Option<PodTermination>,
    /// `status.startTime`: when the supervisor accepted the pod.
    pub start_time: Option<Timestamp>,
    pub pod_ip: Option<String>,
    pub host_ip: Option<String>,
    /// Latched by the supervisor when it executes `PodDone`: terminal phases never change.
    pub final_phase: Option<PodPhase>,
}

impl ObservedPod {
    /// A fresh pod: no sandbox, every container waiting.
    pub fn new(pod: &PodPlan, policy: BackoffPolicy) -> ObservedPod {
        let init = pod
            .init_containers
            .iter()
            .map(|i| ObservedContainer::new(&i.container.name, i.kind, policy))
            .collect();
        let regular = pod
            .containers
            .iter()
            .map(|c| ObservedContainer::new(&c.name, ContainerKind::Regular, policy))
            .collect();
        ObservedPod {
            sandbox: SandboxState::NotCreated,
            init_containers: init,
            containers: regular,
            termination: None,
            start_time: None,
            pod_ip: None,
            host_ip: None,
            final_phase: None,
        }
    }

    pub fn all(&self) -> impl Iterator<Item = &ObservedContainer> {
        self.init_containers.iter().chain(self.containers.iter())
    }

    pub fn container(&self, name: &str) -> Option<&ObservedContainer> {
        self.all().find(|c| c.name == name)
    }

    pub fn container_mut(&mut self, name: &str) -> Option<&mut ObservedContainer> {
        self.init_containers
            .iter_mut()
            .chain(self.containers.iter_mut())
            .find(|c| c.name == name)
    }

    pub fn any_running(&self) -> bool {
        self.all().any(|c| c.is_running())
    }

    /// A new instance of `name` started (after `StartContainer`). The previous termination
    /// becomes `last_termination`, the restart is recorded in the back-off history.
    /// Returns false when no such container exists.
    pub fn record_started(
        &mut self,
        name: &str,
        container_id: Option<String>,
        image_id: Option<String>,
        started_at: Timestamp,
    ) -> bool {
        let Some(c) = self.container_mut(name) else {
            return false;
        };
        let attempt = c.next_attempt();
        if let ContainerState::Terminated(t) =
            std::mem::replace(&mut c.state, ContainerState::Waiting)
        {
            c.backoff.record_restart(t.finished_at);
            c.last_termination = Some(t);
        }
        c.restart_count = attempt;
        c.container_id = container_id;
        if image_id.is_some() {
            c.image_id = image_id;
        }
        c.start_failure = None;
        c.post_start_error = None;
        c.state = ContainerState::Running(RunningState {
            started_at,
            post_start: HookState::Pending,
            stopping: None,
        });
        true
    }

    /// Creating or starting `name` failed before its process ran; the container stays in
    /// its previous state and the start is retried.
    pub fn record_start_failure(
        &mut self,
        name: &str,
        reason: &str,
        message: &str,
        at: Timestamp,
    ) -> bool {
        let Some(c) = self.container_mut(name) else {
            return false;
        };
        c.start_failure = Some(StartFailure {
            reason: reason.to_string(),
            message: message.to_string(),
            at,
        });
        true
    }

    /// The runtime created instance `name` but its process could not run (containerd:
    /// StartContainer failed, e.g. the executable does not exist). The instance counts as
    /// started and exited at once with 128 `StartError` (containerd
    /// internal/cri/server/container_start.go), so restartPolicy and back-off apply to it as
    /// to any crash. Returns false when no such container exists.
    pub fn record_start_error(
        &mut self,
        name: &str,
        container_id: Option<String>,
        message: &str,
        at: Timestamp,
    ) -> bool {
        if !self.record_started(name, container_id.clone(), None, at) {
            return false;
        }
        let Some(c) = self.container_mut(name) else {
            return false;
        };
        // No startedAt: the process never ran (containerd leaves it unset).
        c.state = ContainerState::Terminated(Termination {
            exit_code: START_ERROR_EXIT_CODE,
            reason: Some(START_ERROR_REASON.to_string()),
            message: Some(message.to_string()),
            started_at: None,
            finished_at: at,
            container_id,
            kill_reason: None,
        });
        true
    }

    /// The postStart hook of the running instance of `name` changed state.
    pub fn record_post_start(&mut self, name: &str, state: HookState) -> bool {
        match self.container_mut(name).map(|c| &mut c.state) {
            Some(ContainerState::Running(r)) => {
                r.post_start = state;
                true
            }
            _ => false,
        }
    }

    /// The postStart hook of the running instance of `name` failed with the kubelet's
    /// `message` (kept for the status once the container was killed for it).
    pub fn record_post_start_failure(&mut self, name: &str, message: &str) -> bool {
        if !self.record_post_start(name, HookState::Failed) {
            return false;
        }
        if let Some(c) = self.container_mut(name) {
            c.post_start_error = Some(message.to_string());
        }
        true
    }

    /// `KillContainer` was executed: the stop is recorded (preStop launched if `pre_stop`).
    pub fn record_kill(
        &mut self,
        name: &str,
        reason: KillReason,
        grace: Duration,
        pre_stop: bool,
        ordered: bool,
        now: Timestamp,
    ) -> bool {
        match self.container_mut(name).map(|c| &mut c.state) {
            Some(ContainerState::Running(r)) => {
                r.stopping = Some(Stopping {
                    reason,
                    requested_at: now,
                    grace,
                    pre_stop: pre_stop.then_some(HookState::Running),
                    ordered,
                    signal_sent_at: None,
                    kill_at: None,
                    force_killed: false,
                });
                true
            }
            _ => false,
        }
    }

    /// The preStop hook of `name` changed state.
    pub fn record_pre_stop(&mut self, name: &str, state: HookState) -> bool {
        match self.stopping_mut(name) {
            Some(s) => {
                s.pre_stop = Some(state);
                true
            }
            None => false,
        }
    }

    /// `StopContainer` was executed: the stop signal went out at `now`; SIGKILL is due at
    /// `now + timeout`.
    pub fn record_stop_signal(&mut self, name: &str, timeout: Duration, now: Timestamp) -> bool {
        match self.stopping_mut(name) {
            Some(s) => {
                s.signal_sent_at = Some(now);
                s.kill_at = Some(crate::time::add(now, timeout));
                true
            }
            None => false,
        }
    }

    /// `ForceKill` was executed.
    pub fn record_force_kill(&mut self, name: &str) -> bool {
        match self.stopping_mut(name) {
            Some(s) => {
                s.force_killed = true;
                true
            }
            None => false,
        }
    }

    /// The running instance of `name` exited. `termination.kill_reason` is filled in from
    /// the stop in progress, if any; `started_at` and `container_id` from the instance.
    pub fn record_exit(&mut self, name: &str, mut termination: Termination) -> bool {
        let Some(c) = self.container_mut(name) else {
            return false;
        };
        if let ContainerState::Running(r) = &c.state {
            if termination.kill_reason.is_none() {
                termination.kill_reason = r.stopping.as_ref().map(|s| s.reason);
            }
            if termination.started_at.is_none() {
                termination.started_at = Some(r.started_at);
            }
        }
        if termination.container_id.is_none() {
            termination.container_id = c.container_id.clone();
        }
        c.state = ContainerState::Terminated(termination);
        true
    }

    /// The pod is deleted (`minipod delete`, SIGTERM to the supervisor) with this grace.
    /// A second request only ever shortens the deadline (kubectl delete --grace-period=1
    /// after a default delete), and the kills already under way with it: their preStop wait
    /// ends by the new deadline and a stop signal already sent gets SIGKILL by then (at the
    /// earliest the minimal 2 s after it was sent). kubelet: pod_workers.go cancels a
    /// termination in progress when a shorter grace period arrives, and killContainer runs
    /// again with the shorter override.
    pub fn request_deletion(&mut self, grace: Duration, now: Timestamp) {
        let deadline = crate::time::add(now, grace);
        match &mut self.termination {
            Some(t) if crate::time::add(t.requested_at, t.grace) <= deadline => return,
            Some(t) => {
                t.requested_at = now;
                t.grace = grace;
                t.reason = PodTerminationReason::Deleted;
            }
            None => {
                self.termination = Some(PodTermination {
                    requested_at: now,
                    grace,
                    reason: PodTerminationReason::Deleted,
                })
            }
        }
        self.shorten_stops(grace, now);
    }

    /// Every kill in progress ends by `now + grace` at the latest (see [`request_deletion`]).
    fn shorten_stops(&mut self, grace: Duration, now: Timestamp) {
        let deadline = crate::time::add(now, grace);
        let stops = self
            .init_containers
            .iter_mut()
            .chain(self.containers.iter_mut())
            .filter_map(|c| match &mut c.state {
                ContainerState::Running(r) => r.stopping.as_mut(),
                _ => None,
            });
        for s in stops {
            if crate::time::add(s.requested_at, s.grace) > deadline {
                s.requested_at = now;
                s.grace = grace;
            }
            if let (Some(kill_at), Some(sent)) = (s.kill_at, s.signal_sent_at) {
                let earliest = crate::time::add(sent, crate::spec::MINIMUM_GRACE_PERIOD);
                s.kill_at = Some(kill_at.min(deadline.max(earliest)));
            }
        }
    }

    fn stopping_mut(&mut self, name: &str) -> Option<&mut Stopping> {
        match self.container_mut(name).map(|c| &mut c.state) {
            Some(ContainerState::Running(r)) => r.stopping.as_mut(),
            _ => None,
        }
    }
}

/// The three probe kinds of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

/// A probe worker's current verdict (after thresholds). "Not run yet" is the absence of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProbeResult {
    Success,
    Failure,
}

/// Probe verdicts per container instance (the kubelet's results managers, passed in rather
/// than read by the plan). A verdict recorded for an older instance (another restart count)
/// is ignored, so a restarted container never inherits its predecessor's results.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeResults {
    entries: BTreeMap<String, InstanceProbes>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct InstanceProbes {
    attempt: i32,
    results: BTreeMap<ProbeKind, ProbeResult>,
}

impl ProbeResults {
    pub fn new() -> ProbeResults {
        ProbeResults::default()
    }

    /// Record the verdict of `kind` for instance `attempt` (its restart count) of `name`.
    pub fn set(&mut self, name: &str, attempt: i32, kind: ProbeKind, result: ProbeResult) {
        let e = self.entries.entry(name.to_string()).or_default();
        if e.attempt != attempt {
            e.attempt = attempt;
            e.results.clear();
        }
        e.results.insert(kind, result);
    }

    /// Builder form of [`ProbeResults::set`].
    pub fn with(mut self, name: &str, attempt: i32, kind: ProbeKind, result: ProbeResult) -> Self {
        self.set(name, attempt, kind, result);
        self
    }

    pub fn get(&self, name: &str, attempt: i32, kind: ProbeKind) -> Option<ProbeResult> {
        let e = self.entries.get(name)?;
        if e.attempt != attempt {
            return None;
        }
        e.results.get(&kind).copied()
    }

    pub fn clear(&mut self, name: &str) {
        self.entries.remove(name);
    }
}

#[cfg(test)]
mod tests;
