//! claim: lease due jobs and expired leases in one statement per batch,
//! skipping rows other claimers hold.

use sqlx::{PgConnection, Row};

use super::{PostgresJobStore, append_error};
use crate::backoff::after;
use crate::codec::{check_claim, col, decode_claimed, finish_claim, rfc3339};
use crate::error::{QueueError, Result};
use crate::job::{ClaimRequest, ClaimedJob};

/// The history entry for a stall; `$6` is now as RFC 3339 text.
macro_rules! stall_entry {
    () => {
        "jsonb_build_object('attempt', attempts, 'at', $6::text, 'kind', 'stalled', 'message', 'lease held by ' || coalesce(lease_owner, 'an unknown worker') || ' expired')"
    };
}

/// A stalled job on its last attempt goes dead here rather than being
/// handed out for an attempt it does not have. `$1` one queue, `$3` now, `$6` now as text.
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
                updated_at = $3
            WHERE id IN (
                SELECT id FROM postd_jobs
                WHERE state = 'running'
                  AND queue = $1
                  AND lease_expires_at <= $3
                  AND attempts >= max_attempts
                FOR UPDATE SKIP LOCKED)
            RETURNING id"
        )
    };
}

/// Lease the best `$5` jobs of one queue, in one statement: `$1` the queue,
/// `$2` worker, `$3` now, `$4` lease expiry, `$5` limit, `$6` now as text.
///
/// One statement is one round trip and, on its own, one transaction: the
/// claim is the hottest statement a worker sends. Its parts:
/// - `buried`: stalled jobs on their last attempt go dead (disjoint from
///   `stalled`, which takes only jobs with attempts left);
/// - `pending` and `stalled` lock their candidates on their own index
///   ranges, skipping rows another claimer holds; `picked` keeps the best
///   `$5` of both;
/// - `claimed` leases them. SET expressions see the row as it was, so
///   `state = 'running'` there means "this claim is a reclaim".
///
/// The result holds the claimed rows and one row per buried job with only
/// `buried_id` set, in no particular order.
macro_rules! claim_sql {
    () => {
        concat!(
            "WITH buried AS (", bury_sql!(), "
            ), pending AS (
                SELECT id, priority, run_at FROM postd_jobs
                WHERE state = 'pending' AND queue = $1 AND run_at <= $3
                ORDER BY priority DESC, run_at, id
                LIMIT $5
                FOR UPDATE SKIP LOCKED
            ), stalled AS (
                SELECT id, priority, run_at FROM postd_jobs
                WHERE state = 'running' AND queue = $1 AND lease_expires_at <= $3
                  AND attempts < max_attempts
                ORDER BY lease_expires_at
                LIMIT $5
                FOR UPDATE SKIP LOCKED
            ), picked AS (
                SELECT id AS pick_id FROM (
                    SELECT * FROM pending UNION ALL SELECT * FROM stalled
                ) candidates
                ORDER BY priority DESC, run_at, id
                LIMIT $5
            ), claimed AS (
                UPDATE postd_jobs SET
                    stalls = stalls + CASE WHEN state = 'running' THEN 1 ELSE 0 END,
                    reclaimed = (state = 'running'),
                    errors = CASE WHEN state = 'running' THEN ", append_error!(stall_entry!()), " ELSE errors END,
                    last_error = CASE WHEN state = 'running'
                        THEN 'stalled: lease held by ' || coalesce(lease_owner, 'an unknown worker') || ' expired'
                        ELSE last_error END,
                    state = 'running',
                    lease_owner = $2,
                    lease_expires_at = $4,
                    attempts = attempts + 1,
                    fence = fence + 1,
                    updated_at = $3
                FROM picked
                WHERE id = picked.pick_id
                RETURNING id, queue, payload::text AS payload, priority, run_at, attempts, max_attempts,
                    fence, lease_expires_at, progress::text AS progress, stalls, reclaimed,
                    idempotency_key, job_group, created_at
            )
            SELECT claimed.*, NULL::bigint AS buried_id FROM claimed
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                NULL, NULL, NULL, buried.id FROM buried"
        )
    };
}

const CLAIM: &str = claim_sql!();
const EXPLAIN_CLAIM: &str = concat!("EXPLAIN ", claim_sql!());

/// A claimed row that does not decode is buried instead of failing the
/// batch: left running, it would be reclaimed and fail again forever.
const BURY_CORRUPT: &str = "UPDATE postd_jobs SET
        state = 'dead',
        dead_reason = $1,
        last_error = $1,
        lease_owner = NULL,
        lease_expires_at = NULL,
        updated_at = $2
    WHERE id = $3 AND fence = $4";

/// Claims queue by queue, one statement each, every statement its own
/// transaction: one round trip per queue.
///
/// Once a statement has run, its leases are committed, so nothing after it
/// may fail the claim and drop jobs it leased (they would wait out their
/// lease and come back as stalls, an attempt spent): an error on a later
/// queue is logged and the jobs leased so far are returned (the next claim
/// meets the error again); a row that does not decode is buried under its
/// fence, and a burial that fails is logged (the row comes back when its
/// lease expires and is buried then). A connection lost while the answer is
/// read has the same effect as a worker killed after claiming: the leases
/// expire and the jobs are reclaimed.
pub(super) async fn run(
    store: &PostgresJobStore,
    request: &ClaimRequest,
) -> Result<Vec<ClaimedJob>> {
    check_claim(request)?;
    if request.limit == 0 {
        return Ok(Vec::new());
    }
    let now = store.now_ms();
    let now_text = rfc3339(now);
    let mut conn = store
        .pool
        .acquire()
        .await
        .map_err(|e| QueueError::storage("starting a claim", e))?;
    let mut buried: Vec<(i64, &str)> = Vec::new();
    let mut claimed = Vec::new();
    let mut corrupt = Vec::new();
    // Queue by queue, in the order asked: each claim walks one queue's ready
    // index and stops at the limit, however long the backlog.
    for queue in &request.queues {
        let remaining = i64::from(request.limit) - claimed.len() as i64;
        if remaining <= 0 {
            break;
        }
        let rows = match sqlx::query(CLAIM)
            .bind(queue)
            .bind(&request.worker)
            .bind(now)
            .bind(after(now, request.lease))
            .bind(remaining)
            .bind(&now_text)
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => rows,
            Err(e) if claimed.is_empty() && buried.is_empty() => {
                return Err(QueueError::storage("claiming jobs", e));
            }
            Err(e) => {
                tracing::warn!(queue = %queue, error = %e, "claiming from a further queue failed; returning the jobs leased so far");
                break;
            }
        };
        for row in &rows {
            match row.try_get::<Option<i64>, _>("buried_id") {
                Ok(Some(id)) => {
                    buried.push((id, queue.as_str()));
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(queue = %queue, error = %e, "a claimed row has no readable kind; its lease will expire");
                    continue;
                }
            }
            let decoded = decode_claimed(row).and_then(|job| {
                let run_at: i64 = col(row, job.id, "run_at")?;
                Ok((job, run_at))
            });
            match decoded {
                Ok(pair) => claimed.push(pair),
                Err(QueueError::Corrupt { id, field }) => {
                    let fence: Option<i64> = col(row, id, "fence").ok();
                    corrupt.push((id, field, fence));
                }
                Err(other) => {
                    tracing::error!(queue = %queue, error = %other, "a claimed row does not decode; its lease will expire");
                }
            }
        }
    }
    for (id, field, fence) in corrupt {
        bury_corrupt(&mut conn, now, id, field, fence).await;
    }
    Ok(finish_claim(&buried, claimed))
}

/// Moves a claimed row that does not decode to dead, under the fence this
/// claim gave it; never fails the claim (see [`run`]).
async fn bury_corrupt(
    conn: &mut PgConnection,
    now: i64,
    id: i64,
    field: &'static str,
    fence: Option<i64>,
) {
    let Some(fence) = fence else {
        tracing::error!(
            job = id,
            column = field,
            "claimed job does not decode and neither does its fence; its lease will expire"
        );
        return;
    };
    let done = sqlx::query(BURY_CORRUPT)
        .bind(format!("corrupt row: column `{field}` does not decode"))
        .bind(now)
        .bind(id)
        .bind(fence)
        .execute(conn)
        .await;
    match done {
        Ok(r) if r.rows_affected() == 1 => {
            tracing::error!(
                job = id,
                column = field,
                "claimed job does not decode; moved it to dead"
            );
        }
        Ok(_) => {
            tracing::warn!(
                job = id,
                column = field,
                "claimed job does not decode and was taken meanwhile; not buried"
            );
        }
        Err(e) => {
            tracing::error!(job = id, column = field, error = %e, "claimed job does not decode and burying it failed; its lease will expire");
        }
    }
}

pub(super) async fn explain(store: &PostgresJobStore, request: &ClaimRequest) -> Result<String> {
    check_claim(request)?;
    let now = store.now_ms();
    // EXPLAIN without ANALYZE plans the statement and runs nothing.
    let rows: Vec<String> = sqlx::query_scalar(EXPLAIN_CLAIM)
        .bind(request.queues.first().cloned().unwrap_or_default())
        .bind(&request.worker)
        .bind(now)
        .bind(after(now, request.lease))
        .bind(i64::from(request.limit))
        .bind(rfc3339(now))
        .fetch_all(&store.pool)
        .await
        .map_err(|e| QueueError::storage("explaining the claim", e))?;
    Ok(rows.join("\n") + "\n")
}
