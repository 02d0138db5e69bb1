//! heartbeat and save_progress: writes under a live lease that keep the job running.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::SqliteJobStore;
use crate::backoff::after;
use crate::error::{QueueError, Result};

/// The fence, not the clock, decides: a worker whose lease ran out but was
/// not yet reclaimed still holds the only claim, so it may renew. Heartbeats
/// leave `updated_at` alone; they are not changes anyone inspects.
const HEARTBEAT: &str = "UPDATE postd_jobs SET lease_expires_at = ?1
    WHERE id = ?2 AND fence = ?3 AND state = 'running'
    RETURNING lease_expires_at";

const SAVE_PROGRESS: &str = "UPDATE postd_jobs SET progress = ?1, updated_at = ?2
    WHERE id = ?3 AND fence = ?4 AND state = 'running'";

pub(super) async fn run(
    store: &SqliteJobStore,
    id: i64,
    fence: i64,
    extend: Duration,
) -> Result<DateTime<Utc>> {
    let expires = after(store.now_ms(), extend);
    let renewed: Option<i64> = sqlx::query_scalar(HEARTBEAT)
        .bind(expires)
        .bind(id)
        .bind(fence)
        .fetch_optional(&store.writer)
        .await
        .map_err(|e| QueueError::storage("renewing a lease", e))?;
    match renewed {
        Some(ms) => DateTime::from_timestamp_millis(ms).ok_or(QueueError::Corrupt {
            id,
            field: "lease_expires_at",
        }),
        None => Err(store.lease_lost(id).await),
    }
}

pub(super) async fn save_progress(
    store: &SqliteJobStore,
    id: i64,
    fence: i64,
    progress: Value,
) -> Result<()> {
    let done = sqlx::query(SAVE_PROGRESS)
        .bind(progress.to_string())
        .bind(store.now_ms())
        .bind(id)
        .bind(fence)
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("saving progress", e))?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(store.lease_lost(id).await)
    }
}
