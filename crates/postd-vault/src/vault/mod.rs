//! The [`TokenVault`]: sealed credentials, single-flight refresh, the
//! lifecycle policy and health checks.
//!
//! This file holds the type, its construction and configuration, and the
//! plain reads and writes (`store`, `record`, `credentials`, `revoke`,
//! `delete`); the refresh path is in `refresh`, key rotation in `rotation`,
//! health checks and warnings in `health`.

mod health;
pub use health::ConnectorLookup;
mod refresh;
mod rotation;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use postd_core::{Credentials, Error, ErrorKind, Platform, Result, Target};
use tokio::sync::broadcast;

use crate::events::{VaultEvent, VaultEventKind};
use crate::keys::KeyRing;
use crate::payload;
use crate::record::{AccountRecord, AccountStatus, DEFAULT_APP};
use crate::seal::{SealContext, open, seal};
use crate::store::{TokenStore, Write};

use refresh::LockMap;

/// The field name the credentials are sealed under.
const CREDENTIALS_FIELD: &str = "credentials";

/// Lifecycle settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VaultConfig {
    /// How long a refresh lock lives if its holder dies: at least 30 s more than `refresh_timeout`.
    pub refresh_lock_ttl: Duration,
    /// How long one refresh call may take before it counts as a timed-out failure.
    pub refresh_timeout: Duration,
    /// How long a caller waits for another's refresh before giving up.
    pub refresh_lock_wait: Duration,
    /// UTC days of failing refreshes after which the account needs re-authorization (Nango: 4).
    pub failure_days_before_reauth: u32,
    /// First wait after a failed refresh; it doubles per failure up to `max_failure_backoff`.
    pub failure_backoff: Duration,
    /// Longest wait between failing refreshes.
    pub max_failure_backoff: Duration,
    /// How often each account's health is checked.
    pub health_interval: Duration,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            refresh_lock_ttl: Duration::from_secs(300),
            // Above the HTTP client's default retry budget (120 s).
            refresh_timeout: Duration::from_secs(180),
            refresh_lock_wait: Duration::from_secs(30),
            failure_days_before_reauth: 4,
            failure_backoff: Duration::from_secs(30),
            max_failure_backoff: Duration::from_secs(3600),
            health_interval: Duration::from_secs(6 * 3600),
        }
    }
}

/// What the refresh lock's lease keeps beyond the refresh timeout, for
/// reading the record before and storing the result after.
const WRITE_MARGIN: Duration = Duration::from_secs(30);

/// (tenant, account).
type AccountKey = (String, String);

/// Encrypted credentials with their lifecycle. Cheap to clone.
#[derive(Clone)]
pub struct TokenVault {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn TokenStore>,
    keys: KeyRing,
    config: VaultConfig,
    local_locks: LockMap,
    events: broadcast::Sender<VaultEvent>,
}

impl std::fmt::Debug for TokenVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVault")
            .field("store", &self.inner.store)
            .field("keys", &self.inner.keys)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl TokenVault {
    /// A vault over `store` with `keys` (the store's schema is migrated).
    pub async fn new(
        store: Arc<dyn TokenStore>,
        keys: KeyRing,
        config: VaultConfig,
    ) -> Result<Self> {
        // The lock must outlive the refresh and the write after it.
        if config.refresh_timeout.saturating_add(WRITE_MARGIN) > config.refresh_lock_ttl {
            return Err(vault_error(
                ErrorKind::Config,
                format!(
                    "refresh_lock_ttl must exceed refresh_timeout by at least {} s (the time to store the result), or two refreshes could overlap",
                    WRITE_MARGIN.as_secs()
                ),
            ));
        }
        store.migrate().await?;
        let (events, _) = broadcast::channel(1024);
        Ok(TokenVault {
            inner: Arc::new(Inner {
                store,
                keys,
                config,
                local_locks: Mutex::new(HashMap::new()),
                events,
            }),
        })
    }

    /// A vault configured from the environment: keys from `POSTD_VAULT_KEYS`
    /// (required: no key, no start) and the store from `POSTD_VAULT_DATABASE_URL`
    /// (`sqlite://path` by default `sqlite://postd-vault.db`; `postgres://...`
    /// with the `postgres` cargo feature).
    pub async fn from_env(config: VaultConfig) -> Result<Self> {
        let keys = KeyRing::from_env()?;
        let url = std::env::var("POSTD_VAULT_DATABASE_URL")
            .unwrap_or_else(|_| "sqlite://postd-vault.db".to_owned());
        let store = crate::store::open_url(&url).await?;
        TokenVault::new(store, keys, config).await
    }

    /// The store underneath (for operators' tools and tests).
    pub fn store_handle(&self) -> Arc<dyn TokenStore> {
        self.inner.store.clone()
    }

    /// Subscribes to lifecycle events.
    pub fn subscribe(&self) -> broadcast::Receiver<VaultEvent> {
        self.inner.events.subscribe()
    }

    /// Stores (or replaces, after a re-authorization) an account's credentials.
    pub async fn store(
        &self,
        tenant: &str,
        account: &str,
        platform: Platform,
        credentials: &Credentials,
        targets: Vec<Target>,
    ) -> Result<()> {
        self.store_for_app(tenant, account, platform, DEFAULT_APP, credentials, targets)
            .await
    }

    /// Like [`store`](Self::store), for an account authorized with `app`
    /// (one of several client credentials a service runs for `platform`);
    /// refreshes and health checks of the account then go through that app's connector.
    pub async fn store_for_app(
        &self,
        tenant: &str,
        account: &str,
        platform: Platform,
        app: &str,
        credentials: &Credentials,
        targets: Vec<Target>,
    ) -> Result<()> {
        let now = Utc::now();
        let mut fresh = AccountRecord::new(tenant, account, platform, now);
        fresh.app = app.to_owned();
        fresh.targets = targets;
        self.apply_credentials(&mut fresh, credentials)?;
        if let Write::Done(_) = self.inner.store.insert(&fresh).await? {
            self.emit(&fresh, VaultEventKind::Stored);
            return Ok(());
        }
        let targets = fresh.targets.clone();
        let record = self
            .update_with(tenant, account, |r| {
                if r.platform != platform {
                    return Err(vault_error(
                        ErrorKind::Config,
                        format!(
                            "account {account} belongs to {}, not {platform}",
                            r.platform
                        ),
                    ));
                }
                self.apply_credentials(r, credentials)?;
                r.app = app.to_owned();
                r.targets = targets.clone();
                reset_lifecycle(r);
                Ok(())
            })
            .await?;
        self.emit(&record, VaultEventKind::Stored);
        Ok(())
    }

    /// Seals credentials into a record and copies their non-secret metadata.
    fn apply_credentials(&self, r: &mut AccountRecord, credentials: &Credentials) -> Result<()> {
        let bytes = payload::to_bytes(credentials)?;
        r.sealed_credentials = seal(&self.inner.keys, &ctx(r), &bytes)?;
        r.key_id = self.inner.keys.sealing_key_id();
        if let Credentials::OAuth(t) = credentials {
            r.expires_at = t.expires_at;
            r.refresh_expires_at = t.refresh_expires_at;
            r.consent_expires_at = t.consent_expires_at;
            r.scopes = t.scopes.clone();
        }
        r.updated_at = Utc::now();
        Ok(())
    }

    /// The stored record (no secrets).
    pub async fn record(&self, tenant: &str, account: &str) -> Result<AccountRecord> {
        self.inner.store.get(tenant, account).await?.ok_or_else(|| {
            vault_error(
                ErrorKind::NotFound,
                format!("no account {account} for tenant {tenant}"),
            )
        })
    }

    /// The stored credentials as they are, without refreshing.
    pub async fn credentials(&self, tenant: &str, account: &str) -> Result<Credentials> {
        let r = self.record(tenant, account).await?;
        self.open_credentials(&r)
    }

    fn open_credentials(&self, r: &AccountRecord) -> Result<Credentials> {
        let bytes = open(&self.inner.keys, &ctx(r), &r.sealed_credentials)?;
        payload::from_bytes(&bytes)
    }

    /// Marks an account revoked (the user disconnected, or the platform said so).
    pub async fn revoke(&self, tenant: &str, account: &str, reason: &str) -> Result<()> {
        let record = self
            .update_with(tenant, account, |r| {
                r.status = AccountStatus::Revoked;
                r.status_reason = Some(reason.to_owned());
                Ok(())
            })
            .await?;
        self.emit(&record, VaultEventKind::Revoked);
        Ok(())
    }

    /// Deletes an account's record.
    pub async fn delete(&self, tenant: &str, account: &str) -> Result<bool> {
        self.inner.store.delete(tenant, account).await
    }

    /// Reads, changes and writes a record, retrying when another writer got there first.
    async fn update_with(
        &self,
        tenant: &str,
        account: &str,
        mut change: impl FnMut(&mut AccountRecord) -> Result<()>,
    ) -> Result<AccountRecord> {
        let written = self
            .update_if(tenant, account, |r| change(r).map(|()| true))
            .await?;
        written.ok_or_else(|| vault_error(ErrorKind::Unexpected, "an update was skipped"))
    }

    /// Like [`Self::update_with`], but `change` may decline (return `false`)
    /// after seeing the current record; then nothing is written and `None` returned.
    async fn update_if(
        &self,
        tenant: &str,
        account: &str,
        mut change: impl FnMut(&mut AccountRecord) -> Result<bool>,
    ) -> Result<Option<AccountRecord>> {
        for _ in 0..16 {
            let mut r = self.record(tenant, account).await?;
            if !change(&mut r)? {
                return Ok(None);
            }
            r.updated_at = Utc::now();
            match self.inner.store.update(&r).await? {
                Write::Done(v) => {
                    r.version = v;
                    return Ok(Some(r));
                }
                Write::Conflict => continue,
                Write::Missing => {
                    return Err(vault_error(
                        ErrorKind::NotFound,
                        format!("account {account} was deleted"),
                    ));
                }
            }
        }
        Err(vault_error(
            ErrorKind::Unavailable,
            "too many concurrent writes to one account",
        )
        .temporary(None))
    }

    fn emit(&self, r: &AccountRecord, kind: VaultEventKind) {
        tracing::info!(
            tenant = %r.tenant,
            account = %r.account,
            platform = r.platform.as_str(),
            event = kind.name(),
            "vault event"
        );
        metrics::counter!("postd_vault_events_total", "platform" => r.platform.as_str(), "event" => kind.name())
            .increment(1);
        let _ = self.inner.events.send(VaultEvent {
            tenant: r.tenant.clone(),
            account: r.account.clone(),
            platform: r.platform,
            at: Utc::now(),
            kind,
        });
    }
}

fn ctx<'a>(r: &'a AccountRecord) -> SealContext<'a> {
    SealContext {
        tenant: &r.tenant,
        account: &r.account,
        platform: r.platform.as_str(),
        field: CREDENTIALS_FIELD,
    }
}

fn vault_error(kind: ErrorKind, msg: impl Into<String>) -> Error {
    Error::new(kind, msg).with_operation("vault")
}

fn reset_lifecycle(r: &mut AccountRecord) {
    r.status = AccountStatus::Active;
    r.status_reason = None;
    r.refresh_failure_days = 0;
    r.refresh_failures = 0;
    r.last_refresh_failure_at = None;
    r.next_refresh_at = None;
    r.warned_days_before = None;
}
