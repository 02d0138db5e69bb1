//! A stateful fake of X's API v2: OAuth 2.0 with PKCE, the authenticated user, Posts
//! (create, delete, lookup, the user timeline, metrics), the v2 media upload, rate limits
//! and the billing switches, and X Activity API webhook deliveries.
//!
//! [`XFake`] is also a [`PlatformFake`](crate::conformance::PlatformFake) for the behaviour
//! suite (`TargetKind::TwitterAccount`, the target id the numeric user id).
//!
//! [`XFake`] models the platform as X documents it on docs.x.com (each module cites its
//! pages), not as any client uses it. One fake server plays `https://api.x.com` (paths under
//! `/2/`). The authorize page (`https://x.com/i/oauth2/authorize`) is not served:
//! [`XFake::issue_code`] stands in for the user's consent.
//!
//! What it models:
//!
//! - **OAuth 2.0** (`POST /2/oauth2/token`, form-encoded; `POST /2/oauth2/revoke`): S256 PKCE
//!   codes valid 30 seconds, single use, bound to their `redirect_uri`; HTTP Basic for a
//!   confidential client (`client_id` in the body for a public one,
//!   [`XFakeConfig::confidential`]); 2-hour access tokens; a refresh token only with
//!   `offline.access`; refresh tokens that rotate and are single use, a replay answered
//!   `invalid_request` ([`XFakeConfig::bad_refresh_error`]) and revoking the whole token
//!   family ([`XFakeConfig::revoke_family_on_reuse`]); errors as `{"error",
//!   "error_description"}`. Test helpers: [`XFake::seed_user_with_refresh`] (a token family
//!   as an exchange leaves it), [`XFake::revoke_token`] (one token),
//!   [`XFake::expire_token`], and [`XFake::issue_code_without_pkce`] (a code whose exchange
//!   accepts any `code_verifier`, for a test that cannot see the client's challenge).
//! - **Bearer auth and scopes**: `401` problems for a missing, unknown, expired or revoked
//!   token; `403` when the token lacks a scope the endpoint lists (`tweet.read users.read`
//!   for reads, plus `tweet.write` for writes, `media.write` for uploads).
//! - **`GET /2/users/me`** with `user.fields=public_metrics` (`followers_count`,
//!   `following_count`, `tweet_count`, `listed_count`, `like_count`, `media_count`;
//!   [`XFake::set_user_metrics`]) and `protected`; **`POST /2/tweets`** with `text`, `reply.in_reply_to_tweet_id`,
//!   `quote_tweet_id`, `poll` (2–4 options ≤ 25 chars, 5–10080 minutes, not with media or a
//!   quote), `media.media_ids` (1–4 images or one GIF or one video, processed, the user's
//!   own, unexpired), `media.tagged_user_ids` (≤ 10), `reply_settings`, the `made_with_ai`
//!   and `paid_partnership` disclosures (kept in [`XPost::request`]); the weighted length
//!   ([`weighted_length`], max [`XFakeConfig::max_weighted_length`]) answered `403` when
//!   exceeded; duplicate text by the same user within
//!   [`XFakeConfig::duplicate_window_secs`] answered `403` with [`DUPLICATE_DETAIL`];
//!   `201 {"data": {"id", "text", "edit_history_tweet_ids"}}` with snowflake ids.
//!   **`DELETE /2/tweets/:id`**; **`GET /2/users/:id/tweets`** newest first with
//!   `max_results` (5–100), `start_time`, `end_time`, `since_id`, `until_id`,
//!   `pagination_token` / `meta.next_token`, some `tweet.fields` (with private metrics, only
//!   the last 30 days, and another author's Posts answered as errors).
//! - **Post lookup** `GET /2/tweets/:id` and `GET /2/tweets?ids=` (1–100 ids): `tweet.fields`
//!   checked against X's list, answering `created_at`, `author_id`, `conversation_id`,
//!   `reply_settings`, `attachments`, `public_metrics` (`retweet_count`, `reply_count`,
//!   `like_count`, `quote_count`, `bookmark_count`, `impression_count`), and
//!   `non_public_metrics` / `organic_metrics` for the user's own Posts of the last 30 days
//!   (anything else: `200`, the Post left out of `data`, a `not-authorized-for-field`
//!   problem per sub-field); a missing or deleted Post a `resource-not-found` entry in
//!   `errors` beside the found ones (the single-id form: `200` with `errors` and no `data`,
//!   or [`XFakeConfig::single_lookup_not_found_status`]); a protected author's Post a
//!   `not-authorized-for-resource` entry. Metrics are seeded with [`XFake::set_metrics`].
//! - **Media upload v2**: initialize (category, type, size caps), append in order (a re-sent
//!   last segment replaces itself; others are refused), finalize (all bytes present;
//!   `processing_info` for GIFs and videos), STATUS polls moving `pending → in_progress →
//!   succeeded | failed` ([`XFakeConfig::polls_in_progress`], [`XFake::fail_next_media`]);
//!   byte counts and an FNV-1a checksum ([`upload_checksum`]) only.
//! - **Rate limits**: fixed per-user, per-endpoint windows with the documented defaults
//!   ([`XFake::set_rate_limit`]), `x-rate-limit-limit/-remaining/-reset` on every `/2/` API
//!   answer, `429` at the limit; [`XFake::throttle_user`] answers every rate-limited endpoint
//!   `429` for one user. [`XFake::set_credits_depleted`] answers every API call `402`;
//!   [`XFake::set_usage_capped`] answers Post reads (timeline, lookups) `429 usage-capped`.
//! - **Webhooks**: [`XFake::crc_response`], [`XFake::sign_delivery`], and an outbox
//!   ([`XFake::deliveries`]) of `post.create`, `post.delete` and `oauth.revoke` events for the
//!   subscriptions made with [`XFake::subscribe`] (standing in for
//!   `POST /2/activity/subscriptions`); protected accounts' Posts are not delivered.
//!
//! Faults injected with [`Timing::AfterCommit`](crate::Timing::AfterCommit) strike the
//! requests that took effect (a created Post, an accepted segment, a token exchange or
//! refresh) after the effect; [`XFake::posts`] and [`XFake::media`] show what X holds.
//!
//! Not modelled: the authorize page, OAuth 1.0a, app-only bearer tokens, the per-app and
//! 24-hour limits (`x-app-limit-24hour-*`, `x-user-limit-24hour-*`), the simple one-shot
//! `POST /2/media/upload`, the v1.1 upload, video duration and codec checks (use
//! [`XFake::fail_next_media`]), Premium lengths, NFC normalisation and the full TLD list of
//! the length count, edits (`edit_options`), `expansions` and `includes`, the lookup
//! `tweet.fields` beyond those listed above (accepted, not answered), promoted Posts
//! (`promoted_metrics` is never answered), media metrics, other users' lookups
//! (`GET /2/users/:id`), follows (a protected Post is visible to its author only), webhook
//! registration (`/2/webhooks`) and delivery itself (the fake queues the bodies). The 402
//! body and the too-long text detail are not on X's docs pages; the fake uses the shapes users
//! report.
//!
//! ```
//! use postd_testkit::x::XFake;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = XFake::start().await;
//! let token = fake.seed_user("2244994945", &["tweet.read", "tweet.write", "users.read"]);
//! let resp = postd_core::reqwest::Client::new()
//!     .post(format!("{}/2/tweets", fake.uri()))
//!     .bearer_auth(&token)
//!     .json(&serde_json::json!({"text": "Hello world"}))
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(resp.status(), 201);
//! let body: serde_json::Value = resp.json().await.unwrap();
//! assert_eq!(fake.posts()[0].id, body["data"]["id"]);
//! # });
//! ```

mod conformance;
mod errors;
mod lookup;
mod media;
mod oauth;
mod posts;
mod records;
mod request;
mod routing;
mod state;
#[cfg(test)]
mod tests;
mod webhooks;

pub use self::errors::{DUPLICATE_DETAIL, PROBLEMS, oauth_error, problem};
pub use self::oauth::s256;
pub use self::posts::weighted_length;
pub use self::records::{XDelivery, XFakeConfig, XMedia, XPost, XPostMetrics, XUserMetrics};
pub use self::webhooks::{crc_response_token, webhook_signature};
pub use crate::util::upload_checksum;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use url::Url;

use self::routing::Router;
use self::state::{CodeRec, DEFAULT_LIMITS, State, Subscription, TokenKind};
use crate::FakeServer;

/// The X fake. Start it, seed users, point the connector's `https://api.x.com` base URL at
/// [`XFake::url`], and read the platform's state back through the accessors.
pub struct XFake {
    server: FakeServer,
    state: Arc<Mutex<State>>,
    config: XFakeConfig,
}

impl fmt::Debug for XFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock().unwrap();
        f.debug_struct("XFake")
            .field("uri", &self.server.uri())
            .field("users", &st.users.len())
            .field("posts", &st.posts.len())
            .field("media", &st.media.len())
            .finish_non_exhaustive()
    }
}

impl XFake {
    /// Starts a fake with the default [`XFakeConfig`].
    pub async fn start() -> XFake {
        XFake::start_with(XFakeConfig::default()).await
    }

    /// Starts a fake with `config`.
    pub async fn start_with(config: XFakeConfig) -> XFake {
        let server = FakeServer::start_recording(config.record_requests).await;
        let state = Arc::new(Mutex::new(State::new(config.clone())));
        let router = Router {
            state: state.clone(),
            unmatched: server.unmatched_log(),
        };
        server
            .mount_stateful("postd-testkit x", move |req| router.handle(req))
            .await;
        XFake {
            server,
            state,
            config,
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The underlying [`FakeServer`] (fault injection, unmatched requests, wiremock).
    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// The base URI, `http://127.0.0.1:PORT`, standing in for `https://api.x.com`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL with a trailing `/`.
    pub fn url(&self) -> Url {
        self.server.url()
    }

    /// The configuration the fake was started with.
    pub fn config(&self) -> &XFakeConfig {
        &self.config
    }

    /// Creates the user `user_id` who authorized the app for `scopes`, and returns a fresh
    /// access token (a new token family).
    pub fn seed_user(&self, user_id: &str, scopes: &[&str]) -> String {
        let mut st = self.st();
        st.user(user_id);
        st.family_seq += 1;
        let family = st.family_seq;
        st.issue(user_id, &owned(scopes), TokenKind::Access, family)
    }

    /// Creates the user `user_id` who authorized the app for `scopes`, and returns a fresh
    /// access token and, when `scopes` hold `offline.access`, a refresh token of the same
    /// token family (what a code exchange would have answered).
    pub fn seed_user_with_refresh(
        &self,
        user_id: &str,
        scopes: &[&str],
    ) -> (String, Option<String>) {
        self.seed_family(user_id, scopes, None)
    }

    /// [`XFake::seed_user_with_refresh`], every token of the family (those refreshes issue
    /// later included) starting with `canary` when given.
    fn seed_family(
        &self,
        user_id: &str,
        scopes: &[&str],
        canary: Option<&str>,
    ) -> (String, Option<String>) {
        let mut st = self.st();
        st.user(user_id);
        st.family_seq += 1;
        let family = st.family_seq;
        if let Some(canary) = canary {
            st.canaries.insert(family, canary.to_owned());
        }
        let scopes = owned(scopes);
        let access = st.issue(user_id, &scopes, TokenKind::Access, family);
        let refresh = scopes
            .iter()
            .any(|s| s == "offline.access")
            .then(|| st.issue(user_id, &scopes, TokenKind::Refresh, family));
        (access, refresh)
    }

    /// Sets the user's `name` and `username` (what `GET /2/users/me` answers).
    pub fn set_profile(&self, user_id: &str, name: &str, username: &str) {
        let mut st = self.st();
        let u = st.user(user_id);
        u.name = name.to_owned();
        u.username = username.to_owned();
    }

    /// Makes the account protected (its Posts are not delivered to webhooks) or public.
    pub fn set_protected(&self, user_id: &str, protected: bool) {
        self.st().user(user_id).protected = protected;
    }

    /// A one-time authorization code, as if `user_id` approved `scopes` and X redirected to
    /// `redirect_uri`; the exchange must send the `code_verifier` whose S256 ([`s256`]) is
    /// `code_challenge`.
    pub fn issue_code(
        &self,
        user_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
        code_challenge: &str,
    ) -> String {
        let mut st = self.st();
        st.user(user_id);
        let code = st.new_token("ac");
        let rec = CodeRec {
            user_id: user_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: owned(scopes),
            code_challenge: Some(code_challenge.to_owned()),
            issued_at: st.now(),
            used: false,
        };
        st.codes.insert(code.clone(), rec);
        code
    }

    /// A one-time authorization code like [`XFake::issue_code`] whose exchange accepts any
    /// `code_verifier` (one must still be sent): for a test that cannot see the
    /// `code_challenge` the client put in its authorization URL.
    pub fn issue_code_without_pkce(
        &self,
        user_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
    ) -> String {
        let mut st = self.st();
        st.user(user_id);
        let code = st.new_token("ac");
        let rec = CodeRec {
            user_id: user_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: owned(scopes),
            code_challenge: None,
            issued_at: st.now(),
            used: false,
        };
        st.codes.insert(code.clone(), rec);
        code
    }

    /// Whether `token` would still be accepted (an access token by the API, a refresh
    /// token by the token endpoint).
    pub fn token_is_live(&self, token: &str) -> bool {
        let st = self.st();
        st.tokens.get(token).is_some_and(|t| t.live(st.now()))
    }

    /// Makes a token expire now.
    pub fn expire_token(&self, token: &str) {
        let mut st = self.st();
        let now = st.now();
        if let Some(t) = st.tokens.get_mut(token) {
            t.expires_at = Some(now);
        }
    }

    /// Revokes `token` alone (an access or a refresh token): the API answers it `401`, the
    /// token endpoint `invalid_request` ("Value passed for the token was invalid."); the
    /// rest of its family lives on.
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.st().tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    /// The user revoked the app in their settings: every token of theirs dies and an
    /// `oauth.revoke` delivery is queued for matching subscriptions.
    pub fn remove_authorization(&self, user_id: &str) {
        let mut st = self.st();
        for t in st.tokens.values_mut().filter(|t| t.user_id == user_id) {
            t.revoked = true;
        }
        st.emit_revoke(user_id);
    }

    /// Sets the per-user limit of `endpoint` per window (one of the labels X's rate-limit
    /// table uses, e.g. `"POST /2/tweets"`); 0 refuses every call. Panics for another label.
    pub fn set_rate_limit(&self, endpoint: &str, limit: u32) {
        let Some((label, _)) = DEFAULT_LIMITS.iter().find(|(p, _)| *p == endpoint) else {
            panic!("XFake: {endpoint} has no documented rate limit");
        };
        self.st().limits.insert(label, limit);
    }

    /// With `on`, every rate-limited endpoint answers `user_id` `429` with
    /// `x-rate-limit-remaining: 0` and `x-rate-limit-reset` one window
    /// ([`XFakeConfig::rate_window_secs`], 900 s) ahead, as if each window were used up;
    /// without, the windows count again.
    pub fn throttle_user(&self, user_id: &str, on: bool) {
        let mut st = self.st();
        if on {
            st.throttled.insert(user_id.to_owned());
        } else {
            st.throttled.remove(user_id);
        }
    }

    /// With `on`, every API call answers `402` (the account's credits are depleted).
    pub fn set_credits_depleted(&self, on: bool) {
        self.st().credits_depleted = on;
    }

    /// With `on`, Post reads (`GET /2/users/:id/tweets`, `GET /2/tweets/:id`,
    /// `GET /2/tweets`) answer `429` with the `usage-capped` problem (the monthly Post-read
    /// cap).
    pub fn set_usage_capped(&self, on: bool) {
        self.st().usage_capped = on;
    }

    /// The next video or GIF finalized ends processing `failed` with `message` (e.g.
    /// `"Unsupported video format"`).
    pub fn fail_next_media(&self, message: &str) {
        self.st().fail_next_media = Some(message.to_owned());
    }

    /// Subscribes the app to `event_type` (`post.create`, `post.delete`, `oauth.revoke`),
    /// for `user_id` (`None`: every user), with an optional `tag`, as
    /// `POST /2/activity/subscriptions` would.
    pub fn subscribe(&self, event_type: &str, user_id: Option<&str>, tag: Option<&str>) {
        self.st().subscriptions.push(Subscription {
            event_type: event_type.to_owned(),
            user_id: user_id.map(str::to_owned),
            tag: tag.map(str::to_owned),
        });
    }

    /// Every delivery X would have POSTed to the app's webhook, in order.
    pub fn deliveries(&self) -> Vec<XDelivery> {
        self.st().outbox.clone()
    }

    /// The JSON a webhook must answer X's CRC `GET ?crc_token={token}` with:
    /// `{"response_token": "sha256=<base64 HMAC-SHA256(consumer_secret, token)>"}`.
    pub fn crc_response(&self, token: &str) -> Value {
        json!({"response_token": crc_response_token(&self.config.consumer_secret, token)})
    }

    /// Whether `answer` (the body a webhook answered a CRC with) would pass X's check.
    pub fn crc_accepts(&self, token: &str, answer: &[u8]) -> bool {
        serde_json::from_slice::<Value>(answer).is_ok_and(|v| v == self.crc_response(token))
    }

    /// The `x-twitter-webhooks-signature` header value for a delivery `body`.
    pub fn sign_delivery(&self, body: &[u8]) -> String {
        webhook_signature(&self.config.consumer_secret, body)
    }

    /// `body` as X delivers it: a `POST` with `Content-Type: application/json` and
    /// `x-twitter-webhooks-signature` over those exact bytes.
    pub fn signed_delivery(&self, body: &[u8]) -> postd_core::WebhookRequest {
        use postd_core::reqwest::header::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&self.sign_delivery(body)) {
            headers.insert("x-twitter-webhooks-signature", v);
        }
        postd_core::WebhookRequest::post(headers, body.to_vec())
    }

    /// A Post already on `user_id`'s timeline (posted outside the API); returns its id.
    pub fn seed_post(&self, user_id: &str, text: &str) -> String {
        let mut st = self.st();
        st.user(user_id);
        let id = st.snowflake();
        let now = st.now();
        st.posts.push(state::PostRec {
            id,
            author_id: user_id.to_owned(),
            text: text.to_owned(),
            created_at: now,
            deleted: false,
            reply_settings: "everyone".to_owned(),
            conversation_id: id,
            media_keys: Vec::new(),
            request: Value::Null,
            metrics: XPostMetrics::default(),
        });
        id.to_string()
    }

    /// Sets the engagement numbers of the Post `post_id` (deleted or not). Panics for a Post
    /// the fake never held.
    pub fn set_metrics(&self, post_id: &str, metrics: XPostMetrics) {
        let mut st = self.st();
        let Some(p) = st.posts.iter_mut().find(|p| p.id.to_string() == post_id) else {
            panic!("XFake: no Post {post_id}");
        };
        p.metrics = metrics;
    }

    /// Sets the `public_metrics` `GET /2/users/me?user.fields=public_metrics` answers for
    /// `user_id` (until then every count is 0 but `tweet_count`, which counts the user's
    /// live Posts).
    pub fn set_user_metrics(&self, user_id: &str, metrics: XUserMetrics) {
        self.st().user(user_id).metrics = Some(metrics);
    }

    /// Every Post the platform holds (deleted ones flagged), in creation order.
    pub fn posts(&self) -> Vec<XPost> {
        self.st()
            .posts
            .iter()
            .map(|p| XPost {
                id: p.id.to_string(),
                author_id: p.author_id.clone(),
                text: p.text.clone(),
                created_at: p.created_at,
                deleted: p.deleted,
                request: p.request.clone(),
                metrics: p.metrics,
            })
            .collect()
    }

    /// Every upload session, in creation order.
    pub fn media(&self) -> Vec<XMedia> {
        self.st()
            .media
            .iter()
            .map(|m| XMedia {
                id: m.id.to_string(),
                media_key: m.key.clone(),
                owner: m.owner.clone(),
                category: m.category.clone(),
                media_type: m.media_type.clone(),
                total_bytes: m.total_bytes,
                received_bytes: m.received_bytes,
                segments: m.segments,
                checksum: m.checksum,
                finalized: m.finalized,
                state: m.state.map(str::to_owned),
            })
            .collect()
    }

    /// Moves the fake clock forward (or back) by `seconds`.
    pub fn advance_time(&self, seconds: i64) {
        self.st().clock_offset += seconds;
    }

    /// The fake clock, unix seconds.
    pub fn now(&self) -> i64 {
        self.st().now()
    }

    /// Every request the fake answered, as `METHOD /path[?query]`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.st().requests.clone()
    }
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}
