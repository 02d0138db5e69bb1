//! wait_for_work: sleep until this process writes work, the next job falls
//! due, or the poll interval (the timeout) ends.

use std::time::Duration;

use super::SqliteJobStore;
use crate::error::{QueueError, Result};
use crate::job::Wake;
use crate::wait::wait_loop;

/// The earliest instant a job in the queue is or becomes claimable: a
/// pending job's run_at, or a running job's lease expiry. One queue per
/// statement so each `MIN` is a single index seek.
const NEXT: &str = "SELECT
        (SELECT MIN(run_at) FROM postd_jobs WHERE state = 'pending' AND queue = ?1),
        (SELECT MIN(lease_expires_at) FROM postd_jobs WHERE state = 'running' AND queue = ?1)";

pub(super) async fn run(
    store: &SqliteJobStore,
    queues: &[String],
    timeout: Duration,
) -> Result<Wake> {
    if queues.is_empty() {
        return Err(QueueError::Config(
            "waiting needs at least one queue".into(),
        ));
    }
    wait_loop(&store.signal, store.clock.as_ref(), timeout, || async {
        let mut earliest: Option<i64> = None;
        for queue in queues {
            let (due, lease): (Option<i64>, Option<i64>) = sqlx::query_as(NEXT)
                .bind(queue)
                .fetch_one(&store.pool)
                .await
                .map_err(|e| QueueError::storage("looking for due jobs", e))?;
            for at in [due, lease].into_iter().flatten() {
                earliest = Some(earliest.map_or(at, |e: i64| e.min(at)));
            }
        }
        Ok(earliest)
    })
    .await
}
