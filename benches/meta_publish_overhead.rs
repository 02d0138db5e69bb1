//! Library overhead of an Instagram image publish.
//!
//! Both sides talk to the same local Graph fake and send the same five HTTP
//! requests (publishing limit, container create, container status,
//! `media_publish`, permalink), with the same headers and `appsecret_proof`:
//!
//! - `postd`: `MetaConnector::publish`;
//! - `plain reqwest`: the requests written out by hand on a bare `reqwest::Client`.
//!
//! The figure to read is median(postd) / median(plain reqwest).
//!
//! ```text
//! cargo bench --bench meta_publish_overhead
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly on bad setup

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use postd::config::Vars;
use postd::connectors::meta::MetaConfig;
use postd::http::HttpClient;
use postd::webhook::hmac_sha256_hex;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, Target, TargetKind,
    TokenSet,
};
use postd_testkit::meta::{MetaFake, MetaFakeConfig};
use serde_json::Value;

const USER: &str = "10001";
const PAGE: &str = "20002";
const IG: &str = "17841400000000003";
const SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "instagram_basic",
    "instagram_content_publish",
];
const IMAGE: &str = "https://cdn.example/bench.jpg";

/// One side of the comparison, against a fresh fake so that both sides see the same fake state.
struct Side {
    fake: MetaFake,
    meta: postd::connectors::meta::MetaConnector,
    creds: Credentials,
    base: String,
    bearer: String,
    proof: String,
}

async fn side() -> Side {
    let fake = MetaFake::start_with(MetaFakeConfig {
        quota_total: u32::MAX,
        record_requests: false,
        ..MetaFakeConfig::default()
    })
    .await;
    fake.seed_user(USER, "Bench", SCOPES);
    let page_token = fake.seed_page(USER, PAGE, "Bench Page", Some(IG));
    let vars = Vars::from_pairs([
        ("META_CLIENT_ID", fake.app_id()),
        ("META_CLIENT_SECRET", fake.app_secret()),
    ]);
    let meta = MetaConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(fake.url())
        .build(HttpClient::builder().build().unwrap());
    let creds = Credentials::OAuth(TokenSet::new("user").with_derived(IG, page_token.as_str()));
    let base = format!(
        "{}/{}",
        fake.uri(),
        postd::connectors::meta::DEFAULT_GRAPH_VERSION
    );
    let proof = hmac_sha256_hex(fake.app_secret().as_bytes(), page_token.as_bytes());
    let bearer = format!("Bearer {page_token}");
    Side {
        fake,
        meta,
        creds,
        base,
        bearer,
        proof,
    }
}

async fn plain_publish(plain: &postd::reqwest::Client, s: &Side) -> Value {
    let (base, bearer, proof) = (&s.base, &s.bearer, &s.proof);
    let get = |url: String, query: Vec<(&'static str, String)>| {
        plain
            .get(url)
            .header("authorization", bearer)
            .query(&query)
            .query(&[("appsecret_proof", proof)])
    };
    let post = |url: String, form: Vec<(&'static str, String)>| {
        plain
            .post(url)
            .header("authorization", bearer)
            .query(&[("appsecret_proof", proof)])
            .form(&form)
    };
    let limit: Value = get(
        format!("{base}/{IG}/content_publishing_limit"),
        vec![("fields", "quota_usage,config".to_owned())],
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(limit["data"].is_array());
    let container: Value = post(
        format!("{base}/{IG}/media"),
        vec![
            ("caption", "Benchmark #bread".to_owned()),
            ("image_url", IMAGE.to_owned()),
        ],
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = container["id"].as_str().unwrap().to_owned();
    let status: Value = get(
        format!("{base}/{id}"),
        vec![("fields", "status_code,status".to_owned())],
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(status["status_code"], "FINISHED");
    let media: Value = post(
        format!("{base}/{IG}/media_publish"),
        vec![("creation_id", id)],
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let media_id = media["id"].as_str().unwrap().to_owned();
    get(
        format!("{base}/{media_id}"),
        vec![("fields", "id,permalink".to_owned())],
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let target = Target::new(TargetKind::InstagramAccount, IG);
    let post = Post::new(ClientRef::new("bench").unwrap())
        .with_text("Benchmark #bread")
        .with_media(Media::url(
            MediaKind::Image,
            url::Url::parse(IMAGE).unwrap(),
        ));
    let plain = reqwest_client();

    let mut g = c.benchmark_group("instagram_image_publish");
    g.measurement_time(Duration::from_secs(10));
    // Each sample gets a fresh fake (set up outside the timing), so the fake's
    // state grows the same way on both sides.
    g.bench_function("postd", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (target, post) = (&target, &post);
            async move {
                let s = side().await;
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    match s.meta.publish(&s.creds, target, post).await.unwrap() {
                        PublishOutcome::Published(p) => drop(std::hint::black_box(p)),
                        other => panic!("{other:?}"),
                    }
                }
                let elapsed = start.elapsed();
                drop(s.fake);
                elapsed
            }
        })
    });
    g.bench_function("plain reqwest", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let plain = &plain;
            async move {
                let s = side().await;
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(plain_publish(plain, &s).await);
                }
                let elapsed = start.elapsed();
                drop(s.fake);
                elapsed
            }
        })
    });
    g.finish();
}

fn reqwest_client() -> postd::reqwest::Client {
    postd::http::install_crypto_provider();
    postd::reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .redirect(postd::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

criterion_group!(benches, bench);
criterion_main!(benches);
