//! Graph API errors: one `parse_error` that turns an error answer into a
//! POSTD [`Error`], classified by Meta's `code` and `error_subcode` rather
//! than by HTTP status (most Graph errors are HTTP 400, some are 500).
//!
//! Sources: Graph API error handling and rate limiting guides, and the
//! Instagram Platform error codes page (see the fact sheet, section A6).

use std::time::Duration;

use postd_core::http::generic_error;
use postd_core::reqwest::StatusCode;
use postd_core::reqwest::header::HeaderMap;
use postd_core::{Error, ErrorKind, Platform, Retry};
use serde::Deserialize;

use crate::usage::BusinessUsage;

/// How long to wait on a rate limit that gave no `estimated_time_to_regain_access`:
/// Meta's windows are a rolling hour, so a quick retry only burns more quota.
pub(crate) const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(300);

/// The Instagram daily publishing limit rolls over a 24-hour window.
const PUBLISH_LIMIT_WAIT: Duration = Duration::from_secs(3600);

#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

/// The `error` object of a Graph answer.
#[derive(Deserialize, Debug, Clone, Default)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) code: Option<i64>,
    #[serde(default)]
    pub(crate) error_subcode: Option<i64>,
    #[serde(default)]
    pub(crate) is_transient: Option<bool>,
    #[serde(default)]
    pub(crate) error_user_msg: Option<String>,
    #[serde(default)]
    pub(crate) fbtrace_id: Option<String>,
}

/// Classifies a non-2xx Graph answer.
/// A post that fails validation: nothing was sent to Meta.
pub(crate) fn invalid(msg: &str) -> Error {
    validation(ErrorKind::InvalidContent, msg)
}

/// Media that fails validation (kind, size, count): nothing was sent to Meta.
pub(crate) fn rejected(msg: &str) -> Error {
    validation(ErrorKind::MediaRejected, msg)
}

fn validation(kind: ErrorKind, msg: &str) -> Error {
    Error::new(kind, msg)
        .with_platform(Platform::Meta)
        .with_operation("validate")
}

pub(crate) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let Ok(Envelope { error }) = serde_json::from_slice::<Envelope>(body) else {
        // An HTML 502 from a proxy, an empty body: keep the status and a snippet.
        return generic_error(status, body).with_platform(Platform::Meta);
    };
    let wait = BusinessUsage::from_headers(headers).and_then(|u| u.longest_wait());
    from_graph_error(&error, Some(status), wait)
}

/// Graph's error envelope, `{"error": {...}}`, which no successful answer has.
pub(crate) fn is_graph_error_body(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        error: Option<serde_json::Value>,
    }
    // Nearly every answer is a success: a body without the key is not an
    // error envelope, and needs no parse to say so. The searcher is built
    // once (`memmem::find` builds one per call, most of a short search).
    static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"error\""));
    if KEY.find(body).is_none() {
        return false;
    }
    serde_json::from_slice::<Probe>(body)
        .is_ok_and(|p| p.error.as_ref().is_some_and(serde_json::Value::is_object))
}

/// Turns a Graph `error` object into an [`Error`]; `wait` is the rate-limit
/// wait the usage headers announced, if any.
pub(crate) fn from_graph_error(
    error: &GraphError,
    status: Option<StatusCode>,
    wait: Option<Duration>,
) -> Error {
    let code = error.code.unwrap_or(0);
    let subcode = error.error_subcode;
    let (kind, retry) = classify(code, subcode, error.is_transient.unwrap_or(false), wait);
    let mut message = error
        .message
        .clone()
        .or_else(|| error.error_user_msg.clone())
        .unwrap_or_else(|| "Graph API error".to_owned());
    message.truncate(
        message
            .char_indices()
            .nth(400)
            .map_or(message.len(), |(i, _)| i),
    );
    if let Some(trace) = &error.fbtrace_id {
        message.push_str(&format!(" [fbtrace_id {trace}]"));
    }
    let code_text = match subcode {
        Some(s) => format!("{code}/{s}"),
        None => code.to_string(),
    };
    let mut err = Error::new(kind, message)
        .with_retry(retry)
        .with_platform(Platform::Meta)
        .with_code(code_text);
    if let Some(s) = status {
        err = err.with_status(s.as_u16());
    }
    err
}

/// The classification table. `is_transient` from Meta makes an otherwise
/// unknown error temporary.
pub(crate) fn classify(
    code: i64,
    subcode: Option<i64>,
    is_transient: bool,
    wait: Option<Duration>,
) -> (ErrorKind, Retry) {
    use ErrorKind::*;
    let temporary = |after: Option<Duration>| Retry::Temporary { after };
    let rate_limited = (
        RateLimited,
        temporary(Some(wait.unwrap_or(DEFAULT_RATE_LIMIT_WAIT))),
    );
    // Instagram subcodes are more specific than their codes, so they go first.
    if let Some(sub) = subcode {
        let by_subcode = match sub {
            2207003 => Some((Unavailable, temporary(None))), // media download timed out
            2207020 => Some((NotFound, temporary(None))), // media expired: a new publish makes a new container
            2207001 | 2207032 | 2207053 => Some((Unavailable, temporary(None))),
            2207057 => Some((InvalidContent, Retry::Permanent)), // thumb_offset out of range
            2207051 => Some((PermissionDenied, Retry::Permanent)), // restricted as spam
            2207042 => Some((RateLimited, temporary(Some(PUBLISH_LIMIT_WAIT)))), // daily publish limit
            2207006 => Some((NotFound, Retry::Permanent)),
            2207008 => Some((NotFound, temporary(Some(Duration::from_secs(30))))), // container not ready or expired
            2207050 => Some((PermissionDenied, Retry::Permanent)), // account restricted
            2207023 | 2207026 | 2207052 | 2207004 | 2207005 | 2207009 | 2207077 | 2207082
            | 2207085 => Some((MediaRejected, Retry::Permanent)),
            2207028 | 2207040 | 2207010 | 2207018 | 2207035 | 2207036 | 2207037 => {
                Some((InvalidContent, Retry::Permanent))
            }
            2207027 => Some((Unavailable, temporary(Some(Duration::from_secs(10))))), // not ready for publishing
            1390008 => Some((RateLimited, temporary(Some(Duration::from_secs(900))))), // posting too fast
            33 if code == 100 => Some((NotFound, Retry::Permanent)), // object does not exist
            // An expired or used authorization code: only a new authorization gives another.
            36007 | 36009 => Some((ReauthRequired, Retry::Permanent)),
            492 => Some((PermissionDenied, Retry::Permanent)), // page token user has no role on the page
            _ => None,
        };
        if let Some(c) = by_subcode {
            return c;
        }
    }
    match code {
        1 | 2 => (Unavailable, temporary(None)),
        -1 | -2 => (Unavailable, temporary(None)),
        4 | 17 | 32 | 613 | 341 => rate_limited,
        80000..=80014 => rate_limited,
        9 => (RateLimited, temporary(Some(PUBLISH_LIMIT_WAIT))),
        3 | 10 | 200..=299 => (PermissionDenied, Retry::Permanent),
        25 => (PermissionDenied, Retry::Permanent),
        102 | 190 => (ReauthRequired, Retry::Permanent),
        // "Temporarily blocked for policies violations": wait long, then try again.
        368 => (RateLimited, temporary(Some(Duration::from_secs(3600)))),
        506 => (Duplicate, Retry::Permanent),
        24 => (NotFound, Retry::Permanent),
        100 | 1609005 => (InvalidContent, Retry::Permanent),
        352 | 9004 | 36000 | 36001 | 36003 => (MediaRejected, Retry::Permanent),
        36004 => (InvalidContent, Retry::Permanent),
        9007 => (Unavailable, temporary(Some(Duration::from_secs(10)))),
        _ if is_transient => (Unavailable, temporary(None)),
        _ => (Unexpected, Retry::Permanent),
    }
}

/// Classifies an Instagram container's `status` text, such as
/// `"Error: Media upload has failed with error code 2207082"`.
pub(crate) fn container_status_kind(status: &str) -> (ErrorKind, Option<i64>) {
    let subcode = status
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| s.len() == 7 && s.starts_with("22"))
        .find_map(|s| s.parse::<i64>().ok());
    match subcode {
        Some(sub) => (classify(0, Some(sub), false, None).0, Some(sub)),
        None => (ErrorKind::MediaRejected, None),
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
        )
    }

    fn body(code: i64, subcode: Option<i64>, transient: bool) -> String {
        let sub = subcode
            .map(|s| format!(r#","error_subcode":{s}"#))
            .unwrap_or_default();
        format!(
            r#"{{"error":{{"message":"(#{code}) test","type":"OAuthException","code":{code}{sub},"is_transient":{transient},"fbtrace_id":"AbCdEf"}}}}"#
        )
    }

    #[test]
    fn table_of_graph_errors() {
        use ErrorKind::*;
        // (HTTP status, code, subcode, is_transient, kind, temporary)
        type Case = (u16, i64, Option<i64>, bool, ErrorKind, bool);
        let cases: &[Case] = &[
            (500, 1, None, true, Unavailable, true),
            (500, 2, None, true, Unavailable, true),
            (400, 4, None, true, RateLimited, true),
            (400, 17, None, true, RateLimited, true),
            (400, 32, None, true, RateLimited, true),
            (400, 613, None, true, RateLimited, true),
            (400, 613, Some(1996), true, RateLimited, true),
            (400, 80001, None, true, RateLimited, true),
            (400, 80002, None, true, RateLimited, true),
            (400, 190, None, false, ReauthRequired, false),
            (400, 190, Some(458), false, ReauthRequired, false),
            (400, 190, Some(459), false, ReauthRequired, false),
            (400, 190, Some(460), false, ReauthRequired, false),
            (400, 190, Some(463), false, ReauthRequired, false),
            (400, 190, Some(464), false, ReauthRequired, false),
            (400, 190, Some(467), false, ReauthRequired, false),
            (400, 190, Some(492), false, PermissionDenied, false),
            (400, 102, None, false, ReauthRequired, false),
            (403, 10, None, false, PermissionDenied, false),
            (400, 200, None, false, PermissionDenied, false),
            (400, 230, None, false, PermissionDenied, false),
            (400, 299, None, false, PermissionDenied, false),
            (400, 100, None, false, InvalidContent, false),
            (400, 100, Some(33), false, NotFound, false),
            (400, 100, Some(36007), false, ReauthRequired, false),
            (400, 100, Some(36009), false, ReauthRequired, false),
            (400, 368, None, false, RateLimited, true),
            (400, 368, Some(1390008), false, RateLimited, true),
            (400, 506, None, false, Duplicate, false),
            (400, 9007, Some(2207027), false, Unavailable, true),
            (400, 9, Some(2207042), false, RateLimited, true),
            (400, 1609005, None, false, InvalidContent, false),
            // Instagram media errors.
            (400, -2, Some(2207003), true, Unavailable, true),
            (400, -2, Some(2207020), false, NotFound, true),
            (400, -1, Some(2207001), true, Unavailable, true),
            (400, -1, Some(2207032), true, Unavailable, true),
            (400, 1, Some(2207057), false, InvalidContent, false),
            (400, 4, Some(2207051), false, PermissionDenied, false),
            (400, 24, Some(2207006), false, NotFound, false),
            (400, 24, Some(2207008), false, NotFound, true),
            (400, 25, Some(2207050), false, PermissionDenied, false),
            (400, 100, Some(2207023), false, MediaRejected, false),
            (400, 100, Some(2207028), false, InvalidContent, false),
            (400, 100, Some(2207040), false, InvalidContent, false),
            (400, 352, Some(2207026), false, MediaRejected, false),
            (400, 9004, Some(2207052), false, MediaRejected, false),
            (400, 36000, Some(2207004), false, MediaRejected, false),
            (400, 36001, Some(2207005), false, MediaRejected, false),
            (400, 36003, Some(2207009), false, MediaRejected, false),
            (400, 36004, Some(2207010), false, InvalidContent, false),
            (400, 123456, None, true, Unavailable, true),
            (400, 123456, None, false, Unexpected, false),
        ];
        for &(status, code, sub, transient, kind, temporary) in cases {
            let err = parse(status, &body(code, sub, transient));
            assert_eq!(err.kind(), kind, "code {code}/{sub:?}: {err}");
            assert_eq!(err.is_temporary(), temporary, "code {code}/{sub:?}: {err}");
            assert_eq!(err.http_status(), Some(status));
            assert_eq!(err.platform(), Some(Platform::Meta));
            let want_code = match sub {
                Some(s) => format!("{code}/{s}"),
                None => code.to_string(),
            };
            assert_eq!(err.platform_code(), Some(want_code.as_str()));
            assert!(err.message().contains("fbtrace_id AbCdEf"), "{err}");
        }
    }

    #[test]
    fn rate_limits_wait_for_the_announced_time() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"112233":[{"type":"pages","call_count":100,"total_cputime":12,"total_time":30,"estimated_time_to_regain_access":7}]}"#,
            ),
        );
        let err = parse_error(
            StatusCode::BAD_REQUEST,
            &headers,
            body(80001, None, true).as_bytes(),
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7 * 60)));
        // Without a hint, Meta's hourly windows call for a long wait, not a quick retry.
        assert_eq!(
            parse(400, &body(4, None, true)).retry_after(),
            Some(DEFAULT_RATE_LIMIT_WAIT)
        );
    }

    #[test]
    fn non_json_bodies_keep_the_status() {
        let err = parse(502, "<html><body>502 Bad Gateway</body></html>");
        assert_eq!(err.http_status(), Some(502));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_temporary());
        assert!(err.message().contains("Bad Gateway"));
        let err = parse(400, "");
        assert_eq!(err.http_status(), Some(400));
        let err = parse(400, r#"{"error":"not an object"}"#);
        assert_eq!(err.kind(), ErrorKind::InvalidContent);
    }

    #[test]
    fn mutated_error_bodies_never_panic() {
        let mut rng = postd_testkit::fuzz::Rng::new(0x4d45);
        let seed = body(190, Some(463), false);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"1":[{"type":"pages","estimated_time_to_regain_access":99999999999999}]}"#,
            ),
        );
        for i in 0..10_000 {
            let b = rng.mutate(seed.as_bytes());
            let status = StatusCode::from_u16([400, 403, 500, 502][i % 4]).unwrap();
            let e = parse_error(status, &headers, &b);
            assert_eq!(e.http_status(), Some(status.as_u16()));
            let _ = container_status_kind(&String::from_utf8_lossy(&b));
        }
    }

    #[test]
    fn container_status_texts() {
        assert_eq!(
            container_status_kind("Error: Media upload has failed with error code 2207082"),
            (ErrorKind::MediaRejected, Some(2207082))
        );
        assert_eq!(
            container_status_kind("Error: 2207003"),
            (ErrorKind::Unavailable, Some(2207003))
        );
        assert_eq!(
            container_status_kind("Error: something"),
            (ErrorKind::MediaRejected, None)
        );
    }
}
