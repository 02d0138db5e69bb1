//! Limits before the platform refuses: holds (a platform said "wait") and
//! documented caps, kept in the shared database so every engine process sees
//! the same budget.

use chrono::{DateTime, Utc};
use postd_core::{Platform, Result};
use postd_queue::Budget;

use crate::config::CapScope;
use crate::{Engine, queue_error};

/// Whose limit a key counts.
pub(crate) struct Scope<'a> {
    pub(crate) platform: Platform,
    pub(crate) app: &'a str,
    pub(crate) tenant: &'a str,
    pub(crate) account: &'a str,
}

impl Scope<'_> {
    pub(crate) fn account_key(&self) -> String {
        format!(
            "account:{}:{}:{}:{}",
            self.platform, self.app, self.tenant, self.account
        )
    }

    pub(crate) fn app_key(&self) -> String {
        format!("app:{}:{}", self.platform, self.app)
    }
}

/// What the limits say about publishing now.
pub(crate) enum Verdict {
    /// Go; these budget units were taken (given back if nothing is applied).
    Go(Vec<(String, std::time::Duration)>),
    /// Wait until then.
    WaitUntil(DateTime<Utc>),
}

impl Engine {
    /// Checks holds, then takes one unit of every cap that applies.
    pub(crate) async fn check_limits(&self, scope: &Scope<'_>) -> Result<Verdict> {
        let jobs = &self.inner.jobs;
        for key in [scope.account_key(), scope.app_key()] {
            if let Some(until) = jobs.hold_until(&key).await.map_err(queue_error)? {
                return Ok(Verdict::WaitUntil(until));
            }
        }
        let mut taken = Vec::new();
        for cap in self
            .inner
            .config
            .caps
            .iter()
            .filter(|c| c.platform == scope.platform)
        {
            let key = match cap.per {
                CapScope::Account => format!("cap:{}", scope.account_key()),
                CapScope::App => format!("cap:{}", scope.app_key()),
            };
            match jobs
                .take_budget(&key, cap.limit, cap.window)
                .await
                .map_err(queue_error)?
            {
                Budget::Granted { .. } => taken.push((key, cap.window)),
                Budget::Exhausted { retry_at } => {
                    self.give_back(&taken).await;
                    return Ok(Verdict::WaitUntil(retry_at));
                }
            }
        }
        Ok(Verdict::Go(taken))
    }

    /// Returns budget units a publish did not spend (the platform refused it before applying).
    pub(crate) async fn give_back(&self, taken: &[(String, std::time::Duration)]) {
        for (key, window) in taken {
            if let Err(e) = self.inner.jobs.give_back_budget(key, *window).await {
                tracing::warn!(key = %key, error = %e, "could not give a budget unit back");
            }
        }
    }

    /// Holds an account (or its app) until `until`: no delivery under it is
    /// sent to the platform before then, from any process.
    pub(crate) async fn hold(&self, key: &str, until: DateTime<Utc>) {
        if let Err(e) = self.inner.jobs.set_hold(key, until).await {
            tracing::warn!(key = %key, error = %e, "could not record a hold");
        }
    }
}
