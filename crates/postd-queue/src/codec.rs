//! Row decoding and the decisions shared by both SQL dialects.
//!
//! Both backends store times as integer milliseconds since the epoch and hand
//! JSON columns over as text (Postgres selects `jsonb::text`), so one decoder
//! serves both, and a row that does not decode names its job and column
//! instead of panicking or passing for a storage outage.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::backoff::{Backoff, MAX_DELAY, after};
use crate::error::{QueueError, Result};
use crate::job::{ClaimedJob, Disposition, ErrorRecord, Failure, Job, JobState};

/// Reads one column, mapping any failure to `Corrupt` for this job and column.
pub(crate) fn col<'r, R, T>(row: &'r R, id: i64, field: &'static str) -> Result<T>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    T: Decode<'r, R::Database> + Type<R::Database>,
{
    row.try_get(field)
        .map_err(|_| QueueError::Corrupt { id, field })
}

fn time(id: i64, field: &'static str, ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or(QueueError::Corrupt { id, field })
}

fn opt_time(id: i64, field: &'static str, ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    ms.map(|ms| time(id, field, ms)).transpose()
}

fn count(id: i64, field: &'static str, n: i64) -> Result<u32> {
    u32::try_from(n).map_err(|_| QueueError::Corrupt { id, field })
}

fn json(id: i64, field: &'static str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|_| QueueError::Corrupt { id, field })
}

fn opt_json(id: i64, field: &'static str, text: Option<String>) -> Result<Option<Value>> {
    text.map(|t| json(id, field, &t)).transpose()
}

/// Decodes a full job row (every column of `postd_jobs`).
pub(crate) fn decode_job<'r, R>(row: &'r R) -> Result<Job>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: i64 = col(row, 0, "id")?;
    let state: String = col(row, id, "state")?;
    let errors: String = col(row, id, "errors")?;
    let priority: i64 = col(row, id, "priority")?;
    Ok(Job {
        id,
        queue: col(row, id, "queue")?,
        payload: json(id, "payload", &col::<_, String>(row, id, "payload")?)?,
        priority: i32::try_from(priority).map_err(|_| QueueError::Corrupt {
            id,
            field: "priority",
        })?,
        run_at: time(id, "run_at", col(row, id, "run_at")?)?,
        state: state
            .parse()
            .map_err(|_| QueueError::Corrupt { id, field: "state" })?,
        attempts: count(id, "attempts", col(row, id, "attempts")?)?,
        max_attempts: count(id, "max_attempts", col(row, id, "max_attempts")?)?,
        lease_owner: col(row, id, "lease_owner")?,
        lease_expires_at: opt_time(id, "lease_expires_at", col(row, id, "lease_expires_at")?)?,
        fence: col(row, id, "fence")?,
        stalls: count(id, "stalls", col(row, id, "stalls")?)?,
        reclaimed: col(row, id, "reclaimed")?,
        last_error: col(row, id, "last_error")?,
        errors: serde_json::from_str(&errors).map_err(|_| QueueError::Corrupt {
            id,
            field: "errors",
        })?,
        idempotency_key: col(row, id, "idempotency_key")?,
        group: col(row, id, "job_group")?,
        outcome: opt_json(id, "outcome", col(row, id, "outcome")?)?,
        progress: opt_json(id, "progress", col(row, id, "progress")?)?,
        created_at: time(id, "created_at", col(row, id, "created_at")?)?,
        updated_at: time(id, "updated_at", col(row, id, "updated_at")?)?,
        completed_at: opt_time(id, "completed_at", col(row, id, "completed_at")?)?,
        dead_reason: col(row, id, "dead_reason")?,
    })
}

/// Decodes the columns a claim returns (no error history: a corrupt
/// history must not stop a job from running).
pub(crate) fn decode_claimed<'r, R>(row: &'r R) -> Result<ClaimedJob>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: i64 = col(row, 0, "id")?;
    let priority: i64 = col(row, id, "priority")?;
    Ok(ClaimedJob {
        id,
        queue: col(row, id, "queue")?,
        payload: json(id, "payload", &col::<_, String>(row, id, "payload")?)?,
        priority: i32::try_from(priority).map_err(|_| QueueError::Corrupt {
            id,
            field: "priority",
        })?,
        attempt: count(id, "attempts", col(row, id, "attempts")?)?,
        max_attempts: count(id, "max_attempts", col(row, id, "max_attempts")?)?,
        fence: col(row, id, "fence")?,
        lease_expires_at: time(id, "lease_expires_at", col(row, id, "lease_expires_at")?)?,
        progress: opt_json(id, "progress", col(row, id, "progress")?)?,
        stalls: count(id, "stalls", col(row, id, "stalls")?)?,
        reclaimed: col(row, id, "reclaimed")?,
        idempotency_key: col(row, id, "idempotency_key")?,
        group: col(row, id, "job_group")?,
        created_at: time(id, "created_at", col(row, id, "created_at")?)?,
    })
}

/// The instant as stored in error-history entries.
pub(crate) fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds, as stored.
pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Encodes optional JSON for a text parameter.
pub(crate) fn json_text(v: Option<&Value>) -> Option<String> {
    // Serializing a `Value` cannot fail: its map keys are strings.
    v.map(Value::to_string)
}

/// The end of every backend's claim: logs and counts the jobs buried on
/// their last attempt, puts the claimed jobs in claim order (priority, then
/// due time, then id: a claim over several queues merges them) and counts
/// them, reclaims separately.
pub(crate) fn finish_claim<Q: AsRef<str>>(
    buried: &[(i64, Q)],
    mut claimed: Vec<(ClaimedJob, i64)>,
) -> Vec<ClaimedJob> {
    for (id, queue) in buried {
        let queue = queue.as_ref();
        tracing::warn!(job = id, queue = %queue, "lease expired on the last attempt; job is dead");
        metrics::counter!("postd_queue_dead_total", "queue" => queue.to_owned()).increment(1);
    }
    claimed.sort_by(|(a, a_run), (b, b_run)| {
        b.priority
            .cmp(&a.priority)
            .then(a_run.cmp(b_run))
            .then(a.id.cmp(&b.id))
    });
    let claimed: Vec<ClaimedJob> = claimed.into_iter().map(|(job, _)| job).collect();
    for job in &claimed {
        metrics::counter!("postd_queue_claimed_total", "queue" => job.queue.clone()).increment(1);
        if job.reclaimed {
            tracing::warn!(job = job.id, queue = %job.queue, stalls = job.stalls, "reclaimed a job whose lease expired");
            metrics::counter!("postd_queue_stalls_total", "queue" => job.queue.clone())
                .increment(1);
        }
    }
    claimed
}

/// Checks a claim request before it reaches SQL.
pub(crate) fn check_claim(request: &crate::ClaimRequest) -> Result<()> {
    if request.queues.is_empty() {
        return Err(QueueError::Config(
            "a claim needs at least one queue".into(),
        ));
    }
    if request.worker.is_empty() {
        return Err(QueueError::Config("a claim needs a worker id".into()));
    }
    if request.lease.is_zero() {
        return Err(QueueError::Config(
            "a claim needs a lease longer than zero".into(),
        ));
    }
    Ok(())
}

/// Checks a new job before it reaches SQL.
pub(crate) fn check_new(job: &crate::NewJob) -> Result<()> {
    if job.queue.is_empty() {
        return Err(QueueError::Config("a job needs a queue name".into()));
    }
    if job.max_attempts == 0 {
        return Err(QueueError::Config(
            "a job needs at least one attempt".into(),
        ));
    }
    if job.idempotency_key.as_deref() == Some("") {
        return Err(QueueError::Config(
            "an idempotency key cannot be empty".into(),
        ));
    }
    if job.group.as_deref() == Some("") {
        return Err(QueueError::Config("a group name cannot be empty".into()));
    }
    Ok(())
}

/// Checks a hold or budget key before it reaches SQL.
pub(crate) fn check_key(what: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(QueueError::Config(format!("a {what} needs a key")));
    }
    Ok(())
}

/// A stored hold's `until` as a time. Only one past the year 262143
/// (written by hand: the store writes `DateTime`s) fails to convert, and it
/// reads as held for ever rather than as no hold.
pub(crate) fn hold_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A budget's fixed window around `now_ms`: windows are aligned to
/// multiples of their length since the Unix epoch, so a 24-hour window
/// starts at UTC midnight and every host computes the same boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetWindow {
    /// The window's length in milliseconds (part of the counter's key).
    pub(crate) length_ms: i64,
    /// When the current window started.
    pub(crate) start_ms: i64,
    /// When the next window starts.
    pub(crate) next_ms: i64,
}

/// Checks `window` and places `now_ms` in it.
pub(crate) fn budget_window(window: std::time::Duration, now_ms: i64) -> Result<BudgetWindow> {
    if window < std::time::Duration::from_millis(1) {
        return Err(QueueError::Config(
            "a budget window must be at least one millisecond".into(),
        ));
    }
    if window > crate::job::MAX_BUDGET_WINDOW {
        return Err(QueueError::Config(format!(
            "a budget window of {window:?} is longer than the most allowed, {:?}",
            crate::job::MAX_BUDGET_WINDOW
        )));
    }
    // At most MAX_BUDGET_WINDOW (checked above), so this always fits.
    let length_ms = i64::try_from(window.as_millis())
        .map_err(|_| QueueError::Config("a budget window does not fit in milliseconds".into()))?;
    let start_ms = now_ms - now_ms.rem_euclid(length_ms);
    Ok(BudgetWindow {
        length_ms,
        start_ms,
        next_ms: start_ms.saturating_add(length_ms),
    })
}

/// The answer for a take that found the window full.
pub(crate) fn exhausted(window: &BudgetWindow) -> crate::job::Budget {
    crate::job::Budget::Exhausted {
        retry_at: DateTime::from_timestamp_millis(window.next_ms).unwrap_or_default(),
    }
}

/// The answer for a take that left `used` units of `limit` taken.
pub(crate) fn granted(limit: u32, used: i64) -> crate::job::Budget {
    // The statement only grants while `used < limit`, so `used` fits; a
    // count beyond u32 could only mean nothing is left.
    let used = u32::try_from(used).unwrap_or(u32::MAX);
    crate::job::Budget::Granted {
        remaining: limit.saturating_sub(used),
    }
}

/// What a failed attempt turns into, decided before the releasing statement
/// so the statement binds plain values and the draw is the store's, not the database's.
#[derive(Debug)]
pub(crate) struct FailPlan {
    pub(crate) outcome: crate::FailOutcome,
    /// `run_at` to store (retry only).
    pub(crate) run_at: Option<i64>,
    /// The history entry, as JSON text.
    pub(crate) entry: String,
    /// `last_error`.
    pub(crate) message: String,
}

impl FailPlan {
    pub(crate) fn state(&self) -> JobState {
        match self.outcome {
            crate::FailOutcome::Retrying { .. } => JobState::Pending,
            crate::FailOutcome::Dead { .. } => JobState::Dead,
        }
    }

    pub(crate) fn dead_reason(&self) -> Option<&str> {
        match &self.outcome {
            crate::FailOutcome::Retrying { .. } => None,
            crate::FailOutcome::Dead { reason } => Some(reason),
        }
    }
}

/// Decides retry or dead for attempt number `attempts` of `max_attempts`.
pub(crate) fn plan_failure(
    attempts: u32,
    max_attempts: u32,
    failure: &Failure,
    backoff: &Backoff,
    now_ms: i64,
) -> FailPlan {
    let e = &failure.error;
    let message = format!("{}: {}", e.kind, e.message);
    let entry = ErrorRecord {
        attempt: attempts,
        at: DateTime::from_timestamp_millis(now_ms).unwrap_or_default(),
        kind: e.kind.clone(),
        message: e.message.clone(),
        code: e.code.clone(),
        status: e.status,
    };
    // An ErrorRecord has string keys only; serializing it cannot fail.
    let entry = serde_json::to_string(&entry).unwrap_or_else(|_| "{}".to_owned());
    let dead = |reason: String| FailPlan {
        outcome: crate::FailOutcome::Dead { reason },
        run_at: None,
        entry: entry.clone(),
        message: message.clone(),
    };
    match &failure.disposition {
        Disposition::Dead { reason } => dead(reason.clone()),
        Disposition::Retry { .. } if attempts >= max_attempts => dead(format!(
            "attempts exhausted ({attempts} of {max_attempts}); last error {message}"
        )),
        Disposition::Retry { retry_after } => {
            let wait = retry_after
                .unwrap_or_default()
                .min(MAX_DELAY)
                .max(backoff.delay(attempts));
            let run_at = after(now_ms, wait);
            FailPlan {
                outcome: crate::FailOutcome::Retrying {
                    run_at: DateTime::from_timestamp_millis(run_at).unwrap_or_default(),
                },
                run_at: Some(run_at),
                entry,
                message,
            }
        }
    }
}
