//! Dead letters: inspect, replay, purge. Also `get`, the full record of any job.

use chrono::{DateTime, Utc};

use super::SqliteJobStore;
use crate::codec::{decode_job, millis};
use crate::error::{QueueError, Result};
use crate::job::{Job, JobState};

const GET: &str = "SELECT * FROM postd_jobs WHERE id = ?1";

/// Two statements rather than `?1 IS NULL OR queue = ?1`, which would stop
/// SQLite from using either index.
const LIST_QUEUE: &str = "SELECT * FROM postd_jobs
    WHERE queue = ?1 AND state IN ('completed', 'dead', 'cancelled') AND state = 'dead'
    ORDER BY updated_at DESC, id DESC
    LIMIT ?2 OFFSET ?3";
const LIST_ALL: &str = "SELECT * FROM postd_jobs
    WHERE state = 'dead'
    ORDER BY updated_at DESC, id DESC
    LIMIT ?1 OFFSET ?2";

/// History stays; the fence keeps counting so a worker from before the
/// death can never act on the replayed job.
const REPLAY: &str = "UPDATE postd_jobs SET
        state = 'pending',
        attempts = 0,
        run_at = ?1,
        dead_reason = NULL,
        reclaimed = 0,
        lease_owner = NULL,
        lease_expires_at = NULL,
        updated_at = ?2
    WHERE id = ?3 AND state = 'dead'";

const PURGE: &str =
    "DELETE FROM postd_jobs WHERE id = ?1 AND state IN ('completed', 'dead', 'cancelled')";

const PURGE_DEAD: &str = "DELETE FROM postd_jobs WHERE state = 'dead' AND updated_at < ?1";

pub(super) async fn get(store: &SqliteJobStore, id: i64) -> Result<Option<Job>> {
    let row = sqlx::query(GET)
        .bind(id)
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| QueueError::storage("reading a job", e))?;
    row.as_ref().map(decode_job).transpose()
}

pub(super) async fn list(
    store: &SqliteJobStore,
    queue: Option<&str>,
    limit: u32,
    offset: u32,
) -> Result<Vec<Job>> {
    let query = match queue {
        Some(queue) => sqlx::query(LIST_QUEUE).bind(queue),
        None => sqlx::query(LIST_ALL),
    };
    let rows = query
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&store.pool)
        .await
        .map_err(|e| QueueError::storage("listing dead jobs", e))?;
    rows.iter().map(decode_job).collect()
}

pub(super) async fn replay(
    store: &SqliteJobStore,
    id: i64,
    run_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let now = store.now_ms();
    let done = sqlx::query(REPLAY)
        .bind(run_at.map_or(now, millis))
        .bind(now)
        .bind(id)
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("replaying a dead job", e))?;
    if done.rows_affected() == 1 {
        store.wake();
        return Ok(());
    }
    match store.state_of(id).await? {
        None => Err(QueueError::NotFound { id }),
        Some(actual) => Err(QueueError::InvalidState {
            id,
            actual,
            expected: "dead",
        }),
    }
}

pub(super) async fn purge(store: &SqliteJobStore, id: i64) -> Result<bool> {
    let done = sqlx::query(PURGE)
        .bind(id)
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("purging a job", e))?;
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    match store.state_of(id).await? {
        None => Ok(false),
        Some(actual @ (JobState::Pending | JobState::Running)) => Err(QueueError::InvalidState {
            id,
            actual,
            expected: "completed, dead or cancelled",
        }),
        // It finished between the two statements: delete it now.
        Some(_) => {
            let done = sqlx::query(PURGE)
                .bind(id)
                .execute(&store.writer)
                .await
                .map_err(|e| QueueError::storage("purging a job", e))?;
            Ok(done.rows_affected() == 1)
        }
    }
}

pub(super) async fn purge_dead(store: &SqliteJobStore, older_than: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(PURGE_DEAD)
        .bind(millis(older_than))
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("purging dead jobs", e))?;
    Ok(done.rows_affected())
}
