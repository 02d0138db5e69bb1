//! One refresh per account, however many callers and processes ask at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::*;
use postd_core::Platform;
use postd_vault::{TokenStore, TokenVault, VaultConfig};

/// 100 callers over two vault instances (two "processes") sharing one store.
async fn hundred_callers_one_refresh(
    store_a: Arc<dyn TokenStore>,
    store_b: Arc<dyn TokenStore>,
    tenant: &str,
) {
    let (server, endpoint) = token_endpoint("refresh-0").await;
    let connector = Arc::new(TestConnector::new(&server));
    let a = TokenVault::new(store_a, keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    let b = TokenVault::new(store_b, keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    a.store(
        tenant,
        "acct",
        Platform::TikTok,
        &expired("access-0", "refresh-0"),
        vec![],
    )
    .await
    .unwrap();

    let mut tasks = Vec::new();
    for i in 0..100 {
        let vault = if i % 2 == 0 { a.clone() } else { b.clone() };
        let connector = connector.clone();
        let tenant = tenant.to_owned();
        tasks.push(tokio::spawn(async move {
            vault
                .fresh_credentials(&tenant, "acct", connector.clone())
                .await
        }));
    }
    for t in tasks {
        let creds = t.await.unwrap().unwrap();
        assert_eq!(access_of(&creds), "access-1");
    }
    assert_eq!(
        endpoint.calls.load(Ordering::SeqCst),
        1,
        "exactly one token-endpoint call"
    );
    // The rotated refresh token was stored with the new access token.
    let stored = a.credentials(tenant, "acct").await.unwrap();
    let postd_core::Credentials::OAuth(t) = stored else {
        panic!()
    };
    use postd_core::secrecy::ExposeSecret;
    assert_eq!(t.refresh_token.unwrap().expose_secret(), "refresh-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_single_flight() {
    let store = memory().await;
    hundred_callers_one_refresh(store.clone(), store, "t").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_instances_one_refresh() {
    let path = temp_db("single-flight");
    hundred_callers_one_refresh(sqlite(&path).await, sqlite(&path).await, "t").await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_instances_one_refresh() {
    hundred_callers_one_refresh(postgres().await, postgres().await, &tenant("single-flight")).await;
}

/// More accounts refreshing at once than the store's pool has connections:
/// lock holders must not starve the writes that store their results.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_more_concurrent_refreshes_than_pool_connections() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&postgres_url())
        .await
        .unwrap();
    let store: Arc<dyn TokenStore> =
        Arc::new(postd_vault::PostgresStore::from_pool(pool).await.unwrap());
    let vault = TokenVault::new(store, keys(&[1]), VaultConfig::default())
        .await
        .unwrap();
    let tenant = tenant("pool");
    let connector = Arc::new(ScriptConnector::slow(std::time::Duration::from_millis(300)));
    for i in 0..12 {
        vault
            .store(
                &tenant,
                &format!("acct-{i}"),
                Platform::TikTok,
                &expired("access-0", "refresh-0"),
                vec![],
            )
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (vault, connector, tenant) = (vault.clone(), connector.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            vault
                .fresh_credentials(&tenant, &format!("acct-{i}"), connector.clone())
                .await
        }));
    }
    for t in tasks {
        let creds = t.await.unwrap().unwrap();
        assert!(access_of(&creds).starts_with("access-"));
        assert_ne!(access_of(&creds), "access-0");
    }
    assert_eq!(connector.calls.load(Ordering::SeqCst), 12);
}
