//! The client's per-host limit on requests in flight, against a bare
//! HTTP/1.1 server that counts the requests it holds at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postd_core::http::{HttpClient, RequestContext, RetryPolicy, generic_error};
use postd_core::reqwest::Method;
use postd_core::reqwest::{StatusCode, header::HeaderMap};
use postd_core::{Error, ErrorKind, Platform};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

const GET: RequestContext = RequestContext::idempotent(Platform::Meta, "test.read");

#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

/// Answers every `GET` with `{}` after `hold`, keeping connections alive.
async fn server(hold: Duration) -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    (counted_server(hold, Arc::clone(&counts)).await, counts)
}

/// The same, counting into `counts` (which several servers may share).
async fn counted_server(hold: Duration, counts: Arc<Counts>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let c = counts;
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            c.accepted.fetch_add(1, Ordering::SeqCst);
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One request is its head: these are GETs without a body.
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    c.most_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    c.in_flight.fetch_sub(1, Ordering::SeqCst);
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    if socket.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn parse(status: StatusCode, _headers: &HeaderMap, body: &[u8]) -> Error {
    generic_error(status, body)
}

async fn burst(client: &HttpClient, url: &str, n: usize) {
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..n {
        let client = client.clone();
        let url = Url::parse(url).unwrap();
        calls.spawn(async move {
            let request = client.request(Method::GET, url).build().unwrap();
            client.execute(GET, request, &parse).await.map(|r| r.status)
        });
    }
    while let Some(done) = calls.join_next().await {
        assert_eq!(done.unwrap().unwrap(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_to_one_host_has_no_more_requests_in_flight_than_the_limit() {
    let (url, counts) = server(Duration::from_millis(20)).await;
    let client = HttpClient::builder()
        .max_connections_per_host(4)
        .build()
        .unwrap();
    burst(&client, &url, 40).await;
    assert_eq!(counts.most_in_flight.load(Ordering::SeqCst), 4);
    // What the limit does not promise: how many connections a burst opens
    // over its course (a freed connection goes back to the pool a moment
    // after its answer is read, and one asked for meanwhile is new).
    assert!(counts.accepted.load(Ordering::SeqCst) >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limit_lets_a_burst_run_in_parallel_up_to_64() {
    let (url, counts) = server(Duration::from_millis(50)).await;
    let client = HttpClient::builder().build().unwrap();
    burst(&client, &url, 100).await;
    let most = counts.most_in_flight.load(Ordering::SeqCst);
    assert!(most > 4 && most <= 64, "most in flight: {most}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_host_has_its_own_slots() {
    // Two servers counting into one tally: with one slot per host, a request
    // to each runs at the same time as the other.
    let both = Arc::new(Counts::default());
    let hold = Duration::from_millis(200);
    let a = counted_server(hold, Arc::clone(&both)).await;
    let b = counted_server(hold, Arc::clone(&both)).await;
    let client = HttpClient::builder()
        .max_connections_per_host(1)
        .build()
        .unwrap();
    tokio::join!(burst(&client, &a, 3), burst(&client, &b, 3));
    assert_eq!(both.most_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_for_a_slot_longer_than_the_request_timeout_is_unavailable_and_sends_nothing() {
    // One slot, answers after 650 ms, a 1 s timeout: the first call ends at
    // 650 ms, the second takes the slot then and ends at 1.3 s, the third has
    // waited its 1 s without a slot by then (margins of 300 ms or more).
    let (url, counts) = server(Duration::from_millis(650)).await;
    let client = HttpClient::builder()
        .max_connections_per_host(1)
        .request_timeout(Duration::from_secs(1))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let client = client.clone();
        let url = Url::parse(&url).unwrap();
        calls.spawn(async move {
            let request = client.request(Method::GET, url).build().unwrap();
            client.execute(GET, request, &parse).await.map(|r| r.status)
        });
    }
    let mut ok = 0;
    let mut refused = Vec::new();
    while let Some(done) = calls.join_next().await {
        match done.unwrap() {
            Ok(status) => {
                assert_eq!(status, StatusCode::OK);
                ok += 1;
            }
            Err(e) => refused.push(e),
        }
    }
    assert_eq!(ok, 2, "{refused:?}");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].kind(), ErrorKind::Unavailable);
    assert!(
        refused[0].to_string().contains("no free connection slot"),
        "{}",
        refused[0]
    );
    // Worth trying again (nothing was sent); with no retries allowed, the
    // client says it gave up rather than that it is permanent.
    assert_eq!(refused[0].retry(), postd_core::Retry::Exhausted);
    // The refused call never reached the server.
    assert_eq!(counts.most_in_flight.load(Ordering::SeqCst), 1);
}

#[test]
fn a_limit_of_zero_means_one() {
    // Zero would block every call for ever; the builder keeps at least one slot.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (url, counts) = server(Duration::from_millis(5)).await;
        let client = HttpClient::builder()
            .max_connections_per_host(0)
            .build()
            .unwrap();
        burst(&client, &url, 5).await;
        assert_eq!(counts.most_in_flight.load(Ordering::SeqCst), 1);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_arrives_in_several_chunks_is_read_whole() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut chunk = [0u8; 4096];
        let _ = socket.read(&mut chunk).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        for part in [&b"{\"a\":"[..], b"\"first\",", b"\"b\":\"second\"}"] {
            socket
                .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                .await
                .unwrap();
            socket.write_all(part).await.unwrap();
            socket.write_all(b"\r\n").await.unwrap();
            socket.flush().await.unwrap();
            // Apart in time, so the client reads them as separate chunks.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        socket.write_all(b"0\r\n\r\n").await.unwrap();
    });
    let client = HttpClient::builder().build().unwrap();
    let request = client
        .request(Method::GET, Url::parse(&url).unwrap())
        .build()
        .unwrap();
    let response = client.execute(GET, request, &parse).await.unwrap();
    let body: serde_json::Value = response.json(&GET).unwrap();
    assert_eq!(body, serde_json::json!({"a": "first", "b": "second"}));
}
