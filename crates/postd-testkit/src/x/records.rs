//! The fake's public configuration ([`XFakeConfig`]) and the records its accessors hand back.

use serde_json::Value;

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XFakeConfig {
    /// The app's OAuth 2.0 Client ID. Default `"x-fake-client-id"`.
    pub client_id: String,
    /// The app's OAuth 2.0 Client Secret. Default `"x-fake-client-secret"`.
    pub client_secret: String,
    /// A confidential client must authenticate to the token and revoke endpoints with HTTP
    /// Basic (`client_id:client_secret`); a public client sends `client_id` in the body.
    /// Default true.
    pub confidential: bool,
    /// The app's consumer (API key) secret, which keys the CRC and the webhook signature.
    /// Default `"x-fake-consumer-secret"`.
    pub consumer_secret: String,
    /// The app id `oauth.revoke` deliveries carry. Default `"29820954"`.
    pub app_id: String,
    /// `expires_in` of an access token, seconds. Default 7,200 ("two hours").
    pub access_ttl: i64,
    /// How long an authorization code can be exchanged, seconds. Default 30.
    pub code_ttl: i64,
    /// A refresh token's lifetime, seconds. X documents none. Default `None` (never expires).
    pub refresh_ttl: Option<i64>,
    /// Presenting an already-used refresh token revokes every token descended from the same
    /// authorization (the whole family). Default true.
    pub revoke_family_on_reuse: bool,
    /// The `error` a used, revoked or unknown refresh token is answered with. Default
    /// `"invalid_request"` (X's documented error code for a bad value); set
    /// `"invalid_grant"` to test a client against the RFC 6749 code.
    pub bad_refresh_error: String,
    /// The largest weighted length of a Post's text. Default 280.
    pub max_weighted_length: usize,
    /// Two Posts by the same user with the same text within this many seconds are
    /// duplicates (X documents no window). Default 86,400.
    pub duplicate_window_secs: i64,
    /// How many STATUS polls answer `in_progress` before processing ends. Default 1.
    pub polls_in_progress: u32,
    /// The rate-limit window, seconds. Default 900 (15 minutes).
    pub rate_window_secs: i64,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`](crate::FakeServer::start_without_recording).
    pub record_requests: bool,
    /// The status `GET /2/tweets/:id` answers a missing or deleted Post with. Default `None`:
    /// as X does, `200` with an `errors` array and no `data`; `Some(404)` answers the same
    /// body with that status instead, for testing a client against either.
    pub single_lookup_not_found_status: Option<u16>,
}

impl Default for XFakeConfig {
    fn default() -> Self {
        XFakeConfig {
            client_id: "x-fake-client-id".to_owned(),
            client_secret: "x-fake-client-secret".to_owned(),
            confidential: true,
            consumer_secret: "x-fake-consumer-secret".to_owned(),
            app_id: "29820954".to_owned(),
            access_ttl: 7_200,
            code_ttl: 30,
            refresh_ttl: None,
            revoke_family_on_reuse: true,
            bad_refresh_error: "invalid_request".to_owned(),
            max_weighted_length: 280,
            duplicate_window_secs: 86_400,
            polls_in_progress: 1,
            rate_window_secs: 900,
            record_requests: true,
            single_lookup_not_found_status: None,
        }
    }
}

/// A Post the platform holds.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct XPost {
    /// The Post id (a snowflake: newer Posts have larger ids).
    pub id: String,
    /// The author's user id.
    pub author_id: String,
    /// The text as sent.
    pub text: String,
    /// Unix seconds, fake clock.
    pub created_at: i64,
    /// Whether it was deleted.
    pub deleted: bool,
    /// The `POST /2/tweets` body as received.
    pub request: Value,
    /// The engagement numbers lookups answer ([`XFake::set_metrics`](super::XFake::set_metrics)).
    pub metrics: XPostMetrics,
}

/// A Post's engagement numbers, as the `tweet.fields` metrics answer them
/// (<https://docs.x.com/x-api/fundamentals/metrics>). The fake models no promotion, so
/// `organic_metrics` answers these totals and `promoted_metrics` is never answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XPostMetrics {
    /// `public_metrics.retweet_count` (and `organic_metrics.retweet_count`).
    pub retweet_count: u64,
    /// `public_metrics.reply_count` (and `organic_metrics.reply_count`).
    pub reply_count: u64,
    /// `public_metrics.like_count` (and `organic_metrics.like_count`).
    pub like_count: u64,
    /// `public_metrics.quote_count`.
    pub quote_count: u64,
    /// `public_metrics.bookmark_count`.
    pub bookmark_count: u64,
    /// `public_metrics.impression_count`, `non_public_metrics.impression_count` and
    /// `organic_metrics.impression_count`.
    pub impression_count: u64,
    /// `non_public_metrics.url_link_clicks` (and `organic_metrics.url_link_clicks`).
    pub url_link_clicks: u64,
    /// `non_public_metrics.user_profile_clicks` (and `organic_metrics.user_profile_clicks`).
    pub user_profile_clicks: u64,
}

/// A user's `public_metrics`, as `user.fields=public_metrics` answers them
/// (<https://docs.x.com/x-api/users/lookup/introduction>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XUserMetrics {
    /// `followers_count`.
    pub followers_count: u64,
    /// `following_count`.
    pub following_count: u64,
    /// `tweet_count`.
    pub tweet_count: u64,
    /// `listed_count`.
    pub listed_count: u64,
    /// `like_count`.
    pub like_count: u64,
    /// `media_count`.
    pub media_count: u64,
}

/// An upload session of the media upload API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct XMedia {
    /// The media id.
    pub id: String,
    /// The media key (`3_` image, `16_` GIF, `7_` video, then the id).
    pub media_key: String,
    /// The owner's user id.
    pub owner: String,
    /// `media_category`.
    pub category: String,
    /// `media_type`.
    pub media_type: String,
    /// `total_bytes` declared at initialize.
    pub total_bytes: u64,
    /// Bytes appended so far.
    pub received_bytes: u64,
    /// Segments appended so far.
    pub segments: u32,
    /// FNV-1a of the bytes in order, comparable with [`upload_checksum`](super::upload_checksum).
    pub checksum: u64,
    /// Whether finalize succeeded.
    pub finalized: bool,
    /// `processing_info.state`, when the media is processed.
    pub state: Option<String>,
}

/// A webhook delivery X would POST to the app's registered URL.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct XDelivery {
    /// `event_type` (`post.create`, `post.delete`, `oauth.revoke`).
    pub event_type: String,
    /// `event_uuid`.
    pub event_uuid: String,
    /// The raw JSON body.
    pub body: Vec<u8>,
    /// The `x-twitter-webhooks-signature` header value over `body`.
    pub signature: String,
}
