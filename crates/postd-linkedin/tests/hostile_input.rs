//! Hostile webhook deliveries never panic: mutated bodies and headers give a
//! typed error or events, nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::webhook::{WebhookRequest, hmac_sha256_hex};
use postd_core::{Connector, ErrorKind};
use postd_linkedin::LinkedInConfig;
use postd_testkit::fuzz::Rng;

const SEEDS: &[&[u8]] = &[
    br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[{"notificationId":1,"organizationalEntity":"urn:li:organization:1","action":"LIKE","lastModifiedAt":1732700000000}]}"#,
    br#"{"type":"X","other":[1,2,3]}"#,
];

#[test]
fn mutated_deliveries_are_typed_errors_or_events() {
    let vars = Vars::from_pairs([
        ("LINKEDIN_CLIENT_ID", "c"),
        ("LINKEDIN_CLIENT_SECRET", "s3cret"),
    ]);
    let li = LinkedInConfig::from_vars(&vars)
        .unwrap()
        .build(HttpClient::builder().build().unwrap());
    let mut rng = Rng::new(0x6c69_6e6b);
    for i in 0..5_000 {
        let body = rng.mutate(SEEDS[i % SEEDS.len()]);
        let mut signed = b"hmacsha256=".to_vec();
        signed.extend_from_slice(&body);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-li-signature",
            HeaderValue::from_str(&hmac_sha256_hex(b"s3cret", &signed)).unwrap(),
        );
        match li.verify_webhook(&WebhookRequest::post(headers, body.clone())) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidContent, "{e}"),
        }
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&rng.bytes(80)) {
            headers.insert("x-li-signature", v);
        }
        let err = li
            .verify_webhook(&WebhookRequest::post(headers, body))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
        let q = String::from_utf8_lossy(&rng.bytes(60)).into_owned();
        let _ = li.webhook_challenge(&WebhookRequest::get_from_query_string(&q));
    }
}
