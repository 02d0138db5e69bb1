//! X's refresh tokens are single use: every rotation is a moment where a
//! lost answer leaves the stored token spent. Through the vault: a lost
//! rotation is one failed refresh, and the next refresh (presenting the spent
//! token, which X answers as invalid) ends the account at once, with an
//! event and no loop; a caller that gives up does not lose a rotation; the
//! background sweep leaves X accounts alone.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use postd_core::secrecy::ExposeSecret;
use postd_core::{Connector, Credentials, ErrorKind, Platform, TokenSet};
use postd_testkit::{Fault, Timing};
use postd_vault::{
    AccountStatus, ConnectorLookup, KeyRing, MemoryStore, TokenVault, VaultConfig, VaultEventKind,
};

async fn vault() -> TokenVault {
    let keys = KeyRing::from_keys([(1, [9u8; 32])]).unwrap();
    let mut cfg = VaultConfig::default();
    cfg.failure_backoff = Duration::from_millis(10);
    cfg.max_failure_backoff = Duration::from_millis(10);
    TokenVault::new(Arc::new(MemoryStore::new()), keys, cfg)
        .await
        .unwrap()
}

/// `creds` as stored 110 minutes after the exchange: due for a refresh.
fn due(creds: &Credentials) -> Credentials {
    let t = creds.token_set(Platform::Twitter).unwrap();
    Credentials::OAuth(
        TokenSet::new(t.access_token.expose_secret())
            .with_refresh_token(t.refresh_token.as_ref().unwrap().expose_secret())
            .with_scopes(SCOPES.iter().copied())
            .with_subject(USER)
            .with_obtained_at(Utc::now() - chrono::Duration::minutes(110))
            .with_expires_at(Utc::now() + chrono::Duration::minutes(10)),
    )
}

/// The real connector, whose refresh answer reaches the caller late (X has
/// rotated the token by then).
#[derive(Debug)]
struct LateAnswers {
    inner: postd_twitter::TwitterConnector,
    delay: Duration,
}

#[postd_core::async_trait]
impl Connector for LateAnswers {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }
    fn capabilities(&self) -> postd_core::Capabilities {
        self.inner.capabilities()
    }
    async fn refresh(&self, credentials: &Credentials) -> postd_core::Result<Credentials> {
        let fresh = self.inner.refresh(credentials).await;
        tokio::time::sleep(self.delay).await;
        fresh
    }
    fn refresh_plan(
        &self,
        credentials: &Credentials,
        now: chrono::DateTime<Utc>,
    ) -> postd_core::Result<postd_core::RefreshPlan> {
        self.inner.refresh_plan(credentials, now)
    }
}

fn token_calls(e: &Env) -> usize {
    e.fake
        .requests()
        .iter()
        .filter(|r| r.as_str() == "POST /2/oauth2/token")
        .count()
}

#[tokio::test]
async fn a_lost_rotation_then_the_next_refresh_ends_the_account_at_once_without_a_loop() {
    let e = env().await;
    let vault = vault().await;
    let stored = due(&e.creds);
    let spent = refresh_token(&stored);
    vault
        .store("t", "x", Platform::Twitter, &stored, vec![])
        .await
        .unwrap();
    let x: Arc<dyn Connector> = Arc::new(e.x.clone());
    let mut events = vault.subscribe();
    let calls_before = token_calls(&e);

    // X rotates, and the answer never arrives.
    e.fake.server().faults().inject(
        "POST",
        "/2/oauth2/token",
        Fault::Reset,
        1,
        Timing::AfterCommit,
    );
    let first = vault.fresh_credentials("t", "x", x.clone()).await.unwrap();
    assert_eq!(
        access(&first),
        access(&stored),
        "the old access token still serves"
    );
    assert!(
        !e.fake.token_is_live(&spent),
        "X spent the stored refresh token"
    );
    let r = vault.record("t", "x").await.unwrap();
    assert_eq!(
        r.status,
        AccountStatus::RefreshFailing,
        "one lost answer is not a reauth"
    );

    // The next refresh presents the spent token: X says it is invalid.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let err = vault
        .fresh_credentials("t", "x", x.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
    let r = vault.record("t", "x").await.unwrap();
    assert_eq!(r.status, AccountStatus::ReauthRequired);
    let mut reauth_events = 0;
    while let Ok(ev) = events.try_recv() {
        if matches!(ev.kind, VaultEventKind::ReauthRequired { .. }) {
            reauth_events += 1;
        }
    }
    assert_eq!(reauth_events, 1, "one event");

    // No loop: asking again makes no call.
    for _ in 0..3 {
        let err = vault
            .fresh_credentials("t", "x", x.clone())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    }
    assert_eq!(
        token_calls(&e) - calls_before,
        2,
        "the lost one and the refused one"
    );
}

#[tokio::test]
async fn a_refresh_whose_caller_gave_up_still_stores_the_rotated_token() {
    let e = env().await;
    let vault = vault().await;
    let stored = due(&e.creds);
    let old = refresh_token(&stored);
    vault
        .store("t", "x", Platform::Twitter, &stored, vec![])
        .await
        .unwrap();
    // The answer reaches the caller late; the caller stops waiting first.
    let x: Arc<dyn Connector> = Arc::new(LateAnswers {
        inner: e.x.clone(),
        delay: Duration::from_millis(300),
    });
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        vault.fresh_credentials("t", "x", x.clone()),
    )
    .await;
    assert!(gave_up.is_err(), "the caller gave up");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let now = vault.credentials("t", "x").await.unwrap();
    let new = refresh_token(&now);
    assert_ne!(new, old, "the rotated token was stored");
    assert!(e.fake.token_is_live(&new));
    assert_eq!(
        vault.record("t", "x").await.unwrap().status,
        AccountStatus::Active
    );
}

#[tokio::test]
async fn the_background_sweep_leaves_x_accounts_to_refresh_on_use() {
    let e = env().await;
    let vault = vault().await;
    vault
        .store("t", "x", Platform::Twitter, &due(&e.creds), vec![])
        .await
        .unwrap();
    let x: Arc<dyn Connector> = Arc::new(e.x.clone());
    let lookup: Box<ConnectorLookup> =
        Box::new(move |p, _| (p == Platform::Twitter).then(|| x.clone()));
    let before = token_calls(&e);
    let touched = vault.refresh_due(&lookup).await.unwrap();
    assert!(touched.is_empty(), "{touched:?}");
    assert_eq!(token_calls(&e), before, "no keep-alive refresh");
}
