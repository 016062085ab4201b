use super::*;

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// A container that crashes `run` seconds after each (re)start, restarted as soon as the
/// back-off allows: returns the delays it was held for.
fn crash_loop(policy: BackoffPolicy, crashes: usize, run: i64) -> Vec<Option<Duration>> {
    let mut b = RestartBackoff::new(policy);
    let mut t = 0i64;
    let mut delays = Vec::new();
    for _ in 0..crashes {
        let finished = ts(t + run);
        let delay = b.current_delay(finished);
        delays.push(delay);
        let restart_at = b.restart_not_before(finished).unwrap_or(finished);
        b.record_restart(finished);
        t = restart_at.as_second() - 1_700_000_000;
    }
    delays
}

#[test]
fn first_restart_is_immediate_then_doubles_to_cap() {
    let delays = crash_loop(BackoffPolicy::KUBELET, 9, 1);
    let secs: Vec<Option<u64>> = delays.iter().map(|d| d.map(|d| d.as_secs())).collect();
    assert_eq!(
        secs,
        vec![
            None,
            Some(10),
            Some(20),
            Some(40),
            Some(80),
            Some(160),
            Some(300),
            Some(300),
            Some(300)
        ]
    );
}

#[test]
fn resets_after_ten_minutes_of_running() {
    let mut b = RestartBackoff::default();
    b.record_restart(ts(0));
    b.record_restart(ts(15));
    assert_eq!(b.current_delay(ts(30)), Some(Duration::from_secs(20)));
    // Ran for more than 2 × 300 s since the last reference exit: entry expired.
    assert_eq!(b.current_delay(ts(15 + 601)), None);
    assert!(!b.is_in_backoff(ts(15 + 601), ts(15 + 601)));
    b.record_restart(ts(15 + 601));
    assert_eq!(b.current_delay(ts(15 + 610)), Some(Duration::from_secs(10)));
    // Exactly 600 s is not yet expired (strictly greater than, like flowcontrol).
    let mut b = RestartBackoff::default();
    b.record_restart(ts(0));
    assert_eq!(b.current_delay(ts(600)), Some(Duration::from_secs(10)));
}

#[test]
fn in_backoff_until_finished_plus_delay() {
    let mut b = RestartBackoff::default();
    assert!(!b.is_in_backoff(ts(0), ts(0)));
    b.record_restart(ts(0));
    assert!(b.is_in_backoff(ts(5), ts(5)));
    assert!(b.is_in_backoff(ts(5), ts(14)));
    assert!(!b.is_in_backoff(ts(5), ts(15)));
    assert_eq!(b.restart_not_before(ts(5)), Some(ts(15)));
}

#[test]
fn initial_override() {
    let p = BackoffPolicy::from_initial_ms(Some("100"));
    assert_eq!(p.initial, Duration::from_millis(100));
    assert_eq!(p.max, Duration::from_secs(300));
    assert_eq!(BackoffPolicy::from_initial_ms(None), BackoffPolicy::KUBELET);
    assert_eq!(
        BackoffPolicy::from_initial_ms(Some("junk")),
        BackoffPolicy::KUBELET
    );
    let delays = crash_loop(p, 4, 1);
    assert_eq!(
        delays,
        vec![
            None,
            Some(Duration::from_millis(100)),
            Some(Duration::from_millis(200)),
            Some(Duration::from_millis(400))
        ]
    );
}

#[test]
fn reset_forgets() {
    let mut b = RestartBackoff::default();
    b.record_restart(ts(0));
    b.reset();
    assert_eq!(b.current_delay(ts(1)), None);
}
