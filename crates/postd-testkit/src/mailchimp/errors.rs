//! What a route answers, and Mailchimp's error shapes.
//!
//! - The Marketing API's problem detail document (RFC 7807), `Content-Type:
//!   application/problem+json; charset=utf-8`, with `type`, `title`, `status`, `detail`,
//!   `instance`, and for a body that fails validation an `errors` array of `{field, message}`
//!   (<https://mailchimp.com/developer/marketing/docs/errors/>). The titles are the glossary's
//!   and those Mailchimp answers in practice ("API Key Invalid", "Resource Not Found",
//!   "Invalid Resource", "Member Exists", "Member In Compliance State", "Forgotten Email Not
//!   Subscribed", "Too Many Requests").
//! - The OAuth 2 token endpoint's `{"error", "error_description"}` (RFC 6749 section 5.2; the
//!   guide, <https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/>,
//!   shows no error body, so the fake uses the RFC's).
//!
//! The docs give no text for most details; where the fake had to choose one, the constant or
//! helper says so.

use serde_json::{Value, json};

pub(super) use crate::reply::{Answer, Fail, Reply};

/// The problem `type` every error carries.
pub const ERROR_TYPE: &str = "https://mailchimp.com/developer/marketing/docs/errors/";

/// The detail of `401 API Key Invalid`: an unknown, revoked or other data center's key or
/// token.
pub const API_KEY_INVALID_DETAIL: &str =
    "Your API key may be invalid, or you've attempted to access the wrong datacenter.";

/// The detail of `429 Too Many Requests` (the glossary's description of the limit).
pub const TOO_MANY_REQUESTS_DETAIL: &str =
    "You have exceeded the limit of 10 simultaneous connections.";

/// The detail of a schedule off the quarter hour (the API reference's wording of the rule).
pub const QUARTER_HOUR_DETAIL: &str =
    "Campaigns may only be scheduled to send on the quarter-hour (:00, :15, :30, :45).";

/// The detail of a send refused by the checklist (as Mailchimp answers it; the API
/// reference gives none).
pub const NOT_READY_DETAIL: &str = "Your Campaign is not ready to send.";

/// The detail of `400 Invalid Resource`.
pub const INVALID_RESOURCE_DETAIL: &str = "The resource submitted could not be validated. For field-specific details, see the 'errors' array.";

/// A problem body. `instance` is a fresh request id.
pub fn problem(status: u16, title: &str, detail: &str, instance: &str) -> Value {
    json!({
        "type": ERROR_TYPE,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    })
}

/// Problems are built through this so each gets its own `instance`.
pub(super) fn fail(status: u16, title: &str, detail: &str) -> Fail {
    Fail::Reply(problem_reply(
        status,
        problem(status, title, detail, &instance()),
    ))
}

pub(super) fn problem_reply(status: u16, body: Value) -> Reply {
    let mut r = Reply::json(status, body);
    r.headers.push((
        "content-type".to_owned(),
        "application/problem+json; charset=utf-8".to_owned(),
    ));
    r
}

/// `400 Invalid Resource` with one `errors` entry per `(field, message)`.
pub(super) fn invalid(errors: &[(&str, &str)]) -> Fail {
    let mut body = problem(
        400,
        "Invalid Resource",
        INVALID_RESOURCE_DETAIL,
        &instance(),
    );
    body["errors"] = errors
        .iter()
        .map(|(f, m)| json!({"field": f, "message": m}))
        .collect();
    Fail::Reply(problem_reply(400, body))
}

/// `400 Bad Request` with `detail`.
pub(super) fn bad_request(detail: &str) -> Fail {
    fail(400, "Bad Request", detail)
}

pub(super) fn not_found() -> Fail {
    fail(
        404,
        "Resource Not Found",
        "The requested resource could not be found.",
    )
}

pub(super) fn key_invalid() -> Fail {
    fail(401, "API Key Invalid", API_KEY_INVALID_DETAIL)
}

pub(super) fn key_missing() -> Fail {
    fail(
        401,
        "API Key Missing",
        "Your request did not include an API key.",
    )
}

pub(super) fn wrong_datacenter(dc: &str) -> Fail {
    fail(
        403,
        "Wrong Datacenter",
        &format!("The API key provided is linked to a different datacenter than {dc}."),
    )
}

pub(super) fn too_many() -> Fail {
    fail(429, "Too Many Requests", TOO_MANY_REQUESTS_DETAIL)
}

/// The OAuth error body.
pub fn oauth_error(error: &str, description: &str) -> Value {
    json!({"error": error, "error_description": description})
}

pub(super) fn oauth_err(error: &str, description: &str) -> Fail {
    let status = if error == "invalid_client" { 401 } else { 400 };
    Fail::Reply(Reply::json(status, oauth_error(error, description)))
}

/// A request id of the shape Mailchimp's `instance` has (a UUID).
fn instance() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let h = crate::util::fnv1a(crate::util::FNV_OFFSET, &n.to_le_bytes());
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xffff,
        n & 0xffff,
        n
    )
}
