//! complete: the fenced, single-statement end of a successful job,
//! written in groups (see `group_commit`): one transaction per batch.

use std::sync::Arc;

use sqlx::PgPool;

use crate::clock::Clock;
use crate::codec::json_text;
use crate::error::{QueueError, Result};
use crate::group_commit::{Item, answer};

/// The whole batch in one statement: `$1` ids, `$2` fences, `$3` outcomes
/// (JSON text or NULL), `$4` now. Each row keeps its own fence check.
const COMPLETE_MANY: &str = "UPDATE postd_jobs SET
        state = 'completed',
        outcome = b.outcome::jsonb,
        completed_at = $4,
        updated_at = $4,
        lease_owner = NULL,
        lease_expires_at = NULL
    FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS b(id, fence, outcome)
    WHERE postd_jobs.id = b.id AND postd_jobs.fence = b.fence AND postd_jobs.state = 'running'
    RETURNING postd_jobs.id, postd_jobs.queue";

/// Writes a batch of completions in one statement (one transaction, one
/// durable write); each keeps its own fence check, so a lost lease fails that
/// job alone.
pub(super) async fn run_batch(
    pool: PgPool,
    clock: Arc<dyn Clock>,
    items: Vec<Item>,
) -> Vec<Result<()>> {
    let ids: Vec<i64> = items.iter().map(|i| i.0).collect();
    let fences: Vec<i64> = items.iter().map(|i| i.1).collect();
    let outcomes: Vec<Option<String>> = items.iter().map(|i| json_text(i.2.as_ref())).collect();
    let now = clock.now().timestamp_millis();
    let done: std::result::Result<Vec<(i64, String)>, sqlx::Error> = sqlx::query_as(COMPLETE_MANY)
        .bind(&ids)
        .bind(&fences)
        .bind(&outcomes)
        .bind(now)
        .fetch_all(&pool)
        .await;
    answer(&ids, done, |id| lost_or_missing(&pool, id)).await
}

/// The error for a fenced write that matched no row: the lease is gone, or the job.
pub(super) async fn lost_or_missing(pool: &PgPool, id: i64) -> QueueError {
    match sqlx::query_scalar::<_, i64>("SELECT id FROM postd_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
    {
        Ok(Some(_)) => QueueError::LeaseLost { id },
        Ok(None) => QueueError::NotFound { id },
        Err(e) => QueueError::storage("checking a lost lease", e),
    }
}
