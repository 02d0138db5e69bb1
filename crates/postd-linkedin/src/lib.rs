//! # postd-linkedin
//!
//! The LinkedIn connector: member and organization posts through the REST
//! Posts API.
//!
//! | area | how |
//! |---|---|
//! | auth | authorization URL (`state`, space-separated scopes), code exchange, refresh for apps with refresh tokens (365 days, not extended by a refresh), `/v2/userinfo` for the person URN, administered organizations as targets |
//! | every REST call | `LinkedIn-Version` (configurable; 426 names the inactive version) and `X-Restli-Protocol-Version: 2.0.0` |
//! | posts | text, article, one image, 2-20 images, one video; commentary escaped in little text, 3,000 characters checked first; URN from `x-restli-id` |
//! | media | Images API and Videos API (ranged parts with ETags, finalize, poll until `AVAILABLE`), each part read whole from the file, 4 parts in flight by default; owner equals author |
//! | analytics | organization share statistics, member post analytics, social metadata; 1-3 hours late |
//! | webhooks | `challengeCode` validation, `X-LI-Signature` over the raw body (documented variants), `notificationId` for deduplication |
//! | health | token introspection and scopes |
//!
//! ```no_run
//! use postd_core::config::Vars;
//! use postd_core::http::HttpClient;
//! use postd_core::{ClientRef, Connector, Credentials, Post, Target, TargetKind, TokenSet};
//! use postd_linkedin::LinkedInConfig;
//!
//! # async fn run() -> Result<(), postd_core::Error> {
//! let vars = Vars::from_pairs([("LINKEDIN_CLIENT_ID", "abc"), ("LINKEDIN_CLIENT_SECRET", "secret")]);
//! let linkedin = LinkedInConfig::from_vars(&vars)?.build(HttpClient::shared()?);
//! let me = Target::new(TargetKind::LinkedInPerson, "urn:li:person:782bbtaQ");
//! let post = Post::new(ClientRef::new("hello-1")?).with_text("Hello (from POSTD) #rust");
//! let outcome = linkedin.publish(&Credentials::OAuth(TokenSet::new("token")), &me, &post).await?;
//! # let _ = outcome; Ok(()) }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod analytics;
mod auth;
mod config;
mod error;
mod health;
mod media;
mod models;
mod posts;
mod rest;
mod webhooks;

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::http::HttpClient;
use postd_core::oauth::{Authorization, AuthorizationRequest, CodeExchange};
use postd_core::refresh::{RefreshPlan, RefreshPolicy};
use postd_core::{
    AuthKind, Capabilities, ChallengeResponse, Connector, Credentials, DateRange, Error, ErrorKind,
    Fingerprint, Health, MediaKind, MediaLimits, Metrics, Platform, Post, PublishHandle,
    PublishOutcome, PublishStatus, PublishedPost, RefreshModel, Result, Target, WebhookEvent,
    WebhookRequest, async_trait,
};

pub use config::{
    DEFAULT_LINKEDIN_VERSION, DEFAULT_SCOPES, DEFAULT_VIDEO_PARTS_IN_FLIGHT, ENV_VARS,
    LinkedInConfig, ORGANIZATION_SCOPES, REQUIRED_VARS,
};
pub use health::MEMBER_SCOPES;
pub use posts::escape_commentary;
pub use webhooks::SIGNATURE_HEADER;

/// Access tokens (60 days) are refreshed this long before they expire, when the app has refresh tokens.
pub const REFRESH_AHEAD: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The LinkedIn connector.
#[derive(Debug, Clone)]
pub struct LinkedInConnector {
    rest: rest::Rest,
}

impl LinkedInConnector {
    /// A connector with `config` on the shared `http` client.
    pub fn new(config: LinkedInConfig, http: HttpClient) -> Self {
        LinkedInConnector {
            rest: rest::Rest::new(config, http),
        }
    }

    /// The settings.
    pub fn config(&self) -> &LinkedInConfig {
        &self.rest.cfg
    }
}

/// What a LinkedIn member or organization takes.
const CAPABILITIES: Capabilities = Capabilities {
    implemented: true,
    auth: AuthKind::OAuth2 { pkce: false },
    refresh: RefreshModel::RefreshToken { rotates: false },
    text_max_chars: Some(posts::COMMENTARY_MAX),
    text_only: true,
    links: true,
    media: MediaLimits {
        kinds: &[MediaKind::Image, MediaKind::Video],
        max_items: posts::MULTI_IMAGE_MAX,
        one_video_or_images: true,
        max_image_bytes: Some(media::IMAGE_MAX_BYTES),
        max_video_bytes: Some(5 * 1024 * 1024 * 1024),
        max_video_duration: Some(Duration::from_secs(30 * 60)),
    },
    // No native scheduling: the queue schedules.
    native_scheduling: None,
    async_processing: true,
    analytics: true,
    analytics_delay: Some(Duration::from_secs(3 * 3600)),
    signed_webhooks: true,
    webhook_challenge: true,
    ..Capabilities::none(Platform::LinkedIn)
};

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Connector for LinkedInConnector {
    fn platform(&self) -> Platform {
        Platform::LinkedIn
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn capabilities_for(&self, target: &Target) -> Capabilities {
        // Members and organizations take the same posts.
        let _ = target;
        CAPABILITIES
    }

    fn authorize_url(&self, request: &AuthorizationRequest) -> Result<Authorization> {
        auth::authorize_url(&self.rest, request)
    }

    async fn exchange_code(&self, exchange: CodeExchange) -> Result<Credentials> {
        auth::exchange_code(&self.rest, exchange).await
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        auth::refresh(&self.rest, credentials).await
    }

    async fn targets(&self, credentials: &Credentials) -> Result<Vec<Target>> {
        auth::targets(&self.rest, credentials).await
    }

    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        posts::validate(&self.capabilities_for(target), target, post)
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> Result<PublishOutcome> {
        self.validate(target, post)?;
        // Local media is checked before the first call (regular file, not empty, within limits).
        self.capabilities_for(target)
            .check_local_media(post)
            .await?;
        let tokens = credentials.token_set(Platform::LinkedIn)?;
        let result = posts::publish(&self.rest, tokens, target, post).await;
        result.map_err(|e| e.or_operation("publish"))
    }

    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        if handle.kind != posts::HANDLE_VIDEO {
            return Err(Error::new(
                ErrorKind::InvalidContent,
                format!("unknown LinkedIn publish handle kind {:?}", handle.kind),
            )
            .with_platform(Platform::LinkedIn)
            .with_operation("publish_status"));
        }
        posts::publish_status(
            &self.rest,
            credentials.token_set(Platform::LinkedIn)?,
            handle,
        )
        .await
    }

    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        posts::find_published(
            &self.rest,
            credentials.token_set(Platform::LinkedIn)?,
            target,
            fingerprint,
        )
        .await
    }

    async fn post_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<Metrics> {
        analytics::post_metrics(
            &self.rest,
            credentials.token_set(Platform::LinkedIn)?,
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
        analytics::target_metrics(
            &self.rest,
            credentials.token_set(Platform::LinkedIn)?,
            target,
            range,
        )
        .await
    }

    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        webhooks::challenge(&self.rest.cfg, request)
    }

    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&self.rest.cfg, request)
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        health::check(&self.rest, credentials).await
    }

    fn refresh_plan(&self, credentials: &Credentials, _now: DateTime<Utc>) -> Result<RefreshPlan> {
        let policy = RefreshPolicy::default().with_refresh_ahead(REFRESH_AHEAD);
        Ok(RefreshPlan::for_credentials(
            credentials,
            RefreshModel::RefreshToken { rotates: false },
            &policy,
        ))
    }
}
