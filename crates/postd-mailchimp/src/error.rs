//! Mailchimp errors: problem details `{"type", "title", "status", "detail",
//! "instance", "errors": [{"field", "message"}]}` as `application/problem+json`
//! (or `application/json` on older answers), and the bare pages heavy
//! throttling answers with (<https://mailchimp.com/developer/marketing/docs/errors/>).

use std::time::Duration;

use postd_core::http::generic_error;
use postd_core::reqwest::StatusCode;
use postd_core::reqwest::header::HeaderMap;
use postd_core::{Error, ErrorKind, Platform, Retry};
use serde::Deserialize;

/// How long to wait after a `429` or throttling `403`. Mailchimp sends no
/// `Retry-After`; the connector's own gate keeps it under the connection
/// limit, so a `429` means other apps share the key and are busy. Longer
/// than a minute on purpose: the HTTP client sleeps through waits of up to a
/// minute inline, and this one belongs back in the queue, not in a worker.
pub(crate) const THROTTLE_WAIT: Duration = Duration::from_secs(61);

/// How long to wait after a "Request Blocked" page: someone at Mailchimp
/// (or its firewall) must let the traffic through again.
pub(crate) const BLOCKED_WAIT: Duration = Duration::from_secs(300);

/// The code of a bare `403` or a "Request Blocked" page: throttling, or
/// Mailchimp's firewall refusing this server.
pub(crate) const BLOCKED: &str = "blocked";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Problem {
    title: String,
    detail: String,
    instance: String,
    errors: Vec<FieldError>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FieldError {
    field: String,
    message: String,
}

/// The first `n` characters of `s`.
pub(crate) fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Classifies a Mailchimp error answer.
pub(crate) fn parse_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let _ = headers;
    let code = status.as_u16();
    let Some(p) = serde_json::from_slice::<Problem>(body)
        .ok()
        .filter(|p| !p.title.is_empty() || !p.detail.is_empty())
    else {
        return bare(status, body);
    };
    let mut message = match (p.title.is_empty(), p.detail.is_empty()) {
        (false, false) => format!("{}: {}", cut(&p.title, 100), cut(&p.detail, 300)),
        (false, true) => cut(&p.title, 300),
        _ => cut(&p.detail, 300),
    };
    if !p.errors.is_empty() {
        let fields: Vec<String> = p
            .errors
            .iter()
            .take(5)
            .map(|e| format!("{}: {}", cut(&e.field, 80), cut(&e.message, 200)))
            .collect();
        message.push_str(&format!(" ({})", fields.join("; ")));
    }
    if !p.instance.is_empty() {
        message.push_str(&format!(" [request {}]", cut(&p.instance, 64)));
    }
    let title = p.title.as_str();
    let detail = p.detail.to_ascii_lowercase();
    let permanent = Retry::Permanent;
    let (kind, retry, advice): (ErrorKind, Retry, Option<&str>) = match (code, title) {
        (401, _) if detail.contains("datacenter") || detail.contains("data center") => (
            ErrorKind::ReauthRequired,
            permanent,
            Some(
                "the key was refused: it is invalid or revoked, or it belongs to another data center than the one called; check the key's -dc suffix, or enter a new key",
            ),
        ),
        (401, _) => (
            ErrorKind::ReauthRequired,
            permanent,
            Some("the key or token was refused; enter a new API key or connect the account again"),
        ),
        (403, "Wrong Datacenter") => (
            ErrorKind::Config,
            permanent,
            Some("the request went to another data center than the credential's"),
        ),
        (403, _) => (ErrorKind::PermissionDenied, permanent, None),
        (404, _) => (ErrorKind::NotFound, permanent, None),
        (400, "Member Exists") => (ErrorKind::Duplicate, permanent, None),
        (400, "Member In Compliance State" | "Forgotten Email Not Subscribed") => (
            ErrorKind::PermissionDenied,
            permanent,
            Some(
                "the contact unsubscribed or asked to be forgotten: only they can subscribe again (a signup form, or status pending for double opt-in)",
            ),
        ),
        (400, "JSON Parse Exception") => (ErrorKind::Unexpected, permanent, None),
        (400, _) => (ErrorKind::InvalidContent, permanent, None),
        // 422 and 405 say the request itself is wrong: a bug, not the post.
        (405 | 414 | 422, _) => (ErrorKind::Unexpected, permanent, None),
        (429, _) => (
            ErrorKind::RateLimited,
            Retry::Temporary {
                after: Some(THROTTLE_WAIT),
            },
            Some("more than 10 simultaneous connections for this account"),
        ),
        (504, _) => (ErrorKind::Timeout, Retry::Temporary { after: None }, None),
        (500..=599, _) => (
            ErrorKind::Unavailable,
            Retry::Temporary { after: None },
            None,
        ),
        _ => (ErrorKind::Unexpected, permanent, None),
    };
    if let Some(advice) = advice {
        message.push_str(&format!(" ({advice})"));
    }
    let mut e = Error::new(kind, message)
        .with_retry(retry)
        .with_platform(Platform::Mailchimp)
        .with_status(code);
    if !title.is_empty() {
        e = e.with_code(cut(title, 64));
    }
    e
}

/// A body that is not a problem document: a bare `403` is throttling, an
/// HTML "Request Blocked" page a longer block.
fn bare(status: StatusCode, body: &[u8]) -> Error {
    let head = String::from_utf8_lossy(&body[..body.len().min(2048)]).to_ascii_lowercase();
    let e = generic_error(status, &body[..body.len().min(512)]).with_platform(Platform::Mailchimp);
    if head.contains("request blocked") {
        let message = format!("Mailchimp blocked the request ({})", e.message());
        return e
            .with_kind(ErrorKind::RateLimited)
            .with_message(message)
            .with_code(BLOCKED)
            .temporary(Some(BLOCKED_WAIT));
    }
    match status.as_u16() {
        403 => e
            .with_kind(ErrorKind::RateLimited)
            .with_code(BLOCKED)
            .temporary(Some(THROTTLE_WAIT)),
        429 => e
            .with_kind(ErrorKind::RateLimited)
            .temporary(Some(THROTTLE_WAIT)),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn problem(status: u16, title: &str, detail: &str) -> Value {
        json!({"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title,
               "status": status, "detail": detail, "instance": "2d8a0f4c-1234-4d5e-9f00-abcdef012345"})
    }

    /// A status, a body, and the kind, temporariness, code and words it must give.
    type Row = (
        u16,
        Value,
        ErrorKind,
        bool,
        Option<&'static str>,
        &'static str,
    );

    /// Each row: a body as Mailchimp documents it (or users report it), and what it must be.
    #[test]
    fn problem_details_are_classified() {
        let rows: Vec<Row> = vec![
            (
                400,
                {
                    let mut p = problem(
                        400,
                        "Invalid Resource",
                        "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
                    );
                    p["errors"] = json!([{"field": "settings.reply_to", "message": "This value should be a valid email."}]);
                    p
                },
                ErrorKind::InvalidContent,
                false,
                Some("Invalid Resource"),
                "settings.reply_to: This value should be a valid email.",
            ),
            (
                400,
                problem(400, "Bad Request", "Your Campaign is not ready to send."),
                ErrorKind::InvalidContent,
                false,
                Some("Bad Request"),
                "not ready to send",
            ),
            (
                400,
                problem(
                    400,
                    "Member Exists",
                    "a@example.com is already a list member. Use PUT to insert or update list members.",
                ),
                ErrorKind::Duplicate,
                false,
                Some("Member Exists"),
                "already a list member",
            ),
            (
                400,
                problem(
                    400,
                    "Member In Compliance State",
                    "a@example.com is already a list member in compliance state due to unsubscribe, bounce, or compliance review.",
                ),
                ErrorKind::PermissionDenied,
                false,
                Some("Member In Compliance State"),
                "only they can subscribe again",
            ),
            (
                400,
                problem(
                    400,
                    "Forgotten Email Not Subscribed",
                    "a@example.com was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.",
                ),
                ErrorKind::PermissionDenied,
                false,
                Some("Forgotten Email Not Subscribed"),
                "permanently deleted",
            ),
            (
                400,
                problem(
                    400,
                    "JSON Parse Exception",
                    "We encountered an unspecified JSON parsing error.",
                ),
                ErrorKind::Unexpected,
                false,
                Some("JSON Parse Exception"),
                "parsing",
            ),
            (
                401,
                problem(
                    401,
                    "API Key Invalid",
                    "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
                ),
                ErrorKind::ReauthRequired,
                false,
                Some("API Key Invalid"),
                "data center",
            ),
            (
                401,
                problem(
                    401,
                    "API Key Missing",
                    "Your request did not include an API key.",
                ),
                ErrorKind::ReauthRequired,
                false,
                Some("API Key Missing"),
                "enter a new API key",
            ),
            (
                403,
                problem(
                    403,
                    "Wrong Datacenter",
                    "The API key provided is linked to a different datacenter.",
                ),
                ErrorKind::Config,
                false,
                Some("Wrong Datacenter"),
                "another data center",
            ),
            (
                403,
                problem(403, "User Disabled", "This account has been disabled."),
                ErrorKind::PermissionDenied,
                false,
                Some("User Disabled"),
                "disabled",
            ),
            (
                404,
                problem(
                    404,
                    "Resource Not Found",
                    "The requested resource could not be found.",
                ),
                ErrorKind::NotFound,
                false,
                Some("Resource Not Found"),
                "could not be found",
            ),
            (
                429,
                problem(
                    429,
                    "Too Many Requests",
                    "You have exceeded the limit of 10 simultaneous connections.",
                ),
                ErrorKind::RateLimited,
                true,
                Some("Too Many Requests"),
                "10 simultaneous",
            ),
            (
                500,
                problem(
                    500,
                    "Internal Server Error",
                    "An unexpected internal error has occurred.",
                ),
                ErrorKind::Unavailable,
                true,
                Some("Internal Server Error"),
                "unexpected internal error",
            ),
            (
                503,
                problem(
                    503,
                    "Service Unavailable",
                    "This service is currently unavailable.",
                ),
                ErrorKind::Unavailable,
                true,
                Some("Service Unavailable"),
                "unavailable",
            ),
        ];
        for (i, (status, body, kind, temporary, code, says)) in rows.iter().enumerate() {
            let e = parse_error(
                StatusCode::from_u16(*status).unwrap(),
                &HeaderMap::new(),
                body.to_string().as_bytes(),
            );
            assert_eq!(e.kind(), *kind, "row {i}: {e}");
            assert_eq!(e.is_temporary(), *temporary, "row {i}: {e}");
            assert_eq!(e.platform_code(), *code, "row {i}: {e}");
            assert!(
                e.message().to_lowercase().contains(&says.to_lowercase()),
                "row {i}: {e}"
            );
            assert!(
                e.message().contains("2d8a0f4c"),
                "row {i}: the request id is kept"
            );
        }
    }

    #[test]
    fn bare_throttling_and_blocked_pages_are_rate_limits() {
        let e = parse_error(StatusCode::FORBIDDEN, &HeaderMap::new(), b"");
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(THROTTLE_WAIT));
        let page =
            b"<html><head><title>Request Blocked</title></head><body>Request Blocked</body></html>";
        let e = parse_error(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), page);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(BLOCKED_WAIT));
        let e = parse_error(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html>502</html>",
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        let huge = vec![b'x'; 100_000];
        let e = parse_error(StatusCode::IM_A_TEAPOT, &HeaderMap::new(), &huge);
        assert!(e.message().len() < 1_000);
    }
}
