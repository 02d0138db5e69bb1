//! fail: record the attempt's error and retry or bury, in the statement
//! that releases the lease.

use super::{SqliteJobStore, append_error};
use crate::codec::plan_failure;
use crate::error::{QueueError, Result};
use crate::job::{FailOutcome, Failure};

/// Under a fence, `attempts` only changes with a new claim (which moves the
/// fence) or a refunding reschedule (which ends `running`); so the count read
/// here is the one the update sees, and `attempts = ?` re-checks it anyway.
const ATTEMPTS: &str = "SELECT attempts, max_attempts FROM postd_jobs WHERE id = ?1 AND fence = ?2 AND state = 'running'";

/// State, run_at and reason are decided in Rust (the backoff draw is the
/// store's) and bound; history, lease and state change together or not at all.
const FAIL: &str = concat!(
    "UPDATE postd_jobs SET
        state = ?1,
        run_at = COALESCE(?2, run_at),
        dead_reason = ?3,
        last_error = ?4,
        errors = ",
    append_error!("json(?5)"),
    ",
        lease_owner = NULL,
        lease_expires_at = NULL,
        updated_at = ?6
    WHERE id = ?7 AND fence = ?8 AND state = 'running' AND attempts = ?9
    RETURNING queue"
);

pub(super) async fn run(
    store: &SqliteJobStore,
    id: i64,
    fence: i64,
    failure: Failure,
) -> Result<FailOutcome> {
    let counts: Option<(i64, i64)> = sqlx::query_as(ATTEMPTS)
        .bind(id)
        .bind(fence)
        .fetch_optional(&store.pool)
        .await
        .map_err(|e| QueueError::storage("reading a job's attempts", e))?;
    let Some((attempts, max_attempts)) = counts else {
        return Err(store.lease_lost(id).await);
    };
    let attempts_u32 = u32::try_from(attempts).map_err(|_| QueueError::Corrupt {
        id,
        field: "attempts",
    })?;
    let max_u32 = u32::try_from(max_attempts).map_err(|_| QueueError::Corrupt {
        id,
        field: "max_attempts",
    })?;
    let now = store.now_ms();
    let plan = plan_failure(attempts_u32, max_u32, &failure, &store.backoff, now);
    let queue: Option<String> = sqlx::query_scalar(FAIL)
        .bind(plan.state().as_str())
        .bind(plan.run_at)
        .bind(plan.dead_reason())
        .bind(&plan.message)
        .bind(&plan.entry)
        .bind(now)
        .bind(id)
        .bind(fence)
        .bind(attempts)
        .fetch_optional(&store.writer)
        .await
        .map_err(|e| QueueError::storage("recording a failed attempt", e))?;
    let Some(queue) = queue else {
        return Err(store.lease_lost(id).await);
    };
    match &plan.outcome {
        FailOutcome::Retrying { .. } => {
            metrics::counter!("postd_queue_retried_total", "queue" => queue).increment(1);
            store.wake();
        }
        FailOutcome::Dead { reason } => {
            tracing::warn!(job = id, queue = %queue, reason = %reason, "job is dead");
            metrics::counter!("postd_queue_dead_total", "queue" => queue).increment(1);
        }
    }
    Ok(plan.outcome)
}
