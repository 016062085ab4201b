//! Step 4 of a pass: the plan's actions performed in order, each outcome recorded in one
//! place, as the kubelet's SyncPod collects a `SyncResult` per action into a
//! `PodSyncResult` (pkg/kubelet/container/sync_result.go). [`Supervisor::perform`] talks to
//! the backend; [`Supervisor::record`] is where every outcome reaches the observed pod and
//! the events.

use minipod_runtime::logs::CriLogWriter;
use nix::sys::signal::Signal;

use super::{
    parse_signal, remove_old_attempt_logs, BackendError, Hook, PodBackend, StartError, Supervisor,
    Watched,
};
use crate::action::{Action, WaitReason};
use crate::events::{self, PodEvent};
use crate::spec::PodPhase;
use crate::time::Timestamp;

/// Why an action failed; it ends the pass (the next pass retries, as the kubelet does).
/// The variants keep the kubelet's step: `FailedCreatePodSandBox`, or the container's
/// start error with its `waiting.reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    #[error("Failed to create pod sandbox: {0}")]
    CreatePodSandbox(BackendError),
    #[error("start container {name:?}: {error}")]
    StartContainer { name: String, error: StartError },
}

/// What performing an action gave, for [`Supervisor::record`].
pub(super) enum Performed {
    /// Nothing beyond the action itself.
    Done,
    /// The sandbox exists; its IP, if it has one.
    Sandbox { pod_ip: Option<String> },
    /// A container instance runs.
    Started {
        container_id: String,
        image_id: Option<String>,
    },
}

/// The outcome of one pass (kubelet PodSyncResult): the phase the pod ended in, if an action
/// ended it, and the failure that ended the pass early, if any.
#[derive(Debug, Default)]
pub(super) struct PodSyncResult {
    pub(super) done: Option<PodPhase>,
    pub(super) error: Option<SyncError>,
}

impl<B: PodBackend> Supervisor<B> {
    /// Performs `actions` in order, recording each outcome; stops at the first failure.
    pub(super) fn sync(&mut self, actions: &[Action], now: Timestamp) -> PodSyncResult {
        let mut result = PodSyncResult::default();
        for action in actions {
            self.report_action(action, now);
            let outcome = self.perform(action);
            match self.record(action, outcome, now) {
                Ok(()) => {}
                Err(e) => {
                    log::debug!("pod {}: {e}", self.uid);
                    result.error = Some(e);
                    break;
                }
            }
            // After the record: a hook that finishes at once must find its state Running.
            match action {
                Action::RunPostStart { name } => self.launch_hook(name, Hook::PostStart, now),
                Action::KillContainer {
                    name,
                    run_pre_stop: true,
                    ..
                } => self.launch_hook(name, Hook::PreStop, now),
                Action::PodDone { phase } => result.done = Some(*phase),
                _ => {}
            }
        }
        result
    }

    /// The event the kubelet records when it performs `action`, if any (a back-off, planned
    /// again on every pass while it lasts, is reported once).
    fn report_action(&mut self, action: &Action, now: Timestamp) {
        let Some(ev) = events::for_action(&self.pod, action) else {
            return;
        };
        let repeat = match action {
            Action::WaitUntil {
                at,
                reason: WaitReason::BackOff { name, .. },
            } => self.backoff_reported.insert(name.clone(), *at) == Some(*at),
            _ => false,
        };
        if !repeat {
            self.report(ev, now);
        }
    }

    /// The backend side of an action.
    pub(super) fn perform(&mut self, action: &Action) -> Result<Performed, SyncError> {
        match action {
            Action::CreateSandbox => match self.backend.create_sandbox() {
                Ok(pod_ip) => Ok(Performed::Sandbox { pod_ip }),
                Err(e) => Err(SyncError::CreatePodSandbox(e)),
            },
            Action::StartContainer {
                name,
                kind,
                index,
                attempt,
            } => {
                let started = self
                    .backend
                    .start_container(name, *kind, *index, *attempt)
                    .map_err(|error| SyncError::StartContainer {
                        name: name.clone(),
                        error,
                    })?;
                let token = self.token(Watched::Container(name.to_owned()));
                let log_dir = self.pod_dir().join("logs").join(name);
                let log_path = log_dir.join(format!("{attempt}.log"));
                remove_old_attempt_logs(&log_dir, *attempt);
                match CriLogWriter::create(&log_path) {
                    Ok(w) => {
                        self.logs
                            .insert(name.to_owned(), w.with_rotation(self.log_policy));
                    }
                    Err(e) => log::warn!("open log {}: {e}", log_path.display()),
                }
                self.watch_process(token, started.process);
                match started.stop_signal {
                    Some(sig) => self.stop_signals.insert(name.to_owned(), sig),
                    None => self.stop_signals.remove(name),
                };
                Ok(Performed::Started {
                    container_id: started.container_id,
                    image_id: started.image_id,
                })
            }
            Action::StopContainer { name, signal, .. } => {
                let sig = signal
                    .clone()
                    .or_else(|| self.stop_signals.get(name).cloned())
                    .as_deref()
                    .and_then(parse_signal)
                    .unwrap_or(Signal::SIGTERM);
                // The exit (or the SIGKILL deadline) follows whatever happened here.
                if let Err(e) = self.backend.signal(name, sig) {
                    log::warn!("stop container {name:?}: {e}");
                }
                Ok(Performed::Done)
            }
            Action::ForceKill { name } => {
                if let Err(e) = self.backend.signal(name, Signal::SIGKILL) {
                    log::warn!("kill container {name:?}: {e}");
                }
                Ok(Performed::Done)
            }
            Action::RunPostStart { .. }
            | Action::KillContainer { .. }
            | Action::TerminatePod { .. }
            | Action::WaitUntil { .. }
            | Action::PodDone { .. } => Ok(Performed::Done),
        }
    }

    /// The one place an action's outcome is recorded: the observed pod and the events.
    /// Returns the failure, which ends the pass.
    pub(super) fn record(
        &mut self,
        action: &Action,
        outcome: Result<Performed, SyncError>,
        now: Timestamp,
    ) -> Result<(), SyncError> {
        match outcome {
            Ok(Performed::Sandbox { pod_ip }) => {
                self.observed.pod_ip = pod_ip;
                self.observed.record_action(action, now);
            }
            Ok(Performed::Started {
                container_id,
                image_id,
            }) => {
                if let Action::StartContainer { name, kind, .. } = action {
                    self.observed
                        .record_started(name, Some(container_id), image_id, now);
                    self.report(events::created(*kind, name), now);
                    self.report(events::started(*kind, name), now);
                }
            }
            Ok(Performed::Done) => {
                self.observed.record_action(action, now);
            }
            Err(e) => {
                match &e {
                    SyncError::CreatePodSandbox(_) => self.report(
                        PodEvent {
                            type_: events::EventType::Warning,
                            reason: "FailedCreatePodSandBox",
                            message: e.to_string(),
                            field_path: None,
                        },
                        now,
                    ),
                    SyncError::StartContainer { name, error } => {
                        let kind = match action {
                            Action::StartContainer { kind, .. } => *kind,
                            _ => self.kind_of(name),
                        };
                        match error.container_id() {
                            // kubelet startContainer: the container was created (event
                            // Created), StartContainer failed (event Failed); the runtime
                            // reports it exited.
                            Some(id) => {
                                self.report(events::created(kind, name), now);
                                self.report(events::failed(kind, name, error.message()), now);
                                self.observed.record_start_error(
                                    name,
                                    Some(id.to_owned()),
                                    error.message(),
                                    now,
                                );
                            }
                            None => {
                                self.report(events::failed(kind, name, error.message()), now);
                                self.observed.record_start_failure(
                                    name,
                                    error.reason(),
                                    error.message(),
                                    now,
                                );
                            }
                        }
                    }
                }
                return Err(e);
            }
        }
        Ok(())
    }
}
