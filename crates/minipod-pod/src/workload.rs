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
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn pod(sequence: u32, phase: PodPhaseView) -> ControlledPod {
        ControlledPod {
            sequence,
            attempt: 0,
            phase,
            ready: false,
            restarts: 0,
            finished_at: match phase {
                PodPhaseView::Succeeded | PodPhaseView::Failed => Some(t(0)),
                _ => None,
            },
        }
    }

    fn ready(mut p: ControlledPod) -> ControlledPod {
        p.ready = true;
        p
    }

    fn job_spec(completions: Option<u32>, parallelism: u32, backoff_limit: u32) -> JobSpec {
        JobSpec {
            completions,
            parallelism,
            backoff_limit,
            indexed: false,
            on_failure: false,
            active_deadline: None,
            started_at: t(0),
            backoff_initial: JOB_BACKOFF_INITIAL,
        }
    }

    use PodPhaseView::*;

    /// (pods, pods to create, outcome)
    type Row<'a> = (&'a [ControlledPod], Vec<(u32, u32)>, Option<Outcome>);

    #[test]
    fn ordered_stateful_set_makes_the_next_pod_once_the_previous_is_running_and_ready() {
        let c = Controller::OrderedStatefulSet { replicas: 3 };
        let rows: &[Row] = &[
            (&[], vec![(0, 0)], None),
            (&[pod(0, Pending)], vec![], None),
            (&[pod(0, Running)], vec![], None),
            (&[ready(pod(0, Running))], vec![(1, 0)], None),
            (&[ready(pod(0, Running)), pod(1, Running)], vec![], None),
            (
                &[ready(pod(0, Running)), ready(pod(1, Running))],
                vec![(2, 0)],
                None,
            ),
            (
                &[
                    ready(pod(0, Running)),
                    ready(pod(1, Running)),
                    ready(pod(2, Running)),
                ],
                vec![],
                Some(Outcome::AllCreated),
            ),
        ];
        for (i, (pods, create, outcome)) in rows.iter().enumerate() {
            let d = decide(&c, pods, t(1));
            assert_eq!(&d.create, create, "row {i}");
            assert_eq!(&d.outcome, outcome, "row {i}");
        }
    }

    #[test]
    fn job_keeps_parallelism_pods_until_completions_succeed() {
        let spec = Controller::Job(job_spec(Some(3), 2, 6));
        let rows: &[Row] = &[
            (&[], vec![(0, 0), (1, 0)], None),
            (&[pod(0, Running), pod(1, Pending)], vec![], None),
            (&[pod(0, Succeeded), pod(1, Running)], vec![(2, 0)], None),
            (&[pod(0, Succeeded), pod(1, Succeeded)], vec![(2, 0)], None),
            (
                &[pod(0, Succeeded), pod(1, Succeeded), pod(2, Running)],
                vec![],
                None,
            ),
            (
                &[pod(0, Succeeded), pod(1, Succeeded), pod(2, Succeeded)],
                vec![],
                Some(Outcome::Complete),
            ),
        ];
        for (i, (pods, create, outcome)) in rows.iter().enumerate() {
            let d = decide(&spec, pods, t(1));
            assert_eq!(&d.create, create, "row {i}");
            assert_eq!(&d.outcome, outcome, "row {i}");
        }
    }

    #[test]
    fn a_work_queue_job_stops_creating_after_one_success_and_completes_when_idle() {
        let spec = Controller::Job(job_spec(None, 2, 6));
        assert_eq!(decide(&spec, &[], t(0)).create, vec![(0, 0), (1, 0)]);
        let d = decide(&spec, &[pod(0, Succeeded), pod(1, Running)], t(1));
        assert_eq!((d.create.len(), d.outcome), (0, None));
        let d = decide(&spec, &[pod(0, Succeeded), pod(1, Succeeded)], t(1));
        assert_eq!(d.outcome, Some(Outcome::Complete));
    }

    #[test]
    fn failed_pods_are_replaced_after_the_back_off_until_the_limit() {
        let spec = Controller::Job(job_spec(Some(1), 1, 2));
        // First failure at t=0: the replacement waits 10 s.
        let d = decide(&spec, &[pod(0, Failed)], t(5));
        assert_eq!((d.create.clone(), d.wake_at), (vec![], Some(t(10))));
        assert_eq!(decide(&spec, &[pod(0, Failed)], t(10)).create, vec![(1, 0)]);
        // Second failure at t=30: 20 s.
        let mut second = pod(1, Failed);
        second.finished_at = Some(t(30));
        let pods = [pod(0, Failed), second.clone()];
        assert_eq!(decide(&spec, &pods, t(49)).wake_at, Some(t(50)));
        assert_eq!(decide(&spec, &pods, t(50)).create, vec![(2, 0)]);
        // A third failure is more than backoffLimit 2: the Job fails.
        let pods = [pod(0, Failed), second, pod(2, Failed)];
        let d = decide(&spec, &pods, t(60));
        assert_eq!(
            d.outcome,
            Some(Outcome::Failed {
                reason: "BackoffLimitExceeded".into(),
                message: "Job has reached the specified backoff limit".into()
            })
        );
        assert!(d.create.is_empty());
    }

    #[test]
    fn backoff_limit_zero_fails_at_the_first_failure() {
        let spec = Controller::Job(job_spec(Some(1), 1, 0));
        let d = decide(&spec, &[pod(0, Failed)], t(1));
        assert!(matches!(d.outcome, Some(Outcome::Failed { .. })));
    }

    #[test]
    fn on_failure_jobs_count_container_restarts_and_terminate_the_active_pod() {
        let mut s = job_spec(Some(1), 1, 2);
        s.on_failure = true;
        let spec = Controller::Job(s);
        let mut p = pod(0, Running);
        p.restarts = 1;
        assert_eq!(decide(&spec, &[p.clone()], t(1)).outcome, None);
        p.restarts = 2;
        let d = decide(&spec, &[p], t(1));
        assert!(matches!(d.outcome, Some(Outcome::Failed { .. })));
        assert_eq!(d.terminate, vec![0]);
    }

    #[test]
    fn the_active_deadline_fails_the_job_and_terminates_its_pods() {
        let mut s = job_spec(Some(1), 1, 6);
        s.active_deadline = Some(Duration::from_secs(30));
        let spec = Controller::Job(s);
        let d = decide(&spec, &[pod(0, Running)], t(10));
        assert_eq!((d.outcome, d.wake_at), (None, Some(t(30))));
        let d = decide(&spec, &[pod(0, Running)], t(30));
        assert_eq!(
            d.outcome,
            Some(Outcome::Failed {
                reason: "DeadlineExceeded".into(),
                message: "Job was active longer than specified deadline".into()
            })
        );
        assert_eq!(d.terminate, vec![0]);
    }

    #[test]
    fn indexed_jobs_need_one_success_per_index_and_retry_the_failed_index() {
        let mut s = job_spec(Some(3), 2, 6);
        s.indexed = true;
        s.backoff_initial = Duration::ZERO;
        let spec = Controller::Job(s);
        assert_eq!(decide(&spec, &[], t(0)).create, vec![(0, 0), (1, 0)]);
        let d = decide(&spec, &[pod(0, Failed), pod(1, Running)], t(1));
        assert_eq!(d.create, vec![(0, 1)]);
        let mut retried = pod(0, Succeeded);
        retried.attempt = 1;
        let pods = [pod(0, Failed), pod(1, Succeeded), retried];
        assert_eq!(decide(&spec, &pods, t(2)).create, vec![(2, 0)]);
        let pods = [
            pod(0, Failed),
            pod(1, Succeeded),
            pod(0, Succeeded),
            pod(2, Succeeded),
        ];
        assert_eq!(decide(&spec, &pods, t(3)).outcome, Some(Outcome::Complete));
    }

    #[test]
    fn a_deleted_job_pod_is_not_active_and_is_replaced() {
        let spec = Controller::Job(job_spec(Some(1), 1, 6));
        assert_eq!(decide(&spec, &[pod(0, Gone)], t(1)).create, vec![(1, 0)]);
    }
}
