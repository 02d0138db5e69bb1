//! X API v2 errors: the problem body `{"type", "title", "detail", "status"}`
//! (with `errors` for invalid requests), the `x-rate-limit-*` and 24-hour
//! limit headers, `402` when the account's credits are depleted and
//! `usage-capped` when a monthly cap is reached
//! (<https://docs.x.com/x-api/fundamentals/response-codes-and-errors>,
//! <https://docs.x.com/x-api/fundamentals/rate-limits>,
//! <https://docs.x.com/x-api/getting-started/pricing>).

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::http::generic_error;
use postd_core::reqwest::StatusCode;
use postd_core::reqwest::header::HeaderMap;
use postd_core::{Error, ErrorKind, Platform, Retry};
use serde::Deserialize;

/// The code of a `402`: the app's credits are spent.
pub const CREDITS_DEPLETED: &str = "credits_depleted";

/// The code of a `usage-capped` answer: a monthly (or other) usage cap is reached.
pub const USAGE_CAPPED: &str = "usage_capped";

/// The code of the duplicate-content refusal of `POST /2/tweets`.
pub const DUPLICATE_CONTENT: &str = "duplicate_content";

/// How long to wait when X gives no reset: a minute for a rate limit.
pub(crate) const DEFAULT_RATE_WAIT: Duration = Duration::from_secs(60);

/// How long to wait after a usage cap without a reset: an hour (someone must act).
pub(crate) const BILLING_WAIT: Duration = Duration::from_secs(3600);

/// How long to wait after a `402`: a quarter of an hour, so posts resume soon
/// after someone adds credits.
pub(crate) const CREDITS_WAIT: Duration = Duration::from_secs(15 * 60);

#[derive(Deserialize, Default)]
#[serde(default)]
struct Problem {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    detail: String,
    errors: Vec<serde_json::Value>,
}

/// The wait X's headers give at `now`: the exhausted 24-hour limit's reset
/// (user, then app), else `x-rate-limit-reset`, plus a second; `None` without one.
pub(crate) fn rate_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let num = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let until = |reset: Option<i64>| {
        reset.map(|r| {
            let secs = r.saturating_sub(now.timestamp()).clamp(0, 86_400) as u64;
            Duration::from_secs(secs + 1)
        })
    };
    for (remaining, reset) in [
        ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
        ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
    ] {
        if num(remaining) == Some(0)
            && let Some(wait) = until(num(reset))
        {
            return Some(wait);
        }
    }
    until(num("x-rate-limit-reset"))
}

/// Classifies an X API error answer.
pub(crate) fn parse_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Error {
    let problem = serde_json::from_slice::<Problem>(body)
        .ok()
        .filter(|p| !p.title.is_empty() || !p.detail.is_empty() || !p.kind.is_empty());
    let code = status.as_u16();
    let Some(p) = problem else {
        let e = generic_error(status, body).with_platform(Platform::Twitter);
        return match code {
            402 => credits(e.message().to_owned()),
            429 => e
                .with_kind(ErrorKind::RateLimited)
                .temporary(Some(rate_wait(headers, now).unwrap_or(DEFAULT_RATE_WAIT))),
            _ => e,
        };
    };
    let short = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    // `about:blank` names no problem.
    let problem_name = match p.kind.rsplit('/').next() {
        Some(name) if name != "about:blank" => name.to_owned(),
        _ => String::new(),
    };
    let mut text = match (p.title.is_empty(), p.detail.is_empty()) {
        (false, false) if p.title != p.detail => {
            format!("{}: {}", short(&p.title, 100), short(&p.detail, 300))
        }
        (false, _) => short(&p.title, 300),
        _ => short(&p.detail, 300),
    };
    if let Some(first) = p
        .errors
        .first()
        .and_then(|e| e.get("message"))
        .and_then(|m| m.as_str())
    {
        text.push_str(&format!(" ({})", short(first, 200)));
    }
    let detail = p.detail.to_ascii_lowercase();
    let (kind, retry, platform_code, advice): (ErrorKind, Retry, String, Option<&str>) =
        if problem_name == "usage-capped" {
            (
                ErrorKind::RateLimited,
                Retry::Temporary {
                    after: Some(rate_wait(headers, now).unwrap_or(BILLING_WAIT)),
                },
                USAGE_CAPPED.to_owned(),
                Some(
                    "the X app reached a usage cap of its plan; raise the cap or wait for the period to end",
                ),
            )
        } else if code == 402 || problem_name == "credits" {
            return credits(text).with_status(code);
        } else if detail.contains("duplicate content") {
            (
                ErrorKind::Duplicate,
                Retry::Permanent,
                DUPLICATE_CONTENT.to_owned(),
                None,
            )
        } else {
            let (kind, retry) = by_status(code, &problem_name, &detail, headers, now);
            (kind, retry, problem_name.clone(), None)
        };
    if let Some(advice) = advice {
        text.push_str(&format!(" ({advice})"));
    }
    let mut e = Error::new(kind, text)
        .with_retry(retry)
        .with_platform(Platform::Twitter)
        .with_status(code);
    if !platform_code.is_empty() {
        e = e.with_code(short(&platform_code, 64));
    }
    e
}

fn credits(text: String) -> Error {
    Error::new(
        ErrorKind::RateLimited,
        format!(
            "{} (the X app's credits are depleted: add credits in the X developer console; posts wait until then)",
            text.chars().take(300).collect::<String>()
        ),
    )
    .with_retry(Retry::Temporary {
        after: Some(CREDITS_WAIT),
    })
    .with_platform(Platform::Twitter)
    .with_status(402)
    .with_code(CREDITS_DEPLETED)
}

fn by_status(
    code: u16,
    problem: &str,
    detail: &str,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> (ErrorKind, Retry) {
    use ErrorKind as K;
    let permanent = Retry::Permanent;
    match code {
        400 => (K::InvalidContent, permanent),
        401 => (K::Auth, permanent),
        403 if detail.contains("not allowed to post a video longer") => {
            (K::MediaRejected, permanent)
        }
        403 if detail.contains("too long") => (K::InvalidContent, permanent),
        403 if detail.contains("reply to a tweet that is deleted")
            || detail.contains("reply to a post that is deleted") =>
        {
            (K::NotFound, permanent)
        }
        403 if problem == "client-forbidden" || problem == "unsupported-authentication" => {
            (K::Config, permanent)
        }
        403 => (K::PermissionDenied, permanent),
        404 => (K::NotFound, permanent),
        409 => (K::InvalidContent, permanent),
        429 => (
            K::RateLimited,
            Retry::Temporary {
                after: Some(rate_wait(headers, now).unwrap_or(DEFAULT_RATE_WAIT)),
            },
        ),
        500..=599 => (K::Unavailable, Retry::Temporary { after: None }),
        _ => (K::Unexpected, permanent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::reqwest::header::HeaderValue;

    fn parse(status: u16, body: &str) -> Error {
        parse_error(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            Utc::now(),
        )
    }

    /// Bodies as X's response-codes page and users' reports show them.
    #[test]
    fn every_documented_body_has_its_kind() {
        let cases: &[(u16, &str, ErrorKind, Option<&str>)] = &[
            (
                400,
                r#"{"errors":[{"parameters":{"media.media_ids":["1"]},"message":"Your media IDs are invalid."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}"#,
                ErrorKind::InvalidContent,
                Some("invalid-request"),
            ),
            (
                401,
                r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
                ErrorKind::Auth,
                None,
            ),
            (
                402,
                r#"{"title":"CreditsDepleted","type":"https://api.x.com/2/problems/credits","detail":"Your enrolled account does not have any credits to fulfill this request."}"#,
                ErrorKind::RateLimited,
                Some(CREDITS_DEPLETED),
            ),
            (
                403,
                r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","type":"about:blank","title":"Forbidden","status":403}"#,
                ErrorKind::Duplicate,
                Some(DUPLICATE_CONTENT),
            ),
            (
                403,
                r#"{"detail":"This user is not allowed to post a video longer than 2 minutes and 20 seconds.","type":"about:blank","title":"Forbidden","status":403}"#,
                ErrorKind::MediaRejected,
                None,
            ),
            (
                403,
                r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"Your Tweet text is too long."}"#,
                ErrorKind::InvalidContent,
                None,
            ),
            (
                403,
                r#"{"client_id":"1","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project.","registration_url":"https://developer.twitter.com/","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}"#,
                ErrorKind::Config,
                Some("client-forbidden"),
            ),
            (
                403,
                r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"The access token is missing the scopes this endpoint requires: media.write."}"#,
                ErrorKind::PermissionDenied,
                None,
            ),
            (
                404,
                r#"{"title":"Not Found Error","type":"https://api.x.com/2/problems/resource-not-found","detail":"Could not find tweet with id: [1]."}"#,
                ErrorKind::NotFound,
                Some("resource-not-found"),
            ),
            (
                429,
                r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
                ErrorKind::RateLimited,
                None,
            ),
            (
                429,
                r#"{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"https://api.x.com/2/problems/usage-capped","period":"Monthly","scope":"Product"}"#,
                ErrorKind::RateLimited,
                Some(USAGE_CAPPED),
            ),
            (
                503,
                r#"{"title":"Service Unavailable","detail":"Service Unavailable","type":"about:blank","status":503}"#,
                ErrorKind::Unavailable,
                None,
            ),
            (
                502,
                "<html><body>Bad gateway</body></html>",
                ErrorKind::Unavailable,
                None,
            ),
            (402, "", ErrorKind::RateLimited, Some(CREDITS_DEPLETED)),
        ];
        for (status, body, kind, code) in cases {
            let e = parse(*status, body);
            assert_eq!(e.kind(), *kind, "{status} {body}: {e}");
            assert_eq!(e.http_status(), Some(*status));
            assert_eq!(e.platform(), Some(Platform::Twitter));
            if let Some(code) = code {
                assert_eq!(e.platform_code(), Some(*code), "{body}");
            }
        }
    }

    #[test]
    fn billing_errors_say_what_to_do_and_wait() {
        let e = parse(402, r#"{"title":"CreditsDepleted","detail":"no credits"}"#);
        assert!(e.to_string().contains("add credits"), "{e}");
        assert_eq!(e.retry_after(), Some(CREDITS_WAIT));
        let capped = parse(
            429,
            r#"{"title":"UsageCapExceeded","type":"https://api.x.com/2/problems/usage-capped","detail":"Usage cap exceeded"}"#,
        );
        assert!(capped.to_string().contains("usage cap"), "{capped}");
        assert!(capped.is_temporary());
    }

    #[test]
    fn waits_come_from_the_exhausted_limit() {
        let now = Utc::now();
        let mut h = HeaderMap::new();
        let at = |s: i64| HeaderValue::from_str(&(now.timestamp() + s).to_string()).unwrap();
        h.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
        h.insert("x-rate-limit-reset", at(120));
        assert_eq!(rate_wait(&h, now), Some(Duration::from_secs(121)));
        h.insert(
            "x-user-limit-24hour-remaining",
            HeaderValue::from_static("0"),
        );
        h.insert("x-user-limit-24hour-reset", at(7200));
        assert_eq!(rate_wait(&h, now), Some(Duration::from_secs(7201)));
        // An absurd reset is held to a day; a reset in the past waits a second.
        let mut h = HeaderMap::new();
        h.insert(
            "x-rate-limit-reset",
            HeaderValue::from_static("99999999999999"),
        );
        assert_eq!(rate_wait(&h, now), Some(Duration::from_secs(86_401)));
        h.insert("x-rate-limit-reset", HeaderValue::from_static("1"));
        assert_eq!(rate_wait(&h, now), Some(Duration::from_secs(1)));
        h.insert("x-rate-limit-reset", HeaderValue::from_static("soon"));
        assert_eq!(rate_wait(&h, now), None);
    }
}
