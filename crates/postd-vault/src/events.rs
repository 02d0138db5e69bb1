//! Lifecycle events a service can subscribe to. Every event is also logged,
//! without secrets.

use chrono::{DateTime, Utc};
use postd_core::{ErrorKind, HealthStatus, Platform};

/// What happened to an account.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum VaultEventKind {
    /// Credentials were stored (a new connection or a re-authorization).
    Stored,
    /// A refresh succeeded.
    Refreshed,
    /// A refresh failed for a transient reason; the vault will try again.
    RefreshFailed {
        /// The error's kind.
        kind: ErrorKind,
        /// UTC days with a failure since the last success.
        failure_days: u32,
        /// Why, without secrets.
        message: String,
    },
    /// Refreshes work again after failing.
    Recovered,
    /// The user must authorize again.
    ReauthRequired {
        /// Why, without secrets.
        reason: String,
    },
    /// Authorization ends soon: warn the user (T-7d, T-1d).
    ReauthWarning {
        /// When it ends.
        deadline: DateTime<Utc>,
        /// Whole days before the deadline this warning is for.
        days_before: i64,
    },
    /// A health check ran.
    HealthChecked {
        /// Its result.
        status: HealthStatus,
    },
    /// The connection was revoked.
    Revoked,
    /// The credentials were sealed again under a newer key.
    Resealed {
        /// The old key id.
        from_key: u32,
        /// The new key id.
        to_key: u32,
    },
}

impl VaultEventKind {
    /// A stable name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            VaultEventKind::Stored => "stored",
            VaultEventKind::Refreshed => "refreshed",
            VaultEventKind::RefreshFailed { .. } => "refresh_failed",
            VaultEventKind::Recovered => "recovered",
            VaultEventKind::ReauthRequired { .. } => "reauth_required",
            VaultEventKind::ReauthWarning { .. } => "reauth_warning",
            VaultEventKind::HealthChecked { .. } => "health_checked",
            VaultEventKind::Revoked => "revoked",
            VaultEventKind::Resealed { .. } => "resealed",
        }
    }
}

/// An event about one account.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VaultEvent {
    /// The tenant.
    pub tenant: String,
    /// The account.
    pub account: String,
    /// The platform.
    pub platform: Platform,
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: VaultEventKind,
}
