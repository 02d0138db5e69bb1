//! What a delivery is: the job payload, the progress it keeps between
//! attempts, and the state an operator sees.

use chrono::{DateTime, Utc};
use postd_core::{Platform, Post, PublishHandle, PublishedPost, Target};
use postd_queue::{ErrorRecord, Job, JobState};
use serde::{Deserialize, Serialize};

/// Where one delivery of a post goes: a stored account and one of its targets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeliveryTarget {
    /// The tenant the account belongs to (in the vault).
    pub tenant: String,
    /// The account (in the vault).
    pub account: String,
    /// The page, account, organization or location to publish to.
    pub target: Target,
}

impl DeliveryTarget {
    /// A delivery to `target` with `tenant`'s `account`.
    pub fn new(tenant: impl Into<String>, account: impl Into<String>, target: Target) -> Self {
        DeliveryTarget {
            tenant: tenant.into(),
            account: account.into(),
            target,
        }
    }
}

/// The payload of a delivery job. Versioned so a job queued by this version
/// still reads after an upgrade.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct DeliveryJob {
    #[serde(default = "one")]
    pub(crate) v: u32,
    pub(crate) post: Post,
    pub(crate) to: DeliveryTarget,
    /// When the post is due (what the caller asked for, in UTC).
    pub(crate) due_at: DateTime<Utc>,
}

fn one() -> u32 {
    1
}

/// What a delivery has done so far, kept in the job between attempts.
///
/// It says whether a publish may have reached the platform. A job claimed
/// again with no progress at all (its last attempt crashed or lost its lease)
/// is treated as "may have": the claim is the mark that an attempt started.
/// [`Progress::Idle`] says the last attempt was refused before it applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub(crate) enum Progress {
    /// Nothing is in flight: the last attempt was refused before it applied.
    Idle {
        #[serde(default)]
        first_attempt_at: Option<DateTime<Utc>>,
    },
    /// The platform's answer was lost: reconcile before anything else.
    Unconfirmed {
        first_attempt_at: DateTime<Utc>,
        reason: String,
    },
    /// The platform is processing: ask `publish_status` with this handle.
    Processing {
        first_attempt_at: DateTime<Utc>,
        handle: PublishHandle,
    },
}

impl Progress {
    pub(crate) fn from_job(progress: Option<&serde_json::Value>) -> Progress {
        progress
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or(Progress::Idle {
                first_attempt_at: None,
            })
    }

    pub(crate) fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// When the first publish of this delivery was attempted.
    pub(crate) fn first_attempt_at(&self) -> Option<DateTime<Utc>> {
        match self {
            Progress::Idle { first_attempt_at } => *first_attempt_at,
            Progress::Unconfirmed {
                first_attempt_at, ..
            }
            | Progress::Processing {
                first_attempt_at, ..
            } => Some(*first_attempt_at),
        }
    }

    /// Whether a publish may have reached the platform without an answer.
    pub(crate) fn may_have_published(&self) -> bool {
        matches!(self, Progress::Unconfirmed { .. })
    }
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its time (or for a native schedule to be handed over).
    Scheduled,
    /// A worker is on it.
    Publishing,
    /// The platform is processing it; `publish_status` is polled.
    Pending,
    /// The outcome of a publish is unknown: it is reconciled before any
    /// retry, and dead-lettered for a person if it cannot be.
    Unconfirmed,
    /// Live on the platform (or natively scheduled there).
    Published,
    /// The last attempt failed; it will be retried.
    Failed,
    /// Given up: in the dead-letter queue with its reason.
    Dead,
    /// Cancelled before it went out.
    Cancelled,
}

impl DeliveryState {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Scheduled => "scheduled",
            DeliveryState::Publishing => "publishing",
            DeliveryState::Pending => "pending",
            DeliveryState::Unconfirmed => "unconfirmed",
            DeliveryState::Published => "published",
            DeliveryState::Failed => "failed",
            DeliveryState::Dead => "dead",
            DeliveryState::Cancelled => "cancelled",
        }
    }
}

/// The outcome stored with a completed delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub(crate) post: PublishedPost,
    pub(crate) published_at: DateTime<Utc>,
    /// Found by reconciliation after an unknown outcome, rather than answered.
    #[serde(default)]
    pub(crate) reconciled: bool,
}

/// One delivery, as an operator sees it.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DeliveryView {
    /// The delivery's id (its job's).
    pub id: i64,
    /// The post's client reference.
    pub post: Option<String>,
    /// The platform.
    pub platform: Option<Platform>,
    /// Tenant, account and target.
    pub to: Option<DeliveryTarget>,
    /// Where it stands.
    pub state: DeliveryState,
    /// When it is (or was) due.
    pub due_at: Option<DateTime<Utc>>,
    /// The platform schedules it itself (it was handed the time).
    pub native: bool,
    /// When the next attempt runs, while it is waiting.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Attempts made (a stall counts as one).
    pub attempts: u32,
    /// Expired leases taken over.
    pub stalls: u32,
    /// The platform's post, once published.
    pub published: Option<PublishedPost>,
    /// When it was published.
    pub published_at: Option<DateTime<Utc>>,
    /// Found by reconciliation after an unknown outcome.
    pub reconciled: bool,
    /// Why it is dead, when it is.
    pub dead_reason: Option<String>,
    /// Every attempt's classified error (redacted by the connectors), oldest first.
    pub errors: Vec<ErrorRecord>,
}

impl DeliveryView {
    pub(crate) fn of(job: &Job) -> DeliveryView {
        let payload: Option<DeliveryJob> = serde_json::from_value(job.payload.clone()).ok();
        let progress = Progress::from_job(job.progress.as_ref());
        let outcome: Option<Outcome> = job
            .outcome
            .as_ref()
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let state = match job.state {
            JobState::Completed => DeliveryState::Published,
            JobState::Cancelled => DeliveryState::Cancelled,
            JobState::Running => DeliveryState::Publishing,
            JobState::Dead if progress.may_have_published() => DeliveryState::Unconfirmed,
            // It went dead when a lease expired on its last attempt, leaving
            // no word of how far that attempt got.
            JobState::Dead
                if job.progress.is_none()
                    && job.errors.last().is_some_and(|e| e.kind == "stalled") =>
            {
                DeliveryState::Unconfirmed
            }
            JobState::Dead => DeliveryState::Dead,
            JobState::Pending => match progress {
                Progress::Processing { .. } => DeliveryState::Pending,
                Progress::Unconfirmed { .. } => DeliveryState::Unconfirmed,
                _ if !job.errors.is_empty() => DeliveryState::Failed,
                _ => DeliveryState::Scheduled,
            },
        };
        let waiting = matches!(job.state, JobState::Pending);
        DeliveryView {
            id: job.id,
            post: payload.as_ref().map(|p| p.post.client_ref.to_string()),
            platform: payload.as_ref().map(|p| p.to.target.platform()),
            to: payload.as_ref().map(|p| p.to.clone()),
            state,
            due_at: payload.as_ref().map(|p| p.due_at),
            native: payload
                .as_ref()
                .is_some_and(|p| p.post.schedule_at.is_some()),
            next_run_at: waiting.then_some(job.run_at),
            attempts: job.attempts,
            stalls: job.stalls,
            published: outcome.as_ref().map(|o| o.post.clone()),
            published_at: outcome.as_ref().map(|o| o.published_at),
            reconciled: outcome.as_ref().is_some_and(|o| o.reconciled),
            dead_reason: job.dead_reason.clone(),
            errors: job.errors.clone(),
        }
    }
}
