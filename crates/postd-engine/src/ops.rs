//! What an operator can ask and do: the state of a post and each delivery,
//! cancel or reschedule a post that is not yet out, and the dead-letter
//! queue (list, inspect, replay, purge).

use chrono::{DateTime, TimeZone, Utc};
use postd_core::{Error, ErrorKind, Result};
use postd_queue::JobState;
use serde::Serialize;

use crate::delivery::{DeliveryState, DeliveryView};
use crate::{Engine, group_of, queue_error};

/// A post and its deliveries.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct PostStatus {
    /// The post's client reference.
    pub post: String,
    /// Its deliveries, in the order they were scheduled.
    pub deliveries: Vec<DeliveryView>,
}

impl PostStatus {
    /// Whether every delivery has ended (published, dead or cancelled).
    pub fn is_settled(&self) -> bool {
        self.deliveries.iter().all(|d| {
            matches!(
                d.state,
                DeliveryState::Published | DeliveryState::Dead | DeliveryState::Cancelled
            ) || (d.state == DeliveryState::Unconfirmed && d.dead_reason.is_some())
        })
    }
}

/// What [`Engine::reschedule_post`] did.
#[derive(Clone, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct Rescheduled {
    /// Deliveries moved to the new time.
    pub moved: Vec<i64>,
    /// Deliveries that could not move: already out, running, or handed to the
    /// platform's own scheduler (change those on the platform).
    pub not_moved: Vec<(i64, DeliveryState)>,
}

impl Engine {
    /// The state of a post and of each of its deliveries, with every attempt's classified error.
    pub async fn post_status(&self, client_ref: &str) -> Result<PostStatus> {
        let jobs = self
            .inner
            .jobs
            .list_group(&group_of(client_ref))
            .await
            .map_err(queue_error)?;
        if jobs.is_empty() {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no post {client_ref:?} was scheduled"),
            ));
        }
        Ok(PostStatus {
            post: client_ref.to_owned(),
            deliveries: jobs.iter().map(DeliveryView::of).collect(),
        })
    }

    /// One delivery.
    pub async fn delivery(&self, id: i64) -> Result<DeliveryView> {
        let job = self
            .inner
            .jobs
            .get(id)
            .await
            .map_err(queue_error)?
            .filter(|j| j.queue == self.inner.config.publish_queue)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no delivery {id}")))?;
        Ok(DeliveryView::of(&job))
    }

    /// Cancels every delivery of the post that has not started; returns how many.
    pub async fn cancel_post(&self, client_ref: &str) -> Result<u64> {
        self.inner
            .jobs
            .cancel_group(&group_of(client_ref))
            .await
            .map_err(queue_error)
    }

    /// Moves the post's deliveries that are still waiting for their time to `at`.
    pub async fn reschedule_post<Tz: TimeZone>(
        &self,
        client_ref: &str,
        at: DateTime<Tz>,
    ) -> Result<Rescheduled> {
        let at = at.with_timezone(&Utc);
        let status = self.post_status(client_ref).await?;
        let mut out = Rescheduled::default();
        for d in status.deliveries {
            // A native schedule carries its time to the platform: moving the job would not move it.
            if d.state == DeliveryState::Scheduled && !d.native {
                let moved = self
                    .inner
                    .jobs
                    .set_run_at(d.id, at)
                    .await
                    .map_err(queue_error)?;
                if moved {
                    out.moved.push(d.id);
                    continue;
                }
            }
            out.not_moved.push((d.id, d.state));
        }
        Ok(out)
    }

    /// The dead-letter queue, newest first.
    pub async fn dead(&self, limit: u32, offset: u32) -> Result<Vec<DeliveryView>> {
        let jobs = self
            .inner
            .jobs
            .list_dead(Some(&self.inner.config.publish_queue), limit, offset)
            .await
            .map_err(queue_error)?;
        Ok(jobs.iter().map(DeliveryView::of).collect())
    }

    /// Puts a dead delivery back in the queue. An unconfirmed one keeps its
    /// progress, so its next attempt asks the platform before publishing again.
    pub async fn replay(&self, id: i64) -> Result<DeliveryView> {
        let view = self.delivery(id).await?;
        if !matches!(view.state, DeliveryState::Dead | DeliveryState::Unconfirmed)
            || view.dead_reason.is_none()
        {
            return Err(Error::invalid_content(format!(
                "delivery {id} is {}, not in the dead-letter queue",
                view.state.as_str()
            )));
        }
        self.inner
            .jobs
            .replay(id, None)
            .await
            .map_err(queue_error)?;
        self.delivery(id).await
    }

    /// Deletes a dead delivery for good; returns whether it existed.
    pub async fn purge(&self, id: i64) -> Result<bool> {
        let job = self.inner.jobs.get(id).await.map_err(queue_error)?;
        match job {
            Some(j) if j.state == JobState::Dead => {
                self.inner.jobs.purge(id).await.map_err(queue_error)
            }
            Some(j) => Err(Error::invalid_content(format!(
                "delivery {id} is {}, not dead; only dead deliveries are purged",
                j.state.as_str()
            ))),
            None => Ok(false),
        }
    }
}
