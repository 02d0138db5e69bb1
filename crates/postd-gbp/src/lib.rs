//! # postd-gbp
//!
//! The Google Business Profile connector: Google's OAuth 2.0 for web server
//! apps, every location of every account a user manages, v4 local posts
//! (STANDARD, EVENT, OFFER, and ALERT when allowed) with Google's review
//! followed to its end, native scheduling, location metrics from the
//! Performance API, and Pub/Sub push notifications authenticated by
//! Google's OIDC token. Each module cites the Google pages it follows.
//!
//! - **Auth**: [`Connector::authorize_url`] asks for `business.manage` with
//!   `access_type=offline`, `prompt=consent`, `state` and S256 PKCE. A grant
//!   without the scope or without a refresh token is
//!   [`ErrorKind::ReauthRequired`] at once. Refresh tokens do not rotate: a
//!   refresh keeps the old one. With [`GbpConfig::testing_mode`] the
//!   7-day life of a Testing app's refresh tokens is the re-authorization
//!   deadline, warned about at connect and a day before.
//! - **Targets**: every location of every account (paged; `readMask` always
//!   sent), listed once, its id the v4 name `accounts/{a}/locations/{l}`
//!   ([`LocationName`]); a location that cannot take local posts is listed
//!   with [`Target::can_publish`] `Some(false)` and refused by `validate`.
//! - **Publish**: see [`GbpOptions`](postd_core::GbpOptions) for the topic,
//!   event, offer and call-to-action; one photo by public `https` URL. A
//!   create answers [`PublishOutcome::Pending`] while Google reviews (or
//!   holds a scheduled post) and [`Connector::publish_status`] follows it to
//!   `LIVE` or `REJECTED`. [`GbpConnector::content_warnings`] tells what
//!   Google's review often rejects (phone numbers in the text).
//! - **Exactly once**: the create is sent once; a lost answer is reconciled
//!   by [`Connector::find_published`] on `localPosts.list`.
//! - **Limits**: 300 requests a minute per API per project and 10 post
//!   writes a minute per location are counted before each call
//!   ([`PROJECT_REQUESTS_PER_MINUTE`], [`EDITS_PER_MINUTE_PER_LOCATION`]);
//!   Google's `429` (no headers) waits a minute. A disabled API or a quota of
//!   0 is [`ErrorKind::Config`] naming the API to enable or the access to
//!   request, and [`Connector::health_check`] probes every API a post needs.
//! - **Webhooks**: see [`GbpConnector::verify_push`].
//!
//! ```
//! use postd_core::http::HttpClient;
//! use postd_core::{ClientRef, Connector, ErrorKind, GbpCallToAction, GbpOptions, Post, Target, TargetKind};
//! use postd_gbp::GbpConfig;
//!
//! let gbp = GbpConfig::new("id.apps.googleusercontent.com", "GOCSPX-secret".into())?
//!     .build(HttpClient::shared()?);
//! let cafe = Target::new(TargetKind::GbpLocation, "accounts/1234567890/locations/9876543210");
//!
//! let post = Post::new(ClientRef::new("spring")?)
//!     .with_text("Come in for our spring sale!")
//!     .with_gbp(GbpOptions::new().with_call_to_action(GbpCallToAction::new("CALL")));
//! gbp.validate(&cafe, &post)?;
//!
//! // A CALL button takes no URL: Google dials the business's number.
//! let url = url::Url::parse("https://example.com/call").unwrap();
//! let wrong = post.clone().with_gbp(GbpOptions::new().with_call_to_action(GbpCallToAction::new("CALL").with_url(url)));
//! assert_eq!(gbp.validate(&cafe, &wrong).unwrap_err().kind(), ErrorKind::InvalidContent);
//!
//! // A malformed location name is refused before anything is sent.
//! let bad = Target::new(TargetKind::GbpLocation, "locations/9876543210");
//! assert_eq!(gbp.validate(&bad, &post).unwrap_err().kind(), ErrorKind::InvalidContent);
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
mod names;
mod publish;
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

pub use analytics::{DAILY_METRICS, MAX_RANGE_DAYS, METRICS_DELAY};
pub use api::{EDITS_PER_MINUTE_PER_LOCATION, PROJECT_REQUESTS_PER_MINUTE};
pub use auth::TESTING_REFRESH_LIFETIME;
pub use config::{ENV_VARS, GbpConfig, LEGACY_SCOPE, REQUIRED_VARS, SCOPE};
pub use error::{PROJECT_NOT_APPROVED, REJECTED, SERVICE_DISABLED};
pub use names::{LocalPostName, LocationName};
pub use publish::{ACTION_TYPES, MAX_LIST_PAGES, SCHEDULE_WINDOW, SUMMARY_MAX_CHARS};
pub use webhooks::{MAX_PUSH_BYTES, PUSH_ISSUERS};

/// The Google Business Profile connector.
#[derive(Debug, Clone)]
pub struct GbpConnector {
    api: api::Api,
    keys: std::sync::Arc<webhooks::PushKeys>,
}

/// What a Business Profile location takes.
const CAPABILITIES: Capabilities = Capabilities {
    platform: Platform::Gbp,
    implemented: true,
    auth: AuthKind::OAuth2 { pkce: true },
    refresh: RefreshModel::RefreshToken { rotates: false },
    // The summary, counted in characters (the Help Center's figure).
    text_max_chars: Some(publish::SUMMARY_MAX_CHARS),
    text_only: true,
    links: true,
    media: MediaLimits {
        // One photo, by a public URL Google fetches.
        kinds: &[MediaKind::Image],
        max_items: 1,
        one_video_or_images: false,
        max_image_bytes: Some(5 * 1024 * 1024),
        max_video_bytes: None,
        max_video_duration: None,
    },
    native_scheduling: Some(publish::SCHEDULE_WINDOW),
    async_processing: true,
    analytics: true,
    analytics_delay: Some(std::time::Duration::from_secs(48 * 3600)),
    // Pub/Sub authenticates the sender with an OIDC token (verified by
    // `verify_push`), but signs no body: there is no body signature for a
    // tampered delivery to break.
    signed_webhooks: false,
    webhook_challenge: false,
};

impl GbpConnector {
    /// A connector with `config`, on a shared HTTP client.
    pub fn new(config: GbpConfig, http: HttpClient) -> Self {
        let keys = std::sync::Arc::new(webhooks::PushKeys::new(
            config.jwks_url.clone(),
            config.push_key_refetch_interval,
        ));
        GbpConnector {
            api: api::Api::new(config, http),
            keys,
        }
    }

    /// The settings.
    pub fn config(&self) -> &GbpConfig {
        &self.api.cfg
    }

    /// What the user should know before sending `post`, though Google would
    /// take it (a phone number in the summary: Google's review often rejects
    /// such posts). Empty when there is nothing to say.
    pub fn content_warnings(&self, post: &Post) -> Vec<String> {
        publish::warnings(post)
    }

    /// Revokes the user's grant (when they disconnect): the refresh token and its access tokens stop working.
    pub async fn revoke(&self, credentials: &Credentials) -> Result<()> {
        auth::revoke(&self.api, credentials).await
    }

    /// Verifies a Pub/Sub push of a Business Profile notification and reads
    /// its events, fetching Google's signing keys first when they are not
    /// loaded or the token names a key not yet seen (at most once a minute).
    ///
    /// The push must carry `Authorization: Bearer <OIDC token>`: RS256,
    /// signed by a key in Google's JWKS, issued by `accounts.google.com`,
    /// for [`GbpConfig::push_audience`], with
    /// [`GbpConfig::push_service_account`] as its verified `email`, and not
    /// expired. Anything else is [`ErrorKind::InvalidSignature`]; only then
    /// is the body read. One event per push, its id the Pub/Sub `messageId`
    /// (Pub/Sub delivers at least once: de-duplicate on it).
    pub async fn verify_push(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify_push(&self.api, &self.keys, request).await
    }

    /// Fetches Google's push signing keys now (call at startup, so the
    /// synchronous [`Connector::verify_webhook`] has them).
    pub async fn load_push_keys(&self) -> Result<()> {
        self.keys.fetch(&self.api.http).await
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Connector for GbpConnector {
    fn platform(&self) -> Platform {
        Platform::Gbp
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
        auth::targets(&self.api, credentials)
            .await
            .map_err(|e| e.or_operation("targets"))
    }

    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        publish::validate(&self.api, &CAPABILITIES, target, post, Utc::now())
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> Result<PublishOutcome> {
        self.validate(target, post)?;
        let tokens = credentials.token_set(Platform::Gbp)?;
        publish::publish(&self.api, tokens, target, post)
            .await
            .map_err(|e| e.or_operation("publish"))
    }

    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        let tokens = credentials.token_set(Platform::Gbp)?;
        publish::status(&self.api, tokens, handle)
            .await
            .map_err(|e| e.or_operation("publish_status"))
    }

    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        let tokens = credentials.token_set(Platform::Gbp)?;
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
        let _ = (credentials, target, post_id);
        analytics::post_metrics_unsupported()
    }

    async fn target_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        range: DateRange,
    ) -> Result<Metrics> {
        let tokens = credentials.token_set(Platform::Gbp)?;
        analytics::target_metrics(&self.api, tokens, target, range, Utc::now())
            .await
            .map_err(|e| e.or_operation("target_metrics"))
    }

    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        let _ = request;
        Err(Error::new(
            ErrorKind::Unsupported,
            "Pub/Sub validates no push endpoint with a challenge",
        )
        .with_platform(Platform::Gbp)
        .with_operation("webhook_challenge"))
    }

    /// Verifies a push with the signing keys already loaded (see
    /// [`GbpConnector::verify_push`], which fetches them when needed). A push
    /// signed by a key not loaded yet is a temporary
    /// [`ErrorKind::Unavailable`] (answer it with a 5xx: Pub/Sub delivers it
    /// again) while the keys are fetched in the background.
    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&self.api, &self.keys, request, Utc::now())
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        health::check(&self.api, credentials)
            .await
            .map_err(|e| e.or_operation("health_check"))
    }

    fn refresh_plan(&self, credentials: &Credentials, _now: DateTime<Utc>) -> Result<RefreshPlan> {
        let policy = RefreshPolicy::default();
        let model = RefreshModel::RefreshToken { rotates: false };
        Ok(match credentials {
            // Credentials stored before Testing mode was declared: the
            // deadline runs from when they were last issued (at the latest).
            Credentials::OAuth(t)
                if self.api.cfg.testing_mode && t.refresh_expires_at.is_none() =>
            {
                let mut t = t.clone();
                t.refresh_expires_at = t.obtained_at.checked_add_signed(TESTING_REFRESH_LIFETIME);
                RefreshPlan::compute(&t, model, &policy)
            }
            other => RefreshPlan::for_credentials(other, model, &policy),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::TokenSet;

    fn gbp(testing: bool) -> GbpConnector {
        GbpConfig::new("cid", "secret".into())
            .unwrap()
            .with_testing_mode(testing)
            .build(HttpClient::builder().build().unwrap())
    }

    #[test]
    fn the_plan_refreshes_ahead_and_testing_mode_sets_a_deadline_warned_at_once() {
        let now = Utc::now();
        let creds = Credentials::OAuth(
            TokenSet::new("a")
                .with_refresh_token("r")
                .with_obtained_at(now)
                .with_expires_at(now + chrono::Duration::hours(1)),
        );
        let plan = gbp(false).refresh_plan(&creds, now).unwrap();
        assert_eq!(
            plan.refresh_at,
            Some(now + chrono::Duration::hours(1) - chrono::Duration::minutes(15))
        );
        assert_eq!(
            plan.reauth_deadline, None,
            "production refresh tokens do not expire"
        );
        assert!(!plan.on_use_only);

        let plan = gbp(true).refresh_plan(&creds, now).unwrap();
        assert_eq!(plan.reauth_deadline, Some(now + TESTING_REFRESH_LIFETIME));
        let warning = plan
            .due_warning(now)
            .expect("the 7-day warning is due at connect");
        assert_eq!(warning.before, chrono::Duration::days(7));
        let later = now + chrono::Duration::days(6) + chrono::Duration::hours(1);
        assert_eq!(
            plan.due_warning(later).unwrap().before,
            chrono::Duration::days(1)
        );
    }
}
