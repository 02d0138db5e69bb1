//! Schedule-to-published latency through the engine against the fakes, with
//! no faults: posts are scheduled at a steady rate (200 per second by
//! default) to 20 accounts (Facebook Pages and LinkedIn members) while one
//! worker publishes them; prints the latency percentiles (published time minus
//! the time the post was due) and the load average. It runs on one thread,
//! as `postd worker` does by default.
//!
//! ```sh
//! cargo run --release --example engine_latency -- [posts_per_second=200] [seconds=10] [concurrency=32]
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly

use std::sync::Arc;
use std::time::{Duration, Instant};

use postd::engine::{Connectors, DeliveryState, DeliveryTarget, Engine, EngineConfig};
use postd::vault::{KeyRing, TokenVault, VaultConfig};
use postd::{ClientRef, Credentials, Platform, Post, Target, TargetKind, TokenSet};
use postd_testkit::linkedin::{LinkedInFake, LinkedInFakeConfig};
use postd_testkit::meta::{MetaFake, MetaFakeConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rate = args.first().copied().unwrap_or(200);
    let seconds = args.get(1).copied().unwrap_or(10);
    let concurrency = args.get(2).copied().unwrap_or(32) as usize;
    let total = (rate * seconds) as usize;

    // Request recording off: the fakes' log would grow for the whole run.
    let meta = MetaFake::start_with(MetaFakeConfig {
        record_requests: false,
        ..MetaFakeConfig::default()
    })
    .await;
    let linkedin = LinkedInFake::start_with(LinkedInFakeConfig {
        record_requests: false,
        ..LinkedInFakeConfig::default()
    })
    .await;
    let http = postd::http::HttpClient::builder().build().unwrap();
    let meta_c = postd::connectors::meta::MetaConfig::new(meta.app_id(), meta.app_secret().into())
        .unwrap()
        .with_base_url(meta.url())
        .build(http.clone());
    let li_c = postd::connectors::linkedin::LinkedInConfig::new(
        linkedin.client_id(),
        linkedin.client_secret().into(),
    )
    .unwrap()
    .with_base_url(linkedin.url())
    .build(http);
    let connectors = Connectors::new()
        .with(
            Platform::Meta,
            "default",
            Arc::new(postd::telemetry::Instrumented::new(meta_c)),
        )
        .with(
            Platform::LinkedIn,
            "default",
            Arc::new(postd::telemetry::Instrumented::new(li_c)),
        );

    let dir = std::env::temp_dir().join(format!("postd-latency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("postd.db");
    let jobs = Arc::new(postd::queue::SqliteJobStore::open(&db).await.unwrap());
    let store = Arc::new(postd::vault::SqliteStore::open(&db).await.unwrap());
    let vault = TokenVault::new(
        store,
        KeyRing::from_keys([(1, [3u8; 32])]).unwrap(),
        VaultConfig::default(),
    )
    .await
    .unwrap();
    let config = EngineConfig::default()
        .with_concurrency(concurrency)
        .with_idle_poll(Duration::from_millis(5));
    let engine = Engine::new(jobs, vault.clone(), connectors, config);

    let mut targets = Vec::new();
    for n in 0..20u32 {
        let account = format!("acct-{n}");
        let (platform, creds, target) = if n % 2 == 0 {
            let user = format!("{}", 10_000 + n);
            let page = format!("{}", 20_000 + n);
            let token = meta.seed_user(&user, "Ada", &["pages_show_list", "pages_manage_posts"]);
            let page_token = meta.seed_page(&user, &page, "Bakery", None);
            (
                Platform::Meta,
                TokenSet::new(token.as_str()).with_derived(page.as_str(), page_token.as_str()),
                Target::new(TargetKind::FacebookPage, &page),
            )
        } else {
            let sub = format!("m{n}");
            let token = linkedin.seed_member(&sub, "Ada", &["openid", "w_member_social"]);
            (
                Platform::LinkedIn,
                TokenSet::new(token.as_str()).with_scopes(["openid", "w_member_social"]),
                Target::new(TargetKind::LinkedInPerson, format!("urn:li:person:{sub}")),
            )
        };
        let creds = Credentials::OAuth(
            creds.with_expires_at(chrono::Utc::now() + chrono::Duration::days(50)),
        );
        vault
            .store("bench", &account, platform, &creds, vec![target.clone()])
            .await
            .unwrap();
        targets.push(DeliveryTarget::new("bench", &account, target));
    }

    // The worker stops once everything is scheduled and nothing is left to do.
    let (all_scheduled, scheduled_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let engine = engine.clone();
        tokio::spawn(async move {
            let probe = engine.clone();
            engine
                .run_worker(async move {
                    let _ = scheduled_rx.await;
                    loop {
                        let s = probe.jobs().stats("postd.publish").await.unwrap();
                        if s.pending == 0 && s.running == 0 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
                .await
        })
    };
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    for i in 0..total {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let post = Post::new(ClientRef::new(format!("lat-{i}")).unwrap())
            .with_text(format!("latency post {i}"));
        engine
            .schedule_now(post, vec![targets[i % targets.len()].clone()])
            .await
            .unwrap();
    }
    let _ = all_scheduled.send(());
    let report = worker.await.unwrap().unwrap();
    let wall = started.elapsed();

    let mut latencies = Vec::with_capacity(total);
    for i in 0..total {
        let d = &engine
            .post_status(&format!("lat-{i}"))
            .await
            .unwrap()
            .deliveries[0];
        assert_eq!(d.state, DeliveryState::Published, "{d:?}");
        let ms = (d.published_at.unwrap() - d.due_at.unwrap())
            .num_microseconds()
            .unwrap() as f64
            / 1000.0;
        latencies.push(ms);
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "posts": total, "rate_per_s": rate, "concurrency": concurrency,
            "published": report.published, "wall_s": (wall.as_secs_f64() * 10.0).round() / 10.0,
            "latency_ms": { "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": pct(1.0) },
            "loadavg": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        })
    );
    let _ = std::fs::remove_dir_all(&dir);
}
