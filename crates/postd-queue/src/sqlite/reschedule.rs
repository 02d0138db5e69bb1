//! reschedule: release the lease and wait in the row, not in the worker.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::SqliteJobStore;
use crate::codec::{json_text, millis};
use crate::error::{QueueError, Result};

/// No error is recorded: "still processing" and "rate limited" are not
/// failures. A refund takes back the attempt this claim counted, so a long
/// rate-limit window cannot exhaust the job.
const RESCHEDULE: &str = "UPDATE postd_jobs SET
        state = 'pending',
        run_at = ?1,
        progress = COALESCE(?2, progress),
        attempts = CASE WHEN ?3 THEN max(attempts - 1, 0) ELSE attempts END,
        lease_owner = NULL,
        lease_expires_at = NULL,
        updated_at = ?4
    WHERE id = ?5 AND fence = ?6 AND state = 'running'
    RETURNING queue";

pub(super) async fn run(
    store: &SqliteJobStore,
    id: i64,
    fence: i64,
    run_at: DateTime<Utc>,
    progress: Option<Value>,
    refund_attempt: bool,
) -> Result<()> {
    let queue: Option<String> = sqlx::query_scalar(RESCHEDULE)
        .bind(millis(run_at))
        .bind(json_text(progress.as_ref()))
        .bind(refund_attempt)
        .bind(store.now_ms())
        .bind(id)
        .bind(fence)
        .fetch_optional(&store.writer)
        .await
        .map_err(|e| QueueError::storage("rescheduling a job", e))?;
    match queue {
        Some(_) => {
            store.wake();
            Ok(())
        }
        None => Err(store.lease_lost(id).await),
    }
}
