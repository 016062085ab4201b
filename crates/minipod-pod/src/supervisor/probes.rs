//! Probes in the supervisor: one [`crate::probe::ProbeWorker`] per container and probe kind
//! (the kubelet's prober workers) decides when to run; a run goes through the backend with
//! the plan's typed handler, is timed out after `timeoutSeconds`, and its verdict is stored
//! for the plan and the status; failures are reported as `Unhealthy` events.

use std::time::Instant;

use super::{Hook, HookLaunch, HookRun, PodBackend, Supervisor, Watched};
use crate::events;
use crate::observed::{ProbeKind, ProbeResult};
use crate::probe::ProbePoll;
use crate::time::Timestamp;

impl<B: PodBackend> Supervisor<B> {
    /// Runs the probes that are due; remembers when the next one is.
    pub(super) fn tick_probes(&mut self, now: Timestamp) {
        let terminating = self.observed.termination.is_some();
        let mut wake: Option<Timestamp> = None;
        let mut due = Vec::new();
        for (i, w) in self.probe_workers.iter_mut().enumerate() {
            let Some(o) = self.observed.container(&w.name) else {
                continue;
            };
            let Some(c) = self.pod.container(&w.name) else {
                continue;
            };
            let started = crate::container_status::container_started(c, o, &self.probes);
            match w.poll(o, started, terminating, now) {
                ProbePoll::Run => {
                    if !self.probe_runs.contains_key(&(w.name.clone(), w.kind)) {
                        due.push(i);
                    }
                }
                ProbePoll::WaitUntil(t) => wake = Some(wake.map_or(t, |w| w.min(t))),
                ProbePoll::Idle => {}
                ProbePoll::Stop { verdict } => {
                    if let Some(v) = verdict {
                        w.store(&mut self.probes, v);
                    }
                }
            }
        }
        self.probe_wake = wake;
        for i in due {
            self.launch_probe(i, now);
        }
    }

    /// Where httpGet / tcpSocket handlers (probes and hooks alike) connect when the spec
    /// names no host: the pod IP in the kubelet. Checks run inside the pod's network
    /// namespace, where the pod is reachable on loopback when it has no address of its own.
    pub(super) fn handler_host(&self) -> String {
        self.observed
            .pod_ip
            .clone()
            .unwrap_or_else(|| "127.0.0.1".into())
    }

    pub(super) fn launch_probe(&mut self, worker: usize, now: Timestamp) {
        let (name, kind, timeout) = {
            let w = &self.probe_workers[worker];
            (w.name.clone(), w.kind, w.timing.timeout)
        };
        let Some(c) = self.container_spec(&name) else {
            return;
        };
        let probe = match kind {
            ProbeKind::Startup => c.startup_probe.as_ref(),
            ProbeKind::Liveness => c.liveness_probe.as_ref(),
            ProbeKind::Readiness => c.readiness_probe.as_ref(),
        };
        let Some(probe) = probe else { return };
        let ip = self.handler_host();
        let handler = probe.handler.clone();
        let hook = Hook::Probe(kind);
        match self.backend.run_handler(&name, hook, &handler, &ip) {
            HookLaunch::Process(p) => {
                let token = self.token(Watched::Hook(name.clone(), hook));
                self.watch_process(token, p);
                self.hooks.insert(
                    (name.clone(), hook),
                    HookRun {
                        handler,
                        output: Vec::new(),
                        sleep_until: None,
                    },
                );
                self.probe_runs.insert(
                    (name, kind),
                    crate::time::deadline_after(Instant::now(), timeout),
                );
            }
            HookLaunch::Finished(Ok(())) => {
                self.probe_result(&name, kind, ProbeResult::Success, "", now)
            }
            HookLaunch::Finished(Err(e)) => {
                self.probe_result(&name, kind, ProbeResult::Failure, &e, now)
            }
        }
    }

    /// Probe runs past their `timeoutSeconds` fail (prober: "command timed out").
    pub(super) fn expire_probe_runs(&mut self) {
        let now = Instant::now();
        let late: Vec<(String, ProbeKind)> = self
            .probe_runs
            .iter()
            .filter(|(_, d)| **d <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for (name, kind) in late {
            self.probe_runs.remove(&(name.clone(), kind));
            self.backend.kill_handler(&name, Hook::Probe(kind));
            let timeout = self
                .probe_workers
                .iter()
                .find(|w| w.name == name && w.kind == kind)
                .map(|w| w.timing.timeout.as_secs())
                .unwrap_or(1);
            let message = format!("command timed out after {timeout}s");
            self.probe_result(
                &name,
                kind,
                ProbeResult::Failure,
                &message,
                Timestamp::now(),
            );
        }
    }

    /// One probe run's outcome: the worker applies the thresholds; a failure is reported as
    /// the kubelet's `Unhealthy` event.
    pub(super) fn probe_result(
        &mut self,
        name: &str,
        kind: ProbeKind,
        outcome: ProbeResult,
        output: &str,
        now: Timestamp,
    ) {
        let Some(w) = self
            .probe_workers
            .iter_mut()
            .find(|w| w.name == name && w.kind == kind)
        else {
            return;
        };
        if let Some(verdict) = w.record(outcome, now) {
            w.store(&mut self.probes, verdict);
        }
        if outcome == ProbeResult::Failure {
            let container_kind = self.kind_of(name);
            self.report(events::unhealthy(container_kind, name, kind, output), now);
        }
    }
}
