//! One polling policy for work a platform finishes on its own time: a video
//! processing, a container becoming ready.
//!
//! `publish` polls in place, from [`first`](PollPolicy::first) doubling up to
//! [`max`](PollPolicy::max), for at most [`wait`](PollPolicy::wait); after
//! that it answers `Pending`, and the queue asks
//! [`publish_status`](crate::Connector::publish_status) again every
//! [`ask_again`](PollPolicy::ask_again).
//!
//! ```
//! use std::time::Duration;
//! use postd_core::poll::PollPolicy;
//!
//! let p = PollPolicy::new(Duration::from_secs(60), Duration::from_secs(1), Duration::from_secs(8));
//! let delays: Vec<u64> = p.delays().take(6).map(|d| d.as_secs()).collect();
//! assert_eq!(delays, [1, 2, 4, 8, 8, 8]);
//! assert_eq!(p.ask_again(), Duration::from_secs(8));
//! ```

use std::time::Duration;

/// How long and how often to poll a platform that is still processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollPolicy {
    /// How long `publish` polls before it answers `Pending`.
    pub wait: Duration,
    /// The first interval.
    pub first: Duration,
    /// The longest interval; also how often the queue asks again.
    pub max: Duration,
}

impl PollPolicy {
    /// A policy; `first` is raised to at least 1 ms and `max` to at least `first`.
    pub fn new(wait: Duration, first: Duration, max: Duration) -> Self {
        let first = first.max(Duration::from_millis(1));
        PollPolicy {
            wait,
            first,
            max: max.max(first),
        }
    }

    /// The intervals between polls: `first`, doubling, capped at `max`, forever.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        let max = self.max;
        std::iter::successors(Some(self.first), move |d| {
            Some(d.saturating_mul(2).min(max))
        })
    }

    /// How long the queue waits before asking [`publish_status`](crate::Connector::publish_status) again.
    pub fn ask_again(&self) -> Duration {
        self.max
    }
}

impl Default for PollPolicy {
    /// Poll for a minute, from 1 s up to every 30 s.
    fn default() -> Self {
        PollPolicy::new(
            Duration::from_secs(60),
            Duration::from_secs(1),
            Duration::from_secs(30),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_settings_still_make_progress() {
        let p = PollPolicy::new(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert!(p.delays().take(3).all(|d| d >= Duration::from_millis(1)));
        assert!(p.ask_again() >= p.first);
        let big = PollPolicy::new(Duration::MAX, Duration::MAX, Duration::MAX);
        assert_eq!(big.delays().nth(5), Some(Duration::MAX));
    }
}
