//! The retry decision, one pure function, and the policy and server hints it weighs.

use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderMap};

/// Retry settings of the shared client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff base: attempt `n` sleeps a random time in `[0, min(max_delay, base_delay * 2^n))`.
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
    /// Longest `Retry-After` POSTD sleeps on; longer waits are returned to the caller.
    pub max_retry_after: Duration,
    /// Time budget for one call, retries included.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            total_budget: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of retries.
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the backoff base and cap.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// Sets the longest `Retry-After` slept on.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The full-jitter backoff before retry number `attempt` (0-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(31)))
            .min(self.max_delay);
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::random_range(0..=millis))
    }

    /// The wait before retry number `attempt`: the platform's hint when it
    /// asks for longer than the backoff, else the backoff. A hint of zero (or
    /// a date already past) still waits the backoff.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let backoff = self.backoff(attempt);
        hint.map_or(backoff, |h| h.max(backoff))
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Sleep `delay`, then send the request again.
    Retry {
        /// How long to wait first.
        delay: Duration,
    },
    /// Give the error back to the caller.
    Stop(Stop),
}

/// Why a failed call is not retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// The error is permanent (or an unknown outcome): the same call fails the same way, or may double an effect.
    Permanent,
    /// The platform asked for a wait longer than [`RetryPolicy::max_retry_after`]: the caller (the queue) waits instead.
    WaitTooLong,
    /// The body was a stream and is spent: the request cannot be sent again.
    NotRepeatable,
    /// [`RetryPolicy::max_retries`] retries were made.
    Exhausted,
    /// The next wait would end past [`RetryPolicy::total_budget`].
    BudgetSpent,
}

/// The retry decision, in one place (the module docs' "what is retried" list is this function).
///
/// `err` is already classified: [`Retry::Temporary`](crate::Retry::Temporary)
/// only where a repeat cannot double an effect (the classifier turned every
/// maybe-applied create into a permanent unknown outcome). Then, in order:
/// 1. a permanent error stops;
/// 2. a server wait longer than `max_retry_after` stops (handed back with the wait);
/// 3. a body that cannot be sent again stops;
/// 4. `max_retries` retries made stops (exhausted);
/// 5. otherwise wait `max(server hint, full-jitter backoff)`, unless that ends
///    past `total_budget` since the first attempt (exhausted).
///
/// `attempt` counts the attempts already failed, from 0; `elapsed` is the
/// time since the first one started. The only input it does not take is the
/// random draw of the jitter.
pub fn decide(
    err: &crate::Error,
    attempt: u32,
    repeatable: bool,
    elapsed: Duration,
    policy: &RetryPolicy,
) -> Decision {
    if !err.is_temporary() {
        return Decision::Stop(Stop::Permanent);
    }
    let hint = err.retry_after();
    if hint.is_some_and(|h| h > policy.max_retry_after) {
        return Decision::Stop(Stop::WaitTooLong);
    }
    if !repeatable {
        return Decision::Stop(Stop::NotRepeatable);
    }
    if attempt >= policy.max_retries {
        return Decision::Stop(Stop::Exhausted);
    }
    let delay = policy.delay(attempt, hint);
    if elapsed.saturating_add(delay) > policy.total_budget {
        return Decision::Stop(Stop::BudgetSpent);
    }
    Decision::Retry { delay }
}

/// The wait a response asks for in its `Retry-After` header (delta-seconds or HTTP-date).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value (RFC 9110 section 10.2.3): delta-seconds, or
/// an HTTP-date in any of the three forms recipients must accept (section
/// 5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850
/// form (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
///
/// A date in the past means no wait. The result is at most
/// [`MAX_RETRY_WAIT`](crate::error::MAX_RETRY_WAIT) (one day): a number too
/// large for any clock is "a very long time", never "no wait" and never a panic.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    use crate::error::MAX_RETRY_WAIT;
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_WAIT));
    }
    let now: chrono::DateTime<chrono::Utc> = now.into();
    let date = http_date(value, now)?;
    let wait = date - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO).min(MAX_RETRY_WAIT))
}

/// An HTTP-date in any of its three forms, in UTC.
fn http_date(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{Datelike, NaiveDateTime};
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(value) {
        return Some(d.with_timezone(&chrono::Utc));
    }
    // asctime pads the day with a space (`Nov  6`): collapse runs of spaces first.
    let single_spaced = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Ok(d) = NaiveDateTime::parse_from_str(&single_spaced, "%a %b %d %H:%M:%S %Y") {
        return Some(d.and_utc());
    }
    // RFC 850: a two-digit year that would be more than 50 years ahead is the
    // most recent past year with those digits (RFC 9110 section 5.6.7).
    // The weekday is left out: parsing would check it against chrono's own century.
    let (_weekday, rest) = value.split_once(", ")?;
    let d = NaiveDateTime::parse_from_str(rest, "%d-%b-%y %H:%M:%S GMT").ok()?;
    let two_digits = d.year().rem_euclid(100);
    let mut year = now.year() - now.year().rem_euclid(100) + two_digits;
    if year > now.year() + 50 {
        year -= 100;
    }
    Some(d.with_year(year)?.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, ErrorKind};

    #[test]
    fn the_retry_decision_follows_the_documented_list_in_order() {
        let policy = RetryPolicy::default()
            .with_max_retries(2)
            .with_backoff(Duration::from_millis(10), Duration::from_millis(40))
            .with_max_retry_after(Duration::from_secs(60));
        let temporary = Error::new(ErrorKind::Unavailable, "503");
        let zero = Duration::ZERO;
        // 1. permanent errors, unknown outcomes included, are never retried.
        for kind in [
            ErrorKind::UnknownOutcome,
            ErrorKind::InvalidContent,
            ErrorKind::Auth,
        ] {
            let e = Error::new(kind, "x");
            assert_eq!(
                decide(&e, 0, true, zero, &policy),
                Decision::Stop(Stop::Permanent)
            );
        }
        // 2. a wait longer than the cap goes back to the caller, even with retries left.
        let long =
            Error::new(ErrorKind::RateLimited, "429").temporary(Some(Duration::from_secs(61)));
        assert_eq!(
            decide(&long, 0, true, zero, &policy),
            Decision::Stop(Stop::WaitTooLong)
        );
        // 3. a spent stream cannot be sent again.
        assert_eq!(
            decide(&temporary, 0, false, zero, &policy),
            Decision::Stop(Stop::NotRepeatable)
        );
        // 4. retries are counted.
        assert_eq!(
            decide(&temporary, 2, true, zero, &policy),
            Decision::Stop(Stop::Exhausted)
        );
        // 5. the server's wait wins over the backoff, and the budget bounds it all.
        let hinted =
            Error::new(ErrorKind::RateLimited, "429").temporary(Some(Duration::from_secs(30)));
        assert_eq!(
            decide(&hinted, 0, true, zero, &policy),
            Decision::Retry {
                delay: Duration::from_secs(30)
            }
        );
        assert_eq!(
            decide(&hinted, 0, true, Duration::from_secs(100), &policy),
            Decision::Stop(Stop::BudgetSpent)
        );
        match decide(&temporary, 1, true, zero, &policy) {
            Decision::Retry { delay } => assert!(delay <= Duration::from_millis(20)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now),
            Some(Duration::ZERO)
        );
        // More digits than a u64 holds is a very long wait, never "no wait",
        // and never more than a day: callers add it to clocks.
        for huge in [
            "99999999999999999999999",
            "1000000000000000000000000000000",
            "18446744073709551615",
        ] {
            assert_eq!(
                parse_retry_after(huge, now),
                Some(crate::error::MAX_RETRY_WAIT),
                "{huge}"
            );
            let wait = parse_retry_after(huge, now).unwrap();
            let _ = std::time::Instant::now() + wait; // must not panic
        }
        assert_eq!(
            parse_retry_after("Sat, 06 Nov 2094 08:49:47 GMT", now),
            Some(crate::error::MAX_RETRY_WAIT)
        );
        for bad in ["", "-5", "1.5", "soon", "Sun, 99 Nov 1994 08:49:47 GMT"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_accepts_the_obsolete_date_forms() {
        // RFC 9110 section 5.6.7's own example instant, in its three forms.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        for form in [
            "Sun, 06 Nov 1994 08:50:37 GMT",
            "Sunday, 06-Nov-94 08:50:37 GMT",
            "Sun Nov  6 08:50:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(60)),
                "{form}"
            );
        }
        // A two-digit year is read within 50 years of now, not as 19xx forever.
        let in_2026 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000); // 2026-11-30
        assert_eq!(
            parse_retry_after("Sunday, 29-Nov-26 08:00:00 GMT", in_2026),
            Some(Duration::ZERO),
            "a 2026 date already past means no wait"
        );
        assert!(
            parse_retry_after("Wednesday, 02-Dec-26 08:00:00 GMT", in_2026)
                .is_some_and(|d| d > Duration::from_secs(3600)),
            "26 is 2026, not 1926"
        );
    }

    #[test]
    fn a_zero_hint_still_backs_off_and_a_long_hint_wins() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(1_000));
        // "Retry now" from a platform under load is no reason to hammer it.
        assert!((0..50).any(|_| p.delay(2, Some(Duration::ZERO)) > Duration::ZERO));
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert!(p.delay(2, None) <= Duration::from_millis(400));
    }

    #[test]
    fn backoff_is_full_jitter_under_the_cap() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(1_000));
        for attempt in 0..40 {
            let d = p.backoff(attempt);
            let cap = Duration::from_millis(100 * 2u64.pow(attempt.min(10)))
                .min(Duration::from_millis(1_000));
            assert!(d <= cap, "attempt {attempt}: {d:?} > {cap:?}");
        }
        // Full jitter: over many draws some are well below the cap.
        assert!((0..200).any(|_| p.backoff(5) < Duration::from_millis(500)));
        assert_eq!(
            RetryPolicy::default()
                .with_backoff(Duration::ZERO, Duration::ZERO)
                .backoff(3),
            Duration::ZERO
        );
    }
}
