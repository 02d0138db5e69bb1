//! A durable job store for POSTD's publishing pipeline.
//!
//! The promise to users: each delivery of a post to an account goes out
//! exactly once, or lands, explained, in a dead-letter queue that a person
//! can inspect and replay. This crate keeps the jobs that carry that promise;
//! it knows nothing about posts or platforms (payloads are JSON).
//!
//! # The model
//!
//! - **Job.** One row per delivery in `postd_jobs`: queue, JSON payload,
//!   priority (higher first), `run_at`, state (`pending`, `running`,
//!   `completed`, `dead`, `cancelled`), attempts, and its whole history. A
//!   wait ("retry in ten minutes", "the platform is still processing") lives
//!   in the row's `run_at`, never in a sleeping worker, so a restart loses
//!   nothing.
//! - **Lease.** [`JobStore::claim`] hands a worker a batch of due jobs, each
//!   leased until `now + lease`. A long job renews with
//!   [`JobStore::heartbeat`]. A worker that dies stops renewing; when the
//!   lease runs out, the next claim takes the job over.
//! - **Fence.** Every claim increments the job's `fence` and returns it.
//!   Every later call about the job (`heartbeat`, `save_progress`,
//!   `complete`, `reschedule`, `fail`) carries it and applies only if it is
//!   still the latest; otherwise it returns [`QueueError::LeaseLost`] and
//!   changes nothing. A worker that was merely slow (GC pause, network
//!   partition) cannot overwrite the result of the worker that replaced it.
//! - **Stall.** A reclaimed expired lease counts as a stall (`stalls += 1`,
//!   a `"stalled"` entry in the history, [`ClaimedJob::reclaimed`] set) and as
//!   an attempt. The new worker must assume the old one may have published
//!   already and check before publishing again. A stall on the last attempt
//!   moves the job to dead rather than giving it an attempt it does not have.
//! - **Disposition in the releasing statement.** [`JobStore::fail`] writes the
//!   attempt's error into the history and either schedules the retry
//!   (`run_at = now + max(retry_after, full-jitter backoff)`) or moves the
//!   job to dead, in the same statement that releases the lease. No crash
//!   can leave a job released without its error, or recorded as failed but
//!   still leased.
//! - **Idempotency key.** At most one job exists per `(queue, key)`: a
//!   repeated [`JobStore::enqueue`] returns the existing job with
//!   `duplicate: true`, even when the two enqueues race. The key stays taken
//!   after completion, so a re-submitted delivery cannot go out twice; only
//!   purging the job frees it.
//! - **Dead letters.** A dead job keeps its payload, every attempt's error
//!   ([`Job::errors`]) and a `dead_reason`. [`JobStore::list_dead`] and
//!   [`JobStore::get`] show them; [`JobStore::replay`] puts one back to
//!   pending with attempts reset and history kept; [`JobStore::purge`] and
//!   [`JobStore::purge_dead`] delete them.
//! - **Group.** A job may carry a group ([`NewJob::with_group`], e.g. the
//!   post it delivers): [`JobStore::list_group`] shows every delivery of
//!   the post with its history, and [`JobStore::cancel_group`] withdraws the
//!   pending ones, leaving running ones to finish.
//! - **Hold.** [`JobStore::set_hold`] records in `postd_jobs_holds` that no
//!   work under a key (an account or app the platform throttled) should run
//!   before a time; it only ever extends, and [`JobStore::hold_until`] shows
//!   it to every process on the database until the clock passes it.
//! - **Budget.** [`JobStore::take_budget`] takes one unit of a documented
//!   cap ("50 posts per 24 h per account") from a fixed, epoch-aligned
//!   window counted in `postd_jobs_budgets`, in one atomic statement, so
//!   processes racing for the last unit cannot overspend it;
//!   [`JobStore::give_back_budget`] returns a unit that was not spent.
//!
//! # Backends
//!
//! [`SqliteJobStore`] is the default: one file in WAL mode, shareable with
//! other tables (every table is named `postd_jobs*`), for a single host.
//! [`PostgresJobStore`] (cargo feature `postgres`) is the scale-out path: N
//! worker processes on N hosts against one database. Claims use
//! `FOR UPDATE SKIP LOCKED`, so concurrent claimers take different jobs
//! without waiting on each other, and enqueues and retries `NOTIFY` a channel
//! that [`JobStore::wait_for_work`] `LISTEN`s on, so idle workers on every
//! host wake at once instead of polling. Both meet the same conformance
//! suite; the claim is an index range scan on both.
//!
//! Time comes from a [`Clock`] (the system clock unless replaced), stored as
//! UTC milliseconds. Hosts sharing a database must keep their clocks in sync
//! to well within a lease.
//!
//! # Observability
//!
//! Counters (via the `metrics` crate), each labelled with `queue`:
//! `postd_queue_enqueued_total`, `postd_queue_claimed_total`,
//! `postd_queue_stalls_total`, `postd_queue_completed_total`,
//! `postd_queue_retried_total` and `postd_queue_dead_total`. Stalls, deaths
//! and corrupt rows are also logged through `tracing`. [`JobStore::stats`]
//! gives per-state counts and the oldest due job's lag;
//! [`JobStore::explain_claim`] shows the database's plan for the claim.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use postd_queue::{
//!     AttemptError, ClaimRequest, FailOutcome, Failure, JobState, JobStore, NewJob, QueueError,
//!     SqliteJobStore,
//! };
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), postd_queue::QueueError> {
//! let store = SqliteJobStore::memory().await?;
//! let job = store
//!     .enqueue(NewJob::new("publish", json!({ "post": 7, "account": "acme" }))
//!         .with_idempotency_key("post-7/acme"))
//!     .await?;
//!
//! let request = ClaimRequest::new(["publish"], "worker-1").with_lease(Duration::from_secs(30));
//! let first = store.claim(&request).await?.remove(0);
//! assert_eq!((first.id, first.attempt), (job.id, 1));
//!
//! // The platform answered 503: retry, no sooner than it asked.
//! let error = AttemptError::new("unavailable", "platform answered 503").with_status(503);
//! let outcome = store
//!     .fail(first.id, first.fence, Failure::retry_after(error, Duration::ZERO))
//!     .await?;
//! assert!(matches!(outcome, FailOutcome::Retrying { .. }));
//!
//! // The retry waits in the row until its run_at; the example moves it up.
//! store.set_run_at(job.id, chrono::Utc::now()).await?;
//! let second = store.claim(&request).await?.remove(0);
//! assert_eq!(second.attempt, 2);
//! assert!(second.fence > first.fence);
//!
//! store.complete(second.id, second.fence, Some(json!({ "remote_id": "123" }))).await?;
//! let done = store.get(job.id).await?.ok_or(QueueError::NotFound { id: job.id })?;
//! assert_eq!(done.state, JobState::Completed);
//! assert_eq!(done.errors.len(), 1); // the 503 stays in the history
//! # Ok(())
//! # }
//! ```

mod backoff;
mod clock;
mod codec;
mod error;
mod group_commit;
mod job;
#[cfg(feature = "postgres")]
mod postgres;
mod sqlite;
mod store;
mod wait;

pub use backoff::{Backoff, MAX_DELAY};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{QueueError, Result};
pub use job::{
    AttemptError, Budget, ClaimRequest, ClaimedJob, DEFAULT_MAX_ATTEMPTS, Disposition, Enqueued,
    ErrorRecord, FailOutcome, Failure, Job, JobState, MAX_BUDGET_WINDOW, NewJob, QueueStats,
    UnknownState, Wake,
};
#[cfg(feature = "postgres")]
pub use postgres::PostgresJobStore;
pub use sqlite::SqliteJobStore;
pub use store::JobStore;
