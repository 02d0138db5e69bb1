//! Health checks through the refresh path ([`TokenVault::check_health`],
//! [`TokenVault::run_health_checks`]) and the T-7d / T-1d re-authorization
//! warnings ([`TokenVault::send_reauth_warnings`]).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use postd_core::{Connector, Credentials, ErrorKind, Health, HealthStatus, Platform, Result};

use super::TokenVault;
use super::refresh::{Need, Prepared};
use crate::events::VaultEventKind;
use crate::record::AccountStatus;
use crate::store::ListFilter;

/// Finds the connector of a platform app: `(platform, app)` to the connector
/// accounts of that app refresh and check through.
pub type ConnectorLookup = dyn Fn(Platform, &str) -> Option<Arc<dyn Connector>> + Send + Sync;

impl TokenVault {
    /// Checks one account's health through the refresh path and stores the result.
    ///
    /// A refresh it starts finishes even if this call is dropped (see
    /// [`TokenVault::fresh_credentials`]).
    pub async fn check_health(
        &self,
        tenant: &str,
        account: &str,
        connector: Arc<dyn Connector>,
    ) -> Result<Health> {
        let now = Utc::now();
        let mut checked: Option<Credentials> = None;
        let health = match self
            .fresh_credentials(tenant, account, connector.clone())
            .await
        {
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
    /// `connectors` gives the connector of a platform app (`(platform, app)`,
    /// the app the account was stored with; [`DEFAULT_APP`](crate::DEFAULT_APP) for most).
    pub async fn run_health_checks(
        &self,
        connectors: &ConnectorLookup,
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
            let Some(connector) = connectors(r.platform, &r.app) else {
                continue;
            };
            let result = self.check_health(&r.tenant, &r.account, connector).await;
            out.push((r.tenant, r.account, result));
        }
        Ok(out)
    }

    /// Refreshes every account whose plan says a refresh is due (through
    /// [`fresh_credentials`](Self::fresh_credentials), so single-flight and
    /// the lifecycle rules apply); accounts that are not due cost a read.
    /// Accounts whose plan says [`on_use_only`](postd_core::RefreshPlan::on_use_only)
    /// are skipped: they refresh when they are next used.
    /// Returns the accounts it touched with what happened.
    pub async fn refresh_due(
        &self,
        connectors: &ConnectorLookup,
    ) -> Result<Vec<(String, String, Result<()>)>> {
        let mut out = Vec::new();
        for r in self.inner.store.list(&ListFilter::default()).await? {
            if matches!(
                r.status,
                AccountStatus::Revoked | AccountStatus::ReauthRequired
            ) {
                continue;
            }
            let Some(connector) = connectors(r.platform, &r.app) else {
                continue;
            };
            let result = match self
                .prepare_refresh(&r.tenant, &r.account, connector.as_ref(), Need::Sweep)
                .await
            {
                // Platforms with single-use refresh tokens refresh on use, not here.
                Ok(Prepared::NotInSweep(_)) => continue,
                Ok(first) => self
                    .fresh_from(&r.tenant, &r.account, connector, first)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
            out.push((r.tenant, r.account, result));
        }
        Ok(out)
    }

    /// Emits the T-7d / T-1d re-authorization warnings that are due, once each.
    pub async fn send_reauth_warnings(&self, connectors: &ConnectorLookup) -> Result<usize> {
        let now = Utc::now();
        let mut sent = 0;
        for r in self.inner.store.list(&ListFilter::default()).await? {
            if matches!(
                r.status,
                AccountStatus::Revoked | AccountStatus::ReauthRequired
            ) {
                continue;
            }
            let Some(connector) = connectors(r.platform, &r.app) else {
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

fn unhealthy(now: DateTime<Utc>, token_valid: bool, why: &str) -> Health {
    let mut h = Health::healthy(now);
    h.status = HealthStatus::Unhealthy;
    h.token_valid = token_valid;
    h.notes.push(why.to_owned());
    h
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
