//! Pub/Sub pushes of Business Profile notifications, authenticated by
//! Google's OIDC token, against the fake's keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use postd_core::{Connector, ErrorKind, Retry};
use postd_testkit::gbp::{GbpFake, PushToken, pubsub_push_body};

const LOCATION_NAME: &str = "accounts/1234567890/locations/9876543210";

#[tokio::test]
async fn a_good_push_is_one_event_keyed_by_its_message_id() {
    let fake = GbpFake::start().await;
    let gbp = connector(&fake);
    let delivery = fake.push_delivery(
        "NEW_REVIEW",
        LOCATION_NAME,
        Some("accounts/1234567890/locations/9876543210/reviews/AbF1"),
    );
    let events = gbp
        .verify_push(&fake.push_request(&delivery))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, "NEW_REVIEW");
    assert_eq!(e.id.as_deref(), Some(delivery.message_id.as_str()));
    assert_eq!(e.target_id.as_deref(), Some(LOCATION_NAME));
    assert!(e.occurred_at.is_some());
    assert_eq!(
        e.payload["notification"]["reviewName"],
        "accounts/1234567890/locations/9876543210/reviews/AbF1"
    );
    // Keys are cached: more pushes, no more fetches.
    for _ in 0..5 {
        let d = fake.push_delivery("GOOGLE_UPDATE", LOCATION_NAME, None);
        gbp.verify_push(&fake.push_request(&d)).await.unwrap();
        gbp.verify_webhook(&fake.push_request(&d)).unwrap();
    }
    assert_eq!(fake.jwks_fetches(), 1);
}

#[tokio::test]
async fn every_bad_token_is_refused_before_the_body_is_read() {
    let fake = GbpFake::start().await;
    let gbp = connector(&fake);
    gbp.load_push_keys().await.unwrap();
    let delivery = fake.push_delivery("NEW_REVIEW", LOCATION_NAME, None);
    for variant in PushToken::BAD {
        let request = fake.push_request_with(&delivery, *variant);
        let e = gbp.verify_push(&request).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidSignature, "{variant:?}: {e}");
        let e = gbp.verify_webhook(&request).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidSignature | ErrorKind::Unavailable
            ),
            "{variant:?}: {e}"
        );
    }
    let mut bare = fake.push_request(&delivery);
    bare.headers.remove("authorization");
    assert_eq!(
        gbp.verify_push(&bare).await.unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    for hostile in [
        "Basic abc",
        "Bearer ",
        "Bearer a.b",
        "Bearer a.b.c",
        "bearer x",
    ] {
        let mut r = fake.push_request(&delivery);
        r.headers.insert("authorization", hostile.parse().unwrap());
        assert_eq!(
            gbp.verify_push(&r).await.unwrap_err().kind(),
            ErrorKind::InvalidSignature,
            "{hostile}"
        );
    }
    // A connector with no push identity configured refuses every push.
    let unconfigured = postd_gbp::GbpConfig::new(fake.client_id(), fake.client_secret().into())
        .unwrap()
        .with_base_url(fake.url())
        .build(http());
    assert_eq!(
        unconfigured
            .verify_push(&fake.push_request(&delivery))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidSignature
    );
}

#[tokio::test]
async fn a_good_token_over_an_unreadable_body_is_invalid_content() {
    let fake = GbpFake::start().await;
    let gbp = connector(&fake);
    let good = fake.push_delivery("NEW_REVIEW", LOCATION_NAME, None);
    let with_body = |body: Vec<u8>| {
        let mut r = fake.push_request(&good);
        r.body = body.into();
        r
    };
    let subscription = &fake.config().subscription;
    let cases: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        br#"{"message": {"data": "%%%not base64", "messageId": "1"}}"#.to_vec(),
        pubsub_push_body(
            subscription,
            "2",
            "2026-03-01T10:00:00Z",
            b"not json",
            &Default::default(),
        ),
        pubsub_push_body(
            subscription,
            "3",
            "2026-03-01T10:00:00Z",
            br#"{"location": "x"}"#,
            &Default::default(),
        ),
        br#"{"message": {"data": "e30="}}"#.to_vec(),
        vec![b' '; postd_gbp::MAX_PUSH_BYTES + 1],
    ];
    for (i, body) in cases.into_iter().enumerate() {
        let e = gbp.verify_push(&with_body(body)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidContent, "case {i}: {e}");
    }
    // Every spelling of the location Google has used.
    for key in ["location", "locationName", "location_name"] {
        let data = serde_json::json!({"type": "GOOGLE_UPDATE", key: LOCATION_NAME}).to_string();
        let body = pubsub_push_body(
            subscription,
            "9",
            "2026-03-01T10:00:00Z",
            data.as_bytes(),
            &Default::default(),
        );
        let events = gbp.verify_push(&with_body(body)).await.unwrap();
        assert_eq!(events[0].target_id.as_deref(), Some(LOCATION_NAME), "{key}");
    }
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode("e30=")
            .unwrap(),
        b"{}"
    );
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_made_up_key_ids_are_not_a_fetch_storm() {
    let fake = GbpFake::start().await;
    let gbp = connector(&fake);
    gbp.load_push_keys().await.unwrap();
    assert_eq!(fake.jwks_fetches(), 1);
    fake.rotate_push_key();
    let delivery = fake.push_delivery("NEW_REVIEW", LOCATION_NAME, None);
    // Within the minute after the last fetch, an unknown key is not fetched for.
    let e = gbp
        .verify_push(&fake.push_request(&delivery))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidSignature);
    for _ in 0..20 {
        let _ = gbp
            .verify_push(&fake.push_request_with(&delivery, PushToken::UnknownKid))
            .await;
    }
    assert_eq!(fake.jwks_fetches(), 1);

    // With the interval passed (here: none), the new key is fetched once and verifies.
    let eager = postd_gbp::GbpConfig::new(fake.client_id(), fake.client_secret().into())
        .unwrap()
        .with_base_url(fake.url())
        .with_push_identity(
            fake.config().push_audience.as_str(),
            fake.config().push_service_account.as_str(),
        )
        .with_push_key_refetch_interval(Duration::ZERO)
        .build(http());
    eager
        .verify_push(&fake.push_request(&delivery))
        .await
        .unwrap();
    eager
        .verify_push(&fake.push_request(&delivery))
        .await
        .unwrap();
    assert_eq!(fake.jwks_fetches(), 2);
}

#[tokio::test]
async fn the_synchronous_verify_asks_for_a_redelivery_while_keys_load() {
    let fake = GbpFake::start().await;
    let gbp = connector(&fake);
    let delivery = fake.push_delivery("NEW_REVIEW", LOCATION_NAME, None);
    let request = fake.push_request(&delivery);
    let e = gbp.verify_webhook(&request).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(matches!(e.retry(), Retry::Temporary { .. }));
    // The keys were fetched in the background: Pub/Sub's redelivery verifies.
    let mut verified = None;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if let Ok(events) = gbp.verify_webhook(&request) {
            verified = Some(events);
            break;
        }
    }
    assert_eq!(verified.expect("verified once the keys loaded").len(), 1);
    assert_eq!(fake.jwks_fetches(), 1);
    let get = postd_core::WebhookRequest::get([("x", "y")]);
    assert_eq!(
        gbp.verify_webhook(&get).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    assert_eq!(
        gbp.webhook_challenge(&get).unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[tokio::test]
async fn with_the_subscription_configured_a_push_naming_another_is_refused() {
    let fake = GbpFake::start().await;
    let gbp = postd_gbp::GbpConfig::new(fake.client_id(), fake.client_secret().into())
        .unwrap()
        .with_base_url(fake.url())
        .with_push_identity(
            fake.config().push_audience.as_str(),
            fake.config().push_service_account.as_str(),
        )
        .with_push_subscription(fake.config().subscription.as_str())
        .build(http());
    let delivery = fake.push_delivery("NEW_REVIEW", LOCATION_NAME, None);
    gbp.verify_push(&fake.push_request(&delivery))
        .await
        .unwrap();
    let data = serde_json::json!({"type": "NEW_REVIEW", "locationName": LOCATION_NAME}).to_string();
    let mut other = fake.push_request(&delivery);
    other.body = pubsub_push_body(
        "projects/elsewhere/subscriptions/theirs",
        "77",
        "2026-03-01T10:00:00Z",
        data.as_bytes(),
        &Default::default(),
    )
    .into();
    assert_eq!(
        gbp.verify_push(&other).await.unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
}
