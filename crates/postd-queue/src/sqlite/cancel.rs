//! cancel and set_run_at: changes to a job no worker holds.

use chrono::{DateTime, Utc};

use super::SqliteJobStore;
use crate::codec::millis;
use crate::error::{QueueError, Result};

/// Only pending: a running job's worker may be mid-publish, and pulling the
/// job from under it would not stop the post.
const CANCEL: &str = "UPDATE postd_jobs SET state = 'cancelled', updated_at = ?1
    WHERE id = ?2 AND state = 'pending'";

const SET_RUN_AT: &str = "UPDATE postd_jobs SET run_at = ?1, updated_at = ?2
    WHERE id = ?3 AND state = 'pending'";

pub(super) async fn run(store: &SqliteJobStore, id: i64) -> Result<bool> {
    let done = sqlx::query(CANCEL)
        .bind(store.now_ms())
        .bind(id)
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("cancelling a job", e))?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_run_at(
    store: &SqliteJobStore,
    id: i64,
    run_at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(SET_RUN_AT)
        .bind(millis(run_at))
        .bind(store.now_ms())
        .bind(id)
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("moving a job's run_at", e))?;
    let moved = done.rows_affected() == 1;
    if moved {
        store.wake();
    }
    Ok(moved)
}
