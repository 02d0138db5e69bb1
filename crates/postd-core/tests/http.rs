//! The shared HTTP layer against a wiremock server: every classification path.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postd_core::http::{
    HttpClient, RateLimitObserver, RequestContext, RetryEvent, RetryPolicy, bearer, generic_error,
};
use postd_core::reqwest::{Method, StatusCode, header::HeaderMap};
use postd_core::{Error, ErrorKind, Platform, Retry};
use secrecy::SecretString;
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GET: RequestContext = RequestContext::idempotent(Platform::Meta, "test.read");
const POST: RequestContext = RequestContext::non_idempotent(Platform::Meta, "test.create");

#[derive(Debug, Default)]
struct Recorder {
    retries: Mutex<Vec<RetryEvent>>,
    responses: Mutex<Vec<u16>>,
}

impl RateLimitObserver for Recorder {
    fn on_response(&self, _ctx: &RequestContext, status: u16, _headers: &HeaderMap) {
        self.responses.lock().unwrap().push(status);
    }
    fn on_retry(&self, event: &RetryEvent) {
        self.retries.lock().unwrap().push(event.clone());
    }
}

fn client(recorder: Option<Arc<Recorder>>) -> HttpClient {
    let mut b = HttpClient::builder()
        .request_timeout(Duration::from_millis(300))
        .connect_timeout(Duration::from_millis(300))
        .retry(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        );
    if let Some(r) = recorder {
        b = b.observer(r);
    }
    b.build().unwrap()
}

fn parse(status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> Error {
    generic_error(status, body)
}

async fn call(
    client: &HttpClient,
    ctx: RequestContext,
    m: Method,
    url: &str,
) -> Result<String, Error> {
    let request = client.request(m, Url::parse(url).unwrap()).build().unwrap();
    let resp = client.execute(ctx, request, &parse).await?;
    Ok(String::from_utf8(resp.body.to_vec()).unwrap())
}

async fn requests_to(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/r"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let recorder = Arc::new(Recorder::default());
    let c = client(Some(recorder.clone()));
    assert_eq!(
        call(&c, GET, Method::GET, &format!("{}/r", server.uri()))
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(requests_to(&server).await, 2);
    assert_eq!(*recorder.responses.lock().unwrap(), vec![500, 200]);
    let retries = recorder.retries.lock().unwrap();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].status, Some(500));
    assert!(!retries[0].server_hint);
}

#[tokio::test]
async fn persistent_server_errors_exhaust_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = client(None);
    let err = call(&c, GET, Method::GET, &format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.retry(), Retry::Exhausted);
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(requests_to(&server).await, 4); // 1 + 3 retries
}

#[tokio::test]
async fn rate_limit_with_retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let recorder = Arc::new(Recorder::default());
    let c = client(Some(recorder.clone()));
    let started = Instant::now();
    assert_eq!(
        call(&c, GET, Method::GET, &format!("{}/r", server.uri()))
            .await
            .unwrap(),
        "ok"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let retries = recorder.retries.lock().unwrap();
    assert_eq!(retries[0].delay, Duration::from_secs(1));
    assert!(retries[0].server_hint);
    assert_eq!(retries[0].reason, ErrorKind::RateLimited);
}

#[tokio::test]
async fn rate_limit_with_retry_after_date_is_honoured() {
    let server = MockServer::start().await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", date.as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let recorder = Arc::new(Recorder::default());
    let c = client(Some(recorder.clone()));
    assert_eq!(
        call(&c, GET, Method::GET, &format!("{}/r", server.uri()))
            .await
            .unwrap(),
        "ok"
    );
    let delay = recorder.retries.lock().unwrap()[0].delay;
    // Whole seconds in the header: the wait is between 1 and 2 seconds.
    assert!(
        delay > Duration::from_millis(900) && delay <= Duration::from_secs(2),
        "{delay:?}"
    );
}

#[tokio::test]
async fn long_retry_after_goes_back_to_the_caller() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let c = client(None);
    let started = Instant::now();
    let err = call(&c, POST, Method::POST, &format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(
        err.retry(),
        Retry::Temporary {
            after: Some(Duration::from_secs(3600))
        }
    );
    assert_eq!(requests_to(&server).await, 1);
}

#[tokio::test]
async fn timeout_on_get_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let c = client(None);
    assert_eq!(
        call(&c, GET, Method::GET, &format!("{}/r", server.uri()))
            .await
            .unwrap(),
        "ok"
    );
    assert_eq!(requests_to(&server).await, 2);
}

#[tokio::test]
async fn timeout_on_post_is_an_unknown_outcome_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let c = client(None);
    let err = call(&c, POST, Method::POST, &format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(err.platform(), Some(Platform::Meta));
    assert_eq!(err.operation(), Some("test.create"));
    assert_eq!(requests_to(&server).await, 1);
}

#[tokio::test]
async fn gateway_error_on_post_is_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;
    let c = client(None);
    let err = call(&c, POST, Method::POST, &format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
    assert_eq!(err.http_status(), Some(502));
    assert_eq!(requests_to(&server).await, 1);
}

#[tokio::test]
async fn service_unavailable_on_post_is_retried() {
    // 503 means the platform refused the request, so a create can be sent again.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_string("created"))
        .mount(&server)
        .await;
    let c = client(None);
    assert_eq!(
        call(&c, POST, Method::POST, &format!("{}/r", server.uri()))
            .await
            .unwrap(),
        "created"
    );
}

#[tokio::test]
async fn transient_platform_errors_on_a_create_are_unknown_outcomes() {
    // A platform error marked temporary (Meta's code 1 "possibly temporary" at
    // HTTP 400, or any 500) does not say the create was refused.
    for status in [400u16, 500] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_string("transient"))
            .mount(&server)
            .await;
        let c = client(None);
        let request = c
            .request(Method::POST, Url::parse(&server.uri()).unwrap())
            .build()
            .unwrap();
        let transient = |s: StatusCode, _h: &HeaderMap, _b: &[u8]| {
            Error::new(ErrorKind::Unavailable, "possibly temporary")
                .with_status(s.as_u16())
                .temporary(None)
        };
        let err = c.execute(POST, request, &transient).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "HTTP {status}");
        assert_eq!(
            requests_to(&server).await,
            1,
            "HTTP {status} must not be retried"
        );
    }
}

#[tokio::test]
async fn rate_limited_create_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string("slow down"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let c = client(None);
    let request = c
        .request(Method::POST, Url::parse(&server.uri()).unwrap())
        .build()
        .unwrap();
    let limited = |s: StatusCode, _h: &HeaderMap, _b: &[u8]| {
        Error::new(ErrorKind::RateLimited, "slow down")
            .with_status(s.as_u16())
            .temporary(Some(Duration::from_millis(10)))
    };
    c.execute(POST, request, &limited).await.unwrap();
    assert_eq!(requests_to(&server).await, 2);
}

#[tokio::test]
async fn undecodable_success_of_a_create_is_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&server)
        .await;
    let c = client(None);
    let request = c
        .request(Method::POST, Url::parse(&server.uri()).unwrap())
        .build()
        .unwrap();
    let resp = c.execute(POST, request, &parse).await.unwrap();
    let err = resp.json::<serde_json::Value>(&POST).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
}

#[tokio::test]
async fn a_create_that_distrusts_503_gets_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = client(None);
    let request = c
        .request(Method::POST, Url::parse(&server.uri()).unwrap())
        .build()
        .unwrap();
    let err = c
        .execute(POST.distrusting_unavailable(), request, &parse)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
    assert_eq!(requests_to(&server).await, 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad"))
        .mount(&server)
        .await;
    let c = client(None);
    let err = call(&c, GET, Method::GET, &format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(requests_to(&server).await, 1);
}

#[tokio::test]
async fn connection_refused_is_retried_then_exhausted() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let recorder = Arc::new(Recorder::default());
    let c = client(Some(recorder.clone()));
    // Refused connections never reached the platform, so even a create is retried.
    let err = call(
        &c,
        POST,
        Method::POST,
        &format!("http://127.0.0.1:{port}/r"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.retry(), Retry::Exhausted);
    assert_eq!(err.http_status(), None);
    assert_eq!(recorder.retries.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn oversized_response_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'a'; 4096]))
        .mount(&server)
        .await;
    let c = HttpClient::builder()
        .max_response_bytes(1024)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = call(&c, GET, Method::GET, &format!("{}/r", server.uri()))
        .await
        .unwrap_err();
    // A retry would get the same oversized body: refused once, not retried.
    assert_eq!(err.kind(), ErrorKind::Unexpected);
    assert!(!err.is_temporary());
    assert!(err.to_string().contains("larger than 1024"));
}

#[tokio::test]
async fn malformed_success_body_keeps_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>not json</html>"))
        .mount(&server)
        .await;
    let c = client(None);
    let request = c
        .request(Method::GET, Url::parse(&server.uri()).unwrap())
        .build()
        .unwrap();
    let resp = c.execute(GET, request, &parse).await.unwrap();
    let err = resp.json::<serde_json::Value>(&GET).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unexpected);
    assert_eq!(err.http_status(), Some(200));
    assert!(err.to_string().contains("malformed JSON"));
}

/// A token placed in credentials, a failing URL and an error body must never
/// appear in any Debug, Display or error-chain output.
#[tokio::test]
async fn canary_token_never_leaks_into_errors() {
    const CANARY: &str = "CANARY_5f2c9e0d7b1a";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            r#"{{"error":"token {CANARY} is invalid","access_token":"{CANARY}"}}"#
        )))
        .mount(&server)
        .await;
    let c = client(None);
    let token = SecretString::from(CANARY);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let urls = [
        format!("{}/r?access_token={CANARY}", server.uri()),
        format!("http://127.0.0.1:{port}/r?access_token={CANARY}&input_token={CANARY}"),
    ];
    for (i, url) in urls.iter().enumerate() {
        let ctx = if i == 0 { GET } else { POST };
        let request = bearer(c.request(Method::GET, Url::parse(url).unwrap()), &token)
            .build()
            .unwrap();
        let err = c.execute(ctx, request, &parse).await.unwrap_err();
        let mut texts = vec![err.to_string(), format!("{err:?}"), format!("{err:#?}")];
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            texts.push(s.to_string());
            texts.push(format!("{s:?}"));
            source = s.source();
        }
        for t in &texts {
            assert!(!t.contains(CANARY), "leaked in: {t}");
        }
    }
}

#[tokio::test]
async fn a_long_token_echoed_deep_in_an_error_body_is_redacted() {
    // A parser that keeps the body (or cuts it at any point) must never show
    // the token, even past the snippet window.
    let token: String = std::iter::repeat_n("EAAG9xq", 60).collect();
    let server = MockServer::start().await;
    let padding = "x".repeat(300);
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            r#"{{"pad":"{padding}","error":{{"message":"bad token {token}"}}}}"#
        )))
        .mount(&server)
        .await;
    let c = client(None);
    let secret = SecretString::from(token.clone());
    let keep_body = |status: StatusCode, _h: &HeaderMap, body: &[u8]| {
        Error::new(
            ErrorKind::InvalidContent,
            // Cut mid-token, as a parser that truncates its message would.
            String::from_utf8_lossy(&body[..body.len().min(370)]).into_owned(),
        )
        .with_status(status.as_u16())
    };
    let request = bearer(
        c.request(Method::GET, Url::parse(&server.uri()).unwrap()),
        &secret,
    )
    .build()
    .unwrap();
    let err = c.execute(GET, request, &keep_body).await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(&token[..20]), "leaked in: {text}");
    }
    assert!(err.to_string().contains("[REDACTED]"));
}

#[tokio::test]
async fn an_absurd_retry_after_is_clamped_to_a_day_and_never_panics_a_caller() {
    for huge in ["1000000000000000000000000000000", "18446744073709551615"] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", huge))
            .mount(&server)
            .await;
        // A generous timeout: under load a 300 ms one could time out and retry on its own.
        let patient = HttpClient::builder()
            .request_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let started = Instant::now();
        let err = call(&patient, GET, Method::GET, &server.uri())
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        let wait = err.retry_after().unwrap();
        assert_eq!(wait, postd_core::error::MAX_RETRY_WAIT, "{huge}");
        // What a queue does with the hint: this used to overflow and panic.
        let _due = Instant::now() + wait;
        assert_eq!(requests_to(&server).await, 1, "a day is not slept on");
    }
    // A platform's own parser cannot hand back more than a day either.
    let err = Error::new(ErrorKind::RateLimited, "x").temporary(Some(Duration::MAX));
    assert_eq!(err.retry_after(), Some(postd_core::error::MAX_RETRY_WAIT));
}

#[tokio::test]
async fn retry_after_in_the_obsolete_date_forms_is_honoured() {
    for format in ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"] {
        let soon = chrono::Utc::now() + chrono::Duration::seconds(2);
        let form = soon.format(format).to_string();
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503).insert_header("retry-after", form.as_str()))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&server)
            .await;
        let started = Instant::now();
        call(&client(None), GET, Method::GET, &server.uri())
            .await
            .unwrap();
        // The date is 1-2 s ahead (whole seconds): the retry waited for it,
        // rather than the 5-20 ms backoff of "no hint".
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{form}: retried after {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_token_endpoint_answering_200_with_an_oauth_error_is_that_error() {
    use postd_core::oauth::OAuthClient;
    for (body, kind) in [
        (
            r#"{"error":"invalid_grant","error_description":"Refresh token revoked"}"#,
            ErrorKind::ReauthRequired,
        ),
        (r#"{"error":"invalid_client"}"#, ErrorKind::Config),
        (
            r#"{"error":"temporarily_unavailable"}"#,
            // A create-like call (a refresh rotates tokens) with a temporary
            // answer may have been applied: never retried blindly.
            ErrorKind::UnknownOutcome,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let oauth = OAuthClient::new(
            Platform::TikTok,
            Url::parse(&format!("{}/auth", server.uri())).unwrap(),
            Url::parse(&format!("{}/token", server.uri())).unwrap(),
            "client",
        );
        let err = oauth
            .refresh(&client(None), &SecretString::from("REFRESH_CANARY_123"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{body}: {err}");
        assert_eq!(err.http_status(), Some(200));
        assert!(!err.to_string().contains("REFRESH_CANARY_123"));
        assert_eq!(requests_to(&server).await, 1);
    }
}

#[tokio::test]
async fn a_media_file_failing_mid_upload_is_a_local_error_not_an_unknown_outcome() {
    use postd_core::{Media, MediaKind};
    let dir = std::env::temp_dir().join(format!("postd-http-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clip.mp4");
    std::fs::write(&path, vec![1u8; 64 * 1024]).unwrap();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id":"1"}"#))
        .mount(&server)
        .await;
    let c = client(None);
    let media = Media::file(MediaKind::Video, &path);
    // The request declares more bytes than the file has by the time they are read.
    let declared = 128 * 1024;
    let body = postd_core::reqwest::Body::wrap_stream(
        media.stream_exact(0, declared, 8 * 1024).await.unwrap(),
    );
    let request = c
        .request(Method::POST, Url::parse(&server.uri()).unwrap())
        .header("content-length", declared)
        .body(body)
        .build()
        .unwrap();
    let err = c.execute(POST, request, &parse).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MediaRejected, "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    assert!(err.message().contains("clip.mp4"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn https_works_with_the_one_crypto_provider() {
    // Nothing listens there: the TLS stack must be set up (ring) and fail as a connection error, not panic.
    let c = client(None);
    let err = call(&c, GET, Method::GET, "https://127.0.0.1:9/x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

/// `execute_with` with a counter of how many requests `build` made.
async fn call_built(
    client: &HttpClient,
    ctx: RequestContext,
    url: &str,
    builds: &std::sync::atomic::AtomicUsize,
) -> Result<String, Error> {
    let url = Url::parse(url).unwrap();
    let body = serde_json::json!({"text": "the same every time"});
    let build = || {
        builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        client.request(Method::POST, url.clone()).json(&body)
    };
    let resp = client.execute_with(ctx, &build, &parse).await?;
    Ok(String::from_utf8(resp.body.to_vec()).unwrap())
}

#[tokio::test]
async fn execute_with_makes_the_request_again_for_each_retry_only() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/r"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/r"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let c = client(None);
    let builds = std::sync::atomic::AtomicUsize::new(0);
    let url = format!("{}/r", server.uri());
    // A read: the 500 is retried with a request built again.
    assert_eq!(call_built(&c, GET, &url, &builds).await.unwrap(), "ok");
    assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 2);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    assert_eq!(received[0].body, br#"{"text":"the same every time"}"#);
    // Answered at once: built once.
    assert_eq!(call_built(&c, GET, &url, &builds).await.unwrap(), "ok");
    assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn execute_with_keeps_the_rules_for_creates() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&server)
        .await;
    let c = client(None);
    let builds = std::sync::atomic::AtomicUsize::new(0);
    let err = call_built(&c, POST, &format!("{}/r", server.uri()), &builds)
        .await
        .unwrap_err();
    // A create that may have been applied is not sent again, however cheap a new request is.
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
    assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(requests_to(&server).await, 1);
}

#[tokio::test]
async fn a_request_build_cannot_make_is_a_config_error_and_nothing_is_sent() {
    let server = MockServer::start().await;
    let c = client(None);
    let url = Url::parse(&format!("{}/r", server.uri())).unwrap();
    let err = c
        .execute_with(
            GET,
            &|| {
                c.request(Method::GET, url.clone())
                    .header("x-bad", "line\nbreak")
            },
            &parse,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.operation(), Some("test.read"));
    assert_eq!(requests_to(&server).await, 0);
}

/// A metric's labels, as (key, value) pairs.
type Labels = Vec<(String, String)>;

/// Every metric the client records: (name, labels, value).
#[derive(Default)]
struct Metrics(Mutex<Vec<(String, Labels, f64)>>);

struct Handle(Arc<Metrics>, metrics::Key);

impl Handle {
    fn push(&self, value: f64) {
        let labels = self
            .1
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        self.0
            .0
            .lock()
            .unwrap()
            .push((self.1.name().to_owned(), labels, value));
    }
}

impl metrics::CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.push(value as f64);
    }
    fn absolute(&self, value: u64) {
        self.push(value as f64);
    }
}

impl metrics::HistogramFn for Handle {
    fn record(&self, value: f64) {
        self.push(value);
    }
}

struct Recording(Arc<Metrics>);

impl metrics::Recorder for Recording {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(Arc::new(Handle(Arc::clone(&self.0), key.clone())))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::from_arc(Arc::new(Handle(Arc::clone(&self.0), key.clone())))
    }
}

#[test]
fn each_attempt_is_counted_and_timed_with_its_platform_operation_and_status() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let recorded = Arc::new(Metrics::default());
    let recorder = Recording(Arc::clone(&recorded));
    // A local recorder holds for this thread: the runtime runs everything on it.
    let _guard = metrics::set_default_local_recorder(&recorder);
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
            .mount(&server)
            .await;
        let c = client(None);
        let url = format!("{}/r", server.uri());
        call(&c, GET, Method::GET, &url).await.unwrap();
        // The same labels again come from the kept sets.
        call(&c, GET, Method::GET, &url).await.unwrap();
        let other = RequestContext::idempotent(Platform::LinkedIn, "test.other");
        call(&c, other, Method::GET, &url).await.unwrap();
    });
    let recorded = recorded.0.lock().unwrap();
    let of = |name: &str| -> Vec<Labels> {
        recorded
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, _)| l.clone())
            .collect()
    };
    let labels = |platform: &str, operation: &str, status: Option<&str>| {
        let mut l = vec![
            ("platform".to_owned(), platform.to_owned()),
            ("operation".to_owned(), operation.to_owned()),
        ];
        if let Some(s) = status {
            l.push(("status".to_owned(), s.to_owned()));
        }
        l
    };
    assert_eq!(
        of("postd_http_requests_total"),
        vec![
            labels("meta", "test.read", Some("503")),
            labels("meta", "test.read", Some("2xx")),
            labels("meta", "test.read", Some("2xx")),
            labels("linkedin", "test.other", Some("2xx")),
        ]
    );
    assert_eq!(
        of("postd_http_request_duration_seconds"),
        vec![
            labels("meta", "test.read", None),
            labels("meta", "test.read", None),
            labels("meta", "test.read", None),
            labels("linkedin", "test.other", None),
        ]
    );
    assert_eq!(
        of("postd_http_retries_total"),
        vec![vec![
            ("platform".to_owned(), "meta".to_owned()),
            ("operation".to_owned(), "test.read".to_owned()),
        ]]
    );
    assert!(
        recorded
            .iter()
            .filter(|(n, _, _)| n == "postd_http_request_duration_seconds")
            .all(|(_, _, v)| *v >= 0.0 && *v < 5.0)
    );
}

/// A log written to memory.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_call_has_a_span_with_its_method_path_status_and_attempts() {
    use tracing::instrument::WithSubscriber;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let c = client(None);
    let builds = std::sync::atomic::AtomicUsize::new(0);
    let url = format!("{}/r?access_token=secret-in-query", server.uri());
    call_built(&c, GET, &url, &builds)
        .with_subscriber(subscriber)
        .await
        .unwrap();
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let close = text
        .lines()
        .find(|l| l.contains("postd.http{") && l.contains("close"))
        .unwrap_or_else(|| panic!("no span closed in {text}"));
    for field in [
        "platform=\"meta\"",
        "operation=\"test.read\"",
        "http.method=POST",
        "url.path=\"/r\"",
        "http.status=200",
        "attempts=2",
    ] {
        assert!(close.contains(field), "{field} not in {close}");
    }
    assert!(text.contains("retrying platform call"), "{text}");
    // The path only: never the query, where a token may be.
    assert!(!text.contains("secret-in-query"), "{text}");
}

#[tokio::test]
async fn a_retry_whose_request_cannot_be_made_again_reports_the_answer_that_asked_for_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = client(None);
    let url = Url::parse(&format!("{}/r", server.uri())).unwrap();
    let builds = std::sync::atomic::AtomicUsize::new(0);
    // Made once; the second time the closure makes a request that cannot be built.
    let build = || {
        let b = c.request(Method::GET, url.clone());
        if builds.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            b
        } else {
            b.header("x-bad", "line\nbreak")
        }
    };
    let err = c.execute_with(GET, &build, &parse).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(requests_to(&server).await, 1);
}
