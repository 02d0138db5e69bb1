//! Google API errors: the `google.rpc.Status` body
//! `{"error": {"code", "message", "status", "details"}}` with its `ErrorInfo`
//! (`reason`, `metadata`), `BadRequest` (`fieldViolations`) and the v4
//! `ValidationError` (`errorDetails`, whose `code` is a number or a name)
//! (<https://cloud.google.com/apis/design/errors>,
//! <https://developers.google.com/my-business/reference/rest/v4/ErrorCode>,
//! <https://developers.google.com/my-business/content/limits>).
//!
//! A body that is not that JSON (Google's front end answers a malformed path
//! with an HTML `404`) is classified by its status, with a short sanitised
//! snippet.

use std::time::Duration;

use postd_core::http::generic_error;
use postd_core::reqwest::StatusCode;
use postd_core::reqwest::header::HeaderMap;
use postd_core::{Error, ErrorKind, Platform, Retry};
use serde::Deserialize;
use serde_json::Value;

/// The code of a `403` for an API the Google Cloud project has not enabled.
pub const SERVICE_DISABLED: &str = "SERVICE_DISABLED";

/// The code of a quota of `0`: the project is not approved for the Business Profile APIs.
pub const PROJECT_NOT_APPROVED: &str = "PROJECT_NOT_APPROVED";

/// The code of a post Google's review refused (`state: REJECTED`).
pub const REJECTED: &str = "REJECTED";

/// How long to wait after a `429`: Google sends no `Retry-After` and its
/// quotas are per minute, so a minute and a second from the refusal the
/// window has moved on. Longer than a minute on purpose: the HTTP client
/// sleeps through waits of up to a minute inline, and this one belongs back
/// in the queue, not in a worker.
pub(crate) const RATE_WAIT: Duration = Duration::from_secs(61);

#[derive(Deserialize)]
struct Envelope {
    error: Status,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Status {
    code: i64,
    message: String,
    status: String,
    details: Vec<Value>,
}

/// What the `details` say, read leniently (every field is optional).
#[derive(Default)]
struct Details {
    reason: Option<String>,
    metadata: serde_json::Map<String, Value>,
    /// `field: message` of each violation, in order.
    violations: Vec<String>,
    /// The v4 error codes, as names where Google sent names.
    codes: Vec<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn read_details(details: &[Value]) -> Details {
    let mut d = Details::default();
    for detail in details {
        let kind = detail.get("@type").and_then(Value::as_str).unwrap_or("");
        if kind.ends_with("google.rpc.ErrorInfo") {
            if d.reason.is_none() {
                d.reason = text(detail, "reason");
            }
            if let Some(m) = detail.get("metadata").and_then(Value::as_object) {
                d.metadata.extend(m.clone());
            }
        } else if kind.ends_with("google.rpc.BadRequest") {
            for v in detail
                .get("fieldViolations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let field = text(v, "field").unwrap_or_default();
                let why = text(v, "description").unwrap_or_default();
                d.violations.push(join_violation(&field, &why));
            }
        } else if kind.ends_with("ValidationError") {
            for v in detail
                .get("errorDetails")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let field = text(v, "field").unwrap_or_default();
                let why = text(v, "message").unwrap_or_default();
                d.violations.push(join_violation(&field, &why));
                match v.get("code") {
                    Some(Value::String(name)) => d.codes.push(name.clone()),
                    Some(Value::Number(n)) => d.codes.push(code_name(n.as_i64().unwrap_or(0))),
                    _ => {}
                }
            }
        }
    }
    d
}

fn join_violation(field: &str, why: &str) -> String {
    let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    match (field.is_empty(), why.is_empty()) {
        (false, false) => format!("{}: {}", cut(field, 80), cut(why, 200)),
        (false, true) => cut(field, 80),
        _ => cut(why, 200),
    }
}

/// A numeric v4 `ErrorCode` as a name where its range says what it is: the
/// reference lists names only, with "1000 to 1099: photos-related".
fn code_name(n: i64) -> String {
    if (1000..1100).contains(&n) {
        format!("PHOTO_{n}")
    } else {
        n.to_string()
    }
}

fn metadata<'a>(d: &'a Details, key: &str) -> Option<&'a str> {
    d.metadata.get(key).and_then(Value::as_str)
}

/// Classifies a Google API error answer.
pub(crate) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let _ = headers;
    let Some(envelope) = serde_json::from_slice::<Envelope>(body)
        .ok()
        .filter(|e| !e.error.status.is_empty() || !e.error.message.is_empty())
    else {
        return not_json(status, body);
    };
    let s = envelope.error;
    let d = read_details(&s.details);
    // The status Google answered with decides, never the body's `code`: a 5xx
    // whose body says RESOURCE_EXHAUSTED is still a server error (a create
    // that may have been applied), not a refusal.
    let code = status.as_u16();
    let cut = |v: &str, n: usize| v.chars().take(n).collect::<String>();
    let mut message = cut(&s.message, 300);
    if !d.violations.is_empty() {
        let shown: Vec<&str> = d.violations.iter().take(5).map(String::as_str).collect();
        message.push_str(&format!(" ({})", shown.join("; ")));
    }
    let reason = d.reason.clone().unwrap_or_default();
    // A Google service name (`{name}.googleapis.com`), nothing else, is shown.
    let service = metadata(&d, "service")
        .filter(|s| {
            s.len() <= 80
                && s.ends_with(".googleapis.com")
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_default();
    let quota_zero = metadata(&d, "quota_limit_value") == Some("0")
        || s.message.contains("limit '0'")
        || s.message.to_ascii_lowercase().contains("quota 0");
    let temporary = |after: Option<Duration>| Retry::Temporary { after };
    let (kind, retry, platform_code, advice): (ErrorKind, Retry, String, Option<String>) = if reason
        == SERVICE_DISABLED
    {
        let api = if service.is_empty() {
            "the API".to_owned()
        } else {
            service.clone()
        };
        // Only a link to Google's own console is shown as the fix.
        let link = metadata(&d, "activationUrl")
            .and_then(|u| url::Url::parse(u).ok())
            .filter(|u| {
                u.scheme() == "https"
                    && matches!(
                        u.host_str(),
                        Some("console.developers.google.com" | "console.cloud.google.com")
                    )
            })
            .map(|u| format!(" at {}", cut(u.as_str(), 200)))
            .unwrap_or_default();
        (
            ErrorKind::Config,
            Retry::Permanent,
            SERVICE_DISABLED.to_owned(),
            Some(format!(
                "enable {api} in the Google Cloud project{link}; every Business Profile API is enabled separately"
            )),
        )
    } else if (code == 429 || code == 403) && quota_zero {
        let api = if service.is_empty() {
            String::new()
        } else {
            format!(" for {service}")
        };
        (
            ErrorKind::Config,
            Retry::Permanent,
            PROJECT_NOT_APPROVED.to_owned(),
            Some(format!(
                "the Google Cloud project's quota{api} is 0: it is not approved for the Business Profile APIs; request access at https://developers.google.com/my-business/content/prereqs"
            )),
        )
    } else if code == 429 {
        (
            ErrorKind::RateLimited,
            temporary(Some(RATE_WAIT)),
            if reason.is_empty() {
                s.status.clone()
            } else {
                reason.clone()
            },
            None,
        )
    } else if reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT" {
        (
            ErrorKind::ReauthRequired,
            Retry::Permanent,
            reason.clone(),
            Some(
                "the user did not grant business.manage; they must connect again and allow it"
                    .to_owned(),
            ),
        )
    } else if code == 400
        && d.codes
            .iter()
            .any(|c| c.starts_with("PHOTO_") || c.starts_with("PHOTO"))
    {
        let photo = d
            .codes
            .iter()
            .find(|c| c.starts_with("PHOTO"))
            .cloned()
            .unwrap_or_default();
        (ErrorKind::MediaRejected, Retry::Permanent, photo, None)
    } else {
        let (kind, retry) = by_status(code, &s.status);
        let platform_code = if !reason.is_empty() {
            reason.clone()
        } else if let Some(first) = d.codes.first() {
            first.clone()
        } else {
            s.status.clone()
        };
        let advice = (s.status == "FAILED_PRECONDITION").then(|| {
                "the location cannot take local posts (unverified, suspended or a duplicate); check it in Google's Business Profile manager".to_owned()
            });
        (kind, retry, platform_code, advice)
    };
    if let Some(advice) = advice {
        message.push_str(&format!(" ({advice})"));
    }
    let mut e = Error::new(kind, message)
        .with_retry(retry)
        .with_platform(Platform::Gbp)
        .with_status(code);
    if !platform_code.is_empty() {
        e = e.with_code(cut(&platform_code, 64));
    }
    e
}

fn by_status(code: u16, status: &str) -> (ErrorKind, Retry) {
    use ErrorKind as K;
    let temporary = Retry::Temporary { after: None };
    match (code, status) {
        (504, _) => (K::Timeout, temporary),
        (500..=599, _) => (K::Unavailable, temporary),
        (_, "FAILED_PRECONDITION") => (K::PermissionDenied, Retry::Permanent),
        (_, "ABORTED") => (K::Unavailable, temporary),
        (_, "ALREADY_EXISTS") => (K::Duplicate, Retry::Permanent),
        (_, "DEADLINE_EXCEEDED") => (K::Timeout, temporary),
        (400, _) => (K::InvalidContent, Retry::Permanent),
        (401, _) => (K::Auth, Retry::Permanent),
        (403, _) => (K::PermissionDenied, Retry::Permanent),
        (404, _) => (K::NotFound, Retry::Permanent),
        (409, _) => (K::Duplicate, Retry::Permanent),
        _ => (K::Unexpected, Retry::Permanent),
    }
}

/// A body that is not `google.rpc.Status` JSON: classified by status, with
/// the first bytes kept (sanitised by the shared snippet rules).
fn not_json(status: StatusCode, body: &[u8]) -> Error {
    let html = body
        .iter()
        .take(512)
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| body[i] == b'<');
    let e = generic_error(status, &body[..body.len().min(512)]).with_platform(Platform::Gbp);
    match status.as_u16() {
        429 => e
            .with_kind(ErrorKind::RateLimited)
            .temporary(Some(RATE_WAIT)),
        404 if html => {
            let message = format!(
                "Google answered 404 with an HTML page, not an API error: the resource name in the path is not one Google serves ({})",
                e.message()
            );
            e.with_message(message)
        }
        _ if html => {
            let message = format!(
                "Google answered {status} with an HTML page: {}",
                e.message()
            );
            e.with_message(message)
        }
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(status: u16, body: &Value) -> Error {
        parse_error(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.to_string().as_bytes(),
        )
    }

    fn status(code: u16, status: &str, message: &str, details: Value) -> Value {
        json!({"error": {"code": code, "message": message, "status": status, "details": details}})
    }

    /// Each row: a body as Google documents it, and what it must be.
    #[test]
    fn google_rpc_status_bodies_are_classified() {
        struct Row {
            status: u16,
            body: Value,
            kind: ErrorKind,
            temporary: bool,
            code: &'static str,
            says: &'static str,
        }
        let rows = [
            Row {
                status: 400,
                body: status(
                    400,
                    "INVALID_ARGUMENT",
                    "Request contains an invalid argument.",
                    json!([{"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError",
                            "errorDetails": [{"code": 2, "field": "summary", "message": "Summary is too long"}]}]),
                ),
                kind: ErrorKind::InvalidContent,
                temporary: false,
                code: "2",
                says: "summary: Summary is too long",
            },
            Row {
                status: 400,
                body: status(
                    400,
                    "INVALID_ARGUMENT",
                    "Request contains an invalid argument.",
                    json!([{"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError",
                            "errorDetails": [{"code": 1000, "field": "media[0].source_url", "message": "Fetching image failed."}]}]),
                ),
                kind: ErrorKind::MediaRejected,
                temporary: false,
                code: "PHOTO_1000",
                says: "Fetching image failed",
            },
            Row {
                status: 400,
                body: status(
                    400,
                    "INVALID_ARGUMENT",
                    "Request contains an invalid argument.",
                    json!([{"@type": "type.googleapis.com/google.mybusiness.v4.ValidationError",
                            "errorDetails": [{"code": "PHOTO_UNACCEPTABLE_RESOLUTION", "field": "media[0]"}]}]),
                ),
                kind: ErrorKind::MediaRejected,
                temporary: false,
                code: "PHOTO_UNACCEPTABLE_RESOLUTION",
                says: "media[0]",
            },
            Row {
                status: 400,
                body: status(
                    400,
                    "INVALID_ARGUMENT",
                    "Invalid read_mask provided",
                    json!([{"@type": "type.googleapis.com/google.rpc.BadRequest",
                            "fieldViolations": [{"field": "read_mask", "description": "Field is required"}]}]),
                ),
                kind: ErrorKind::InvalidContent,
                temporary: false,
                code: "INVALID_ARGUMENT",
                says: "read_mask: Field is required",
            },
            Row {
                status: 400,
                body: status(
                    400,
                    "FAILED_PRECONDITION",
                    "Precondition check failed.",
                    json!([]),
                ),
                kind: ErrorKind::PermissionDenied,
                temporary: false,
                code: "FAILED_PRECONDITION",
                says: "cannot take local posts",
            },
            Row {
                status: 401,
                body: status(
                    401,
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
                    json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_EXPIRED",
                            "domain": "googleapis.com", "metadata": {"service": "mybusiness.googleapis.com"}}]),
                ),
                kind: ErrorKind::Auth,
                temporary: false,
                code: "ACCESS_TOKEN_EXPIRED",
                says: "invalid authentication credentials",
            },
            Row {
                status: 403,
                body: status(
                    403,
                    "PERMISSION_DENIED",
                    "Request had insufficient authentication scopes.",
                    json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                            "domain": "googleapis.com", "metadata": {"service": "mybusiness.googleapis.com"}}]),
                ),
                kind: ErrorKind::ReauthRequired,
                temporary: false,
                code: "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                says: "business.manage",
            },
            Row {
                status: 403,
                body: status(
                    403,
                    "PERMISSION_DENIED",
                    "Google My Business API has not been used in project 123 before or it is disabled.",
                    json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                            "domain": "googleapis.com",
                            "metadata": {"service": "mybusiness.googleapis.com", "consumer": "projects/123",
                                         "activationUrl": "https://console.developers.google.com/apis/api/mybusiness.googleapis.com/overview?project=123"}}]),
                ),
                kind: ErrorKind::Config,
                temporary: false,
                code: SERVICE_DISABLED,
                says: "enable mybusiness.googleapis.com",
            },
            Row {
                status: 429,
                body: status(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service 'mybusinessbusinessinformation.googleapis.com' for consumer 'project_number:123'.",
                    json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                            "domain": "googleapis.com",
                            "metadata": {"service": "mybusinessbusinessinformation.googleapis.com", "quota_limit_value": "300"}}]),
                ),
                kind: ErrorKind::RateLimited,
                temporary: true,
                code: "RATE_LIMIT_EXCEEDED",
                says: "Quota exceeded",
            },
            Row {
                status: 429,
                body: status(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service 'mybusiness.googleapis.com'.",
                    json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                            "domain": "googleapis.com",
                            "metadata": {"service": "mybusiness.googleapis.com", "quota_limit_value": "0"}}]),
                ),
                kind: ErrorKind::Config,
                temporary: false,
                code: PROJECT_NOT_APPROVED,
                says: "not approved",
            },
            Row {
                status: 429,
                body: status(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service 'mybusiness.googleapis.com'.",
                    json!([]),
                ),
                kind: ErrorKind::RateLimited,
                temporary: true,
                code: "RESOURCE_EXHAUSTED",
                says: "Quota exceeded",
            },
            Row {
                status: 404,
                body: status(
                    404,
                    "NOT_FOUND",
                    "Requested entity was not found.",
                    json!([]),
                ),
                kind: ErrorKind::NotFound,
                temporary: false,
                code: "NOT_FOUND",
                says: "not found",
            },
            Row {
                status: 409,
                body: status(409, "ABORTED", "The operation was aborted.", json!([])),
                kind: ErrorKind::Unavailable,
                temporary: true,
                code: "ABORTED",
                says: "aborted",
            },
            Row {
                status: 409,
                body: status(
                    409,
                    "ALREADY_EXISTS",
                    "Requested entity already exists",
                    json!([]),
                ),
                kind: ErrorKind::Duplicate,
                temporary: false,
                code: "ALREADY_EXISTS",
                says: "already exists",
            },
            Row {
                status: 500,
                body: status(500, "INTERNAL", "Internal error encountered.", json!([])),
                kind: ErrorKind::Unavailable,
                temporary: true,
                code: "INTERNAL",
                says: "Internal error",
            },
            Row {
                status: 503,
                body: status(
                    503,
                    "UNAVAILABLE",
                    "The service is currently unavailable.",
                    json!([]),
                ),
                kind: ErrorKind::Unavailable,
                temporary: true,
                code: "UNAVAILABLE",
                says: "unavailable",
            },
            // The HTTP status decides: a 5xx is a server error whatever its body says.
            Row {
                status: 502,
                body: status(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", json!([])),
                kind: ErrorKind::Unavailable,
                temporary: true,
                code: "RESOURCE_EXHAUSTED",
                says: "Quota exceeded",
            },
            Row {
                status: 504,
                body: status(504, "DEADLINE_EXCEEDED", "Deadline exceeded.", json!([])),
                kind: ErrorKind::Timeout,
                temporary: true,
                code: "DEADLINE_EXCEEDED",
                says: "Deadline",
            },
        ];
        for (i, row) in rows.iter().enumerate() {
            let e = parse(row.status, &row.body);
            assert_eq!(e.kind(), row.kind, "row {i}: {e}");
            assert_eq!(e.is_temporary(), row.temporary, "row {i}: {e}");
            assert_eq!(e.platform_code(), Some(row.code), "row {i}: {e}");
            assert!(
                e.message()
                    .to_lowercase()
                    .contains(&row.says.to_lowercase()),
                "row {i}: {e}"
            );
            assert_eq!(e.platform(), Some(Platform::Gbp));
        }
    }

    #[test]
    fn html_and_other_bodies_are_classified_by_status() {
        let html = b"<!DOCTYPE html>\n<html lang=en><title>Error 404 (Not Found)!!1</title><p>The requested URL <code>/v4/accounts/x/y</code> was not found on this server.";
        let e = parse_error(StatusCode::NOT_FOUND, &HeaderMap::new(), html);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.message().contains("HTML page"), "{e}");
        let e = parse_error(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>502</html>",
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.is_temporary());
        let e = parse_error(
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            b"Too many requests",
        );
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        let huge = vec![b'x'; 100_000];
        let e = parse_error(StatusCode::IM_A_TEAPOT, &HeaderMap::new(), &huge);
        assert_eq!(e.kind(), ErrorKind::Unexpected);
        assert!(e.message().len() < 1_000);
        // JSON that is not a Status.
        let e = parse_error(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"error": 7}"#,
        );
        assert_eq!(e.kind(), ErrorKind::InvalidContent);
    }
}
