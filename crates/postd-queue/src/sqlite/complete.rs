//! complete: the fenced, single-statement end of a successful job.

use serde_json::Value;

use super::SqliteJobStore;
use crate::codec::json_text;
use crate::error::{QueueError, Result};

const COMPLETE: &str = "UPDATE postd_jobs SET
        state = 'completed',
        outcome = ?1,
        completed_at = ?2,
        updated_at = ?2,
        lease_owner = NULL,
        lease_expires_at = NULL
    WHERE id = ?3 AND fence = ?4 AND state = 'running'
    RETURNING queue";

pub(super) async fn run(
    store: &SqliteJobStore,
    id: i64,
    fence: i64,
    outcome: Option<Value>,
) -> Result<()> {
    let queue: Option<String> = sqlx::query_scalar(COMPLETE)
        .bind(json_text(outcome.as_ref()))
        .bind(store.now_ms())
        .bind(id)
        .bind(fence)
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| QueueError::storage("completing a job", e))?;
    match queue {
        Some(queue) => {
            metrics::counter!("postd_queue_completed_total", "queue" => queue).increment(1);
            Ok(())
        }
        None => Err(store.lease_lost(id).await),
    }
}
