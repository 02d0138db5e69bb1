//! What a route answers, and Google's error shapes:
//!
//! - The JSON `google.rpc.Status` envelope `{"error": {"code", "message", "status",
//!   "details"}}` every API answers errors with
//!   (<https://cloud.google.com/apis/design/errors>), its details typed by `@type`:
//!   `google.rpc.ErrorInfo` (`reason`, `domain`, `metadata`), `google.rpc.BadRequest`
//!   (`fieldViolations`), `google.rpc.Help`, `google.rpc.LocalizedMessage`, and the v4
//!   API's own `google.mybusiness.v4.ValidationError` (`errorDetails`, each with an integer
//!   `code` of the v4 `ErrorCode` enum,
//!   <https://developers.google.com/my-business/reference/rest/Shared.Types/ValidationError>).
//! - The OAuth endpoints' `{"error", "error_description"}`
//!   (<https://developers.google.com/identity/protocols/oauth2/web-server>).
//! - The HTML 404 page Google's front end answers a path no API has (a malformed resource
//!   name), which is not JSON.

use serde_json::{Value, json};

pub(super) use crate::reply::{Answer, Fail, Reply};

/// The scope every Business Profile API needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/business.manage";

/// The legacy scope the v4 API also accepts.
pub const LEGACY_SCOPE: &str = "https://www.googleapis.com/auth/plus.business.manage";

/// The `@type` of an `ErrorInfo` detail.
pub const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";
/// The `@type` of a `BadRequest` detail.
pub const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";
/// The `@type` of the v4 API's `ValidationError` detail.
pub const VALIDATION_ERROR: &str = "type.googleapis.com/google.mybusiness.v4.ValidationError";

/// The HTTP status of a canonical `google.rpc.Code` name.
pub fn http_status_of(status: &str) -> u16 {
    match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "ALREADY_EXISTS" | "ABORTED" => 409,
        "RESOURCE_EXHAUSTED" => 429,
        "CANCELLED" => 499,
        "UNIMPLEMENTED" => 501,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => 500,
    }
}

/// A `google.rpc.Status` error body: `{"error": {"code", "message", "status", "details"?}}`
/// (`details` left out when empty).
pub fn status_error(status: &str, message: &str, details: Vec<Value>) -> Value {
    let mut error = json!({
        "code": http_status_of(status),
        "message": message,
        "status": status,
    });
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    json!({ "error": error })
}

/// A `google.rpc.ErrorInfo` detail.
pub fn error_info(reason: &str, domain: &str, metadata: Value) -> Value {
    json!({"@type": ERROR_INFO, "reason": reason, "domain": domain, "metadata": metadata})
}

/// A `google.rpc.BadRequest` detail with `(field, description)` violations (an empty field
/// is left out, as Google does for body parse errors).
pub fn bad_request(violations: &[(&str, &str)]) -> Value {
    let v: Vec<Value> = violations
        .iter()
        .map(|(field, description)| {
            if field.is_empty() {
                json!({"description": description})
            } else {
                json!({"field": field, "description": description})
            }
        })
        .collect();
    json!({"@type": BAD_REQUEST, "fieldViolations": v})
}

/// The page Google's front end answers a path no API serves with (`text/html`).
pub fn not_found_html(path: &str) -> String {
    let path: String = path
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <meta name=viewport \
         content=\"initial-scale=1, minimum-scale=1, width=device-width\">\n  \
         <title>Error 404 (Not Found)!!1</title>\n  <a href=//www.google.com/><span id=logo \
         aria-label=Google></span></a>\n  <p><b>404.</b> <ins>That\u{2019}s an error.</ins>\n  \
         <p>The requested URL <code>{path}</code> was not found on this server.  \
         <ins>That\u{2019}s all we know.</ins>\n"
    )
}

/// The OAuth error body `{"error", "error_description"}`.
pub fn oauth_error(error: &str, description: &str) -> Value {
    json!({"error": error, "error_description": description})
}

/// An OAuth error: `invalid_client` answers 401, everything else 400.
pub(super) fn oauth_err(error: &str, description: &str) -> Fail {
    let status = if error == "invalid_client" { 401 } else { 400 };
    Fail::Reply(Reply::json(status, oauth_error(error, description)))
}

/// A `google.rpc.Status` failure.
pub(super) fn fail(status: &str, message: &str, details: Vec<Value>) -> Fail {
    Fail::Reply(Reply::json(
        http_status_of(status),
        status_error(status, message, details),
    ))
}

/// `400 INVALID_ARGUMENT` with one `BadRequest` violation.
pub(super) fn invalid_argument(message: &str, field: &str, description: &str) -> Fail {
    fail(
        "INVALID_ARGUMENT",
        message,
        vec![bad_request(&[(field, description)])],
    )
}

/// `400 INVALID_ARGUMENT` "Request contains an invalid argument." with one `BadRequest`
/// violation.
pub(super) fn invalid_field(field: &str, description: &str) -> Fail {
    invalid_argument("Request contains an invalid argument.", field, description)
}

/// A body or query the transcoder cannot bind: the description is the message.
pub(super) fn bind_error(description: &str) -> Fail {
    invalid_argument(description, "", description)
}

pub(super) fn not_found() -> Fail {
    fail("NOT_FOUND", "Requested entity was not found.", Vec::new())
}

pub(super) fn permission_denied() -> Fail {
    fail(
        "PERMISSION_DENIED",
        "The caller does not have permission",
        Vec::new(),
    )
}

/// A v4 `ErrorCode` and the integer Google sends for it. The reference lists the names
/// only, with the ranges "1 to 199: common error codes" and "1000 to 1099: photos-related";
/// the fake numbers them in the reference's order within those ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ErrorCode {
    MissingValue,
    InvalidValue,
    InvertedRange,
    UnsupportedValue,
    ExpiredValue,
    PhotoFetchFailed,
}

impl ErrorCode {
    pub(super) fn number(self) -> u32 {
        match self {
            ErrorCode::MissingValue => 1,
            ErrorCode::InvalidValue => 2,
            ErrorCode::InvertedRange => 7,
            ErrorCode::UnsupportedValue => 11,
            ErrorCode::ExpiredValue => 12,
            ErrorCode::PhotoFetchFailed => 1000,
        }
    }
}

/// One v4 `ErrorDetail`.
#[derive(Clone, Debug)]
pub(super) struct Violation {
    pub(super) code: ErrorCode,
    /// The proto path (`call_to_action.url`).
    pub(super) field: String,
    pub(super) message: String,
    pub(super) value: Option<String>,
    pub(super) index: Option<usize>,
}

impl Violation {
    pub(super) fn new(code: ErrorCode, field: &str, message: impl Into<String>) -> Violation {
        Violation {
            code,
            field: field.to_owned(),
            message: message.into(),
            value: None,
            index: None,
        }
    }

    pub(super) fn value(mut self, value: &str) -> Violation {
        self.value = Some(value.to_owned());
        self
    }

    pub(super) fn index(mut self, index: usize) -> Violation {
        self.index = Some(index);
        self
    }
}

/// `400 INVALID_ARGUMENT` with a v4 `ValidationError` (and, when `with_bad_request`, a
/// `BadRequest` of the same violations).
pub(super) fn validation_failed(violations: &[Violation], with_bad_request: bool) -> Fail {
    let details: Vec<Value> = violations
        .iter()
        .map(|v| {
            let mut d = json!({"code": v.code.number(), "field": v.field, "message": v.message});
            if let Some(value) = &v.value {
                d["value"] = value.as_str().into();
            }
            if let Some(i) = v.index {
                d["fieldIndex"] = i.into();
            }
            d
        })
        .collect();
    let mut all = vec![json!({"@type": VALIDATION_ERROR, "errorDetails": details})];
    if with_bad_request {
        let pairs: Vec<(&str, &str)> = violations
            .iter()
            .map(|v| (v.field.as_str(), v.message.as_str()))
            .collect();
        all.push(bad_request(&pairs));
    }
    fail(
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        all,
    )
}
