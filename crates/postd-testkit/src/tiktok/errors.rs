//! What a route answers, and TikTok's two error shapes: the API v2 envelope
//! `{"data": {...}, "error": {"code", "message", "log_id"}}` on every non-OAuth answer
//! (<https://developers.tiktok.com/doc/tiktok-api-v2-error-handling>) and the flat OAuth body
//! `{"error", "error_description", "log_id"}` (<https://developers.tiktok.com/doc/oauth-error-handling>).
//! The router fills in every `log_id`.

use serde_json::{Value, json};

pub(super) use crate::reply::{Answer, Fail, Reply};

/// A successful API answer: `data` and `error.code == "ok"`.
pub(super) fn ok(data: Value) -> Answer {
    Ok(Reply::json(200, envelope(data, "ok", "")))
}

/// The API v2 envelope with `data` and an error `code` and `message` (`log_id` is the
/// router's).
pub fn envelope(data: Value, code: &str, message: &str) -> Value {
    json!({
        "data": data,
        "error": {"code": code, "message": message, "log_id": ""},
    })
}

/// The HTTP status TikTok documents for an API v2 `error.code` (the error handling page and
/// the Content Posting API references).
pub fn status_of(code: &str) -> u16 {
    match code {
        "ok" => 200,
        "access_token_invalid" | "scope_not_authorized" => 401,
        "spam_risk_too_many_posts"
        | "spam_risk_user_banned_from_posting"
        | "reached_active_user_cap"
        | "unaudited_client_can_only_post_to_private_accounts"
        | "url_ownership_unverified"
        | "privacy_level_option_mismatch"
        | "spam_risk_too_many_pending_share"
        | "app_version_check_failed" => 403,
        "rate_limit_exceeded" => 429,
        "internal_error" => 500,
        _ => 400,
    }
}

/// An API error: the envelope with empty `data`, at the documented status.
pub(super) fn api_err(code: &str, message: impl Into<String>) -> Fail {
    Fail::Reply(Reply::json(
        status_of(code),
        envelope(json!({}), code, &message.into()),
    ))
}

/// `400 invalid_param`, as the Content Posting API references spell it.
pub(super) fn invalid_param(message: impl Into<String>) -> Fail {
    api_err("invalid_param", message)
}

/// `400 invalid_params`, as the general error page (and the Display API) spell it.
pub(super) fn invalid_params(message: impl Into<String>) -> Fail {
    api_err("invalid_params", message)
}

pub(super) fn token_invalid() -> Fail {
    api_err(
        "access_token_invalid",
        "The access token is invalid or not found in the request.",
    )
}

pub(super) fn rate_limited() -> Fail {
    api_err(
        "rate_limit_exceeded",
        "The API rate limit was exceeded. Please try again later.",
    )
}

/// TikTok's OAuth error body.
pub fn oauth_error(error: &str, description: &str) -> Value {
    json!({"error": error, "error_description": description, "log_id": ""})
}

/// An OAuth error. The docs give the body but no statuses: `invalid_client` answers 401,
/// `server_error` 500, `temporarily_unavailable` 503, everything else 400.
pub(super) fn oauth_err(error: &str, description: &str) -> Fail {
    let status = match error {
        "invalid_client" => 401,
        "server_error" => 500,
        "temporarily_unavailable" => 503,
        _ => 400,
    };
    Fail::Reply(Reply::json(status, oauth_error(error, description)))
}
