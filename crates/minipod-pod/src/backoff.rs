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
mod tests;
