//! The fake server base: loud catch-all and fault injection.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use postd_core::reqwest::Client;
use postd_testkit::{FakeServer, Fault, Timing};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

#[tokio::test]
#[should_panic(expected = "requests matched no fake route")]
async fn unmatched_requests_fail_loudly() {
    let fake = FakeServer::start().await;
    let resp = Client::new()
        .get(format!("{}/nope", fake.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 421);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("no fake route matches GET /nope")
    );
    assert_eq!(fake.unmatched(), vec!["GET /nope".to_owned()]);
    drop(fake); // panics
}

#[tokio::test]
async fn faults_strike_the_requested_number_of_times_then_stop() {
    let fake = FakeServer::start().await;
    fake.mount(
        Mock::given(method("POST"))
            .and(path("/v1/feed"))
            .respond_with(ResponseTemplate::new(200)),
    )
    .await;
    fake.faults().inject(
        "POST",
        "/feed",
        Fault::rate_limited("7"),
        2,
        Timing::BeforeCommit,
    );
    let c = Client::new();
    for _ in 0..2 {
        let r = c
            .post(format!("{}/v1/feed", fake.uri()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "7");
    }
    assert_eq!(
        c.post(format!("{}/v1/feed", fake.uri()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(fake.faults().injected(), 2);
}

#[tokio::test]
async fn reset_and_delay_faults() {
    let fake = FakeServer::start().await;
    fake.mount(Mock::given(path("/x")).respond_with(ResponseTemplate::new(200)))
        .await;
    fake.faults()
        .inject("GET", "/x", Fault::Reset, 1, Timing::BeforeCommit);
    fake.faults().inject(
        "GET",
        "/x",
        Fault::Delay(Duration::from_secs(2)),
        1,
        Timing::BeforeCommit,
    );
    let c = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let reset = c.get(format!("{}/x", fake.uri())).send().await.unwrap_err();
    assert!(!reset.is_timeout());
    let slow = c.get(format!("{}/x", fake.uri())).send().await.unwrap_err();
    assert!(slow.is_timeout());
    assert_eq!(
        c.get(format!("{}/x", fake.uri()))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn after_commit_faults_are_left_to_the_stateful_fake() {
    let fake = FakeServer::start().await;
    fake.faults().inject(
        "POST",
        "/media_publish",
        Fault::status(500),
        1,
        Timing::AfterCommit,
    );
    let req = |m: &str, p: &str| Request {
        url: url::Url::parse(&format!("http://h{p}")).unwrap(),
        method: m.parse().unwrap(),
        headers: Default::default(),
        body: Vec::new(),
    };
    assert_eq!(
        fake.faults()
            .take(&req("POST", "/1/media_publish"), Timing::BeforeCommit),
        None
    );
    assert_eq!(
        fake.faults()
            .take(&req("GET", "/1/media_publish"), Timing::AfterCommit),
        None
    );
    assert_eq!(
        fake.faults()
            .take(&req("POST", "/1/media_publish"), Timing::AfterCommit),
        Some(Fault::status(500))
    );
    assert_eq!(
        fake.faults()
            .take(&req("POST", "/1/media_publish"), Timing::AfterCommit),
        None
    );
}
