//! X Activity API webhooks against what the fake delivers: the CRC X checks,
//! signed `post.create` and `oauth.revoke` deliveries, and forgeries refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::{Connector, ErrorKind, PublishOutcome, WebhookRequest};

fn delivery(signature: &str, body: &[u8]) -> WebhookRequest {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        postd_twitter::SIGNATURE_HEADER,
        HeaderValue::from_str(signature).unwrap(),
    );
    WebhookRequest::post(h, body.to_vec())
}

#[tokio::test]
async fn the_crc_answer_passes_xs_check_and_forged_tokens_get_nothing() {
    let e = env().await;
    let token = "c2VjdXJlLXJhbmRvbS1jcmMtdG9rZW4tZnJvbS14LWFiY2Rl";
    let answer =
        e.x.webhook_challenge(&WebhookRequest::get([("crc_token", token)]))
            .unwrap();
    assert_eq!(answer.content_type, "application/json");
    assert!(e.fake.crc_accepts(token, answer.body.as_bytes()));
    // A delivery body offered as a token would make the endpoint a signing oracle.
    let forged = r#"{"data":{"event_type":"oauth.revoke","payload":{"user_id":"1"}}}"#;
    let err =
        e.x.webhook_challenge(&WebhookRequest::get([("crc_token", forged)]))
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSignature);
}

#[tokio::test]
async fn a_post_create_delivery_is_evidence_of_the_post_and_a_revoke_ends_access() {
    let e = env().await;
    e.fake.subscribe("post.create", Some(USER), Some("postd"));
    e.fake.subscribe("oauth.revoke", None, None);
    let out =
        e.x.publish(&e.creds, &e.target, &post("w1").with_text("hello hooks"))
            .await
            .unwrap();
    let PublishOutcome::Published(p) = out else {
        panic!("{out:?}")
    };
    e.fake.remove_authorization(USER);
    let deliveries = e.fake.deliveries();
    assert_eq!(deliveries.len(), 2);
    let create = &deliveries[0];
    let events =
        e.x.verify_webhook(&delivery(&create.signature, &create.body))
            .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "post.create");
    assert_eq!(events[0].id.as_deref(), Some(create.event_uuid.as_str()));
    assert_eq!(events[0].target_id.as_deref(), Some(USER));
    assert_eq!(events[0].payload["id"], p.id.as_str());
    let revoke = &deliveries[1];
    let events =
        e.x.verify_webhook(&delivery(&revoke.signature, &revoke.body))
            .unwrap();
    assert_eq!(events[0].kind, "oauth.revoke");
    assert!(events[0].revokes_access);
    assert_eq!(events[0].target_id.as_deref(), Some(USER));
}

#[tokio::test]
async fn altered_or_unsigned_deliveries_are_refused() {
    let e = env().await;
    e.fake.subscribe("post.create", None, None);
    e.x.publish(&e.creds, &e.target, &post("w2").with_text("signed"))
        .await
        .unwrap();
    let d = &e.fake.deliveries()[0];
    let mut altered = d.body.clone();
    let at = altered.len() - 3;
    altered[at] ^= 1;
    for request in [
        delivery(&d.signature, &altered),
        delivery("sha256=", &d.body),
        delivery(&d.signature.replace("sha256=", "sha1="), &d.body),
        WebhookRequest::post(HeaderMap::new(), d.body.clone()),
    ] {
        let err = e.x.verify_webhook(&request).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{err}");
    }
}
