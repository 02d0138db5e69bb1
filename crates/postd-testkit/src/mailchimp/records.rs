//! The fake's public configuration ([`MailchimpFakeConfig`]) and the records its accessors
//! hand back.

use std::time::Duration;

use serde_json::Value;

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailchimpFakeConfig {
    /// The one data center the fake serves (`us6`: it plays `https://us6.api.mailchimp.com`).
    /// A key whose suffix names another data center is refused. Default `"us6"`.
    pub dc: String,
    /// Answer a key of another data center `403 Wrong Datacenter` (a glossary entry) instead of
    /// `401 API Key Invalid` "... or you've attempted to access the wrong datacenter." (what
    /// Mailchimp answers in practice). Default false.
    pub wrong_dc_forbidden: bool,
    /// The registered app's `client_id`. Default `"123456789012"`.
    pub client_id: String,
    /// The registered app's `client_secret`. Default `"mailchimp-fake-client-secret"`.
    pub client_secret: String,
    /// The status `GET /oauth2/metadata` answers an unknown or revoked token with (the body is
    /// `{"error": "invalid_token"}`). The guide documents no error; default 401 (some
    /// integrators report a 200 with that body: set 200 to test a client against it).
    pub metadata_invalid_status: u16,
    /// `api_endpoint` of the metadata answer. Default `None`: `https://{dc}.api.mailchimp.com`.
    pub api_endpoint: Option<String>,
    /// Simultaneous connections per API key or token before `429 Too Many Requests`.
    /// Default 10 (<https://mailchimp.com/developer/marketing/docs/fundamentals/>).
    pub max_connections: usize,
    /// How long each API answer is held before it leaves (the connection stays in flight
    /// that long, so parallel requests overlap). Default zero.
    pub response_delay: Duration,
    /// Fake seconds a campaign spends `sending` before it is `sent`. The docs give no figure.
    /// Default 60.
    pub sending_secs: i64,
    /// When set, a campaign that is `sending` turns `sent` at the Nth `GET` of it (or of a
    /// campaign list holding it), whatever the clock: for suites that poll without moving
    /// the fake clock. Default `None`.
    pub sending_gets: Option<u32>,
    /// Fake seconds a batch spends in each of `pending`, `preprocessing`, `started` and
    /// `finalizing`. The docs give no figure. Default 5.
    pub batch_step_secs: i64,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`](crate::FakeServer::start_without_recording).
    pub record_requests: bool,
    /// The path of the webhook URL the app registered, where Mailchimp sends its validation
    /// `GET` and its deliveries (Mailchimp signs nothing: an app puts a secret in it). Default
    /// `"/webhooks/mailchimp/Jd9s0kQ2vLx8Rt4wYp6Zb1Nc3Fh5Gj7Km9Qs2Tv4Wx"`.
    pub webhook_path: String,
}

impl Default for MailchimpFakeConfig {
    fn default() -> Self {
        MailchimpFakeConfig {
            dc: "us6".to_owned(),
            wrong_dc_forbidden: false,
            client_id: "123456789012".to_owned(),
            client_secret: "mailchimp-fake-client-secret".to_owned(),
            metadata_invalid_status: 401,
            api_endpoint: None,
            max_connections: 10,
            response_delay: Duration::ZERO,
            sending_secs: 60,
            sending_gets: None,
            batch_step_secs: 5,
            record_requests: true,
            webhook_path: "/webhooks/mailchimp/Jd9s0kQ2vLx8Rt4wYp6Zb1Nc3Fh5Gj7Km9Qs2Tv4Wx"
                .to_owned(),
        }
    }
}

/// A campaign the platform holds.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MailchimpCampaign {
    /// The campaign id.
    pub id: String,
    /// The account that owns it.
    pub account_id: String,
    /// `recipients.list_id`, when set.
    pub list_id: Option<String>,
    /// `recipients.segment_opts.saved_segment_id`, when set.
    pub segment_id: Option<u64>,
    /// `save`, `paused`, `schedule`, `sending`, `sent` or `canceled`.
    pub status: String,
    /// `settings` as last written.
    pub settings: Value,
    /// The HTML content, when set.
    pub html: Option<String>,
    /// The plain-text content, when set.
    pub plain_text: Option<String>,
    /// `schedule_time`, unix seconds, while scheduled.
    pub schedule_time: Option<i64>,
    /// `send_time`, unix seconds, once sending started.
    pub send_time: Option<i64>,
    /// `emails_sent`: the subscribed recipients when sending started.
    pub emails_sent: u64,
    /// How many times delivery started (an accepted `actions/send`, or a schedule reaching
    /// its time). Mailchimp never starts a campaign twice, so this is 0 or 1.
    pub sends: u32,
    /// Every accepted `actions/test`: the addresses and the `send_type`.
    pub tests: Vec<(Vec<String>, String)>,
}

/// An audience member.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MailchimpMember {
    /// The audience.
    pub list_id: String,
    /// The address as given.
    pub email_address: String,
    /// `id`: the subscriber hash.
    pub id: String,
    /// `subscribed`, `unsubscribed`, `cleaned`, `pending`, `transactional` or `archived`.
    pub status: String,
    /// The active tags' names.
    pub tags: Vec<String>,
    /// `merge_fields`.
    pub merge_fields: Value,
}

/// A list webhook.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MailchimpWebhook {
    /// The webhook id.
    pub id: String,
    /// The audience.
    pub list_id: String,
    /// The URL Mailchimp posts to.
    pub url: String,
    /// `events`: `{subscribe, unsubscribe, profile, cleaned, upemail, campaign}` booleans.
    pub events: Value,
    /// `sources`: `{user, admin, api}` booleans.
    pub sources: Value,
}

/// A delivery Mailchimp would POST to a list webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailchimpDelivery {
    /// The webhook's URL.
    pub url: String,
    /// `type`.
    pub kind: String,
    /// The `application/x-www-form-urlencoded` body.
    pub body: Vec<u8>,
}

/// The engagement a report answers once the campaign has sent
/// (<https://mailchimp.com/developer/marketing/api/reports/>); `emails_sent` comes from the
/// campaign.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MailchimpReport {
    /// `opens.opens_total`.
    pub opens_total: u64,
    /// `opens.unique_opens`.
    pub unique_opens: u64,
    /// `clicks.clicks_total`.
    pub clicks_total: u64,
    /// `clicks.unique_clicks` (and `unique_subscriber_clicks`).
    pub unique_clicks: u64,
    /// `bounces.hard_bounces`.
    pub hard_bounces: u64,
    /// `bounces.soft_bounces`.
    pub soft_bounces: u64,
    /// `unsubscribed`.
    pub unsubscribed: u64,
    /// `abuse_reports`.
    pub abuse_reports: u64,
}

/// The result of one batch operation, as the fake keeps it (Mailchimp puts them in a
/// `.tar.gz` at `response_body_url`, which the fake does not build).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MailchimpBatchResult {
    /// `operation_id`, when the operation had one.
    pub operation_id: Option<String>,
    /// The status the operation was answered with.
    pub status_code: u16,
    /// The answer's body (`null` for none).
    pub response: Value,
}
