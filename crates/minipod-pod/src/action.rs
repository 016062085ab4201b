//! What the plan asks the supervisor to do: the [`Action`]s of one pass ([`PodActions`]),
//! where initialization stands ([`InitStep`]) and why a pass waits ([`WaitReason`]); and how
//! an executed action is recorded in the [`ObservedPod`] ([`ObservedPod::record_action`]).
//!
//! Module order of the pure core, none importing one after it: `spec` → `observed` →
//! `action` → `container_status` → `phase` → `plan` / `status`.

use std::time::Duration;

use crate::observed::{
    HookState, KillReason, ObservedPod, PodTermination, PodTerminationReason, SandboxState,
};
use crate::spec::{ContainerKind, PodPhase};
use crate::time::Timestamp;

/// Where initialization stands (the kubelet's "next init container to start").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitStep {
    /// No init containers, or every regular init container exited 0 and every sidecar
    /// started (or a regular container already ran: init containers never re-run then).
    Done,
    /// Init container `i` is to be started now (first run or restart).
    Start(usize),
    /// Init container `i` must be (re)started, but not before `until` (crash-loop back-off,
    /// or the retry of a start that failed before the process ran).
    BackOff { index: usize, until: Timestamp },
    /// Waiting for init container `i`: running to completion, or a sidecar not yet started
    /// (postStart or startupProbe pending), or being restarted.
    WaitFor(usize),
    /// Regular init container `i` failed and restartPolicy is Never: the pod fails.
    Failed(usize),
}

/// Why the plan wants to be called again at a given time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// Crash-loop back-off of a container (`waiting.reason=CrashLoopBackOff`, event BackOff).
    BackOff { name: String, delay: Duration },
    /// A start failed before the process ran; retry then.
    StartRetry { name: String },
    /// preStop of `name` may run until its grace budget ends.
    PreStop { name: String },
    /// Sidecar `name` waits for regular containers and later sidecars to stop, at most
    /// until its grace budget ends.
    TerminationOrder { name: String },
    /// SIGKILL is due for `name`.
    KillDeadline { name: String },
    /// `spec.activeDeadlineSeconds` runs out.
    ActiveDeadline,
}

/// One step for the supervisor; see the module docs for how to execute each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create the pod sandbox (namespaces, volumes, /etc/hosts).
    CreateSandbox,
    /// Create and start a container instance with restart count `attempt`.
    StartContainer {
        name: String,
        kind: ContainerKind,
        /// Index in `spec.initContainers` or `spec.containers` (per `kind`).
        index: usize,
        attempt: i32,
    },
    /// Run the postStart hook of the running instance of `name`. Nothing else starts until
    /// it returns (kubelet: startContainer runs it synchronously).
    RunPostStart { name: String },
    /// Begin killing `name`: event `Killing` with `message`, preStop if `run_pre_stop`.
    KillContainer {
        name: String,
        kind: ContainerKind,
        reason: KillReason,
        message: String,
        /// The grace budget from now.
        grace: Duration,
        run_pre_stop: bool,
        /// Part of pod termination: sidecars are stopped after regular containers.
        ordered: bool,
    },
    /// Send the stop signal (`signal`, else the image's STOPSIGNAL, else SIGTERM); SIGKILL
    /// is due `timeout` later.
    StopContainer {
        name: String,
        signal: Option<String>,
        timeout: Duration,
    },
    /// SIGKILL `name`: its stop timeout ran out.
    ForceKill { name: String },
    /// Start terminating the whole pod (kubelet `KillPod`) with this grace budget.
    TerminatePod {
        reason: PodTerminationReason,
        grace: Duration,
    },
    /// Nothing to do for this until `at` (unless an event comes first).
    WaitUntil { at: Timestamp, reason: WaitReason },
    /// Every container has stopped; the pod ends in `phase`.
    PodDone { phase: PodPhase },
}

/// The plan of one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodActions {
    pub init: InitStep,
    /// Steps to execute now, in order.
    pub actions: Vec<Action>,
}

impl PodActions {
    /// The earliest `WaitUntil` time: when to call the plan again if no event comes first.
    pub fn wake_at(&self) -> Option<Timestamp> {
        self.actions
            .iter()
            .filter_map(|a| match a {
                Action::WaitUntil { at, .. } => Some(*at),
                _ => None,
            })
            .min()
    }

    /// True when nothing is to be done now (only waits, or nothing at all).
    pub fn is_idle(&self) -> bool {
        self.actions
            .iter()
            .all(|a| matches!(a, Action::WaitUntil { .. }))
    }

    /// The pod's final phase, when this plan ends the pod.
    pub fn done(&self) -> Option<PodPhase> {
        self.actions.iter().find_map(|a| match a {
            Action::PodDone { phase } => Some(*phase),
            _ => None,
        })
    }
}

impl ObservedPod {
    /// Record the effect of an action that succeeded, for the actions whose bookkeeping
    /// does not depend on what the runtime returned. `StartContainer` needs
    /// [`ObservedPod::record_started`] (container id) and `WaitUntil` records nothing: both
    /// return false here.
    pub fn record_action(&mut self, action: &Action, now: Timestamp) -> bool {
        match action {
            Action::CreateSandbox => {
                self.sandbox = SandboxState::Ready;
                true
            }
            Action::RunPostStart { name } => self.record_post_start(name, HookState::Running),
            Action::KillContainer {
                name,
                reason,
                grace,
                run_pre_stop,
                ordered,
                ..
            } => self.record_kill(name, *reason, *grace, *run_pre_stop, *ordered, now),
            Action::StopContainer { name, timeout, .. } => {
                self.record_stop_signal(name, *timeout, now)
            }
            Action::ForceKill { name } => self.record_force_kill(name),
            Action::TerminatePod { reason, grace } => {
                if self.termination.is_none() {
                    self.termination = Some(PodTermination {
                        requested_at: now,
                        grace: *grace,
                        reason: *reason,
                    });
                }
                true
            }
            Action::PodDone { phase } => {
                self.final_phase = Some(*phase);
                true
            }
            Action::StartContainer { .. } | Action::WaitUntil { .. } => false,
        }
    }
}
