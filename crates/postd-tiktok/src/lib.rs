//! # postd-tiktok
//!
//! The TikTok connector: Login Kit (OAuth v2 with PKCE and rotating
//! refresh tokens) and the Content Posting API, following TikTok's pages on
//! developers.tiktok.com (each module cites its own).
//!
//! - **Auth**: [`Connector::authorize_url`] (comma-separated scopes,
//!   `client_key`, `state`, S256 PKCE), code exchange and refresh that trust
//!   `expires_in` / `refresh_expires_in` (never a hard-coded lifetime), keep
//!   a rotated refresh token, and [`TikTokConnector::revoke`].
//! - **Compose**: [`TikTokConnector::creator_info`] gives the compose screen
//!   what TikTok requires it to show (privacy options, the interactions the
//!   creator turned off, the longest video). A Direct Post must carry the
//!   user's own choices in [`TikTokOptions`](postd_core::TikTokOptions):
//!   privacy, comments (and duets and stitches for videos), the commercial
//!   content disclosure and the Music Usage Confirmation. POSTD presets
//!   none of them; `validate` refuses a post without them and names what is
//!   missing, and refuses branded content that is private.
//! - **Publish**: creator info before every Direct Post; videos from a file
//!   (`FILE_UPLOAD`, chunks planned with `floor` as TikTok's guide says,
//!   sent in order from the file with bounded memory) or from a verified URL
//!   prefix (`PULL_FROM_URL`); photo posts of up to 35 photos by URL; or a
//!   draft in the creator's inbox ([`TikTokMode::Inbox`](postd_core::TikTokMode::Inbox)).
//!   Every publish answers `Pending`; [`Connector::publish_status`] follows
//!   `status/fetch` to the post id, the inbox, or a failure mapped from
//!   `fail_reason`.
//! - **Exactly once**: the pull inits are never retried after they may have
//!   been applied; an unknown outcome is looked for among the creator's
//!   public videos, and "not found" is never answered as "absent" (TikTok
//!   cannot prove absence), so a post is never made twice.
//! - **Errors**: TikTok's envelope is checked on every answer, a 200
//!   included; `log_id` is kept; `reached_active_user_cap` is the app-wide
//!   daily quota it is, reported in [`Health::quotas`](postd_core::Health)
//!   until it resets.
//! - **Webhooks**: `TikTok-Signature` verified over the raw body with a
//!   5-minute window; ids for de-duplication derived from each delivery.
//!
//! ```
//! use postd_core::http::HttpClient;
//! use postd_core::{Connector, Media, MediaKind, Post, ClientRef, Target, TargetKind};
//! use postd_core::{TikTokCommercialContent, TikTokOptions, TikTokPrivacy, ErrorKind};
//! use postd_tiktok::TikTokConfig;
//!
//! let tiktok = TikTokConfig::new("awclientkey", "secret".to_owned().into())?
//!     .with_direct_post_audited(true)
//!     .build(HttpClient::shared()?);
//! let creator = Target::new(TargetKind::TikTokAccount, "open-id-of-the-creator");
//! let video = Media::file(MediaKind::Video, "clip.mp4").with_mime_type("video/mp4");
//! let post = Post::new(ClientRef::new("launch-video")?)
//!     .with_text("Launch day #bread")
//!     .with_media(video);
//!
//! // Without the user's choices, a Direct Post is refused before any call.
//! let err = tiktok.validate(&creator, &post).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidContent);
//! assert!(err.to_string().contains("privacy_level"));
//!
//! let choices = TikTokOptions::direct_post(
//!     TikTokPrivacy::PublicToEveryone,
//!     true,  // comments allowed
//!     false, // no duets
//!     false, // no stitches
//!     TikTokCommercialContent::none(),
//! );
//! tiktok.validate(&creator, &post.with_tiktok(choices))?;
//! # Ok::<(), postd_core::Error>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod analytics;
mod api;
mod auth;
mod config;
mod error;
mod health;
mod limits;
mod plan;
mod publish;
mod webhooks;

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::http::HttpClient;
use postd_core::oauth::{Authorization, AuthorizationRequest, CodeExchange};
use postd_core::{
    AuthKind, Capabilities, ChallengeResponse, Connector, Credentials, DateRange, Error, ErrorKind,
    Fingerprint, Health, MediaKind, MediaLimits, Metrics, Platform, Post, PublishHandle,
    PublishOutcome, PublishStatus, PublishedPost, RefreshModel, RefreshPlan, RefreshPolicy, Result,
    Target, WebhookEvent, WebhookRequest, async_trait,
};

pub use config::{
    CHUNK_SIZE_RANGE, DEFAULT_CHUNK_SIZE, DEFAULT_SCOPES, DEFAULT_SINGLE_CHUNK_MAX,
    DEFAULT_UPLOAD_DOMAINS, ENV_VARS, REQUIRED_VARS, TikTokConfig,
};
pub use health::{ACTIVE_CREATORS_QUOTA, POSTING_SCOPES};
pub use publish::CreatorInfo;
pub use webhooks::{SIGNATURE_HEADER, TOLERANCE};

/// How long before an access token expires it is refreshed (TikTok's are
/// short-lived: two hours in its 2026 pages).
pub const REFRESH_AHEAD: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The TikTok connector.
#[derive(Debug, Clone)]
pub struct TikTokConnector {
    api: api::Api,
}

impl TikTokConnector {
    /// A connector with `config`, on a shared HTTP client.
    pub fn new(config: TikTokConfig, http: HttpClient) -> Self {
        TikTokConnector {
            api: api::Api::new(config, http),
        }
    }

    /// The settings.
    pub fn config(&self) -> &TikTokConfig {
        &self.api.cfg
    }

    /// What TikTok says about the creator now, for the compose screen
    /// (TikTok requires the app to show it and to fetch it when the screen
    /// opens): privacy options, the interactions the creator turned off, the
    /// longest video. An error code (a creator who cannot post now, an app
    /// at its daily quota) is an error of its kind.
    pub async fn creator_info(&self, credentials: &Credentials) -> Result<CreatorInfo> {
        let tokens = credentials.token_set(Platform::TikTok)?;
        publish::creator_info(&self.api, &tokens.access_token)
            .await
            .map_err(|e| e.or_operation("creator_info"))
    }

    /// Revokes the creator's grant (when they disconnect): the tokens stop working.
    pub async fn revoke(&self, credentials: &Credentials) -> Result<()> {
        auth::revoke(&self.api, credentials)
            .await
            .map_err(|e| e.or_operation("revoke"))
    }

    /// When the app's daily quota of active publishing creators resets, if
    /// TikTok said it was reached and the window has not ended (the window is
    /// assumed to end at 00:00 UTC; TikTok does not document it).
    pub fn active_creator_quota_resets_at(&self) -> Option<DateTime<Utc>> {
        self.api.cap_until()
    }
}

const CAPABILITIES: Capabilities = Capabilities {
    platform: Platform::TikTok,
    implemented: true,
    auth: AuthKind::OAuth2 { pkce: true },
    // "The previous refresh token stops working once a new one is issued."
    refresh: RefreshModel::RefreshToken { rotates: true },
    // Video captions: 2200 UTF-16 units (checked as UTF-16 by validate).
    text_max_chars: Some(4000),
    text_only: false,
    links: false,
    media: MediaLimits {
        kinds: &[MediaKind::Video, MediaKind::Image],
        max_items: publish::MAX_PHOTOS,
        one_video_or_images: true,
        max_image_bytes: Some(20_000_000),
        max_video_bytes: Some(plan::MAX_VIDEO_BYTES),
        max_video_duration: Some(Duration::from_secs(600)),
    },
    native_scheduling: None,
    async_processing: true,
    analytics: true,
    analytics_delay: None,
    signed_webhooks: true,
    webhook_challenge: false,
};

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Connector for TikTokConnector {
    fn platform(&self) -> Platform {
        Platform::TikTok
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn capabilities_for(&self, target: &Target) -> Capabilities {
        let _ = target;
        CAPABILITIES
    }

    fn authorize_url(&self, request: &AuthorizationRequest) -> Result<Authorization> {
        auth::authorize_url(&self.api, request)
    }

    async fn exchange_code(&self, exchange: CodeExchange) -> Result<Credentials> {
        auth::exchange_code(&self.api, exchange).await
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        auth::refresh(&self.api, credentials).await
    }

    async fn targets(&self, credentials: &Credentials) -> Result<Vec<Target>> {
        auth::targets(&self.api, credentials).await
    }

    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        publish::validate(&self.api, &self.capabilities_for(target), target, post)
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> Result<PublishOutcome> {
        self.validate(target, post)?;
        self.capabilities_for(target)
            .check_local_media(post)
            .await?;
        let tokens = credentials.token_set(Platform::TikTok)?;
        publish::publish(&self.api, tokens, target, post)
            .await
            .map_err(|e| e.or_operation("publish"))
    }

    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        if handle.kind != publish::HANDLE_KIND || handle.platform != Platform::TikTok {
            return Err(Error::new(
                ErrorKind::InvalidContent,
                format!("not a TikTok publish handle (kind {:?})", handle.kind),
            )
            .with_platform(Platform::TikTok)
            .with_operation("publish_status"));
        }
        publish::publish_status(&self.api, credentials.token_set(Platform::TikTok)?, handle)
            .await
            .map_err(|e| e.or_operation("publish_status"))
    }

    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        publish::find_published(
            &self.api,
            credentials.token_set(Platform::TikTok)?,
            target,
            fingerprint,
        )
        .await
        .map_err(|e| e.or_operation("find_published"))
    }

    async fn post_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<Metrics> {
        analytics::post_metrics(
            &self.api,
            credentials.token_set(Platform::TikTok)?,
            target,
            post_id,
        )
        .await
        .map_err(|e| e.or_operation("post_metrics"))
    }

    async fn target_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        range: DateRange,
    ) -> Result<Metrics> {
        analytics::target_metrics(
            &self.api,
            credentials.token_set(Platform::TikTok)?,
            target,
            range,
        )
        .await
        .map_err(|e| e.or_operation("target_metrics"))
    }

    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        let _ = request;
        Err(Error::new(
            ErrorKind::Unsupported,
            "TikTok validates no webhook endpoint with a challenge",
        )
        .with_platform(Platform::TikTok)
        .with_operation("webhook_challenge"))
    }

    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&self.api.cfg, request, Utc::now())
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        health::check(&self.api, credentials).await
    }

    fn refresh_plan(&self, credentials: &Credentials, _now: DateTime<Utc>) -> Result<RefreshPlan> {
        let policy = RefreshPolicy::default().with_refresh_ahead(REFRESH_AHEAD);
        Ok(RefreshPlan::for_credentials(
            credentials,
            CAPABILITIES.refresh,
            &policy,
        ))
    }
}
