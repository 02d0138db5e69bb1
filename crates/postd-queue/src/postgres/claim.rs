//! claim: lease due jobs and expired leases in one statement per batch,
//! skipping rows other claimers hold.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres, Row, Transaction};

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
/// The result is the claimed rows, then one row per buried job with only
/// `buried_id` set.
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

/// Where a claim runs: a claim of one queue is one statement and needs no
/// transaction of its own; a claim over several queues runs theirs in one
/// transaction, so a failure part way leases nothing.
enum Conn {
    Plain(PoolConnection<Postgres>),
    Tx(Transaction<'static, Postgres>),
}

impl Conn {
    fn get(&mut self) -> &mut PgConnection {
        match self {
            Conn::Plain(c) => c,
            Conn::Tx(t) => t,
        }
    }
}

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
    let mut conn = if request.queues.len() > 1 {
        Conn::Tx(
            store
                .pool
                .begin()
                .await
                .map_err(|e| QueueError::storage("starting a claim", e))?,
        )
    } else {
        Conn::Plain(
            store
                .pool
                .acquire()
                .await
                .map_err(|e| QueueError::storage("starting a claim", e))?,
        )
    };
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
        let rows = sqlx::query(CLAIM)
            .bind(queue)
            .bind(&request.worker)
            .bind(now)
            .bind(after(now, request.lease))
            .bind(remaining)
            .bind(&now_text)
            .fetch_all(conn.get())
            .await
            .map_err(|e| QueueError::storage("claiming jobs", e))?;
        for row in &rows {
            if let Some(id) = row
                .try_get::<Option<i64>, _>("buried_id")
                .map_err(|e| QueueError::storage("reading a claim", e))?
            {
                buried.push((id, queue.as_str()));
                continue;
            }
            let decoded = decode_claimed(row).and_then(|job| {
                let run_at: i64 = col(row, job.id, "run_at")?;
                Ok((job, run_at))
            });
            match decoded {
                Ok(pair) => claimed.push(pair),
                Err(QueueError::Corrupt { id, field }) => {
                    let fence: i64 = col(row, id, "fence").unwrap_or(-1);
                    corrupt.push((id, field, fence));
                }
                Err(other) => return Err(other),
            }
        }
    }
    for (id, field, fence) in corrupt {
        tracing::error!(
            job = id,
            column = field,
            "claimed job does not decode; moving it to dead"
        );
        sqlx::query(BURY_CORRUPT)
            .bind(format!("corrupt row: column `{field}` does not decode"))
            .bind(now)
            .bind(id)
            .bind(fence)
            .execute(conn.get())
            .await
            .map_err(|e| QueueError::storage("burying a corrupt job", e))?;
    }
    if let Conn::Tx(tx) = conn {
        tx.commit()
            .await
            .map_err(|e| QueueError::storage("committing a claim", e))?;
    }

    Ok(finish_claim(&buried, claimed))
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
