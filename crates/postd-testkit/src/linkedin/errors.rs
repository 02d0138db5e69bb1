//! What a route answers, and LinkedIn's error bodies: the API shape, Rest.li `422`s, content
//! `inputErrors`, OAuth errors and throttling (<https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling>).

use serde_json::{Value, json};

pub(super) use crate::reply::{Answer, Fail, Reply};

pub(super) fn fail(status: u16, body: Value) -> Fail {
    Fail::Reply(Reply::json(status, body))
}

/// LinkedIn's API error body: `{"status","serviceErrorCode","code","message"}`.
pub fn api_error(status: u16, service_error_code: i64, code: &str, message: &str) -> Value {
    json!({
        "status": status,
        "serviceErrorCode": service_error_code,
        "code": code,
        "message": message,
    })
}

pub(super) fn coded(status: u16, code: &str, message: impl Into<String>) -> Fail {
    fail(
        status,
        json!({"status": status, "code": code, "message": message.into()}),
    )
}

pub(super) fn illegal(message: impl Into<String>) -> Fail {
    coded(400, "ILLEGAL_ARGUMENT", message)
}

pub(super) fn not_found(what: &str) -> Fail {
    coded(404, "NOT_FOUND", format!("Not Found: {what}"))
}

pub(super) fn denied(label: &str) -> Fail {
    fail(
        403,
        api_error(
            403,
            100,
            "ACCESS_DENIED",
            &format!("Not enough permissions to access: {label}"),
        ),
    )
}

/// Rest.li's schema-validation `422`.
pub(super) fn restli_422(path: &str, msg: &str) -> Fail {
    fail(
        422,
        json!({
            "message": format!("com.linkedin.restli.server.RestLiServiceException [HTTP Status:422]: ERROR :: {path} :: {msg}\n"),
            "status": 422,
        }),
    )
}

pub(super) fn required(path: &str) -> Fail {
    restli_422(
        path,
        "field is required but not found and has no default value",
    )
}

/// A content-validation error in the `errorDetails.inputErrors` shape.
pub(super) fn input_error(status: u16, code: &str, description: &str, field: &str) -> Fail {
    fail(
        status,
        json!({
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": format!("com.linkedin.content.common.exception.BadRequestResponseException: {description}"),
            "errorDetails": {"inputErrors": [{
                "description": description,
                "input": {"inputPath": {"fieldPath": field}},
                "code": code,
            }]},
            "status": status,
        }),
    )
}

/// The exact `422` body LinkedIn answers a duplicate post with, naming the
/// post it duplicates.
pub fn duplicate_post_error(original_urn: &str) -> Value {
    json!({
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": format!("com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of {original_urn}"),
        "errorDetails": {"inputErrors": [{
            "description": "Duplicate post is detected",
            "input": {},
            "code": "DUPLICATE_POST",
        }]},
        "status": 422,
    })
}

pub(super) fn oauth_err(status: u16, error: &str, description: &str) -> Fail {
    fail(
        status,
        json!({"error": error, "error_description": description}),
    )
}

pub(super) fn throttled() -> Fail {
    fail(429, json!({"status": 429, "message": MSG_THROTTLED}))
}

const MSG_THROTTLED: &str = "Resource level throttle limit for calls to this resource is reached.";
