//! set_hold and hold_until: a key under which no work should run until a time.

use chrono::{DateTime, Utc};

use super::SqliteJobStore;
use crate::codec::{check_key, hold_time, millis};
use crate::error::{QueueError, Result};

/// One statement: the later `until` wins whether the row is new or not,
/// so two processes extending one hold at once cannot shrink it.
const SET: &str = "INSERT INTO postd_jobs_holds (hold_key, hold_until, updated_at)
    VALUES (?1, ?2, ?3)
    ON CONFLICT (hold_key) DO UPDATE SET
        hold_until = max(postd_jobs_holds.hold_until, excluded.hold_until),
        updated_at = excluded.updated_at";

/// A hold is over at its `until`.
const GET: &str = "SELECT hold_until FROM postd_jobs_holds WHERE hold_key = ?1 AND hold_until > ?2";

pub(super) async fn set(store: &SqliteJobStore, key: &str, until: DateTime<Utc>) -> Result<()> {
    check_key("hold", key)?;
    sqlx::query(SET)
        .bind(key)
        .bind(millis(until))
        .bind(store.now_ms())
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("setting a hold", e))?;
    Ok(())
}

pub(super) async fn until(store: &SqliteJobStore, key: &str) -> Result<Option<DateTime<Utc>>> {
    let until: Option<i64> = sqlx::query_scalar(GET)
        .bind(key)
        .bind(store.now_ms())
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| QueueError::storage("reading a hold", e))?;
    Ok(until.map(hold_time))
}
