//! Hostile webhook deliveries never panic: mutated bodies and headers give a
//! typed error or events, nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::webhook::{WebhookRequest, hmac_sha256_hex};
use postd_core::{Connector, ErrorKind};
use postd_meta::MetaConfig;
use postd_testkit::fuzz::Rng;

const SEEDS: &[&[u8]] = &[
    br#"{"object":"page","entry":[{"id":"1","time":1520383571,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"1_2"}}]}]}"#,
    br#"{"object":"instagram","entry":[{"id":"17841","time":1.5e9,"changes":[{"field":"comments","value":{"id":"c","text":"caf\u00e9"}}],"messaging":[{"x":1}]}]}"#,
    br#"{"object":"page","entry":null}"#,
];

#[test]
fn mutated_deliveries_are_typed_errors_or_events() {
    let vars = Vars::from_pairs([
        ("META_CLIENT_ID", "1"),
        ("META_CLIENT_SECRET", "s3cret"),
        ("META_WEBHOOK_VERIFY_TOKEN", "v"),
    ]);
    let meta = MetaConfig::from_vars(&vars)
        .unwrap()
        .build(HttpClient::builder().build().unwrap());
    let mut rng = Rng::new(0x6d65_7461);
    for i in 0..5_000 {
        let body = rng.mutate(SEEDS[i % SEEDS.len()]);
        // Correctly signed garbage must parse or fail as content, never panic.
        let mut headers = HeaderMap::new();
        let sig = format!("sha256={}", hmac_sha256_hex(b"s3cret", &body));
        headers.insert("x-hub-signature-256", HeaderValue::from_str(&sig).unwrap());
        match meta.verify_webhook(&WebhookRequest::post(headers, body.clone())) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidContent, "{e}"),
        }
        // Garbage headers are signature errors.
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&rng.bytes(80)) {
            headers.insert("x-hub-signature-256", v);
        }
        let err = meta
            .verify_webhook(&WebhookRequest::post(headers, body))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
        // Random challenge queries never panic.
        let q = String::from_utf8_lossy(&rng.bytes(60)).into_owned();
        let _ = meta.webhook_challenge(&WebhookRequest::get_from_query_string(&q));
    }
}
