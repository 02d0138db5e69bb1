//! One suite, every store: versions, conflicts, filters and locks behave the same.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use postd_core::Platform;
use postd_vault::{AccountRecord, AccountStatus, ListFilter, TokenStore, Write};

async fn suite(store: Arc<dyn TokenStore>, tenant: &str) {
    store.migrate().await.unwrap(); // idempotent
    let now = Utc::now();
    let mut r = AccountRecord::new(tenant, "a1", Platform::Meta, now);
    r.sealed_credentials = vec![1, 2, 3];
    r.key_id = 1;
    r.scopes = vec!["s".to_owned()];
    r.targets = vec![postd_core::Target::new(
        postd_core::TargetKind::FacebookPage,
        "p1",
    )];
    r.expires_at = Some(now);
    assert_eq!(store.insert(&r).await.unwrap(), Write::Done(1));
    assert_eq!(
        store.insert(&r).await.unwrap(),
        Write::Conflict,
        "a second insert is a conflict"
    );

    let got = store.get(tenant, "a1").await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.app, postd_vault::DEFAULT_APP);
    assert_eq!(got.sealed_credentials, vec![1, 2, 3]);
    assert_eq!(got.targets, r.targets);
    assert_eq!(
        got.expires_at.map(|t| t.timestamp_millis()),
        Some(now.timestamp_millis())
    );
    assert_eq!(got.status, AccountStatus::Active);

    // Optimistic concurrency: two writers read version 1; only the first write wins.
    let mut w1 = got.clone();
    let mut w2 = got.clone();
    w1.status = AccountStatus::RefreshFailing;
    w1.app = "staging".to_owned();
    w2.status = AccountStatus::Revoked;
    assert_eq!(store.update(&w1).await.unwrap(), Write::Done(2));
    assert_eq!(store.update(&w2).await.unwrap(), Write::Conflict);
    let got = store.get(tenant, "a1").await.unwrap().unwrap();
    assert_eq!(
        (got.version, got.status, got.app.as_str()),
        (2, AccountStatus::RefreshFailing, "staging")
    );

    let mut ghost = got.clone();
    ghost.account = "nobody".to_owned();
    assert_eq!(store.update(&ghost).await.unwrap(), Write::Missing);

    // Filters.
    let mut r2 = AccountRecord::new(tenant, "a2", Platform::LinkedIn, now);
    r2.key_id = 2;
    r2.sealed_credentials = vec![9];
    r2.last_health_at = Some(now);
    store.insert(&r2).await.unwrap();
    let mine = ListFilter::default().with_tenant(tenant);
    assert_eq!(store.list(&mine).await.unwrap().len(), 2);
    let old_key = ListFilter::default().with_tenant(tenant).with_key_id_not(2);
    assert_eq!(
        store
            .list(&old_key)
            .await
            .unwrap()
            .iter()
            .map(|r| r.account.as_str())
            .collect::<Vec<_>>(),
        ["a1"]
    );
    let due = ListFilter::default()
        .with_tenant(tenant)
        .with_health_before(now - chrono::Duration::hours(1));
    assert_eq!(
        store
            .list(&due)
            .await
            .unwrap()
            .iter()
            .map(|r| r.account.as_str())
            .collect::<Vec<_>>(),
        ["a1"]
    );
    let one = ListFilter::default().with_tenant(tenant).with_limit(1);
    assert_eq!(store.list(&one).await.unwrap().len(), 1);

    // Locks: exclusive, released, and a dead holder's lock frees itself (or with its session).
    let name = format!("lock-{tenant}");
    let held = store
        .lock(&name, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .lock(&name, Duration::from_secs(30), Duration::from_millis(50))
            .await
            .unwrap()
            .is_none()
    );
    held.release().await.unwrap();
    let again = store
        .lock(&name, Duration::from_millis(100), Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    drop(again); // the holder "dies" without releasing
    let taken = store
        .lock(&name, Duration::from_secs(30), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(taken.is_some(), "an abandoned lock must free itself");
    taken.unwrap().release().await.unwrap();

    assert!(store.delete(tenant, "a1").await.unwrap());
    assert!(!store.delete(tenant, "a1").await.unwrap());
    assert!(store.get(tenant, "a1").await.unwrap().is_none());
}

#[tokio::test]
async fn memory_store() {
    suite(memory().await, "t").await;
}

#[tokio::test]
async fn sqlite_store() {
    suite(sqlite(&temp_db("conformance")).await, "t").await;
}

#[tokio::test]
async fn sqlite_in_memory_url() {
    let store: Arc<dyn TokenStore> = Arc::new(
        postd_vault::SqliteStore::open_url("sqlite::memory:")
            .await
            .unwrap(),
    );
    suite(store, "t").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_store() {
    suite(postgres().await, &tenant("conformance")).await;
}

#[tokio::test]
async fn stores_open_from_urls() {
    suite(postd_vault::open_url("sqlite::memory:").await.unwrap(), "t").await;
    let path = temp_db("url");
    suite(
        postd_vault::open_url(&format!("sqlite://{}", path.display()))
            .await
            .unwrap(),
        "t",
    )
    .await;
    let err = postd_vault::open_url("mysql://localhost/db")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), postd_core::ErrorKind::Config);
}
