//! Group commit for completions: concurrent `complete` calls that arrive
//! while a commit is being written share the next transaction, so a busy
//! worker pays one durable write (one fsync) per batch instead of per job.
//!
//! A caller that stops waiting does not take its completion back: once
//! handed over, it is written with the rest of its batch.

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
