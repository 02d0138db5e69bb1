//! Group commit for completions: concurrent `complete` calls that arrive
//! while a commit is being written share the next transaction, so a busy
//! worker pays one durable write (one fsync) per batch instead of per job.
//!
//! A caller that stops waiting does not take its completion back: once
//! handed over, it is written with the rest of its batch.

use std::collections::HashMap;
use std::future::Future;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::error::{QueueError, Result};

/// Most completions one transaction carries.
const MAX_BATCH: usize = 256;

/// One job to complete: `(id, fence, outcome)`.
pub(crate) type Item = (i64, i64, Option<Value>);

struct Completion {
    item: Item,
    reply: oneshot::Sender<Result<()>>,
}

/// Answers each job of a batch written by one statement. `done` is the
/// statement's outcome: the `(id, queue)` of every row it completed. A job
/// it did not complete gets what `lost(id)` says (its lease is gone, or the
/// job is); a statement that failed fails every job of the batch as the
/// same temporary storage failure.
pub(crate) async fn answer<E, F, Fut>(
    ids: &[i64],
    done: std::result::Result<Vec<(i64, String)>, E>,
    lost: F,
) -> Vec<Result<()>>
where
    E: std::error::Error + Send + Sync + 'static,
    F: Fn(i64) -> Fut,
    Fut: Future<Output = QueueError>,
{
    let done = match done {
        Ok(rows) => rows,
        Err(e) => {
            // The driver's error is not Clone: every caller gets its text.
            let failure = BatchFailed(e.to_string());
            return ids
                .iter()
                .map(|_| Err(QueueError::storage("completing jobs", failure.clone())))
                .collect();
        }
    };
    let completed: HashMap<i64, String> = done.into_iter().collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(match completed.get(id) {
            Some(queue) => {
                metrics::counter!("postd_queue_completed_total", "queue" => queue.clone())
                    .increment(1);
                Ok(())
            }
            None => Err(lost(*id).await),
        });
    }
    out
}

/// The failure of a batch's statement, as every job of the batch reports it.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
struct BatchFailed(String);

/// The sending side; the writer task ends when every clone is dropped.
#[derive(Clone, Debug)]
pub(crate) struct GroupCommit {
    tx: mpsc::UnboundedSender<Completion>,
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("id", &self.item.0)
            .finish()
    }
}

impl GroupCommit {
    /// Starts the writer: `commit` writes a batch in one transaction and
    /// answers each item, in order. Must be called inside a Tokio runtime.
    pub(crate) fn start<F, Fut>(commit: F) -> Self
    where
        F: Fn(Vec<Item>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<()>>> + Send,
    {
        let (tx, mut rx) = mpsc::unbounded_channel::<Completion>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(c) => batch.push(c),
                        Err(_) => break,
                    }
                }
                let (items, replies): (Vec<Item>, Vec<_>) =
                    batch.into_iter().map(|c| (c.item, c.reply)).unzip();
                let n = items.len();
                let mut results = commit(items).await;
                results.resize_with(n, || {
                    Err(QueueError::Config("a completion got no answer".to_owned()))
                });
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result);
                }
            }
        });
        GroupCommit { tx }
    }

    /// Completes a job with the next batch.
    pub(crate) async fn complete(&self, id: i64, fence: i64, outcome: Option<Value>) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Completion {
                item: (id, fence, outcome),
                reply,
            })
            .map_err(|_| QueueError::Config("the job store's writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| QueueError::Config("the job store's writer has stopped".to_owned()))?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn a_failed_batch_is_a_temporary_storage_failure_for_every_job() {
        let failed: std::result::Result<Vec<(i64, String)>, std::io::Error> =
            Err(std::io::Error::other("disk I/O error"));
        let out = answer(&[1, 2, 3], failed, |id| async move {
            QueueError::NotFound { id }
        })
        .await;
        assert_eq!(out.len(), 3);
        for r in out {
            let e = r.unwrap_err();
            assert!(matches!(e, QueueError::Storage { .. }), "{e:?}");
            assert!(e.is_temporary());
            let source = std::error::Error::source(&e).unwrap().to_string();
            assert_eq!(source, "disk I/O error");
        }
    }

    #[tokio::test]
    async fn each_job_is_answered_by_whether_the_statement_completed_it() {
        let done: std::result::Result<_, std::io::Error> = Ok(vec![(2, "q".to_owned())]);
        let out = answer(
            &[1, 2],
            done,
            |id| async move { QueueError::LeaseLost { id } },
        )
        .await;
        assert!(matches!(out[0], Err(QueueError::LeaseLost { id: 1 })));
        assert!(out[1].is_ok());
    }
}
