//! When to run a probe and what its verdict is: the kubelet's probe worker
//! (pkg/kubelet/prober/worker.go doProbe) as a pure state machine. The supervisor runs the
//! probe processes (exec / httpGet / tcpSocket / grpc) itself and feeds each outcome back with
//! [`ProbeWorker::record`]; verdicts go into [`ProbeResults`], which the plan and the status
//! read.
//!
//! Differences from the kubelet, on purpose: probe ticks are aligned on the container's start
//! (`startedAt + initialDelaySeconds`, then every `periodSeconds`) instead of on the worker's
//! creation, so a test can predict them.

use std::time::Duration;

use minipod_manifest::ProbePlan;

use crate::observed::{ContainerState, ObservedContainer, ProbeKind, ProbeResult, ProbeResults};
use crate::time::{add, since, Timestamp};

/// A probe's timing and thresholds (the plan has the API defaults applied:
/// pkg/apis/core/v1/defaults.go SetDefaults_Probe), as durations and counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeTiming {
    pub initial_delay: Duration,
    /// Default 10 s.
    pub period: Duration,
    /// Default 1 s: the supervisor kills a probe process that runs longer (a Failure).
    pub timeout: Duration,
    /// Default 1 (liveness and startup must be 1).
    pub success_threshold: u32,
    /// Default 3.
    pub failure_threshold: u32,
}

impl ProbeTiming {
    pub fn from_probe(p: &ProbePlan) -> ProbeTiming {
        let secs = |v: i32| Duration::from_secs(v.max(0) as u64);
        ProbeTiming {
            initial_delay: secs(p.initial_delay_seconds),
            period: secs(p.period_seconds).max(Duration::from_secs(1)),
            timeout: secs(p.timeout_seconds).max(Duration::from_secs(1)),
            success_threshold: p.success_threshold.max(1) as u32,
            failure_threshold: p.failure_threshold.max(1) as u32,
        }
    }
}

/// What the worker wants now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbePoll {
    /// Run the probe now, then call [`ProbeWorker::record`].
    Run,
    /// Nothing before `at` (next tick, or the end of the initial delay).
    WaitUntil(Timestamp),
    /// Nothing until the container changes (not running, not started yet, on hold after a
    /// failure verdict, or the startup probe already succeeded).
    Idle,
    /// The worker is finished (pod terminating for liveness/startup); `verdict` is the last
    /// value to store.
    Stop { verdict: Option<ProbeResult> },
}

/// One probe of one container (the kubelet runs one worker per container and probe kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeWorker {
    pub name: String,
    pub kind: ProbeKind,
    pub timing: ProbeTiming,
    /// Restart count of the instance being probed.
    attempt: Option<i32>,
    last_result: Option<ProbeResult>,
    result_run: u32,
    on_hold: bool,
    last_run: Option<Timestamp>,
}

impl ProbeWorker {
    pub fn new(name: &str, kind: ProbeKind, probe: &ProbePlan) -> ProbeWorker {
        ProbeWorker {
            name: name.to_string(),
            kind,
            timing: ProbeTiming::from_probe(probe),
            attempt: None,
            last_result: None,
            result_run: 0,
            on_hold: false,
            last_run: None,
        }
    }

    /// worker.go doProbe, the part before running the probe. `started` is the container's
    /// `started` ([`crate::container_status::container_started`]); `pod_terminating` is true once the pod is being
    /// deleted or terminated.
    pub fn poll(
        &mut self,
        o: &ObservedContainer,
        started: bool,
        pod_terminating: bool,
        now: Timestamp,
    ) -> ProbePoll {
        let ContainerState::Running(r) = &o.state else {
            return ProbePoll::Idle;
        };
        if self.attempt != Some(o.restart_count) {
            // A new container: resume probing.
            self.attempt = Some(o.restart_count);
            self.on_hold = false;
            self.last_run = None;
        }
        if self.on_hold {
            return ProbePoll::Idle;
        }
        // Graceful shutdown: liveness and startup stop, with a last Success so nothing is
        // killed or reported unstarted during termination; readiness keeps running.
        if pod_terminating && self.kind != ProbeKind::Readiness {
            return ProbePoll::Stop {
                verdict: Some(ProbeResult::Success),
            };
        }
        let first = add(r.started_at, self.timing.initial_delay);
        if now < first {
            return ProbePoll::WaitUntil(first);
        }
        match (self.kind, started) {
            // Stop probing for startup once the container has started.
            (ProbeKind::Startup, true) => return ProbePoll::Idle,
            // Other probes are disabled until the container has started.
            (ProbeKind::Liveness | ProbeKind::Readiness, false) => return ProbePoll::Idle,
            _ => {}
        }
        let due = match self.last_run {
            None => first,
            Some(last) => add(last, self.timing.period),
        };
        if now >= due {
            ProbePoll::Run
        } else {
            ProbePoll::WaitUntil(due)
        }
    }

    /// Record the outcome of one run (a timeout or an error to run it counts as Failure for
    /// exec/http/tcp, as in the kubelet's prober). Returns the new verdict when it changes the
    /// results manager's value (the threshold was reached); store it with
    /// [`ProbeWorker::store`].
    pub fn record(&mut self, outcome: ProbeResult, now: Timestamp) -> Option<ProbeResult> {
        self.last_run = Some(now);
        if self.last_result == Some(outcome) {
            self.result_run += 1;
        } else {
            self.last_result = Some(outcome);
            self.result_run = 1;
        }
        let threshold = match outcome {
            ProbeResult::Failure => self.timing.failure_threshold,
            ProbeResult::Success => self.timing.success_threshold,
        };
        if self.result_run < threshold {
            return None;
        }
        if self.kind != ProbeKind::Readiness && outcome == ProbeResult::Failure {
            // The container will be restarted: stop probing until a new instance.
            self.on_hold = true;
            self.result_run = 0;
        }
        Some(outcome)
    }

    /// Store a verdict for the instance being probed.
    pub fn store(&self, results: &mut ProbeResults, verdict: ProbeResult) {
        if let Some(attempt) = self.attempt {
            results.set(&self.name, attempt, self.kind, verdict);
        }
    }

    /// When the worker next needs attention if nothing else happens (for the supervisor's
    /// timer): the next tick after the last run.
    pub fn next_tick(&self, o: &ObservedContainer) -> Option<Timestamp> {
        let r = o.running()?;
        let first = add(r.started_at, self.timing.initial_delay);
        Some(match self.last_run {
            None => first,
            Some(last) => add(last, self.timing.period).max(first),
        })
    }

    /// How long the probe has been running at `now` if started at `run_started`, and whether
    /// that exceeds `timeoutSeconds`.
    pub fn timed_out(&self, run_started: Timestamp, now: Timestamp) -> bool {
        since(now, run_started) >= self.timing.timeout
    }
}

#[cfg(test)]
mod tests;
