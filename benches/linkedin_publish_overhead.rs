//! Library overhead of LinkedIn text and image posts.
//!
//! Both sides send the same requests, with the same headers, to the same
//! kind of local LinkedIn fake (a fresh one per sample, set up outside the
//! timing, so the fake's state grows the same way on both sides):
//!
//! - text post: `POST /rest/posts`;
//! - image post: `POST /rest/images?action=initializeUpload`, `PUT` the bytes, `POST /rest/posts`.
//!
//! The figure to read is median(postd) / median(plain reqwest) for each.
//!
//! ```text
//! cargo bench --bench linkedin_publish_overhead
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly on bad setup

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use postd::config::Vars;
use postd::connectors::linkedin::{DEFAULT_LINKEDIN_VERSION, LinkedInConfig, LinkedInConnector};
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, Target, TargetKind,
    TokenSet,
};
use postd_testkit::linkedin::{LinkedInFake, LinkedInFakeConfig};
use serde_json::{Value, json};

const SUB: &str = "782bbtaQ";
const PERSON: &str = "urn:li:person:782bbtaQ";
static N: AtomicU64 = AtomicU64::new(0);

struct Side {
    fake: LinkedInFake,
    li: LinkedInConnector,
    token: String,
}

async fn side() -> Side {
    let fake = LinkedInFake::start_with(LinkedInFakeConfig {
        record_requests: false,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let token = fake.seed_member(SUB, "Bench", &["openid", "profile", "w_member_social"]);
    let vars = Vars::from_pairs([
        ("LINKEDIN_CLIENT_ID", fake.client_id()),
        ("LINKEDIN_CLIENT_SECRET", fake.client_secret()),
    ]);
    let li = LinkedInConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(fake.url())
        .build(HttpClient::builder().build().unwrap());
    Side { fake, li, token }
}

/// A new text every time: LinkedIn refuses duplicate posts.
fn text() -> String {
    format!(
        "Benchmark post number {} (with reserved characters)",
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn image() -> Vec<u8> {
    vec![0xa5u8; 64 * 1024]
}

fn post_body(text: &str, image: Option<&str>) -> Value {
    let mut body = json!({
        "author": PERSON,
        "commentary": postd::connectors::linkedin::escape_commentary(text),
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });
    if let Some(urn) = image {
        body["content"] = json!({"media": {"id": urn}});
    }
    body
}

async fn plain_post(c: &postd::reqwest::Client, s: &Side, with_image: bool) -> String {
    let base = s.fake.uri();
    let rest = |b: postd::reqwest::RequestBuilder| {
        b.bearer_auth(&s.token)
            .header("LinkedIn-Version", DEFAULT_LINKEDIN_VERSION)
            .header("X-Restli-Protocol-Version", "2.0.0")
    };
    let image_urn = if with_image {
        let init: Value = rest(c.post(format!("{base}/rest/images?action=initializeUpload")))
            .json(&json!({"initializeUploadRequest": {"owner": PERSON}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let upload = init["value"]["uploadUrl"].as_str().unwrap();
        let put = c
            .put(upload)
            .bearer_auth(&s.token)
            .header("content-type", "application/octet-stream")
            .body(image())
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success());
        Some(init["value"]["image"].as_str().unwrap().to_owned())
    } else {
        None
    };
    let resp = rest(c.post(format!("{base}/rest/posts")))
        .json(&post_body(&text(), image_urn.as_deref()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    resp.headers()["x-restli-id"].to_str().unwrap().to_owned()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    postd::http::install_crypto_provider();
    let plain = postd::reqwest::Client::builder()
        .redirect(postd::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let person = Target::new(TargetKind::LinkedInPerson, PERSON);

    for with_image in [false, true] {
        let mut g = c.benchmark_group(if with_image {
            "linkedin_image_post"
        } else {
            "linkedin_text_post"
        });
        g.measurement_time(Duration::from_secs(8));
        g.bench_function("postd", |b| {
            let person = &person;
            b.to_async(&rt).iter_custom(|iters| async move {
                let s = side().await;
                let creds = Credentials::OAuth(TokenSet::new(s.token.as_str()));
                let start = Instant::now();
                for _ in 0..iters {
                    let mut post = Post::new(ClientRef::new("bench").unwrap()).with_text(text());
                    if with_image {
                        post = post.with_media(Media::bytes(MediaKind::Image, image()));
                    }
                    match s.li.publish(&creds, person, &post).await.unwrap() {
                        PublishOutcome::Published(p) => drop(std::hint::black_box(p)),
                        other => panic!("{other:?}"),
                    }
                }
                start.elapsed()
            })
        });
        g.bench_function("plain reqwest", |b| {
            let plain = &plain;
            b.to_async(&rt).iter_custom(|iters| async move {
                let s = side().await;
                let start = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(plain_post(plain, &s, with_image).await);
                }
                start.elapsed()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
