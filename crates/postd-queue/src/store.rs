//! The contract every backend meets; `tests/conformance.rs` holds them to it.

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::Result;
use crate::job::{
    Budget, ClaimRequest, ClaimedJob, Enqueued, FailOutcome, Failure, Job, NewJob, QueueStats, Wake,
};

/// A durable job store.
///
/// Calls that act on a claimed job take its `fence`; they succeed only while
/// that claim is the latest one and the job is running, and otherwise return
/// [`QueueError::LeaseLost`](crate::QueueError::LeaseLost) having changed nothing.
#[async_trait]
pub trait JobStore: Send + Sync + Debug {
    /// Creates or upgrades the schema. Idempotent; two processes may run it at once.
    async fn migrate(&self) -> Result<()>;

    /// Adds a job, or returns the existing one for a repeated `(queue, idempotency_key)`.
    async fn enqueue(&self, job: NewJob) -> Result<Enqueued>;

    /// Adds jobs in one transaction, all or none; results are in input order.
    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>>;

    /// Leases up to `limit` jobs: due pending ones by priority (highest first),
    /// then `run_at`, then id; and running ones whose lease expired (a stall).
    ///
    /// A stalled job already on its last attempt is not handed out again: the
    /// same call moves it to dead. A row that does not decode is moved to dead
    /// (reason names the column) instead of failing the batch.
    ///
    /// Over several queues the claim takes them in the order given. SQLite
    /// leases them in one transaction; Postgres commits each queue's
    /// statement on its own and, once it has leased jobs, returns them
    /// rather than failing on a later queue (that error is logged).
    async fn claim(&self, request: &ClaimRequest) -> Result<Vec<ClaimedJob>>;

    /// Extends the lease to `now + extend`; returns the new expiry.
    async fn heartbeat(&self, id: i64, fence: i64, extend: Duration) -> Result<DateTime<Utc>>;

    /// Stores progress for a later attempt to resume from, under the lease.
    async fn save_progress(&self, id: i64, fence: i64, progress: Value) -> Result<()>;

    /// Marks the job completed with its outcome, releasing the lease.
    async fn complete(&self, id: i64, fence: i64, outcome: Option<Value>) -> Result<()>;

    /// Releases the lease and puts the job back to pending until `run_at`,
    /// without recording an error: "still processing, look again later".
    ///
    /// `progress` replaces the saved progress when given. `refund_attempt`
    /// takes back the attempt this claim counted (a rate-limit wait is not a try).
    async fn reschedule(
        &self,
        id: i64,
        fence: i64,
        run_at: DateTime<Utc>,
        progress: Option<Value>,
        refund_attempt: bool,
    ) -> Result<()>;

    /// Records the attempt's error and, in the statement that releases the
    /// lease, either schedules a retry at `now + max(retry_after, backoff)` or
    /// moves the job to dead (a `Dead` disposition, or attempts exhausted).
    async fn fail(&self, id: i64, fence: i64, failure: Failure) -> Result<FailOutcome>;

    /// One job with its full error history (every failed attempt and stall).
    async fn get(&self, id: i64) -> Result<Option<Job>>;

    /// Dead jobs, most recently dead first, optionally of one queue.
    ///
    /// A row that does not decode fails the listing with
    /// [`QueueError::Corrupt`](crate::QueueError::Corrupt) naming it, rather
    /// than being silently left out; [`purge`](JobStore::purge) removes it.
    async fn list_dead(&self, queue: Option<&str>, limit: u32, offset: u32) -> Result<Vec<Job>>;

    /// Puts a dead job back to pending at `run_at` (default now) with attempts
    /// reset to zero; its error history stays.
    async fn replay(&self, id: i64, run_at: Option<DateTime<Utc>>) -> Result<()>;

    /// Deletes a finished (completed, dead or cancelled) job. `Ok(false)` if
    /// there is no such job; a pending or running job is refused.
    async fn purge(&self, id: i64) -> Result<bool>;

    /// Deletes dead jobs that died before `older_than`; returns how many.
    async fn purge_dead(&self, older_than: DateTime<Utc>) -> Result<u64>;

    /// Cancels a pending job; `false` if it is not pending (a running job is
    /// not interrupted).
    async fn cancel(&self, id: i64) -> Result<bool>;

    /// Moves a pending job's `run_at`; `false` if it is not pending.
    async fn set_run_at(&self, id: i64, run_at: DateTime<Utc>) -> Result<bool>;

    /// Counts per state for `queue`, and the oldest due job's lag.
    async fn stats(&self, queue: &str) -> Result<QueueStats>;

    /// Waits until a job in `queues` may be claimable, or `timeout` passes.
    ///
    /// Returns [`Wake::Work`] at once if a job is already due; otherwise at the
    /// earliest of: a write that makes work available, the next job's `run_at`
    /// or lease expiry, and the timeout. Spurious wakes are possible; a
    /// claim that then finds nothing is normal.
    async fn wait_for_work(&self, queues: &[String], timeout: Duration) -> Result<Wake>;

    /// The database's plan for the claim statements, for diagnosing a slow claim.
    async fn explain_claim(&self, request: &ClaimRequest) -> Result<String>;

    /// Every job of `group` (see [`NewJob::with_group`]), in any queue and
    /// state, ordered by id, each with its full history as [`get`](JobStore::get)
    /// gives it. A row that does not decode fails the listing with
    /// [`QueueError::Corrupt`](crate::QueueError::Corrupt).
    async fn list_group(&self, group: &str) -> Result<Vec<Job>>;

    /// Cancels every *pending* job of `group`; returns how many. Running jobs
    /// are left alone (their worker may be mid-publish), as by [`cancel`](JobStore::cancel).
    async fn cancel_group(&self, group: &str) -> Result<u64>;

    /// Holds `key` (an account or app the platform throttled): no work under
    /// it should run before `until`. Creates the hold or extends it; the
    /// later of the stored and the new `until` wins, so a hold never shrinks.
    /// Every store on the same database sees it. An empty key is a
    /// [`QueueError::Config`](crate::QueueError::Config).
    async fn set_hold(&self, key: &str, until: DateTime<Utc>) -> Result<()>;

    /// When the hold on `key` ends; `None` when there is none or it has
    /// passed by the store's [`Clock`](crate::Clock) (a hold is over at its `until`).
    async fn hold_until(&self, key: &str) -> Result<Option<DateTime<Utc>>>;

    /// Takes one unit of `key`'s budget of `limit` per `window`, race-safe
    /// across every process on the database.
    ///
    /// Windows are fixed and aligned to multiples of `window` since the Unix
    /// epoch (a 24-hour window resets at UTC midnight). The take is one
    /// atomic statement: [`Budget::Granted`] with the units left if fewer
    /// than `limit` were taken in the current window, otherwise
    /// [`Budget::Exhausted`] with the next window's start, changing nothing.
    /// `limit == 0` is always exhausted. The counter is kept per `(key,
    /// window)`, so one key may carry budgets of several window lengths.
    /// A window under a millisecond or over
    /// [`MAX_BUDGET_WINDOW`](crate::MAX_BUDGET_WINDOW), or an empty key, is a
    /// [`QueueError::Config`](crate::QueueError::Config).
    async fn take_budget(&self, key: &str, limit: u32, window: Duration) -> Result<Budget>;

    /// Returns one unit to `key`'s current `window` (never below zero): for a
    /// granted unit that was not spent, e.g. the platform refused before
    /// applying. A unit taken in an earlier window is not carried over.
    async fn give_back_budget(&self, key: &str, window: Duration) -> Result<()>;
}
