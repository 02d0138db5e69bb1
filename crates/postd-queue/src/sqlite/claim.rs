//! claim: lease due jobs and expired leases in one statement per batch.

use super::{SqliteJobStore, append_error};
use crate::backoff::after;
use crate::codec::{check_claim, col, decode_claimed, finish_claim, rfc3339};
use crate::error::{QueueError, Result};
use crate::job::{ClaimRequest, ClaimedJob};

/// The history entry for a stall; `?6` is now as RFC 3339 text.
macro_rules! stall_entry {
    () => {
        "json_object('attempt', attempts, 'at', ?6, 'kind', 'stalled', 'message', 'lease held by ' || coalesce(lease_owner, 'an unknown worker') || ' expired')"
    };
}

/// A stalled job on its last attempt goes dead here rather than being
/// handed out for an attempt it does not have. Parameters as in `CLAIM`
/// (bound alike; this one uses `?1`, `?3` and `?6`).
macro_rules! bury_sql {
    () => {
        concat!(
            "UPDATE postd_jobs SET
                state = 'dead',
                dead_reason = 'lease held by ' || coalesce(lease_owner, 'an unknown worker') || ' expired on the last attempt (' || attempts || ' of ' || max_attempts || ')',
                last_error = 'stalled: lease held by ' || coalesce(lease_owner, 'an unknown worker') || ' expired',
                errors = ", append_error!(stall_entry!()), ",
                stalls = stalls + 1,
                lease_owner = NULL,
                lease_expires_at = NULL,
                updated_at = ?3
            WHERE state = 'running'
              AND queue = ?1
              AND lease_expires_at <= ?3
              AND attempts >= max_attempts
            RETURNING id, queue"
        )
    };
}

/// `?1` one queue (a claim over several runs this per queue, in order, so
/// each is a walk of the queue's ready index that stops at the limit), `?2` worker, `?3` now, `?4` lease expiry,
/// `?5` limit, `?6` now as RFC 3339 text.
///
/// SET expressions see the row as it was, so `state = 'running'` there
/// means "this claim is a reclaim". Each arm is limited on its own index
/// range before the two are merged and limited again.
macro_rules! claim_sql {
    () => {
        concat!(
            "UPDATE postd_jobs SET
                stalls = stalls + (state = 'running'),
                reclaimed = (state = 'running'),
                errors = CASE WHEN state = 'running' THEN ", append_error!(stall_entry!()), " ELSE errors END,
                last_error = CASE WHEN state = 'running'
                    THEN 'stalled: lease held by ' || coalesce(lease_owner, 'an unknown worker') || ' expired'
                    ELSE last_error END,
                state = 'running',
                lease_owner = ?2,
                lease_expires_at = ?4,
                attempts = attempts + 1,
                fence = fence + 1,
                updated_at = ?3
            WHERE id IN (
                SELECT id FROM (
                    SELECT id, priority, run_at FROM (
                        SELECT id, priority, run_at FROM postd_jobs INDEXED BY postd_jobs_ready
                        WHERE state = 'pending'
                          AND queue = ?1
                          AND run_at <= ?3
                        ORDER BY priority DESC, run_at, id
                        LIMIT ?5)
                    UNION ALL
                    SELECT id, priority, run_at FROM (
                        SELECT id, priority, run_at FROM postd_jobs
                        WHERE state = 'running'
                          AND queue = ?1
                          AND lease_expires_at <= ?3
                          AND attempts < max_attempts
                        ORDER BY lease_expires_at
                        LIMIT ?5)
                )
                ORDER BY priority DESC, run_at, id
                LIMIT ?5
            )
            RETURNING id, queue, payload, priority, run_at, attempts, max_attempts, fence,
                lease_expires_at, progress, stalls, reclaimed, idempotency_key, job_group, created_at"
        )
    };
}

const BURY: &str = bury_sql!();
const CLAIM: &str = claim_sql!();
const EXPLAIN_BURY: &str = concat!("EXPLAIN QUERY PLAN ", bury_sql!());
const EXPLAIN_CLAIM: &str = concat!("EXPLAIN QUERY PLAN ", claim_sql!());

/// A claimed row that does not decode is buried instead of failing the
/// batch: left running, it would be reclaimed and fail again forever.
const BURY_CORRUPT: &str = "UPDATE postd_jobs SET
        state = 'dead',
        dead_reason = ?1,
        last_error = ?1,
        lease_owner = NULL,
        lease_expires_at = NULL,
        updated_at = ?2
    WHERE id = ?3";

pub(super) async fn run(store: &SqliteJobStore, request: &ClaimRequest) -> Result<Vec<ClaimedJob>> {
    check_claim(request)?;
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let now = store.now_ms();
    let expires = after(now, request.lease);
    let now_text = rfc3339(now);

    let mut tx = store
        .writer
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| QueueError::storage("starting a claim", e))?;
    let mut buried: Vec<(i64, String)> = Vec::new();
    let mut rows = Vec::new();
    // Queue by queue, in the order asked: each claim walks one queue's ready
    // index and stops at the limit, however long the backlog.
    for queue in &request.queues {
        let remaining = i64::from(request.limit) - rows.len() as i64;
        if remaining <= 0 {
            break;
        }
        let dead: Vec<(i64, String)> = sqlx::query_as(BURY)
            .bind(queue)
            .bind(&request.worker)
            .bind(now)
            .bind(expires)
            .bind(remaining)
            .bind(&now_text)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| QueueError::storage("burying jobs stalled on their last attempt", e))?;
        buried.extend(dead);
        let got = sqlx::query(CLAIM)
            .bind(queue)
            .bind(&request.worker)
            .bind(now)
            .bind(expires)
            .bind(remaining)
            .bind(&now_text)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| QueueError::storage("claiming jobs", e))?;
        rows.extend(got);
    }

    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        let decoded = decode_claimed(row).and_then(|job| {
            let run_at: i64 = col(row, job.id, "run_at")?;
            Ok((job, run_at))
        });
        match decoded {
            Ok(pair) => claimed.push(pair),
            Err(QueueError::Corrupt { id, field }) => {
                tracing::error!(
                    job = id,
                    column = field,
                    "claimed job does not decode; moving it to dead"
                );
                sqlx::query(BURY_CORRUPT)
                    .bind(format!("corrupt row: column `{field}` does not decode"))
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| QueueError::storage("burying a corrupt job", e))?;
            }
            Err(other) => return Err(other),
        }
    }
    tx.commit()
        .await
        .map_err(|e| QueueError::storage("committing a claim", e))?;

    Ok(finish_claim(&buried, claimed))
}

pub(super) async fn explain(store: &SqliteJobStore, request: &ClaimRequest) -> Result<String> {
    check_claim(request)?;
    let now = store.now_ms();
    let mut plan = String::new();
    for (name, sql) in [("bury", EXPLAIN_BURY), ("claim", EXPLAIN_CLAIM)] {
        let queue = request.queues.first().cloned().unwrap_or_default();
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sql)
            .bind(queue)
            .bind(&request.worker)
            .bind(now)
            .bind(after(now, request.lease))
            .bind(i64::from(request.limit))
            .bind(rfc3339(now))
            .fetch_all(&store.pool)
            .await
            .map_err(|e| QueueError::storage("explaining the claim", e))?;
        plan.push_str(name);
        plan.push_str(":\n");
        for (_, _, _, detail) in rows {
            plan.push_str("  ");
            plan.push_str(&detail);
            plan.push('\n');
        }
    }
    Ok(plan)
}
