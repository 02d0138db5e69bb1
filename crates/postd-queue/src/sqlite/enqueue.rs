//! enqueue: insert, or find the job already holding the idempotency key.

use super::SqliteJobStore;
use crate::codec::{check_new, millis};
use crate::error::{QueueError, Result};
use crate::job::{Enqueued, NewJob};

/// A repeated key inserts nothing and returns no row; the partial unique
/// index is the conflict target, so keyless jobs never conflict.
const INSERT: &str = "INSERT INTO postd_jobs
        (queue, payload, priority, run_at, state, max_attempts, idempotency_key, job_group,
            created_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?8, ?7, ?7)
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id";

const EXISTING: &str = "SELECT id FROM postd_jobs WHERE queue = ?1 AND idempotency_key = ?2";

pub(super) async fn run(store: &SqliteJobStore, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
    for job in &jobs {
        check_new(job)?;
    }
    let now = store.now_ms();
    // One write transaction for the batch: all or none, and the duplicate
    // lookup sees exactly the row that blocked the insert.
    let mut tx = store
        .writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| QueueError::storage("starting an enqueue", e))?;
    let mut done = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let inserted: Option<i64> = sqlx::query_scalar(INSERT)
            .bind(&job.queue)
            .bind(job.payload.to_string())
            .bind(job.priority)
            .bind(job.run_at.map_or(now, millis))
            .bind(i64::from(job.max_attempts))
            .bind(job.idempotency_key.as_deref())
            .bind(now)
            .bind(job.group.as_deref())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| QueueError::storage("inserting a job", e))?;
        let result = match inserted {
            Some(id) => Enqueued {
                id,
                duplicate: false,
            },
            None => {
                let id: i64 = sqlx::query_scalar(EXISTING)
                    .bind(&job.queue)
                    .bind(job.idempotency_key.as_deref())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| QueueError::storage("finding the job holding a key", e))?;
                Enqueued {
                    id,
                    duplicate: true,
                }
            }
        };
        done.push(result);
    }
    tx.commit()
        .await
        .map_err(|e| QueueError::storage("committing an enqueue", e))?;
    for (job, result) in jobs.iter().zip(&done) {
        if !result.duplicate {
            metrics::counter!("postd_queue_enqueued_total", "queue" => job.queue.clone())
                .increment(1);
        }
    }
    if done.iter().any(|r| !r.duplicate) {
        store.wake();
    }
    Ok(done)
}
