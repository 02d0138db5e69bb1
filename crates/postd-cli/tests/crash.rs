//! The crash battery: `postd worker` processes SIGKILLed at random points 20
//! times during a 500-post run and restarted each time, then one worker
//! SIGSTOPped past its lease and resumed. No delivery lost, none posted
//! twice on the fakes, the stalls counted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use postd_core::config::Vars;
use postd_core::{ClientRef, Credentials, Platform, Post, Target, TargetKind, TokenSet};
use postd_engine::{Connectors, DeliveryState, DeliveryTarget, Engine, EngineConfig};
use postd_manager::ConnectorManager;
use tokio::process::Child;

const POSTS: usize = 500;
const ACCOUNTS: u32 = 10;
const KILLS: usize = 20;

fn worker(env: &Env, n: usize) -> Child {
    env.command(&[
        "worker",
        "--concurrency",
        "8",
        "--lease",
        "1",
        "--settle",
        "0.2",
        "--idle-poll-ms",
        "20",
        "--backoff-ms",
        "10,200",
        "--grace",
        "1",
        "--worker-id",
        &format!("crash-worker-{n}"),
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let pid = child.id().expect("the worker is running").to_string();
    let status = std::process::Command::new("kill")
        .args([sig, &pid])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_killed_twenty_times_and_one_stopped_past_its_lease_lose_nothing_and_post_nothing_twice()
 {
    let env = Env::new("crash").await;
    let db = env.dir.join("postd.db");
    let jobs: Arc<dyn postd_queue::JobStore> =
        Arc::new(postd_queue::SqliteJobStore::open(&db).await.unwrap());
    let store: Arc<dyn postd_vault::TokenStore> =
        Arc::new(postd_vault::SqliteStore::open(&db).await.unwrap());
    battery(&env, jobs, store).await;
}

/// The same battery with two worker processes sharing one Postgres database.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_two_worker_processes_killed_and_stopped_lose_nothing_and_post_nothing_twice() {
    let base = std::env::var("POSTD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("postd_crash_{:08x}", rand_u32());
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&admin)
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let mut env = Env::new("crash-pg").await;
    env.set("POSTD_DATABASE_URL", &url);
    let jobs: Arc<dyn postd_queue::JobStore> =
        Arc::new(postd_queue::PostgresJobStore::connect(&url).await.unwrap());
    let store = postd_vault::open_url(&url).await.unwrap();
    battery(&env, jobs, store).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&admin)
        .await
        .unwrap();
}

async fn battery(
    env: &Env,
    jobs: Arc<dyn postd_queue::JobStore>,
    store: Arc<dyn postd_vault::TokenStore>,
) {
    // The test schedules and reads through a library engine on the same database.
    let vars = Vars::from_pairs(env.vars().iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let manager = ConnectorManager::builder().vars(vars).build().unwrap();
    let keys = postd_vault::KeyRing::parse(KEYS).unwrap();
    let vault = postd_vault::TokenVault::new(store, keys, postd_vault::VaultConfig::default())
        .await
        .unwrap();
    let engine = Engine::new(
        jobs,
        vault.clone(),
        Connectors::from_manager(&manager),
        EngineConfig::default(),
    );

    let mut targets = Vec::new();
    for n in 0..ACCOUNTS {
        if n % 2 == 0 {
            let (user, page, _) = env.seed_meta(n);
            let token = env.meta.seed_user(&user, "Ada", META_SCOPES);
            let page_token = env.meta.page_token(&page).unwrap();
            let creds = Credentials::OAuth(
                TokenSet::new(token.as_str())
                    .with_derived(page.as_str(), page_token.as_str())
                    .with_expires_at(chrono::Utc::now() + chrono::Duration::days(50)),
            );
            let t = Target::new(TargetKind::FacebookPage, &page);
            let account = format!("meta-{n}");
            vault
                .store(TENANT, &account, Platform::Meta, &creds, vec![t.clone()])
                .await
                .unwrap();
            targets.push((account, t));
        } else {
            let sub = format!("m{n}");
            let scopes = ["openid", "profile", "w_member_social", "r_member_social"];
            let token = env.linkedin.seed_member(&sub, "Ada", &scopes);
            let creds = Credentials::OAuth(
                TokenSet::new(token.as_str())
                    .with_scopes(scopes)
                    .with_expires_at(chrono::Utc::now() + chrono::Duration::days(50)),
            );
            let t = Target::new(TargetKind::LinkedInPerson, format!("urn:li:person:{sub}"));
            let account = format!("li-{n}");
            vault
                .store(
                    TENANT,
                    &account,
                    Platform::LinkedIn,
                    &creds,
                    vec![t.clone()],
                )
                .await
                .unwrap();
            targets.push((account, t));
        }
    }
    for i in 0..POSTS {
        let (account, target) = &targets[i % targets.len()];
        engine
            .schedule_now(
                Post::new(ClientRef::new(format!("c-{i}")).unwrap())
                    .with_text(format!("crash post {i}")),
                vec![DeliveryTarget::new(TENANT, account, target.clone())],
            )
            .await
            .unwrap();
    }

    let started = Instant::now();
    let mut workers = vec![worker(env, 0), worker(env, 1)];
    // Twenty SIGKILLs at random moments, each worker restarted at once.
    for (k, spawned) in (0..KILLS).zip(2..) {
        tokio::time::sleep(Duration::from_millis(150 + rand_u32() as u64 % 350)).await;
        let victim = k % workers.len();
        workers[victim].kill().await.unwrap();
        workers[victim] = worker(env, spawned);
    }
    // One worker stopped well past its 1 s lease, then resumed.
    signal(&workers[0], "-STOP");
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    signal(&workers[0], "-CONT");

    // Until every delivery has settled.
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let s = engine.jobs().stats("postd.publish").await.unwrap();
        if s.pending == 0 && s.running == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the run did not settle: {s:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    for w in &workers {
        signal(w, "-TERM");
    }
    for mut w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(10), w.wait()).await;
    }

    let mut on_platform: HashMap<String, usize> = HashMap::new();
    for (_, t) in &targets {
        if t.kind == TargetKind::FacebookPage {
            for p in env.meta.facebook_posts(&t.id) {
                *on_platform
                    .entry(p.message.unwrap_or_default())
                    .or_default() += 1;
            }
        }
    }
    for p in env.linkedin.posts() {
        *on_platform.entry(p.commentary).or_default() += 1;
    }
    let (mut published, mut dead, mut stalls) = (0, 0, 0);
    for i in 0..POSTS {
        let status = engine.post_status(&format!("c-{i}")).await.unwrap();
        let d = &status.deliveries[0];
        stalls += d.stalls;
        let copies = on_platform
            .get(&format!("crash post {i}"))
            .copied()
            .unwrap_or(0);
        match d.state {
            DeliveryState::Published => {
                published += 1;
                assert_eq!(copies, 1, "post {i}: {d:?}");
            }
            DeliveryState::Dead | DeliveryState::Unconfirmed => {
                dead += 1;
                eprintln!(
                    "dead {i}: {:?} {:?}",
                    d.dead_reason,
                    d.errors
                        .iter()
                        .map(|e| format!("{}: {}", e.kind, e.message))
                        .collect::<Vec<_>>()
                );
                assert!(copies <= 1, "post {i} twice: {d:?}");
                assert!(d.dead_reason.is_some(), "post {i}: {d:?}");
            }
            other => panic!("post {i} did not settle: {other:?} {d:?}"),
        }
    }
    eprintln!(
        "crash battery: {POSTS} posts, {KILLS} kills and one stop in {elapsed:?}: {published} published, {dead} dead, {stalls} stalls"
    );
    assert_eq!(published + dead, POSTS);
    assert!(published * 100 >= POSTS * 98, "{published} published");
    assert!(
        stalls > 0,
        "killed workers' leases were taken over and counted"
    );
}
