//! A stateful fake of LinkedIn's REST API: OAuth 2.0 (3-legged), OpenID
//! userinfo, organization access control, the Posts, Images and Videos APIs,
//! organization share statistics, member post analytics and social metadata.
//!
//! [`LinkedInFake`] models the platform as LinkedIn documents it (the
//! learn.microsoft.com pages for the authorization code flow, the Posts,
//! Images and Videos APIs, share statistics and error handling; each module
//! cites its page), not as any client uses it. One fake
//! server plays three hosts:
//!
//! - `www.linkedin.com/oauth/v2/*`: `accessToken` and `introspectToken`;
//! - `api.linkedin.com/v2/*` (unversioned): `userinfo` and `me`;
//! - `api.linkedin.com/rest/*` (versioned): every other API;
//!
//! and serves the upload URLs it hands out under `/dms-uploads/...` as
//! absolute URLs on its own [`LinkedInFake::uri`].
//!
//! What it models:
//!
//! - **Versioning**: every `/rest` call needs `LinkedIn-Version: YYYYMM` (a
//!   missing header is a `400 VERSION_MISSING`, a version outside
//!   [`LinkedInFakeConfig::active_versions`] a `426 NONEXISTENT_VERSION`
//!   naming the version as `YYYYMM01`) and `X-Restli-Protocol-Version: 2.0.0`
//!   (missing: `400`). Calls missing either are counted
//!   ([`LinkedInFake::requests_missing_version`]).
//! - **Rest.li 2.0 encoding**: URN path keys must be percent-encoded
//!   (`/rest/posts/urn%3Ali%3Ashare%3A1`; a raw `urn:li:share:1` path key is a
//!   `400` unless [`LinkedInFakeConfig::strict_path_encoding`] is off), and
//!   `List(...)` / `(key:value)` query values are parsed from the raw query
//!   string with their structure unencoded and their leaves encoded (so
//!   `List%28...%29` or a raw `:` inside a structure is a `400`).
//! - **OAuth**: one-time authorization codes bound to their `redirect_uri`
//!   with LinkedIn's 30-minute life; 60-day access tokens; 365-day programmatic
//!   refresh tokens whose TTL a refresh does *not* reset (the same refresh
//!   token comes back with a smaller `refresh_token_expires_in`); "a different
//!   scope invalidates the member's earlier tokens"; LinkedIn's `{"error",
//!   "error_description"}` bodies; token introspection.
//! - **Auth errors** in LinkedIn's body shape (`65600` invalid, `65601`
//!   revoked, `65602` expired, `403` `ACCESS_DENIED` with serviceErrorCode
//!   `100` and a `resource.METHOD.version` label) and the documented scope and
//!   page-role rules.
//! - **Posts**: create (`201`, `x-restli-id`, empty body), get, finder by
//!   author (newest first), batch get, partial update, delete; author,
//!   ownership (`INVALID_CONTENT_OWNERSHIP`), media readiness, multi-image
//!   2–20 and schema validation (rest.li `422`), the `DUPLICATE_POST` `422`
//!   inside a knob-settable window, the silent 3,000-character cut and the
//!   little-text truncation ([`render_little_text`]).
//! - **Images and Videos**: `initializeUpload`, byte uploads (only counts and
//!   a running FNV-1a checksum are kept, comparable with
//!   [`upload_checksum`]), multi-part video uploads with per-part `ETag`s,
//!   `finalizeUpload` checking the ETags in part order, and the
//!   `PROCESSING → AVAILABLE | PROCESSING_FAILED` state machine driven by
//!   status polls.
//! - **Analytics**: `organizationalEntityShareStatistics` (lifetime,
//!   per-share and time-bound), `memberCreatorPostAnalytics` (`entity` and
//!   `me` finders, `TOTAL` and `DAILY`), `socialMetadata`, all fed by knobs.
//! - **Rate limits**: per-member and per-application daily counters per
//!   resource, reset at UTC midnight of the fake clock; over the limit is a
//!   `429` without `Retry-After`.
//! - **Response headers**: `x-li-uuid` on every answer and
//!   `x-restli-protocol-version: 2.0.0` on API answers.
//!
//! Faults injected with [`Timing::AfterCommit`](crate::Timing::AfterCommit) strike the routes that change
//! state (`POST /rest/posts`, post updates and deletes, `initializeUpload`,
//! `finalizeUpload` and the `/dms-uploads` byte uploads) *after* the change
//! happened, including [`crate::Fault::Reset`].
//!
//! ```
//! use postd_testkit::linkedin::LinkedInFake;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = LinkedInFake::start().await;
//! let token = fake.seed_member("abc123", "Ada Lovelace", &["openid", "profile", "w_member_social"]);
//!
//! let client = postd_core::reqwest::Client::new();
//! let resp = client
//!     .post(format!("{}/rest/posts", fake.uri()))
//!     .bearer_auth(&token)
//!     .header("LinkedIn-Version", "202601")
//!     .header("X-Restli-Protocol-Version", "2.0.0")
//!     .json(&serde_json::json!({
//!         "author": "urn:li:person:abc123",
//!         "commentary": "hello",
//!         "visibility": "PUBLIC",
//!         "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
//!         "lifecycleState": "PUBLISHED",
//!     }))
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(resp.status(), 201);
//! let urn = resp.headers()["x-restli-id"].to_str().unwrap().to_owned();
//! assert_eq!(fake.posts()[0].urn, urn);
//! # });
//! ```

mod analytics;
mod auth;
mod conformance;
mod errors;
mod little_text;
mod media;
mod oauth;
mod organizations;
mod posts;
mod records;
mod request;
mod rest;
mod restli;
mod routing;
mod state;
mod uploads;
mod v2;

pub use self::errors::{api_error, duplicate_post_error};
pub use self::little_text::{LITTLE_TEXT_RESERVED, MAX_COMMENTARY_CHARS, render_little_text};
pub use self::records::{LiImage, LiPost, LiVideo, LinkedInFakeConfig};
pub use crate::util::upload_checksum;

use std::fmt;
use std::sync::{Arc, Mutex};

use url::Url;

use self::oauth::CodeRec;
use self::routing::Router;
use self::state::{AclRec, State};
use crate::FakeServer;
use crate::util::hmac_hex;

/// The LinkedIn fake. Start it, seed members and organizations, point the
/// connector's OAuth (`https://www.linkedin.com`) and API
/// (`https://api.linkedin.com`) base URLs at [`LinkedInFake::url`], and read
/// the platform's state back through the accessors.
pub struct LinkedInFake {
    server: FakeServer,
    state: Arc<Mutex<State>>,
    config: LinkedInFakeConfig,
}

impl fmt::Debug for LinkedInFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock().unwrap();
        f.debug_struct("LinkedInFake")
            .field("uri", &self.server.uri())
            .field("members", &st.members.len())
            .field("organizations", &st.orgs.len())
            .field("posts", &st.posts.len())
            .field("images", &st.images.len())
            .field("videos", &st.videos.len())
            .finish_non_exhaustive()
    }
}

impl LinkedInFake {
    /// Starts a fake with the default [`LinkedInFakeConfig`].
    pub async fn start() -> LinkedInFake {
        LinkedInFake::start_with(LinkedInFakeConfig::default()).await
    }

    /// Starts a fake with `config`.
    pub async fn start_with(config: LinkedInFakeConfig) -> LinkedInFake {
        let server = FakeServer::start_recording(config.record_requests).await;
        let state = Arc::new(Mutex::new(State::new(config.clone(), server.uri())));
        let router = Router {
            state: state.clone(),
            unmatched: server.unmatched_log(),
        };
        server
            .mount_stateful("postd-testkit linkedin", move |req| router.handle(req))
            .await;
        LinkedInFake {
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

    /// The base URI, `http://127.0.0.1:PORT`, standing in for both
    /// `https://www.linkedin.com` and `https://api.linkedin.com`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL with a trailing `/`.
    pub fn url(&self) -> Url {
        self.server.url()
    }

    /// The configuration the fake was started with.
    pub fn config(&self) -> &LinkedInFakeConfig {
        &self.config
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    /// The app's client secret.
    pub fn client_secret(&self) -> &str {
        &self.config.client_secret
    }

    /// Registers another developer application (introspecting the first app's
    /// tokens with its credentials answers `"active": false`).
    pub fn register_app(&self, client_id: &str, client_secret: &str) {
        self.st()
            .apps
            .insert(client_id.to_owned(), client_secret.to_owned());
    }

    /// Creates (or updates) the member `sub` (person URN `urn:li:person:{sub}`)
    /// who granted the app `scopes`, and returns a fresh 60-day access token.
    /// The member's email is `{sub}@members.example`.
    pub fn seed_member(&self, sub: &str, name: &str, scopes: &[&str]) -> String {
        let mut st = self.st();
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let m = st.member(sub);
        m.name = name.to_owned();
        m.scopes = scopes.clone();
        let now = st.now();
        let client_id = st.config.client_id.clone();
        st.issue_access(sub, &client_id, &scopes, now, None).0
    }

    /// A programmatic refresh token for `sub` with the member's current scopes,
    /// valid for 365 days from now. It only works when
    /// [`LinkedInFakeConfig::refresh_tokens`] is on.
    pub fn seed_refresh_token(&self, sub: &str) -> String {
        let mut st = self.st();
        let scopes = st.member(sub).scopes.clone();
        let now = st.now();
        let client_id = st.config.client_id.clone();
        st.issue_refresh(sub, &client_id, &scopes, now)
    }

    /// Creates (or renames) the organization `org_id` (URN
    /// `urn:li:organization:{org_id}`) and gives member `admin_sub` the company
    /// page `role` (`ADMINISTRATOR`, `CONTENT_ADMINISTRATOR`,
    /// `DIRECT_SPONSORED_CONTENT_POSTER`, `ANALYST`, …), state `APPROVED`.
    pub fn seed_organization(&self, org_id: &str, name: &str, admin_sub: &str, role: &str) {
        let mut st = self.st();
        st.orgs.insert(org_id.to_owned(), name.to_owned());
        st.member(admin_sub);
        st.acls.retain(|a| !(a.org == org_id && a.sub == admin_sub));
        st.acls.push(AclRec {
            org: org_id.to_owned(),
            sub: admin_sub.to_owned(),
            role: role.to_owned(),
            state: "APPROVED".to_owned(),
        });
    }

    /// Removes every role member `sub` holds on organization `org_id` (the
    /// member lost page access).
    pub fn remove_role(&self, org_id: &str, sub: &str) {
        self.st()
            .acls
            .retain(|a| !(a.org == org_id && a.sub == sub));
    }

    /// A one-time authorization code, as if member `sub` approved `scopes` and
    /// LinkedIn redirected to `redirect_uri`; it lives 30 minutes. As LinkedIn
    /// documents, exchanging a code whose scopes differ from the member's
    /// earlier grant revokes the member's earlier access tokens.
    pub fn issue_code(&self, sub: &str, redirect_uri: &str, scopes: &[&str]) -> String {
        let mut st = self.st();
        st.member(sub);
        let code = st.new_token("AQT");
        let now = st.now();
        let client_id = st.config.client_id.clone();
        st.codes.insert(
            code.clone(),
            CodeRec {
                sub: sub.to_owned(),
                client_id,
                redirect_uri: redirect_uri.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                issued_at: now,
                used: false,
            },
        );
        code
    }

    /// Makes an access or refresh token expire now.
    pub fn expire_token(&self, token: &str) {
        let mut st = self.st();
        let now = st.now();
        if let Some(t) = st.tokens.get_mut(token) {
            t.expires_at = now;
        }
    }

    /// Revokes an access or refresh token (the member revoked the app).
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.st().tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    /// The next video to be finalized ends `PROCESSING_FAILED` instead of `AVAILABLE`.
    pub fn fail_next_video(&self) {
        self.st().fail_next_video = true;
    }

    /// Sets a post's lifetime counts, read by share statistics (`impressionCount`,
    /// `clickCount`, `likeCount`, `commentCount`, `shareCount`), member post
    /// analytics (`IMPRESSION`, `LINK_CLICKS`, `REACTION`, `COMMENT`, `RESHARE`;
    /// `MEMBERS_REACHED` defaults to `impressions`) and social metadata (a
    /// `LIKE` reaction summary and the comment summary).
    pub fn set_share_statistics(
        &self,
        post_urn: &str,
        impressions: u64,
        clicks: u64,
        likes: u64,
        comments: u64,
        shares: u64,
    ) {
        let mut st = self.st();
        let s = st.stats.entry(post_urn.to_owned()).or_default();
        s.impressions = impressions;
        s.clicks = clicks;
        s.likes = likes;
        s.comments = comments;
        s.shares = shares;
    }

    /// Overrides one `memberCreatorPostAnalytics` `queryType` count for a post
    /// (`MEMBERS_REACHED`, `POST_SAVE`, …).
    pub fn set_post_metric(&self, post_urn: &str, query_type: &str, count: u64) {
        self.st()
            .stats
            .entry(post_urn.to_owned())
            .or_default()
            .metrics
            .insert(query_type.to_owned(), count);
    }

    /// Sets one reaction type's count (`LIKE`, `PRAISE`, `EMPATHY`, `INTEREST`,
    /// `APPRECIATION`, `ENTERTAINMENT`) in a post's social metadata; once any
    /// is set, they replace the `likes` of [`LinkedInFake::set_share_statistics`]
    /// in `reactionSummaries` and the `REACTION` metric.
    pub fn set_reaction(&self, post_urn: &str, reaction_type: &str, count: u64) {
        self.st()
            .stats
            .entry(post_urn.to_owned())
            .or_default()
            .reactions
            .insert(reaction_type.to_owned(), count);
    }

    /// How long (seconds) an identical commentary by the same author is a
    /// `DUPLICATE_POST` (deleted posts included). Default 86,400; 0 disables.
    pub fn set_duplicate_window(&self, seconds: i64) {
        self.st().duplicate_window = seconds;
    }

    /// Changes the per-member and per-app daily call limits (per resource).
    pub fn set_daily_limits(&self, member: u32, app: u32) {
        let mut st = self.st();
        st.member_limit = member;
        st.app_limit = app;
    }

    /// Moves the fake clock forward (or back) by `seconds`.
    pub fn advance_time(&self, seconds: i64) {
        self.st().clock_offset += seconds;
    }

    /// The fake clock, unix seconds.
    pub fn now(&self) -> i64 {
        self.st().now()
    }

    /// Every post created, in creation order (deleted ones included, flagged).
    pub fn posts(&self) -> Vec<LiPost> {
        self.st().posts.iter().map(State::post_view).collect()
    }

    /// Every image registered, in order.
    pub fn images(&self) -> Vec<LiImage> {
        let st = self.st();
        st.image_order
            .iter()
            .filter_map(|urn| {
                st.images.get(urn).map(|i| LiImage {
                    urn: urn.clone(),
                    owner: i.owner.clone(),
                    uploaded_bytes: i.uploaded_bytes,
                    checksum: i.checksum,
                    status: if i.uploaded {
                        "AVAILABLE"
                    } else {
                        "WAITING_UPLOAD"
                    }
                    .to_owned(),
                })
            })
            .collect()
    }

    /// Every video registered, in order.
    pub fn videos(&self) -> Vec<LiVideo> {
        let st = self.st();
        st.video_order
            .iter()
            .filter_map(|urn| st.videos.get(urn).map(|v| st.video_view(urn, v)))
            .collect()
    }

    /// How many `POST /rest/posts` calls created a post.
    pub fn post_creates(&self) -> usize {
        self.st().post_creates
    }

    /// How many `/rest` calls lacked `LinkedIn-Version` or `X-Restli-Protocol-Version`.
    pub fn requests_missing_version(&self) -> usize {
        self.st().missing_version
    }

    /// How many requests carried an access token (`oauth2_access_token` or
    /// `access_token`) in the URL query string.
    pub fn tokens_in_query(&self) -> usize {
        self.st().tokens_in_query
    }

    /// Every request the fake answered, as `METHOD /path[?query]`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.st().requests.clone()
    }

    /// The `X-LI-Signature` value for a webhook delivery of `body`: lowercase
    /// hex HMAC-SHA256 keyed with the client secret over `"hmacsha256=" + body`.
    pub fn sign_webhook(&self, body: &[u8]) -> String {
        let mut msg = b"hmacsha256=".to_vec();
        msg.extend_from_slice(body);
        hmac_hex(self.config.client_secret.as_bytes(), &msg)
    }

    /// The `challengeResponse` a webhook endpoint must answer LinkedIn's
    /// validation `GET ?challengeCode=` with: lowercase hex HMAC-SHA256 keyed
    /// with the client secret over the challenge code.
    pub fn challenge_response(&self, challenge_code: &str) -> String {
        hmac_hex(
            self.config.client_secret.as_bytes(),
            challenge_code.as_bytes(),
        )
    }
}
