//! Schema migrations, applied in order, each once, under an advisory lock.

use super::PostgresJobStore;
use crate::error::{QueueError, Result};

/// Same columns and indexes as SQLite (see its migration for why each index
/// exists); times are BIGINT milliseconds, JSON is `jsonb`, and the pending
/// index carries `id` so the claim's candidate scan can be index-only.
///
/// Version 2 (groups, holds, budgets; see SQLite's) upgrades in place.
/// Adding a nullable column without a default rewrites nothing; the group
/// index carries `id` so a group listing can come out of it in order. It is
/// built inside the migration's transaction (not `CONCURRENTLY`), which
/// blocks writes to `postd_jobs` for as long as the build takes.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE IF NOT EXISTS postd_jobs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        queue TEXT NOT NULL,
        payload JSONB NOT NULL,
        priority BIGINT NOT NULL DEFAULT 0,
        run_at BIGINT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'dead', 'cancelled')),
        attempts BIGINT NOT NULL DEFAULT 0,
        max_attempts BIGINT NOT NULL,
        lease_owner TEXT,
        lease_expires_at BIGINT,
        fence BIGINT NOT NULL DEFAULT 0,
        stalls BIGINT NOT NULL DEFAULT 0,
        reclaimed BOOLEAN NOT NULL DEFAULT FALSE,
        last_error TEXT,
        errors JSONB NOT NULL DEFAULT '[]',
        idempotency_key TEXT,
        outcome JSONB,
        progress JSONB,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        completed_at BIGINT,
        dead_reason TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS postd_jobs_idempotency
        ON postd_jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS postd_jobs_due
        ON postd_jobs (queue, run_at, priority, id) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS postd_jobs_leases
        ON postd_jobs (queue, lease_expires_at) WHERE state = 'running';
    CREATE INDEX IF NOT EXISTS postd_jobs_finished ON postd_jobs (queue, state, updated_at)
        WHERE state IN ('completed', 'dead', 'cancelled');
    CREATE INDEX IF NOT EXISTS postd_jobs_dead ON postd_jobs (updated_at) WHERE state = 'dead';",
    ),
    (
        2,
        "ALTER TABLE postd_jobs ADD COLUMN IF NOT EXISTS job_group TEXT;
    CREATE INDEX IF NOT EXISTS postd_jobs_group ON postd_jobs (job_group, id)
        WHERE job_group IS NOT NULL;
    CREATE TABLE IF NOT EXISTS postd_jobs_holds (
        hold_key TEXT PRIMARY KEY,
        hold_until BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS postd_jobs_budgets (
        budget_key TEXT NOT NULL,
        window_ms BIGINT NOT NULL CHECK (window_ms > 0),
        window_start BIGINT NOT NULL,
        used BIGINT NOT NULL CHECK (used >= 0),
        PRIMARY KEY (budget_key, window_ms)
    );",
    ),
    (
        3,
        // A backlog of due jobs is claimed by walking this index in claim
        // order (priority, then due time) and stopping at the limit; with
        // only the run-time-first index every claim sorted the backlog.
        // `postd_jobs_due` stays for the waiter's next-due probe.
        "CREATE INDEX IF NOT EXISTS postd_jobs_ready
        ON postd_jobs (queue, priority DESC, run_at, id) WHERE state = 'pending';",
    ),
];

pub(super) async fn run(store: &PostgresJobStore) -> Result<()> {
    let mut tx = store
        .pool
        .begin()
        .await
        .map_err(|e| QueueError::storage("starting a migration", e))?;
    // Two processes migrating at once take turns; `IF NOT EXISTS` alone
    // still races on the catalog.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('postd_jobs_schema', 0))")
        .execute(&mut *tx)
        .await
        .map_err(|e| QueueError::storage("locking the schema", e))?;
    sqlx::query("CREATE TABLE IF NOT EXISTS postd_jobs_schema (version BIGINT PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .map_err(|e| QueueError::storage("creating the schema table", e))?;
    for (version, sql) in MIGRATIONS {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM postd_jobs_schema WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| QueueError::storage("reading the schema version", e))?;
        if done.is_none() {
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| QueueError::storage("migrating the job schema", e))?;
            sqlx::query("INSERT INTO postd_jobs_schema (version) VALUES ($1)")
                .bind(version)
                .execute(&mut *tx)
                .await
                .map_err(|e| QueueError::storage("recording the schema version", e))?;
        }
    }
    tx.commit()
        .await
        .map_err(|e| QueueError::storage("committing a migration", e))
}
