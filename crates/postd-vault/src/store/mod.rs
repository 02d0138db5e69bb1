//! Storage backends. Each implements [`TokenStore`]; one conformance suite
//! (`tests/store_conformance.rs`) runs against all of them.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postd_core::Result;

use crate::record::AccountRecord;

pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sqlite;

pub(crate) mod codec;

/// The result of an optimistic write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Write {
    /// Written; the record now has this version.
    Done(i64),
    /// Someone else wrote first: re-read and decide again.
    Conflict,
    /// No such record.
    Missing,
}

/// Which records to list.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ListFilter {
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only records sealed with a key other than this one (rotation).
    pub key_id_not: Option<u32>,
    /// Only records whose last health check is older than this, or that never had one.
    pub health_before: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: Option<usize>,
}

impl ListFilter {
    /// Only this tenant.
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Only records sealed with another key than this one.
    pub fn with_key_id_not(mut self, key_id: u32) -> Self {
        self.key_id_not = Some(key_id);
        self
    }

    /// Only records whose health was last checked before this (or never).
    pub fn with_health_before(mut self, at: DateTime<Utc>) -> Self {
        self.health_before = Some(at);
        self
    }

    /// At most this many.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }
}

/// A held lock; release it when done (it also expires on its own if the holder dies).
#[async_trait]
pub trait StoreLock: Send + fmt::Debug {
    /// Releases the lock.
    async fn release(self: Box<Self>) -> Result<()>;
}

/// Opens the store a URL names: `sqlite://path` (or `sqlite::memory:`), or
/// `postgres://...` with the `postgres` cargo feature.
pub async fn open_url(url: &str) -> Result<std::sync::Arc<dyn TokenStore>> {
    if url.starts_with("sqlite:") {
        return Ok(std::sync::Arc::new(
            sqlite::SqliteStore::open_url(url).await?,
        ));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(std::sync::Arc::new(
            postgres::PostgresStore::connect(url).await?,
        ));
        #[cfg(not(feature = "postgres"))]
        return Err(postd_core::Error::config(
            "POSTD_VAULT_DATABASE_URL names Postgres: enable the `postgres` cargo feature of postd-vault",
        ));
    }
    Err(postd_core::Error::config(
        "POSTD_VAULT_DATABASE_URL must start with sqlite: or postgres://",
    ))
}

/// Where the vault keeps its records.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// Creates the schema if needed (idempotent; migrations are embedded).
    async fn migrate(&self) -> Result<()>;

    /// Inserts a new record with version 1; `Conflict` when it already exists.
    async fn insert(&self, record: &AccountRecord) -> Result<Write>;

    /// Reads a record.
    async fn get(&self, tenant: &str, account: &str) -> Result<Option<AccountRecord>>;

    /// Replaces a record if its stored version is still `record.version`; the new version is `record.version + 1`.
    async fn update(&self, record: &AccountRecord) -> Result<Write>;

    /// Deletes a record; true when it existed.
    async fn delete(&self, tenant: &str, account: &str) -> Result<bool>;

    /// Lists records.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<AccountRecord>>;

    /// Takes the named lock, waiting up to `wait`; `None` when it stayed busy.
    /// A lock whose holder died frees itself after `ttl` (or when its connection closes).
    async fn lock(
        &self,
        name: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Option<Box<dyn StoreLock>>>;
}
