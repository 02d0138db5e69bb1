//! The Postgres store (cargo feature `postgres`): the scale-out path.
//!
//! Many worker processes on many hosts share one database. Claims lock
//! their candidates `FOR UPDATE SKIP LOCKED`, so concurrent claimers take
//! disjoint jobs without queueing behind each other. Writes that make work
//! available `NOTIFY` the `postd_jobs` channel; every store instance keeps
//! one `LISTEN`ing connection and wakes its waiters, so idle workers on all
//! hosts react at once and the wait's timeout is only a fallback.

mod budget;
mod cancel;
mod claim;
mod complete;
mod dead;
mod enqueue;
mod fail;
mod group;
mod heartbeat;
mod hold;
mod migrate;
mod reschedule;
mod stats;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::sync::{Notify, OnceCell};
use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::clock::{Clock, SystemClock};
use crate::error::{QueueError, Result};
use crate::group_commit::GroupCommit;
use crate::job::{
    Budget, ClaimRequest, ClaimedJob, Enqueued, FailOutcome, Failure, Job, NewJob, QueueStats, Wake,
};
use crate::store::JobStore;

/// The channel enqueues and retries notify; the payload is the queue name.
const CHANNEL: &str = "postd_jobs";

/// Every column of `postd_jobs`, JSON as text so one decoder serves both backends.
macro_rules! job_columns {
    () => {
        "id, queue, payload::text AS payload, priority, run_at, state, attempts, max_attempts,
        lease_owner, lease_expires_at, fence, stalls, reclaimed, last_error, errors::text AS errors,
        idempotency_key, job_group, outcome::text AS outcome, progress::text AS progress,
        created_at, updated_at, completed_at, dead_reason"
    };
}
pub(crate) use job_columns;

/// Appends a history entry (a `jsonb` SQL expression) to `errors`; a history
/// that is not an array is left as it is, as evidence for `get`'s `Corrupt`.
macro_rules! append_error {
    ($entry:expr) => {
        concat!(
            "CASE WHEN jsonb_typeof(errors) = 'array' THEN errors || jsonb_build_array(",
            $entry,
            ") ELSE errors END"
        )
    };
}
pub(crate) use append_error;

/// The background `LISTEN` task; stopped when the last clone of the store goes.
#[derive(Debug)]
struct ListenerTask(JoinHandle<()>);

impl Drop for ListenerTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A job store in Postgres.
///
/// Clones share the pool, the listener and the wake-up signal.
#[derive(Debug, Clone)]
pub struct PostgresJobStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    signal: Arc<Notify>,
    commits: GroupCommit,
    listener: Arc<OnceCell<ListenerTask>>,
}

impl PostgresJobStore {
    /// Connects to `url` (`postgres://user@host/db`) and migrates the schema.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // No ping before every checkout (a round trip per claim and per
            // completion batch): a connection that died fails its statement,
            // which the caller retries, and the pool replaces it.
            .test_before_acquire(false)
            .connect(url)
            .await
            .map_err(|e| QueueError::storage("connecting to the Postgres job store", e))?;
        PostgresJobStore::from_pool(pool).await
    }

    /// Uses an existing pool and migrates the schema. The `LISTEN` connection
    /// is opened separately, with the same options, on the first wait.
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        let pool_for_writer = pool.clone();
        let store = PostgresJobStore {
            pool,
            clock: Arc::new(SystemClock),
            backoff: Backoff::default(),
            signal: Arc::new(Notify::new()),
            commits: writer(&pool_for_writer, Arc::new(SystemClock)),
            listener: Arc::new(OnceCell::new()),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Replaces the clock (tests use a [`ManualClock`](crate::ManualClock)).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.commits = writer(&self.pool, Arc::clone(&clock));
        self.clock = clock;
        self
    }

    /// Replaces the retry backoff.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The pool.
    #[must_use]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Wakes waiters in every process: this one directly, others through
    /// `NOTIFY`. A lost notification only delays a waiter to its timeout, so
    /// a failure here is logged, not returned.
    async fn wake(&self, queue: &str) {
        self.signal.notify_waiters();
        if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(queue)
            .execute(&self.pool)
            .await
        {
            tracing::debug!(error = %e, "could not notify waiting workers");
        }
    }

    /// Starts the `LISTEN` task once; `false` if it cannot (waits then poll).
    async fn ensure_listening(&self) -> bool {
        let started = self
            .listener
            .get_or_try_init(|| listen(&self.pool, self.signal.clone()))
            .await;
        match started {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN for new jobs; falling back to polling");
                false
            }
        }
    }

    /// The error for a fenced write that matched no row.
    async fn lease_lost(&self, id: i64) -> QueueError {
        complete::lost_or_missing(&self.pool, id).await
    }

    /// A job's state, for explaining why an operation did not apply.
    async fn state_of(&self, id: i64) -> Result<Option<crate::JobState>> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM postd_jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| QueueError::storage("reading a job's state", e))?;
        state
            .map(|s| {
                s.parse()
                    .map_err(|_| QueueError::Corrupt { id, field: "state" })
            })
            .transpose()
    }
}

/// Opens a dedicated connection, `LISTEN`s, and forwards every notification
/// to `signal`. The connection has a pool of its own so a busy store pool
/// can never starve it, and it never idles out.
async fn listen(pool: &PgPool, signal: Arc<Notify>) -> Result<ListenerTask, sqlx::Error> {
    let own = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = sqlx::postgres::PgListener::connect_with(&own).await?;
    listener.listen(CHANNEL).await?;
    let task = tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => signal.notify_waiters(),
                // Reconnected: anything sent meanwhile is gone, so everyone looks.
                Ok(None) => signal.notify_waiters(),
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                    signal.notify_waiters();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(ListenerTask(task))
}

#[async_trait]
impl JobStore for PostgresJobStore {
    async fn migrate(&self) -> Result<()> {
        migrate::run(self).await
    }

    async fn enqueue(&self, job: NewJob) -> Result<Enqueued> {
        let mut done = enqueue::run(self, vec![job]).await?;
        done.pop()
            .ok_or_else(|| QueueError::Config("enqueue returned no result".into()))
    }

    async fn enqueue_many(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>> {
        enqueue::run(self, jobs).await
    }

    async fn claim(&self, request: &ClaimRequest) -> Result<Vec<ClaimedJob>> {
        claim::run(self, request).await
    }

    async fn heartbeat(&self, id: i64, fence: i64, extend: Duration) -> Result<DateTime<Utc>> {
        heartbeat::run(self, id, fence, extend).await
    }

    async fn save_progress(&self, id: i64, fence: i64, progress: Value) -> Result<()> {
        heartbeat::save_progress(self, id, fence, progress).await
    }

    async fn complete(&self, id: i64, fence: i64, outcome: Option<Value>) -> Result<()> {
        self.commits.complete(id, fence, outcome).await
    }

    async fn reschedule(
        &self,
        id: i64,
        fence: i64,
        run_at: DateTime<Utc>,
        progress: Option<Value>,
        refund_attempt: bool,
    ) -> Result<()> {
        reschedule::run(self, id, fence, run_at, progress, refund_attempt).await
    }

    async fn fail(&self, id: i64, fence: i64, failure: Failure) -> Result<FailOutcome> {
        fail::run(self, id, fence, failure).await
    }

    async fn get(&self, id: i64) -> Result<Option<Job>> {
        dead::get(self, id).await
    }

    async fn list_dead(&self, queue: Option<&str>, limit: u32, offset: u32) -> Result<Vec<Job>> {
        dead::list(self, queue, limit, offset).await
    }

    async fn replay(&self, id: i64, run_at: Option<DateTime<Utc>>) -> Result<()> {
        dead::replay(self, id, run_at).await
    }

    async fn purge(&self, id: i64) -> Result<bool> {
        dead::purge(self, id).await
    }

    async fn purge_dead(&self, older_than: DateTime<Utc>) -> Result<u64> {
        dead::purge_dead(self, older_than).await
    }

    async fn cancel(&self, id: i64) -> Result<bool> {
        cancel::run(self, id).await
    }

    async fn set_run_at(&self, id: i64, run_at: DateTime<Utc>) -> Result<bool> {
        cancel::set_run_at(self, id, run_at).await
    }

    async fn stats(&self, queue: &str) -> Result<QueueStats> {
        stats::run(self, queue).await
    }

    async fn wait_for_work(&self, queues: &[String], timeout: Duration) -> Result<Wake> {
        wait::run(self, queues, timeout).await
    }

    async fn explain_claim(&self, request: &ClaimRequest) -> Result<String> {
        claim::explain(self, request).await
    }

    async fn list_group(&self, group: &str) -> Result<Vec<Job>> {
        group::list(self, group).await
    }

    async fn cancel_group(&self, group: &str) -> Result<u64> {
        group::cancel(self, group).await
    }

    async fn set_hold(&self, key: &str, until: DateTime<Utc>) -> Result<()> {
        hold::set(self, key, until).await
    }

    async fn hold_until(&self, key: &str) -> Result<Option<DateTime<Utc>>> {
        hold::until(self, key).await
    }

    async fn take_budget(&self, key: &str, limit: u32, window: Duration) -> Result<Budget> {
        budget::take(self, key, limit, window).await
    }

    async fn give_back_budget(&self, key: &str, window: Duration) -> Result<()> {
        budget::give_back(self, key, window).await
    }
}

/// The group-commit writer of completions for `pool`.
fn writer(pool: &PgPool, clock: Arc<dyn Clock>) -> GroupCommit {
    let pool = pool.clone();
    GroupCommit::start(move |items| complete::run_batch(pool.clone(), Arc::clone(&clock), items))
}
