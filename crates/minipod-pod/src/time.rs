//! Small helpers over `jiff::Timestamp` (the type inside `meta/v1.Time`) and `std::time::Duration`.
//!
//! All times in this crate are wall-clock timestamps passed in by the caller; nothing here reads
//! a clock.

use std::time::{Duration, Instant};

pub use k8s_openapi::jiff::Timestamp;

/// The farthest monotonic deadline minipod schedules: about a century. Manifests may ask for
/// waits up to `i64::MAX` seconds (`terminationGracePeriodSeconds`, sleep hooks), and an
/// `Instant` plus such a duration overflows (std panics on `Instant + Duration` overflow).
/// Nothing that far away can tell the difference.
pub const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + d` as a monotonic deadline, clamped to [`FAR_FUTURE`] instead of panicking.
pub fn deadline_after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d.min(FAR_FUTURE))
        .or_else(|| now.checked_add(Duration::from_secs(24 * 3600)))
        // Unreachable with a monotonic clock (it starts near zero); waking early is safe.
        .unwrap_or(now)
}

/// `t + d`, saturating at the largest representable timestamp instead of panicking.
pub fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// `later - earlier`, or zero when `later` is not after `earlier`.
pub fn since(later: Timestamp, earlier: Timestamp) -> Duration {
    Duration::try_from(later.duration_since(earlier)).unwrap_or(Duration::ZERO)
}

/// `meta/v1.Time` for a timestamp.
pub fn k8s_time(t: Timestamp) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t)
}

/// Go's `time.Duration.String()` for non-negative durations (`10s`, `1m20s`, `5m0s`, `100ms`,
/// `1.5s`, `0s`), which the kubelet uses in the back-off message.
pub fn go_duration_string(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < 1_000_000_000 {
        // Sub-second: the largest unit that keeps the integer part non-zero.
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1u128)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", fraction(nanos, scale));
    }
    let total_secs = nanos / 1_000_000_000;
    let frac_nanos = nanos % 1_000_000_000;
    let hours = total_secs / 3600;
    let minutes = (total_secs % 3600) / 60;
    let secs = total_secs % 60;
    let secs_str = fraction(secs * 1_000_000_000 + frac_nanos, 1_000_000_000);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&secs_str);
    out.push('s');
    out
}

/// `value / scale` printed like Go: integer part, then the fraction without trailing zeros.
fn fraction(value: u128, scale: u128) -> String {
    let int = value / scale;
    let mut frac = value % scale;
    if frac == 0 {
        return int.to_string();
    }
    let mut digits = scale.to_string().len() - 1;
    while frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    format!("{int}.{frac:0digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_clamp_instead_of_overflowing() {
        let now = Instant::now();
        let secs = |s: u64| Duration::from_secs(s);
        let cases = [
            (Duration::ZERO, Duration::ZERO),
            (secs(30), secs(30)),
            (FAR_FUTURE, FAR_FUTURE),
            (FAR_FUTURE + secs(1), FAR_FUTURE),
            (secs(i64::MAX as u64), FAR_FUTURE),
            (Duration::MAX, FAR_FUTURE),
        ];
        for (d, want) in cases {
            assert_eq!(deadline_after(now, d) - now, want, "{d:?}");
        }
        // Wall-clock arithmetic saturates too.
        assert_eq!(add(Timestamp::MAX, secs(1)), Timestamp::MAX);
        assert_eq!(add(Timestamp::UNIX_EPOCH, Duration::MAX), Timestamp::MAX);
    }

    #[test]
    fn go_duration_strings() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(20), "20s"),
            (Duration::from_secs(80), "1m20s"),
            (Duration::from_secs(160), "2m40s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(3661), "1h1m1s"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_millis(2250), "2.25s"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_nanos(7), "7ns"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration_string(d), want, "{d:?}");
        }
    }

    #[test]
    fn add_and_since() {
        let t = Timestamp::from_second(1_000).unwrap();
        let later = add(t, Duration::from_secs(5));
        assert_eq!(since(later, t), Duration::from_secs(5));
        assert_eq!(since(t, later), Duration::ZERO);
    }
}
