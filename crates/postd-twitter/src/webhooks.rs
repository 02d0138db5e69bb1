//! Webhooks of the X Activity API (the Account Activity API is deprecated)
//! (<https://docs.x.com/x-api/webhooks/introduction>,
//! <https://docs.x.com/x-api/activity/introduction>,
//! <https://docs.x.com/x-api/activity/event-payloads>).
//!
//! - **CRC**: X sends `GET ?crc_token=...` when the webhook is registered,
//!   on `PUT`, and every 30 minutes while it has not been validated for a
//!   day; the answer is `{"response_token": "sha256=" + base64(HMAC-SHA256(consumer
//!   secret, crc_token))}`. Only a token of the shape X sends is signed (see
//!   [`postd_core::webhook::challenge_token`]): signing anything would make the
//!   endpoint an oracle for forged deliveries.
//! - **Deliveries**: a `POST` whose `x-twitter-webhooks-signature-oauth2` is
//!   `sha256=` + base64(HMAC-SHA256(OAuth 2.0 client secret, raw body)), and
//!   (legacy, for apps with a consumer secret) `x-twitter-webhooks-signature`
//!   the same under the consumer secret. X's quickstart shows only the
//!   legacy header; both are checked when the app holds the key. To be
//!   answered within 10 seconds; the body is `{"data": {"event_uuid",
//!   "filter", "event_type", "tag", "payload"}}`. `event_uuid` is the
//!   de-duplication id; `post.create` is evidence a Post exists (its payload
//!   is the Post), and `oauth.revoke` means the user removed the app.

use chrono::{DateTime, Utc};
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::webhook::{
    SignatureEncoding, challenge_token, hmac_sha256_base64, verify_hmac_sha256,
};
use postd_core::{
    ChallengeResponse, Error, ErrorKind, Platform, Result, WebhookEvent, WebhookRequest,
};
use serde::Deserialize;
use serde_json::Value;

/// The legacy signature header of a delivery (keyed with the consumer secret).
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

/// The signature header keyed with the app's OAuth 2.0 client secret.
pub const OAUTH2_SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature-oauth2";

/// The largest delivery body verified.
const MAX_BODY: usize = 1024 * 1024;

fn refuse(message: &str) -> Error {
    Error::new(ErrorKind::InvalidSignature, message.to_owned())
        .with_platform(Platform::Twitter)
        .with_operation("verify_webhook")
}

/// The app's secrets that key webhooks: the consumer (API key) secret, for
/// the CRC and the legacy [`SIGNATURE_HEADER`]; the OAuth 2.0 client secret,
/// for [`OAUTH2_SIGNATURE_HEADER`] (and the CRC of an app without a consumer secret).
#[derive(Clone, Copy)]
pub(crate) struct Keys<'a> {
    pub(crate) consumer: Option<&'a SecretString>,
    pub(crate) client: Option<&'a SecretString>,
}

fn bytes(s: Option<&SecretString>) -> Option<&[u8]> {
    s.map(|s| s.expose_secret().as_bytes())
        .filter(|s| !s.is_empty())
}

fn no_keys(operation: &'static str) -> Error {
    Error::config(
        "X webhooks need the app's consumer secret (X_CONSUMER_SECRET) or OAuth 2.0 client secret (X_CLIENT_SECRET); without one nothing is signed or verified",
    )
    .with_platform(Platform::Twitter)
    .with_operation(operation)
}

/// Answers X's CRC, keyed with the consumer secret (as X's webhook
/// quickstart says), or with the OAuth 2.0 client secret when the app has
/// no consumer secret configured.
pub(crate) fn challenge(keys: Keys<'_>, request: &WebhookRequest) -> Result<ChallengeResponse> {
    let token = challenge_token(
        Platform::Twitter,
        "crc_token",
        request.query_param("crc_token"),
    )?;
    let key = bytes(keys.consumer)
        .or_else(|| bytes(keys.client))
        .ok_or_else(|| no_keys("webhook_challenge"))?;
    let answer = serde_json::json!({
        "response_token": format!("sha256={}", hmac_sha256_base64(key, token.as_bytes())),
    });
    Ok(ChallengeResponse::json(answer.to_string()))
}

#[derive(Deserialize)]
struct Envelope {
    data: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event {
    event_uuid: Option<Value>,
    event_type: String,
    filter: Value,
    payload: Value,
}

/// One signature header's check: `sha256=` + 44 characters of padded
/// base64 (nothing else is a signature X wrote, however it would decode),
/// the HMAC of the raw body under `key`.
fn check(name: &str, header: &str, key: &[u8], body: &[u8]) -> Result<()> {
    let Some(signature) = header.trim().strip_prefix("sha256=") else {
        return Err(refuse(&format!(
            "the {name} header does not start with sha256="
        )));
    };
    if signature.len() != 44 || !signature.ends_with('=') || signature.ends_with("==") {
        return Err(refuse(&format!(
            "the {name} signature is not 44 characters of padded base64"
        )));
    }
    verify_hmac_sha256(key, body, signature, SignatureEncoding::Base64).map_err(|e| {
        if e.kind() == ErrorKind::InvalidSignature {
            refuse(&format!(
                "the {name} signature is not valid: {}",
                e.message()
            ))
        } else {
            e.with_platform(Platform::Twitter)
        }
    })
}

/// Verifies a delivery's signature on the raw body, then parses its events.
///
/// X signs with [`OAUTH2_SIGNATURE_HEADER`] under the OAuth 2.0 client
/// secret and, for apps with one, the legacy [`SIGNATURE_HEADER`] under the
/// consumer secret. Every such header the app holds the key for must
/// verify, and at least one must be there.
pub(crate) fn verify(keys: Keys<'_>, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    if request.body.len() > MAX_BODY {
        return Err(
            Error::new(ErrorKind::InvalidContent, "the X webhook body is too large")
                .with_platform(Platform::Twitter)
                .with_operation("verify_webhook"),
        );
    }
    if bytes(keys.consumer).is_none() && bytes(keys.client).is_none() {
        return Err(no_keys("verify_webhook"));
    }
    let mut checked = 0;
    for (name, key) in [
        (OAUTH2_SIGNATURE_HEADER, bytes(keys.client)),
        (SIGNATURE_HEADER, bytes(keys.consumer)),
    ] {
        let (Some(value), Some(key)) = (request.headers.get(name), key) else {
            continue;
        };
        let header = value
            .to_str()
            .map_err(|_| refuse(&format!("the {name} header is not text")))?;
        check(name, header, key, &request.body)?;
        checked += 1;
    }
    if checked == 0 {
        return Err(refuse(
            "the delivery has no x-twitter-webhooks-signature(-oauth2) header this app holds the key for",
        ));
    }
    let envelope: Envelope = serde_json::from_slice(&request.body).map_err(|_| {
        Error::new(
            ErrorKind::InvalidContent,
            "the signed X webhook body is not the X Activity API envelope {\"data\": ...}",
        )
        .with_platform(Platform::Twitter)
        .with_operation("verify_webhook")
    })?;
    let items = match envelope.data {
        Value::Array(items) => items,
        one => vec![one],
    };
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        // Without an event_uuid, the id is a digest of the event as sent.
        let digest = {
            use sha2::{Digest, Sha256};
            let d = Sha256::digest(item.to_string().as_bytes());
            let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        };
        let e: Event = serde_json::from_value(item).map_err(|_| {
            Error::new(
                ErrorKind::InvalidContent,
                "an X webhook event is not an object with event_type and payload",
            )
            .with_platform(Platform::Twitter)
            .with_operation("verify_webhook")
        })?;
        events.push(event(e, digest));
    }
    Ok(events)
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.chars().take(64).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn event(e: Event, digest: String) -> WebhookEvent {
    let kind = if e.event_type.is_empty() {
        "unknown".to_owned()
    } else {
        e.event_type.chars().take(64).collect()
    };
    let target = text(&e.filter, "user_id")
        .or_else(|| text(&e.payload, "author_id"))
        .or_else(|| text(&e.payload, "user_id"));
    let occurred = ["created_at", "date_time"]
        .iter()
        .find_map(|k| e.payload.get(*k).and_then(Value::as_str))
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let id = e
        .event_uuid
        .and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.chars().take(64).collect::<String>()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or(digest);
    let revokes = kind == "oauth.revoke";
    let mut out = WebhookEvent::new(Platform::Twitter, kind, e.payload);
    out.id = Some(id);
    out.target_id = target;
    out.occurred_at = occurred;
    out.revokes_access = revokes;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::reqwest::header::{HeaderMap, HeaderValue};

    fn keys() -> Keys<'static> {
        static CONSUMER: std::sync::LazyLock<SecretString> =
            std::sync::LazyLock::new(|| SecretString::from("consumer-secret"));
        static CLIENT: std::sync::LazyLock<SecretString> =
            std::sync::LazyLock::new(|| SecretString::from("client-secret"));
        Keys {
            consumer: Some(&CONSUMER),
            client: Some(&CLIENT),
        }
    }

    fn signed(body: &[u8]) -> WebhookRequest {
        let mut h = HeaderMap::new();
        let sig = format!("sha256={}", hmac_sha256_base64(b"consumer-secret", body));
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(&sig).unwrap());
        WebhookRequest::post(h, body.to_vec())
    }

    #[test]
    fn a_post_create_and_a_revoke_are_parsed() {
        let body = br#"{"data":{"event_uuid":"1958220545706758147","filter":{"user_id":"2244994945"},"event_type":"post.create","tag":"mine","payload":{"id":"1958220545706758145","text":"hi","author_id":"2244994945","created_at":"2025-08-20T16:21:56.000Z"}}}"#;
        let events = verify(keys(), &signed(body)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "post.create");
        assert_eq!(events[0].id.as_deref(), Some("1958220545706758147"));
        assert_eq!(events[0].target_id.as_deref(), Some("2244994945"));
        assert!(events[0].occurred_at.is_some());
        assert!(!events[0].revokes_access);
        let revoke = br#"{"data":{"event_uuid":"7","filter":{},"event_type":"oauth.revoke","payload":{"date_time":"2025-08-20T16:21:56+00:00","user_id":"99","app_id":"29820954"}}}"#;
        let events = verify(keys(), &signed(revoke)).unwrap();
        assert!(events[0].revokes_access);
        assert_eq!(events[0].target_id.as_deref(), Some("99"));
    }

    #[test]
    fn the_oauth2_header_verifies_under_the_client_secret() {
        let body =
            br#"{"data":{"event_uuid":"1","event_type":"post.create","payload":{"id":"5"}}}"#;
        let sign = |key: &[u8]| format!("sha256={}", hmac_sha256_base64(key, body));
        let with = |headers: &[(&'static str, String)]| {
            let mut h = HeaderMap::new();
            for (k, v) in headers {
                h.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            WebhookRequest::post(h, body.to_vec())
        };
        let oauth2 = with(&[(OAUTH2_SIGNATURE_HEADER, sign(b"client-secret"))]);
        assert_eq!(verify(keys(), &oauth2).unwrap().len(), 1);
        // Keyed with the other secret, or with none held: refused.
        let wrong = with(&[(OAUTH2_SIGNATURE_HEADER, sign(b"consumer-secret"))]);
        assert_eq!(
            verify(keys(), &wrong).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        let consumer_only = Keys {
            consumer: keys().consumer,
            client: None,
        };
        assert_eq!(
            verify(consumer_only, &oauth2).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        // Both headers: both must hold.
        let both = with(&[
            (OAUTH2_SIGNATURE_HEADER, sign(b"client-secret")),
            (SIGNATURE_HEADER, sign(b"consumer-secret")),
        ]);
        assert!(verify(keys(), &both).is_ok());
        let one_forged = with(&[
            (OAUTH2_SIGNATURE_HEADER, sign(b"client-secret")),
            (SIGNATURE_HEADER, sign(b"forged")),
        ]);
        assert_eq!(
            verify(keys(), &one_forged).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        // Without a consumer secret, the CRC is keyed with the client secret.
        let client_only = Keys {
            consumer: None,
            client: keys().client,
        };
        let token = "NjA0ZmQ5YTktYjM3Ni00ZmE3LWE2ZjktZTJhZTliNTc0ZjI3";
        let answer = challenge(client_only, &WebhookRequest::get([("crc_token", token)])).unwrap();
        assert!(
            answer
                .body
                .contains(&hmac_sha256_base64(b"client-secret", token.as_bytes()))
        );
    }

    #[test]
    fn an_event_without_a_uuid_gets_a_stable_id() {
        let body = br#"{"data":{"event_type":"post.delete","payload":{"id":"5","author_id":"9"}}}"#;
        let a = verify(keys(), &signed(body)).unwrap();
        let b = verify(keys(), &signed(body)).unwrap();
        assert_eq!(a[0].id, b[0].id);
        assert!(a[0].id.as_deref().unwrap().starts_with("sha256:"));
        let other =
            br#"{"data":{"event_type":"post.delete","payload":{"id":"6","author_id":"9"}}}"#;
        assert_ne!(verify(keys(), &signed(other)).unwrap()[0].id, a[0].id);
    }

    #[test]
    fn forged_or_unsigned_deliveries_are_refused() {
        let body = br#"{"data":{"event_type":"post.create","payload":{}}}"#;
        let mut forged = signed(b"something else");
        forged.body = body.to_vec().into();
        let e = verify(keys(), &forged).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let bare = WebhookRequest::post(HeaderMap::new(), body.to_vec());
        assert_eq!(
            verify(keys(), &bare).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        assert_eq!(
            verify(
                Keys {
                    consumer: None,
                    client: None
                },
                &signed(body)
            )
            .unwrap_err()
            .kind(),
            ErrorKind::Config
        );
        let e = verify(keys(), &signed(b"not json")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidContent);
    }

    /// The vectors pinned in CONNECTOR_SPECS_X.md section 8.
    #[test]
    fn the_pinned_vectors_hold() {
        let secret = SecretString::from("z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu");
        let answer = challenge(
            Keys {
                consumer: Some(&secret),
                client: None,
            },
            &WebhookRequest::get([("crc_token", "9b4507b3-9040-4669-9ca3-6b94edb50553")]),
        )
        .unwrap();
        assert_eq!(
            answer.body,
            r#"{"response_token":"sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8="}"#
        );
        let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
        let mut h = HeaderMap::new();
        h.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_static("sha256=YmCym2tRkRmskts0BDGX6ZIB+y0zN1JCuEHQ69ekk7c="),
        );
        // The signature verifies; the body is not the Activity API envelope.
        let err = verify(
            Keys {
                consumer: Some(&secret),
                client: None,
            },
            &WebhookRequest::post(h, body.to_vec()),
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    }

    #[test]
    fn the_crc_signs_only_tokens_of_xs_shape() {
        let token = "NjA0ZmQ5YTktYjM3Ni00ZmE3LWE2ZjktZTJhZTliNTc0ZjI3";
        let answer = challenge(keys(), &WebhookRequest::get([("crc_token", token)])).unwrap();
        let v: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(
            v["response_token"],
            format!(
                "sha256={}",
                hmac_sha256_base64(b"consumer-secret", token.as_bytes())
            )
        );
        let forged = r#"{"data":{"event_type":"oauth.revoke"}}"#;
        let e = challenge(keys(), &WebhookRequest::get([("crc_token", forged)])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let none = WebhookRequest::get(Vec::<(String, String)>::new());
        assert_eq!(
            challenge(keys(), &none).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
    }
}
