//! What happens around a refresh while the world moves: callers that give
//! up, re-authorizations and revocations mid-refresh, hanging platforms,
//! deadlines that pass, and warnings that must not repeat.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;
use postd_core::{Connector, Credentials, ErrorKind, Platform, Result, TokenSet, async_trait};
use postd_vault::{
    AccountRecord, AccountStatus, ListFilter, MemoryStore, StoreLock, TokenStore, TokenVault,
    VaultConfig, VaultEventKind, Write,
};

/// A memory store whose writes can be made slow, to stop a caller mid-write.
#[derive(Debug, Default)]
struct SlowWrites {
    inner: MemoryStore,
    slow: AtomicBool,
}

#[async_trait]
impl TokenStore for SlowWrites {
    async fn migrate(&self) -> Result<()> {
        self.inner.migrate().await
    }
    async fn insert(&self, record: &AccountRecord) -> Result<Write> {
        self.inner.insert(record).await
    }
    async fn get(&self, tenant: &str, account: &str) -> Result<Option<AccountRecord>> {
        self.inner.get(tenant, account).await
    }
    async fn update(&self, record: &AccountRecord) -> Result<Write> {
        if self.slow.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        self.inner.update(record).await
    }
    async fn delete(&self, tenant: &str, account: &str) -> Result<bool> {
        self.inner.delete(tenant, account).await
    }
    async fn list(&self, filter: &ListFilter) -> Result<Vec<AccountRecord>> {
        self.inner.list(filter).await
    }
    async fn lock(
        &self,
        name: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Option<Box<dyn StoreLock>>> {
        self.inner.lock(name, ttl, wait).await
    }
}

async fn vault_over(store: Arc<dyn TokenStore>, config: VaultConfig) -> TokenVault {
    TokenVault::new(store, keys(&[1]), config).await.unwrap()
}

/// Account `t`/`a` whose refresh token died a minute ago.
async fn store_ended(v: &TokenVault) {
    let now = Utc::now();
    let dead = Credentials::OAuth(
        TokenSet::new("access-0")
            .with_refresh_token("refresh-0")
            .with_obtained_at(now - chrono::Duration::days(400))
            .with_expires_at(now - chrono::Duration::days(1))
            .with_refresh_expires_at(now - chrono::Duration::minutes(1)),
    );
    v.store("t", "a", Platform::TikTok, &dead, vec![])
        .await
        .unwrap();
}

/// `fresh_credentials` for `t`/`a` in its own task.
fn in_background(
    v: &TokenVault,
    connector: &Arc<ScriptConnector>,
) -> tokio::task::JoinHandle<Result<Credentials>> {
    let (v, c) = (v.clone(), connector.clone());
    tokio::spawn(async move { v.fresh_credentials("t", "a", c).await })
}

fn valid(access: &str) -> Credentials {
    let now = Utc::now();
    Credentials::OAuth(
        TokenSet::new(access)
            .with_refresh_token("refresh-new")
            .with_obtained_at(now)
            .with_expires_at(now + chrono::Duration::hours(2))
            .with_refresh_expires_at(now + chrono::Duration::days(300)),
    )
}

#[tokio::test]
async fn a_caller_that_gives_up_mid_write_does_not_lose_the_rotated_token() {
    let store = Arc::new(SlowWrites::default());
    let v = vault_over(store.clone(), VaultConfig::default()).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::default());

    // The platform answers at once; the write is slow and the caller stops waiting.
    store.slow.store(true, Ordering::SeqCst);
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        v.fresh_credentials("t", "a", connector.clone()),
    )
    .await;
    assert!(gave_up.is_err(), "the caller should have timed out");
    store.slow.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The platform already rotated refresh-0 away: the stored set must be the new one.
    let creds = v.credentials("t", "a").await.unwrap();
    assert_eq!(access_of(&creds), "access-1");
    // And the lock was released: the next caller uses it without a refresh.
    let again = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap();
    assert_eq!(access_of(&again), "access-1");
    assert_eq!(connector.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_reauthorization_during_a_refresh_wins() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::slow(Duration::from_millis(300)));
    let refreshing = in_background(&v, &connector);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The user authorizes again while the old grant is being refreshed.
    v.store("t", "a", Platform::TikTok, &valid("access-reauth"), vec![])
        .await
        .unwrap();
    let got = refreshing.await.unwrap().unwrap();
    assert_eq!(access_of(&got), "access-reauth");
    let stored = v.credentials("t", "a").await.unwrap();
    assert_eq!(access_of(&stored), "access-reauth");
    assert_eq!(connector.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_revocation_during_a_refresh_stays_revoked() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::slow(Duration::from_millis(300)));
    let refreshing = in_background(&v, &connector);
    tokio::time::sleep(Duration::from_millis(100)).await;
    v.revoke("t", "a", "the user disconnected").await.unwrap();
    let err = refreshing.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(r.status, AccountStatus::Revoked);
    assert_eq!(
        access_of(&v.credentials("t", "a").await.unwrap()),
        "access-0"
    );
}

#[tokio::test]
async fn a_failure_answer_during_a_reauthorization_does_not_mark_the_new_grant() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::slow(Duration::from_millis(300)));
    *connector.fail_with.lock().unwrap() = Some(ErrorKind::ReauthRequired);
    let refreshing = in_background(&v, &connector);
    tokio::time::sleep(Duration::from_millis(100)).await;
    v.store("t", "a", Platform::TikTok, &valid("access-reauth"), vec![])
        .await
        .unwrap();
    // The old grant's invalid_grant says nothing about the new one.
    let got = refreshing.await.unwrap().unwrap();
    assert_eq!(access_of(&got), "access-reauth");
    assert_eq!(
        v.record("t", "a").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn a_hanging_refresh_times_out_inside_the_lock_and_counts_as_a_failure() {
    let mut config = VaultConfig::default();
    config.refresh_timeout = Duration::from_millis(200);
    config.refresh_lock_ttl = Duration::from_secs(31);
    let v = vault_over(memory().await, config).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::slow(Duration::from_secs(30)));
    let started = Instant::now();
    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(r.status, AccountStatus::RefreshFailing);
    assert_eq!(r.refresh_failures, 1);
}

#[tokio::test]
async fn the_refresh_timeout_must_fit_inside_the_lock_ttl() {
    // The lease must also cover storing the result: 30 s beyond the timeout.
    for (timeout, ttl) in [(300, 300), (180, 209)] {
        let mut config = VaultConfig::default();
        config.refresh_timeout = Duration::from_secs(timeout);
        config.refresh_lock_ttl = Duration::from_secs(ttl);
        let err = TokenVault::new(memory().await, keys(&[1]), config)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }
    let mut config = VaultConfig::default();
    config.refresh_timeout = Duration::from_secs(180);
    config.refresh_lock_ttl = Duration::from_secs(210);
    assert!(
        TokenVault::new(memory().await, keys(&[1]), config)
            .await
            .is_ok()
    );
}

/// A caller cancelled while the platform is still answering does not take
/// the refresh with it: the refresh finishes on its own, and a caller that
/// arrives meanwhile waits for it and uses its answer, neither calling the
/// platform again (with a refresh token it has already retired) nor waiting
/// out the 5-minute lease.
async fn cancelled_callers_refresh_serves_the_next_caller(store: Arc<dyn TokenStore>) {
    let mut config = VaultConfig::default();
    config.refresh_lock_wait = Duration::from_millis(1_000);
    let v = vault_over(store, config).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::slow(Duration::from_millis(400)));
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        v.fresh_credentials("t", "a", connector.clone()),
    )
    .await;
    assert!(gave_up.is_err());
    *connector.delay.lock().unwrap() = Duration::ZERO;
    // The first refresh is still in flight: this caller queues behind it.
    let fresh = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap();
    assert_eq!(access_of(&fresh), "access-1");
    assert_eq!(connector.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_cancelled_callers_refresh_serves_the_next_caller_over_the_memory_lock() {
    cancelled_callers_refresh_serves_the_next_caller(memory().await).await;
}

#[tokio::test]
async fn a_cancelled_callers_refresh_serves_the_next_caller_over_the_sqlite_lease() {
    cancelled_callers_refresh_serves_the_next_caller(sqlite(&temp_db("cancelled")).await).await;
}

#[tokio::test]
async fn a_hung_refresh_whose_caller_left_still_times_out_and_frees_the_lock() {
    let mut config = VaultConfig::default();
    config.refresh_timeout = Duration::from_millis(200);
    config.refresh_lock_ttl = Duration::from_secs(31);
    // Short, so a lock left behind shows up as a refused refresh rather than a wait.
    config.refresh_lock_wait = Duration::from_millis(300);
    let v = vault_over(memory().await, config).await;
    let mut events = v.subscribe();
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::slow(Duration::from_secs(30)));
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        v.fresh_credentials("t", "a", connector.clone()),
    )
    .await;
    assert!(gave_up.is_err(), "the caller should have given up mid-call");

    // Nobody waits for it, yet the refresh gives up at its timeout and says so.
    let deadline = Instant::now() + Duration::from_secs(3);
    let r = loop {
        let r = v.record("t", "a").await.unwrap();
        if r.refresh_failures > 0 {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "the timed-out refresh was never counted"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (r.status, r.refresh_failures),
        (AccountStatus::RefreshFailing, 1)
    );
    let kinds = drain(&mut events);
    assert!(
        matches!(
            kinds.as_slice(),
            [
                VaultEventKind::Stored,
                VaultEventKind::RefreshFailed {
                    kind: ErrorKind::Timeout,
                    ..
                }
            ]
        ),
        "{kinds:?}"
    );

    // And the lock is free: past the backoff, with the platform answering, the next caller refreshes.
    let store = v.store_handle();
    let mut r = store.get("t", "a").await.unwrap().unwrap();
    r.next_refresh_at = None;
    store.update(&r).await.unwrap();
    *connector.delay.lock().unwrap() = Duration::ZERO;
    let fresh = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap();
    assert_eq!(access_of(&fresh), "access-2");
    assert_eq!(connector.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_failure_that_ends_authorization_says_so() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    store_expired(&v).await;
    let store = v.store_handle();
    let mut r = store.get("t", "a").await.unwrap().unwrap();
    r.refresh_failure_days = 3;
    r.last_refresh_failure_at = Some(Utc::now() - chrono::Duration::days(1));
    store.update(&r).await.unwrap();
    let connector = Arc::new(ScriptConnector::default());
    *connector.fail_with.lock().unwrap() = Some(ErrorKind::Unavailable);
    // The fourth failing day: the caller must stop retrying.
    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    assert!(err.to_string().contains("4 days"), "{err}");
}

#[tokio::test]
async fn a_health_check_does_not_mark_a_grant_it_did_not_check() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    let mut events = v.subscribe();
    // Authorization ended: the health check's own refresh path marks it.
    store_ended(&v).await;
    let connector = Arc::new(ScriptConnector::default());
    let health = v.check_health("t", "a", connector.clone()).await.unwrap();
    assert!(!health.token_valid);
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(r.status, AccountStatus::ReauthRequired);
    assert_eq!(
        r.status_reason.as_deref(),
        Some("the authorization's deadline has passed"),
        "the refresh path's reason is kept"
    );
    // One ReauthRequired, from the refresh path; the health write adds none.
    let reauths = drain(&mut events)
        .into_iter()
        .filter(|k| matches!(k, VaultEventKind::ReauthRequired { .. }))
        .count();
    assert_eq!(reauths, 1);
}

#[tokio::test]
async fn a_health_check_that_finds_the_token_refused_emits_reauth_required() {
    let (server, _endpoint) = token_endpoint("refresh-0").await;
    let test = Arc::new(TestConnector::new(&server));
    test.healthy.store(false, Ordering::SeqCst);
    let v = vault_over(memory().await, VaultConfig::default()).await;
    let mut events = v.subscribe();
    v.store("t", "a", Platform::TikTok, &valid("access-ok"), vec![])
        .await
        .unwrap();
    v.check_health("t", "a", test.clone()).await.unwrap();
    assert_eq!(
        v.record("t", "a").await.unwrap().status,
        AccountStatus::ReauthRequired
    );
    let kinds = drain(&mut events);
    assert!(
        matches!(
            kinds.as_slice(),
            [
                VaultEventKind::Stored,
                VaultEventKind::ReauthRequired { .. },
                VaultEventKind::HealthChecked { .. }
            ]
        ),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn two_instances_sending_warnings_warn_once() {
    // Slow writes, so both instances list the account before either writes.
    let slow = Arc::new(SlowWrites::default());
    let store: Arc<dyn TokenStore> = slow.clone();
    let a = vault_over(store.clone(), VaultConfig::default()).await;
    let b = vault_over(store, VaultConfig::default()).await;
    let now = Utc::now();
    let creds = Credentials::OAuth(
        TokenSet::new("access-0")
            .with_refresh_token("refresh-0")
            .with_obtained_at(now)
            .with_expires_at(now + chrono::Duration::hours(2))
            .with_refresh_expires_at(now + chrono::Duration::days(6)),
    );
    a.store("t", "a", Platform::TikTok, &creds, vec![])
        .await
        .unwrap();
    let connector: Arc<dyn Connector> = Arc::new(ScriptConnector::default());
    let lookup = move |_: Platform, _: &str| Some(connector.clone());
    slow.slow.store(true, Ordering::SeqCst);
    let (x, y) = tokio::join!(
        a.send_reauth_warnings(&lookup),
        b.send_reauth_warnings(&lookup)
    );
    assert_eq!(x.unwrap() + y.unwrap(), 1);
}

#[tokio::test]
async fn waiting_callers_give_up_after_the_lock_wait_not_after_the_refresh() {
    let mut config = VaultConfig::default();
    config.refresh_lock_wait = Duration::from_millis(200);
    let v = vault_over(memory().await, config).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::slow(Duration::from_millis(1_500)));
    let first = in_background(&v, &connector);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Queued behind the in-process lock: bounded by the wait, with an expired token.
    let started = Instant::now();
    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1_000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_temporary());
    assert_eq!(access_of(&first.await.unwrap().unwrap()), "access-1");
    assert_eq!(connector.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_passed_deadline_is_marked_once_without_calling_the_platform() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    let mut events = v.subscribe();
    store_ended(&v).await;
    let connector = Arc::new(ScriptConnector::default());
    for _ in 0..3 {
        let err = v
            .fresh_credentials("t", "a", connector.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    }
    assert_eq!(connector.calls.load(Ordering::SeqCst), 0);
    assert_eq!(
        v.record("t", "a").await.unwrap().status,
        AccountStatus::ReauthRequired
    );
    let kinds = drain(&mut events);
    assert!(
        matches!(
            kinds.as_slice(),
            [
                VaultEventKind::Stored,
                VaultEventKind::ReauthRequired { .. }
            ]
        ),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn our_own_misconfiguration_is_not_a_failure_day() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    store_expired(&v).await;
    let connector = Arc::new(ScriptConnector::default());
    *connector.fail_with.lock().unwrap() = Some(ErrorKind::Config);
    let err = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let r = v.record("t", "a").await.unwrap();
    assert_eq!(
        (r.status, r.refresh_failure_days),
        (AccountStatus::Active, 0)
    );
}

#[tokio::test]
async fn a_refresh_that_keeps_the_deadline_does_not_repeat_the_warning() {
    let v = vault_over(memory().await, VaultConfig::default()).await;
    let mut events = v.subscribe();
    let now = Utc::now();
    // LinkedIn-like: the refresh token dies on a fixed date; refreshes keep it.
    let creds = Credentials::OAuth(
        TokenSet::new("access-0")
            .with_refresh_token("refresh-0")
            .with_obtained_at(now - chrono::Duration::hours(2))
            .with_expires_at(now - chrono::Duration::minutes(1))
            .with_refresh_expires_at(now + chrono::Duration::days(6)),
    );
    v.store("t", "a", Platform::TikTok, &creds, vec![])
        .await
        .unwrap();
    let connector = Arc::new(ScriptConnector::default());
    let lookup = {
        let c: Arc<dyn Connector> = connector.clone();
        move |_: Platform, _: &str| Some(c.clone())
    };
    assert_eq!(v.send_reauth_warnings(&lookup).await.unwrap(), 1);
    let fresh = v
        .fresh_credentials("t", "a", connector.clone())
        .await
        .unwrap();
    assert_eq!(access_of(&fresh), "access-1");
    assert_eq!(v.send_reauth_warnings(&lookup).await.unwrap(), 0);
    let warnings = drain(&mut events)
        .into_iter()
        .filter(|k| matches!(k, VaultEventKind::ReauthWarning { .. }))
        .count();
    assert_eq!(warnings, 1);
}

/// A rotating platform that answers slowly: the platform has already issued
/// a new refresh token (and retired the old one) when the caller gives up.
/// The refresh must finish without the caller, store the rotated token and
/// free the lock, so the next refresh works instead of meeting `invalid_grant`.
async fn cancelled_mid_call_keeps_the_rotated_token(store: Arc<dyn TokenStore>, tenant: &str) {
    let (server, endpoint) = token_endpoint("refresh-0").await;
    let connector = Arc::new(TestConnector::new(&server));
    let mut config = VaultConfig::default();
    // Short, so a lock left behind shows up as a refused refresh rather than a wait.
    config.refresh_lock_wait = Duration::from_millis(300);
    let v = vault_over(store, config).await;
    v.store(
        tenant,
        "a",
        Platform::TikTok,
        &expired("access-0", "refresh-0"),
        vec![],
    )
    .await
    .unwrap();
    *endpoint.answer_delay.lock().unwrap() = Duration::from_millis(400);

    // The caller gives up as soon as the platform has issued new tokens, 400 ms
    // before its answer arrives.
    let mut refresh = Box::pin(v.fresh_credentials(tenant, "a", connector.clone()));
    let in_flight = async {
        while endpoint.issued.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        r = &mut refresh => panic!("the refresh ended before the caller gave up (ok: {})", r.is_ok()),
        () = in_flight => {}
    }
    drop(refresh);
    // The platform has rotated refresh-0 away; its answer is still on the way.
    assert_eq!(*endpoint.current_refresh.lock().unwrap(), "refresh-1");
    assert_eq!(
        access_of(&v.credentials(tenant, "a").await.unwrap()),
        "access-0"
    );

    // The refresh goes on without the caller and stores the answer when it comes.
    let deadline = Instant::now() + Duration::from_secs(3);
    let stored = loop {
        let c = v.credentials(tenant, "a").await.unwrap();
        if access_of(&c) != "access-0" {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the rotated refresh token was never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(access_of(&stored), "access-1");
    assert_eq!(refresh_of(&stored).as_deref(), Some("refresh-1"));
    assert_eq!(*endpoint.current_refresh.lock().unwrap(), "refresh-1");
    let r = v.record(tenant, "a").await.unwrap();
    assert_eq!((r.status, r.refresh_failures), (AccountStatus::Active, 0));

    // The lock was freed when that refresh ended: the next one runs, with refresh-1.
    *endpoint.answer_delay.lock().unwrap() = Duration::ZERO;
    connector.always_due.store(true, Ordering::SeqCst);
    let next = v
        .fresh_credentials(tenant, "a", connector.clone())
        .await
        .unwrap();
    assert_eq!(access_of(&next), "access-2");
    assert_eq!(
        refresh_of(&v.credentials(tenant, "a").await.unwrap()).as_deref(),
        Some("refresh-2")
    );
    // Two calls, both answered with new tokens: no invalid_grant on the way.
    assert_eq!(endpoint.calls.load(Ordering::SeqCst), 2);
    assert_eq!(endpoint.issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_caller_cancelled_mid_call_keeps_the_rotated_token_in_memory() {
    cancelled_mid_call_keeps_the_rotated_token(memory().await, "t").await;
}

#[tokio::test]
async fn a_caller_cancelled_mid_call_keeps_the_rotated_token_in_sqlite() {
    cancelled_mid_call_keeps_the_rotated_token(sqlite(&temp_db("mid-call")).await, "t").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_caller_cancelled_mid_call_keeps_the_rotated_token_in_postgres() {
    cancelled_mid_call_keeps_the_rotated_token(postgres().await, &tenant("mid-call")).await;
}
