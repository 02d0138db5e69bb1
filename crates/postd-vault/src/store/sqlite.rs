//! SQLite store: the embedded default, one file, WAL journal.
//!
//! Several processes may share the file. Optimistic concurrency is a
//! `WHERE version = ?` on every update; the refresh lock is a lease row
//! (`postd_vault_leases`) taken with one atomic upsert and freed by its
//! holder or by expiry.

use std::str::FromStr;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use postd_core::{Error, Result};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::codec::*;
use super::{ListFilter, StoreLock, TokenStore, Write};
use crate::record::AccountRecord;

/// Schema migrations, applied in order; each runs once.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE IF NOT EXISTS postd_vault_accounts (
        tenant TEXT NOT NULL,
        account TEXT NOT NULL,
        platform TEXT NOT NULL,
        sealed_credentials BLOB NOT NULL,
        key_id INTEGER NOT NULL,
        targets TEXT NOT NULL,
        scopes TEXT NOT NULL,
        expires_at INTEGER,
        refresh_expires_at INTEGER,
        consent_expires_at INTEGER,
        status TEXT NOT NULL,
        status_reason TEXT,
        health TEXT,
        last_health_at INTEGER,
        refresh_failure_days INTEGER NOT NULL DEFAULT 0,
        refresh_failures INTEGER NOT NULL DEFAULT 0,
        last_refresh_failure_at INTEGER,
        next_refresh_at INTEGER,
        warned_days_before INTEGER,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, account)
    );
    CREATE INDEX IF NOT EXISTS postd_vault_accounts_key ON postd_vault_accounts (key_id);
    CREATE TABLE IF NOT EXISTS postd_vault_leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );",
    ),
    (
        2,
        // Accounts belong to the platform app they were authorized with.
        "ALTER TABLE postd_vault_accounts ADD COLUMN app TEXT NOT NULL DEFAULT 'default';",
    ),
];

/// A vault store in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, in WAL mode, and migrates it.
    ///
    /// Commits are synced to disk (`synchronous = FULL`): a rotated refresh
    /// token lost to a power cut would cost the user a re-authorization.
    pub async fn open(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        SqliteStore::connect(options).await
    }

    /// Opens a database from a `sqlite:` URL (`sqlite::memory:` for a throwaway one).
    pub async fn open_url(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::config("the vault's SQLite URL does not parse").with_source(e))?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(10));
        let options = if options.get_filename().as_os_str() == ":memory:" {
            options
        } else {
            options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
        };
        SqliteStore::connect(options).await
    }

    async fn connect(options: SqliteConnectOptions) -> Result<Self> {
        let in_memory = options.get_filename().as_os_str() == ":memory:";
        let pool = SqlitePoolOptions::new()
            // An in-memory database lives in one connection.
            .max_connections(if in_memory { 1 } else { 8 })
            .connect_with(options)
            .await
            .map_err(|e| db_error("opening the SQLite vault", e))?;
        let store = SqliteStore { pool };
        store.migrate().await?;
        Ok(store)
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn migrate(&self) -> Result<()> {
        // IMMEDIATE takes the write lock up front: two processes migrating at
        // once queue on it instead of failing to upgrade a read transaction.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| db_error("starting a migration", e))?;
        sqlx::query("CREATE TABLE IF NOT EXISTS postd_vault_schema (version INTEGER PRIMARY KEY)")
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("creating the schema table", e))?;
        for (version, sql) in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM postd_vault_schema WHERE version = ?")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| db_error("reading the schema version", e))?;
            if done.is_none() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error("migrating the vault schema", e))?;
                sqlx::query("INSERT INTO postd_vault_schema (version) VALUES (?)")
                    .bind(version)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error("recording the schema version", e))?;
            }
        }
        tx.commit()
            .await
            .map_err(|e| db_error("committing a migration", e))
    }

    async fn insert(&self, record: &AccountRecord) -> Result<Write> {
        let q = sqlx::query(
            "INSERT INTO postd_vault_accounts (platform, app, sealed_credentials, key_id, targets, scopes, expires_at, refresh_expires_at, consent_expires_at, status, status_reason, health, last_health_at, refresh_failure_days, refresh_failures, last_refresh_failure_at, next_refresh_at, warned_days_before, created_at, updated_at, tenant, account, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
             ON CONFLICT (tenant, account) DO NOTHING",
        );
        let done = bind_record!(q, record)
            .bind(&record.tenant)
            .bind(&record.account)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("inserting an account", e))?;
        Ok(if done.rows_affected() == 1 {
            Write::Done(1)
        } else {
            Write::Conflict
        })
    }

    async fn get(&self, tenant: &str, account: &str) -> Result<Option<AccountRecord>> {
        let row =
            sqlx::query("SELECT * FROM postd_vault_accounts WHERE tenant = ? AND account = ?")
                .bind(tenant)
                .bind(account)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error("reading an account", e))?;
        row.as_ref().map(decode).transpose()
    }

    async fn update(&self, record: &AccountRecord) -> Result<Write> {
        let q = sqlx::query(
            "UPDATE postd_vault_accounts SET platform = ?, app = ?, sealed_credentials = ?, key_id = ?, targets = ?, scopes = ?, expires_at = ?, refresh_expires_at = ?, consent_expires_at = ?, status = ?, status_reason = ?, health = ?, last_health_at = ?, refresh_failure_days = ?, refresh_failures = ?, last_refresh_failure_at = ?, next_refresh_at = ?, warned_days_before = ?, created_at = ?, updated_at = ?, version = version + 1
             WHERE tenant = ? AND account = ? AND version = ?",
        );
        let done = bind_record!(q, record)
            .bind(&record.tenant)
            .bind(&record.account)
            .bind(record.version)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("updating an account", e))?;
        if done.rows_affected() == 1 {
            return Ok(Write::Done(record.version + 1));
        }
        let exists = self.get(&record.tenant, &record.account).await?.is_some();
        Ok(if exists {
            Write::Conflict
        } else {
            Write::Missing
        })
    }

    async fn delete(&self, tenant: &str, account: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM postd_vault_accounts WHERE tenant = ? AND account = ?")
            .bind(tenant)
            .bind(account)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("deleting an account", e))?;
        Ok(done.rows_affected() == 1)
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<AccountRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM postd_vault_accounts
             WHERE (?1 IS NULL OR tenant = ?1)
               AND (?2 IS NULL OR key_id <> ?2)
               AND (?3 IS NULL OR last_health_at IS NULL OR last_health_at < ?3)
             ORDER BY tenant, account
             LIMIT ?4",
        )
        .bind(filter.tenant.as_deref())
        .bind(filter.key_id_not.map(i64::from))
        .bind(millis(filter.health_before))
        .bind(
            filter
                .limit
                .map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing accounts", e))?;
        rows.iter().map(decode).collect()
    }

    async fn lock(
        &self,
        name: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Option<Box<dyn StoreLock>>> {
        let holder = format!("{}-{}", std::process::id(), rand_holder());
        let deadline = Instant::now() + wait;
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        loop {
            let now = Utc::now().timestamp_millis();
            let taken = sqlx::query(
                "INSERT INTO postd_vault_leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE postd_vault_leases.expires_at <= ?4",
            )
            .bind(name)
            .bind(&holder)
            .bind(now.saturating_add(ttl_ms))
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("taking a lease", e))?;
            if taken.rows_affected() == 1 {
                return Ok(Some(Box::new(SqliteLease {
                    pool: self.pool.clone(),
                    name: name.to_owned(),
                    holder,
                    released: false,
                })));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn rand_holder() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

#[derive(Debug)]
struct SqliteLease {
    pool: SqlitePool,
    name: String,
    holder: String,
    released: bool,
}

impl SqliteLease {
    async fn delete(pool: &SqlitePool, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM postd_vault_leases WHERE name = ? AND holder = ?")
            .bind(name)
            .bind(holder)
            .execute(pool)
            .await
            .map_err(|e| db_error("releasing a lease", e))?;
        Ok(())
    }
}

#[async_trait]
impl StoreLock for SqliteLease {
    async fn release(mut self: Box<Self>) -> Result<()> {
        SqliteLease::delete(&self.pool, &self.name, &self.holder).await?;
        self.released = true;
        Ok(())
    }
}

impl Drop for SqliteLease {
    fn drop(&mut self) {
        // Dropped unreleased (its holder was cancelled): free it now rather
        // than make every caller of the account wait out the TTL.
        if self.released {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (pool, name, holder) = (
                self.pool.clone(),
                std::mem::take(&mut self.name),
                std::mem::take(&mut self.holder),
            );
            runtime.spawn(async move {
                if let Err(e) = SqliteLease::delete(&pool, &name, &holder).await {
                    tracing::warn!(
                        kind = e.kind().as_str(),
                        "a dropped lease stays until its TTL"
                    );
                }
            });
        }
    }
}
