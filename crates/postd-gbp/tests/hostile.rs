//! Answers a hostile or broken server could give, and what the connector
//! makes of them: never a panic, never "absent" on a guess, never a post
//! name from somewhere else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::http;
use postd_core::{
    ClientRef, Connector, Credentials, ErrorKind, Post, PublishHandle, PublishStatus, Target,
    TargetKind, TokenSet,
};
use postd_gbp::GbpConfig;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOCATION: &str = "accounts/1/locations/2";

async fn setup() -> (MockServer, postd_gbp::GbpConnector, Credentials, Target) {
    let server = MockServer::start().await;
    let gbp = GbpConfig::new("cid", "GOCSPX-secret".into())
        .unwrap()
        .with_base_url(url::Url::parse(&server.uri()).unwrap())
        .build(http());
    let creds = Credentials::OAuth(TokenSet::new("ya29.token").with_refresh_token("1//r"));
    (
        server,
        gbp,
        creds,
        Target::new(TargetKind::GbpLocation, LOCATION),
    )
}

fn fingerprint(text: &str) -> postd_core::Fingerprint {
    Post::new(ClientRef::new("h").unwrap())
        .with_text(text)
        .fingerprint(chrono::Utc::now() - chrono::Duration::minutes(1))
}

#[tokio::test]
async fn broken_paging_and_undated_twins_are_never_absent() {
    let (server, gbp, creds, target) = setup().await;
    // The same page token forever.
    Mock::given(method("GET"))
        .and(path(format!("/v4/{LOCATION}/localPosts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "localPosts": [{"name": format!("{LOCATION}/localPosts/9"), "summary": "other",
                            "createTime": "2020-01-01T00:00:00Z", "state": "LIVE"}],
            "nextPageToken": "same"
        })))
        .mount(&server)
        .await;
    let e = gbp
        .find_published(&creds, &target, &fingerprint("Hello"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownOutcome, "{e}");
    server.reset().await;

    // Our text, no creation time; and our text under another location's name.
    Mock::given(method("GET"))
        .and(path(format!("/v4/{LOCATION}/localPosts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "localPosts": [
                {"name": format!("{LOCATION}/localPosts/7"), "summary": "Hello", "state": "LIVE"},
                {"name": "accounts/9/locations/9/localPosts/1", "summary": "Hello",
                 "createTime": chrono::Utc::now().to_rfc3339(), "state": "LIVE"}
            ]
        })))
        .mount(&server)
        .await;
    let e = gbp
        .find_published(&creds, &target, &fingerprint("Hello"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownOutcome, "{e}");
}

#[tokio::test]
async fn dates_at_the_calendars_edge_and_other_posts_names_do_not_panic() {
    let (server, gbp, creds, _) = setup().await;
    let name = format!("{LOCATION}/localPosts/5");
    Mock::given(method("GET"))
        .and(path(format!("/v4/{name}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": name, "state": "PROCESSING", "scheduledTime": "9999-12-31T23:59:59Z"
        })))
        .mount(&server)
        .await;
    let mut handle =
        PublishHandle::new(postd_core::Platform::Gbp, LOCATION, "gbp_local_post", &name);
    handle.started_at = chrono::DateTime::<chrono::Utc>::MAX_UTC;
    let status = gbp.publish_status(&creds, &handle).await.unwrap();
    assert!(
        matches!(status, PublishStatus::Processing { .. }),
        "{status:?}"
    );

    // A year past 9999: a typed error, not a panic.
    let far = format!("{LOCATION}/localPosts/4");
    Mock::given(method("GET"))
        .and(path(format!("/v4/{far}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": far, "state": "PROCESSING", "scheduledTime": "+262143-12-31T23:59:59Z"
        })))
        .mount(&server)
        .await;
    let handle = PublishHandle::new(postd_core::Platform::Gbp, LOCATION, "gbp_local_post", &far);
    assert_eq!(
        gbp.publish_status(&creds, &handle)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unexpected
    );

    // A get answered with another post.
    let other = format!("{LOCATION}/localPosts/6");
    Mock::given(method("GET"))
        .and(path(format!("/v4/{other}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "accounts/1/locations/2/localPosts/666", "state": "LIVE"
        })))
        .mount(&server)
        .await;
    let handle = PublishHandle::new(
        postd_core::Platform::Gbp,
        LOCATION,
        "gbp_local_post",
        &other,
    );
    let e = gbp.publish_status(&creds, &handle).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unexpected, "{e}");
    // A handle with a path in its id is refused before any call.
    let evil = PublishHandle::new(
        postd_core::Platform::Gbp,
        LOCATION,
        "gbp_local_post",
        "accounts/1/locations/2/localPosts/../../x",
    );
    assert_eq!(
        gbp.publish_status(&creds, &evil).await.unwrap_err().kind(),
        ErrorKind::InvalidContent
    );
}

#[tokio::test]
async fn a_create_answered_with_another_locations_post_is_an_unknown_outcome() {
    let (server, gbp, creds, target) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("/v4/{LOCATION}/localPosts")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "name": "accounts/9/locations/9/localPosts/1", "state": "LIVE"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let post = Post::new(ClientRef::new("x").unwrap()).with_text("Hello");
    let e = gbp.publish(&creds, &target, &post).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownOutcome, "{e}");
}

#[tokio::test]
async fn a_server_error_whose_body_says_quota_is_still_an_unknown_outcome_on_create() {
    let (server, gbp, creds, target) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("/v4/{LOCATION}/localPosts")))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded."}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let post = Post::new(ClientRef::new("x").unwrap()).with_text("Hello");
    let e = gbp.publish(&creds, &target, &post).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownOutcome, "{e}");
}

#[tokio::test]
async fn a_service_disabled_answer_shows_only_googles_console_as_the_fix() {
    let (server, gbp, creds, target) = setup().await;
    Mock::given(method("POST"))
        .and(path(format!("/v4/{LOCATION}/localPosts")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": 403, "status": "PERMISSION_DENIED", "message": "API disabled.",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
                         "metadata": {"service": "x".repeat(5000), "activationUrl": "https://evil.example/enable"}}]
        }})))
        .mount(&server)
        .await;
    let post = Post::new(ClientRef::new("x").unwrap()).with_text("Hello");
    let e = gbp.publish(&creds, &target, &post).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(!e.message().contains("evil.example"), "{e}");
    assert!(e.message().len() < 1_000, "{e}");
}
