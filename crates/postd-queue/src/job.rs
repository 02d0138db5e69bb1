//! The values that cross the store boundary: what is enqueued, claimed, failed and inspected.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Attempts a job gets when [`NewJob::with_max_attempts`] is not called.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its `run_at`, or due and waiting for a worker.
    Pending,
    /// Claimed by a worker that holds its lease.
    Running,
    /// Done; its outcome is stored.
    Completed,
    /// Gave up on (attempts exhausted, a permanent error, or a stall on the
    /// last attempt); waits for a person to replay or purge it.
    Dead,
    /// Withdrawn before any worker took it.
    Cancelled,
}

impl JobState {
    /// The word stored in the `state` column.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Dead => "dead",
            JobState::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `state` column value that is not one of the five states.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job state {0:?}")]
pub struct UnknownState(pub String);

impl FromStr for JobState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "completed" => JobState::Completed,
            "dead" => JobState::Dead,
            "cancelled" => JobState::Cancelled,
            other => return Err(UnknownState(other.to_owned())),
        })
    }
}

/// A job to enqueue. Build with [`NewJob::new`] and the `with_` methods.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewJob {
    /// The queue (a worker claims from a list of queues).
    pub queue: String,
    /// What the handler needs; the store never looks inside.
    pub payload: Value,
    /// Higher runs first among due jobs.
    pub priority: i32,
    /// Not claimed before this instant; `None` means now.
    pub run_at: Option<DateTime<Utc>>,
    /// Claims (including reclaims after a stall) before the job goes dead.
    pub max_attempts: u32,
    /// At most one job per `(queue, key)`, ever (until that job is purged).
    pub idempotency_key: Option<String>,
    /// The group the job belongs to (e.g. the post it delivers), so every
    /// delivery of one post can be listed and cancelled together.
    pub group: Option<String>,
}

impl NewJob {
    /// A job for `queue`, due now, priority 0, [`DEFAULT_MAX_ATTEMPTS`] attempts.
    pub fn new(queue: impl Into<String>, payload: Value) -> Self {
        NewJob {
            queue: queue.into(),
            payload,
            priority: 0,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            idempotency_key: None,
            group: None,
        }
    }

    /// Sets the priority (higher first).
    #[must_use]
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the earliest time the job may run.
    #[must_use]
    pub fn with_run_at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = Some(run_at);
        self
    }

    /// Sets how many claims the job gets (at least 1).
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the idempotency key: a second enqueue with the same queue and key
    /// returns the first job instead of inserting.
    #[must_use]
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Puts the job in `group` (e.g. a post id): [`list_group`](crate::JobStore::list_group)
    /// shows every job of the group and [`cancel_group`](crate::JobStore::cancel_group)
    /// withdraws its pending ones. Groups span queues; an empty name is refused at enqueue.
    #[must_use]
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
}

/// The result of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id: the new job's, or the existing one's on a duplicate.
    pub id: i64,
    /// True when a job with the same `(queue, idempotency_key)` already
    /// existed and nothing was inserted.
    pub duplicate: bool,
}

/// A request for up to `limit` jobs from `queues`, leased to `worker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// Queues to take jobs from.
    pub queues: Vec<String>,
    /// The claimant's id, stored as the lease owner (for people reading the table).
    pub worker: String,
    /// The most jobs to return.
    pub limit: u32,
    /// How long the lease lasts unless renewed by [`heartbeat`](crate::JobStore::heartbeat).
    pub lease: Duration,
}

impl ClaimRequest {
    /// One job at a time with a 30-second lease.
    pub fn new<Q: Into<String>>(
        queues: impl IntoIterator<Item = Q>,
        worker: impl Into<String>,
    ) -> Self {
        ClaimRequest {
            queues: queues.into_iter().map(Into::into).collect(),
            worker: worker.into(),
            limit: 1,
            lease: Duration::from_secs(30),
        }
    }

    /// Sets the batch size.
    #[must_use]
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// Sets the lease length.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }
}

/// A job handed to a worker by [`claim`](crate::JobStore::claim).
///
/// Every later call about it carries `fence`: the store accepts it only while
/// no newer claim exists.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClaimedJob {
    /// The job.
    pub id: i64,
    /// Its queue.
    pub queue: String,
    /// Its payload.
    pub payload: Value,
    /// Its priority.
    pub priority: i32,
    /// Which attempt this claim is (1 for the first).
    pub attempt: u32,
    /// Attempts it gets in all.
    pub max_attempts: u32,
    /// This claim's fence token.
    pub fence: i64,
    /// When the lease ends unless renewed.
    pub lease_expires_at: DateTime<Utc>,
    /// Progress saved by an earlier attempt (e.g. the platform's container id).
    pub progress: Option<Value>,
    /// Expired leases reclaimed so far, this one included.
    pub stalls: u32,
    /// True when this claim took over an expired lease: the previous worker
    /// may have done some or all of the work before it vanished.
    pub reclaimed: bool,
    /// The job's idempotency key.
    pub idempotency_key: Option<String>,
    /// The job's group (see [`NewJob::with_group`]).
    pub group: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}

/// An attempt's error as the handler classifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttemptError {
    /// A short class (`"rate_limited"`, `"auth"`, `"invalid_media"`...); free-form.
    pub kind: String,
    /// What happened, for the person reading the dead-letter queue.
    pub message: String,
    /// The platform's error code, if any.
    pub code: Option<String>,
    /// The HTTP status, if any.
    pub status: Option<u16>,
}

impl AttemptError {
    /// An error of `kind` with `message`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        AttemptError {
            kind: kind.into(),
            message: message.into(),
            code: None,
            status: None,
        }
    }

    /// Sets the platform error code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the HTTP status.
    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
}

/// One entry of a job's error history: every failed attempt and every stall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorRecord {
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// When the store recorded it.
    pub at: DateTime<Utc>,
    /// The error's class; `"stalled"` for a lease that expired.
    pub kind: String,
    /// What happened.
    pub message: String,
    /// The platform's error code, if any.
    #[serde(default)]
    pub code: Option<String>,
    /// The HTTP status, if any.
    #[serde(default)]
    pub status: Option<u16>,
}

/// What the handler wants done with a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Try again, no sooner than `retry_after` (if given) and no sooner than
    /// the store's backoff draw; dead instead if attempts are exhausted.
    Retry {
        /// A wait the platform asked for (e.g. a `Retry-After` header).
        retry_after: Option<Duration>,
    },
    /// Give up now: the error is permanent.
    Dead {
        /// Why, for the person reading the dead-letter queue.
        reason: String,
    },
}

/// A failed attempt: its error (kept in history) and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The attempt's error.
    pub error: AttemptError,
    /// Retry or give up.
    pub disposition: Disposition,
}

impl Failure {
    /// Retry after the store's backoff.
    pub fn retry(error: AttemptError) -> Self {
        Failure {
            error,
            disposition: Disposition::Retry { retry_after: None },
        }
    }

    /// Retry no sooner than `after` (and no sooner than the backoff draw).
    pub fn retry_after(error: AttemptError, after: Duration) -> Self {
        Failure {
            error,
            disposition: Disposition::Retry {
                retry_after: Some(after),
            },
        }
    }

    /// Give up now.
    pub fn dead(error: AttemptError, reason: impl Into<String>) -> Self {
        Failure {
            error,
            disposition: Disposition::Dead {
                reason: reason.into(),
            },
        }
    }
}

/// What [`fail`](crate::JobStore::fail) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailOutcome {
    /// The job is pending again and will not be claimed before `run_at`.
    Retrying {
        /// The next attempt's earliest time.
        run_at: DateTime<Utc>,
    },
    /// The job is dead.
    Dead {
        /// The stored `dead_reason`.
        reason: String,
    },
}

/// A stored job, as inspection and the dead-letter queue see it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Job {
    /// Its id.
    pub id: i64,
    /// Its queue.
    pub queue: String,
    /// Its payload.
    pub payload: Value,
    /// Its priority (higher first).
    pub priority: i32,
    /// Not claimed before this instant.
    pub run_at: DateTime<Utc>,
    /// Its state.
    pub state: JobState,
    /// Claims so far (refunded reschedules excluded; reset by replay).
    pub attempts: u32,
    /// Claims it gets.
    pub max_attempts: u32,
    /// The worker holding the lease, while running.
    pub lease_owner: Option<String>,
    /// When the lease ends, while running.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Bumped by every claim; only the latest claim's fence is accepted.
    pub fence: i64,
    /// Expired leases reclaimed.
    pub stalls: u32,
    /// Whether the latest claim took over an expired lease.
    pub reclaimed: bool,
    /// The latest error's message.
    pub last_error: Option<String>,
    /// Every failed attempt and stall, oldest first.
    pub errors: Vec<ErrorRecord>,
    /// Its idempotency key.
    pub idempotency_key: Option<String>,
    /// Its group (see [`NewJob::with_group`]).
    pub group: Option<String>,
    /// What the handler stored on completion.
    pub outcome: Option<Value>,
    /// What the handler saved along the way.
    pub progress: Option<Value>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it last changed (for a dead job: when it died).
    pub updated_at: DateTime<Utc>,
    /// When it completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Why it is dead.
    pub dead_reason: Option<String>,
}

/// Counts for one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// Pending jobs, due or not.
    pub pending: u64,
    /// Pending jobs whose `run_at` has passed.
    pub due: u64,
    /// Running jobs.
    pub running: u64,
    /// Completed jobs (until purged).
    pub completed: u64,
    /// Dead jobs.
    pub dead: u64,
    /// Cancelled jobs.
    pub cancelled: u64,
    /// How long the oldest due pending job has waited past its `run_at`.
    pub oldest_due_lag: Option<Duration>,
}

/// Why [`wait_for_work`](crate::JobStore::wait_for_work) returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A job in the queues is due (or a lease expired): claim now.
    Work,
    /// The timeout passed with nothing due; poll again.
    TimedOut,
}

/// The longest window [`take_budget`](crate::JobStore::take_budget) accepts:
/// a year and a day. A longer one is almost certainly a unit mistake.
pub const MAX_BUDGET_WINDOW: Duration = Duration::from_secs(366 * 24 * 60 * 60);

/// The answer of [`take_budget`](crate::JobStore::take_budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// One unit was taken from the current window.
    Granted {
        /// Units left in the current window after this one.
        remaining: u32,
    },
    /// The current window's units are all taken; nothing was changed.
    Exhausted {
        /// When the next window starts (the earliest a take can succeed).
        retry_at: DateTime<Utc>,
    },
}
