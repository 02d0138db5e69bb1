//! A campaign through the whole pipeline (queue, worker, vault): the answer
//! to `actions/send` is lost and the job is retried; the audience is mailed
//! exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use postd_core::{Connector, Platform};
use postd_engine::{Connectors, DeliveryState, DeliveryTarget, Engine, EngineConfig};
use postd_queue::SqliteJobStore;
use postd_testkit::{Fault, Timing};
use postd_vault::{KeyRing, MemoryStore, TokenVault, VaultConfig};

#[tokio::test]
async fn a_lost_send_answer_retried_by_the_engine_mails_the_audience_once() {
    let e = env().await;
    let dir = std::env::temp_dir().join(format!("postd-mc-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jobs = Arc::new(SqliteJobStore::open(&dir.join("jobs.db")).await.unwrap());
    let vault = TokenVault::new(
        Arc::new(MemoryStore::new()),
        KeyRing::from_keys([(1, [3u8; 32])]).unwrap(),
        VaultConfig::default(),
    )
    .await
    .unwrap();
    let targets = e.mc.targets(&e.creds).await.unwrap();
    vault
        .store("t", "mc-acme", Platform::Mailchimp, &e.creds, targets)
        .await
        .unwrap();
    let connector: Arc<dyn Connector> = Arc::new(e.mc.clone());
    let engine = Engine::new(
        jobs,
        vault,
        Connectors::new().with(Platform::Mailchimp, "default", connector),
        EngineConfig::default()
            .with_idle_poll(Duration::from_millis(20))
            .with_settle_wait(Duration::from_millis(200))
            .with_retry_backoff(Duration::from_millis(20), Duration::from_millis(100)),
    );
    // Mailchimp took the send; the answer never came back.
    e.fake.server().faults().inject(
        "POST",
        "/actions/send",
        Fault::Reset,
        1,
        Timing::AfterCommit,
    );
    let to = DeliveryTarget::new("t", "mc-acme", e.target.clone());
    engine
        .schedule_now(post("engine-newsletter", "Weekly news"), vec![to])
        .await
        .unwrap();
    engine
        .run_until_idle(Duration::from_secs(60))
        .await
        .unwrap();
    let d = engine
        .post_status("engine-newsletter")
        .await
        .unwrap()
        .deliveries;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].state, DeliveryState::Published, "{:?}", d[0]);
    let campaigns = e.fake.campaigns();
    assert_eq!(campaigns.len(), 1, "one campaign");
    assert_eq!(
        e.fake.sends(&campaigns[0].id),
        1,
        "the audience was mailed once"
    );
    assert_eq!(d[0].published.as_ref().unwrap().id, campaigns[0].id);
    std::fs::remove_dir_all(&dir).ok();
}
