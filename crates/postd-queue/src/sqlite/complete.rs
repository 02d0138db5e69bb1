//! complete: the fenced, single-statement end of a successful job,
//! written in groups (see `group_commit`): one transaction per batch.

use std::sync::Arc;

use sqlx::SqlitePool;

use crate::clock::Clock;
use crate::error::{QueueError, Result};
use crate::group_commit::{Item, answer};

/// The whole batch in one statement: `?1` is a JSON array of
/// `[id, fence, outcome]`, `?2` now. Each row keeps its own fence check.
const COMPLETE_MANY: &str = "UPDATE postd_jobs SET
        state = 'completed',
        outcome = CASE WHEN b.outcome = 'null' THEN NULL ELSE b.outcome END,
        completed_at = ?2,
        updated_at = ?2,
        lease_owner = NULL,
        lease_expires_at = NULL
    FROM (SELECT value ->> 0 AS id, value ->> 1 AS fence, value -> 2 AS outcome
          FROM json_each(?1)) AS b
    WHERE postd_jobs.id = b.id AND postd_jobs.fence = b.fence AND postd_jobs.state = 'running'
    RETURNING postd_jobs.id, postd_jobs.queue";

/// Writes a batch of completions in one statement (one transaction, one
/// durable write); each keeps its own fence check, so a lost lease fails that
/// job alone.
pub(super) async fn run_batch(
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
    items: Vec<Item>,
) -> Vec<Result<()>> {
    let ids: Vec<i64> = items.iter().map(|i| i.0).collect();
    let batch: Vec<serde_json::Value> = items
        .iter()
        .map(|(id, fence, outcome)| {
            serde_json::json!([
                id,
                fence,
                outcome.clone().unwrap_or(serde_json::Value::Null)
            ])
        })
        .collect();
    let now = clock.now().timestamp_millis();
    let done: std::result::Result<Vec<(i64, String)>, sqlx::Error> = sqlx::query_as(COMPLETE_MANY)
        .bind(serde_json::Value::Array(batch).to_string())
        .bind(now)
        .fetch_all(&pool)
        .await;
    answer(&ids, done, |id| lost_or_missing(&pool, id)).await
}

/// The error for a fenced write that matched no row: the lease is gone, or the job.
pub(super) async fn lost_or_missing(pool: &SqlitePool, id: i64) -> QueueError {
    match sqlx::query_scalar::<_, i64>("SELECT id FROM postd_jobs WHERE id = ?1")
        .bind(id)
        .fetch_optional(pool)
        .await
    {
        Ok(Some(_)) => QueueError::LeaseLost { id },
        Ok(None) => QueueError::NotFound { id },
        Err(e) => QueueError::storage("checking a lost lease", e),
    }
}
