//! stats: per-state counts for one queue, from the indexes alone.

use std::time::Duration;

use super::PostgresJobStore;
use crate::error::{QueueError, Result};
use crate::job::QueueStats;

/// One seek per state, each on the index that holds that state's rows.
/// Oldest pending first: its lag counts only if it is due.
const COUNTS: &str = "SELECT
        (SELECT COUNT(*) FROM postd_jobs WHERE state = 'pending' AND queue = $1),
        (SELECT COUNT(*) FROM postd_jobs WHERE state = 'pending' AND queue = $1 AND run_at <= $2),
        (SELECT MIN(run_at) FROM postd_jobs WHERE state = 'pending' AND queue = $1),
        (SELECT COUNT(*) FROM postd_jobs WHERE state = 'running' AND queue = $1),
        (SELECT COUNT(*) FROM postd_jobs WHERE queue = $1
            AND state IN ('completed', 'dead', 'cancelled') AND state = 'completed'),
        (SELECT COUNT(*) FROM postd_jobs WHERE queue = $1
            AND state IN ('completed', 'dead', 'cancelled') AND state = 'dead'),
        (SELECT COUNT(*) FROM postd_jobs WHERE queue = $1
            AND state IN ('completed', 'dead', 'cancelled') AND state = 'cancelled')";

pub(super) async fn run(store: &PostgresJobStore, queue: &str) -> Result<QueueStats> {
    let now = store.now_ms();
    let row: (i64, i64, Option<i64>, i64, i64, i64, i64) = sqlx::query_as(COUNTS)
        .bind(queue)
        .bind(now)
        .fetch_one(&store.pool)
        .await
        .map_err(|e| QueueError::storage("counting jobs", e))?;
    let (pending, due, oldest, running, completed, dead, cancelled) = row;
    let n = |c: i64| u64::try_from(c).unwrap_or(0);
    Ok(QueueStats {
        pending: n(pending),
        due: n(due),
        running: n(running),
        completed: n(completed),
        dead: n(dead),
        cancelled: n(cancelled),
        oldest_due_lag: oldest
            .filter(|at| *at <= now)
            .map(|at| Duration::from_millis(u64::try_from(now - at).unwrap_or(0))),
    })
}
