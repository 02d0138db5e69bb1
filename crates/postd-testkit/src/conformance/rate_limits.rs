//! Rate-limit behaviours: a `429` with `Retry-After` (RFC 9110 section
//! 10.2.3, <https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3>) on a create
//! and on a read, under the shared HTTP client's rules, and the platform's
//! own rate-limit signal where the fake models one.
//!
//! The client's rules ([`postd_core::http::decide`]): a wait the policy
//! allows (`max_retry_after`) is slept and the call made again (a refused
//! create is safe to repeat); a longer one goes back to the caller as
//! [`ErrorKind::RateLimited`] with the wait, and nothing is sent again.

use std::time::Duration;

use chrono::Utc;
use postd_core::error::MAX_RETRY_WAIT;
use postd_core::{Error, ErrorKind};

use super::{Outcome, Route, Seeded, Subject, ensure, sample_post};
use crate::{Fault, Timing};

/// The wait the policy hands back to the caller: one second past `max_retry_after`.
fn too_long(s: &Subject<'_>) -> Option<Duration> {
    let secs = s.retry.max_retry_after.as_secs() + 1;
    let wait = Duration::from_secs(secs);
    (wait <= MAX_RETRY_WAIT).then_some(wait)
}

fn check_handed_back(s: &Subject<'_>, rule: &str, what: &str, e: &Error, wait: Duration) {
    ensure!(
        s,
        rule,
        e.kind() == ErrorKind::RateLimited && e.is_temporary() && e.retry_after() == Some(wait),
        "{what}: expected RateLimited with retry after {wait:?}, got {e} (retry after {:?})",
        e.retry_after()
    );
}

async fn count(s: &Subject<'_>, route: Route, since: usize) -> usize {
    s.received_since(since)
        .await
        .iter()
        .filter(|r| route.matches(r))
        .count()
}

/// A `429` on the create: `Retry-After: 0` is retried (one post, two
/// create calls) when the policy retries at all; a wait longer than the
/// policy's `max_retry_after` is handed back with the wait, and the create is
/// not sent again.
pub async fn rate_limit_retry_after_on_create(s: &Subject<'_>) -> Outcome {
    const RULE: &str =
        "rate limits: a 429 with Retry-After on a create is retried or handed back with the wait";
    let seeded = s.seed();
    let route = s.fake.create_route(&seeded.target);
    s.fake.faults().inject(
        route.method,
        route.path_contains,
        Fault::rate_limited("0"),
        1,
        Timing::BeforeCommit,
    );
    let before = s.received_count().await;
    let post = sample_post(s, &seeded.target, "limited-create");
    let result = s
        .connector
        .publish(&seeded.credentials, &seeded.target, &post)
        .await;
    if s.retry.max_retries == 0 {
        let e = s.expect_kind(
            RULE,
            "publish with no retries",
            result,
            ErrorKind::RateLimited,
        );
        check_handed_back(
            s,
            RULE,
            "Retry-After: 0 without retries",
            &e,
            Duration::ZERO,
        );
    } else {
        let outcome = s.expect_ok(RULE, "publish after Retry-After: 0", result);
        s.settle(RULE, &seeded.credentials, outcome).await;
        let n = count(s, route, before).await;
        ensure!(
            s,
            RULE,
            n == 2,
            "Retry-After: 0: {n} create calls, expected the refused one and one retry"
        );
        ensure!(
            s,
            RULE,
            s.fake.post_ids(&seeded.target).len() == 1,
            "Retry-After: 0: the platform holds {} posts",
            s.fake.post_ids(&seeded.target).len()
        );
    }
    let Some(wait) = too_long(s) else {
        return Outcome::Partial(vec![format!(
            "max_retry_after {:?} is a day or more: no longer wait can be asked",
            s.retry.max_retry_after
        )]);
    };
    let seeded = s.seed();
    s.fake.faults().inject(
        route.method,
        route.path_contains,
        Fault::rate_limited(&wait.as_secs().to_string()),
        1,
        Timing::BeforeCommit,
    );
    let before = s.received_count().await;
    let post = sample_post(s, &seeded.target, "limited-create-long");
    let result = s
        .connector
        .publish(&seeded.credentials, &seeded.target, &post)
        .await;
    let e = s.expect_kind(
        RULE,
        "publish after a long Retry-After",
        result,
        ErrorKind::RateLimited,
    );
    check_handed_back(s, RULE, "a long Retry-After on the create", &e, wait);
    let n = count(s, route, before).await;
    ensure!(
        s,
        RULE,
        n == 1,
        "a long Retry-After: the create was sent {n} times"
    );
    ensure!(
        s,
        RULE,
        s.fake.post_ids(&seeded.target).is_empty(),
        "a refused create made a post"
    );
    Outcome::Passed
}

/// A `429` on a read (`find_published`): `Retry-After: 0` is retried and
/// the read answers; a wait longer than `max_retry_after` is handed back with it.
pub async fn rate_limit_retry_after_on_read(s: &Subject<'_>) -> Outcome {
    const RULE: &str =
        "rate limits: a 429 with Retry-After on a read is retried or handed back with the wait";
    let reads = s.fake.lookup_route();
    let find = |seeded: &Seeded, tag: &str| {
        let post = sample_post(s, &seeded.target, tag);
        post.fingerprint(Utc::now() - chrono::Duration::minutes(1))
    };
    let seeded = s.seed();
    s.fake.faults().inject(
        reads.method,
        reads.path_contains,
        Fault::rate_limited("0"),
        1,
        Timing::BeforeCommit,
    );
    let before = s.received_count().await;
    let result = s
        .connector
        .find_published(
            &seeded.credentials,
            &seeded.target,
            &find(&seeded, "limited-read"),
        )
        .await;
    if s.retry.max_retries == 0 {
        let e = s.expect_kind(
            RULE,
            "find_published with no retries",
            result,
            ErrorKind::RateLimited,
        );
        check_handed_back(
            s,
            RULE,
            "Retry-After: 0 without retries",
            &e,
            Duration::ZERO,
        );
    } else {
        s.expect_lookup(RULE, "find_published after Retry-After: 0", result);
        let n = count(s, reads, before).await;
        ensure!(
            s,
            RULE,
            n >= 2,
            "Retry-After: 0 on a read: {n} reads, so it was not retried"
        );
    }
    let Some(wait) = too_long(s) else {
        return Outcome::Partial(vec![format!(
            "max_retry_after {:?} is a day or more: no longer wait can be asked",
            s.retry.max_retry_after
        )]);
    };
    let seeded = s.seed();
    s.fake.faults().inject(
        reads.method,
        reads.path_contains,
        Fault::rate_limited(&wait.as_secs().to_string()),
        1,
        Timing::BeforeCommit,
    );
    let before = s.received_count().await;
    let result = s
        .connector
        .find_published(
            &seeded.credentials,
            &seeded.target,
            &find(&seeded, "limited-read-long"),
        )
        .await;
    let e = s.expect_kind(
        RULE,
        "find_published after a long Retry-After",
        result,
        ErrorKind::RateLimited,
    );
    check_handed_back(s, RULE, "a long Retry-After on a read", &e, wait);
    let n = count(s, reads, before).await;
    ensure!(
        s,
        RULE,
        n == 1,
        "a long Retry-After on a read: {n} reads, expected no retry"
    );
    Outcome::Passed
}

/// The platform's own rate limit (Meta's business use case throttle,
/// LinkedIn's daily limits): publish answers [`ErrorKind::RateLimited`] with
/// a wait no longer than the platform's signal allows, and makes no post.
pub async fn rate_limit_platform_signal(s: &Subject<'_>) -> Outcome {
    const RULE: &str =
        "rate limits: the platform's own rate-limit signal is RateLimited with a wait";
    let seeded = s.seed();
    let Some(bound) = s.fake.throttle_account(&seeded, true) else {
        return Outcome::Skipped(
            "the fake models no rate-limit signal of the platform's own".into(),
        );
    };
    let post = sample_post(s, &seeded.target, "throttled");
    let result = s
        .connector
        .publish(&seeded.credentials, &seeded.target, &post)
        .await;
    s.fake.throttle_account(&seeded, false);
    let e = s.expect_kind(
        RULE,
        "publish while throttled",
        result,
        ErrorKind::RateLimited,
    );
    let wait = e.retry_after().unwrap_or_default();
    ensure!(
        s,
        RULE,
        e.is_temporary() && wait > Duration::ZERO && wait <= bound + Duration::from_secs(1),
        "the wait is {:?}; the platform's signal allows up to {bound:?}",
        e.retry_after()
    );
    ensure!(
        s,
        RULE,
        s.fake.post_ids(&seeded.target).is_empty(),
        "a throttled publish made a post"
    );
    Outcome::Passed
}
