//! Answers a hostile or broken server could give: never a loop, never a
//! wait forever, never a secret in an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::http;
use postd_core::{Connector, Credentials, ErrorKind};
use postd_mailchimp::MailchimpConfig;
use postd_testkit::mailchimp::problem;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "0123456789abcdef0123456789abcdef-us6";

async fn setup() -> (MockServer, postd_mailchimp::MailchimpConnector) {
    let server = MockServer::start().await;
    let mc = MailchimpConfig::new()
        .with_base_url(url::Url::parse(&server.uri()).unwrap())
        .with_webhook_secret(common::SECRET)
        .unwrap()
        .build(http());
    (server, mc)
}

#[tokio::test]
async fn an_endless_audience_list_ends() {
    let (server, mc) = setup().await;
    Mock::given(method("GET"))
        .and(path("/3.0/lists"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "lists": [{"id": "../x", "name": "evil"}],
            "total_items": u64::MAX
        })))
        .mount(&server)
        .await;
    let targets = mc.targets(&Credentials::ApiKey(KEY.into())).await.unwrap();
    assert!(targets.is_empty());
    assert!(server.received_requests().await.unwrap().len() <= 10);
}

#[tokio::test]
async fn a_firewall_block_ends_in_the_dead_letter_queue_not_a_wait_forever() {
    let (server, mc) = setup().await;
    Mock::given(method("GET"))
        .and(path("/3.0/lists"))
        .respond_with(
            ResponseTemplate::new(403).set_body_string("<html><body>Access Denied</body></html>"),
        )
        .mount(&server)
        .await;
    let creds = Credentials::ApiKey(KEY.into());
    for _ in 0..2 {
        let e = mc.targets(&creds).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    }
    let e = mc.targets(&creds).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(!e.is_temporary());
    assert!(e.message().contains("firewall"), "{e}");
}

#[tokio::test]
async fn an_error_echoing_the_webhook_url_does_not_carry_its_tag() {
    let (server, mc) = setup().await;
    let base = url::Url::parse("https://hooks.example.com/mc").unwrap();
    let url = mc.config().webhook_url(&base, "abc123").unwrap();
    let tag = url.path().rsplit('/').next().unwrap().to_owned();
    // The detail is cut at 300 characters: placed so the cut falls inside the
    // tag, and again so the whole URL is kept; neither leaves any of the tag.
    let lead = format!("The URL {}", url.as_str().trim_end_matches(tag.as_str()));
    for pad in [300 - lead.len() - 12, 0] {
        server.reset().await;
        Mock::given(method("GET"))
            .and(path("/3.0/lists/abc123/webhooks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"webhooks": []})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/3.0/lists/abc123/webhooks"))
            .respond_with(ResponseTemplate::new(400).set_body_json(problem(
                400,
                "Invalid Resource",
                &format!("{}The URL {url} could not be reached.", "x".repeat(pad)),
                "hostile-webhook",
            )))
            .mount(&server)
            .await;
        let e = mc
            .register_webhook(&Credentials::ApiKey(KEY.into()), "abc123", &base)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidContent);
        assert!(!e.message().contains(&tag[..8]), "pad {pad}: {e}");
        assert!(!format!("{e:?}").contains(&tag[..8]));
        if pad == 0 {
            assert!(e.message().contains("[REDACTED]"), "{e}");
        }
    }
}

#[tokio::test]
async fn the_api_key_never_reaches_an_error_a_url_or_debug() {
    let (server, mc) = setup().await;
    let key = "CANARYc4n4ry0123456789abcdef01-us6";
    Mock::given(method("GET"))
        .and(path("/3.0/lists"))
        .respond_with(ResponseTemplate::new(400).set_body_json(problem(
            400,
            "Bad Request",
            &format!("echo {key} and Basic cG9zdGQ6{key}"),
            "hostile-key",
        )))
        .mount(&server)
        .await;
    let creds = Credentials::ApiKey(key.into());
    let e = mc.targets(&creds).await.unwrap_err();
    for shown in [
        e.to_string(),
        format!("{e:?}"),
        format!("{creds:?}"),
        format!("{mc:?}"),
    ] {
        assert!(!shown.contains("CANARY"), "{shown}");
    }
    for r in server.received_requests().await.unwrap() {
        assert!(!r.url.as_str().contains("CANARY"), "{}", r.url);
    }
}
