//! Spans, metrics and logs every connector gets the same way, from one
//! decorator: [`Instrumented`] wraps any [`Connector`] and records each call
//! (labels stay low-cardinality: no account or post ids, never a token).
//!
//! The manager wraps every connector it hands out; a connector built directly
//! is wrapped with [`Instrumented::new`]. What is recorded:
//! - a `postd.connector` span per call with `platform`, `operation`,
//!   `outcome` (`ok` or the error kind) and `latency_ms`; the HTTP layer's
//!   `postd.http` spans nest inside it;
//! - for `publish`: `postd_publish_total{platform,surface,outcome}`,
//!   `postd_publish_duration_seconds{platform,surface}` and one log line;
//! - for every other call: `postd_connector_calls_total{platform,operation,outcome}`.
//!
//! ```
//! use std::sync::Arc;
//! use postd_core::telemetry::Instrumented;
//! use postd_core::{Capabilities, Connector, Platform};
//!
//! #[derive(Debug)]
//! struct Scaffold;
//! impl Connector for Scaffold {
//!     fn platform(&self) -> Platform { Platform::Gbp }
//!     fn capabilities(&self) -> Capabilities { Capabilities::none(Platform::Gbp) }
//! }
//!
//! let c: Arc<dyn Connector> = Arc::new(Instrumented::new(Scaffold));
//! assert_eq!(c.platform(), Platform::Gbp);
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tracing::Instrument as _;

use crate::capabilities::Capabilities;
use crate::connector::{
    Connector, DateRange, Health, Metrics, PublishHandle, PublishOutcome, PublishStatus,
    PublishedPost,
};
use crate::content::{Fingerprint, Post};
use crate::credentials::Credentials;
use crate::error::Result;
use crate::oauth::{Authorization, AuthorizationRequest, CodeExchange};
use crate::platform::Platform;
use crate::refresh::RefreshPlan;
use crate::target::{Target, TargetKind};
use crate::webhook::{ChallengeResponse, WebhookEvent, WebhookRequest};

/// The surface a target publishes to, as a metric label (`facebook`, `instagram`, `linkedin`, ...).
pub fn surface(target: &Target) -> &'static str {
    match target.kind {
        TargetKind::FacebookPage => "facebook",
        TargetKind::InstagramAccount => "instagram",
        TargetKind::LinkedInPerson | TargetKind::LinkedInOrganization => "linkedin",
        TargetKind::TikTokAccount => "tiktok",
        TargetKind::GbpLocation => "gbp",
        TargetKind::MailchimpAudience => "mailchimp",
        TargetKind::TwitterAccount => "twitter",
    }
}

/// Records a publish: `postd_publish_total{platform,surface,outcome}`,
/// `postd_publish_duration_seconds{platform,surface}` and one log line.
pub fn record_publish(target: &Target, result: &Result<PublishOutcome>, elapsed: Duration) {
    let platform = target.platform().as_str();
    let surface = surface(target);
    let outcome = match result {
        Ok(PublishOutcome::Published(_)) => "published",
        Ok(PublishOutcome::Pending(_)) => "pending",
        Err(e) => e.kind().as_str(),
    };
    metrics::counter!("postd_publish_total", "platform" => platform, "surface" => surface, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("postd_publish_duration_seconds", "platform" => platform, "surface" => surface)
        .record(elapsed.as_secs_f64());
    tracing::info!(
        platform,
        surface,
        outcome,
        latency_ms = millis(elapsed),
        "publish finished"
    );
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A connector with telemetry around every call. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Instrumented<C> {
    inner: C,
}

impl<C: Connector> Instrumented<C> {
    /// Wraps `inner`.
    pub fn new(inner: C) -> Self {
        Instrumented { inner }
    }

    /// The wrapped connector.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    fn span(&self, operation: &'static str) -> tracing::Span {
        tracing::info_span!(
            "postd.connector",
            platform = self.inner.platform().as_str(),
            operation,
            outcome = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
    }

    /// Runs one call inside its span and counts its outcome.
    async fn call<T>(
        &self,
        operation: &'static str,
        f: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let span = self.span(operation);
        let started = Instant::now();
        let result = f.instrument(span.clone()).await;
        self.finish(&span, operation, &result, started.elapsed());
        result
    }

    /// The same for a call without I/O.
    fn call_sync<T>(&self, operation: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let span = self.span(operation);
        let started = Instant::now();
        let result = span.in_scope(f);
        self.finish(&span, operation, &result, started.elapsed());
        result
    }

    fn finish<T>(
        &self,
        span: &tracing::Span,
        operation: &'static str,
        result: &Result<T>,
        elapsed: Duration,
    ) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        };
        span.record("outcome", outcome);
        span.record("latency_ms", millis(elapsed));
        metrics::counter!(
            "postd_connector_calls_total",
            "platform" => self.inner.platform().as_str(),
            "operation" => operation,
            "outcome" => outcome,
        )
        .increment(1);
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<C: Connector> Connector for Instrumented<C> {
    fn platform(&self) -> Platform {
        self.inner.platform()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn capabilities_for(&self, target: &Target) -> Capabilities {
        self.inner.capabilities_for(target)
    }

    fn authorize_url(&self, request: &AuthorizationRequest) -> Result<Authorization> {
        self.call_sync("authorize_url", || self.inner.authorize_url(request))
    }

    async fn exchange_code(&self, exchange: CodeExchange) -> Result<Credentials> {
        self.call("exchange_code", self.inner.exchange_code(exchange))
            .await
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        self.call("refresh", self.inner.refresh(credentials)).await
    }

    async fn targets(&self, credentials: &Credentials) -> Result<Vec<Target>> {
        self.call("targets", self.inner.targets(credentials)).await
    }

    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        self.call_sync("validate", || self.inner.validate(target, post))
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> Result<PublishOutcome> {
        let span = self.span("publish");
        let started = Instant::now();
        let result = self
            .inner
            .publish(credentials, target, post)
            .instrument(span.clone())
            .await;
        let elapsed = started.elapsed();
        span.in_scope(|| record_publish(target, &result, elapsed));
        span.record(
            "outcome",
            match &result {
                Ok(_) => "ok",
                Err(e) => e.kind().as_str(),
            },
        );
        span.record("latency_ms", millis(elapsed));
        result
    }

    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        self.call(
            "publish_status",
            self.inner.publish_status(credentials, handle),
        )
        .await
    }

    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        self.call(
            "find_published",
            self.inner.find_published(credentials, target, fingerprint),
        )
        .await
    }

    async fn post_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<Metrics> {
        self.call(
            "post_metrics",
            self.inner.post_metrics(credentials, target, post_id),
        )
        .await
    }

    async fn target_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        range: DateRange,
    ) -> Result<Metrics> {
        self.call(
            "target_metrics",
            self.inner.target_metrics(credentials, target, range),
        )
        .await
    }

    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        self.call_sync("webhook_challenge", || {
            self.inner.webhook_challenge(request)
        })
    }

    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        self.call_sync("verify_webhook", || self.inner.verify_webhook(request))
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        self.call("health_check", self.inner.health_check(credentials))
            .await
    }

    fn refresh_plan(&self, credentials: &Credentials, now: DateTime<Utc>) -> Result<RefreshPlan> {
        self.call_sync("refresh_plan", || self.inner.refresh_plan(credentials, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::ClientRef;
    use crate::error::ErrorKind;

    #[derive(Debug)]
    struct Fixed;

    #[async_trait]
    impl Connector for Fixed {
        fn platform(&self) -> Platform {
            Platform::LinkedIn
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::none(Platform::LinkedIn)
        }
        async fn publish(&self, _: &Credentials, _: &Target, _: &Post) -> Result<PublishOutcome> {
            Ok(PublishOutcome::Published(PublishedPost::new(
                "urn:li:share:1",
            )))
        }
    }

    #[tokio::test]
    async fn the_decorator_passes_every_call_through() {
        let c = Instrumented::new(Fixed);
        let target = Target::new(TargetKind::LinkedInPerson, "urn:li:person:a");
        let post = Post::new(ClientRef::new("r").unwrap());
        let creds = Credentials::ApiKey("k".into());
        assert!(matches!(
            c.publish(&creds, &target, &post).await.unwrap(),
            PublishOutcome::Published(p) if p.id == "urn:li:share:1"
        ));
        assert_eq!(
            c.capabilities_for(&target),
            Capabilities::none(Platform::LinkedIn)
        );
        assert_eq!(
            c.health_check(&creds).await.unwrap_err().kind(),
            ErrorKind::NotImplemented
        );
        assert_eq!(
            c.verify_webhook(&WebhookRequest::default())
                .unwrap_err()
                .kind(),
            ErrorKind::NotImplemented
        );
    }
}
