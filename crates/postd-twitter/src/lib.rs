//! # postd-twitter
//!
//! The X (Twitter) connector: OAuth 2.0 with PKCE and rotating single-use
//! refresh tokens, API v2 Posts and threads, the v2 chunked media upload,
//! rate limits and billing caps, and X Activity API webhooks, following X's
//! pages on docs.x.com (each module cites its own).
//!
//! - **Auth**: [`Connector::authorize_url`] (space-separated scopes with
//!   `offline.access`, `state`, S256 PKCE); the code exchange (HTTP Basic for
//!   a confidential client, `client_id` in the body for a public one) asks
//!   `users/me` who the user is. Refresh tokens are single use: the plan
//!   refreshes [`REFRESH_AHEAD`] of expiry and only when the account is used
//!   ([`RefreshPlan::on_use_only`]), never as a keep-alive, and only a dead
//!   token (`invalid_grant`, or X's `invalid_request` about the token) is
//!   [`ErrorKind::ReauthRequired`].
//! - **Publish**: text counted as X counts it ([`weighted_length`]: URLs
//!   23, CJK and emoji 2, NFC first); media-only Posts send `"text": ""`;
//!   replies, quotes, polls, `reply_settings`, and the `made_with_ai` and
//!   `paid_partnership` disclosures ([`TwitterOptions`](postd_core::TwitterOptions));
//!   up to four images, or one GIF or one video, uploaded from a file in
//!   segments with memory bounded and processing followed to its end.
//!   Publishing is synchronous: it answers `Published` or an error.
//! - **Threads**: [`TwitterConnector::publish_thread`] posts each part as a
//!   reply to the one before and records each in a [`ThreadProgress`], so a
//!   thread that failed half way resumes where it stopped.
//! - **Exactly once**: `POST /2/tweets` is never retried blindly; a lost
//!   answer is an unknown outcome, reconciled by [`Connector::find_published`]
//!   on the user's timeline from a tight `start_time` (reads are billed: only
//!   then). X's duplicate-content refusal is looked up and answered as the
//!   Post it duplicates. A `usage-capped` timeline is "ask later", never "absent".
//! - **Limits and billing**: every answer's `x-rate-limit-*` and 24-hour
//!   headers block an exhausted endpoint for that user until its reset, and
//!   creates are counted against 100/15 min and 300/3 h per user and
//!   10,000/24 h per app ([`USER_CREATE_WINDOWS`], [`APP_CREATE_WINDOW`]),
//!   so a call X would refuse is not made. `402` ([`CREDITS_DEPLETED`]) is a
//!   rate limit that holds the whole app back for 15 minutes, and
//!   `usage-capped` ([`USAGE_CAPPED`]) one that holds that endpoint for an
//!   hour (or until the header's reset), each with a message saying what to do.
//! - **Webhooks**: the CRC answered only for tokens of X's shape, deliveries
//!   verified on the raw body, `event_uuid` as the de-duplication id,
//!   `oauth.revoke` flagged as revoking access.
//!
//! ```
//! use postd_core::http::HttpClient;
//! use postd_core::{ClientRef, Connector, ErrorKind, Post, Target, TargetKind, TwitterOptions, TwitterPoll};
//! use postd_twitter::XConfig;
//!
//! let x = XConfig::new("my-client-id")?.build(HttpClient::shared()?);
//! let me = Target::new(TargetKind::TwitterAccount, "2244994945");
//!
//! // A URL weighs 23 however long it is.
//! let link = format!("https://example.com/{}", "a".repeat(300));
//! let post = Post::new(ClientRef::new("launch")?).with_text(format!("We are live: {link}"));
//! x.validate(&me, &post)?;
//!
//! // A poll takes 2 to 4 options.
//! let poll = Post::new(ClientRef::new("poll")?)
//!     .with_text("Which bread?")
//!     .with_twitter(TwitterOptions::new().with_poll(TwitterPoll::new(["rye"], 60)));
//! assert_eq!(x.validate(&me, &poll).unwrap_err().kind(), ErrorKind::InvalidContent);
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
mod media;
mod publish;
mod text;
mod webhooks;

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
    DEFAULT_SCOPES, DEFAULT_SEGMENT_SIZE, ENV_VARS, REQUIRED_VARS, SEGMENT_SIZE_RANGE, XConfig,
};
pub use error::{CREDITS_DEPLETED, DUPLICATE_CONTENT, USAGE_CAPPED};
pub use health::{CREATE_QUOTA, PUBLISHING_SCOPES};
pub use limits::{APP_CREATE_WINDOW, USER_CREATE_WINDOWS};
pub use media::{MAX_GIF_BYTES, MAX_IMAGE_BYTES, MAX_SEGMENTS};
pub use publish::{TIMELINE_LAG, ThreadProgress};
pub use text::{URL_WEIGHT, weighted_length};
pub use webhooks::{OAUTH2_SIGNATURE_HEADER, SIGNATURE_HEADER};

/// How long before an access token expires it is refreshed (X's live two hours).
pub const REFRESH_AHEAD: chrono::TimeDelta = chrono::TimeDelta::minutes(15);

/// The X connector.
#[derive(Debug, Clone)]
pub struct TwitterConnector {
    api: api::Api,
}

impl TwitterConnector {
    /// A connector with `config`, on a shared HTTP client.
    pub fn new(config: XConfig, http: HttpClient) -> Self {
        TwitterConnector {
            api: api::Api::new(config, http),
        }
    }

    /// The settings.
    pub fn config(&self) -> &XConfig {
        &self.api.cfg
    }

    /// Publishes `posts` as a thread on `target`: each a reply to the one
    /// before (the first to its own `reply_to`, if any). `progress` records
    /// each Post as it is published; call again with the same `progress`
    /// after a failure and the thread resumes after the last published one,
    /// never posting those again. Persist it between attempts.
    ///
    /// Every part is validated before the first is sent. A part that ends in
    /// an unknown outcome stops the thread: reconcile it with
    /// [`Connector::find_published`] and push what is found onto `progress`
    /// before resuming.
    pub async fn publish_thread(
        &self,
        credentials: &Credentials,
        target: &Target,
        posts: &[Post],
        progress: &mut ThreadProgress,
    ) -> Result<Vec<PublishedPost>> {
        let caps = self.capabilities_for(target);
        for p in posts.iter().skip(progress.published.len()) {
            caps.check_local_media(p).await?;
        }
        let tokens = credentials.token_set(Platform::Twitter)?;
        publish::publish_thread(&self.api, &caps, tokens, target, posts, progress)
            .await
            .map_err(|e| e.or_operation("publish_thread"))
    }

    /// Deletes the Post `post_id` of `target`.
    pub async fn delete_post(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<()> {
        let tokens = credentials.token_set(Platform::Twitter)?;
        publish::delete(&self.api, tokens, target, post_id)
            .await
            .map_err(|e| e.or_operation("delete_post"))
    }

    fn webhook_keys(&self) -> webhooks::Keys<'_> {
        webhooks::Keys {
            consumer: self.api.cfg.consumer_secret.as_ref(),
            client: self.api.cfg.client_secret.as_ref(),
        }
    }

    /// Revokes the user's grant (when they disconnect): the refresh and access tokens stop working.
    pub async fn revoke(&self, credentials: &Credentials) -> Result<()> {
        auth::revoke(&self.api, credentials)
            .await
            .map_err(|e| self.api.scrub(e))
    }
}

/// The capabilities with `max_weighted_text` as the text limit.
const fn capabilities(max_text: usize) -> Capabilities {
    Capabilities {
        platform: Platform::Twitter,
        implemented: true,
        auth: AuthKind::OAuth2 { pkce: true },
        refresh: RefreshModel::RefreshToken { rotates: true },
        // X's weighted count (validate counts it; a URL weighs 23).
        text_max_chars: Some(max_text),
        text_only: true,
        links: true,
        media: MediaLimits {
            kinds: &[MediaKind::Image, MediaKind::Gif, MediaKind::Video],
            max_items: 4,
            // Up to four images, or one video (or one GIF, which validate checks).
            one_video_or_images: true,
            max_image_bytes: Some(media::MAX_GIF_BYTES),
            max_video_bytes: Some(config::DEFAULT_SEGMENT_SIZE * media::MAX_SEGMENTS),
            // X's media page: 0.5 s to 20 minutes by default (a user's tier may allow less: X then answers 403).
            max_video_duration: Some(std::time::Duration::from_secs(20 * 60)),
        },
        native_scheduling: None,
        async_processing: false,
        analytics: true,
        analytics_delay: None,
        signed_webhooks: true,
        webhook_challenge: true,
    }
}

fn not_a_handle(handle: &PublishHandle) -> Error {
    Error::new(
        ErrorKind::InvalidContent,
        format!(
            "X publishes synchronously and issues no publish handles (got kind {:?})",
            handle.kind.chars().take(40).collect::<String>()
        ),
    )
    .with_platform(Platform::Twitter)
    .with_operation("publish_status")
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Connector for TwitterConnector {
    fn platform(&self) -> Platform {
        Platform::Twitter
    }

    fn capabilities(&self) -> Capabilities {
        capabilities(self.api.cfg.max_weighted_text)
    }

    fn capabilities_for(&self, target: &Target) -> Capabilities {
        let _ = target;
        self.capabilities()
    }

    fn authorize_url(&self, request: &AuthorizationRequest) -> Result<Authorization> {
        auth::authorize_url(&self.api, request)
    }

    async fn exchange_code(&self, exchange: CodeExchange) -> Result<Credentials> {
        auth::exchange_code(&self.api, exchange)
            .await
            .map_err(|e| self.api.scrub(e))
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        auth::refresh(&self.api, credentials)
            .await
            .map_err(|e| self.api.scrub(e))
    }

    async fn targets(&self, credentials: &Credentials) -> Result<Vec<Target>> {
        auth::targets(&self.api, credentials).await
    }

    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        publish::validate(&self.api, &self.capabilities_for(target), post)
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
        let tokens = credentials.token_set(Platform::Twitter)?;
        publish::publish(&self.api, tokens, target, post, None)
            .await
            .map(PublishOutcome::Published)
            .map_err(|e| e.or_operation("publish"))
    }

    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        let _ = credentials;
        Err(not_a_handle(handle))
    }

    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        let tokens = credentials.token_set(Platform::Twitter)?;
        publish::find_published(&self.api, tokens, target, fingerprint)
            .await
            .map_err(|e| e.or_operation("find_published"))
    }

    async fn post_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<Metrics> {
        let tokens = credentials.token_set(Platform::Twitter)?;
        analytics::post_metrics(&self.api, tokens, target, post_id)
            .await
            .map_err(|e| e.or_operation("post_metrics"))
    }

    async fn target_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        range: DateRange,
    ) -> Result<Metrics> {
        let _ = (credentials, target);
        analytics::target_metrics(range)
    }

    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        webhooks::challenge(self.webhook_keys(), request)
    }

    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(self.webhook_keys(), request)
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        health::check(&self.api, credentials).await
    }

    fn refresh_plan(&self, credentials: &Credentials, _now: DateTime<Utc>) -> Result<RefreshPlan> {
        let policy = RefreshPolicy::default().with_refresh_ahead(REFRESH_AHEAD);
        Ok(RefreshPlan::for_credentials(
            credentials,
            RefreshModel::RefreshToken { rotates: true },
            &policy,
        )
        .refreshed_on_use_only())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::{ClientRef, Media, TokenSet};

    fn x() -> TwitterConnector {
        XConfig::new("cid")
            .unwrap()
            .build(HttpClient::builder().build().unwrap())
    }

    fn target() -> Target {
        Target::new(postd_core::TargetKind::TwitterAccount, "1")
    }

    #[test]
    fn text_is_weighed_as_x_weighs_it() {
        let x = x();
        let ok = Post::new(ClientRef::new("a").unwrap()).with_text("字".repeat(140));
        x.validate(&target(), &ok).unwrap();
        let long = Post::new(ClientRef::new("b").unwrap()).with_text("字".repeat(141));
        let e = x.validate(&target(), &long).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidContent);
        assert!(e.to_string().contains("282"), "{e}");
    }

    #[test]
    fn media_by_url_and_gif_with_images_are_refused() {
        let x = x();
        let url = url::Url::parse("https://cdn.example/a.jpg").unwrap();
        let p =
            Post::new(ClientRef::new("c").unwrap()).with_media(Media::url(MediaKind::Image, url));
        assert_eq!(
            x.validate(&target(), &p).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
        let p = Post::new(ClientRef::new("d").unwrap())
            .with_media(Media::file(MediaKind::Gif, "a.gif"))
            .with_media(Media::file(MediaKind::Image, "b.jpg"));
        assert_eq!(
            x.validate(&target(), &p).unwrap_err().kind(),
            ErrorKind::InvalidContent
        );
    }

    #[test]
    fn the_plan_refreshes_ahead_and_only_on_use() {
        let now = Utc::now();
        let creds = Credentials::OAuth(
            TokenSet::new("a")
                .with_refresh_token("r")
                .with_obtained_at(now)
                .with_expires_at(now + chrono::Duration::hours(2)),
        );
        let plan = x().refresh_plan(&creds, now).unwrap();
        assert!(plan.on_use_only);
        assert_eq!(
            plan.refresh_at,
            Some(now + chrono::Duration::hours(2) - REFRESH_AHEAD)
        );
        assert_eq!(
            plan.reauth_deadline, None,
            "X documents no refresh-token expiry"
        );
    }
}
