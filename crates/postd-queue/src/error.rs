//! The queue's own error type: callers decide retry versus alarm from the variant alone.

use crate::job::JobState;

/// What went wrong in a queue operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The caller's claim on the job is over: another claim took it (the fence
    /// moved on), or it is no longer running. The caller must stop working on
    /// the job and must not report its result; nothing was changed.
    #[error("the lease on job {id} is lost: another worker holds it, or it is no longer running")]
    LeaseLost {
        /// The job.
        id: i64,
    },

    /// No job has this id (it was never enqueued, or was purged).
    #[error("no job {id}")]
    NotFound {
        /// The job asked for.
        id: i64,
    },

    /// The job exists but is in a state the operation does not apply to.
    #[error("job {id} is {actual}, but the operation needs it {expected}")]
    InvalidState {
        /// The job.
        id: i64,
        /// Its state when the operation looked.
        actual: JobState,
        /// The state(s) the operation applies to, in words.
        expected: &'static str,
    },

    /// The database could not be reached or did not answer (down, locked,
    /// pool exhausted). Temporary: the same call may succeed later.
    #[error("job storage failed while {operation}")]
    Storage {
        /// What the store was doing.
        operation: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A stored row does not decode. Permanent: retrying reads the same bytes.
    /// `id` is 0 only if the id column itself is unreadable.
    #[error("job {id} is corrupt: column `{field}` does not decode")]
    Corrupt {
        /// The job whose row is corrupt.
        id: i64,
        /// The column that does not decode.
        field: &'static str,
    },

    /// The store or a request is misconfigured (an empty queue list, zero
    /// attempts, an unparsable database URL).
    #[error("queue configuration: {0}")]
    Config(String),
}

impl QueueError {
    /// Whether retrying the same call later can succeed (only [`QueueError::Storage`]).
    #[must_use]
    pub fn is_temporary(&self) -> bool {
        matches!(self, QueueError::Storage { .. })
    }

    pub(crate) fn storage(
        operation: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        QueueError::Storage {
            operation,
            source: Box::new(source),
        }
    }
}

/// `Result` with [`QueueError`].
pub type Result<T, E = QueueError> = std::result::Result<T, E>;
