//! # postd-mailchimp
//!
//! The Mailchimp connector: API keys (their data center checked before any
//! request) and OAuth for multi-tenant apps; audiences as targets; a post is
//! a regular campaign created as a draft, filled, checked with the send
//! checklist and then sent or scheduled **exactly once**; contact management
//! (members by hash, statuses, merge fields, tags, archive, permanent
//! delete, batches); campaign reports and audience stats; and audience
//! webhooks authenticated by a per-audience tag in their URL. Each module cites the
//! Mailchimp pages it follows.
//!
//! - **Exactly once**: every campaign carries a marker of its post in its
//!   internal title, and every publish looks for it first: a draft is
//!   reused, a campaign already sent or scheduled is answered as it is, one
//!   a person paused or cancelled is left alone. The send is made once; a
//!   refused repeat is recognised from the campaign's status; only a draft
//!   (`save`) is ever sent. See
//!   [`Connector::publish`] and [`Connector::find_published`].
//! - **Scheduling**: `schedule_at` on a quarter hour (UTC), 15 minutes to a
//!   year ahead, goes to Mailchimp's scheduler ([`next_slot`] names the next
//!   valid one); Timewarp and batch delivery, never both.
//! - **Limits**: at most [`DEFAULT_MAX_CONCURRENCY`] requests at once per
//!   account (Mailchimp allows [`CONNECTION_LIMIT`]); a `429`, a bare `403`
//!   or a "Request Blocked" page waits.
//!
//! ```
//! use postd_core::http::HttpClient;
//! use postd_core::{ClientRef, Connector, ErrorKind, MailchimpOptions, Post, Target, TargetKind};
//! use postd_mailchimp::MailchimpConfig;
//!
//! let mc = MailchimpConfig::new().build(HttpClient::shared()?);
//! let newsletter = Target::new(TargetKind::MailchimpAudience, "abc123def4");
//! let at = "2026-04-01T14:15:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap();
//!
//! let post = Post::new(ClientRef::new("spring")?)
//!     .with_text("Spring is here.")
//!     .with_mailchimp(MailchimpOptions::new().with_subject_line("Spring news"));
//! mc.validate(&newsletter, &post)?;
//!
//! // Mailchimp schedules on quarter hours only; the error names the next one.
//! let off = post.clone().with_schedule_at(at + chrono::Duration::minutes(7));
//! let e = mc.validate(&newsletter, &off).unwrap_err();
//! assert_eq!(e.kind(), ErrorKind::InvalidContent);
//! assert!(e.to_string().contains("14:30:00"));
//! # Ok::<(), postd_core::Error>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod analytics;
mod api;
mod audiences;
mod auth;
mod campaigns;
mod config;
mod error;
mod webhooks;

use chrono::{DateTime, Utc};
use postd_core::http::HttpClient;
use postd_core::oauth::{Authorization, AuthorizationRequest, CodeExchange};
use postd_core::{
    AuthKind, Capabilities, ChallengeResponse, Connector, Credentials, DateRange, Fingerprint,
    Health, MediaKind, MediaLimits, Metrics, Platform, Post, PublishHandle, PublishOutcome,
    PublishStatus, PublishedPost, RefreshModel, RefreshPlan, Result, Target, WebhookEvent,
    WebhookRequest, async_trait,
};

pub use api::DC_KEY;
pub use audiences::{
    BatchStatus, ListWebhook, MAX_BATCH_OPERATIONS, Member, MemberStatus, MemberUpdate, Segment,
    subscriber_hash,
};
pub use campaigns::{MAX_HTML_BYTES, SCHEDULE_WINDOW, SUBJECT_MAX_CHARS, next_slot};
pub use config::{
    CONNECTION_LIMIT, DEFAULT_MAX_CONCURRENCY, ENV_VARS, MIN_WEBHOOK_SECRET, MailchimpConfig,
};
pub use webhooks::MAX_DELIVERY_BYTES;

/// What a Mailchimp audience takes.
const CAPABILITIES: Capabilities = Capabilities {
    platform: Platform::Mailchimp,
    implemented: true,
    auth: AuthKind::ApiKey,
    refresh: RefreshModel::NonExpiring,
    // The post's text is the email's body: its length is checked as HTML
    // bytes (MAX_HTML_BYTES); the subject line has its own limit.
    text_max_chars: None,
    text_only: true,
    links: true,
    media: MediaLimits {
        // Images by https URL, referenced from the HTML.
        kinds: &[MediaKind::Image],
        max_items: 10,
        one_video_or_images: false,
        max_image_bytes: None,
        max_video_bytes: None,
        max_video_duration: None,
    },
    native_scheduling: Some(campaigns::SCHEDULE_WINDOW),
    async_processing: true,
    analytics: true,
    analytics_delay: None,
    // Unsigned: a per-audience tag in the webhook URL authenticates deliveries.
    signed_webhooks: false,
    // Mailchimp validates a new webhook URL with a GET.
    webhook_challenge: true,
};

/// The Mailchimp connector.
#[derive(Debug, Clone)]
pub struct MailchimpConnector {
    api: std::sync::Arc<api::Api>,
}

impl MailchimpConnector {
    /// A connector with `config`, on a shared HTTP client.
    pub fn new(config: MailchimpConfig, http: HttpClient) -> Self {
        MailchimpConnector {
            api: std::sync::Arc::new(api::Api::new(config, http)),
        }
    }

    /// The settings.
    pub fn config(&self) -> &MailchimpConfig {
        &self.api.cfg
    }

    /// The audience's saved segments.
    pub async fn segments(&self, credentials: &Credentials, list_id: &str) -> Result<Vec<Segment>> {
        audiences::segments(&self.api, credentials, list_id).await
    }

    /// Adds or updates a member (`PUT` by subscriber hash: safe to repeat).
    pub async fn upsert_member(
        &self,
        credentials: &Credentials,
        list_id: &str,
        update: &MemberUpdate,
    ) -> Result<Member> {
        audiences::upsert_member(&self.api, credentials, list_id, update).await
    }

    /// Changes a member's status. Subscribing again someone who
    /// unsubscribed is refused by Mailchimp ([`postd_core::ErrorKind::PermissionDenied`]);
    /// use [`MemberStatus::Pending`] to send them a confirmation instead.
    pub async fn set_member_status(
        &self,
        credentials: &Credentials,
        list_id: &str,
        email: &str,
        status: MemberStatus,
    ) -> Result<Member> {
        audiences::set_status(&self.api, credentials, list_id, email, status).await
    }

    /// Adds and removes tags of a member.
    pub async fn tag_member(
        &self,
        credentials: &Credentials,
        list_id: &str,
        email: &str,
        add: &[&str],
        remove: &[&str],
    ) -> Result<()> {
        audiences::tag(&self.api, credentials, list_id, email, add, remove).await
    }

    /// Archives a member (kept, not mailed; already gone counts as done).
    pub async fn archive_member(
        &self,
        credentials: &Credentials,
        list_id: &str,
        email: &str,
    ) -> Result<()> {
        audiences::archive(&self.api, credentials, list_id, email).await
    }

    /// Deletes a member for good (GDPR): Mailchimp will not let the address be imported again.
    pub async fn delete_member_permanently(
        &self,
        credentials: &Credentials,
        list_id: &str,
        email: &str,
    ) -> Result<()> {
        audiences::delete_permanently(&self.api, credentials, list_id, email).await
    }

    /// Starts a bulk import: one `PUT` per member, run by Mailchimp as a batch.
    pub async fn import_members(
        &self,
        credentials: &Credentials,
        list_id: &str,
        updates: &[MemberUpdate],
    ) -> Result<BatchStatus> {
        audiences::batch_upsert(&self.api, credentials, list_id, updates).await
    }

    /// A batch's progress.
    pub async fn batch_status(
        &self,
        credentials: &Credentials,
        batch_id: &str,
    ) -> Result<BatchStatus> {
        audiences::batch_status(&self.api, credentials, batch_id).await
    }

    /// Sends a test email of campaign `campaign_id` to `emails` (1 to 10).
    pub async fn send_test(
        &self,
        credentials: &Credentials,
        campaign_id: &str,
        emails: &[String],
    ) -> Result<()> {
        campaigns::test_send(&self.api, credentials, campaign_id, emails).await
    }

    /// Registers audience `list_id`'s webhook under `base`
    /// (`https://hooks.example.com/webhooks/mailchimp`): the URL
    /// [`MailchimpConfig::webhook_url`] builds (the audience's own tag), every
    /// event and source, once (a webhook already there with that URL is
    /// answered as it is).
    pub async fn register_webhook(
        &self,
        credentials: &Credentials,
        list_id: &str,
        base: &url::Url,
    ) -> Result<ListWebhook> {
        let url = self
            .api
            .cfg
            .webhook_url(base, list_id)
            .map_err(|e| e.with_platform(Platform::Mailchimp))?;
        audiences::register_webhook(&self.api, credentials, list_id, &url).await
    }

    /// Unschedules a scheduled campaign (it is a draft again).
    pub async fn unschedule(&self, credentials: &Credentials, campaign_id: &str) -> Result<()> {
        campaigns::unschedule(&self.api, credentials, campaign_id).await
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Connector for MailchimpConnector {
    fn platform(&self) -> Platform {
        Platform::Mailchimp
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
        let _ = credentials;
        auth::refresh_unsupported()
    }

    async fn targets(&self, credentials: &Credentials) -> Result<Vec<Target>> {
        audiences::targets(&self.api, credentials)
            .await
            .map_err(|e| e.or_operation("targets"))
    }

    fn validate(&self, target: &Target, post: &Post) -> Result<()> {
        campaigns::validate(&CAPABILITIES, target, post, Utc::now())
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        target: &Target,
        post: &Post,
    ) -> Result<PublishOutcome> {
        self.validate(target, post)?;
        campaigns::publish(&self.api, credentials, target, post)
            .await
            .map_err(|e| e.or_operation("publish"))
    }

    async fn publish_status(
        &self,
        credentials: &Credentials,
        handle: &PublishHandle,
    ) -> Result<PublishStatus> {
        campaigns::status(&self.api, credentials, handle)
            .await
            .map_err(|e| e.or_operation("publish_status"))
    }

    async fn find_published(
        &self,
        credentials: &Credentials,
        target: &Target,
        fingerprint: &Fingerprint,
    ) -> Result<Option<PublishedPost>> {
        campaigns::find_published(&self.api, credentials, target, fingerprint)
            .await
            .map_err(|e| e.or_operation("find_published"))
    }

    async fn post_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        post_id: &str,
    ) -> Result<Metrics> {
        let _ = target;
        analytics::campaign_report(&self.api, credentials, post_id)
            .await
            .map_err(|e| e.or_operation("post_metrics"))
    }

    async fn target_metrics(
        &self,
        credentials: &Credentials,
        target: &Target,
        range: DateRange,
    ) -> Result<Metrics> {
        analytics::audience_stats(&self.api, credentials, target, range)
            .await
            .map_err(|e| e.or_operation("target_metrics"))
    }

    fn webhook_challenge(&self, request: &WebhookRequest) -> Result<ChallengeResponse> {
        webhooks::challenge(&self.api.cfg, request)
    }

    fn verify_webhook(&self, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
        webhooks::verify(&self.api.cfg, request)
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        auth::health(&self.api, credentials).await
    }

    /// Nothing to refresh and no deadline: keys and tokens do not expire.
    fn refresh_plan(&self, credentials: &Credentials, _now: DateTime<Utc>) -> Result<RefreshPlan> {
        let _ = credentials;
        Ok(RefreshPlan::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::{ClientRef, Media, TargetKind};

    fn mc() -> MailchimpConnector {
        MailchimpConfig::new().build(HttpClient::builder().build().unwrap())
    }

    fn post(subject: &str) -> Post {
        Post::new(ClientRef::new("p").unwrap())
            .with_text("Hello")
            .with_mailchimp(postd_core::MailchimpOptions::new().with_subject_line(subject))
    }

    #[test]
    fn validate_checks_the_campaign_offline() {
        let mc = mc();
        let t = Target::new(TargetKind::MailchimpAudience, "abc123def4");
        mc.validate(&t, &post("Spring")).unwrap();
        let bad = |p: &Post| mc.validate(&t, p).unwrap_err().kind();
        assert_eq!(bad(&post("")), postd_core::ErrorKind::InvalidContent);
        assert_eq!(
            bad(&post(&"s".repeat(151))),
            postd_core::ErrorKind::InvalidContent
        );
        assert_eq!(
            bad(&post("two\nlines")),
            postd_core::ErrorKind::InvalidContent
        );
        let file = post("x").with_media(Media::file(MediaKind::Image, "/tmp/a.jpg"));
        assert_eq!(bad(&file), postd_core::ErrorKind::Unsupported);
        let both = post("x").with_mailchimp(
            postd_core::MailchimpOptions::new()
                .with_subject_line("x")
                .with_timewarp()
                .with_batch_delivery(postd_core::MailchimpBatchDelivery::new(2, 5)),
        );
        assert_eq!(bad(&both), postd_core::ErrorKind::InvalidContent);
        let evil = Target::new(TargetKind::MailchimpAudience, "abc/../x");
        assert_eq!(
            mc.validate(&evil, &post("x")).unwrap_err().kind(),
            postd_core::ErrorKind::InvalidContent
        );
        assert_eq!(
            mc.refresh_plan(&Credentials::ApiKey("k".into()), Utc::now())
                .unwrap(),
            RefreshPlan::default()
        );
    }
}
