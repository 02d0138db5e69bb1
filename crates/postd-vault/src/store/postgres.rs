//! Postgres store (cargo feature `postgres`), for services that scale out.
//!
//! Optimistic concurrency is a `WHERE version = $n` on every update; the
//! refresh lock is a session advisory lock held on a dedicated connection,
//! so a crashed holder frees it when its connection closes.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use postd_core::Result;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};

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
        sealed_credentials BYTEA NOT NULL,
        key_id BIGINT NOT NULL,
        targets TEXT NOT NULL,
        scopes TEXT NOT NULL,
        expires_at BIGINT,
        refresh_expires_at BIGINT,
        consent_expires_at BIGINT,
        status TEXT NOT NULL,
        status_reason TEXT,
        health TEXT,
        last_health_at BIGINT,
        refresh_failure_days BIGINT NOT NULL DEFAULT 0,
        refresh_failures BIGINT NOT NULL DEFAULT 0,
        last_refresh_failure_at BIGINT,
        next_refresh_at BIGINT,
        warned_days_before BIGINT,
        version BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (tenant, account)
    );
    CREATE INDEX IF NOT EXISTS postd_vault_accounts_key ON postd_vault_accounts (key_id);",
    ),
    (
        2,
        // Accounts belong to the platform app they were authorized with.
        "ALTER TABLE postd_vault_accounts ADD COLUMN IF NOT EXISTS app TEXT NOT NULL DEFAULT 'default';",
    ),
];

/// A vault store in Postgres.
///
/// Refresh locks live on connections of their own pool: a lock holder keeps
/// its connection for the whole refresh, and if locks shared the records'
/// pool, enough concurrent refreshes would leave none for the writes that
/// store their results.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    locks: PgPool,
}

/// Connections for refresh locks, each held for one refresh.
const LOCK_CONNECTIONS: u32 = 16;

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`) and migrates the schema.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await
            .map_err(|e| db_error("connecting to the Postgres vault", e))?;
        PostgresStore::from_pool(pool).await
    }

    /// Uses an existing pool for records (the schema is migrated); locks get
    /// a small pool of their own with the same connect options, opened lazily.
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        let locks = PgPoolOptions::new()
            .max_connections(LOCK_CONNECTIONS)
            .min_connections(0)
            .connect_lazy_with((*pool.connect_options()).clone());
        let store = PostgresStore { pool, locks };
        store.migrate().await?;
        Ok(store)
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn migrate(&self) -> Result<()> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| db_error("starting a migration", e))?;
        // Two processes migrating at once take turns.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('postd_vault_schema', 0))")
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("locking the schema", e))?;
        sqlx::query("CREATE TABLE IF NOT EXISTS postd_vault_schema (version BIGINT PRIMARY KEY)")
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("creating the schema table", e))?;
        for (version, sql) in MIGRATIONS {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM postd_vault_schema WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| db_error("reading the schema version", e))?;
            if done.is_none() {
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error("migrating the vault schema", e))?;
                sqlx::query("INSERT INTO postd_vault_schema (version) VALUES ($1)")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, 1)
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
            sqlx::query("SELECT * FROM postd_vault_accounts WHERE tenant = $1 AND account = $2")
                .bind(tenant)
                .bind(account)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| db_error("reading an account", e))?;
        row.as_ref().map(decode).transpose()
    }

    async fn update(&self, record: &AccountRecord) -> Result<Write> {
        let q = sqlx::query(
            "UPDATE postd_vault_accounts SET platform = $1, app = $2, sealed_credentials = $3, key_id = $4, targets = $5, scopes = $6, expires_at = $7, refresh_expires_at = $8, consent_expires_at = $9, status = $10, status_reason = $11, health = $12, last_health_at = $13, refresh_failure_days = $14, refresh_failures = $15, last_refresh_failure_at = $16, next_refresh_at = $17, warned_days_before = $18, created_at = $19, updated_at = $20, version = version + 1
             WHERE tenant = $21 AND account = $22 AND version = $23",
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
        let done =
            sqlx::query("DELETE FROM postd_vault_accounts WHERE tenant = $1 AND account = $2")
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
             WHERE ($1::TEXT IS NULL OR tenant = $1)
               AND ($2::BIGINT IS NULL OR key_id <> $2)
               AND ($3::BIGINT IS NULL OR last_health_at IS NULL OR last_health_at < $3)
             ORDER BY tenant, account
             LIMIT $4",
        )
        .bind(filter.tenant.as_deref())
        .bind(filter.key_id_not.map(i64::from))
        .bind(millis(filter.health_before))
        .bind(
            filter
                .limit
                .map_or(i64::MAX, |n| i64::try_from(n).unwrap_or(i64::MAX)),
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| db_error("listing accounts", e))?;
        rows.iter().map(decode).collect()
    }

    async fn lock(
        &self,
        name: &str,
        _ttl: Duration,
        wait: Duration,
    ) -> Result<Option<Box<dyn StoreLock>>> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(10);
        loop {
            // A connection per try: a waiter must not hold one of the pool's
            // connections while another caller does the work it waits for.
            let mut conn = self
                .locks
                .acquire()
                .await
                .map_err(|e| db_error("taking a connection for a lock", e))?;
            let taken: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                    .bind(name)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| db_error("taking an advisory lock", e))?;
            if taken {
                return Ok(Some(Box::new(PgLock {
                    conn: Some(conn),
                    name: name.to_owned(),
                })));
            }
            drop(conn);
            if Instant::now() >= deadline {
                return Ok(None);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

struct PgLock {
    conn: Option<PoolConnection<Postgres>>,
    name: String,
}

impl std::fmt::Debug for PgLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLock")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for PgLock {
    fn drop(&mut self) {
        // Dropped without release: close the session so Postgres frees the lock.
        if let Some(conn) = self.conn.as_mut() {
            conn.close_on_drop();
        }
    }
}

#[async_trait]
impl StoreLock for PgLock {
    async fn release(mut self: Box<Self>) -> Result<()> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        let unlocked =
            sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                .bind(&self.name)
                .fetch_one(&mut **conn)
                .await;
        if unlocked.is_ok() {
            // Unlocked: the connection may go back to the pool. Until then (an
            // error, or this future dropped mid-query) `Drop` closes it instead,
            // so a pooled session never carries the lock.
            drop(self.conn.take());
        }
        Ok(())
    }
}
