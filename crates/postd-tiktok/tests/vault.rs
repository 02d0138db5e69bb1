//! A TikTok refresh rotates the refresh token: the old one stops working the
//! moment TikTok answers. A caller that gives up while the answer is on its
//! way must not lose the new one, or the creator has to authorize again.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use postd_core::secrecy::ExposeSecret;
use postd_core::{
    Capabilities, Connector, Credentials, Platform, RefreshPlan, Result, TokenSet, async_trait,
};
use postd_tiktok::TikTokConnector;
use postd_vault::{KeyRing, MemoryStore, TokenVault, VaultConfig};

/// The real connector, whose refresh answer reaches the caller late (TikTok
/// has rotated the token by then).
#[derive(Debug)]
struct LateAnswers {
    inner: TikTokConnector,
    delay: Duration,
    refreshes: AtomicUsize,
}

#[async_trait]
impl Connector for LateAnswers {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        let fresh = self.inner.refresh(credentials).await;
        tokio::time::sleep(self.delay).await;
        fresh
    }
    fn refresh_plan(&self, credentials: &Credentials, now: DateTime<Utc>) -> Result<RefreshPlan> {
        self.inner.refresh_plan(credentials, now)
    }
}

fn refresh_of(c: &Credentials) -> String {
    c.token_set(Platform::TikTok)
        .unwrap()
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned()
}

#[tokio::test]
async fn a_refresh_whose_caller_gave_up_still_stores_the_rotated_token() {
    let e = env().await;
    let keys = KeyRing::from_keys([(1, [7u8; 32])]).unwrap();
    let vault = TokenVault::new(Arc::new(MemoryStore::new()), keys, VaultConfig::default())
        .await
        .unwrap();
    // Stored as it would be an hour and fifty minutes after the exchange: due for a refresh.
    let tokens = e.creds.token_set(Platform::TikTok).unwrap().clone();
    let due = Credentials::OAuth(
        TokenSet::new(tokens.access_token.expose_secret())
            .with_refresh_token(tokens.refresh_token.as_ref().unwrap().expose_secret())
            .with_scopes(SCOPES.iter().copied())
            .with_subject(OPEN_ID)
            .with_obtained_at(Utc::now() - chrono::Duration::minutes(110))
            .with_expires_at(Utc::now() + chrono::Duration::minutes(10))
            .with_refresh_expires_at(Utc::now() + chrono::Duration::days(170)),
    );
    let old = refresh_of(&due);
    vault
        .store("t", "creator", Platform::TikTok, &due, vec![])
        .await
        .unwrap();

    let connector = Arc::new(LateAnswers {
        inner: e.tt.clone(),
        delay: Duration::from_millis(300),
        refreshes: AtomicUsize::new(0),
    });
    let gave_up = tokio::time::timeout(
        Duration::from_millis(50),
        vault.fresh_credentials("t", "creator", connector.clone()),
    )
    .await;
    assert!(
        gave_up.is_err(),
        "the caller gave up before the answer came"
    );
    // TikTok has already rotated: the old refresh token is dead.
    assert!(!e.fake.token_is_live(&old));

    tokio::time::sleep(Duration::from_millis(400)).await;
    let fresh = vault
        .fresh_credentials("t", "creator", connector.clone())
        .await
        .unwrap();
    let new = refresh_of(&fresh);
    assert_ne!(new, old);
    assert!(
        e.fake.token_is_live(&new),
        "the stored refresh token is the live one"
    );
    assert_eq!(
        connector.refreshes.load(Ordering::SeqCst),
        1,
        "no second refresh with a dead token"
    );
    // And it refreshes again later.
    assert!(e.tt.refresh(&fresh).await.is_ok());
}
