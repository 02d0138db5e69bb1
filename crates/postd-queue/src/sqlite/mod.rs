//! The SQLite store: the embedded default, one file in WAL mode.
//!
//! Writers are serialized by SQLite itself, so a claim is one
//! `UPDATE ... WHERE id IN (SELECT ... LIMIT ?) RETURNING` under
//! `BEGIN IMMEDIATE`: no two claimers can see the same candidate. Waiting
//! workers are woken in-process by this store's own writes; writes by other
//! processes sharing the file are seen at the next poll (the wait's timeout).

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

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::Notify;

use crate::backoff::Backoff;
use crate::clock::{Clock, SystemClock};
use crate::error::{QueueError, Result};
use crate::group_commit::GroupCommit;
use crate::job::{
    Budget, ClaimRequest, ClaimedJob, Enqueued, FailOutcome, Failure, Job, NewJob, QueueStats, Wake,
};
use crate::store::JobStore;

/// Appends a history entry (an SQL expression) to `errors`. A history that
/// is not a JSON array is left as it is: overwriting it would destroy the
/// evidence `get` reports as `Corrupt`, and failing the statement would
/// strand the job in `running`.
macro_rules! append_error {
    ($entry:expr) => {
        concat!(
            "CASE WHEN NOT json_valid(errors) THEN errors WHEN json_type(errors) = 'array' THEN json_insert(errors, '$[#]', ",
            $entry,
            ") ELSE errors END"
        )
    };
}
pub(crate) use append_error;

/// A job store in a SQLite database (a file, or memory for tests).
///
/// Clones share the pool, clock and wake-up signal.
#[derive(Debug, Clone)]
pub struct SqliteJobStore {
    pool: SqlitePool,
    /// Writes go through here. A store opened with [`SqliteJobStore::open`]
    /// gives it one connection of its own, so writers queue in the process
    /// instead of meeting on SQLite's write lock, whose busy handler waits
    /// in sleeps of 1 to 100 ms; other stores write through `pool`.
    writer: SqlitePool,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    signal: Arc<Notify>,
    commits: GroupCommit,
}

impl SqliteJobStore {
    /// Opens (creating if needed) the database file at `path` and migrates it.
    ///
    /// WAL lets claimers read while one writes; `synchronous = FULL` because
    /// a completed delivery forgotten by a power cut would be published twice.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // 64 MiB of page cache per connection (SQLite's default is 2 MiB):
            // a queue holding a million future jobs keeps its indexes' hot pages
            // in memory instead of re-reading them for every claim and completion.
            .pragma("cache_size", "-65536")
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.clone())
            .await
            .map_err(|e| QueueError::storage("opening the SQLite job store", e))?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| QueueError::storage("opening the SQLite job store", e))?;
        SqliteJobStore::with_pools(pool, writer).await
    }

    /// A throwaway in-memory database, for tests and examples.
    pub async fn memory() -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .in_memory(true)
            .busy_timeout(Duration::from_secs(10));
        // An in-memory database lives and dies with its one connection, so
        // the pool must never retire it.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| QueueError::storage("opening the in-memory job store", e))?;
        SqliteJobStore::from_pool(pool).await
    }

    /// Uses an existing pool (e.g. one shared with the application's own
    /// tables; every table here is named `postd_jobs*`) and migrates it.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self> {
        SqliteJobStore::with_pools(pool.clone(), pool).await
    }

    async fn with_pools(pool: SqlitePool, writes: SqlitePool) -> Result<Self> {
        let store = SqliteJobStore {
            pool,
            commits: writer(&writes, Arc::new(SystemClock)),
            writer: writes,
            clock: Arc::new(SystemClock),
            backoff: Backoff::default(),
            signal: Arc::new(Notify::new()),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Replaces the clock (tests use a [`ManualClock`](crate::ManualClock)).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.commits = writer(&self.writer, Arc::clone(&clock));
        self.clock = clock;
        self
    }

    /// Replaces the retry backoff.
    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The pool, for callers that keep their own tables in the same file.
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Tells this process's waiters that work may be available.
    fn wake(&self) {
        self.signal.notify_waiters();
    }

    /// The error for a fenced write that matched no row.
    async fn lease_lost(&self, id: i64) -> QueueError {
        complete::lost_or_missing(&self.pool, id).await
    }

    /// A job's state, for explaining why an operation did not apply.
    async fn state_of(&self, id: i64) -> Result<Option<crate::JobState>> {
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM postd_jobs WHERE id = ?1")
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

#[async_trait]
impl JobStore for SqliteJobStore {
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
fn writer(pool: &SqlitePool, clock: Arc<dyn Clock>) -> GroupCommit {
    let pool = pool.clone();
    GroupCommit::start(move |items| complete::run_batch(pool.clone(), Arc::clone(&clock), items))
}
