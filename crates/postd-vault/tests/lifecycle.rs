//! The lifecycle policy: dead grants, lost answers, transient failures,
//! re-authorization warnings and health checks, each an event.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use common::*;
use postd_core::{Connector, Credentials, ErrorKind, HealthStatus, Platform, TokenSet};
use postd_vault::{AccountStatus, TokenStore, TokenVault, VaultConfig, VaultEventKind};

async fn vault(store: Arc<dyn TokenStore>) -> TokenVault {
    TokenVault::new(store, keys(&[1]), VaultConfig::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_lost_refresh_answer_ends_in_reauth_required_at_once_not_a_loop() {
    let (server, endpoint) = token_endpoint("refresh-0").await;
    let connector = Arc::new(TestConnector::new(&server));
    let v = vault(memory().await).await;
    let mut events = v.subscribe();
    // The token is still valid for a few minutes, inside the refresh margin.
    let now = Utc::now();
    let creds = Credentials::OAuth(
        TokenSet::new("access-0")
            .with_refresh_token("refresh-0")
            .with_obtained_at(now - chrono::Duration::hours(1))
            .with_expires_at(now + chrono::Duration::minutes(5)),
    );
    v.store("t", "a", Platform::TikTok, &creds, vec![])
        .await
        .unwrap();

    // The platform rotates the refresh token, but its answer never arrives.
    endpoint.lose_next_answer.store(true, Ordering::SeqCst);
    let still = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap();
    assert_eq!(
        access_of(&still),
        "access-0",
        "the old token still works, so it is handed out"
    );
    assert_eq!(
        v.record("t", "a").await.unwrap().status,
        AccountStatus::RefreshFailing
    );
    assert!(matches!(
        drain(&mut events).as_slice(),
        [VaultEventKind::Stored, VaultEventKind::RefreshFailed { .. }]
    ));

    // The next refresh (after the backoff) sends the old refresh token: invalid_grant.
    let store_record = v.record("t", "a").await.unwrap();
    assert!(store_record.next_refresh_at.is_some());
    clear_backoff(&v, "t", "a").await;
    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(r.status, AccountStatus::ReauthRequired);
    assert!(matches!(
        drain(&mut events).as_slice(),
        [VaultEventKind::ReauthRequired { .. }]
    ));
    let calls = endpoint.calls.load(Ordering::SeqCst);
    // And it stays there: no more token-endpoint calls, no loop.
    for _ in 0..3 {
        assert_eq!(
            v.fresh_credentials("t", "a", connector.clone())
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::ReauthRequired
        );
    }
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), calls);
    assert!(drain(&mut events).is_empty());
}

#[tokio::test]
async fn invalid_grant_answered_with_200_marks_reauth_required_at_once() {
    let (server, endpoint) = token_endpoint("refresh-0").await;
    endpoint
        .invalid_grant_with_200
        .store(true, Ordering::SeqCst);
    let connector = Arc::new(TestConnector::new(&server));
    let v = vault(memory().await).await;
    let mut events = v.subscribe();
    v.store(
        "t",
        "a",
        Platform::TikTok,
        &expired("access-0", "refresh-0"),
        vec![],
    )
    .await
    .unwrap();
    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    // Not an unknown outcome that keeps the account refreshing for four days.
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(r.status, AccountStatus::ReauthRequired);
    assert_eq!(r.refresh_failure_days, 0);
    assert!(matches!(
        drain(&mut events).as_slice(),
        [
            VaultEventKind::Stored,
            VaultEventKind::ReauthRequired { .. }
        ]
    ));
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 1);
}

/// Lets the next refresh happen now (tests cannot wait out the backoff).
async fn clear_backoff(v: &TokenVault, tenant: &str, account: &str) {
    let store = v.store_handle();
    let mut r = store.get(tenant, account).await.unwrap().unwrap();
    r.next_refresh_at = None;
    store.update(&r).await.unwrap();
}

#[tokio::test]
async fn transient_failures_back_off_then_give_up_after_four_days() {
    let (server, endpoint) = token_endpoint("refresh-0").await;
    let connector = Arc::new(TestConnector::new(&server));
    let v = vault(memory().await).await;
    let mut events = v.subscribe();
    store_expired(&v).await;
    endpoint.fail_next.store(100, Ordering::SeqCst);

    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(
        (r.status, r.refresh_failure_days, r.refresh_failures),
        (AccountStatus::RefreshFailing, 1, 1)
    );
    // During the backoff nobody calls the token endpoint.
    let calls = endpoint.calls.load(Ordering::SeqCst);
    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    assert!(err.is_temporary() && err.retry_after().is_some());
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), calls);

    // Three more failing days.
    for day in 2..=4 {
        let store = v.store_handle();
        let mut r = store.get("t", "a").await.unwrap().unwrap();
        r.next_refresh_at = None;
        r.last_refresh_failure_at = Some(Utc::now() - chrono::Duration::days(1));
        store.update(&r).await.unwrap();
        let _ = v.fresh_credentials("t", "a", connector.clone()).await;
        assert_eq!(v.record("t", "a").await.unwrap().refresh_failure_days, day);
    }
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(r.status, AccountStatus::ReauthRequired);
    assert!(r.status_reason.unwrap().contains("4 days"));
    let kinds = drain(&mut events);
    assert!(
        matches!(kinds.last(), Some(VaultEventKind::ReauthRequired { .. })),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn recovery_after_a_failure_is_an_event() {
    let (server, endpoint) = token_endpoint("refresh-0").await;
    let connector = Arc::new(TestConnector::new(&server));
    let v = vault(memory().await).await;
    let mut events = v.subscribe();
    store_expired(&v).await;
    endpoint.fail_next.store(1, Ordering::SeqCst);
    assert!(
        v.fresh_credentials("t", "a", connector.clone())
            .await
            .is_err()
    );
    clear_backoff(&v, "t", "a").await;
    assert_eq!(
        access_of(
            &v.fresh_credentials("t", "a", connector.clone())
                .await
                .unwrap()
        ),
        "access-1"
    );
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(
        (r.status, r.refresh_failure_days),
        (AccountStatus::Active, 0)
    );
    let kinds = drain(&mut events);
    assert!(
        matches!(
            kinds.as_slice(),
            [
                VaultEventKind::Stored,
                VaultEventKind::RefreshFailed { .. },
                VaultEventKind::Refreshed,
                VaultEventKind::Recovered
            ]
        ),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn reauth_warnings_fire_once_per_stage() {
    let (server, _endpoint) = token_endpoint("r").await;
    let connector: Arc<dyn Connector> = Arc::new(TestConnector::new(&server));
    let v = vault(memory().await).await;
    let mut events = v.subscribe();
    let now = Utc::now();
    let creds = |refresh_left: chrono::Duration| {
        Credentials::OAuth(
            TokenSet::new("a")
                .with_refresh_token("r")
                .with_obtained_at(now)
                .with_expires_at(now + chrono::Duration::hours(2))
                .with_refresh_expires_at(now + refresh_left),
        )
    };
    v.store(
        "t",
        "week",
        Platform::TikTok,
        &creds(chrono::Duration::days(6)),
        vec![],
    )
    .await
    .unwrap();
    v.store(
        "t",
        "day",
        Platform::TikTok,
        &creds(chrono::Duration::hours(20)),
        vec![],
    )
    .await
    .unwrap();
    v.store(
        "t",
        "fine",
        Platform::TikTok,
        &creds(chrono::Duration::days(30)),
        vec![],
    )
    .await
    .unwrap();
    drain(&mut events);
    let lookup = move |_: Platform, _: &str| Some(connector.clone());
    assert_eq!(v.send_reauth_warnings(&lookup).await.unwrap(), 2);
    let mut days: Vec<i64> = drain(&mut events)
        .into_iter()
        .map(|k| match k {
            VaultEventKind::ReauthWarning { days_before, .. } => days_before,
            other => panic!("{other:?}"),
        })
        .collect();
    days.sort();
    assert_eq!(days, vec![1, 7]);
    // Nothing new to say.
    assert_eq!(v.send_reauth_warnings(&lookup).await.unwrap(), 0);
}

#[tokio::test]
async fn health_checks_run_every_six_hours_through_the_refresh_path() {
    let (server, endpoint) = token_endpoint("refresh-0").await;
    let test = Arc::new(TestConnector::new(&server));
    let healthy = test.healthy.clone();
    let connector: Arc<dyn Connector> = test;
    let v = vault(memory().await).await;
    let mut events = v.subscribe();
    store_expired(&v).await;
    let lookup = move |_: Platform, _: &str| Some(connector.clone());

    let results = v.run_health_checks(&lookup).await.unwrap();
    assert_eq!(results.len(), 1);
    let health = results[0].2.as_ref().unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);
    // The check refreshed the expired token first.
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 1);
    let r = v.record("t", "a").await.unwrap();
    assert!(r.last_health_at.is_some());
    assert_eq!(r.health.unwrap().status, HealthStatus::Healthy);
    // Not due again for six hours.
    assert!(v.run_health_checks(&lookup).await.unwrap().is_empty());

    // A token the platform no longer accepts needs re-authorization.
    healthy.store(false, Ordering::SeqCst);
    let store = v.store_handle();
    let mut rec = store.get("t", "a").await.unwrap().unwrap();
    rec.last_health_at = Some(Utc::now() - chrono::Duration::hours(7));
    store.update(&rec).await.unwrap();
    let results = v.run_health_checks(&lookup).await.unwrap();
    assert_eq!(
        results[0].2.as_ref().unwrap().status,
        HealthStatus::Unhealthy
    );
    assert_eq!(
        v.record("t", "a").await.unwrap().status,
        AccountStatus::ReauthRequired
    );
    let kinds = drain(&mut events);
    assert!(
        kinds
            .iter()
            .filter(|k| matches!(k, VaultEventKind::HealthChecked { .. }))
            .count()
            == 2,
        "{kinds:?}"
    );
}
