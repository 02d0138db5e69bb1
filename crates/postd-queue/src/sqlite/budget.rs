//! take_budget and give_back_budget: a fixed-window counter per key.

use std::time::Duration;

use super::SqliteJobStore;
use crate::codec::{budget_window, check_key, exhausted, granted};
use crate::error::{QueueError, Result};
use crate::job::Budget;

/// `?1` key, `?2` window length (ms), `?3` current window start, `?4` limit.
///
/// One statement, so SQLite's write lock makes check and increment one
/// step: a first take inserts the counter at 1; a take in a later window
/// restarts it at 1; a take in the counted window adds 1 only while fewer
/// than the limit are used. When the `WHERE` refuses, nothing is written
/// and nothing is returned: exhausted. A counter already in a later window
/// (a host whose clock runs ahead) is counted against, never moved back.
const TAKE: &str = "INSERT INTO postd_jobs_budgets (budget_key, window_ms, window_start, used)
    VALUES (?1, ?2, ?3, 1)
    ON CONFLICT (budget_key, window_ms) DO UPDATE SET
        used = CASE WHEN postd_jobs_budgets.window_start < excluded.window_start THEN 1
            ELSE postd_jobs_budgets.used + 1 END,
        window_start = max(postd_jobs_budgets.window_start, excluded.window_start)
    WHERE postd_jobs_budgets.window_start < excluded.window_start
        OR postd_jobs_budgets.used < ?4
    RETURNING used";

/// Only the counted window, never below zero: a unit from an earlier
/// window is not carried into this one.
const GIVE_BACK: &str = "UPDATE postd_jobs_budgets SET used = used - 1
    WHERE budget_key = ?1 AND window_ms = ?2 AND window_start >= ?3 AND used > 0";

pub(super) async fn take(
    store: &SqliteJobStore,
    key: &str,
    limit: u32,
    window: Duration,
) -> Result<Budget> {
    check_key("budget", key)?;
    let current = budget_window(window, store.now_ms())?;
    if limit == 0 {
        return Ok(exhausted(&current));
    }
    let used: Option<i64> = sqlx::query_scalar(TAKE)
        .bind(key)
        .bind(current.length_ms)
        .bind(current.start_ms)
        .bind(i64::from(limit))
        .fetch_optional(&store.writer)
        .await
        .map_err(|e| QueueError::storage("taking from a budget", e))?;
    Ok(match used {
        Some(used) => granted(limit, used),
        None => exhausted(&current),
    })
}

pub(super) async fn give_back(store: &SqliteJobStore, key: &str, window: Duration) -> Result<()> {
    check_key("budget", key)?;
    let current = budget_window(window, store.now_ms())?;
    sqlx::query(GIVE_BACK)
        .bind(key)
        .bind(current.length_ms)
        .bind(current.start_ms)
        .execute(&store.writer)
        .await
        .map_err(|e| QueueError::storage("giving back to a budget", e))?;
    Ok(())
}
