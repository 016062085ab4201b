use super::*;
use crate::backoff::BackoffPolicy;
use crate::observed::ObservedPod;
use crate::spec::ContainerKind;
use crate::testutil::{pod, t};
use serde_json::json;

/// The plan of `v` as a container's readinessProbe.
fn probe(v: serde_json::Value) -> ProbePlan {
    let p = pod(json!({"containers": [{"name": "app", "image": "busybox", "readinessProbe": v}]}));
    p.containers[0].readiness_probe.clone().unwrap()
}

fn running_container(at: i64) -> ObservedContainer {
    let p = pod(json!({"containers": [{"name": "app", "image": "busybox"}]}));
    let mut o = ObservedPod::new(&p, BackoffPolicy::KUBELET);
    o.record_started("app", None, None, t(at));
    o.containers[0].clone()
}

#[test]
fn defaults() {
    let timing = ProbeTiming::from_probe(&probe(json!({"exec": {"command": ["true"]}})));
    assert_eq!(timing.initial_delay, Duration::ZERO);
    assert_eq!(timing.period, Duration::from_secs(10));
    assert_eq!(timing.timeout, Duration::from_secs(1));
    assert_eq!(timing.success_threshold, 1);
    assert_eq!(timing.failure_threshold, 3);
}

#[test]
fn initial_delay_then_period() {
    let spec =
        probe(json!({"exec": {"command": ["true"]}, "initialDelaySeconds": 5, "periodSeconds": 2}));
    let mut w = ProbeWorker::new("app", ProbeKind::Readiness, &spec);
    let c = running_container(0);
    assert_eq!(w.poll(&c, true, false, t(1)), ProbePoll::WaitUntil(t(5)));
    assert_eq!(w.poll(&c, true, false, t(5)), ProbePoll::Run);
    assert_eq!(
        w.record(ProbeResult::Success, t(5)),
        Some(ProbeResult::Success)
    );
    assert_eq!(w.poll(&c, true, false, t(6)), ProbePoll::WaitUntil(t(7)));
    assert_eq!(w.next_tick(&c), Some(t(7)));
    assert_eq!(w.poll(&c, true, false, t(7)), ProbePoll::Run);
}

#[test]
fn failure_threshold_then_hold_until_new_instance() {
    let spec =
        probe(json!({"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 3}));
    let mut w = ProbeWorker::new("app", ProbeKind::Liveness, &spec);
    let c = running_container(0);
    assert_eq!(w.poll(&c, true, false, t(0)), ProbePoll::Run);
    assert_eq!(w.record(ProbeResult::Failure, t(0)), None);
    assert_eq!(w.record(ProbeResult::Failure, t(1)), None);
    assert_eq!(
        w.record(ProbeResult::Failure, t(2)),
        Some(ProbeResult::Failure)
    );
    let mut results = ProbeResults::new();
    w.store(&mut results, ProbeResult::Failure);
    assert_eq!(
        results.get("app", 0, ProbeKind::Liveness),
        Some(ProbeResult::Failure)
    );
    // On hold until a new instance appears.
    assert_eq!(w.poll(&c, true, false, t(5)), ProbePoll::Idle);
    let mut restarted = c.clone();
    restarted.restart_count = 1;
    assert_eq!(w.poll(&restarted, true, false, t(6)), ProbePoll::Run);
}

#[test]
fn success_resets_the_failure_run() {
    let spec = probe(json!({"exec": {"command": ["x"]}, "failureThreshold": 2}));
    let mut w = ProbeWorker::new("app", ProbeKind::Readiness, &spec);
    assert_eq!(w.record(ProbeResult::Failure, t(0)), None);
    assert_eq!(
        w.record(ProbeResult::Success, t(10)),
        Some(ProbeResult::Success)
    );
    assert_eq!(w.record(ProbeResult::Failure, t(20)), None);
    assert_eq!(
        w.record(ProbeResult::Failure, t(30)),
        Some(ProbeResult::Failure)
    );
    // Readiness is never put on hold.
    assert_eq!(
        w.record(ProbeResult::Success, t(40)),
        Some(ProbeResult::Success)
    );
}

#[test]
fn success_threshold_for_readiness() {
    let spec = probe(json!({"exec": {"command": ["x"]}, "successThreshold": 2}));
    let mut w = ProbeWorker::new("app", ProbeKind::Readiness, &spec);
    assert_eq!(w.record(ProbeResult::Success, t(0)), None);
    assert_eq!(
        w.record(ProbeResult::Success, t(10)),
        Some(ProbeResult::Success)
    );
}

#[test]
fn gating_on_started() {
    let spec = probe(json!({"exec": {"command": ["x"]}}));
    let c = running_container(0);
    let mut live = ProbeWorker::new("app", ProbeKind::Liveness, &spec);
    assert_eq!(live.poll(&c, false, false, t(0)), ProbePoll::Idle);
    assert_eq!(live.poll(&c, true, false, t(0)), ProbePoll::Run);
    let mut startup = ProbeWorker::new("app", ProbeKind::Startup, &spec);
    assert_eq!(startup.poll(&c, false, false, t(0)), ProbePoll::Run);
    assert_eq!(startup.poll(&c, true, false, t(0)), ProbePoll::Idle);
}

#[test]
fn termination_stops_liveness_not_readiness() {
    let spec = probe(json!({"exec": {"command": ["x"]}}));
    let c = running_container(0);
    let mut live = ProbeWorker::new("app", ProbeKind::Liveness, &spec);
    assert_eq!(
        live.poll(&c, true, true, t(0)),
        ProbePoll::Stop {
            verdict: Some(ProbeResult::Success)
        }
    );
    let mut ready = ProbeWorker::new("app", ProbeKind::Readiness, &spec);
    assert_eq!(ready.poll(&c, true, true, t(0)), ProbePoll::Run);
}

#[test]
fn not_running_is_idle() {
    let spec = probe(json!({"exec": {"command": ["x"]}}));
    let c = ObservedContainer::new("app", ContainerKind::Regular, BackoffPolicy::KUBELET);
    let mut w = ProbeWorker::new("app", ProbeKind::Readiness, &spec);
    assert_eq!(w.poll(&c, false, false, t(0)), ProbePoll::Idle);
    assert_eq!(w.next_tick(&c), None);
}

#[test]
fn timeout() {
    let spec = probe(json!({"exec": {"command": ["x"]}, "timeoutSeconds": 2}));
    let w = ProbeWorker::new("app", ProbeKind::Readiness, &spec);
    assert!(!w.timed_out(t(0), t(1)));
    assert!(w.timed_out(t(0), t(2)));
}
