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
    ChallengeResponse, SignatureEncoding, WebhookEvent, WebhookRequest, hmac_sha256_hex,
    verify_hmac_sha256,
};
use postd_core::{Error, ErrorKind, Platform, Result};
use serde::Deserialize;

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
    Ok(ChallengeResponse::text(challenge))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Compare MACs of both sides so the comparison time does not depend on where they differ.
    let ka = hmac_sha256_hex(b"postd-verify-token", a);
    let kb = hmac_sha256_hex(b"postd-verify-token", b);
    ka.bytes()
        .zip(kb.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
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

#[derive(Deserialize)]
struct Delivery {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    time: Option<i64>,
    #[serde(default)]
    changes: Vec<Change>,
    #[serde(default)]
    messaging: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    #[serde(default)]
    value: serde_json::Value,
}

/// Parses a verified body into events.
pub(crate) fn parse(body: &[u8]) -> Result<Vec<WebhookEvent>> {
    let delivery: Delivery = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::InvalidContent,
            format!(
                "webhook body is not a Meta delivery ({} at line {} column {})",
                category(&e),
                e.line(),
                e.column()
            ),
        )
        .with_platform(Platform::Meta)
        .with_operation("verify_webhook")
    })?;
    let mut events = Vec::new();
    for entry in delivery.entry {
        let target_id = entry.id.as_ref().map(id_text);
        let occurred_at = entry.time.and_then(entry_time);
        for change in entry.changes {
            let id = event_id(
                &delivery.object,
                target_id.as_deref(),
                entry.time,
                &change.field,
                &change.value,
            );
            let mut e = WebhookEvent::new(Platform::Meta, change.field, change.value);
            e.id = Some(id);
            e.target_id = target_id.clone();
            e.occurred_at = occurred_at;
            events.push(e);
        }
        for message in entry.messaging {
            let id = event_id(
                &delivery.object,
                target_id.as_deref(),
                entry.time,
                "messaging",
                &message,
            );
            let mut e = WebhookEvent::new(Platform::Meta, "messaging", message);
            e.id = Some(id);
            e.target_id = target_id.clone();
            e.occurred_at = occurred_at;
            events.push(e);
        }
    }
    Ok(events)
}

fn category(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => "unexpected shape",
        serde_json::error::Category::Eof => "truncated JSON",
        _ => "malformed JSON",
    }
}

fn id_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
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

/// A stable id for deduplication: the object's own id when the change has one
/// (`comment_id`, `post_id`, `id`) plus the verb, else a digest of the change.
fn event_id(
    object: &str,
    target: Option<&str>,
    time: Option<i64>,
    field: &str,
    value: &serde_json::Value,
) -> String {
    let own = ["comment_id", "post_id", "id", "media_id"]
        .iter()
        .find_map(|k| value.get(*k).map(id_text));
    match own {
        Some(own) => {
            let verb = value.get("verb").and_then(|v| v.as_str()).unwrap_or("");
            format!("{object}:{}:{field}:{own}:{verb}", target.unwrap_or(""))
        }
        None => {
            let digest = hmac_sha256_hex(b"postd-meta-event", value.to_string().as_bytes());
            format!(
                "{object}:{}:{field}:{}:{}",
                target.unwrap_or(""),
                time.unwrap_or(0),
                &digest[..16]
            )
        }
    }
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
        assert_eq!(events[0].id.as_deref(), Some("page:111:feed:111_9:add"));
        assert_eq!(events[0].payload["new_field"], 1);
        assert_eq!(events[1].kind, "something_new");
        assert!(
            events[1]
                .id
                .as_deref()
                .unwrap()
                .starts_with("page:111:something_new:1520383571:")
        );
        assert_eq!(events[2].occurred_at.unwrap().timestamp(), 1520383572);
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
