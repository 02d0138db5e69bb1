//! The fake server base: loud catch-all and fault injection.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::Duration;

use postd_core::reqwest::Client;
use postd_testkit::{FakeServer, Fault, Handled, Timing};
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

/// A one-counter platform: `POST /count` commits an increment, `GET /count` reads it.
async fn counter_fake() -> (FakeServer, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use std::sync::atomic::{AtomicU32, Ordering};
    let fake = FakeServer::start().await;
    let count = std::sync::Arc::new(AtomicU32::new(0));
    let c = count.clone();
    fake.mount_stateful("counter", move |req: &Request| {
        if req.url.path() != "/count" {
            return Handled::NotMine;
        }
        let committed = req.method.as_str() == "POST";
        if committed {
            c.fetch_add(1, Ordering::SeqCst);
        }
        let n = c.load(Ordering::SeqCst);
        Handled::Answer {
            response: ResponseTemplate::new(200).set_body_string(n.to_string()),
            committed,
        }
    })
    .await;
    (fake, count)
}

#[tokio::test]
async fn stateful_routes_apply_after_commit_faults_to_committed_requests_only() {
    use std::sync::atomic::Ordering;
    let (fake, count) = counter_fake().await;
    let url = format!("{}/count", fake.uri());
    let c = Client::new();
    fake.faults()
        .inject("GET", "/count", Fault::status(500), 1, Timing::AfterCommit);
    fake.faults()
        .inject("POST", "/count", Fault::status(502), 1, Timing::AfterCommit);
    // A read commits nothing: the after-commit fault waits.
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    // The increment happens, its answer is replaced.
    assert_eq!(c.post(&url).send().await.unwrap().status(), 502);
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(
        c.post(&url).send().await.unwrap().text().await.unwrap(),
        "2"
    );

    // A reset after commit: applied, and the connection dies.
    fake.faults()
        .inject("POST", "/count", Fault::Reset, 1, Timing::AfterCommit);
    assert!(c.post(&url).send().await.is_err());
    assert_eq!(count.load(Ordering::SeqCst), 3);
    // The GET fault was never taken by a committed request.
    assert_eq!(fake.faults().injected(), 2);
    fake.faults().clear();
}

#[tokio::test]
#[should_panic(expected = "requests matched no fake route")]
async fn stateful_routes_leave_other_paths_to_the_catch_all() {
    let (fake, _) = counter_fake().await;
    let resp = Client::new()
        .get(format!("{}/other", fake.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 421);
    drop(fake); // panics
}
