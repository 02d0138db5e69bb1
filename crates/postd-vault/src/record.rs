//! What the vault stores about an account: sealed credentials plus the
//! metadata the lifecycle needs, all of it free of secrets.

use chrono::{DateTime, Utc};
use postd_core::{Health, Platform, Target};
use serde::{Deserialize, Serialize};

/// Where an account stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AccountStatus {
    /// Working.
    Active,
    /// Refreshes are failing for a transient reason; the token may still work.
    RefreshFailing,
    /// The user must authorize again.
    ReauthRequired,
    /// The connection was revoked (by the user or the service).
    Revoked,
}

impl AccountStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::RefreshFailing => "refresh_failing",
            AccountStatus::ReauthRequired => "reauth_required",
            AccountStatus::Revoked => "revoked",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => AccountStatus::Active,
            "refresh_failing" => AccountStatus::RefreshFailing,
            "reauth_required" => AccountStatus::ReauthRequired,
            "revoked" => AccountStatus::Revoked,
            _ => return None,
        })
    }
}

/// The app an account belongs to when a service runs one app per platform.
pub const DEFAULT_APP: &str = "default";

/// One stored account. `sealed_credentials` is the only secret-bearing
/// field, and it is an AEAD envelope.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct AccountRecord {
    /// The tenant (customer) the account belongs to.
    pub tenant: String,
    /// The service's id for this connection.
    pub account: String,
    /// The platform.
    pub platform: Platform,
    /// The platform app (client credentials) the account was authorized with;
    /// [`DEFAULT_APP`] unless the service runs several apps per platform.
    pub app: String,
    /// The sealed credentials envelope.
    pub sealed_credentials: Vec<u8>,
    /// The id of the key that sealed them.
    pub key_id: u32,
    /// Where these credentials can publish.
    pub targets: Vec<Target>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Access token expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Refresh token expiry.
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// Consent (data access) expiry.
    pub consent_expires_at: Option<DateTime<Utc>>,
    /// Status.
    pub status: AccountStatus,
    /// Why the status is what it is.
    pub status_reason: Option<String>,
    /// The last health check's result.
    pub health: Option<Health>,
    /// When health was last checked.
    pub last_health_at: Option<DateTime<Utc>>,
    /// Days on which a refresh failed, counted once per UTC day, since the last success.
    pub refresh_failure_days: u32,
    /// Refresh failures in a row since the last success (drives the backoff).
    pub refresh_failures: u32,
    /// When the last refresh failure happened.
    pub last_refresh_failure_at: Option<DateTime<Utc>>,
    /// Do not try to refresh again before this (backoff after a failure).
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// The re-authorization warning already sent, in whole days before the deadline (7, 1).
    pub warned_days_before: Option<i64>,
    /// Optimistic concurrency: bumped by every write.
    pub version: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last written.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for AccountRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRecord")
            .field("tenant", &self.tenant)
            .field("account", &self.account)
            .field("platform", &self.platform)
            .field("app", &self.app)
            .field(
                "sealed_credentials",
                &format_args!(
                    "<{} sealed bytes, key {}>",
                    self.sealed_credentials.len(),
                    self.key_id
                ),
            )
            .field("status", &self.status)
            .field("expires_at", &self.expires_at)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl AccountRecord {
    /// A fresh record (version 0; the store sets 1 on insert).
    pub fn new(tenant: &str, account: &str, platform: Platform, now: DateTime<Utc>) -> Self {
        AccountRecord {
            tenant: tenant.to_owned(),
            account: account.to_owned(),
            platform,
            app: DEFAULT_APP.to_owned(),
            sealed_credentials: Vec::new(),
            key_id: 0,
            targets: Vec::new(),
            scopes: Vec::new(),
            expires_at: None,
            refresh_expires_at: None,
            consent_expires_at: None,
            status: AccountStatus::Active,
            status_reason: None,
            health: None,
            last_health_at: None,
            refresh_failure_days: 0,
            refresh_failures: 0,
            last_refresh_failure_at: None,
            next_refresh_at: None,
            warned_days_before: None,
            version: 0,
            created_at: now,
            updated_at: now,
        }
    }
}
