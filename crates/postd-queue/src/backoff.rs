//! Retry delays: full-jitter exponential backoff, and the ceiling on every delay.

use std::time::Duration;

/// The longest delay the store will schedule: retry waits, backoff, leases and
/// lease extensions above it are cut to it.
///
/// A platform's `Retry-After` of a year, or `Duration::MAX` from a buggy
/// caller, would otherwise overflow the timestamp arithmetic or park a
/// delivery out of sight; thirty days is past any real rate-limit window.
pub const MAX_DELAY: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Full-jitter exponential backoff: the delay after attempt `n` is drawn
/// uniformly from `[0, min(max, base * 2^n)]`.
///
/// Jitter spreads the retries of jobs that failed together (a platform
/// outage) so they do not return together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The bound after attempt 0; doubles each attempt.
    pub base: Duration,
    /// The largest bound (itself capped at [`MAX_DELAY`]).
    pub max: Duration,
}

impl Default for Backoff {
    /// Two seconds doubling to one hour.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60 * 60),
        }
    }
}

impl Backoff {
    /// The upper bound of the draw after `attempt` attempts: `min(max, base * 2^attempt)`.
    #[must_use]
    pub fn bound(&self, attempt: u32) -> Duration {
        let cap = self.max.min(MAX_DELAY);
        // 2^31 seconds of base already dwarfs MAX_DELAY; stop doubling there.
        let factor = 1u32 << attempt.min(31);
        self.base.checked_mul(factor).map_or(cap, |d| d.min(cap))
    }

    /// A delay drawn uniformly from `[0, bound(attempt)]`, in whole milliseconds.
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = millis(self.bound(attempt));
        Duration::from_millis(rand::random_range(0..=bound))
    }
}

/// A duration in whole milliseconds, capped at [`MAX_DELAY`].
pub(crate) fn millis(d: Duration) -> u64 {
    // MAX_DELAY is 2.6e9 ms, far inside u64.
    u64::try_from(d.min(MAX_DELAY).as_millis()).unwrap_or(u64::MAX)
}

/// `now_ms + d`, with `d` capped at [`MAX_DELAY`].
pub(crate) fn after(now_ms: i64, d: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(millis(d)).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_bound_doubles_from_base_and_stops_at_max() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(10),
        };
        assert_eq!(b.bound(0), Duration::from_secs(1));
        assert_eq!(b.bound(1), Duration::from_secs(2));
        assert_eq!(b.bound(3), Duration::from_secs(8));
        assert_eq!(b.bound(4), Duration::from_secs(10));
        assert_eq!(b.bound(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn draws_stay_inside_the_bound() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(60),
        };
        for attempt in 0..12 {
            for _ in 0..50 {
                assert!(b.delay(attempt) <= b.bound(attempt));
            }
        }
    }

    #[test]
    fn absurd_durations_are_cut_to_the_ceiling_without_overflow() {
        let b = Backoff {
            base: Duration::MAX,
            max: Duration::MAX,
        };
        assert_eq!(b.bound(40), MAX_DELAY);
        assert_eq!(after(i64::MAX - 5, Duration::MAX), i64::MAX);
        assert_eq!(
            after(1_000, Duration::MAX),
            1_000 + i64::try_from(MAX_DELAY.as_millis()).unwrap()
        );
    }
}
