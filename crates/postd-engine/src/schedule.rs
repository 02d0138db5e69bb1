//! `schedule`: a post and its deliveries into the queue.

use chrono::{DateTime, TimeZone, Utc};
use postd_core::{Error, ErrorKind, Post, Result};
use postd_queue::NewJob;
use serde::Serialize;

use crate::delivery::{DeliveryJob, DeliveryTarget};
use crate::{Engine, group_of, queue_error};

/// What [`Engine::schedule`] did.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Scheduled {
    /// The post's client reference.
    pub post: String,
    /// One entry per delivery, in the order given.
    pub deliveries: Vec<ScheduledDelivery>,
}

/// One delivery of a scheduled post.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ScheduledDelivery {
    /// The delivery's id.
    pub id: i64,
    /// Where it goes.
    pub to: DeliveryTarget,
    /// When a worker takes it up.
    pub run_at: DateTime<Utc>,
    /// The platform schedules it itself: it is handed over at once, with the time.
    pub native: bool,
    /// The same delivery was scheduled before: nothing new was queued.
    pub duplicate: bool,
}

impl Engine {
    /// Stores `post` and one delivery per target, due at `at` (any time zone,
    /// stored as UTC; a time already past means now).
    ///
    /// Every delivery is checked first, without I/O beyond reading the
    /// accounts: the post must be storable (media from files or URLs), every
    /// account known to the vault and its app's connector present, and every
    /// target able to take the post. If any is not, nothing is queued and the
    /// error lists every reason. A target that schedules natively (a Facebook
    /// Page, when `at` is inside its window) is handed the time at once;
    /// every other delivery is held in the queue until `at`, and none runs early.
    ///
    /// Scheduling the same post (same client reference) to the same target
    /// again queues nothing new: the delivery says it is a duplicate.
    pub async fn schedule<Tz: TimeZone>(
        &self,
        post: Post,
        targets: Vec<DeliveryTarget>,
        at: DateTime<Tz>,
    ) -> Result<Scheduled> {
        self.schedule_at(post, targets, Some(at.with_timezone(&Utc)))
            .await
    }

    /// [`schedule`](Self::schedule) for now.
    pub async fn schedule_now(
        &self,
        post: Post,
        targets: Vec<DeliveryTarget>,
    ) -> Result<Scheduled> {
        self.schedule_at(post, targets, None).await
    }

    async fn schedule_at(
        &self,
        post: Post,
        targets: Vec<DeliveryTarget>,
        at: Option<DateTime<Utc>>,
    ) -> Result<Scheduled> {
        let now = Utc::now();
        let due = at.filter(|t| *t > now);
        post.check_persistable()?;
        if targets.is_empty() {
            return Err(Error::invalid_content("a post needs at least one target"));
        }
        let mut problems = Vec::new();
        let mut jobs = Vec::with_capacity(targets.len());
        let mut plan = Vec::with_capacity(targets.len());
        for to in targets {
            match self.plan_delivery(&post, &to, due, now).await {
                Ok((job, run_at, native)) => {
                    jobs.push(job);
                    plan.push((to, run_at, native));
                }
                Err(e) => problems.push(format!(
                    "{}/{} -> {}: {}",
                    to.tenant,
                    to.account,
                    to.target.id,
                    e.message()
                )),
            }
        }
        if !problems.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidContent,
                format!(
                    "nothing was scheduled; {} of {} deliveries cannot go: {}",
                    problems.len(),
                    problems.len() + plan.len(),
                    problems.join("; ")
                ),
            )
            .with_operation("engine.schedule"));
        }
        let queued = self
            .inner
            .jobs
            .enqueue_many(jobs)
            .await
            .map_err(queue_error)?;
        let deliveries = queued
            .into_iter()
            .zip(plan)
            .map(|(q, (to, run_at, native))| ScheduledDelivery {
                id: q.id,
                to,
                run_at,
                native,
                duplicate: q.duplicate,
            })
            .collect();
        metrics::counter!("postd_engine_scheduled_total").increment(1);
        Ok(Scheduled {
            post: post.client_ref.to_string(),
            deliveries,
        })
    }

    /// Checks one delivery and builds its job: `(job, run_at, native)`.
    async fn plan_delivery(
        &self,
        post: &Post,
        to: &DeliveryTarget,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(NewJob, DateTime<Utc>, bool)> {
        let record = self.inner.vault.record(&to.tenant, &to.account).await?;
        if record.platform != to.target.platform() {
            return Err(Error::invalid_content(format!(
                "the account is a {} account; the target is a {} target",
                record.platform,
                to.target.platform()
            )));
        }
        let connector = self
            .inner
            .connectors
            .require(record.platform, &record.app)?;
        let caps = connector.capabilities_for(&to.target);
        let native = due.is_some_and(|at| {
            caps.native_scheduling.is_some_and(|w| {
                let ahead = (at - now).to_std().unwrap_or_default();
                ahead >= w.min_ahead && ahead <= w.max_ahead
            })
        });
        let mut sent = post.clone();
        sent.schedule_at = if native { due } else { None };
        connector.validate(&to.target, &sent)?;
        let run_at = if native { now } else { due.unwrap_or(now) };
        let payload = DeliveryJob {
            v: 1,
            post: sent,
            to: to.clone(),
            due_at: due.unwrap_or(now),
        };
        let payload = serde_json::to_value(&payload)
            .map_err(|e| Error::invalid_content(format!("the post cannot be stored: {e}")))?;
        let key = format!(
            "{}/{}/{}/{}",
            post.client_ref, to.tenant, to.account, to.target.id
        );
        let job = NewJob::new(&self.inner.config.publish_queue, payload)
            .with_run_at(run_at)
            .with_max_attempts(self.inner.config.max_attempts)
            .with_idempotency_key(key)
            .with_group(group_of(post.client_ref.as_str()));
        Ok((job, run_at, native))
    }
}
