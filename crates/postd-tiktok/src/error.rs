//! TikTok errors: the API envelope `{"data": ..., "error": {"code",
//! "message", "log_id"}}`, checked on every answer (a 200 can carry an
//! error), and the `fail_reason` of a failed publish
//! (<https://developers.tiktok.com/doc/tiktok-api-v2-error-handling>,
//! <https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status>).

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::http::generic_error;
use postd_core::reqwest::StatusCode;
use postd_core::reqwest::header::HeaderMap;
use postd_core::{Error, ErrorKind, Platform, Retry};
use serde::Deserialize;

/// The wait after a 429. TikTok's windows slide over one minute and it
/// documents no `Retry-After`: the oldest call leaves the window within 60 s,
/// so a second more is sure. (Longer than the HTTP client's default inline
/// wait, so the queue waits, not a worker.)
pub(crate) const RATE_LIMIT_WAIT: Duration = Duration::from_secs(61);

/// The wait after a creator's own posting cap (`spam_risk_too_many_posts`).
pub(crate) const SPAM_CAP_WAIT: Duration = Duration::from_secs(3600);

/// The error code of an app at its daily quota of active publishing creators.
pub(crate) const ACTIVE_USER_CAP: &str = "reached_active_user_cap";

#[derive(Deserialize, Default)]
pub(crate) struct ApiError {
    #[serde(default)]
    pub(crate) code: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) log_id: String,
}

#[derive(Deserialize, Default)]
struct Envelope {
    #[serde(default)]
    error: Option<ApiError>,
}

/// Whether a body is an envelope whose `error.code` is not `ok`.
pub(crate) fn is_error_envelope(body: &[u8]) -> bool {
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.error)
        .is_some_and(|e| !e.code.is_empty() && e.code != "ok")
}

/// Classifies an answer carrying an error (any status, 200 included).
pub(crate) fn parse_error(
    status: StatusCode,
    _headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Error {
    let parsed = serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.error)
        .filter(|e| !e.code.is_empty() && e.code != "ok");
    let Some(err) = parsed else {
        // Not TikTok's envelope (a gateway page): by status, with a short snippet.
        return generic_error(status, body).with_platform(Platform::TikTok);
    };
    let (kind, retry, advice) = classify(&err.code, status, now);
    let message: String = err.message.chars().take(300).collect();
    let log: String = err.log_id.chars().take(64).collect();
    let mut text = err.code.chars().take(64).collect::<String>();
    if !message.is_empty() {
        text.push_str(": ");
        text.push_str(&message);
    }
    if let Some(advice) = advice {
        text.push_str(" (");
        text.push_str(advice);
        text.push(')');
    }
    if !log.is_empty() {
        text.push_str(&format!(" [log_id {log}]"));
    }
    Error::new(kind, text)
        .with_retry(retry)
        .with_platform(Platform::TikTok)
        .with_status(status.as_u16())
        .with_code(err.code.chars().take(64).collect::<String>())
}

/// The kind, disposition and advice for an envelope error code.
fn classify(
    code: &str,
    status: StatusCode,
    now: DateTime<Utc>,
) -> (ErrorKind, Retry, Option<&'static str>) {
    use ErrorKind as K;
    let permanent = Retry::Permanent;
    let after = |d: Duration| Retry::Temporary { after: Some(d) };
    match code {
        "invalid_param" | "invalid_params" => (K::InvalidContent, permanent, None),
        "invalid_file_upload" => (K::MediaRejected, permanent, None),
        "invalid_publish_id" => (K::NotFound, permanent, None),
        "token_not_authorized_for_specified_publish_id" => (K::PermissionDenied, permanent, None),
        // The same call with the same token fails again: refresh first (the kind says so).
        "access_token_invalid" => (K::Auth, permanent, Some("refresh the access token")),
        "scope_not_authorized" | "scope_permission_missed" => (
            K::ReauthRequired,
            permanent,
            Some("the creator must authorize the app again, granting the scope this call needs"),
        ),
        "spam_risk_too_many_posts" => (
            K::RateLimited,
            after(SPAM_CAP_WAIT),
            Some("the creator reached TikTok's daily posting cap; try again later"),
        ),
        "spam_risk_too_many_pending_share" => (
            K::RateLimited,
            after(SPAM_CAP_WAIT),
            Some(
                "the creator has 5 drafts waiting in their TikTok inbox; they must post or delete one",
            ),
        ),
        "spam_risk_user_banned_from_posting" => (
            K::PermissionDenied,
            permanent,
            Some("TikTok has banned this creator from posting"),
        ),
        ACTIVE_USER_CAP => (
            K::RateLimited,
            after(until_next_utc_day(now)),
            Some(
                "an app-wide daily quota: the app reached the number of creators it may publish for today; \
                 creators who have not posted today cannot until the quota resets (assumed at 00:00 UTC), \
                 and only TikTok can raise it",
            ),
        ),
        "unaudited_client_can_only_post_to_private_accounts" => (
            K::PermissionDenied,
            permanent,
            Some(
                "the app has not passed TikTok's Direct Post audit: only SELF_ONLY posts to private accounts; \
                 post SELF_ONLY or pass the audit",
            ),
        ),
        "url_ownership_unverified" => (
            K::Config,
            permanent,
            Some(
                "the media URL's domain or prefix is not verified for this app in the TikTok developer portal; \
                 verify it, or upload the file instead",
            ),
        ),
        "privacy_level_option_mismatch" => (
            K::InvalidContent,
            permanent,
            Some("choose one of the privacy levels creator_info lists for this creator"),
        ),
        "app_version_check_failed" => (
            K::Unsupported,
            permanent,
            Some("the creator's TikTok app is too old for photo drafts"),
        ),
        "rate_limit_exceeded" => (K::RateLimited, after(RATE_LIMIT_WAIT), None),
        "internal_error" => (K::Unavailable, Retry::Temporary { after: None }, None),
        _ if status.is_server_error() => (K::Unavailable, Retry::Temporary { after: None }, None),
        _ => (K::Unexpected, permanent, None),
    }
}

/// The wait until the next 00:00 UTC, at least a minute.
pub(crate) fn until_next_utc_day(now: DateTime<Utc>) -> Duration {
    let next = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc());
    next.and_then(|n| (n - now).to_std().ok())
        .unwrap_or(Duration::from_secs(86_400))
        .max(Duration::from_secs(60))
}

/// A failed publish's `fail_reason`: the kind, disposition and message.
pub(crate) fn fail_reason(reason: &str) -> (ErrorKind, Retry, String) {
    use ErrorKind as K;
    let permanent = Retry::Permanent;
    let (kind, retry, what) = match reason {
        "file_format_check_failed" => (
            K::MediaRejected,
            permanent,
            "the file format is not supported",
        ),
        "duration_check_failed" => (
            K::MediaRejected,
            permanent,
            "the video is too long or too short",
        ),
        "frame_rate_check_failed" => (
            K::MediaRejected,
            permanent,
            "the frame rate is not supported",
        ),
        "picture_size_check_failed" => (
            K::MediaRejected,
            permanent,
            "the picture size is not supported",
        ),
        "internal" => (
            K::Unavailable,
            Retry::Temporary { after: None },
            "TikTok failed internally; publishing again is safe",
        ),
        "video_pull_failed" | "photo_pull_failed" => (
            K::MediaRejected,
            Retry::Temporary {
                after: Some(Duration::from_secs(300)),
            },
            "TikTok could not download the media from its URL",
        ),
        "publish_cancelled" => (K::Unexpected, permanent, "the publish was cancelled"),
        "auth_removed" => (
            K::ReauthRequired,
            permanent,
            "the creator removed the app's access",
        ),
        "spam_risk_too_many_posts" => (
            K::RateLimited,
            Retry::Temporary {
                after: Some(SPAM_CAP_WAIT),
            },
            "the creator reached TikTok's daily posting cap",
        ),
        "spam_risk_user_banned_from_posting" => (
            K::PermissionDenied,
            permanent,
            "TikTok has banned this creator from posting",
        ),
        "spam_risk_text" | "spam_risk" => (
            K::InvalidContent,
            permanent,
            "TikTok flagged the post as spam",
        ),
        _ => (K::Unexpected, permanent, "TikTok gave up on the publish"),
    };
    let reason: String = reason.chars().take(64).collect();
    (kind, retry, format!("{what} (fail_reason {reason})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> Error {
        let now = DateTime::parse_from_rfc3339("2026-12-02T22:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        parse_error(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            now,
        )
    }

    fn envelope(code: &str) -> String {
        format!(
            r#"{{"data":{{}},"error":{{"code":"{code}","message":"m","log_id":"202303010000000000000000000000AAAA"}}}}"#
        )
    }

    #[test]
    fn every_documented_code_has_its_kind() {
        use ErrorKind as K;
        for (status, code, kind, temporary) in [
            (400, "invalid_param", K::InvalidContent, false),
            (400, "invalid_params", K::InvalidContent, false),
            (400, "invalid_file_upload", K::MediaRejected, false),
            (400, "invalid_publish_id", K::NotFound, false),
            (
                400,
                "token_not_authorized_for_specified_publish_id",
                K::PermissionDenied,
                false,
            ),
            (401, "access_token_invalid", K::Auth, false),
            (401, "scope_not_authorized", K::ReauthRequired, false),
            (401, "scope_permission_missed", K::ReauthRequired, false),
            (403, "spam_risk_too_many_posts", K::RateLimited, true),
            (200, "spam_risk_too_many_posts", K::RateLimited, true),
            (
                403,
                "spam_risk_too_many_pending_share",
                K::RateLimited,
                true,
            ),
            (
                403,
                "spam_risk_user_banned_from_posting",
                K::PermissionDenied,
                false,
            ),
            (403, "reached_active_user_cap", K::RateLimited, true),
            (
                403,
                "unaudited_client_can_only_post_to_private_accounts",
                K::PermissionDenied,
                false,
            ),
            (403, "url_ownership_unverified", K::Config, false),
            (
                403,
                "privacy_level_option_mismatch",
                K::InvalidContent,
                false,
            ),
            (403, "app_version_check_failed", K::Unsupported, false),
            (429, "rate_limit_exceeded", K::RateLimited, true),
            (500, "internal_error", K::Unavailable, true),
            (503, "something_new", K::Unavailable, true),
            (400, "something_new", K::Unexpected, false),
        ] {
            let e = parse(status, &envelope(code));
            assert_eq!(e.kind(), kind, "{code}");
            assert_eq!(
                matches!(e.retry(), Retry::Temporary { .. }),
                temporary,
                "{code}"
            );
            assert_eq!(e.platform_code(), Some(code));
            assert!(
                e.to_string().contains("202303010000000000000000000000AAAA"),
                "log_id kept: {e}"
            );
        }
    }

    #[test]
    fn the_active_user_cap_is_an_app_wide_quota_until_the_next_utc_day() {
        let e = parse(403, &envelope(ACTIVE_USER_CAP));
        assert_eq!(
            e.retry(),
            Retry::Temporary {
                after: Some(Duration::from_secs(2 * 3600))
            }
        );
        assert!(e.to_string().contains("app-wide daily quota"), "{e}");
        let e = parse(429, &envelope("rate_limit_exceeded"));
        assert_eq!(
            e.retry(),
            Retry::Temporary {
                after: Some(RATE_LIMIT_WAIT)
            }
        );
    }

    #[test]
    fn a_body_that_is_not_the_envelope_is_classified_by_status() {
        let e = parse(502, "<html>Bad Gateway</html>");
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.http_status(), Some(502));
        assert!(!is_error_envelope(b"<html>"));
        assert!(!is_error_envelope(br#"{"data":{},"error":{"code":"ok"}}"#));
        assert!(is_error_envelope(
            envelope("rate_limit_exceeded").as_bytes()
        ));
    }

    #[test]
    fn fail_reasons_map_to_kinds() {
        use ErrorKind as K;
        for (reason, kind) in [
            ("file_format_check_failed", K::MediaRejected),
            ("duration_check_failed", K::MediaRejected),
            ("frame_rate_check_failed", K::MediaRejected),
            ("picture_size_check_failed", K::MediaRejected),
            ("internal", K::Unavailable),
            ("video_pull_failed", K::MediaRejected),
            ("photo_pull_failed", K::MediaRejected),
            ("publish_cancelled", K::Unexpected),
            ("auth_removed", K::ReauthRequired),
            ("spam_risk_too_many_posts", K::RateLimited),
            ("spam_risk_user_banned_from_posting", K::PermissionDenied),
            ("spam_risk_text", K::InvalidContent),
            ("whatever", K::Unexpected),
        ] {
            assert_eq!(fail_reason(reason).0, kind, "{reason}");
        }
    }
}
