//! # postd-engine
//!
//! The publishing pipeline: a service schedules a post to many accounts, and
//! each delivery goes out **exactly once, or lands, explained, in the
//! dead-letter queue** where a person can see and replay it.
//!
//! ```text
//! schedule(post, targets, at)
//!   -> one job per delivery (idempotency key: post/tenant/account/target)
//!      held in the queue until due, or handed to the platform's own
//!      scheduler at once where the target schedules natively
//! worker: claim (lease + fence) -> vault credentials (single-flight refresh)
//!   -> validate -> limits (holds, documented caps) -> publish
//!   -> Published: complete the job with the platform's post id (one statement)
//!   -> Pending:   poll publish_status as the same job, later, without spending an attempt
//!   -> UnknownOutcome: wait the settle time, then find_published before anything else
//!   -> RateLimited: hold the account, reschedule without spending an attempt
//!   -> temporary: retry at max(platform wait, backoff); permanent: dead with the reason
//! ```
//!
//! **Never twice.** No platform takes an idempotency key on create, so
//! before every publish the engine saves "a publish may be in flight" in the
//! job. Any later attempt that finds it (a lost answer, a crash, a worker
//! whose lease expired and was taken over) asks the platform with
//! [`find_published`](postd_core::Connector::find_published) first; a
//! platform that cannot answer sends the delivery to the dead-letter queue as
//! [`DeliveryState::Unconfirmed`] for a person to decide, never re-posting
//! blindly. A worker stopped past its lease and then resumed cannot complete
//! the job: the queue's fence refuses it, and it checks its lease before it
//! sends a publish.
//!
//! **One database.** Jobs (`postd-queue`), holds and caps live in the same
//! SQLite file or Postgres database for every engine process, so N workers on
//! N hosts share one budget (Postgres is the scale-out path).
//!
//! ```no_run
//! # async fn run() -> postd_core::Result<()> {
//! use std::sync::Arc;
//! use postd_engine::{Connectors, DeliveryTarget, Engine, EngineConfig};
//!
//! let jobs = Arc::new(postd_queue::SqliteJobStore::open("postd.db").await.map_err(postd_engine::queue_error)?);
//! let vault = postd_vault::TokenVault::from_env(postd_vault::VaultConfig::default()).await?;
//! let manager = postd_manager::ConnectorManager::from_env()?;
//! let engine = Engine::new(jobs, vault, Connectors::from_manager(&manager), EngineConfig::default());
//!
//! let post = postd_core::Post::new(postd_core::ClientRef::new("launch-1")?).with_text("We shipped");
//! let page = postd_core::Target::new(postd_core::TargetKind::FacebookPage, "1234");
//! engine.schedule_now(post, vec![DeliveryTarget::new("acme", "meta-main", page)]).await?;
//! // Until the service stops (a signal handler, in a real service).
//! engine.run_worker(tokio::time::sleep(std::time::Duration::from_secs(3600))).await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod config;
mod connectors;
mod delivery;
mod limits;
mod maintenance;
mod ops;
mod publish;
mod schedule;
mod worker;

use std::fmt;
use std::sync::Arc;

use postd_core::{Error, ErrorKind};
use postd_queue::{JobStore, QueueError};
use postd_vault::TokenVault;

pub use config::{Cap, CapScope, EngineConfig, default_caps};
pub use connectors::Connectors;
pub use delivery::{DeliveryState, DeliveryTarget, DeliveryView};
pub use ops::{PostStatus, Rescheduled};
pub use schedule::{Scheduled, ScheduledDelivery};
pub use worker::WorkerReport;

/// The pipeline. Cheap to clone; every clone shares the same stores.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: Arc<dyn JobStore>,
    vault: TokenVault,
    connectors: Connectors,
    config: EngineConfig,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("connectors", &self.inner.connectors)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over a job store, a vault and the connectors of every app.
    pub fn new(
        jobs: Arc<dyn JobStore>,
        vault: TokenVault,
        connectors: Connectors,
        config: EngineConfig,
    ) -> Self {
        Engine {
            inner: Arc::new(Inner {
                jobs,
                vault,
                connectors,
                config,
            }),
        }
    }

    /// The job store.
    pub fn jobs(&self) -> &Arc<dyn JobStore> {
        &self.inner.jobs
    }

    /// The vault.
    pub fn vault(&self) -> &TokenVault {
        &self.inner.vault
    }

    /// The connectors.
    pub fn connectors(&self) -> &Connectors {
        &self.inner.connectors
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }
}

/// A queue error as a POSTD error: a database that is down or locked is
/// temporary [`ErrorKind::Unavailable`]; anything else (a corrupt row, a lost
/// lease, a bad setting) keeps its meaning.
pub fn queue_error(e: QueueError) -> Error {
    let kind = match &e {
        QueueError::NotFound { .. } => ErrorKind::NotFound,
        QueueError::Config(_) => ErrorKind::Config,
        QueueError::InvalidState { .. } => ErrorKind::InvalidContent,
        _ if e.is_temporary() => ErrorKind::Unavailable,
        _ => ErrorKind::Unexpected,
    };
    Error::new(kind, e.to_string()).with_operation("engine.queue")
}

/// The group (post) key of a client reference.
pub(crate) fn group_of(client_ref: &str) -> String {
    format!("post:{client_ref}")
}
