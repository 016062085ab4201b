use super::*;
use crate::testutil::{pod, t};
use serde_json::json;

fn one() -> ObservedPod {
    let p = pod(json!({"containers": [{"name": "app", "image": "busybox"}]}));
    ObservedPod::new(&p, BackoffPolicy::KUBELET)
}

#[test]
fn start_exit_restart_bookkeeping() {
    let mut o = one();
    let c = o.container("app").unwrap();
    assert_eq!((c.kind, c.next_attempt()), (ContainerKind::Regular, 0));
    assert!(o.record_started(
        "app",
        Some("minipod://a".into()),
        Some("sha256:1".into()),
        t(0)
    ));
    assert!(o.record_exit("app", Termination::exited(1, false, t(5))));
    let c = o.container("app").unwrap();
    let term = c.terminated().unwrap();
    assert_eq!(term.started_at, Some(t(0)));
    assert_eq!(term.container_id.as_deref(), Some("minipod://a"));
    assert_eq!(term.reason.as_deref(), Some("Error"));
    assert_eq!(term.kill_reason, None);
    assert_eq!(c.next_attempt(), 1);
    // Restart: the old termination becomes lastState; back-off history recorded.
    assert!(o.record_started("app", Some("minipod://b".into()), None, t(5)));
    let c = o.container("app").unwrap();
    assert_eq!(c.restart_count, 1);
    assert_eq!(c.last_termination.as_ref().map(|t| t.exit_code), Some(1));
    assert_eq!(c.image_id.as_deref(), Some("sha256:1"));
    assert_eq!(c.backoff.current_delay(t(6)), Some(Duration::from_secs(10)));
    assert!(c.is_running());
}

#[test]
fn exit_after_kill_carries_the_reason() {
    let mut o = one();
    o.record_started("app", None, None, t(0));
    assert!(o.record_kill(
        "app",
        KillReason::LivenessProbe,
        Duration::from_secs(30),
        true,
        false,
        t(1)
    ));
    assert!(o.record_pre_stop("app", HookState::Failed));
    assert!(o.record_stop_signal("app", Duration::from_secs(29), t(2)));
    let s = o
        .container("app")
        .unwrap()
        .running()
        .unwrap()
        .stopping
        .clone()
        .unwrap();
    assert_eq!(s.pre_stop, Some(HookState::Failed));
    assert_eq!(s.kill_at, Some(t(31)));
    assert!(o.record_force_kill("app"));
    o.record_exit(
        "app",
        Termination::exited(exit_code_for_signal(9), false, t(31)),
    );
    let term = o.container("app").unwrap().terminated().unwrap().clone();
    assert_eq!(term.kill_reason, Some(KillReason::LivenessProbe));
    assert_eq!(term.exit_code, 137);
    // Nothing to stop any more.
    assert!(!o.record_stop_signal("app", Duration::from_secs(1), t(32)));
    assert!(!o.record_post_start("app", HookState::Succeeded));
}

#[test]
fn start_failure_is_cleared_by_a_start() {
    let mut o = one();
    assert!(o.record_start_failure("app", "ErrImagePull", "no such image", t(0)));
    assert!(o.container("app").unwrap().start_failure.is_some());
    o.record_started("app", None, None, t(1));
    assert!(o.container("app").unwrap().start_failure.is_none());
    assert!(!o.record_start_failure("nope", "x", "y", t(0)));
    assert!(!o.record_started("nope", None, None, t(0)));
}

#[test]
fn a_start_error_is_an_instance_that_exited_128() {
    let mut o = one();
    assert!(o.record_start_error("app", Some("minipod://a".into()), "no such file", t(0)));
    let c = o.container("app").unwrap();
    assert_eq!(c.restart_count, 0);
    let term = c.terminated().unwrap();
    assert_eq!(
        (
            term.exit_code,
            term.reason.as_deref(),
            term.message.as_deref()
        ),
        (128, Some("StartError"), Some("no such file"))
    );
    assert_eq!(term.started_at, None);
    assert_eq!(term.container_id.as_deref(), Some("minipod://a"));
    // The next attempt is a restart with back-off history, like after any exit.
    assert!(o.record_start_error("app", Some("minipod://b".into()), "again", t(1)));
    let c = o.container("app").unwrap();
    assert_eq!(c.restart_count, 1);
    assert_eq!(
        c.last_termination
            .as_ref()
            .and_then(|t| t.message.as_deref()),
        Some("no such file")
    );
    assert_eq!(c.backoff.current_delay(t(2)), Some(Duration::from_secs(10)));
    assert!(!o.record_start_error("nope", None, "x", t(0)));
}

#[test]
fn a_post_start_failure_message_lasts_until_the_next_instance() {
    let mut o = one();
    assert!(!o.record_post_start_failure("app", "not running"));
    o.record_started("app", None, None, t(0));
    assert!(o.record_post_start_failure("app", "HTTP lifecycle hook (/) failed"));
    let r = o.container("app").unwrap().running().unwrap();
    assert_eq!(r.post_start, HookState::Failed);
    o.record_exit("app", Termination::exited(137, false, t(1)));
    let c = o.container("app").unwrap();
    assert_eq!(
        c.post_start_error.as_deref(),
        Some("HTTP lifecycle hook (/) failed")
    );
    o.record_started("app", None, None, t(2));
    assert_eq!(o.container("app").unwrap().post_start_error, None);
}

#[test]
fn observed_state_round_trips_through_json() {
    let mut o = one();
    o.record_started("app", Some("minipod://a".into()), None, t(0));
    o.record_kill(
        "app",
        KillReason::PodTermination,
        Duration::from_secs(30),
        true,
        true,
        t(1),
    );
    o.record_exit("app", Termination::exited(143, false, t(2)));
    o.record_started("app", None, None, t(3));
    o.request_deletion(Duration::from_secs(5), t(4));
    let json = serde_json::to_string(&o).unwrap();
    let back: ObservedPod = serde_json::from_str(&json).unwrap();
    assert_eq!(back, o);
    let probes = ProbeResults::new().with("app", 1, ProbeKind::Readiness, ProbeResult::Success);
    let json = serde_json::to_string(&probes).unwrap();
    assert_eq!(serde_json::from_str::<ProbeResults>(&json).unwrap(), probes);
}

#[test]
fn probe_results_are_per_instance() {
    let mut r = ProbeResults::new()
        .with("app", 0, ProbeKind::Readiness, ProbeResult::Success)
        .with("app", 0, ProbeKind::Liveness, ProbeResult::Failure);
    assert_eq!(
        r.get("app", 0, ProbeKind::Readiness),
        Some(ProbeResult::Success)
    );
    assert_eq!(r.get("app", 1, ProbeKind::Readiness), None);
    // A verdict for a new instance drops the old instance's verdicts.
    r.set("app", 1, ProbeKind::Readiness, ProbeResult::Failure);
    assert_eq!(r.get("app", 1, ProbeKind::Liveness), None);
    assert_eq!(r.get("app", 0, ProbeKind::Readiness), None);
    r.clear("app");
    assert_eq!(r.get("app", 1, ProbeKind::Readiness), None);
}
