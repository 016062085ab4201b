//! The per-pod supervisor: the one process that performs a pod's plan.
//!
//! It is level-triggered like the kubelet's `SyncPod`. Each pass (the `// Step N` comments
//! of [`Supervisor::run`]):
//!
//! 1. publish: build the `PodStatus` (pure) from what was observed and, when it changed,
//!    write it atomically, before planning on it;
//! 2. probes: run the probes that are due (`probes.rs`), like the kubelet's prober workers;
//! 3. plan: `compute_pod_actions(plan, observed, probes, now)` (pure), logged once;
//! 4. execute the actions in order through a [`PodBackend`] (`sync.rs`): each outcome is
//!    recorded in one place, in the [`ObservedPod`] and the events, like the kubelet's
//!    `SyncResult`; the first failure ends the pass (the next pass retries, as the kubelet
//!    does);
//! 5. wait in one `poll(2)` for a process exit, container output, a signal or the plan's next
//!    deadline, and record what happened.
//!
//! Everything reads the pod's one typed view, the [`PodPlan`] stored when it was accepted.
//! The backend is a trait (`backend.rs`) so that the whole loop runs in tests with plain
//! processes instead of containers; the real one is [`containers::ContainerBackend`].

mod backend;
pub mod containers;
mod hooks;
pub mod launch;
mod probes;
pub mod reactor;
mod sync;

pub use backend::{
    BackendError, ExitDetails, Hook, HookLaunch, PodBackend, StartError, StartedContainer,
    StartedProcess,
};
use hooks::{HookRun, MAX_HOOK_OUTPUT};
pub use sync::SyncError;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use minipod_runtime::logs::{CriLogWriter, LogStream, RotationPolicy};
use nix::sys::signal::Signal;

use crate::admit;
use crate::backoff::BackoffPolicy;
use crate::events::{self, PodEvent};
use crate::observed::{ObservedPod, ProbeKind, ProbeResult, ProbeResults, Termination};
use crate::plan::compute_pod_actions;
use crate::probe::ProbeWorker;
use crate::spec::{self, PodPhase};
use crate::status::build_pod_status;
use crate::store::{PodStore, StatusMeta, StoreError};
use crate::time::{k8s_time, since, Timestamp};
use minipod_manifest::{ContainerPlan, Handler, PodPlan, TerminationMessagePolicy};
use reactor::{Event as LoopEvent, ExitStatus, Reactor, ReactorError, Stream, Token};

/// What a token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Watched {
    Container(String),
    Hook(String, Hook),
}

/// How a supervisor run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Finished(PodPhase),
}

#[derive(Debug, thiserror::Error)]
pub enum SuperviseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reactor(#[from] ReactorError),
    #[error("pod {uid} not found in the store")]
    NotFound { uid: String },
}

/// How the supervisor is told to delete the pod: `minipod delete` writes this file in the
/// pod directory, then sends SIGTERM.
pub const DELETION_REQUEST_FILE: &str = "deletion.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeletionRequest {
    /// `--grace-period`; `None` = the pod's terminationGracePeriodSeconds.
    pub grace_period_seconds: Option<i64>,
}

pub struct Supervisor<B: PodBackend> {
    store: PodStore,
    uid: String,
    /// The typed view of the accepted pod, loaded once (`plan.json`).
    pod: PodPlan,
    backend: B,
    reactor: Reactor,
    observed: ObservedPod,
    probes: ProbeResults,
    /// What each token stands for, and how many of its sources (the process, each pipe)
    /// have not reported their end yet; forgotten at zero.
    tokens: BTreeMap<Token, (Watched, usize)>,
    next_token: Token,
    hooks: BTreeMap<(String, Hook), HookRun>,
    logs: BTreeMap<String, CriLogWriter>,
    /// containerLogMaxSize / containerLogMaxFiles, from the environment.
    log_policy: RotationPolicy,
    last_status: Option<PodStatus>,
    /// The metadata written with `last_status` (a deletion request alone is a change too:
    /// `get -w` shows Terminating from that write on).
    last_meta: StatusMeta,
    status_meta: StatusMeta,
    /// Back-off events are recorded once per back-off period, not on every pass.
    backoff_reported: BTreeMap<String, Timestamp>,
    /// Each container's image STOPSIGNAL, used when the spec names none.
    stop_signals: BTreeMap<String, String>,
    /// One worker per container and probe kind (the kubelet's prober workers).
    probe_workers: Vec<ProbeWorker>,
    /// Probe runs in flight, with the deadline of their `timeoutSeconds`.
    probe_runs: BTreeMap<(String, ProbeKind), Instant>,
    /// When the next probe is due, as of the last pass.
    probe_wake: Option<Timestamp>,
}

/// How soon a pass whose action failed is retried when nothing else happens first.
const FAILED_PASS_RETRY: Duration = Duration::from_secs(1);

impl<B: PodBackend> Supervisor<B> {
    /// Takes the pod's plan, reads its last status from the store and blocks SIGTERM/SIGINT
    /// (they become deletion requests).
    pub fn new(
        store: PodStore,
        pod: PodPlan,
        backend: B,
        backoff: BackoffPolicy,
    ) -> Result<Self, SuperviseError> {
        let uid = pod.uid.clone();
        let record = store
            .load(&uid)?
            .ok_or_else(|| SuperviseError::NotFound { uid: uid.clone() })?;
        let last_status = record.pod.status;
        let reactor = Reactor::new(&[Signal::SIGTERM, Signal::SIGINT])?;
        let observed = ObservedPod::new(&pod, backoff);
        let probe_workers = pod
            .all_containers()
            .map(|(_, c)| c)
            .flat_map(|c| {
                [
                    (ProbeKind::Startup, c.startup_probe.as_ref()),
                    (ProbeKind::Liveness, c.liveness_probe.as_ref()),
                    (ProbeKind::Readiness, c.readiness_probe.as_ref()),
                ]
                .into_iter()
                .filter_map(|(kind, p)| p.map(|p| ProbeWorker::new(&c.name, kind, p)))
            })
            .collect();
        Ok(Supervisor {
            store,
            uid,
            pod,
            backend,
            reactor,
            observed,
            probes: ProbeResults::new(),
            tokens: BTreeMap::new(),
            next_token: 1,
            hooks: BTreeMap::new(),
            logs: BTreeMap::new(),
            log_policy: RotationPolicy::from_env().unwrap_or_else(|e| {
                log::warn!("{e}; using the kubelet's defaults (10Mi, 5 files)");
                RotationPolicy::default()
            }),
            last_status,
            last_meta: StatusMeta::default(),
            status_meta: StatusMeta::default(),
            backoff_reported: BTreeMap::new(),
            stop_signals: BTreeMap::new(),
            probe_workers,
            probe_runs: BTreeMap::new(),
            probe_wake: None,
        })
    }

    fn pod_dir(&self) -> PathBuf {
        self.store.pod_dir(&self.uid)
    }

    /// Runs the pod to its end.
    pub fn run(mut self) -> Result<Outcome, SuperviseError> {
        let now = Timestamp::now();
        self.observed.start_time = Some(now);
        self.observed.host_ip = self.backend.host_ip();
        let node = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".into());
        self.report(events::scheduled(&self.pod.pod, &node), now);
        // kubelet canAdmitPod: a pod the node refuses never gets a sandbox.
        let allowed = std::env::var(admit::ALLOWED_UNSAFE_SYSCTLS_ENV)
            .map(|v| admit::parse_allowed(&v))
            .unwrap_or_default();
        if let Some(Err(rejection)) = self
            .pod
            .pod
            .spec
            .as_ref()
            .map(|s| admit::admit(s, &allowed))
        {
            return self.reject(rejection, now);
        }
        loop {
            let now = Timestamp::now();
            // Step 1: publish what was observed before acting on it, as the kubelet's sync
            // does (generateAPIPodStatus, then SyncPod): a watcher sees `PodInitializing`
            // between the last init container's exit and the app containers' start.
            self.publish(now)?;
            // Step 2: probes run beside the plan, like the kubelet's prober workers; their
            // verdicts are inputs of the plan and the status.
            self.tick_probes(now);
            // Step 3: plan.
            let plan = compute_pod_actions(&self.pod, &self.observed, &self.probes, now);
            log::debug!("pod {}: plan {:?}", self.uid, plan.actions);
            // Step 4: execute, stopping at the first failure.
            let result = self.sync(&plan.actions, now);
            if let Some(phase) = result.done {
                self.finish(phase)?;
                return Ok(Outcome::Finished(phase));
            }
            let failed = result.error.is_some();
            // Step 5: wait for something to happen. A pass that acted plans again at once
            // (level-triggered: its effects may enable the next step); one that failed waits a
            // little so that a persistent failure does not spin.
            let deadline = if failed {
                let retry = Instant::now() + FAILED_PASS_RETRY;
                Some(
                    self.next_deadline(plan.wake_at())
                        .map_or(retry, |d| d.min(retry)),
                )
            } else if plan.is_idle() {
                self.next_deadline(plan.wake_at())
            } else {
                Some(Instant::now())
            };
            let events = self.reactor.wait(deadline)?;
            self.expire_sleep_hooks();
            self.expire_probe_runs();
            for ev in events {
                self.observe(ev)?;
            }
        }
    }

    fn container_spec(&self, name: &str) -> Option<ContainerPlan> {
        self.pod.container(name).cloned()
    }

    fn watch_process(&mut self, token: Token, p: StartedProcess) {
        let mut sources = 0;
        match self.reactor.watch_pid(token, p.pid, !p.backend_reaps) {
            Ok(()) => sources += 1,
            // Without a pidfd nothing would ever report this exit; the process is gone or
            // pidfds are unavailable, and the pass that started it will see it as lost.
            Err(e) => log::warn!("{e}"),
        }
        for (fd, stream) in [(p.stdout, Stream::Stdout), (p.stderr, Stream::Stderr)] {
            if let Some(fd) = fd {
                match self.reactor.watch_output(token, stream, fd) {
                    Ok(()) => sources += 1,
                    Err(e) => log::warn!("watch output: {e}"),
                }
            }
        }
        if let Some(entry) = self.tokens.get_mut(&token) {
            entry.1 = sources;
        }
    }

    fn token(&mut self, what: Watched) -> Token {
        let t = self.next_token;
        self.next_token += 1;
        self.tokens.insert(t, (what, 0));
        t
    }

    fn watched(&self, token: Token) -> Option<Watched> {
        self.tokens.get(&token).map(|(w, _)| w.clone())
    }

    /// Step 5's bookkeeping: record one event from the loop.
    fn observe(&mut self, ev: LoopEvent) -> Result<(), SuperviseError> {
        let now = Timestamp::now();
        match ev {
            LoopEvent::Signal(_) => self.request_deletion(now),
            LoopEvent::Output {
                token,
                stream,
                bytes,
            } => match self.watched(token) {
                Some(Watched::Container(name)) => {
                    if let Some(w) = self.logs.get_mut(&name) {
                        if let Err(e) = w.write(log_stream(stream), &bytes) {
                            log::warn!("write log of {name:?}: {e}");
                        }
                    }
                }
                Some(Watched::Hook(name, hook)) => {
                    if let Some(run) = self.hooks.get_mut(&(name, hook)) {
                        let room = MAX_HOOK_OUTPUT.saturating_sub(run.output.len());
                        run.output.extend(bytes.iter().take(room));
                    }
                }
                None => {}
            },
            LoopEvent::OutputClosed { token, stream } => {
                if let Some(Watched::Container(name)) = self.watched(token) {
                    if let Some(w) = self.logs.get_mut(&name) {
                        let _ = w.finish_stream(log_stream(stream));
                    }
                }
                self.source_ended(token);
            }
            LoopEvent::Exited { token, status } => {
                match self.watched(token) {
                    Some(Watched::Container(name)) => self.container_exited(&name, status, now),
                    Some(Watched::Hook(name, Hook::Probe(kind))) => {
                        self.backend.handler_exited(&name, Hook::Probe(kind));
                        let output = self
                            .hooks
                            .remove(&(name.clone(), Hook::Probe(kind)))
                            .map(|h| String::from_utf8_lossy(&h.output).trim().to_owned())
                            .unwrap_or_default();
                        // A run already judged by its timeout is not judged again.
                        if self.probe_runs.remove(&(name.clone(), kind)).is_some() {
                            let outcome = match status {
                                ExitStatus::Exited(0) => ProbeResult::Success,
                                _ => ProbeResult::Failure,
                            };
                            self.probe_result(&name, kind, outcome, &output, now);
                        }
                    }
                    Some(Watched::Hook(name, hook)) => {
                        self.backend.handler_exited(&name, hook);
                        let result = match status {
                            ExitStatus::Exited(0) => Ok(()),
                            other => Err(format!("command exited with {}", other.code())),
                        };
                        self.hook_finished(&name, hook, result, now);
                    }
                    None => {}
                }
                self.source_ended(token);
            }
        }
        Ok(())
    }

    fn source_ended(&mut self, token: Token) {
        if let Some(entry) = self.tokens.get_mut(&token) {
            entry.1 = entry.1.saturating_sub(1);
            if entry.1 == 0 {
                self.tokens.remove(&token);
            }
        }
    }

    fn container_exited(&mut self, name: &str, status: ExitStatus, now: Timestamp) {
        let details = self.backend.container_exited(name);
        let mut termination = Termination::exited(status.code(), details.oom_killed, now);
        termination.message = details.message.filter(|m| !m.is_empty());
        // kubelet: toKubeContainerStatus — FallbackToLogsOnError takes the end of the log
        // when the container failed without writing its termination message file.
        let fallback = self.pod.container(name).is_some_and(|c| {
            c.termination_message_policy == TerminationMessagePolicy::FallbackToLogsOnError
        });
        if termination.message.is_none() && fallback && status.code() != 0 {
            let attempt = self
                .observed
                .container(name)
                .map(|c| c.restart_count)
                .unwrap_or(0);
            let path = self
                .pod_dir()
                .join("logs")
                .join(name)
                .join(format!("{attempt}.log"));
            // Read backwards from the end (across a rotation), never the whole log.
            termination.message = minipod_runtime::logs::log_files(&path)
                .and_then(|files| minipod_runtime::logs::tail_log(&files, TERMINATION_LOG_LINES))
                .ok()
                .map(|log| log_tail_message(&log))
                .filter(|m| !m.is_empty());
        }
        self.observed.record_exit(name, termination);
        for hook in [Hook::PostStart, Hook::PreStop] {
            let Some(run) = self.hooks.get(&(name.to_owned(), hook)) else {
                continue;
            };
            if matches!(run.handler, Handler::Exec { .. }) {
                // An exec hook ran in the dead container's namespaces: it died with it.
                self.hook_finished(name, hook, Err("container exited".into()), now);
            } else {
                self.abandon_hook(name, hook);
            }
        }
    }

    /// SIGTERM/SIGINT: begin (or shorten) the pod's termination.
    fn request_deletion(&mut self, now: Timestamp) {
        let request: Option<DeletionRequest> =
            std::fs::read(self.pod_dir().join(DELETION_REQUEST_FILE))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
        let grace = request
            .and_then(|r| r.grace_period_seconds)
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or_else(|| spec::pod_grace_period(&self.pod));
        self.observed.request_deletion(grace, now);
        if let Some(t) = &self.observed.termination {
            self.status_meta.deletion_timestamp = Some(k8s_time(t.requested_at));
            self.status_meta.deletion_grace_period_seconds = Some(t.grace.as_secs() as i64);
        }
    }

    /// When the loop must wake up on its own: the plan's deadline or a sleeping hook.
    fn next_deadline(&self, wake_at: Option<Timestamp>) -> Option<Instant> {
        // Wall-clock plan times become monotonic deadlines (1 ms late, never early).
        let instant_at = |at: Timestamp| {
            let left = since(at, Timestamp::now()).saturating_add(Duration::from_millis(1));
            crate::time::deadline_after(Instant::now(), left)
        };
        let from_plan = wake_at.map(instant_at);
        let from_probes = self.probe_wake.map(instant_at);
        let times = [
            from_plan,
            self.hooks.values().filter_map(|h| h.sleep_until).min(),
            from_probes,
            self.probe_runs.values().min().copied(),
        ];
        times.into_iter().flatten().min()
    }

    /// Step 1: write the status when it changed.
    fn publish(&mut self, now: Timestamp) -> Result<(), SuperviseError> {
        let status = build_pod_status(
            &self.pod,
            &self.observed,
            &self.probes,
            self.last_status.as_ref(),
            now,
        );
        if self.last_status.as_ref() != Some(&status) || self.last_meta != self.status_meta {
            self.store
                .write_status(&self.uid, &status, &self.status_meta)?;
            self.last_status = Some(status);
            self.last_meta = self.status_meta.clone();
        }
        Ok(())
    }

    /// kubelet rejectPod: a Warning event with the handler's reason, and a status holding
    /// only the phase (Failed), that reason, "Pod was rejected: MESSAGE" and the QoS class.
    fn reject(
        &mut self,
        rejection: admit::Rejection,
        now: Timestamp,
    ) -> Result<Outcome, SuperviseError> {
        log::info!("pod {} rejected: {}", self.uid, rejection.message);
        self.report(
            PodEvent {
                type_: events::EventType::Warning,
                reason: rejection.reason,
                message: rejection.message.clone(),
                field_path: None,
            },
            now,
        );
        let built = build_pod_status(&self.pod, &self.observed, &self.probes, None, now);
        let status = PodStatus {
            phase: Some(PodPhase::Failed.as_str().to_string()),
            reason: Some(rejection.reason.to_string()),
            message: Some(format!("Pod was rejected: {}", rejection.message)),
            qos_class: built.qos_class,
            ..PodStatus::default()
        };
        self.store
            .write_status(&self.uid, &status, &self.status_meta)?;
        self.last_status = Some(status);
        Ok(Outcome::Finished(PodPhase::Failed))
    }

    fn finish(&mut self, phase: PodPhase) -> Result<(), SuperviseError> {
        for (_, w) in std::mem::take(&mut self.logs) {
            let _ = w.finish();
        }
        if let Err(e) = self.backend.teardown() {
            log::warn!("tear down pod {}: {e}", self.uid);
        }
        log::info!("pod {} finished: {}", self.uid, phase.as_str());
        self.publish(Timestamp::now())
    }

    /// Appends an event as the kubelet reports one: source kubelet (the scheduler for
    /// `Scheduled`), involvedObject the pod, fieldPath naming the container.
    fn report(&self, ev: PodEvent, now: Timestamp) {
        let m = &self.pod.pod.metadata;
        let component = if ev.reason == "Scheduled" {
            "default-scheduler"
        } else {
            "kubelet"
        };
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!(
                    "{}.{:x}",
                    m.name.as_deref().unwrap_or_default(),
                    now.as_nanosecond()
                )),
                namespace: m.namespace.clone(),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: m.name.clone(),
                namespace: m.namespace.clone(),
                uid: m.uid.clone(),
                field_path: ev.field_path,
                ..Default::default()
            },
            reason: Some(ev.reason.into()),
            message: Some(ev.message),
            type_: Some(ev.type_.as_str().into()),
            count: Some(1),
            first_timestamp: Some(k8s_time(now)),
            last_timestamp: Some(k8s_time(now)),
            source: Some(EventSource {
                component: Some(component.into()),
                host: None,
            }),
            ..Default::default()
        };
        if let Err(e) = self.store.append_event(&self.uid, &event) {
            log::warn!("record event {}: {e}", ev.reason);
        }
    }
}

fn log_stream(s: Stream) -> LogStream {
    match s {
        Stream::Stdout => LogStream::Stdout,
        Stream::Stderr => LogStream::Stderr,
    }
}

/// Removes the log files of the container's attempts before `attempt - 1`: only the current
/// and the previous run are kept (what `logs -p` reads), as the kubelet's container GC
/// (kuberuntime_gc.go) removes dead containers and their logs beyond that.
fn remove_old_attempt_logs(dir: &Path, attempt: i32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // `<n>.log`, `<n>.log.<stamp>`, `<n>.log.<stamp>.gz`.
        let Some(n) = name
            .split_once(".log")
            .and_then(|(n, _)| n.parse::<i64>().ok())
        else {
            continue;
        };
        if n < i64::from(attempt) - 1 {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                log::warn!("remove old log {}: {e}", entry.path().display());
            }
        }
    }
}

/// kubelet: MaxContainerTerminationMessageLogLines / MaxContainerTerminationMessageLogLength.
const TERMINATION_LOG_LINES: usize = 80;
const TERMINATION_LOG_BYTES: usize = 2 * 1024;

/// The termination message taken from a CRI log file (kubelet
/// readLastStringFromContainerLogs): the text of its last 80 lines, both streams in the
/// order written, at most the last 2 KiB.
fn log_tail_message(log: &[u8]) -> String {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut partial: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for record in log
        .split(|&b| b == b'\n')
        .filter_map(minipod_runtime::logs::parse_record)
    {
        let cur = &mut partial[usize::from(record.stream == LogStream::Stderr)];
        cur.extend_from_slice(&record.text);
        if record.tag == minipod_runtime::logs::LogTag::Full {
            let mut line = std::mem::take(cur);
            line.push(b'\n');
            lines.push(line);
        }
    }
    let start = lines.len().saturating_sub(TERMINATION_LOG_LINES);
    let text: Vec<u8> = lines[start..].concat();
    let tail = &text[text.len().saturating_sub(TERMINATION_LOG_BYTES)..];
    String::from_utf8_lossy(tail).into_owned()
}

/// `SIGTERM`, `TERM`, `15` → the signal.
pub fn parse_signal(s: &str) -> Option<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).ok();
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse().ok()
}

#[cfg(test)]
mod tests;
