//! # postd-meta
//!
//! The Meta connector: Facebook Pages and Instagram professional accounts
//! through the Graph API.
//!
//! | area | how |
//! |---|---|
//! | auth | Facebook Login dialog (`state`, comma-separated scopes), code exchange, `fb_exchange_token` to a ~60-day token, page tokens from `/me/accounts`, the Instagram account behind each page |
//! | tokens | always in the `Authorization` header, with `appsecret_proof` |
//! | Facebook | text, link, photo, multi-photo, video (resumable upload from disk, one 8 MiB part in memory at a time), native scheduling 10 min to 30 days ahead |
//! | Instagram | image, carousel (2-10), reel, story; container -> status polling -> `media_publish`, quota read first, one container one post |
//! | analytics | current page, post, media and account insights; empty stays empty |
//! | webhooks | `hub.challenge` verification, `X-Hub-Signature-256` over the raw body, batched page and Instagram changes |
//! | health | `debug_token` (validity, expiry, data access expiry, scopes) plus usage headers |
//!
//! ```no_run
//! use postd_core::config::Vars;
//! use postd_core::http::HttpClient;
//! use postd_core::{ClientRef, Connector, Credentials, Post, PublishOutcome, Target, TargetKind, TokenSet};
//! use postd_meta::MetaConfig;
//!
//! # async fn run() -> Result<(), postd_core::Error> {
//! let vars = Vars::from_pairs([("META_CLIENT_ID", "1234"), ("META_CLIENT_SECRET", "app-secret")]);
//! let meta = MetaConfig::from_vars(&vars)?.build(HttpClient::shared()?);
//! let credentials = Credentials::OAuth(TokenSet::new("user-token").with_derived("page-1", "page-token"));
//! let page = Target::new(TargetKind::FacebookPage, "page-1");
//! let post = Post::new(ClientRef::new("launch-1")?).with_text("We shipped!");
//! meta.validate(&page, &post)?;
//! match meta.publish(&credentials, &page, &post).await? {
//!     PublishOutcome::Published(p) => println!("live: {}", p.id),
//!     PublishOutcome::Pending(handle) => println!("processing: {}", handle.id),
//!     _ => {}
//! }
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod analytics;
mod auth;
mod config;
mod error;
mod facebook;
mod graph;
mod health;
mod instagram;
mod models;
mod upload;
mod usage;
mod webhooks;

use chrono::{DateTime, Utc};
use postd_core::http::HttpClient;
use postd_core::oauth::{Authorization, AuthorizationRequest, CodeExchange};
use postd_core::refresh::{RefreshPlan, RefreshPolicy};
use postd_core::{
    Capabilities, ChallengeResponse, Connector, Credentials, DateRange, Error, ErrorKind,
    Fingerprint, Health, Metrics, Platform, Post, PublishHandle, PublishOutcome, PublishStatus,
    PublishedPost, RefreshModel, Result, Target, TargetKind, WebhookEvent, WebhookRequest,
    async_trait,
};

pub use config::{DEFAULT_GRAPH_VERSION, DEFAULT_SCOPES, ENV_VARS, MetaConfig, REQUIRED_VARS};
pub use health::{OPTIONAL_SCOPES, PUBLISHING_SCOPES};
pub use usage::{BusinessUseCase, UsageCounts, UsageSnapshot};
pub use webhooks::SIGNATURE_HEADER;

/// Long-lived tokens are re-exchanged this long before they expire.
pub const REFRESH_AHEAD: chrono::TimeDelta = chrono::TimeDelta::days(10);

/// The Meta connector.
#[derive(Debug, Clone)]
pub struct MetaConnector {
    graph: graph::Graph,
}

impl MetaConnector {
    /// A connector with `config` on the shared `http` client.
    pub fn new(config: MetaConfig, http: HttpClient) -> Self {
        MetaConnector {
            graph: graph::Graph::new(config, http),
        }
    }

    /// The settings.
    pub fn config(&self) -> &MetaConfig {
        &self.graph.cfg
    }

    /// The latest rate-limit usage Meta reported to this connector.
    pub fn usage(&self) -> UsageSnapshot {
        self.graph.usage.snapshot()
    }

    fn check_target(&self, target: &Target) -> Result<()> {
        match target.kind {
            TargetKind::FacebookPage | TargetKind::InstagramAccount => Ok(()),
            other => Err(Error::new(
                ErrorKind::InvalidContent,
                format!("{other:?} is not a Meta target (expected a Facebook Page or an Instagram account)"),
            )
            .with_platform(Platform::Meta)),
        }
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Connector for MetaConnector {
    fn platform(&self) -> Platform {
        Platform::Meta
    }

    /// The platform-wide facts: Facebook Pages' surface, the widest (63,206
    /// characters, native scheduling). Instagram accounts take less: ask
    /// [`capabilities_for`](Connector::capabilities_for) the target.
    fn capabilities(&self) -> Capabilities {
        facebook::CAPABILITIES
    }

    fn capabilities_for(&self, target: &Target) -> Capabilities {
        match target.kind {
            TargetKind::InstagramAccount => instagram::CAPABILITIES,
            _ => facebook::CAPABILITIES,
        }
    }

    fn authorize_url(&self, request: &AuthorizationRequest) -> Result<Authorization> {
        auth::authorize_url(&self.graph, request)
    }

    async fn exchange_code(&self, exchange: CodeExchange) -> Result<Credentials> {
        auth::exchange_code(&self.graph, exchange).await
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        auth::refresh(&self.graph, credentials).await
    }

    async fn targets(&self, credentials: &Credentials) -> Result<Vec<Target>> {
        auth::targets(&self.graph, credentials).await
    }

    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        self.check_target(target)?;
        let caps = self.capabilities_for(target);
        match target.kind {
            TargetKind::InstagramAccount => instagram::validate(&caps, post),
            _ => facebook::validate(&caps, post, Utc::now()),
        }
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> Result<PublishOutcome> {
        self.validate(target, post)?;
        let tokens = credentials.token_set(Platform::Meta)?;
        let result = match target.kind {
            TargetKind::InstagramAccount => {
                instagram::publish(&self.graph, tokens, target, post).await
            }
            _ => facebook::publish(&self.graph, tokens, target, post).await,
        };
        result.map_err(|e| e.or_operation("publish"))
    }

    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        let tokens = credentials.token_set(Platform::Meta)?;
        match handle.kind.as_str() {
            instagram::HANDLE_CONTAINER => {
                instagram::publish_status(&self.graph, tokens, handle).await
            }
            facebook::HANDLE_VIDEO => {
                let page = Target::new(TargetKind::FacebookPage, &handle.target_id);
                let token = auth::target_token(tokens, &page)?;
                facebook::video_status(&self.graph, tokens, handle, token).await
            }
            other => Err(Error::new(
                ErrorKind::InvalidContent,
                format!("unknown Meta publish handle kind {other:?}"),
            )
            .with_platform(Platform::Meta)
            .with_operation("publish_status")),
        }
    }

    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        self.check_target(target)?;
        let tokens = credentials.token_set(Platform::Meta)?;
        match target.kind {
            TargetKind::InstagramAccount => {
                instagram::find_published(&self.graph, tokens, target, fingerprint).await
            }
            _ => facebook::find_published(&self.graph, tokens, target, fingerprint).await,
        }
    }

    async fn post_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<Metrics> {
        self.check_target(target)?;
        analytics::post_metrics(
            &self.graph,
            credentials.token_set(Platform::Meta)?,
            target,
            post_id,
        )
        .await
    }

    async fn target_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        range: DateRange,
    ) -> Result<Metrics> {
        self.check_target(target)?;
        analytics::target_metrics(
            &self.graph,
            credentials.token_set(Platform::Meta)?,
            target,
            range,
        )
        .await
    }

    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        webhooks::challenge(&self.graph.cfg, request)
    }

    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&self.graph.cfg, request)
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        health::check(&self.graph, credentials).await
    }

    fn refresh_plan(&self, credentials: &Credentials, _now: DateTime<Utc>) -> Result<RefreshPlan> {
        let policy = RefreshPolicy::default().with_refresh_ahead(REFRESH_AHEAD);
        Ok(RefreshPlan::for_credentials(
            credentials,
            RefreshModel::LongLivedExchange,
            &policy,
        ))
    }
}
