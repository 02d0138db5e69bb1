//! The fake's public configuration ([`GbpFakeConfig`]), the location metadata it answers
//! ([`GbpLocationMetadata`]), and the records its accessors hand back.

use serde_json::Value;

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GbpFakeConfig {
    /// The OAuth client id. Default `"1234567890-fake.apps.googleusercontent.com"`.
    pub client_id: String,
    /// The OAuth client secret. Default `"GOCSPX-fake-client-secret"`.
    pub client_secret: String,
    /// The Google Cloud project number of the app (it names the consumer in quota and
    /// `SERVICE_DISABLED` errors). Default `"123456789012"`.
    pub project_number: String,
    /// An access token's lifetime and `expires_in`, seconds. Default 3,600 (one hour).
    pub access_ttl: i64,
    /// How long an authorization code can be exchanged, seconds. Google documents no number.
    /// Default 600.
    pub code_ttl: i64,
    /// The OAuth consent screen is an external app in "Testing": every refresh token expires
    /// [`GbpFakeConfig::testing_refresh_ttl`] after it was issued ("a refresh token expiring
    /// in 7 days", <https://developers.google.com/identity/protocols/oauth2#expiration>).
    /// Default false (production: refresh tokens do not expire on their own).
    pub testing_mode: bool,
    /// A Testing-mode refresh token's lifetime, seconds. Default 604,800 (7 days).
    pub testing_refresh_ttl: i64,
    /// Live refresh tokens per user for the client: issuing one more silently invalidates
    /// the oldest ("a limit of 100 refresh tokens per Google Account per OAuth 2.0 client
    /// ID"). Default `Some(100)`.
    pub refresh_token_limit: Option<usize>,
    /// Requests per minute per project for each API (the usage limits page: "Default
    /// Requests per min - 300 QPM"). [`GbpFake::set_quota`](super::GbpFake::set_quota)
    /// changes one API. Default 300.
    pub quota_per_minute: u32,
    /// Local-post writes (create, patch, delete) per minute per location. The limits page
    /// states "10 edits per min per Google Business Profile" for the Business Information
    /// API and does not list the v4 API; the fake applies the number to local posts.
    /// Default 10.
    pub edits_per_minute_per_location: u32,
    /// How long a new (or edited, or newly due scheduled) post stays `PROCESSING` before it
    /// is `LIVE` or `REJECTED`, fake-clock seconds. Google documents no number. Default 30.
    pub processing_secs: i64,
    /// When set, a post also leaves `PROCESSING` once this many `GET`s of it answered
    /// `PROCESSING` (for suites that poll without moving the clock). Default `None`.
    pub processing_gets: Option<u32>,
    /// The longest `summary`, in Unicode scalar values. The v4 reference gives no number;
    /// 1,500 is the Business Profile Help Center's figure. Default 1,500.
    pub summary_max_chars: usize,
    /// A post whose `summary` holds a phone number ends `REJECTED` after processing. Google's
    /// posts content policy does not name phone numbers; publishers report such posts being
    /// rejected. Default true.
    pub reject_phone_numbers: bool,
    /// Also put a `google.rpc.BadRequest` with the same field violations beside the
    /// `google.mybusiness.v4.ValidationError` of a v4 validation error (the v4 reference
    /// documents only `ValidationError`). Default false.
    pub v4_bad_request_details: bool,
    /// Days before today (UTC, fake clock) whose performance metrics are not available yet:
    /// today and the `metrics_delay_days - 1` days before it answer no `value`. Not on the
    /// Performance API reference (the Help Center speaks of a delay of days). Default 2.
    pub metrics_delay_days: i64,
    /// The Pub/Sub subscription push deliveries name. Default
    /// `"projects/fake-project/subscriptions/gbp-push"`.
    pub subscription: String,
    /// The audience of the authenticated push subscription: the `aud` of its push tokens
    /// ([`GbpFake::push_token`](super::GbpFake::push_token)). Google uses the push endpoint
    /// URL when the subscription names no audience. Default
    /// `"https://postd.example/webhooks/gbp"`.
    pub push_audience: String,
    /// The service account the push subscription authenticates as: the tokens' `email`
    /// (with `email_verified: true`), its unique id their `sub` and `azp`
    /// ([`GbpFake::push_service_account_id`](super::GbpFake::push_service_account_id)).
    /// Default `"gbp-push@fake-project.iam.gserviceaccount.com"`.
    pub push_service_account: String,
    /// The `max-age` of the JWK set's `Cache-Control: public, max-age=N, must-revalidate,
    /// no-transform`, seconds. Google's varies from answer to answer (some hours) and is
    /// documented only as the header to honour. Default 21,600 (6 hours).
    pub jwks_max_age: u32,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`](crate::FakeServer::start_without_recording).
    pub record_requests: bool,
}

impl Default for GbpFakeConfig {
    fn default() -> Self {
        GbpFakeConfig {
            client_id: "1234567890-fake.apps.googleusercontent.com".to_owned(),
            client_secret: "GOCSPX-fake-client-secret".to_owned(),
            project_number: "123456789012".to_owned(),
            access_ttl: 3_600,
            code_ttl: 600,
            testing_mode: false,
            testing_refresh_ttl: 604_800,
            refresh_token_limit: Some(100),
            quota_per_minute: 300,
            edits_per_minute_per_location: 10,
            processing_secs: 30,
            processing_gets: None,
            summary_max_chars: 1_500,
            reject_phone_numbers: true,
            v4_bad_request_details: false,
            metrics_delay_days: 2,
            subscription: "projects/fake-project/subscriptions/gbp-push".to_owned(),
            push_audience: "https://postd.example/webhooks/gbp".to_owned(),
            push_service_account: "gbp-push@fake-project.iam.gserviceaccount.com".to_owned(),
            jwks_max_age: 21_600,
            record_requests: true,
        }
    }
}

impl GbpFakeConfig {
    /// The default configuration for an app whose consent screen is in "Testing"
    /// (refresh tokens die after 7 days).
    pub fn testing_mode() -> Self {
        GbpFakeConfig {
            testing_mode: true,
            ..GbpFakeConfig::default()
        }
    }
}

/// The `metadata` flags of a location that decide whether it can take local posts
/// (<https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations#Metadata>).
/// Google answers JSON without `false` booleans, so a false flag is absent from the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GbpLocationMetadata {
    /// `canOperateLocalPost`: "Indicates if the listing can manage local posts."
    pub can_operate_local_post: bool,
    /// `hasVoiceOfMerchant`: the location is verified, in good standing, and controls its
    /// business on Google.
    pub has_voice_of_merchant: bool,
    /// `canHaveBusinessCalls`.
    pub can_have_business_calls: bool,
    /// `canDelete`.
    pub can_delete: bool,
}

impl GbpLocationMetadata {
    /// A verified location that can post.
    pub fn can_post() -> Self {
        GbpLocationMetadata {
            can_operate_local_post: true,
            has_voice_of_merchant: true,
            can_have_business_calls: true,
            can_delete: true,
        }
    }

    /// An unverified location: no Voice of Merchant, no local posts.
    pub fn cannot_post() -> Self {
        GbpLocationMetadata {
            can_operate_local_post: false,
            has_voice_of_merchant: false,
            can_have_business_calls: false,
            can_delete: true,
        }
    }
}

/// A local post the platform holds.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GbpLocalPost {
    /// `accounts/{a}/locations/{l}/localPosts/{p}`.
    pub name: String,
    /// `accounts/{a}/locations/{l}`.
    pub location: String,
    /// `state` now: `SCHEDULED`, `PROCESSING`, `LIVE` or `REJECTED`.
    pub state: String,
    /// The `LocalPost` as `GET` answers it now (`null` for a deleted post).
    pub resource: Value,
    /// The create body as received.
    pub request: Value,
    /// Why the post was (or will be) rejected. Kept by the fake only: the `LocalPost`
    /// resource has no field for it.
    pub rejection_reason: Option<String>,
    /// Unix seconds, fake clock.
    pub created_at: i64,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// A Pub/Sub push delivery of a Business Profile notification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GbpPushDelivery {
    /// The JSON body Pub/Sub `POST`s to the push endpoint.
    pub body: Vec<u8>,
    /// `message.messageId`.
    pub message_id: String,
    /// `message.publishTime`.
    pub publish_time: String,
    /// The notification JSON that `message.data` carries base64-encoded.
    pub data: String,
}
