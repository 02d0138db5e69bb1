//! The fault battery: 2,000 posts across 50 accounts while the fakes hit 30%
//! of requests with faults (500/502/503, 429 with Retry-After, timeouts and
//! connection resets before and after the platform commits, malformed JSON).
//! Exactly one post per published delivery on the fakes, none lost, every
//! delivery published or dead with a classified reason, and no permanent
//! error retried.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use postd_engine::DeliveryState;
use postd_testkit::Chaos;

const POSTS: usize = 2_000;
const ACCOUNTS: u32 = 50;

fn permanent(kind: &str) -> bool {
    !matches!(
        kind,
        "unavailable" | "timeout" | "rate_limited" | "unknown_outcome" | "duplicate" | "stalled"
    )
}

fn battery_config() -> postd_engine::EngineConfig {
    fast_config().with_concurrency(32).with_max_attempts(8)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_posts_under_thirty_percent_faults_go_out_exactly_once_or_dead_explained() {
    let p = pipeline_with("battery", battery_config(), |c| c).await;
    battery(&p, 1).await;
}

/// The same battery with two engines (each with its own connections, as two
/// worker processes would have) sharing one Postgres database.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_two_engines_sharing_one_database_go_out_exactly_once_under_faults() {
    let schema = PgSchema::create("battery").await;
    let p = pipeline_on(
        "battery-pg",
        Backend::Postgres(schema),
        battery_config().with_concurrency(16),
        |c| c,
    )
    .await;
    battery(&p, 2).await;
}

async fn battery(p: &Pipeline, engines: usize) {
    let mut targets = Vec::new();
    for n in 0..ACCOUNTS {
        if n % 2 == 0 {
            let (page, _) = p.meta_account(&format!("meta-{n}"), n).await;
            targets.push((format!("meta-{n}"), page));
        } else {
            let member = p.linkedin_account(&format!("li-{n}"), n).await;
            targets.push((format!("li-{n}"), member));
        }
    }
    let started = Instant::now();
    for i in 0..POSTS {
        let (account, target) = &targets[i % targets.len()];
        p.engine
            .schedule_now(
                post(&format!("b-{i}"), &format!("battery post {i}")),
                vec![to(account, target)],
            )
            .await
            .unwrap();
    }
    // Faults start once everything is queued: the battery is about delivering.
    let chaos = Chaos::battery(0.30, Duration::from_millis(2_500), 0x5eed);
    p.meta.server().faults().set_chaos(Some(chaos.clone()));
    p.linkedin.server().faults().set_chaos(Some(Chaos::new(
        chaos.rate,
        chaos.faults.clone(),
        0xbeef,
    )));
    let mut workers = vec![p.engine.clone()];
    for _ in 1..engines {
        workers.push(p.another_engine().await);
    }
    let runs: Vec<_> = workers
        .into_iter()
        .map(|e| tokio::spawn(async move { e.run_until_idle(Duration::from_secs(600)).await }))
        .collect();
    let mut report = Vec::new();
    for run in runs {
        report.push(run.await.unwrap().unwrap());
    }
    let elapsed = started.elapsed();
    p.meta.server().faults().set_chaos(None);
    p.linkedin.server().faults().set_chaos(None);

    // What the platforms hold, by text.
    let mut on_platform: HashMap<String, usize> = HashMap::new();
    for (_, target) in &targets {
        if target.kind == postd_core::TargetKind::FacebookPage {
            for fb in p.meta.facebook_posts(&target.id) {
                *on_platform
                    .entry(fb.message.unwrap_or_default())
                    .or_default() += 1;
            }
        }
    }
    for li in p.linkedin.posts() {
        *on_platform.entry(li.commentary).or_default() += 1;
    }
    let (mut published, mut dead, mut unconfirmed) = (0, 0, 0);
    for i in 0..POSTS {
        let text = format!("battery post {i}");
        let status = p.engine.post_status(&format!("b-{i}")).await.unwrap();
        let d = &status.deliveries[0];
        let copies = on_platform.get(&text).copied().unwrap_or(0);
        assert!(
            copies <= 1,
            "post {i} is on the platform {copies} times: {d:?}"
        );
        match d.state {
            DeliveryState::Published => {
                published += 1;
                assert_eq!(
                    copies, 1,
                    "post {i} is published but not on the platform: {d:?}"
                );
            }
            DeliveryState::Dead => {
                dead += 1;
                assert_eq!(copies, 0, "post {i} is dead but on the platform");
                assert!(d.dead_reason.is_some() && !d.errors.is_empty(), "{d:?}");
            }
            DeliveryState::Unconfirmed => {
                unconfirmed += 1;
                if unconfirmed <= 3 {
                    eprintln!(
                        "unconfirmed {i} ({copies} on the platform): {:?}",
                        d.errors
                            .iter()
                            .map(|e| format!("{}: {}", e.kind, e.message))
                            .collect::<Vec<_>>()
                    );
                }
                assert!(d.dead_reason.is_some(), "{d:?}");
            }
            other => panic!("post {i} did not settle: {other:?} {d:?}"),
        }
        // A permanent error is the last thing that happened to a delivery, never retried.
        if let Some(pos) = d.errors.iter().position(|e| permanent(&e.kind)) {
            assert_eq!(
                pos,
                d.errors.len() - 1,
                "post {i} was retried after a permanent error: {d:?}"
            );
        }
    }
    eprintln!(
        "battery ({engines} engines): {POSTS} posts in {elapsed:?}: {published} published, {dead} dead, {unconfirmed} unconfirmed; {report:?}; faults meta {} linkedin {}",
        p.meta.server().faults().injected(),
        p.linkedin.server().faults().injected()
    );
    assert_eq!(published + dead + unconfirmed, POSTS);
    assert!(
        published * 100 >= POSTS * 95,
        "under 95% published: {published}"
    );
}
