//! One delivery attempt, in the order its steps run: read the progress;
//! reconcile or poll if a publish may already be on the platform; load
//! credentials; check the limits; publish; record the outcome in the
//! statement that releases the job.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use postd_core::{
    Connector, Credentials, Error, ErrorKind, PublishOutcome, PublishStatus, PublishedPost, Retry,
};
use postd_queue::{AttemptError, ClaimedJob, Failure, JobStore, QueueError};
use tracing::Instrument;

use crate::Engine;
use crate::delivery::{DeliveryJob, Outcome, Progress};
use crate::limits::{Scope, Verdict};

/// How an attempt ended, for the worker's counts and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    Published,
    Pending,
    Waiting,
    Retrying,
    Dead,
    LeaseLost,
}

impl Ended {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Ended::Published => "published",
            Ended::Pending => "pending",
            Ended::Waiting => "waiting",
            Ended::Retrying => "retrying",
            Ended::Dead => "dead",
            Ended::LeaseLost => "lease_lost",
        }
    }
}

impl Engine {
    /// Runs one claimed delivery job to the end of this attempt.
    pub(crate) async fn run_delivery(&self, job: ClaimedJob) -> Ended {
        let span = tracing::info_span!(
            "postd.delivery",
            job = job.id,
            attempt = job.attempt,
            platform = tracing::field::Empty,
            outcome = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let ended = self.attempt(job).instrument(span.clone()).await;
        span.record("outcome", ended.as_str());
        span.record(
            "latency_ms",
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        );
        ended
    }

    async fn attempt(&self, job: ClaimedJob) -> Ended {
        let run = Attempt {
            engine: self,
            jobs: &self.inner.jobs,
            id: job.id,
            fence: job.fence,
        };
        let delivery: DeliveryJob = match serde_json::from_value(job.payload.clone()) {
            Ok(d) => d,
            Err(e) => {
                // A payload no version of the engine can read: explained, not retried.
                let e = Error::new(
                    ErrorKind::Unexpected,
                    format!("the delivery does not decode: {e}"),
                );
                return match run.dead(&e, "corrupt delivery payload").await {
                    Ok(ended) => ended,
                    Err(_) => Ended::LeaseLost,
                };
            }
        };
        let platform = delivery.to.target.platform();
        tracing::Span::current().record("platform", platform.as_str());
        let progress = Progress::from_job(job.progress.as_ref());
        let heartbeat = Heartbeat::start(
            Arc::clone(&self.inner.jobs),
            job.id,
            job.fence,
            self.inner.config.lease,
        );
        // A previous attempt that left no word (it crashed, or its lease was
        // taken) may have published: the claim is the mark that one started.
        let unknown_prior = job.progress.is_none() && (job.attempt > 1 || job.reclaimed);
        let earliest = job.created_at.min(delivery.due_at);
        let result = self
            .steps(
                &run,
                &delivery,
                progress,
                unknown_prior.then_some(earliest),
                &heartbeat,
            )
            .await;
        drop(heartbeat);
        let ended = match result {
            Ok(ended) => ended,
            Err(Stop::LeaseLost) => Ended::LeaseLost,
            Err(Stop::Queue(e)) => {
                // The job stays leased; when the lease runs out another worker takes it up.
                tracing::warn!(error = %e, "the queue failed during a delivery");
                Ended::Retrying
            }
        };
        metrics::counter!("postd_engine_attempts_total", "platform" => platform.as_str(), "outcome" => ended.as_str()).increment(1);
        if ended == Ended::Published {
            let lag = (Utc::now() - delivery.due_at).to_std().unwrap_or_default();
            metrics::histogram!("postd_engine_schedule_to_published_seconds", "platform" => platform.as_str())
                .record(lag.as_secs_f64());
        }
        ended
    }

    async fn steps(
        &self,
        run: &Attempt<'_>,
        delivery: &DeliveryJob,
        progress: Progress,
        unknown_prior: Option<DateTime<Utc>>,
        heartbeat: &Heartbeat,
    ) -> Result<Ended, Stop> {
        let to = &delivery.to;
        let record = match self.inner.vault.record(&to.tenant, &to.account).await {
            Ok(r) => r,
            Err(e) => return run.fail(&e).await,
        };
        let connector = match self.inner.connectors.require(record.platform, &record.app) {
            Ok(c) => c,
            Err(e) => return run.fail(&e).await,
        };
        let creds = match self
            .inner
            .vault
            .fresh_credentials(&to.tenant, &to.account, Arc::clone(&connector))
            .await
        {
            Ok(c) => c,
            Err(e) => return run.fail(&e).await,
        };

        // A publish may already be on the platform: find out before anything else.
        match &progress {
            Progress::Processing {
                first_attempt_at,
                handle,
            } => {
                return self
                    .poll(run, connector.as_ref(), &creds, handle, *first_attempt_at)
                    .await;
            }
            p if p.may_have_published() || unknown_prior.is_some() => {
                let first = p
                    .first_attempt_at()
                    .or(unknown_prior)
                    .unwrap_or_else(Utc::now);
                match self
                    .reconcile(connector.as_ref(), &creds, delivery, first)
                    .await
                {
                    Ok(Some(post)) => return run.complete(post, true).await,
                    Ok(None) => {} // not there: publishing again is safe
                    Err(e) => return run.cannot_reconcile(&e, first).await,
                }
            }
            _ => {}
        }

        let first_attempt_at = progress.first_attempt_at().unwrap_or_else(Utc::now);
        let mut post = delivery.post.clone();
        // A native schedule that is no longer inside the platform's window is held here instead.
        if let Some(at) = post.schedule_at {
            let window = connector.capabilities_for(&to.target).native_scheduling;
            let ahead = (at - Utc::now()).to_std().unwrap_or_default();
            if window.is_none_or(|w| ahead < w.min_ahead) {
                post.schedule_at = None;
                if at > Utc::now() {
                    return run.wait_until(at, None).await;
                }
            }
        }
        if let Err(e) = connector.validate(&to.target, &post) {
            return run.dead(&e, "the post was refused before any call").await;
        }
        let scope = Scope {
            platform: record.platform,
            app: &record.app,
            tenant: &to.tenant,
            account: &to.account,
        };
        let taken = match self.check_limits(&scope).await {
            Ok(Verdict::Go(taken)) => taken,
            Ok(Verdict::WaitUntil(until)) => return run.wait_until(until, None).await,
            Err(e) => return run.fail(&e).await,
        };

        // From here a publish may reach the platform: only with the lease
        // still ours (a read of the fence; the claim itself is the mark that
        // an attempt started, so a crash from here on is reconciled).
        if heartbeat.lost() || !run.still_ours().await {
            self.give_back(&taken).await;
            return Err(Stop::LeaseLost);
        }
        let outcome = connector.publish(&creds, &to.target, &post).await;
        match outcome {
            Ok(PublishOutcome::Published(p)) => run.complete(p, false).await,
            Ok(PublishOutcome::Pending(handle)) => {
                let next = Progress::Processing {
                    first_attempt_at,
                    handle,
                };
                let wait = self.inner.config.idle_poll.max(Duration::from_secs(1));
                run.wait_until(poll_at(Utc::now(), wait), Some(&next))
                    .await
                    .map(|_| Ended::Pending)
            }
            Ok(_) => {
                run.fail(&Error::unexpected(
                    "the connector answered an outcome this engine does not know",
                ))
                .await
            }
            Err(e) => {
                self.after_failed_publish(run, &scope, &taken, &e, first_attempt_at)
                    .await
            }
        }
    }

    async fn after_failed_publish(
        &self,
        run: &Attempt<'_>,
        scope: &Scope<'_>,
        taken: &[(String, Duration)],
        e: &Error,
        first_attempt_at: DateTime<Utc>,
    ) -> Result<Ended, Stop> {
        match e.kind() {
            ErrorKind::UnknownOutcome => {
                // It may be on the platform: ask after the settle wait, never re-post blindly.
                let next = Progress::Unconfirmed {
                    first_attempt_at,
                    reason: e.to_string(),
                };
                run.save(&next).await?;
                run.fail_after(e, self.inner.config.settle_wait).await
            }
            ErrorKind::Duplicate => {
                // The platform says it already has this post: the delivery is done
                // if it can be found; otherwise a person decides.
                let next = Progress::Unconfirmed {
                    first_attempt_at,
                    reason: e.to_string(),
                };
                run.save(&next).await?;
                run.fail_after(e, Duration::ZERO).await
            }
            ErrorKind::RateLimited => {
                self.give_back(taken).await;
                let wait = e.retry_after().unwrap_or(self.inner.config.retry_base);
                let until = poll_at(Utc::now(), wait);
                self.hold(&scope.account_key(), until).await;
                run.save(&Progress::Idle {
                    first_attempt_at: Some(first_attempt_at),
                })
                .await?;
                // A wait is not a failed attempt.
                run.wait_until(until, None).await
            }
            _ => {
                // Refused before it applied: nothing is on the platform.
                self.give_back(taken).await;
                run.save(&Progress::Idle {
                    first_attempt_at: Some(first_attempt_at),
                })
                .await?;
                run.fail(e).await
            }
        }
    }

    /// Asks the platform whether the post is there (after a lost answer, a crash or a stall).
    async fn reconcile(
        &self,
        connector: &dyn Connector,
        creds: &Credentials,
        delivery: &DeliveryJob,
        first_attempt_at: DateTime<Utc>,
    ) -> postd_core::Result<Option<PublishedPost>> {
        let fingerprint = delivery.post.fingerprint(first_attempt_at);
        let found = connector
            .find_published(creds, &delivery.to.target, &fingerprint)
            .await;
        metrics::counter!(
            "postd_engine_reconciliations_total",
            "platform" => delivery.to.target.platform().as_str(),
            "outcome" => match &found { Ok(Some(_)) => "found", Ok(None) => "absent", Err(_) => "error" },
        )
        .increment(1);
        found
    }

    /// Goes on with a publish the platform is processing.
    async fn poll(
        &self,
        run: &Attempt<'_>,
        connector: &dyn Connector,
        creds: &Credentials,
        handle: &postd_core::PublishHandle,
        first_attempt_at: DateTime<Utc>,
    ) -> Result<Ended, Stop> {
        match connector.publish_status(creds, handle).await {
            Ok(PublishStatus::Published(p)) => run.complete(p, false).await,
            Ok(PublishStatus::Processing {
                retry_after, next, ..
            }) => {
                let progress = Progress::Processing {
                    first_attempt_at,
                    handle: next,
                };
                let at = poll_at(Utc::now(), retry_after);
                run.wait_until(at, Some(&progress))
                    .await
                    .map(|_| Ended::Pending)
            }
            Ok(PublishStatus::Failed {
                kind,
                code,
                message,
            }) => {
                let e = Error::new(kind, message).with_code(code);
                if kind == ErrorKind::UnknownOutcome {
                    run.save(&Progress::Unconfirmed {
                        first_attempt_at,
                        reason: e.to_string(),
                    })
                    .await?;
                }
                run.dead(&e, "the platform gave up on it").await
            }
            Ok(_) => {
                run.fail(&Error::unexpected(
                    "the connector answered a status this engine does not know",
                ))
                .await
            }
            // Asking again is harmless: the handle is kept.
            Err(e) => run.fail(&e).await,
        }
    }
}

/// Why an attempt stopped without recording its end.
pub(crate) enum Stop {
    /// The job's lease went to another worker: it reconciles.
    LeaseLost,
    /// The queue itself failed.
    Queue(QueueError),
}

impl From<QueueError> for Stop {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::LeaseLost { .. } => Stop::LeaseLost,
            other => Stop::Queue(other),
        }
    }
}

/// The job being worked on, and the statements that end an attempt.
struct Attempt<'a> {
    engine: &'a Engine,
    jobs: &'a Arc<dyn JobStore>,
    id: i64,
    fence: i64,
}

impl Attempt<'_> {
    /// Whether the job is still leased to this attempt (its fence unchanged).
    async fn still_ours(&self) -> bool {
        matches!(
            self.jobs.get(self.id).await,
            Ok(Some(j)) if j.fence == self.fence && j.state == postd_queue::JobState::Running
        )
    }

    async fn save(&self, progress: &Progress) -> Result<(), Stop> {
        self.jobs
            .save_progress(self.id, self.fence, progress.to_value())
            .await
            .map_err(Stop::from)
    }

    /// Published: the platform's post id goes in the statement that completes the job.
    async fn complete(&self, post: PublishedPost, reconciled: bool) -> Result<Ended, Stop> {
        let outcome = Outcome {
            post,
            published_at: Utc::now(),
            reconciled,
        };
        let value = serde_json::to_value(&outcome).unwrap_or(serde_json::Value::Null);
        self.jobs
            .complete(self.id, self.fence, Some(value))
            .await
            .map_err(Stop::from)?;
        Ok(Ended::Published)
    }

    /// Waits without spending an attempt (a rate limit, a hold, a platform still processing).
    async fn wait_until(
        &self,
        at: DateTime<Utc>,
        progress: Option<&Progress>,
    ) -> Result<Ended, Stop> {
        self.jobs
            .reschedule(
                self.id,
                self.fence,
                at,
                progress.map(Progress::to_value),
                true,
            )
            .await
            .map_err(Stop::from)?;
        Ok(Ended::Waiting)
    }

    /// A failed attempt: retried if the error is temporary, dead if not.
    async fn fail(&self, e: &Error) -> Result<Ended, Stop> {
        match e.retry() {
            Retry::Temporary { after } => self.fail_after(e, after.unwrap_or(Duration::ZERO)).await,
            // Temporary, with the HTTP client's own retries spent: the queue tries again later.
            Retry::Exhausted => self.fail_after(e, Duration::ZERO).await,
            _ => self.dead(e, "a permanent error").await,
        }
    }

    /// A retry no sooner than `after` (the queue adds its backoff and goes dead past the attempts).
    async fn fail_after(&self, e: &Error, after: Duration) -> Result<Ended, Stop> {
        let outcome = self
            .jobs
            .fail(
                self.id,
                self.fence,
                Failure::retry_after(attempt_error(e), after),
            )
            .await
            .map_err(Stop::from)?;
        Ok(match outcome {
            postd_queue::FailOutcome::Dead { .. } => Ended::Dead,
            _ => Ended::Retrying,
        })
    }

    async fn dead(&self, e: &Error, why: &str) -> Result<Ended, Stop> {
        let reason = format!("{why}: {} ({})", e, e.kind());
        self.jobs
            .fail(self.id, self.fence, Failure::dead(attempt_error(e), reason))
            .await
            .map_err(Stop::from)?;
        Ok(Ended::Dead)
    }

    /// Reconciliation failed. A platform that cannot say (no way to list
    /// posts, a post without text) sends the delivery to a person as
    /// unconfirmed; a temporary failure asks again later.
    async fn cannot_reconcile(
        &self,
        e: &Error,
        first_attempt_at: DateTime<Utc>,
    ) -> Result<Ended, Stop> {
        if e.is_temporary() || e.retry() == Retry::Exhausted {
            return self
                .fail_after(e, self.engine.inner.config.settle_wait)
                .await;
        }
        self.save(&Progress::Unconfirmed {
            first_attempt_at,
            reason: e.to_string(),
        })
        .await?;
        self.dead(e, "unconfirmed: the platform cannot tell whether the post exists; check the account, then replay or purge")
            .await
    }
}

fn attempt_error(e: &Error) -> AttemptError {
    let mut a = AttemptError::new(e.kind().as_str(), e.to_string());
    if let Some(code) = e.platform_code() {
        a = a.with_code(code);
    }
    if let Some(status) = e.http_status() {
        a = a.with_status(status);
    }
    a
}

/// Renews the lease every third of it while an attempt runs; remembers a
/// lease taken by another worker.
struct Heartbeat {
    lost: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    fn start(jobs: Arc<dyn JobStore>, id: i64, fence: i64, lease: Duration) -> Heartbeat {
        let lost = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        let every = (lease / 3).max(Duration::from_millis(10));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match jobs.heartbeat(id, fence, lease).await {
                    Ok(_) => {}
                    Err(QueueError::LeaseLost { .. }) => {
                        flag.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => tracing::warn!(job = id, error = %e, "heartbeat failed"),
                }
            }
        });
        Heartbeat { lost, task }
    }

    fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// When to ask about a pending publish (or try a rate-limited one) again: `retry_after` from now, at
/// most [`MAX_RETRY_WAIT`](postd_core::error::MAX_RETRY_WAIT) (a connector's
/// hint can come from a platform's answer, and an absurd one must neither
/// overflow the clock nor park the delivery for ever).
fn poll_at(now: DateTime<Utc>, retry_after: Duration) -> DateTime<Utc> {
    let wait = retry_after.min(postd_core::error::MAX_RETRY_WAIT);
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(now)
}

#[cfg(test)]
mod poll_tests {
    use super::*;

    #[test]
    fn an_absurd_processing_wait_is_cut_to_the_maximum_and_does_not_overflow() {
        let now = Utc::now();
        let max = chrono::Duration::from_std(postd_core::error::MAX_RETRY_WAIT).unwrap();
        assert_eq!(poll_at(now, Duration::MAX), now + max);
        assert_eq!(poll_at(now, Duration::from_secs(u64::MAX / 2)), now + max);
        assert_eq!(
            poll_at(now, Duration::from_secs(5)),
            now + chrono::Duration::seconds(5)
        );
    }
}
