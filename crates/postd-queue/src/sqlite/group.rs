//! list_group and cancel_group: every delivery of one post, seen and withdrawn together.

use super::SqliteJobStore;
use crate::codec::decode_job;
use crate::error::{QueueError, Result};
use crate::job::Job;

/// A seek on `postd_jobs_group`; `id` is the rowid every SQLite index
/// carries, so the order comes from the index.
const LIST: &str = "SELECT * FROM postd_jobs WHERE job_group = ?1 ORDER BY id";

/// Only pending, as `cancel`: a running job's worker may be mid-publish.
const CANCEL: &str = "UPDATE postd_jobs SET state = 'cancelled', updated_at = ?1
    WHERE job_group = ?2 AND state = 'pending'";

pub(super) async fn list(store: &SqliteJobStore, group: &str) -> Result<Vec<Job>> {
    let rows = sqlx::query(LIST)
        .bind(group)
        .fetch_all(&store.pool)
        .await
        .map_err(|e| QueueError::storage("listing a group's jobs", e))?;
    rows.iter().map(decode_job).collect()
}

pub(super) async fn cancel(store: &SqliteJobStore, group: &str) -> Result<u64> {
    let done = sqlx::query(CANCEL)
        .bind(store.now_ms())
        .bind(group)
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("cancelling a group's jobs", e))?;
    Ok(done.rows_affected())
}
