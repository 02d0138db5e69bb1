//! The [`Connector`] trait every platform implements, and the types its
//! methods take and return.
//!
//! # Implementing a connector
//!
//! A connector is a struct with its settings and the shared
//! [`HttpClient`](crate::http::HttpClient), plus an `impl Connector`. Only
//! [`platform`](Connector::platform) and [`capabilities`](Connector::capabilities)
//! are required; every other method answers [`ErrorKind::NotImplemented`]
//! until it is written, so a scaffold compiles from its first line. A real
//! connector puts `#[deny(clippy::missing_trait_methods)]` on its impl, so a
//! method it forgot is a compile error rather than a silent default.
//!
//! ```
//! use postd_core::{
//!     async_trait, AuthKind, Capabilities, Connector, Credentials, MediaKind, MediaLimits,
//!     Platform, Post, PublishOutcome, PublishedPost, Result, Target,
//! };
//!
//! #[derive(Debug)]
//! struct Minimal;
//!
//! #[async_trait]
//! impl Connector for Minimal {
//!     fn platform(&self) -> Platform {
//!         Platform::Gbp
//!     }
//!
//!     fn capabilities(&self) -> Capabilities {
//!         Capabilities {
//!             implemented: true,
//!             auth: AuthKind::OAuth2 { pkce: true },
//!             text_max_chars: Some(1_500),
//!             text_only: true,
//!             media: MediaLimits { kinds: &[MediaKind::Image], max_items: 1, ..MediaLimits::NONE },
//!             ..Capabilities::none(Platform::Gbp)
//!         }
//!     }
//!
//!     // Pure: the shared rules, then the platform's own.
//!     fn validate(&self, target: &Target, post: &Post) -> Result<()> {
//!         self.capabilities_for(target).check_common(post)
//!     }
//!
//!     async fn publish(&self, _: &Credentials, target: &Target, post: &Post) -> Result<PublishOutcome> {
//!         self.validate(target, post)?;
//!         // ... the platform calls, through HttpClient::execute ...
//!         Ok(PublishOutcome::Published(PublishedPost::new("localPosts/1")))
//!     }
//! }
//!
//! # tokio_test_block_on(async {
//! let c = Minimal;
//! let target = Target::new(postd_core::TargetKind::GbpLocation, "locations/1");
//! let post = Post::new(postd_core::ClientRef::new("r1")?).with_text("Open late today");
//! assert!(matches!(c.publish(&Credentials::ApiKey("k".into()), &target, &post).await?, PublishOutcome::Published(_)));
//! assert_eq!(c.health_check(&Credentials::ApiKey("k".into())).await.unwrap_err().kind(), postd_core::ErrorKind::NotImplemented);
//! # Ok::<(), postd_core::Error>(())
//! # }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! # Calling one
//!
//! Callers (the engine) hold connectors as `Arc<dyn Connector>`, ask
//! [`capabilities_for`](Connector::capabilities_for) the target, call
//! [`validate`](Connector::validate) before queueing, and branch on the
//! error's [`kind`](crate::Error::kind) and [`retry`](crate::Error::retry)
//! (see [`crate::error`]). A [`PublishOutcome::Pending`] handle is persisted
//! and asked again with [`publish_status`](Connector::publish_status), which
//! always answers with the handle to ask with next.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::capabilities::Capabilities;
use crate::content::{Fingerprint, Post};
use crate::credentials::Credentials;
use crate::error::{Error, ErrorKind, Result};
use crate::oauth::{Authorization, AuthorizationRequest, CodeExchange};
use crate::platform::Platform;
use crate::refresh::{RefreshPlan, RefreshPolicy};
use crate::target::Target;
use crate::webhook::{ChallengeResponse, WebhookEvent, WebhookRequest};

/// A post as it exists on the platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublishedPost {
    /// The platform's id of the post (`{page-id}_{post-id}`, an IG media id, `urn:li:share:...`).
    pub id: String,
    /// A public link to it, when the platform gives one.
    pub url: Option<Url>,
    /// When it goes (or went) live, for scheduled posts.
    pub scheduled_for: Option<DateTime<Utc>>,
}

impl PublishedPost {
    /// A post with `id`.
    pub fn new(id: impl Into<String>) -> Self {
        PublishedPost {
            id: id.into(),
            url: None,
            scheduled_for: None,
        }
    }

    /// Sets the public link.
    pub fn with_url(mut self, url: Option<Url>) -> Self {
        self.url = url;
        self
    }

    /// Sets the go-live time of a natively scheduled post.
    pub fn with_scheduled_for(mut self, at: DateTime<Utc>) -> Self {
        self.scheduled_for = Some(at);
        self
    }
}

/// A reference to a publish the platform is still processing. Serializable,
/// so the queue can persist it and ask again later, from another process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublishHandle {
    /// The platform.
    pub platform: Platform,
    /// The target id.
    pub target_id: String,
    /// What is being processed (`ig_container`, `li_video`, `tiktok_publish`).
    pub kind: String,
    /// The platform's id of the thing being processed.
    pub id: String,
    /// Platform-specific state needed to finish (a JSON document; never a secret).
    pub state: serde_json::Value,
    /// When the publish started.
    pub started_at: DateTime<Utc>,
}

impl PublishHandle {
    /// A handle for `id` of `kind` on `target_id`.
    pub fn new(
        platform: Platform,
        target_id: impl Into<String>,
        kind: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        PublishHandle {
            platform,
            target_id: target_id.into(),
            kind: kind.into(),
            id: id.into(),
            state: serde_json::Value::Null,
            started_at: Utc::now(),
        }
    }

    /// Attaches platform-specific state.
    pub fn with_state(mut self, state: serde_json::Value) -> Self {
        self.state = state;
        self
    }
}

/// The result of [`Connector::publish`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishOutcome {
    /// The post is live (or natively scheduled) on the platform.
    Published(PublishedPost),
    /// The platform is still processing; ask [`Connector::publish_status`] with the handle.
    Pending(PublishHandle),
}

/// The result of [`Connector::publish_status`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishStatus {
    /// Still processing; ask again after `retry_after`.
    Processing {
        /// The platform's own state name (`IN_PROGRESS`, `PROCESSING`).
        state: String,
        /// When to ask again.
        retry_after: Duration,
        /// The handle to ask with next time: the same one, or a new one when
        /// the publish moved to a new stage (a carousel whose parent container
        /// now exists). Always the one to persist.
        next: PublishHandle,
    },
    /// Published.
    Published(PublishedPost),
    /// The platform gave up on it (media failed processing, container expired).
    Failed {
        /// Why, as an error kind.
        kind: ErrorKind,
        /// The platform's own state or error name.
        code: String,
        /// A human-readable reason.
        message: String,
    },
}

/// A date range for analytics, `since` inclusive, `until` exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DateRange {
    /// Start, inclusive.
    pub since: DateTime<Utc>,
    /// End, exclusive.
    pub until: DateTime<Utc>,
}

impl DateRange {
    /// A range; fails with [`ErrorKind::InvalidContent`] when `since` is not before `until`.
    pub fn new(since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Self> {
        if since >= until {
            return Err(Error::invalid_content(
                "date range must start before it ends",
            ));
        }
        Ok(DateRange { since, until })
    }
}

/// What a metric measures, across platforms. The platform's own name is kept beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MetricKind {
    /// Times content was shown (views on Meta since 2025).
    Impressions,
    /// Unique accounts reached.
    Reach,
    /// Interactions of any kind.
    Engagements,
    /// Likes or reactions.
    Reactions,
    /// Comments.
    Comments,
    /// Shares or reposts.
    Shares,
    /// Saves.
    Saves,
    /// Link or content clicks.
    Clicks,
    /// Video plays or views.
    VideoViews,
    /// Followers gained or total.
    Followers,
    /// Email opens.
    Opens,
    /// Anything else; see the raw name.
    Other,
}

/// One data point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricPoint {
    /// The end of the period this value covers, when the platform says.
    pub end_time: Option<DateTime<Utc>>,
    /// The value.
    pub value: f64,
}

impl MetricPoint {
    /// A point.
    pub fn new(end_time: Option<DateTime<Utc>>, value: f64) -> Self {
        MetricPoint { end_time, value }
    }
}

/// One metric's values. An empty `points` means the platform had no data, which is not zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricSeries {
    /// The common kind.
    pub kind: MetricKind,
    /// The platform's own name (`post_impressions_unique`, `views`, `impressionCount`).
    pub raw_name: String,
    /// The platform's period (`day`, `lifetime`), when it has one.
    pub period: Option<String>,
    /// The values, oldest first.
    pub points: Vec<MetricPoint>,
}

impl MetricSeries {
    /// A series.
    pub fn new(
        kind: MetricKind,
        raw_name: impl Into<String>,
        period: Option<String>,
        points: Vec<MetricPoint>,
    ) -> Self {
        MetricSeries {
            kind,
            raw_name: raw_name.into(),
            period,
            points,
        }
    }

    /// The sum of the points, or `None` when there are none.
    pub fn total(&self) -> Option<f64> {
        if self.points.is_empty() {
            None
        } else {
            Some(self.points.iter().map(|p| p.value).sum())
        }
    }
}

/// Metrics of a post or a target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metrics {
    /// One series per metric.
    pub series: Vec<MetricSeries>,
}

impl Metrics {
    /// Metrics from series.
    pub fn new(series: Vec<MetricSeries>) -> Self {
        Metrics { series }
    }

    /// The series with this raw name.
    pub fn get(&self, raw_name: &str) -> Option<&MetricSeries> {
        self.series.iter().find(|s| s.raw_name == raw_name)
    }
}

/// Overall health of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HealthStatus {
    /// Everything needed works.
    Healthy,
    /// It works, but something needs attention (a scope missing for some features, quota nearly spent, expiry near).
    Degraded,
    /// It does not work until someone acts.
    Unhealthy,
}

/// Quota usage the platform reported.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QuotaUsage {
    /// What the quota is (`app_call_count`, `content_publishing_limit`).
    pub name: String,
    /// Percentage used, 0-100.
    pub used_percent: f64,
    /// When it frees up, when the platform said.
    pub resets_in: Option<Duration>,
}

impl QuotaUsage {
    /// A quota reading.
    pub fn new(name: impl Into<String>, used_percent: f64, resets_in: Option<Duration>) -> Self {
        QuotaUsage {
            name: name.into(),
            used_percent,
            resets_in,
        }
    }
}

/// The result of [`Connector::health_check`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// Overall status.
    pub status: HealthStatus,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
    /// Whether the platform accepts the token.
    pub token_valid: bool,
    /// When the token expires, when known.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the user must authorize again, when known.
    pub reauth_deadline: Option<DateTime<Utc>>,
    /// Scopes the connector needs that were not granted.
    pub missing_scopes: Vec<String>,
    /// Quotas the platform reported.
    pub quotas: Vec<QuotaUsage>,
    /// Human-readable findings.
    pub notes: Vec<String>,
}

impl Health {
    /// How long before the re-authorization deadline a connection counts as degraded.
    pub const REAUTH_SOON: chrono::TimeDelta = chrono::TimeDelta::days(7);

    /// Marks a healthy connection [`HealthStatus::Degraded`], with a note, when
    /// its re-authorization deadline is within [`REAUTH_SOON`](Self::REAUTH_SOON) of `now`.
    pub fn degrade_if_reauth_soon(&mut self, now: DateTime<Utc>) {
        if self
            .reauth_deadline
            .is_some_and(|d| d - now < Self::REAUTH_SOON)
        {
            if self.status == HealthStatus::Healthy {
                self.status = HealthStatus::Degraded;
            }
            self.notes
                .push("authorization ends within 7 days".to_owned());
        }
    }

    /// A healthy result checked at `now`.
    pub fn healthy(now: DateTime<Utc>) -> Self {
        Health {
            status: HealthStatus::Healthy,
            checked_at: now,
            token_valid: true,
            expires_at: None,
            reauth_deadline: None,
            missing_scopes: Vec::new(),
            quotas: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// A platform connector. Every method except [`platform`](Connector::platform)
/// and [`capabilities`](Connector::capabilities) has a default that answers
/// [`ErrorKind::NotImplemented`], so a scaffold is a struct plus its capabilities.
///
/// Connectors hold no per-account state: credentials come in with each call.
#[async_trait]
pub trait Connector: fmt::Debug + Send + Sync + 'static {
    /// The platform.
    fn platform(&self) -> Platform;

    /// What the platform can take.
    fn capabilities(&self) -> Capabilities;

    /// Starts an authorization: the URL to send the user to, with `state` (and PKCE).
    fn authorize_url(&self, request: &AuthorizationRequest) -> Result<Authorization> {
        let _ = request;
        Err(Error::not_implemented(self.platform(), "authorize_url"))
    }

    /// Finishes an authorization: checks `state`, exchanges the code, and returns credentials.
    async fn exchange_code(&self, exchange: CodeExchange) -> Result<Credentials> {
        let _ = exchange;
        Err(Error::not_implemented(self.platform(), "exchange_code"))
    }

    /// Refreshes credentials. The result keeps the old refresh token when the platform sends none.
    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        let _ = credentials;
        Err(Error::not_implemented(self.platform(), "refresh"))
    }

    /// The targets these credentials can publish to.
    async fn targets(&self, credentials: &Credentials) -> Result<Vec<Target>> {
        let _ = credentials;
        Err(Error::not_implemented(self.platform(), "targets"))
    }

    /// What `target` can take: its text limit, media, and native scheduling
    /// window (`None`: the queue holds a scheduled post until its time).
    ///
    /// Defaults to [`capabilities`](Connector::capabilities); a connector
    /// whose targets differ (Facebook Pages take 63,206 characters and
    /// schedule natively, Instagram accounts take 2,200 and do not) overrides it.
    fn capabilities_for(&self, target: &Target) -> Capabilities {
        let _ = target;
        self.capabilities()
    }

    /// Checks a post against the platform's rules without any I/O.
    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        let _ = (target, post);
        Err(Error::not_implemented(self.platform(), "validate"))
    }

    /// Publishes a post (now, or natively scheduled when `post.schedule_at` is set and the platform can).
    async fn publish(
        &self,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> Result<PublishOutcome> {
        let _ = (credentials, target, post);
        Err(Error::not_implemented(self.platform(), "publish"))
    }

    /// Asks about a publish that ended `Pending`, and finishes it when the platform is ready.
    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        let _ = (credentials, handle);
        Err(Error::not_implemented(self.platform(), "publish_status"))
    }

    /// Looks for a post matching `fingerprint` on `target`, to reconcile an unknown outcome.
    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        let _ = (credentials, target, fingerprint);
        Err(Error::not_implemented(self.platform(), "find_published"))
    }

    /// Metrics of one post.
    async fn post_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<Metrics> {
        let _ = (credentials, target, post_id);
        Err(Error::not_implemented(self.platform(), "post_metrics"))
    }

    /// Metrics of a target over a date range.
    async fn target_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        range: DateRange,
    ) -> Result<Metrics> {
        let _ = (credentials, target, range);
        Err(Error::not_implemented(self.platform(), "target_metrics"))
    }

    /// Answers a webhook endpoint validation (Meta `hub.challenge`, LinkedIn `challengeCode`, X CRC).
    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        let _ = request;
        Err(Error::not_implemented(self.platform(), "webhook_challenge"))
    }

    /// Verifies a webhook delivery's signature on the raw body, then parses its events.
    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        let _ = request;
        Err(Error::not_implemented(self.platform(), "verify_webhook"))
    }

    /// Checks that the credentials work: token valid, scopes present, expiry, quota.
    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        let _ = credentials;
        Err(Error::not_implemented(self.platform(), "health_check"))
    }

    /// When to refresh these credentials and when to warn about re-authorization.
    ///
    /// Defaults to the plan [`Capabilities::refresh`] and the credentials'
    /// expiries give under the default [`RefreshPolicy`]; a connector
    /// overrides it only where its platform differs (Meta re-exchanges 10 days ahead).
    fn refresh_plan(&self, credentials: &Credentials, now: DateTime<Utc>) -> Result<RefreshPlan> {
        let _ = now;
        Ok(RefreshPlan::for_credentials(
            credentials,
            self.capabilities().refresh,
            &RefreshPolicy::default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::{AuthKind, RefreshModel};
    use crate::content::ClientRef;
    use crate::target::TargetKind;
    use std::sync::Arc;

    #[derive(Debug)]
    struct Bare;

    impl Connector for Bare {
        fn platform(&self) -> Platform {
            Platform::Gbp
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                auth: AuthKind::OAuth2 { pkce: true },
                refresh: RefreshModel::RefreshToken { rotates: false },
                text_max_chars: Some(1500),
                text_only: true,
                links: true,
                analytics: true,
                ..Capabilities::none(Platform::Gbp)
            }
        }
    }

    #[tokio::test]
    async fn defaults_answer_not_implemented_and_trait_is_object_safe() {
        let c: Arc<dyn Connector> = Arc::new(Bare);
        let creds = Credentials::ApiKey("k".into());
        let target = Target::new(TargetKind::GbpLocation, "locations/1");
        let post = Post::new(ClientRef::new("r").unwrap()).with_text("hi");
        let errors = vec![
            c.refresh(&creds).await.unwrap_err(),
            c.targets(&creds).await.unwrap_err(),
            c.validate(&target, &post).unwrap_err(),
            c.publish(&creds, &target, &post).await.unwrap_err(),
            c.health_check(&creds).await.unwrap_err(),
            c.webhook_challenge(&WebhookRequest::default()).unwrap_err(),
            c.verify_webhook(&WebhookRequest::default()).unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.kind(), ErrorKind::NotImplemented);
            assert_eq!(e.platform(), Some(Platform::Gbp));
            assert!(e.to_string().contains("CONNECTOR_SPECS_GBP.md"));
        }
        // The defaults that are not errors: per-target capabilities and the refresh plan.
        assert_eq!(c.capabilities_for(&target), c.capabilities());
        let plan = c
            .refresh_plan(
                &Credentials::OAuth(
                    crate::TokenSet::new("a")
                        .with_refresh_token("r")
                        .with_expires_at(Utc::now() + chrono::Duration::hours(1)),
                ),
                Utc::now(),
            )
            .unwrap();
        assert!(plan.refresh_at.is_some(), "{plan:?}");
    }

    #[test]
    fn empty_series_has_no_total() {
        let empty = MetricSeries::new(MetricKind::Reach, "reach", None, vec![]);
        assert_eq!(empty.total(), None);
        let some = MetricSeries::new(
            MetricKind::Reach,
            "reach",
            None,
            vec![MetricPoint::new(None, 0.0), MetricPoint::new(None, 2.0)],
        );
        assert_eq!(some.total(), Some(2.0));
        assert!(DateRange::new(Utc::now(), Utc::now() - chrono::Duration::days(1)).is_err());
    }

    #[test]
    fn reauth_within_a_week_degrades_only_a_healthy_connection() {
        let now = Utc::now();
        let mut far = Health::healthy(now);
        far.reauth_deadline = Some(now + chrono::Duration::days(8));
        far.degrade_if_reauth_soon(now);
        assert_eq!(far.status, HealthStatus::Healthy);
        assert!(far.notes.is_empty());

        let mut soon = Health::healthy(now);
        soon.reauth_deadline = Some(now + chrono::Duration::days(6));
        soon.degrade_if_reauth_soon(now);
        assert_eq!(soon.status, HealthStatus::Degraded);
        assert_eq!(soon.notes, ["authorization ends within 7 days"]);

        let mut broken = Health::healthy(now);
        broken.status = HealthStatus::Unhealthy;
        broken.reauth_deadline = Some(now + chrono::Duration::days(1));
        broken.degrade_if_reauth_soon(now);
        assert_eq!(broken.status, HealthStatus::Unhealthy, "never upgraded");
    }

    #[test]
    fn handles_round_trip_through_json() {
        let h = PublishHandle::new(Platform::Meta, "17841", "ig_container", "c1")
            .with_state(serde_json::json!({"kind": "reel"}));
        let back: PublishHandle =
            serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back, h);
    }
}
