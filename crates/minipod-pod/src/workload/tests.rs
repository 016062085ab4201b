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
