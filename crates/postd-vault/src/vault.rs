//! The [`TokenVault`]: sealed credentials, single-flight refresh, the
//! lifecycle policy and health checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::refresh::RefreshPlan;
use postd_core::{
    Connector, Credentials, Error, ErrorKind, Health, HealthStatus, Platform, Result, Retry, Target,
};
use tokio::sync::broadcast;

use crate::events::{VaultEvent, VaultEventKind};
use crate::keys::KeyRing;
use crate::payload;
use crate::record::{AccountRecord, AccountStatus};
use crate::seal::{SealContext, key_id_of, open, seal};
use crate::store::{ListFilter, StoreLock, TokenStore, Write};

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

    /// Stores (or replaces, after a re-authorization) an account's credentials.
    pub async fn store(
        &self,
        tenant: &str,
        account: &str,
        platform: Platform,
        credentials: &Credentials,
        targets: Vec<Target>,
    ) -> Result<()> {
        let now = Utc::now();
        let mut fresh = AccountRecord::new(tenant, account, platform, now);
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

    fn open_credentials(&self, r: &AccountRecord) -> Result<Credentials> {
        let bytes = open(&self.inner.keys, &ctx(r), &r.sealed_credentials)?;
        payload::from_bytes(&bytes)
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

    /// Credentials that are fresh: refreshed first if the connector's plan says so.
    ///
    /// At most one refresh per account runs at a time, in this process (a
    /// lock per account) and across processes (the store's lock); a caller
    /// that waited re-reads the record and uses what the winner stored.
    /// Waiting is bounded by [`VaultConfig::refresh_lock_wait`] overall.
    ///
    /// Once the platform has answered a refresh, the answer is written even
    /// if the caller stops waiting: a rotated refresh token is never lost to
    /// a cancelled request.
    pub async fn fresh_credentials(
        &self,
        tenant: &str,
        account: &str,
        connector: &dyn Connector,
    ) -> Result<Credentials> {
        match self.prepare_refresh(tenant, account, connector).await? {
            Prepared::Use(creds) => return Ok(creds),
            Prepared::Ended(r, reason) => return Err(self.mark_ended(r, reason).await),
            Prepared::Refresh(..) => {}
        }

        let cfg = &self.inner.config;
        let deadline = tokio::time::Instant::now() + cfg.refresh_lock_wait;
        let slot = self.local_lock(tenant, account);
        let Ok(_local) = tokio::time::timeout_at(deadline, slot.lock.lock()).await else {
            return self.while_busy(tenant, account).await;
        };
        match self.prepare_refresh(tenant, account, connector).await? {
            Prepared::Use(creds) => return Ok(creds),
            Prepared::Ended(r, reason) => return Err(self.mark_ended(r, reason).await),
            Prepared::Refresh(..) => {}
        }

        let lock_name = format!("postd-vault:refresh:{tenant}:{account}");
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some(lock) = self
            .inner
            .store
            .lock(&lock_name, cfg.refresh_lock_ttl, wait)
            .await?
        else {
            return self.while_busy(tenant, account).await;
        };
        self.refresh_locked(tenant, account, connector, lock).await
    }

    /// Another caller holds the refresh: use what is stored if it still works.
    async fn while_busy(&self, tenant: &str, account: &str) -> Result<Credentials> {
        let r = self.record(tenant, account).await?;
        check_usable(&r)?;
        if still_valid(&r, Utc::now()) {
            return self.open_credentials(&r);
        }
        Err(vault_error(
            ErrorKind::Unavailable,
            "another caller is refreshing this account",
        )
        .temporary(Some(Duration::from_secs(5))))
    }

    /// Reads the record and decides: use the stored credentials, refresh, or
    /// report that authorization has ended.
    async fn prepare_refresh(
        &self,
        tenant: &str,
        account: &str,
        connector: &dyn Connector,
    ) -> Result<Prepared> {
        let r = self.record(tenant, account).await?;
        check_usable(&r)?;
        let creds = self.open_credentials(&r)?;
        let now = Utc::now();
        let plan = match connector.refresh_plan(&creds, now) {
            Ok(p) => p,
            // No plan (API keys, scaffolds): nothing to refresh.
            Err(e) if e.kind() == ErrorKind::NotImplemented => RefreshPlan::default(),
            Err(e) => return Err(e),
        };
        if plan.reauth_required(now) {
            return Ok(Prepared::Ended(
                r,
                "the authorization's deadline has passed".to_owned(),
            ));
        }
        if !plan.refresh_due(now) {
            return Ok(Prepared::Use(creds));
        }
        if let Some(next) = r.next_refresh_at
            && now < next
        {
            // Failures are backing off: the old token serves while it lasts.
            if still_valid(&r, now) {
                return Ok(Prepared::Use(creds));
            }
            let wait = (next - now).to_std().ok();
            return Err(vault_error(
                ErrorKind::Unavailable,
                "the token expired and refreshes are backing off after failures",
            )
            .with_retry(Retry::Temporary { after: wait }));
        }
        Ok(Prepared::Refresh(r, creds))
    }

    /// Marks an account whose authorization has ended, once, and returns the error to give.
    async fn mark_ended(&self, r: AccountRecord, reason: String) -> Error {
        let err = vault_error(
            ErrorKind::ReauthRequired,
            format!(
                "account {} needs the user to authorize again: {reason}",
                r.account
            ),
        )
        .with_platform(r.platform);
        let base = r.sealed_credentials.clone();
        let marked = self
            .update_if(&r.tenant, &r.account, |rec| {
                // Only if nothing new was stored meanwhile (a re-authorization).
                if rec.sealed_credentials != base || rec.status != r.status {
                    return Ok(false);
                }
                rec.status = AccountStatus::ReauthRequired;
                rec.status_reason = Some(reason.clone());
                Ok(true)
            })
            .await;
        match marked {
            Ok(Some(record)) => {
                self.emit(&record, VaultEventKind::ReauthRequired { reason });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(kind = e.kind().as_str(), "could not mark the account"),
        }
        err
    }

    async fn refresh_locked(
        &self,
        tenant: &str,
        account: &str,
        connector: &dyn Connector,
        lock: Box<dyn StoreLock>,
    ) -> Result<Credentials> {
        // Whoever held the lock before may have refreshed already.
        let early = match self.prepare_refresh(tenant, account, connector).await {
            Ok(Prepared::Refresh(r, c)) => Ok((r, c)),
            Ok(Prepared::Use(c)) => Err(Ok(c)),
            Ok(Prepared::Ended(r, reason)) => Err(Err(self.mark_ended(r, reason).await)),
            Err(e) => Err(Err(e)),
        };
        let (base, creds) = match early {
            Ok(pair) => pair,
            Err(result) => return after_release(result, lock.release().await),
        };
        let started = std::time::Instant::now();
        let timeout = self.inner.config.refresh_timeout;
        let outcome = match tokio::time::timeout(timeout, connector.refresh(&creds)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("the refresh took longer than {} s", timeout.as_secs()),
            )
            .with_platform(base.platform)
            .with_operation("refresh")
            .temporary(None)),
        };
        let label = match &outcome {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        };
        metrics::counter!("postd_token_refresh_total", "platform" => base.platform.as_str(), "outcome" => label).increment(1);
        metrics::histogram!("postd_token_refresh_duration_seconds", "platform" => base.platform.as_str())
            .record(started.elapsed().as_secs_f64());

        // The platform has answered: write that down even if our caller goes away.
        let vault = self.clone();
        let task = tokio::spawn(async move {
            let result = vault.record_outcome(base, creds, outcome).await;
            after_release(result, lock.release().await)
        });
        task.await.unwrap_or_else(|_| {
            Err(vault_error(
                ErrorKind::Unexpected,
                "the task recording a refresh stopped",
            ))
        })
    }

    /// Stores what a refresh returned, unless the account changed meanwhile.
    async fn record_outcome(
        &self,
        base: AccountRecord,
        creds: Credentials,
        outcome: Result<Credentials>,
    ) -> Result<Credentials> {
        let (tenant, account) = (base.tenant.as_str(), base.account.as_str());
        let base_plain = open(&self.inner.keys, &ctx(&base), &base.sealed_credentials)?;
        // Still the credentials this refresh started from, and not revoked?
        let unchanged = |rec: &AccountRecord| -> Result<bool> {
            if rec.status == AccountStatus::Revoked {
                return Ok(false);
            }
            if rec.sealed_credentials == base.sealed_credentials {
                return Ok(true);
            }
            // A key rotation reseals the same plaintext.
            Ok(open(&self.inner.keys, &ctx(rec), &rec.sealed_credentials)? == base_plain)
        };
        match outcome {
            Ok(fresh) => {
                let was_failing = base.status == AccountStatus::RefreshFailing;
                // The new access token and any rotated refresh token go in one write.
                let written = self
                    .update_if(tenant, account, |rec| {
                        if !unchanged(rec)? {
                            return Ok(false);
                        }
                        let deadlines = deadlines_of(rec);
                        let warned = rec.warned_days_before;
                        self.apply_credentials(rec, &fresh)?;
                        reset_lifecycle(rec);
                        // Same deadline, same warnings: T-7d is not said twice.
                        if deadlines == deadlines_of(rec) && deadlines != (None, None) {
                            rec.warned_days_before = warned;
                        }
                        Ok(true)
                    })
                    .await?;
                let Some(record) = written else {
                    // Re-authorized or revoked while we refreshed: what is stored now wins.
                    return self.stored_usable(tenant, account).await;
                };
                self.emit(&record, VaultEventKind::Refreshed);
                if was_failing {
                    self.emit(&record, VaultEventKind::Recovered);
                }
                Ok(fresh)
            }
            Err(e) if e.kind() == ErrorKind::ReauthRequired => {
                // invalid_grant and friends: retrying cannot help. Mark it now, once.
                let reason = e.message().to_owned();
                let written = self
                    .update_if(tenant, account, |rec| {
                        if !unchanged(rec)? {
                            return Ok(false);
                        }
                        rec.status = AccountStatus::ReauthRequired;
                        rec.status_reason = Some(reason.clone());
                        Ok(true)
                    })
                    .await?;
                match written {
                    Some(record) => {
                        self.emit(&record, VaultEventKind::ReauthRequired { reason });
                        Err(e)
                    }
                    None => self.stored_usable(tenant, account).await,
                }
            }
            // Our own configuration is wrong: not the account's fault, not a failure day.
            Err(e) if e.kind() == ErrorKind::Config => Err(e),
            Err(e) => {
                let now = Utc::now();
                let cfg = self.inner.config.clone();
                let message = e.message().to_owned();
                let kind = e.kind();
                let written = self
                    .update_if(tenant, account, |rec| {
                        if !unchanged(rec)? {
                            return Ok(false);
                        }
                        record_failure(rec, &cfg, now, e.retry_after());
                        if rec.refresh_failure_days >= cfg.failure_days_before_reauth {
                            rec.status = AccountStatus::ReauthRequired;
                            rec.status_reason = Some(format!(
                                "refreshes failed on {} days in a row: {message}",
                                rec.refresh_failure_days
                            ));
                        } else {
                            rec.status = AccountStatus::RefreshFailing;
                            rec.status_reason = Some(message.clone());
                        }
                        Ok(true)
                    })
                    .await?;
                let Some(record) = written else {
                    return self.stored_usable(tenant, account).await;
                };
                if record.status == AccountStatus::ReauthRequired {
                    let reason = record.status_reason.clone().unwrap_or_default();
                    self.emit(
                        &record,
                        VaultEventKind::ReauthRequired {
                            reason: reason.clone(),
                        },
                    );
                    // Retrying will not help any more: say so, not the last failure's kind.
                    return Err(vault_error(
                        ErrorKind::ReauthRequired,
                        format!("account {account} needs the user to authorize again: {reason}"),
                    )
                    .with_platform(record.platform));
                }
                self.emit(
                    &record,
                    VaultEventKind::RefreshFailed {
                        kind,
                        failure_days: record.refresh_failure_days,
                        message,
                    },
                );
                // The old token may still work; hand it out until it expires.
                if still_valid(&record, now) {
                    return Ok(creds);
                }
                Err(e)
            }
        }
    }

    /// The stored credentials, if the account is usable.
    async fn stored_usable(&self, tenant: &str, account: &str) -> Result<Credentials> {
        let r = self.record(tenant, account).await?;
        check_usable(&r)?;
        self.open_credentials(&r)
    }

    fn local_lock(&self, tenant: &str, account: &str) -> LocalSlot<'_> {
        let key = (tenant.to_owned(), account.to_owned());
        let mut map = lock_map(&self.inner.local_locks);
        let lock = map
            .entry(key.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
            .clone();
        LocalSlot {
            map: &self.inner.local_locks,
            key,
            lock,
        }
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

    /// Seals every record not sealed with the newest key again, online; returns how many moved.
    ///
    /// A record that cannot be opened (its key was removed too early) does
    /// not stop the others: they all move, then the error names how many
    /// stayed behind and the first of them.
    pub async fn rotate(&self) -> Result<usize> {
        let newest = self.inner.keys.sealing_key_id();
        let mut moved = 0;
        let mut stuck: Vec<(AccountKey, Error)> = Vec::new();
        loop {
            // Stuck rows still match the filter: ask for enough to get past them.
            let filter = ListFilter {
                key_id_not: Some(newest),
                limit: Some(100 + stuck.len()),
                ..ListFilter::default()
            };
            let batch: Vec<AccountRecord> = self
                .inner
                .store
                .list(&filter)
                .await?
                .into_iter()
                .filter(|r| {
                    !stuck
                        .iter()
                        .any(|((t, a), _)| *t == r.tenant && *a == r.account)
                })
                .collect();
            if batch.is_empty() {
                break;
            }
            for r in batch {
                let from = key_id_of(&r.sealed_credentials).unwrap_or(r.key_id);
                // The plaintext moves as it is, byte for byte.
                let resealed = self
                    .update_with(&r.tenant, &r.account, |rec| {
                        let plain = open(&self.inner.keys, &ctx(rec), &rec.sealed_credentials)?;
                        rec.sealed_credentials = seal(&self.inner.keys, &ctx(rec), &plain)?;
                        rec.key_id = newest;
                        Ok(())
                    })
                    .await;
                match resealed {
                    Ok(record) => {
                        moved += 1;
                        self.emit(
                            &record,
                            VaultEventKind::Resealed {
                                from_key: from,
                                to_key: newest,
                            },
                        );
                    }
                    // Deleted since the listing: nothing left to move.
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(tenant = %r.tenant, account = %r.account, kind = e.kind().as_str(), "cannot reseal a record");
                        stuck.push(((r.tenant, r.account), e));
                    }
                }
            }
        }
        match stuck.first() {
            None => Ok(moved),
            Some(((tenant, account), e)) => Err(vault_error(
                e.kind(),
                format!(
                    "{moved} records resealed, {} could not be (first: tenant {tenant}, account {account}: {})",
                    stuck.len(),
                    e.message()
                ),
            )),
        }
    }

    /// Checks one account's health through the refresh path and stores the result.
    pub async fn check_health(
        &self,
        tenant: &str,
        account: &str,
        connector: &dyn Connector,
    ) -> Result<Health> {
        let now = Utc::now();
        let mut checked: Option<Credentials> = None;
        let health = match self.fresh_credentials(tenant, account, connector).await {
            Ok(creds) => match connector.health_check(checked.insert(creds)).await {
                Ok(h) => h,
                Err(e) if e.kind() == ErrorKind::ReauthRequired => {
                    unhealthy(now, false, e.message())
                }
                Err(e) => {
                    let mut h = unhealthy(now, true, e.message());
                    h.status = HealthStatus::Degraded;
                    h
                }
            },
            Err(e) => unhealthy(now, e.kind() != ErrorKind::ReauthRequired, e.message()),
        };
        let dead_token = !health.token_valid;
        let stored = health.clone();
        const DEAD: &str = "the platform no longer accepts the token";
        let mut marked = false;
        let record = self
            .update_with(tenant, account, |r| {
                r.health = Some(stored.clone());
                r.last_health_at = Some(now);
                // Only the platform refusing the very token stored now marks the
                // account: without a checked token the refresh path has already
                // said what it had to, and a token replaced meanwhile
                // (re-authorization) is not the dead one.
                let refused_current = match &checked {
                    Some(used) => dead_token && same_secret(used, &self.open_credentials(r)?),
                    None => false,
                };
                marked = refused_current
                    && matches!(
                        r.status,
                        AccountStatus::Active | AccountStatus::RefreshFailing
                    );
                if marked {
                    r.status = AccountStatus::ReauthRequired;
                    r.status_reason = Some(DEAD.to_owned());
                }
                Ok(())
            })
            .await?;
        if marked {
            self.emit(
                &record,
                VaultEventKind::ReauthRequired {
                    reason: DEAD.to_owned(),
                },
            );
        }
        self.emit(
            &record,
            VaultEventKind::HealthChecked {
                status: health.status,
            },
        );
        Ok(health)
    }

    /// Checks every account whose last check is older than the health interval.
    ///
    /// `connectors` gives the connector of a platform (a `ConnectorManager` lookup).
    pub async fn run_health_checks(
        &self,
        connectors: &(dyn Fn(Platform) -> Option<Arc<dyn Connector>> + Send + Sync),
    ) -> Result<Vec<(String, String, Result<Health>)>> {
        let interval = chrono::Duration::from_std(self.inner.config.health_interval)
            .unwrap_or(chrono::Duration::hours(6));
        let filter = ListFilter {
            health_before: Some(Utc::now() - interval),
            ..ListFilter::default()
        };
        let mut out = Vec::new();
        for r in self.inner.store.list(&filter).await? {
            if matches!(
                r.status,
                AccountStatus::Revoked | AccountStatus::ReauthRequired
            ) {
                continue;
            }
            let Some(connector) = connectors(r.platform) else {
                continue;
            };
            let result = self
                .check_health(&r.tenant, &r.account, connector.as_ref())
                .await;
            out.push((r.tenant, r.account, result));
        }
        Ok(out)
    }

    /// Emits the T-7d / T-1d re-authorization warnings that are due, once each.
    pub async fn send_reauth_warnings(
        &self,
        connectors: &(dyn Fn(Platform) -> Option<Arc<dyn Connector>> + Send + Sync),
    ) -> Result<usize> {
        let now = Utc::now();
        let mut sent = 0;
        for r in self.inner.store.list(&ListFilter::default()).await? {
            if matches!(
                r.status,
                AccountStatus::Revoked | AccountStatus::ReauthRequired
            ) {
                continue;
            }
            let Some(connector) = connectors(r.platform) else {
                continue;
            };
            // One unreadable record must not stop everyone else's warnings.
            let creds = match self.open_credentials(&r) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(tenant = %r.tenant, account = %r.account, kind = e.kind().as_str(), "cannot open a record for warnings");
                    continue;
                }
            };
            let Ok(plan) = connector.refresh_plan(&creds, now) else {
                continue;
            };
            let Some(w) = plan.due_warning(now) else {
                continue;
            };
            let days = w.before.num_days();
            if r.warned_days_before.is_some_and(|d| d <= days) {
                continue;
            }
            // Another instance may have warned, or the user re-authorized, since the listing.
            let written = self
                .update_if(&r.tenant, &r.account, |rec| {
                    if rec.sealed_credentials != r.sealed_credentials
                        || rec.warned_days_before.is_some_and(|d| d <= days)
                    {
                        return Ok(false);
                    }
                    rec.warned_days_before = Some(days);
                    Ok(true)
                })
                .await;
            let record = match written {
                Ok(Some(record)) => record,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(tenant = %r.tenant, account = %r.account, kind = e.kind().as_str(), "cannot record a warning");
                    continue;
                }
            };
            self.emit(
                &record,
                VaultEventKind::ReauthWarning {
                    deadline: w.deadline,
                    days_before: days,
                },
            );
            sent += 1;
        }
        Ok(sent)
    }
}

/// The re-authorization deadlines of a record, to the millisecond (as sealed).
fn deadlines_of(r: &AccountRecord) -> (Option<i64>, Option<i64>) {
    use crate::store::codec::millis;
    (millis(r.refresh_expires_at), millis(r.consent_expires_at))
}

/// Whether two credentials carry the same access token (or API key).
fn same_secret(a: &Credentials, b: &Credentials) -> bool {
    use postd_core::secrecy::ExposeSecret;
    match (a, b) {
        (Credentials::OAuth(x), Credentials::OAuth(y)) => {
            x.access_token.expose_secret() == y.access_token.expose_secret()
        }
        (Credentials::ApiKey(x), Credentials::ApiKey(y)) => x.expose_secret() == y.expose_secret(),
        _ => false,
    }
}

type LockMap = Mutex<HashMap<AccountKey, Arc<tokio::sync::Mutex<()>>>>;

fn lock_map(
    map: &LockMap,
) -> std::sync::MutexGuard<'_, HashMap<AccountKey, Arc<tokio::sync::Mutex<()>>>> {
    match map.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// One account's in-process refresh lock; the last user removes it from the
/// map, so the map holds only accounts being refreshed right now.
struct LocalSlot<'a> {
    map: &'a LockMap,
    key: AccountKey,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Drop for LocalSlot<'_> {
    fn drop(&mut self) {
        let mut map = lock_map(self.map);
        // Under the map's lock nobody can take a new handle: two means the map's and ours.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::ptr_eq(l, &self.lock) && Arc::strong_count(l) == 2)
        {
            map.remove(&self.key);
        }
    }
}

/// What [`TokenVault::prepare_refresh`] decided.
enum Prepared {
    /// The stored credentials serve as they are.
    Use(Credentials),
    /// A refresh is due, from this record and these credentials.
    Refresh(AccountRecord, Credentials),
    /// Authorization has ended; the reason.
    Ended(AccountRecord, String),
}

/// The result of the work done under a lock, after releasing it. A lock that
/// would not release expires on its own, so that failure does not hide the result.
fn after_release(result: Result<Credentials>, released: Result<()>) -> Result<Credentials> {
    if let Err(e) = released {
        tracing::warn!(
            kind = e.kind().as_str(),
            "releasing a refresh lock failed; it will expire"
        );
    }
    result
}

fn unhealthy(now: DateTime<Utc>, token_valid: bool, why: &str) -> Health {
    let mut h = Health::healthy(now);
    h.status = HealthStatus::Unhealthy;
    h.token_valid = token_valid;
    h.notes.push(why.to_owned());
    h
}

fn check_usable(r: &AccountRecord) -> Result<()> {
    match r.status {
        AccountStatus::ReauthRequired => Err(vault_error(
            ErrorKind::ReauthRequired,
            format!(
                "account {} needs the user to authorize again: {}",
                r.account,
                r.status_reason.as_deref().unwrap_or("authorization ended")
            ),
        )
        .with_platform(r.platform)),
        AccountStatus::Revoked => Err(vault_error(
            ErrorKind::ReauthRequired,
            format!("account {} was revoked", r.account),
        )
        .with_platform(r.platform)),
        _ => Ok(()),
    }
}

fn still_valid(r: &AccountRecord, now: DateTime<Utc>) -> bool {
    r.expires_at.is_none_or(|e| e > now)
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

/// Counts a failure (failure days at most once per UTC day) and sets the next attempt.
fn record_failure(
    r: &mut AccountRecord,
    cfg: &VaultConfig,
    now: DateTime<Utc>,
    hint: Option<Duration>,
) {
    let new_day = r
        .last_refresh_failure_at
        .is_none_or(|last| last.date_naive() != now.date_naive());
    if new_day {
        r.refresh_failure_days = r.refresh_failure_days.saturating_add(1);
    }
    r.refresh_failures = r.refresh_failures.saturating_add(1);
    r.last_refresh_failure_at = Some(now);
    let exp = cfg
        .failure_backoff
        .saturating_mul(2u32.saturating_pow(r.refresh_failures.saturating_sub(1).min(20)))
        .min(cfg.max_failure_backoff);
    // A platform's hint is honoured up to the longest wait we allow.
    let wait = hint.map_or(exp, |h| h.max(exp).min(cfg.max_failure_backoff.max(exp)));
    r.next_refresh_at = chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| now.checked_add_signed(d));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_lock_map_holds_only_accounts_in_use() {
        let store: Arc<dyn TokenStore> = Arc::new(crate::MemoryStore::new());
        let keys = KeyRing::from_keys([(1, [7u8; 32])]).unwrap();
        let v = TokenVault::new(store, keys, VaultConfig::default())
            .await
            .unwrap();
        let count = || lock_map(&v.inner.local_locks).len();
        let a1 = v.local_lock("t", "a");
        let a2 = v.local_lock("t", "a");
        assert!(Arc::ptr_eq(&a1.lock, &a2.lock), "one lock per account");
        let b = v.local_lock("t", "b");
        assert_eq!(count(), 2);
        drop(a1);
        assert_eq!(count(), 2, "a is still in use");
        drop(a2);
        drop(b);
        assert_eq!(count(), 0);
    }
}
