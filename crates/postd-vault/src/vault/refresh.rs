//! The refresh path: [`TokenVault::fresh_credentials`], single-flight (a
//! lock per account in process, the store's lock across processes), and the
//! lifecycle bookkeeping of what a refresh returned (success, a dead grant,
//! a transient failure with its backoff and failure days).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::refresh::RefreshPlan;
use postd_core::{Connector, Credentials, Error, ErrorKind, Result, Retry};

use super::{AccountKey, TokenVault, VaultConfig, ctx, reset_lifecycle, vault_error};
use crate::events::VaultEventKind;
use crate::record::{AccountRecord, AccountStatus};
use crate::seal::open;
use crate::store::StoreLock;

impl TokenVault {
    /// Credentials that are fresh: refreshed first if the connector's plan says so.
    ///
    /// At most one refresh per account runs at a time, in this process (a
    /// lock per account) and across processes (the store's lock); a caller
    /// that waited re-reads the record and uses what the winner stored.
    /// Waiting is bounded by [`VaultConfig::refresh_lock_wait`] overall.
    ///
    /// Once both locks are held, the refresh runs in a task of its own (the
    /// platform call, storing its answer, releasing the locks), which is why
    /// the connector is owned: a caller that stops waiting (a cancelled
    /// request, a timeout) does not stop it, so a refresh token the platform
    /// rotated mid-call is stored, not lost. The platform call is bounded by
    /// [`VaultConfig::refresh_timeout`], which [`TokenVault::new`] checks fits,
    /// with the write after it, inside [`VaultConfig::refresh_lock_ttl`]: a
    /// hung platform cannot keep the lock, and a timed-out call counts as a
    /// failed refresh.
    ///
    /// Call it inside a Tokio runtime (the refresh is spawned onto it).
    pub async fn fresh_credentials(
        &self,
        tenant: &str,
        account: &str,
        connector: Arc<dyn Connector>,
    ) -> Result<Credentials> {
        let first = self
            .prepare_refresh(tenant, account, connector.as_ref(), Need::Use)
            .await?;
        self.fresh_from(tenant, account, connector, first).await
    }

    /// [`Self::fresh_credentials`] after the first look at the record.
    pub(super) async fn fresh_from(
        &self,
        tenant: &str,
        account: &str,
        connector: Arc<dyn Connector>,
        first: Prepared,
    ) -> Result<Credentials> {
        match first {
            Prepared::Use(creds) | Prepared::NotInSweep(creds) => return Ok(creds),
            Prepared::Ended(r, reason) => return Err(self.mark_ended(r, reason).await),
            Prepared::Refresh(..) => {}
        }

        let cfg = &self.inner.config;
        let deadline = tokio::time::Instant::now() + cfg.refresh_lock_wait;
        let Some(local) = self.local_lock(tenant, account).acquire(deadline).await else {
            return self.while_busy(tenant, account).await;
        };
        match self
            .prepare_refresh(tenant, account, connector.as_ref(), Need::Use)
            .await?
        {
            Prepared::Use(creds) | Prepared::NotInSweep(creds) => return Ok(creds),
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

        // The platform may rotate the refresh token at any moment of the call:
        // from here on the refresh belongs to its own task, whether or not
        // our caller is still waiting for it.
        let vault = self.clone();
        let (tenant, account) = (tenant.to_owned(), account.to_owned());
        let task = tokio::spawn(async move {
            let result = vault
                .refresh_locked(&tenant, &account, connector.as_ref(), lock)
                .await;
            // The store's lock is released by now; the in-process one goes last.
            drop(local);
            result
        });
        task.await.unwrap_or_else(|_| {
            Err(vault_error(
                ErrorKind::Unexpected,
                "the task refreshing the credentials stopped",
            ))
        })
    }

    /// Reads the record and decides: use the stored credentials, refresh, or
    /// report that authorization has ended; for a background sweep, also
    /// whether the plan leaves the account to refresh on use.
    pub(super) async fn prepare_refresh(
        &self,
        tenant: &str,
        account: &str,
        connector: &dyn Connector,
        need: Need,
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
        if need == Need::Sweep && plan.on_use_only {
            return Ok(Prepared::NotInSweep(creds));
        }
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

    /// This account's in-process refresh lock (not yet held).
    fn local_lock(&self, tenant: &str, account: &str) -> LocalSlot {
        let key = (tenant.to_owned(), account.to_owned());
        let mut map = lock_map(&self.inner.local_locks);
        let lock = map
            .entry(key.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())))
            .clone();
        LocalSlot {
            vault: self.clone(),
            key,
            lock,
        }
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

    /// The refresh under the store's lock, in the task [`Self::fresh_credentials`]
    /// spawned: the platform call (bounded by the refresh timeout), storing its
    /// outcome, and releasing the lock.
    async fn refresh_locked(
        &self,
        tenant: &str,
        account: &str,
        connector: &dyn Connector,
        lock: Box<dyn StoreLock>,
    ) -> Result<Credentials> {
        // Whoever held the lock before may have refreshed already.
        let early = match self
            .prepare_refresh(tenant, account, connector, Need::Use)
            .await
        {
            Ok(Prepared::Refresh(r, c)) => Ok((r, c)),
            Ok(Prepared::Use(c) | Prepared::NotInSweep(c)) => Err(Ok(c)),
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

        let result = self.record_outcome(base, creds, outcome).await;
        after_release(result, lock.release().await)
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
}

/// Who asks for the credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    /// A caller about to use them.
    Use,
    /// The background sweep ([`TokenVault::refresh_due`]).
    Sweep,
}

/// What [`TokenVault::prepare_refresh`] decided.
pub(super) enum Prepared {
    /// The stored credentials serve as they are.
    Use(Credentials),
    /// The plan refreshes only on use and this is the sweep: not touched.
    NotInSweep(Credentials),
    /// A refresh is due, from this record and these credentials.
    Refresh(AccountRecord, Credentials),
    /// Authorization has ended; the reason.
    Ended(AccountRecord, String),
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

pub(super) type LockMap = Mutex<HashMap<AccountKey, Arc<tokio::sync::Mutex<()>>>>;

fn lock_map(
    map: &LockMap,
) -> std::sync::MutexGuard<'_, HashMap<AccountKey, Arc<tokio::sync::Mutex<()>>>> {
    match map.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// One account's in-process refresh lock; the last user removes it from the
/// map, so the map holds only accounts being refreshed right now. It owns its
/// handle on the vault, so a refresh task can carry it.
struct LocalSlot {
    vault: TokenVault,
    key: AccountKey,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl LocalSlot {
    /// Waits for the lock until `deadline`; `None` when it stayed busy.
    async fn acquire(self, deadline: tokio::time::Instant) -> Option<LocalHeld> {
        let waited = tokio::time::timeout_at(deadline, self.lock.clone().lock_owned()).await;
        let guard = waited.ok()?;
        Some(LocalHeld {
            _guard: guard,
            _slot: self,
        })
    }
}

impl Drop for LocalSlot {
    fn drop(&mut self) {
        let mut map = lock_map(&self.vault.inner.local_locks);
        // Under the map's lock nobody can take a new handle: two means the map's and ours.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::ptr_eq(l, &self.lock) && Arc::strong_count(l) == 2)
        {
            map.remove(&self.key);
        }
    }
}

/// An account's in-process lock, held. Fields drop in order: the guard
/// first, so the slot, counting who still uses the lock, sees only the map's
/// handle and its own.
struct LocalHeld {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    _slot: LocalSlot,
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

/// The re-authorization deadlines of a record, to the millisecond (as sealed).
fn deadlines_of(r: &AccountRecord) -> (Option<i64>, Option<i64>) {
    use crate::store::codec::millis;
    (millis(r.refresh_expires_at), millis(r.consent_expires_at))
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
    use crate::keys::KeyRing;
    use crate::store::TokenStore;

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

    #[tokio::test]
    async fn a_held_lock_leaves_the_map_when_it_is_dropped() {
        let store: Arc<dyn TokenStore> = Arc::new(crate::MemoryStore::new());
        let keys = KeyRing::from_keys([(1, [7u8; 32])]).unwrap();
        let v = TokenVault::new(store, keys, VaultConfig::default())
            .await
            .unwrap();
        let count = || lock_map(&v.inner.local_locks).len();
        let soon = || tokio::time::Instant::now() + Duration::from_millis(50);
        let held = v.local_lock("t", "a").acquire(soon()).await.unwrap();
        assert_eq!(count(), 1);
        // Busy: a second caller gives up at its deadline and leaves no handle behind.
        assert!(v.local_lock("t", "a").acquire(soon()).await.is_none());
        assert_eq!(count(), 1);
        drop(held);
        assert_eq!(count(), 0);
        // Free again.
        let again = v.local_lock("t", "a").acquire(soon()).await;
        assert!(again.is_some());
    }
}
