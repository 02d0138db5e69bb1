//! LinkedIn webhooks: challenge validation, X-LI-Signature variants, parsing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::webhook::{WebhookRequest, hmac_sha256_hex};
use postd_core::{Connector, ErrorKind};
use postd_linkedin::{LinkedInConfig, LinkedInConnector};

fn connector(secret: &str) -> LinkedInConnector {
    let vars = Vars::from_pairs([
        ("LINKEDIN_CLIENT_ID", "c"),
        ("LINKEDIN_CLIENT_SECRET", secret),
    ]);
    LinkedInConfig::from_vars(&vars)
        .unwrap()
        .build(HttpClient::builder().build().unwrap())
}

fn signed(sig: &[u8], body: &[u8]) -> WebhookRequest {
    let mut h = HeaderMap::new();
    h.insert("x-li-signature", HeaderValue::from_bytes(sig).unwrap());
    WebhookRequest::post(h, body.to_vec())
}

const BODY: &[u8] = br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[{"notificationId":70001,"organizationalEntity":"urn:li:organization:123","action":"COMMENT","sourcePost":"urn:li:share:1","lastModifiedAt":1732700000000,"subscriber":"urn:li:person:abc"},{"notificationId":70002,"organizationalEntity":"urn:li:organization:123","action":"LIKE","sourcePost":"urn:li:share:1","lastModifiedAt":1732700001000}]}"#;

#[test]
fn challenge_vector_from_the_fact_sheet() {
    let c = connector("client_secret_example");
    let resp = c
        .webhook_challenge(&WebhookRequest::get([(
            "challengeCode",
            "f0a6f3d8-4a5c-4b5e-9d3b-2b1f3c4d5e6f",
        )]))
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type, "application/json");
    let body: serde_json::Value = serde_json::from_str(&resp.body).unwrap();
    assert_eq!(
        body["challengeCode"],
        "f0a6f3d8-4a5c-4b5e-9d3b-2b1f3c4d5e6f"
    );
    assert_eq!(
        body["challengeResponse"],
        "06fc2a26b476b61870e42715e385fc93dd91d39e5d544da3c2d69f04e12f04db"
    );
}

#[test]
fn every_documented_signature_variant_verifies() {
    let c = connector("li-secret");
    let mut prefixed_msg = b"hmacsha256=".to_vec();
    prefixed_msg.extend_from_slice(BODY);
    let over_prefixed = hmac_sha256_hex(b"li-secret", &prefixed_msg);
    let over_body = hmac_sha256_hex(b"li-secret", BODY);
    for header in [
        over_prefixed.clone(),
        format!("hmacsha256={over_prefixed}"),
        over_body.clone(),
        format!("hmacsha256={over_body}"),
        over_prefixed.to_uppercase(),
    ] {
        let events = c.verify_webhook(&signed(header.as_bytes(), BODY)).unwrap();
        assert_eq!(events.len(), 2, "{header}");
        assert_eq!(events[0].id.as_deref(), Some("70001"));
        assert_eq!(events[0].kind, "COMMENT");
        assert_eq!(
            events[0].target_id.as_deref(),
            Some("urn:li:organization:123")
        );
        assert_eq!(events[1].id.as_deref(), Some("70002"));
        assert_eq!(events[1].occurred_at.unwrap().timestamp(), 1_732_700_001);
    }
}

#[test]
fn a_signature_with_another_scheme_prefix_is_refused() {
    let c = connector("li-secret");
    let good = hmac_sha256_hex(b"li-secret", BODY);
    let err = c
        .verify_webhook(&signed(format!("sha256={good}").as_bytes(), BODY))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[test]
fn unknown_event_types_are_kept_and_malformed_bodies_refused() {
    let c = connector("li-secret");
    let body = br#"{"type":"LEAD_ACTION","lead":{"id":"x"}}"#;
    let events = c
        .verify_webhook(&signed(
            hmac_sha256_hex(b"li-secret", body).as_bytes(),
            body,
        ))
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "LEAD_ACTION");
    assert_eq!(events[0].payload["lead"]["id"], "x");
    for bad in [&b"{oops"[..], b"[]", b"\"str\""] {
        let err = c
            .verify_webhook(&signed(hmac_sha256_hex(b"li-secret", bad).as_bytes(), bad))
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidContent,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn a_challenge_code_that_is_a_json_number_is_not_signed() {
    // A bare number is a JSON document a delivery body could be: never signed.
    let c = connector("client_secret_example");
    let err = c
        .webhook_challenge(&WebhookRequest::get([(
            "challengeCode",
            "1234567890123456789",
        )]))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}
