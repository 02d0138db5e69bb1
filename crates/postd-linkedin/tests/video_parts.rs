//! Video parts go up several at a time, never more than configured, and
//! finalize gets their ETags in part order whatever order the answers came in.
//!
//! The REST calls are answered by wiremock; the part URLs point at a bare
//! HTTP/1.1 server in this test that holds each part's answer until as many
//! parts as the limit are open at once (or a second passes, then answers
//! 500). A connector that sent parts one after another would never fill the
//! group and its upload would fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use postd_core::{Connector, Media, MediaKind, PublishOutcome};
use postd_linkedin::LinkedInConfig;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PART: usize = 1000;
const PARTS: usize = 8;
const LIMIT: usize = 4;

#[derive(Default)]
struct Parts {
    open: AtomicUsize,
    max_open: AtomicUsize,
    received: AtomicUsize,
}

/// Answers each `PUT /part/{i}` with `ETag: "etag-{i}"` once `LIMIT` parts are open together.
async fn part_server(parts: Arc<Parts>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let group = Arc::new(tokio::sync::Barrier::new(LIMIT));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (parts, group) = (parts.clone(), group.clone());
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut request_line = String::new();
                    if read.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut len = 0usize;
                    loop {
                        let mut line = String::new();
                        read.read_line(&mut line).await.unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            len = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; len];
                    read.read_exact(&mut body).await.unwrap();
                    let index: usize = request_line
                        .split_whitespace()
                        .nth(1)
                        .and_then(|p| p.strip_prefix("/part/"))
                        .and_then(|i| i.parse().ok())
                        .unwrap();
                    assert!(
                        body.iter().all(|b| usize::from(*b) == index),
                        "part {index} carries the wrong bytes"
                    );
                    parts.received.fetch_add(1, Ordering::SeqCst);
                    let open = parts.open.fetch_add(1, Ordering::SeqCst) + 1;
                    parts.max_open.fetch_max(open, Ordering::SeqCst);
                    let filled = tokio::time::timeout(Duration::from_secs(1), group.wait())
                        .await
                        .is_ok();
                    parts.open.fetch_sub(1, Ordering::SeqCst);
                    // Later parts answer first within a group: finalize must still get part order.
                    tokio::time::sleep(Duration::from_millis(((PARTS - index) * 5) as u64)).await;
                    let answer = if filled {
                        format!(
                            "HTTP/1.1 200 OK\r\netag: \"etag-{index}\"\r\ncontent-length: 0\r\n\r\n"
                        )
                    } else {
                        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".to_owned()
                    };
                    write.write_all(answer.as_bytes()).await.unwrap();
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn parts_go_up_several_at_a_time_and_finalize_keeps_part_order() {
    let parts = Arc::new(Parts::default());
    let part_base = part_server(parts.clone()).await;
    let api = MockServer::start().await;
    let instructions: Vec<Value> = (0..PARTS)
        .map(|i| {
            json!({
                "uploadUrl": format!("{part_base}/part/{i}"),
                "firstByte": i * PART,
                "lastByte": (i + 1) * PART - 1,
            })
        })
        .collect();
    Mock::given(method("POST"))
        .and(path("/rest/videos"))
        .and(query_param("action", "initializeUpload"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": {
            "video": "urn:li:video:C5F10AQGKQg_6y2a4sQ",
            "uploadToken": "",
            "uploadInstructions": instructions,
        }})))
        .expect(1)
        .mount(&api)
        .await;
    let etags: Vec<String> = (0..PARTS).map(|i| format!("\"etag-{i}\"")).collect();
    Mock::given(method("POST"))
        .and(path("/rest/videos"))
        .and(query_param("action", "finalizeUpload"))
        .and(wiremock::matchers::body_partial_json(json!({
            "finalizeUploadRequest": {"uploadedPartIds": etags}
        })))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/videos/urn%3Ali%3Avideo%3AC5F10AQGKQg_6y2a4sQ"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "AVAILABLE"})))
        .mount(&api)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/posts"))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("x-restli-id", "urn:li:share:7300000000000000001"),
        )
        .expect(1)
        .mount(&api)
        .await;

    let dir = std::env::temp_dir().join(format!("postd-li-parts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clip.mp4");
    let data: Vec<u8> = (0..PARTS * PART).map(|i| (i / PART) as u8).collect();
    std::fs::write(&file, &data).unwrap();

    let li = LinkedInConfig::new("client", "secret".to_owned().into())
        .unwrap()
        .with_base_url(url::Url::parse(&api.uri()).unwrap())
        .with_video_parts_in_flight(LIMIT)
        .build(common::http());
    let post = common::post("video-parts")
        .with_text("Watch")
        .with_media(Media::file(MediaKind::Video, &file).with_mime_type("video/mp4"));
    let person = postd_core::Target::new(postd_core::TargetKind::LinkedInPerson, common::PERSON);
    let creds = postd_core::Credentials::OAuth(
        postd_core::TokenSet::new("AQVmembertoken").with_scopes(common::SCOPES.iter().copied()),
    );
    let outcome = li.publish(&creds, &person, &post).await.unwrap();
    assert!(
        matches!(outcome, PublishOutcome::Published(_)),
        "{outcome:?}"
    );
    assert_eq!(parts.received.load(Ordering::SeqCst), PARTS);
    assert_eq!(parts.max_open.load(Ordering::SeqCst), LIMIT);
    std::fs::remove_dir_all(&dir).unwrap();
}
