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
//! - **Deliveries**: a `POST` whose `x-twitter-webhooks-signature` is
//!   `sha256=` + base64(HMAC-SHA256(consumer secret, raw body)), to be
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

/// The signature header of a delivery.
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

/// The largest delivery body verified.
const MAX_BODY: usize = 1024 * 1024;

fn refuse(message: &str) -> Error {
    Error::new(ErrorKind::InvalidSignature, message.to_owned())
        .with_platform(Platform::Twitter)
        .with_operation("verify_webhook")
}

fn secret<'a>(
    consumer_secret: Option<&'a SecretString>,
    operation: &'static str,
) -> Result<&'a [u8]> {
    consumer_secret
        .map(|s| s.expose_secret().as_bytes())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::config(
                "X webhooks need the app's consumer secret (X_CONSUMER_SECRET); without it nothing is signed or verified",
            )
            .with_platform(Platform::Twitter)
            .with_operation(operation)
        })
}

/// Answers X's CRC.
pub(crate) fn challenge(
    consumer_secret: Option<&SecretString>,
    request: &WebhookRequest,
) -> Result<ChallengeResponse> {
    let token = challenge_token(
        Platform::Twitter,
        "crc_token",
        request.query_param("crc_token"),
    )?;
    let key = secret(consumer_secret, "webhook_challenge")?;
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

/// Verifies a delivery's signature on the raw body, then parses its events.
pub(crate) fn verify(
    consumer_secret: Option<&SecretString>,
    request: &WebhookRequest,
) -> Result<Vec<WebhookEvent>> {
    if request.body.len() > MAX_BODY {
        return Err(
            Error::new(ErrorKind::InvalidContent, "the X webhook body is too large")
                .with_platform(Platform::Twitter)
                .with_operation("verify_webhook"),
        );
    }
    let key = secret(consumer_secret, "verify_webhook")?;
    let header = request
        .required_header(SIGNATURE_HEADER)
        .map_err(|_| refuse("the x-twitter-webhooks-signature header is missing"))?;
    let Some(signature) = header.trim().strip_prefix("sha256=") else {
        return Err(refuse(
            "the x-twitter-webhooks-signature header does not start with sha256=",
        ));
    };
    // X sends padded standard base64 of 32 bytes: 44 characters, the last `=`. Nothing else
    // is a signature X wrote, however it would decode.
    if signature.len() != 44 || !signature.ends_with('=') || signature.ends_with("==") {
        return Err(refuse(
            "the X webhook signature is not 44 characters of padded base64",
        ));
    }
    verify_hmac_sha256(key, &request.body, signature, SignatureEncoding::Base64).map_err(|e| {
        if e.kind() == ErrorKind::InvalidSignature {
            refuse(&format!(
                "the X webhook signature is not valid: {}",
                e.message()
            ))
        } else {
            e.with_platform(Platform::Twitter)
        }
    })?;
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

    fn key() -> SecretString {
        SecretString::from("consumer-secret")
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
        let events = verify(Some(&key()), &signed(body)).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "post.create");
        assert_eq!(events[0].id.as_deref(), Some("1958220545706758147"));
        assert_eq!(events[0].target_id.as_deref(), Some("2244994945"));
        assert!(events[0].occurred_at.is_some());
        assert!(!events[0].revokes_access);
        let revoke = br#"{"data":{"event_uuid":"7","filter":{},"event_type":"oauth.revoke","payload":{"date_time":"2025-08-20T16:21:56+00:00","user_id":"99","app_id":"29820954"}}}"#;
        let events = verify(Some(&key()), &signed(revoke)).unwrap();
        assert!(events[0].revokes_access);
        assert_eq!(events[0].target_id.as_deref(), Some("99"));
    }

    #[test]
    fn an_event_without_a_uuid_gets_a_stable_id() {
        let body = br#"{"data":{"event_type":"post.delete","payload":{"id":"5","author_id":"9"}}}"#;
        let a = verify(Some(&key()), &signed(body)).unwrap();
        let b = verify(Some(&key()), &signed(body)).unwrap();
        assert_eq!(a[0].id, b[0].id);
        assert!(a[0].id.as_deref().unwrap().starts_with("sha256:"));
        let other =
            br#"{"data":{"event_type":"post.delete","payload":{"id":"6","author_id":"9"}}}"#;
        assert_ne!(verify(Some(&key()), &signed(other)).unwrap()[0].id, a[0].id);
    }

    #[test]
    fn forged_or_unsigned_deliveries_are_refused() {
        let body = br#"{"data":{"event_type":"post.create","payload":{}}}"#;
        let mut forged = signed(b"something else");
        forged.body = body.to_vec().into();
        let e = verify(Some(&key()), &forged).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let bare = WebhookRequest::post(HeaderMap::new(), body.to_vec());
        assert_eq!(
            verify(Some(&key()), &bare).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        assert_eq!(
            verify(None, &signed(body)).unwrap_err().kind(),
            ErrorKind::Config
        );
        let e = verify(Some(&key()), &signed(b"not json")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidContent);
    }

    /// The vectors pinned in CONNECTOR_SPECS_X.md section 8.
    #[test]
    fn the_pinned_vectors_hold() {
        let secret = SecretString::from("z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu");
        let answer = challenge(
            Some(&secret),
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
        let err = verify(Some(&secret), &WebhookRequest::post(h, body.to_vec())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    }

    #[test]
    fn the_crc_signs_only_tokens_of_xs_shape() {
        let token = "NjA0ZmQ5YTktYjM3Ni00ZmE3LWE2ZjktZTJhZTliNTc0ZjI3";
        let answer = challenge(Some(&key()), &WebhookRequest::get([("crc_token", token)])).unwrap();
        let v: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(
            v["response_token"],
            format!(
                "sha256={}",
                hmac_sha256_base64(b"consumer-secret", token.as_bytes())
            )
        );
        let forged = r#"{"data":{"event_type":"oauth.revoke"}}"#;
        let e = challenge(Some(&key()), &WebhookRequest::get([("crc_token", forged)])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature);
        let none = WebhookRequest::get(Vec::<(String, String)>::new());
        assert_eq!(
            challenge(Some(&key()), &none).unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
    }
}
