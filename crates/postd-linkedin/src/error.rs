//! LinkedIn errors: one `parse_error` for the REST API's two error shapes,
//! `{"status","serviceErrorCode","code","message"}` and the rest.li
//! validation shape with `errorDetails.inputErrors[].code`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::http::generic_error;
use postd_core::reqwest::StatusCode;
use postd_core::reqwest::header::HeaderMap;
use postd_core::{Error, ErrorKind, Platform, Retry};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    service_error_code: Option<i64>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_details: Option<ErrorDetails>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorDetails {
    #[serde(default)]
    input_errors: Vec<InputError>,
}

#[derive(Deserialize, Default)]
struct InputError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// The wait after a 429 when LinkedIn gives none.
const THROTTLE_WAIT: Duration = Duration::from_secs(15 * 60);

/// Classifies a non-2xx answer; `version` is the `LinkedIn-Version` the request sent.
pub(crate) fn parse_error(
    version: &str,
    status: StatusCode,
    _headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Error {
    if status.as_u16() == 426 {
        // Whatever the body (a proxy may send HTML), 426 means the version is inactive.
        return Error::new(
            ErrorKind::Config,
            format!(
                "LinkedIn-Version {version} is not active (LinkedIn sunsets versions after about 12 months); \
                 set LINKEDIN_VERSION to a current YYYYMM version"
            ),
        )
        .with_platform(Platform::LinkedIn)
        .with_status(426)
        .with_code("NONEXISTENT_VERSION");
    }
    let Ok(parsed) = serde_json::from_slice::<Body>(body) else {
        return generic_error(status, body).with_platform(Platform::LinkedIn);
    };
    let input_code = parsed
        .error_details
        .as_ref()
        .and_then(|d| d.input_errors.iter().find_map(|e| e.code.clone()));
    let input_description = parsed
        .error_details
        .as_ref()
        .and_then(|d| d.input_errors.iter().find_map(|e| e.description.clone()));
    let code = input_code.clone().or_else(|| parsed.code.clone());
    let mut message = parsed
        .message
        .clone()
        .or(input_description)
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("LinkedIn error")
                .to_owned()
        });
    message.truncate(
        message
            .char_indices()
            .nth(400)
            .map_or(message.len(), |(i, _)| i),
    );

    let temporary = |after| Retry::Temporary { after };
    let (kind, retry) = match (status.as_u16(), code.as_deref(), parsed.service_error_code) {
        (401, Some("REVOKED_ACCESS_TOKEN"), _) | (401, _, Some(65601)) => {
            (ErrorKind::ReauthRequired, Retry::Permanent)
        }
        // The body's code says more than the status: it wins.
        (_, Some("DUPLICATE_POST"), _) => (ErrorKind::Duplicate, Retry::Permanent),
        (_, Some("VERSION_MISSING"), _) => (ErrorKind::Config, Retry::Permanent),
        (401, _, _) => (ErrorKind::Auth, Retry::Permanent),
        (403, _, _) => (ErrorKind::PermissionDenied, Retry::Permanent),
        (404, _, _) => (ErrorKind::NotFound, Retry::Permanent),
        (409, _, _) => (
            ErrorKind::Unavailable,
            temporary(Some(Duration::from_secs(5))),
        ),
        (400 | 422, _, _) => (ErrorKind::InvalidContent, Retry::Permanent),
        // Daily limits reset at midnight UTC and LinkedIn sends no Retry-After.
        // The same 429 body serves daily limits (reset at UTC midnight) and infrastructure
        // protection: wait a quarter of an hour, never past midnight, and let the queue ask again.
        (429, _, _) => (
            ErrorKind::RateLimited,
            temporary(Some(until_utc_midnight(now).min(THROTTLE_WAIT))),
        ),
        (500..=599, _, _) => (ErrorKind::Unavailable, temporary(None)),
        _ => (ErrorKind::Unexpected, Retry::Permanent),
    };
    let mut err = Error::new(kind, message)
        .with_retry(retry)
        .with_platform(Platform::LinkedIn)
        .with_status(status.as_u16());
    let code_text = match (code, parsed.service_error_code) {
        (Some(c), Some(s)) => Some(format!("{c}/{s}")),
        (Some(c), None) => Some(c),
        (None, Some(s)) => Some(s.to_string()),
        (None, None) => None,
    };
    if let Some(c) = code_text {
        err = err.with_code(c);
    }
    err
}

fn until_utc_midnight(now: DateTime<Utc>) -> Duration {
    let tomorrow = now
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0));
    tomorrow
        .map(|t| t.and_utc() - now)
        .and_then(|d| d.to_std().ok())
        .unwrap_or(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn parse(status: u16, body: &str) -> Error {
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 22, 0, 0).unwrap();
        parse_error(
            "202609",
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            now,
        )
    }

    #[test]
    fn table_of_linkedin_errors() {
        use ErrorKind::*;
        type Case<'a> = (u16, &'a str, ErrorKind, bool, Option<&'a str>);
        let cases: &[Case] = &[
            (
                401,
                r#"{"status":401,"serviceErrorCode":65600,"code":"INVALID_ACCESS_TOKEN","message":"Invalid access token"}"#,
                Auth,
                false,
                Some("INVALID_ACCESS_TOKEN/65600"),
            ),
            (
                401,
                r#"{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"}"#,
                ReauthRequired,
                false,
                Some("REVOKED_ACCESS_TOKEN/65601"),
            ),
            (
                401,
                r#"{"status":401,"serviceErrorCode":65601,"message":"revoked"}"#,
                ReauthRequired,
                false,
                Some("65601"),
            ),
            (
                401,
                r#"{"status":401,"code":"EXPIRED_ACCESS_TOKEN","message":"The token used in the request has expired"}"#,
                Auth,
                false,
                Some("EXPIRED_ACCESS_TOKEN"),
            ),
            (
                403,
                r#"{"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED","message":"Not enough permissions to access: partnerApiPostsExternal.CREATE.20260901"}"#,
                PermissionDenied,
                false,
                Some("ACCESS_DENIED/100"),
            ),
            (
                404,
                r#"{"status":404,"code":"NOT_FOUND","message":"Not Found"}"#,
                NotFound,
                false,
                Some("NOT_FOUND"),
            ),
            (
                409,
                r#"{"status":409,"message":"Conflict"}"#,
                Unavailable,
                true,
                None,
            ),
            // The body's code wins over the status: a 409 that says DUPLICATE_POST is a duplicate.
            (
                409,
                r#"{"status":409,"code":"DUPLICATE_POST","message":"Content is a duplicate of urn:li:share:7141138937766391808"}"#,
                Duplicate,
                false,
                Some("DUPLICATE_POST"),
            ),
            (
                409,
                r#"{"status":409,"message":"Duplicate post is detected","errorDetails":{"inputErrors":[{"code":"DUPLICATE_POST"}]}}"#,
                Duplicate,
                false,
                Some("DUPLICATE_POST"),
            ),
            (
                422,
                r#"{"errorDetailType":"com.linkedin.common.error.BadRequest","message":"com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of urn:li:share:7141138937766391808","errorDetails":{"inputErrors":[{"description":"Duplicate post is detected","input":{},"code":"DUPLICATE_POST"}]},"status":422}"#,
                Duplicate,
                false,
                Some("DUPLICATE_POST"),
            ),
            (
                422,
                r#"{"status":422,"message":"ERROR :: /commentary :: is too long","errorDetails":{"inputErrors":[{"code":"FIELD_LENGTH_TOO_LONG"}]}}"#,
                InvalidContent,
                false,
                Some("FIELD_LENGTH_TOO_LONG"),
            ),
            (
                400,
                r#"{"status":400,"code":"INVALID_CONTENT_OWNERSHIP","message":"Content(s) you provided must be owned by post author"}"#,
                InvalidContent,
                false,
                Some("INVALID_CONTENT_OWNERSHIP"),
            ),
            (
                400,
                r#"{"status":400,"code":"VERSION_MISSING","message":"A version must be present"}"#,
                Config,
                false,
                Some("VERSION_MISSING"),
            ),
            (
                426,
                r#"{"status":426,"code":"NONEXISTENT_VERSION","message":"Requested version 20250401 is not active"}"#,
                Config,
                false,
                Some("NONEXISTENT_VERSION"),
            ),
            (
                429,
                r#"{"status":429,"message":"Resource level throttle limit for calls to this resource is reached."}"#,
                RateLimited,
                true,
                None,
            ),
            (
                500,
                r#"{"status":500,"message":"Internal Server Error"}"#,
                Unavailable,
                true,
                None,
            ),
            (
                503,
                r#"{"status":503,"message":"Service Unavailable"}"#,
                Unavailable,
                true,
                None,
            ),
            (
                504,
                r#"{"status":504,"message":"Gateway Timeout"}"#,
                Unavailable,
                true,
                None,
            ),
        ];
        for &(status, body, kind, temporary, code) in cases {
            let err = parse(status, body);
            assert_eq!(err.kind(), kind, "{status} {body}");
            assert_eq!(err.is_temporary(), temporary, "{status} {body}");
            assert_eq!(err.platform_code(), code, "{status} {body}");
            assert_eq!(err.http_status(), Some(status));
            assert_eq!(err.platform(), Some(Platform::LinkedIn));
        }
    }

    #[test]
    fn mutated_error_bodies_never_panic() {
        let mut rng = postd_testkit::fuzz::Rng::new(0x4c49);
        let seed = br#"{"errorDetailType":"x","message":"Content is a duplicate of urn:li:share:1","errorDetails":{"inputErrors":[{"code":"DUPLICATE_POST"}]},"status":422}"#;
        for i in 0..10_000 {
            let b = rng.mutate(seed);
            let status = [400u16, 401, 422, 426, 429, 500][i % 6];
            let e = parse(status, &String::from_utf8_lossy(&b));
            assert_eq!(e.http_status(), Some(status));
        }
    }

    #[test]
    fn inactive_version_names_the_version() {
        let err = parse(
            426,
            r#"{"status":426,"code":"NONEXISTENT_VERSION","message":"Requested version 20250401 is not active"}"#,
        );
        assert!(
            err.to_string()
                .contains("LinkedIn-Version 202609 is not active"),
            "{err}"
        );
        assert!(err.to_string().contains("LINKEDIN_VERSION"));
    }

    #[test]
    fn throttles_wait_a_quarter_hour_but_never_past_midnight() {
        let err = parse(429, r#"{"status":429,"message":"throttled"}"#);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(15 * 60)));
        let late = Utc.with_ymd_and_hms(2026, 11, 27, 23, 55, 0).unwrap();
        let err = parse_error(
            "202609",
            StatusCode::TOO_MANY_REQUESTS,
            &HeaderMap::new(),
            b"{}",
            late,
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(5 * 60)));
    }

    #[test]
    fn html_426_still_names_the_version() {
        let err = parse(426, "<html>Upgrade Required</html>");
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("202609"));
    }

    #[test]
    fn non_json_bodies_keep_the_status() {
        for (status, body) in [
            (502, "<html>Bad Gateway</html>"),
            (504, ""),
            (500, "upstream connect error"),
        ] {
            let err = parse(status, body);
            assert_eq!(err.http_status(), Some(status));
            assert_eq!(err.kind(), ErrorKind::Unavailable);
            assert!(err.is_temporary());
        }
    }
}
