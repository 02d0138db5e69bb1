//! Refresh, re-authorization warnings and health checks as ordinary
//! scheduled jobs: each worker enqueues them every minute with an
//! idempotency key per slot, so however many engine processes run, each
//! slot's job runs once.

use std::sync::Arc;

use chrono::Utc;
use postd_core::{Connector, Platform, Result};
use postd_queue::{ClaimedJob, NewJob};
use serde::{Deserialize, Serialize};

use crate::{Engine, queue_error};

#[derive(Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
enum Task {
    /// Refresh every account whose plan says a refresh is due.
    Refresh,
    /// Send the T-7d / T-1d re-authorization warnings that are due.
    Warnings,
    /// Check every account not checked within the health interval.
    Health,
}

impl Engine {
    /// Enqueues this slot's maintenance jobs (a duplicate of another process's is dropped).
    pub(crate) async fn enqueue_maintenance(&self) -> Result<()> {
        let cfg = &self.inner.config;
        let now = Utc::now().timestamp();
        let minute = now / 60;
        let hour = now / 3600;
        let health_slot = now / i64::try_from(cfg.health_every.as_secs().max(60)).unwrap_or(21_600);
        let jobs = vec![
            job(cfg, Task::Refresh, format!("refresh/{minute}")),
            job(cfg, Task::Warnings, format!("warnings/{hour}")),
            job(cfg, Task::Health, format!("health/{health_slot}")),
        ];
        self.inner
            .jobs
            .enqueue_many(jobs)
            .await
            .map_err(queue_error)?;
        self.record_queue_metrics().await
    }

    pub(crate) async fn run_maintenance(&self, job: ClaimedJob) {
        let task: Option<Task> = serde_json::from_value(job.payload.clone()).ok();
        let connectors = self.inner.connectors.clone();
        let lookup =
            move |p: Platform, app: &str| -> Option<Arc<dyn Connector>> { connectors.get(p, app) };
        let vault = &self.inner.vault;
        let result: Result<usize> = match task {
            Some(Task::Refresh) => vault.refresh_due(&lookup).await.map(|done| {
                for (tenant, account, r) in &done {
                    if let Err(e) = r {
                        tracing::info!(%tenant, %account, kind = e.kind().as_str(), "scheduled refresh failed");
                    }
                }
                done.len()
            }),
            Some(Task::Warnings) => vault.send_reauth_warnings(&lookup).await,
            Some(Task::Health) => vault.run_health_checks(&lookup).await.map(|r| r.len()),
            None => Err(postd_core::Error::unexpected("unknown maintenance task")),
        };
        let jobs = &self.inner.jobs;
        let end = match result {
            Ok(n) => {
                metrics::counter!("postd_engine_maintenance_total", "outcome" => "ok").increment(1);
                tracing::debug!(accounts = n, "maintenance job done");
                jobs.complete(job.id, job.fence, None).await
            }
            Err(e) => {
                metrics::counter!("postd_engine_maintenance_total", "outcome" => "failed")
                    .increment(1);
                jobs.fail(
                    job.id,
                    job.fence,
                    postd_queue::Failure::retry(postd_queue::AttemptError::new(
                        e.kind().as_str(),
                        e.to_string(),
                    )),
                )
                .await
                .map(|_| ())
            }
        };
        if let Err(e) = end {
            tracing::warn!(error = %e, "could not end a maintenance job");
        }
    }
}

fn job(cfg: &crate::EngineConfig, task: Task, key: String) -> NewJob {
    NewJob::new(
        &cfg.maintenance_queue,
        serde_json::to_value(&task).unwrap_or(serde_json::Value::Null),
    )
    .with_idempotency_key(key)
    .with_max_attempts(3)
}
