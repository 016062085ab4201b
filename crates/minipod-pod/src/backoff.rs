//! Crash-loop back-off, as the kubelet computes it with `flowcontrol.Backoff`
//! (client-go util/flowcontrol/backoff.go; kubelet.go `backOffPeriod` = 10 s,
//! `MaxContainerBackOff` = 300 s; kuberuntime_manager.go doBackOff).
//!
//! - The first restart of a container is immediate (no entry yet: `doBackOff` records one and
//!   lets the start go ahead).
//! - Each later exit must wait `backoff` after its `finishedAt`; every restart doubles the
//!   delay (10 s, 20 s, 40 s ... capped at 300 s).
//! - The entry expires, and the sequence starts over, when an exit comes more than
//!   2 × max (10 minutes) after the previous restart's reference exit: the container ran
//!   cleanly that long.
//!
//! The initial delay is a parameter: the caller may read `MINIPOD_BACKOFF_INITIAL_MS` (see
//! [`BackoffPolicy::from_initial_ms`]); nothing here reads the environment.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::{add, since, Timestamp};

/// Name of the environment variable the *caller* may read to override the initial back-off.
pub const INITIAL_BACKOFF_ENV: &str = "MINIPOD_BACKOFF_INITIAL_MS";

/// The numbers of the back-off sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackoffPolicy {
    /// First delay (kubelet: 10 s).
    pub initial: Duration,
    /// Cap (kubelet: 300 s). An entry also expires after 2 × `max` without a restart.
    pub max: Duration,
}

impl BackoffPolicy {
    /// The kubelet's defaults (kubelet.go backOffPeriod / MaxContainerBackOff).
    pub const KUBELET: BackoffPolicy = BackoffPolicy {
        initial: Duration::from_secs(10),
        max: Duration::from_secs(300),
    };

    /// The kubelet's policy with another initial delay, e.g. the value of
    /// `MINIPOD_BACKOFF_INITIAL_MS` read by the caller. `None` (unset or unparsable) keeps
    /// the kubelet default.
    pub fn from_initial_ms(initial_ms: Option<&str>) -> BackoffPolicy {
        match initial_ms.and_then(|s| s.trim().parse::<u64>().ok()) {
            Some(ms) => BackoffPolicy {
                initial: Duration::from_millis(ms),
                ..BackoffPolicy::KUBELET
            },
            None => BackoffPolicy::KUBELET,
        }
    }

    /// flowcontrol.Backoff hasExpired: more than 2 × max between two reference events.
    fn expired(&self, event: Timestamp, last_update: Timestamp) -> bool {
        since(event, last_update) > self.max.saturating_mul(2)
    }
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy::KUBELET
    }
}

/// Back-off state of one container (the kubelet keys it by pod UID + container name + hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartBackoff {
    policy: BackoffPolicy,
    entry: Option<Entry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    backoff: Duration,
    last_update: Timestamp,
}

impl RestartBackoff {
    pub fn new(policy: BackoffPolicy) -> RestartBackoff {
        RestartBackoff {
            policy,
            entry: None,
        }
    }

    pub fn policy(&self) -> BackoffPolicy {
        self.policy
    }

    /// The delay the next restart would be held for, if an entry is live for an exit at
    /// `finished_at` (flowcontrol `Get` combined with the expiry check).
    pub fn current_delay(&self, finished_at: Timestamp) -> Option<Duration> {
        let e = self.entry?;
        if self.policy.expired(finished_at, e.last_update) {
            return None;
        }
        Some(e.backoff)
    }

    /// When a container that exited at `finished_at` may be restarted; `None` means now
    /// (no live entry: the first restart, or the container ran cleanly long enough).
    /// kubelet: kuberuntime_manager.go doBackOff → `IsInBackOffSince(key, finishedAt)`.
    pub fn restart_not_before(&self, finished_at: Timestamp) -> Option<Timestamp> {
        self.current_delay(finished_at)
            .map(|delay| add(finished_at, delay))
    }

    /// True while a restart of a container that exited at `finished_at` must still wait.
    pub fn is_in_backoff(&self, finished_at: Timestamp, now: Timestamp) -> bool {
        self.restart_not_before(finished_at)
            .is_some_and(|t| now < t)
    }

    /// Call when a container that exited at `finished_at` is restarted (kubelet: `backOff.Next`
    /// after a successful doBackOff): starts at `initial`, doubles up to `max`, restarts the
    /// sequence when the entry expired.
    pub fn record_restart(&mut self, finished_at: Timestamp) {
        let backoff = match self.entry {
            Some(e) if !self.policy.expired(finished_at, e.last_update) => {
                e.backoff.saturating_mul(2).min(self.policy.max)
            }
            _ => self.policy.initial.min(self.policy.max),
        };
        self.entry = Some(Entry {
            backoff,
            last_update: finished_at,
        });
    }

    /// Forget the history (e.g. when the pod sandbox is recreated).
    pub fn reset(&mut self) {
        self.entry = None;
    }
}

impl Default for RestartBackoff {
    fn default() -> Self {
        RestartBackoff::new(BackoffPolicy::KUBELET)
    }
}

#[cfg(test)]
mod tests {
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
}
