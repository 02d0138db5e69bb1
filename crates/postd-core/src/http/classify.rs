//! What a failed call means: POSTD's rules on top of each platform's `parse_error`.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use std::time::SystemTime;

use super::RequestContext;
use super::retry::retry_after;
use crate::error::{Error, ErrorKind, Retry, body_snippet};

/// Applies POSTD's rules on top of the platform's classification of a non-2xx answer.
pub(super) fn classify_failure(
    ctx: &RequestContext,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[String],
    parse_error: &(dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
) -> Error {
    // Before any parser sees it: a parser that cuts a message short must not
    // leave half a token behind for the later redaction to miss.
    let body = crate::error::replace_secrets(body, secrets);
    let mut err = parse_error(status, headers, &body)
        .redact_secrets(secrets)
        .or_operation(ctx.operation);
    if err.platform().is_none() {
        err = err.with_platform(ctx.platform);
    }
    if err.http_status().is_none() {
        err = err.with_status(status.as_u16());
    }
    // The server's explicit wait wins over any computed backoff.
    if let Some(wait) = retry_after(headers, SystemTime::now())
        && (err.is_temporary() || matches!(status.as_u16(), 429 | 503))
    {
        err = err.temporary(Some(wait));
    }
    // A create may have been applied unless the answer says it was refused:
    // only a rate limit, 408, 429 or 503 says so. Any other server error, and
    // any other "temporary" platform error, leaves the outcome unknown.
    if !ctx.idempotent && may_have_been_applied(ctx, status, &err) {
        err = err.with_kind(ErrorKind::UnknownOutcome).permanent();
    }
    err
}

fn may_have_been_applied(ctx: &RequestContext, status: StatusCode, err: &Error) -> bool {
    let refused = err.kind() == ErrorKind::RateLimited
        || status.as_u16() == 429
        || (ctx.status_means_refused && matches!(status.as_u16(), 408 | 503));
    if refused {
        return false;
    }
    status.is_server_error() || err.is_temporary()
}

pub(super) fn transport_error(ctx: &RequestContext, e: reqwest::Error) -> Error {
    // A media file that failed while its bytes were read: the body broke off,
    // so the platform never received the request whole and cannot have
    // applied it. Local, permanent, never an unknown outcome.
    if let Some(media) = crate::content::MediaReadError::find(&e) {
        return Error::new(
            ErrorKind::MediaRejected,
            format!("{media}; the request was not sent in full, so nothing was applied"),
        )
        .permanent()
        .with_platform(ctx.platform)
        .with_operation(ctx.operation);
    }
    let (kind, retry, what) = if e.is_connect() {
        // The request never reached the platform: always safe to retry.
        (
            ErrorKind::Unavailable,
            Retry::Temporary { after: None },
            "could not connect",
        )
    } else if e.is_builder() {
        (
            ErrorKind::Config,
            Retry::Permanent,
            "could not build the request",
        )
    } else if ctx.idempotent {
        if e.is_timeout() {
            (
                ErrorKind::Timeout,
                Retry::Temporary { after: None },
                "the request timed out",
            )
        } else {
            (
                ErrorKind::Unavailable,
                Retry::Temporary { after: None },
                "the connection failed",
            )
        }
    } else if e.is_timeout() {
        (
            ErrorKind::UnknownOutcome,
            Retry::Permanent,
            "the request timed out after it was sent; it may have been applied",
        )
    } else {
        (
            ErrorKind::UnknownOutcome,
            Retry::Permanent,
            "the connection failed after the request was sent; it may have been applied",
        )
    };
    Error::new(kind, what)
        .with_retry(retry)
        .with_platform(ctx.platform)
        .with_operation(ctx.operation)
        .with_source(e.without_url())
}

/// Describes a serde error by its category and position only (the message can quote input).
pub(super) fn describe_serde_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "malformed JSON",
        Category::Data => "unexpected shape",
        Category::Eof => "truncated JSON",
    };
    // Data errors name a missing field or a type mismatch without quoting values.
    let detail = if e.classify() == Category::Data {
        let msg = e.to_string();
        // `unknown variant` quotes the platform's value in backticks: left out.
        if msg.starts_with("missing field") || msg.starts_with("invalid type") {
            let cut = msg.find(" at line").unwrap_or(msg.len());
            let head = &msg[..cut];
            // `invalid type: string "..."` quotes the value: keep only the part before it.
            let head = head.split(['"']).next().unwrap_or(head);
            format!(" ({})", head.trim_end_matches([' ', ',']))
        } else {
            String::new()
        }
    } else {
        String::new()
    };
    format!("{what}{detail} at line {} column {}", e.line(), e.column())
}

/// A status error from `parse_error` helpers: the default classification of a status alone.
pub fn classify_status(status: StatusCode) -> (ErrorKind, Retry) {
    let temporary = Retry::Temporary { after: None };
    match status.as_u16() {
        400 | 413 | 422 => (ErrorKind::InvalidContent, Retry::Permanent),
        401 => (ErrorKind::Auth, Retry::Permanent),
        403 => (ErrorKind::PermissionDenied, Retry::Permanent),
        404 | 410 => (ErrorKind::NotFound, Retry::Permanent),
        408 => (ErrorKind::Timeout, temporary),
        409 => (ErrorKind::Duplicate, Retry::Permanent),
        429 => (ErrorKind::RateLimited, temporary),
        500..=599 => (ErrorKind::Unavailable, temporary),
        _ => (ErrorKind::Unexpected, Retry::Permanent),
    }
}

/// A generic `parse_error`: classify by status and keep a short, redacted body snippet.
///
/// Used for hosts without a structured error body (upload hosts) and as the
/// fallback of platform parsers when a body is not the platform's JSON.
pub fn generic_error(status: StatusCode, body: &[u8]) -> Error {
    let (kind, retry) = classify_status(status);
    let snippet = body_snippet(body, &[], 200);
    let message = if snippet.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        snippet
    };
    Error::new(kind, message)
        .with_retry(retry)
        .with_status(status.as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification() {
        assert_eq!(
            classify_status(StatusCode::TOO_MANY_REQUESTS).0,
            ErrorKind::RateLimited
        );
        assert_eq!(
            classify_status(StatusCode::BAD_GATEWAY).0,
            ErrorKind::Unavailable
        );
        assert_eq!(classify_status(StatusCode::UNAUTHORIZED).0, ErrorKind::Auth);
        let e = generic_error(StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>");
        assert_eq!(e.http_status(), Some(502));
        assert!(e.is_temporary());
        assert!(e.message().contains("Bad Gateway"));
    }

    #[test]
    fn serde_errors_do_not_quote_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            id: u64,
        }
        let e = serde_json::from_str::<T>(r#"{"id":"SECRET_VALUE"}"#).unwrap_err();
        let text = describe_serde_error(&e);
        assert!(!text.contains("SECRET_VALUE"), "{text}");
        assert!(text.contains("invalid type"), "{text}");
        let e = serde_json::from_str::<T>(r#"{}"#).unwrap_err();
        assert!(describe_serde_error(&e).contains("missing field `id`"));
        let e = serde_json::from_str::<T>("<html>").unwrap_err();
        assert!(describe_serde_error(&e).starts_with("malformed JSON"));
    }
}
