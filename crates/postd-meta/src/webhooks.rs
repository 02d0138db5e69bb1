//! Meta webhooks.
//!
//! - Verification: `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`;
//!   answer the challenge as plain text when the token matches, refuse otherwise.
//! - Events: `POST` with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`,
//!   verified in constant time over the exact bytes received (Meta signs its
//!   escaped-unicode form, so a re-serialised body would not verify), then
//!   `{"object":"page"|"instagram",...,"entry":[{"id","time","changes":[{"field","value"}]}]}`
//!   becomes one event per change. Deliveries can batch many entries;
//!   unknown fields and event types are kept, not refused.

use chrono::{DateTime, Utc};
use postd_core::secrecy::ExposeSecret;
use postd_core::webhook::{
    ChallengeResponse, SignatureEncoding, WebhookEvent, WebhookRequest, constant_time_eq,
    hmac_sha256_hex, verify_hmac_sha256,
};
use postd_core::{Error, ErrorKind, Platform, Result};
use serde_json::Value;

use crate::config::MetaConfig;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

pub(crate) fn challenge(cfg: &MetaConfig, request: &WebhookRequest) -> Result<ChallengeResponse> {
    let Some(expected) = &cfg.webhook_verify_token else {
        return Err(Error::config(
            "META_WEBHOOK_VERIFY_TOKEN is not set; cannot answer Meta's verification request",
        )
        .with_platform(Platform::Meta)
        .with_operation("webhook_challenge"));
    };
    let fail = |msg: &str| {
        Err(Error::new(ErrorKind::InvalidSignature, msg)
            .with_platform(Platform::Meta)
            .with_operation("webhook_challenge"))
    };
    if request.query_param("hub.mode") != Some("subscribe") {
        return fail("hub.mode is not subscribe");
    }
    let Some(token) = request.query_param("hub.verify_token") else {
        return fail("hub.verify_token is missing");
    };
    if !constant_time_eq(token.as_bytes(), expected.expose_secret().as_bytes()) {
        return fail("hub.verify_token does not match");
    }
    let Some(challenge) = request
        .query_param("hub.challenge")
        .filter(|c| !c.is_empty())
    else {
        return fail("hub.challenge is missing");
    };
    // Meta's challenge is a number; echoing anything else would reflect attacker text.
    if challenge.len() > 64
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return fail("hub.challenge is not a plain token");
    }
    Ok(ChallengeResponse::text(challenge))
}

pub(crate) fn verify(cfg: &MetaConfig, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    let sig_error = |msg: &str| {
        Error::new(ErrorKind::InvalidSignature, msg)
            .with_platform(Platform::Meta)
            .with_operation("verify_webhook")
    };
    let header = request
        .required_header(SIGNATURE_HEADER)
        .map_err(|e| sig_error(e.message()))?;
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return Err(sig_error("X-Hub-Signature-256 must start with sha256="));
    };
    verify_hmac_sha256(
        cfg.client_secret.expose_secret().as_bytes(),
        &request.body,
        hex,
        SignatureEncoding::Hex,
    )
    .map_err(|e| sig_error(e.message()))?;
    parse(&request.body)
}

/// Parses a verified body into events.
///
/// The envelope must be a Meta delivery (an object with `object`); inside
/// it, a malformed entry or change is skipped rather than failing the whole
/// batch, since Meta would redeliver the batch and every good event in it.
pub(crate) fn parse(body: &[u8]) -> Result<Vec<WebhookEvent>> {
    let shape = |msg: String| {
        Error::new(ErrorKind::InvalidContent, msg)
            .with_platform(Platform::Meta)
            .with_operation("verify_webhook")
    };
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        shape(format!(
            "webhook body is not JSON ({} at line {} column {})",
            category(&e),
            e.line(),
            e.column()
        ))
    })?;
    let Some(object) = value.get("object").and_then(Value::as_str) else {
        return Err(shape(
            "webhook body is not a Meta delivery (no \"object\")".to_owned(),
        ));
    };
    let entries = match value.get("entry") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(shape("webhook body's \"entry\" is not a list".to_owned())),
    };
    let mut events = Vec::new();
    let mut skipped = 0usize;
    for entry in entries {
        if !entry.is_object() {
            skipped += 1;
            continue;
        }
        let target_id = entry.get("id").map(id_text);
        let time = entry.get("time").and_then(number);
        let occurred_at = time.and_then(entry_time);
        let changes = entry
            .get("changes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let changes = changes.map(|c| {
            (
                c.get("field").and_then(Value::as_str),
                c.get("value").cloned(),
            )
        });
        let messaging = entry
            .get("messaging")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let messaging = messaging.map(|m| (Some("messaging"), Some(m.clone())));
        for (field, payload) in changes.chain(messaging) {
            let Some(field) = field else {
                skipped += 1;
                continue;
            };
            let payload = payload.unwrap_or(Value::Null);
            let mut e = WebhookEvent::new(Platform::Meta, field, payload);
            e.id = Some(event_id(
                object,
                target_id.as_deref(),
                time,
                field,
                &e.payload,
            ));
            e.target_id = target_id.clone();
            e.occurred_at = occurred_at;
            events.push(e);
        }
    }
    if skipped > 0 {
        tracing::warn!(
            platform = "meta",
            skipped,
            "skipped malformed webhook entries"
        );
    }
    Ok(events)
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated JSON",
        _ => "malformed JSON",
    }
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Entry times are Unix seconds; some deliveries use milliseconds.
fn entry_time(t: i64) -> Option<DateTime<Utc>> {
    if t > 100_000_000_000 {
        DateTime::from_timestamp_millis(t)
    } else {
        DateTime::from_timestamp(t, 0)
    }
}

/// A stable id for deduplication: the same change redelivered gets the same id,
/// two different changes (two reactions to one post) get different ids.
fn event_id(
    object: &str,
    target: Option<&str>,
    time: Option<i64>,
    field: &str,
    value: &Value,
) -> String {
    let mut material = format!("{}|", time.unwrap_or(0)).into_bytes();
    material.extend_from_slice(value.to_string().as_bytes());
    let digest = hmac_sha256_hex(b"postd-meta-event", &material);
    format!(
        "{object}:{}:{field}:{}",
        target.unwrap_or(""),
        &digest[..24]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_batched_page_and_instagram_changes_and_keeps_unknowns() {
        let body = br#"{"object":"page","entry":[
            {"id":"111","time":1520383571,"changes":[
                {"field":"feed","value":{"item":"status","verb":"add","post_id":"111_9","message":"hi","new_field":1}},
                {"field":"something_new","value":{"x":true}}]},
            {"id":"222","time":1520383572000,"changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"c1"}}]}
        ],"extra":"ignored"}"#;
        let events = parse(body).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].kind, "feed");
        assert_eq!(events[0].target_id.as_deref(), Some("111"));
        assert!(
            events[0]
                .id
                .as_deref()
                .unwrap()
                .starts_with("page:111:feed:")
        );
        assert_ne!(events[0].id, events[1].id);
        // Redelivery of the same body gives the same ids.
        assert_eq!(parse(body).unwrap()[0].id, events[0].id);
        assert_eq!(events[0].payload["new_field"], 1);
        assert_eq!(events[1].kind, "something_new");
        assert!(
            events[1]
                .id
                .as_deref()
                .unwrap()
                .starts_with("page:111:something_new:")
        );
        assert_eq!(events[2].occurred_at.unwrap().timestamp(), 1520383572);
    }

    #[test]
    fn one_bad_change_does_not_sink_the_batch() {
        let body = br#"{"object":"page","entry":[
            {"id":"1","time":"1520383571","changes":[{"value":{"no":"field"}},{"field":"feed","value":{"verb":"add"}}]},
            {"id":"2","time":1.5e9,"changes":null},
            7,
            {"id":"3","time":1520383571,"changes":[{"field":"feed","value":{"reaction_type":"like","from":{"id":"a"}}},
                                                   {"field":"feed","value":{"reaction_type":"like","from":{"id":"b"}}}]}
        ]}"#;
        let events = parse(body).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].occurred_at.unwrap().timestamp(), 1520383571);
        // Two reactions from different people are two events.
        assert_ne!(events[1].id, events[2].id);
    }

    #[test]
    fn malformed_bodies_are_content_errors() {
        for body in [
            &b"not json"[..],
            b"{\"entry\":[]}",
            b"[1,2]",
            b"{\"object\":\"page\",\"entry\":5}",
        ] {
            let err = parse(body).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::InvalidContent,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(parse(br#"{"object":"page"}"#).unwrap().is_empty());
    }
}
