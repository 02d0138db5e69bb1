//! The worker loop: claim, run up to `concurrency` deliveries at once,
//! enqueue the maintenance jobs, and stop gracefully.

use std::future::Future;
use std::time::{Duration, Instant};

use postd_core::Result;
use postd_queue::{ClaimRequest, ClaimedJob};
use serde::Serialize;
use tokio::task::JoinSet;

use crate::publish::Ended;
use crate::{Engine, queue_error};

/// What a worker did before it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WorkerReport {
    /// Deliveries published (or handed to a native scheduler).
    pub published: u64,
    /// Attempts that left a delivery waiting on the platform (processing).
    pub pending: u64,
    /// Attempts that waited without spending an attempt (rate limits, holds, due later).
    pub waiting: u64,
    /// Attempts that failed and will be retried.
    pub retrying: u64,
    /// Deliveries that went to the dead-letter queue.
    pub dead: u64,
    /// Attempts whose lease another worker took (it reconciles).
    pub lease_lost: u64,
    /// Maintenance jobs run.
    pub maintenance: u64,
    /// Deliveries still running when the shutdown grace ran out (their leases
    /// expire and another worker takes them up, reconciling first).
    pub abandoned: u64,
}

impl WorkerReport {
    fn count(&mut self, ended: Ended) {
        match ended {
            Ended::Published => self.published += 1,
            Ended::Pending => self.pending += 1,
            Ended::Waiting => self.waiting += 1,
            Ended::Retrying => self.retrying += 1,
            Ended::Dead => self.dead += 1,
            Ended::LeaseLost => self.lease_lost += 1,
        }
    }
}

enum Done {
    Delivery(Ended),
    Maintenance,
}

impl Engine {
    /// Runs deliveries until `shutdown` resolves, then stops claiming, lets
    /// the running ones finish for up to [`shutdown_grace`](crate::EngineConfig::shutdown_grace),
    /// and returns what it did.
    pub async fn run_worker(&self, shutdown: impl Future<Output = ()>) -> Result<WorkerReport> {
        let cfg = &self.inner.config;
        let queues = vec![cfg.publish_queue.clone(), cfg.maintenance_queue.clone()];
        let mut report = WorkerReport::default();
        let mut running: JoinSet<Done> = JoinSet::new();
        let mut next_maintenance = Instant::now();
        tokio::pin!(shutdown);
        loop {
            if Instant::now() >= next_maintenance {
                if let Err(e) = self.enqueue_maintenance().await {
                    tracing::warn!(error = %e, "could not enqueue maintenance jobs");
                }
                next_maintenance = Instant::now() + cfg.maintenance_every;
            }
            let free = cfg.concurrency.saturating_sub(running.len());
            // Claim in batches: once a quarter of the slots are free (or none
            // is busy), not one job each time one finishes.
            let refill = (cfg.concurrency / 4).max(1);
            let mut claimed = 0;
            if free >= refill || (free > 0 && running.is_empty()) {
                let request = ClaimRequest::new(queues.clone(), cfg.worker_id.clone())
                    .with_limit(u32::try_from(free).unwrap_or(u32::MAX))
                    .with_lease(cfg.lease);
                match self.inner.jobs.claim(&request).await {
                    Ok(jobs) => {
                        claimed = jobs.len();
                        for job in jobs {
                            self.spawn(&mut running, job);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "claim failed");
                    }
                }
            }
            if claimed == free && free > 0 {
                // A full batch: there may be more due right now.
                while let Some(done) = running.try_join_next() {
                    Self::tally(&mut report, done);
                }
                continue;
            }
            let waiting_for_slots = free < refill && !running.is_empty();
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = running.join_next(), if !running.is_empty() => {
                    Self::tally(&mut report, done);
                }
                _ = self.inner.jobs.wait_for_work(&queues, cfg.idle_poll), if !waiting_for_slots => {}
                () = tokio::time::sleep(cfg.idle_poll), if waiting_for_slots => {}
            }
        }
        // Graceful shutdown: no new claims; finish what runs, within the grace.
        let deadline = tokio::time::Instant::now() + cfg.shutdown_grace;
        while !running.is_empty() {
            match tokio::time::timeout_at(deadline, running.join_next()).await {
                Ok(Some(done)) => Self::tally(&mut report, done),
                Ok(None) => break,
                Err(_) => {
                    report.abandoned = running.len() as u64;
                    running.abort_all();
                    break;
                }
            }
        }
        Ok(report)
    }

    fn spawn(&self, running: &mut JoinSet<Done>, job: ClaimedJob) {
        let engine = self.clone();
        let maintenance = job.queue == self.inner.config.maintenance_queue;
        running.spawn(async move {
            if maintenance {
                engine.run_maintenance(job).await;
                Done::Maintenance
            } else {
                Done::Delivery(engine.run_delivery(job).await)
            }
        });
    }

    fn tally(report: &mut WorkerReport, done: std::result::Result<Done, tokio::task::JoinError>) {
        match done {
            Ok(Done::Delivery(ended)) => report.count(ended),
            Ok(Done::Maintenance) => report.maintenance += 1,
            Err(e) => tracing::error!(error = %e, "a delivery task panicked or was cancelled"),
        }
    }

    /// Runs the worker until every delivery queued so far has ended (published,
    /// dead or cancelled) or `timeout` passes; for examples and tests.
    pub async fn run_until_idle(&self, timeout: Duration) -> Result<WorkerReport> {
        let engine = self.clone();
        let deadline = Instant::now() + timeout;
        let done = async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let idle = engine
                    .inner
                    .jobs
                    .stats(&engine.inner.config.publish_queue)
                    .await
                    .map(|s| s.pending == 0 && s.running == 0)
                    .unwrap_or(false);
                if idle || Instant::now() >= deadline {
                    return;
                }
            }
        };
        self.run_worker(done).await
    }

    /// Queue depth and lag as gauges.
    pub(crate) async fn record_queue_metrics(&self) -> Result<()> {
        for queue in [
            &self.inner.config.publish_queue,
            &self.inner.config.maintenance_queue,
        ] {
            let stats = self.inner.jobs.stats(queue).await.map_err(queue_error)?;
            metrics::gauge!("postd_engine_queue_depth", "queue" => queue.clone())
                .set(stats.pending as f64);
            metrics::gauge!("postd_engine_queue_running", "queue" => queue.clone())
                .set(stats.running as f64);
            metrics::gauge!("postd_engine_queue_lag_seconds", "queue" => queue.clone())
                .set(stats.oldest_due_lag.unwrap_or_default().as_secs_f64());
        }
        Ok(())
    }
}
