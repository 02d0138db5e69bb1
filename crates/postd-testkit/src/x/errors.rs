//! What a route answers, and X's two error shapes.
//!
//! - The API v2 problem body `{"type", "title", "detail", "status"}` (plus `errors` for
//!   invalid requests), per <https://docs.x.com/x-api/fundamentals/response-codes-and-errors>.
//! - The OAuth 2.0 token endpoint's `{"error", "error_description"}`, per
//!   <https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code>.

use serde_json::{Value, json};

/// The base of X's problem type URIs.
pub const PROBLEMS: &str = "https://api.x.com/2/problems/";

pub(super) use crate::reply::{Answer, Fail, Reply};

/// A problem body: `type` is `about:blank` or a problem name under [`PROBLEMS`].
pub fn problem(status: u16, kind: &str, title: &str, detail: &str) -> Value {
    let kind = if kind == "about:blank" || kind.starts_with("https://") {
        kind.to_owned()
    } else {
        format!("{PROBLEMS}{kind}")
    };
    json!({"type": kind, "title": title, "detail": detail, "status": status})
}

pub(super) fn fail(status: u16, kind: &str, title: &str, detail: &str) -> Fail {
    Fail::Reply(Reply::json(status, problem(status, kind, title, detail)))
}

/// `400 invalid-request`, naming the offending `parameter` and its `value` in `errors`.
pub(super) fn invalid(parameter: &str, value: &str, message: impl Into<String>) -> Fail {
    let mut body = problem(
        400,
        "invalid-request",
        "Invalid Request",
        "One or more parameters to your request was invalid.",
    );
    body["errors"] = json!([{"parameters": {parameter: [value]}, "message": message.into()}]);
    Fail::Reply(Reply::json(400, body))
}

pub(super) fn unauthorized() -> Fail {
    fail(401, "about:blank", "Unauthorized", "Unauthorized")
}

pub(super) fn forbidden(detail: &str) -> Fail {
    fail(403, "about:blank", "Forbidden", detail)
}

/// The detail X answers a duplicate Post with (403).
pub const DUPLICATE_DETAIL: &str = "You are not allowed to create a Tweet with duplicate content.";

/// The OAuth error body.
pub fn oauth_error(error: &str, description: &str) -> Value {
    json!({"error": error, "error_description": description})
}

/// An OAuth error: `invalid_client` answers 401, everything else 400.
pub(super) fn oauth_err(error: &str, description: &str) -> Fail {
    let status = if error == "invalid_client" { 401 } else { 400 };
    Fail::Reply(Reply::json(status, oauth_error(error, description)))
}
