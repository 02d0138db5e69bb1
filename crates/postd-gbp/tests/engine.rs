//! Local posts through the whole pipeline (queue, worker, vault): a post
//! Google's review rejects after the create ends dead with the reason,
//! never published; one that goes live ends published with its name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use postd_core::{Connector, Platform};
use postd_engine::{Connectors, DeliveryState, DeliveryTarget, Engine, EngineConfig};
use postd_queue::SqliteJobStore;
use postd_testkit::gbp::{GbpFake, GbpFakeConfig, SCOPE};
use postd_vault::{KeyRing, MemoryStore, TokenVault, VaultConfig};

#[tokio::test]
async fn a_rejected_post_ends_dead_with_the_reason_and_a_live_one_published() {
    let fake = GbpFake::start_with(GbpFakeConfig {
        processing_gets: Some(1),
        ..GbpFakeConfig::default()
    })
    .await;
    fake.seed_account(USER, ACCOUNT, "Acme");
    fake.seed_location(ACCOUNT, LOCATION, "Acme Cafe", true);
    fake.seed_location(ACCOUNT, "9876543211", "Acme Harbour", true);
    let gbp = postd_gbp::GbpConfig::new(fake.client_id(), fake.client_secret().into())
        .unwrap()
        .with_base_url(fake.url())
        .with_review_poll_interval(Duration::from_millis(100))
        .build(http());
    let creds = connect(&gbp, &fake, USER, &[SCOPE]).await.unwrap();
    let targets = gbp.targets(&creds).await.unwrap();
    assert_eq!(targets.len(), 2);

    let dir = std::env::temp_dir().join(format!("postd-gbp-engine-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jobs = Arc::new(SqliteJobStore::open(&dir.join("jobs.db")).await.unwrap());
    let vault = TokenVault::new(
        Arc::new(MemoryStore::new()),
        KeyRing::from_keys([(1, [9u8; 32])]).unwrap(),
        VaultConfig::default(),
    )
    .await
    .unwrap();
    vault
        .store("t", "gbp-acme", Platform::Gbp, &creds, targets.clone())
        .await
        .unwrap();
    let connector: Arc<dyn Connector> = Arc::new(gbp);
    let engine = Engine::new(
        jobs,
        vault,
        Connectors::new().with(Platform::Gbp, "default", connector),
        EngineConfig::default()
            .with_idle_poll(Duration::from_millis(20))
            .with_settle_wait(Duration::from_millis(200)),
    );

    // The second location's post is the one the review rejects.
    let post = post("engine-spring", "Spring menu is here");
    let first = DeliveryTarget::new("t", "gbp-acme", targets[0].clone());
    engine
        .schedule_now(post.clone(), vec![first])
        .await
        .unwrap();
    engine
        .run_until_idle(Duration::from_secs(60))
        .await
        .unwrap();
    fake.reject_next_post("prohibited content");
    let second = DeliveryTarget::new("t", "gbp-acme", targets[1].clone());
    let rejected = common::post("engine-spring-2", "Spring menu is here, call 555-123-4567");
    engine.schedule_now(rejected, vec![second]).await.unwrap();
    engine
        .run_until_idle(Duration::from_secs(60))
        .await
        .unwrap();

    let live = engine
        .post_status("engine-spring")
        .await
        .unwrap()
        .deliveries;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].state, DeliveryState::Published, "{:?}", live[0]);
    let held = fake.local_posts();
    assert_eq!(live[0].published.as_ref().unwrap().id, held[0].name);
    assert_eq!(held[0].state, "LIVE");

    let dead = engine
        .post_status("engine-spring-2")
        .await
        .unwrap()
        .deliveries;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].state, DeliveryState::Dead, "{:?}", dead[0]);
    assert!(dead[0].published.is_none(), "never published");
    let reason = dead[0].dead_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("REJECTED") || reason.contains("rejected"),
        "{reason}"
    );
    assert!(reason.contains("Business Profile manager"), "{reason}");
    assert_eq!(fake.local_posts()[1].state, "REJECTED");
    assert_eq!(fake.local_posts().len(), 2, "one create each, no retry");
    std::fs::remove_dir_all(&dir).ok();
}
