//! Meta webhooks: verification requests, signatures over raw bytes, event parsing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::webhook::{WebhookRequest, hmac_sha256_hex};
use postd_core::{Connector, ErrorKind};
use postd_meta::MetaConfig;

fn connector(secret: &str) -> postd_meta::MetaConnector {
    let vars = Vars::from_pairs([
        ("META_CLIENT_ID", "1234"),
        ("META_CLIENT_SECRET", secret),
        ("META_WEBHOOK_VERIFY_TOKEN", "verify-me"),
    ]);
    MetaConfig::from_vars(&vars)
        .unwrap()
        .build(HttpClient::builder().build().unwrap())
}

fn signed(header: &[u8], body: &[u8]) -> WebhookRequest {
    let mut h = HeaderMap::new();
    h.insert(
        "x-hub-signature-256",
        HeaderValue::from_bytes(header).unwrap(),
    );
    WebhookRequest::post(h, body.to_vec())
}

const DELIVERY: &[u8] = br#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1732700000,"changes":[{"field":"comments","value":{"id":"c-1","text":"caf\u00e9!","from":{"id":"u1","username":"ada"},"media":{"id":"m-1","media_product_type":"FEED"}}}]}]}"#;

#[test]
fn challenge_answers_only_the_right_token() {
    let c = connector("s");
    let ok = WebhookRequest::get([
        ("hub.mode", "subscribe"),
        ("hub.verify_token", "verify-me"),
        ("hub.challenge", "1158201444"),
    ]);
    let resp = c.webhook_challenge(&ok).unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, "1158201444");
    assert_eq!(resp.content_type, "text/plain");
    for bad in [
        vec![
            ("hub.mode", "subscribe"),
            ("hub.verify_token", "wrong"),
            ("hub.challenge", "1"),
        ],
        vec![
            ("hub.mode", "unsubscribe"),
            ("hub.verify_token", "verify-me"),
            ("hub.challenge", "1"),
        ],
        vec![("hub.mode", "subscribe"), ("hub.challenge", "1")],
        vec![("hub.mode", "subscribe"), ("hub.verify_token", "verify-me")],
    ] {
        assert_eq!(
            c.webhook_challenge(&WebhookRequest::get(bad))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidSignature
        );
    }
    // No verify token configured: a configuration error, not a silent accept.
    let vars = Vars::from_pairs([("META_CLIENT_ID", "1"), ("META_CLIENT_SECRET", "s")]);
    let bare = MetaConfig::from_vars(&vars)
        .unwrap()
        .build(HttpClient::builder().build().unwrap());
    assert_eq!(
        bare.webhook_challenge(&ok).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn signature_over_raw_bytes_verifies_and_parses() {
    let c = connector("app-secret");
    let sig = format!("sha256={}", hmac_sha256_hex(b"app-secret", DELIVERY));
    let events = c.verify_webhook(&signed(sig.as_bytes(), DELIVERY)).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "comments");
    assert_eq!(events[0].target_id.as_deref(), Some("17841400000000001"));
    assert_eq!(events[0].payload["text"], "café!");
    // Re-serialising the parsed body changes the bytes (the escaped é), so it no longer verifies.
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(DELIVERY).unwrap())
            .unwrap();
    assert_ne!(reserialised, DELIVERY);
    assert_eq!(
        c.verify_webhook(&signed(sig.as_bytes(), &reserialised))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidSignature
    );
}

#[test]
fn published_vector_from_the_fact_sheet() {
    // A pinned vector: app secret app_secret_example over this body.
    let body = br#"{"id":"evt_test_webhook","object":"event"}"#;
    let header = b"sha256=3d548794549715aeb0cf819a05b8cd4e27c058a48c8b7478e71d192c517108f7";
    let c = connector("app_secret_example");
    // The signature verifies; the body has no `entry` list, so it parses to no events.
    assert!(c.verify_webhook(&signed(header, body)).unwrap().is_empty());
    assert_eq!(
        connector("other")
            .verify_webhook(&signed(header, body))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidSignature
    );
}

#[test]
fn a_signature_without_the_sha256_prefix_is_refused() {
    let c = connector("app-secret");
    let good = hmac_sha256_hex(b"app-secret", DELIVERY);
    for header in [format!("sha1={good}"), good] {
        let err = c
            .verify_webhook(&signed(header.as_bytes(), DELIVERY))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{header}");
    }
}

#[test]
fn malformed_body_with_a_valid_signature_is_a_content_error() {
    let c = connector("app-secret");
    for body in [
        &b"{not json"[..],
        b"",
        b"{\"object\":\"page\",\"entry\":{}}",
    ] {
        let sig = format!("sha256={}", hmac_sha256_hex(b"app-secret", body));
        let err = c.verify_webhook(&signed(sig.as_bytes(), body)).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidContent,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn appsecret_proof_vector() {
    // A pinned vector: hex HMAC-SHA256(app secret, access token).
    assert_eq!(
        hmac_sha256_hex(b"app_secret_example", b"EAAB_access_token_example"),
        "6143cc3a8aa30cb3bf96da57bce387e0ee9d0c0f02baa6d4ef9f9fc7b8dcaeb2"
    );
}
