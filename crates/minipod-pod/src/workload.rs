//! The workload controllers minipod runs on one host, as pure decisions: what the
//! StatefulSet controller (`OrderedReady` start-up) and the Job controller (completions,
//! parallelism, backoffLimit, activeDeadlineSeconds, the pod re-creation back-off) would do
//! next, given the pods they made so far and the clock.
//!
//! Deployments, ReplicaSets, DaemonSets and `Parallel` StatefulSets need no controller here:
//! all their pods exist from the start, and the kubelet (the supervisor) restarts containers.
//!
//! Rules followed (pkg/controller/statefulset, pkg/controller/job, and the Job docs):
//! - StatefulSet `OrderedReady`: pod N is created only when pods 0..N-1 are Running and Ready.
//! - Job: keep `min(parallelism, completions - succeeded)` pods active; a work queue
//!   (completions unset) stops creating pods once one succeeded and completes when the
//!   active ones are done; Indexed jobs need one success per index. Failed pods are replaced
//!   after a back-off of 10 s doubling to 6 min; the Job fails with `BackoffLimitExceeded`
//!   when more than `backoffLimit` pods failed (or, under `restartPolicy: OnFailure`, when
//!   the containers' restarts reach it), and with `DeadlineExceeded` after
//!   `activeDeadlineSeconds`. A finished Job's active pods are terminated.

use std::time::Duration;

use crate::time::{add, Timestamp};

/// One pod a controller made, as it stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlledPod {
    /// The StatefulSet ordinal, the Job completion index (Indexed) or creation counter.
    pub sequence: u32,
    /// How many pods with this sequence were made before this one.
    pub attempt: u32,
    pub phase: PodPhaseView,
    pub ready: bool,
    /// Sum of the containers' restartCounts (OnFailure Jobs count them as failures).
    pub restarts: i32,
    /// When the pod ended (Succeeded/Failed): the reference of the re-creation back-off.
    pub finished_at: Option<Timestamp>,
}

/// The pod phases a controller reads; `Gone` is a pod that was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodPhaseView {
    Pending,
    Running,
    Succeeded,
    Failed,
    Gone,
}

impl PodPhaseView {
    pub fn from_phase(phase: Option<&str>) -> PodPhaseView {
        match phase {
            Some("Running") => PodPhaseView::Running,
            Some("Succeeded") => PodPhaseView::Succeeded,
            Some("Failed") => PodPhaseView::Failed,
            _ => PodPhaseView::Pending,
        }
    }

    fn active(self) -> bool {
        matches!(self, PodPhaseView::Pending | PodPhaseView::Running)
    }
}

/// The controller's view of its workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Controller {
    /// `OrderedReady` StatefulSet with `replicas` pods.
    OrderedStatefulSet {
        replicas: u32,
    },
    Job(JobSpec),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    pub completions: Option<u32>,
    pub parallelism: u32,
    pub backoff_limit: u32,
    pub indexed: bool,
    /// The pod template's restartPolicy is OnFailure.
    pub on_failure: bool,
    pub active_deadline: Option<Duration>,
    /// When the Job started (its first pod was made).
    pub started_at: Timestamp,
    /// First delay of the pod re-creation back-off (the controller's default: 10 s).
    pub backoff_initial: Duration,
}

/// The Job controller's pod failure back-off: 10 s, doubling, at most 6 minutes.
pub const JOB_BACKOFF_INITIAL: Duration = Duration::from_secs(10);
pub const JOB_BACKOFF_MAX: Duration = Duration::from_secs(6 * 60);

/// What to do now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// Pods to make: (sequence, attempt).
    pub create: Vec<(u32, u32)>,
    /// Indexes into the observed pods to terminate (a finished Job's active pods).
    pub terminate: Vec<usize>,
    /// Look again at this time at the latest (a back-off or deadline ends), besides on any
    /// pod change.
    pub wake_at: Option<Timestamp>,
    /// The workload reached its end; the controller exits once `terminate` is done.
    pub outcome: Option<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing is left to control (a StatefulSet with all its pods made).
    AllCreated,
    /// The Job reached its completions (condition `Complete`).
    Complete,
    /// The Job failed (condition `Failed` with this reason and message).
    Failed { reason: String, message: String },
}

pub fn decide(controller: &Controller, pods: &[ControlledPod], now: Timestamp) -> Decision {
    match controller {
        Controller::OrderedStatefulSet { replicas } => ordered_stateful_set(*replicas, pods),
        Controller::Job(spec) => job(spec, pods, now),
    }
}

fn ordered_stateful_set(replicas: u32, pods: &[ControlledPod]) -> Decision {
    let mut d = Decision::default();
    let latest = |ordinal: u32| {
        pods.iter()
            .filter(|p| p.sequence == ordinal)
            .max_by_key(|p| p.attempt)
    };
    for ordinal in 0..replicas {
        match latest(ordinal) {
            None => {
                d.create.push((ordinal, 0));
                return d;
            }
            Some(p) if p.phase == PodPhaseView::Running && p.ready => continue,
            // Not ready yet (or ended): the next ordinal waits.
            Some(_) => return d,
        }
    }
    d.outcome = Some(Outcome::AllCreated);
    d
}

fn job(spec: &JobSpec, pods: &[ControlledPod], now: Timestamp) -> Decision {
    let mut d = Decision::default();
    let active: Vec<usize> = (0..pods.len())
        .filter(|&i| pods[i].phase.active())
        .collect();
    let failed: Vec<&ControlledPod> = pods
        .iter()
        .filter(|p| p.phase == PodPhaseView::Failed)
        .collect();
    let succeeded = pods
        .iter()
        .filter(|p| p.phase == PodPhaseView::Succeeded)
        .count() as u32;
    let fail = |reason: &str, message: &str| Outcome::Failed {
        reason: reason.into(),
        message: message.into(),
    };

    // Finished? Success wins over a failure seen in the same look (as the controller does).
    let complete = match (spec.indexed, spec.completions) {
        (true, Some(c)) => (0..c).all(|i| {
            pods.iter()
                .any(|p| p.sequence == i && p.phase == PodPhaseView::Succeeded)
        }),
        (_, Some(c)) => succeeded >= c,
        (_, None) => succeeded >= 1 && active.is_empty(),
    };
    let restarts: i64 = pods
        .iter()
        .filter(|p| p.phase.active())
        .map(|p| i64::from(p.restarts.max(0)))
        .sum();
    let over_limit = failed.len() as u32 > spec.backoff_limit
        || (spec.on_failure
            && if spec.backoff_limit == 0 {
                restarts > 0
            } else {
                restarts >= i64::from(spec.backoff_limit)
            });
    let deadline = spec.active_deadline.map(|a| add(spec.started_at, a));
    if complete {
        d.outcome = Some(Outcome::Complete);
    } else if over_limit {
        d.outcome = Some(fail(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ));
    } else if deadline.is_some_and(|t| now >= t) {
        d.outcome = Some(fail(
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ));
    }
    if d.outcome.is_some() {
        d.terminate = active;
        return d;
    }
    d.wake_at = deadline;

    // Re-creation back-off after failures: the n-th failure delays new pods by
    // initial × 2^(n-1), counted from the latest failure.
    if let Some(last) = failed.iter().filter_map(|p| p.finished_at).max() {
        let n = failed.len() as u32;
        let delay = spec
            .backoff_initial
            .saturating_mul(1u32 << (n - 1).min(20))
            .min(JOB_BACKOFF_MAX);
        let until = add(last, delay);
        if now < until {
            d.wake_at = Some(d.wake_at.map_or(until, |w| w.min(until)));
            return d;
        }
    }

    let room = spec.parallelism.saturating_sub(active.len() as u32);
    let attempts = |seq: u32| pods.iter().filter(|p| p.sequence == seq).count() as u32;
    match (spec.indexed, spec.completions) {
        (true, Some(c)) => {
            let wanted = (0..c).filter(|&i| {
                !pods.iter().any(|p| {
                    p.sequence == i && (p.phase.active() || p.phase == PodPhaseView::Succeeded)
                })
            });
            d.create = wanted
                .take(room as usize)
                .map(|i| (i, attempts(i)))
                .collect();
        }
        (_, completions) => {
            let want = match completions {
                Some(c) => room.min(c.saturating_sub(succeeded + active.len() as u32)),
                // Work queue: once one pod succeeded, no new ones.
                None if succeeded > 0 => 0,
                None => room,
            };
            let next = pods.iter().map(|p| p.sequence + 1).max().unwrap_or(0);
            d.create = (0..want).map(|k| (next + k, 0)).collect();
        }
    }
    d
}

#[cfg(test)]
mod tests;
