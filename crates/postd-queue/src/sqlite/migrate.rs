//! Schema migrations, applied in order, each once, under the write lock.

use super::SqliteJobStore;
use crate::error::{QueueError, Result};

/// Indexes are what keep every hot statement off a table scan:
/// - `postd_jobs_due`: the waiter's next-due probe, a range on
///   `(queue, run_at)` over pending rows only.
/// - `postd_jobs_ready` (version 3): the claim's pending arm,
///   `(queue, priority DESC, run_at, id)` over pending rows: the claim walks
///   it in claim order, skips rows not yet due, and stops at the limit, so a
///   backlog of due jobs costs nothing to claim from. (Within one priority the
///   due rows come first; many far-future jobs at a *higher* priority than the
///   due ones would be walked past.)
/// - `postd_jobs_leases`: the claim's stalled arm, running rows by expiry.
/// - `postd_jobs_idempotency`: uniqueness of `(queue, key)`, and the lookup on a duplicate.
/// - `postd_jobs_finished`: per-queue counts of finished jobs and the
///   per-queue dead-letter listing. Partial, so that finished rows (the bulk
///   of the table) are the only ones in it and the planner never prefers it
///   to the ready index for the claim.
/// - `postd_jobs_dead`: dead letters across queues by age (listing, purge).
///
/// SQLite uses a partial index only when the query repeats the index's
/// `WHERE` term word for word, so queries on finished rows carry the
/// `state IN ('completed', 'dead', 'cancelled')` term even beside a narrower one.
///
/// Version 2 upgrades in place (a version-1 file keeps its jobs; they have
/// no group):
/// - `job_group` on `postd_jobs` (`group` is an SQL keyword), with the
///   partial index `postd_jobs_group` for listing and cancelling a group.
///   `job_group = ?` implies `job_group IS NOT NULL`, which SQLite accepts as
///   matching the index's `WHERE` (the one exception to the word-for-word rule).
/// - `postd_jobs_holds`: one row per held key, `hold_until` only ever raised.
/// - `postd_jobs_budgets`: one counter per `(key, window length)`, holding
///   the start of the window it counts; a take in a later window restarts it.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        "CREATE TABLE IF NOT EXISTS postd_jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'dead', 'cancelled')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        lease_owner TEXT,
        lease_expires_at INTEGER,
        fence INTEGER NOT NULL DEFAULT 0,
        stalls INTEGER NOT NULL DEFAULT 0,
        reclaimed INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        errors TEXT NOT NULL DEFAULT '[]',
        idempotency_key TEXT,
        outcome TEXT,
        progress TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        completed_at INTEGER,
        dead_reason TEXT
    );
    CREATE UNIQUE INDEX IF NOT EXISTS postd_jobs_idempotency
        ON postd_jobs (queue, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS postd_jobs_due
        ON postd_jobs (queue, run_at, priority) WHERE state = 'pending';
    CREATE INDEX IF NOT EXISTS postd_jobs_leases
        ON postd_jobs (queue, lease_expires_at) WHERE state = 'running';
    CREATE INDEX IF NOT EXISTS postd_jobs_finished ON postd_jobs (queue, state, updated_at)
        WHERE state IN ('completed', 'dead', 'cancelled');
    CREATE INDEX IF NOT EXISTS postd_jobs_dead ON postd_jobs (updated_at) WHERE state = 'dead';",
    ),
    (
        2,
        "ALTER TABLE postd_jobs ADD COLUMN job_group TEXT;
    CREATE INDEX IF NOT EXISTS postd_jobs_group ON postd_jobs (job_group)
        WHERE job_group IS NOT NULL;
    CREATE TABLE IF NOT EXISTS postd_jobs_holds (
        hold_key TEXT PRIMARY KEY,
        hold_until INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS postd_jobs_budgets (
        budget_key TEXT NOT NULL,
        window_ms INTEGER NOT NULL CHECK (window_ms > 0),
        window_start INTEGER NOT NULL,
        used INTEGER NOT NULL CHECK (used >= 0),
        PRIMARY KEY (budget_key, window_ms)
    ) WITHOUT ROWID;",
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

pub(super) async fn run(store: &SqliteJobStore) -> Result<()> {
    // IMMEDIATE takes the write lock up front: two processes migrating at
    // once queue on it instead of one failing to upgrade a read lock.
    let mut tx = store
        .writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| QueueError::storage("starting a migration", e))?;
    sqlx::query("CREATE TABLE IF NOT EXISTS postd_jobs_schema (version INTEGER PRIMARY KEY)")
        .execute(&mut *tx)
        .await
        .map_err(|e| QueueError::storage("creating the schema table", e))?;
    for (version, sql) in MIGRATIONS {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM postd_jobs_schema WHERE version = ?1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| QueueError::storage("reading the schema version", e))?;
        if done.is_none() {
            sqlx::raw_sql(*sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| QueueError::storage("migrating the job schema", e))?;
            sqlx::query("INSERT INTO postd_jobs_schema (version) VALUES (?1)")
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
