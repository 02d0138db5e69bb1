//! A stateful fake of the Meta Graph API: Facebook Pages and Instagram
//! (Instagram API with Facebook Login).
//!
//! [`MetaFake`] models the platform as Meta documents it (Graph API, Pages
//! API, Instagram Platform content publishing and insights, the Resumable
//! Upload API and webhooks on developers.facebook.com; each module cites its
//! page), not as any client uses it. One fake server plays
//! `graph.facebook.com`, `graph-video.facebook.com` and
//! `rupload.facebook.com`: every Graph path needs a `/v{major}.{minor}/`
//! version prefix (any version is accepted; an unversioned Graph call falls
//! through to the loud catch-all, so pin your version), and the Instagram
//! upload host is served at `/ig-api-upload/[{version}/]{container-id}`.
//!
//! What it models:
//!
//! - **Parameters** from the query string, a form body, a JSON body or a
//!   multipart body (`source` files are counted, never kept).
//! - **Access tokens** from `Authorization: Bearer`, `Authorization: OAuth` or
//!   an `access_token` parameter; how each request carried its token is
//!   recorded ([`MetaFake::token_uses`], [`MetaFake::tokens_in_query`]).
//!   `appsecret_proof` is verified when sent, and required with
//!   [`MetaFakeConfig::require_appsecret_proof`].
//! - **OAuth**: one-time codes bound to their `redirect_uri`, short-lived
//!   (1.5 h) and long-lived (60-day) user tokens, page tokens (no expiry when
//!   fetched with a long-lived user token, 1 h otherwise), app tokens,
//!   `debug_token`.
//! - **Facebook Pages**: `/feed` (links, multi-photo `attached_media`,
//!   unpublished and scheduled posts inside Meta's documented 10 min – 30 day
//!   window, duplicate detection), `/photos`, `/videos` (from `file_url`, a
//!   Resumable Upload API handle, or a multipart `source`), processing status,
//!   listings.
//! - **Resumable Upload API** (`/{app-id}/uploads`, `/upload:{session}`):
//!   offsets are checked, only byte counts and a running FNV-1a checksum are
//!   kept ([`upload_checksum`]).
//! - **Instagram containers**: the `IN_PROGRESS → FINISHED → PUBLISHED` state
//!   machine driven by status polls, `ERROR` and `EXPIRED` knobs, documented
//!   caption / carousel / image-format rules, resumable reel uploads,
//!   `media_publish` with the 9007/2207027 "not ready" error, the
//!   already-published error, and the `content_publishing_limit` quota
//!   (9/2207042).
//! - **Insights** for pages, posts, videos, Instagram media and accounts, with
//!   the 2025 metric removals and the "empty values" behaviour.
//! - **Errors** in Meta's exact body shape ([`graph_error`]), **usage headers**
//!   (`X-App-Usage`, `X-Business-Use-Case-Usage`) and **rate limiting**
//!   ([`MetaFake::throttle`]).
//!
//! Faults injected with [`Timing::AfterCommit`](crate::Timing::AfterCommit) strike the routes that change
//! state (`/feed`, `/photos`, `/videos`, `/{app-id}/uploads`,
//! `/upload:{session}`, `/media`, `/media_publish`, `/ig-api-upload`) *after*
//! the change happened, including [`crate::Fault::Reset`].
//!
//! ```
//! use postd_testkit::meta::MetaFake;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = MetaFake::start().await;
//! let user_token = fake.seed_user("u1", "Ada", &["pages_show_list", "pages_manage_posts"]);
//! let page_token = fake.seed_page("u1", "p1", "Ada's Page", None);
//!
//! let client = postd_core::reqwest::Client::new();
//! let resp = client
//!     .post(format!("{}/v24.0/p1/feed", fake.uri()))
//!     .bearer_auth(&page_token)
//!     .form(&[("message", "hello")])
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(resp.status(), 200);
//! assert_eq!(fake.facebook_posts("p1")[0].message.as_deref(), Some("hello"));
//! # let _ = user_token;
//! # });
//! ```

mod auth;
mod conformance;
mod edges;
mod errors;
mod fields;
mod insights;
mod instagram;
mod me;
mod nodes;
mod oauth;
mod records;
mod request;
mod routing;
mod state;
mod uploads;

pub use self::errors::graph_error;
pub use self::records::{
    Container, FbPhoto, FbPost, FbVideo, IgMedia, MetaFakeConfig, TokenUse, TokenVia, UploadSession,
};
pub use crate::util::upload_checksum;

use std::fmt;
use std::sync::{Arc, Mutex};

use url::Url;

use self::auth::TokenStatus;
use self::oauth::CodeRec;
use self::routing::Router;
use self::state::{IgRec, PageRec, State, Throttle, UserRec};
use crate::FakeServer;
use crate::util::{FNV_OFFSET, fnv1a, hmac_hex};

/// The Meta Graph API fake. Start it, seed users and pages, point the
/// connector's Graph base URL at [`MetaFake::url`], and read the platform's
/// state back through the accessors.
pub struct MetaFake {
    server: FakeServer,
    state: Arc<Mutex<State>>,
    config: MetaFakeConfig,
}

impl fmt::Debug for MetaFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock().unwrap();
        f.debug_struct("MetaFake")
            .field("uri", &self.server.uri())
            .field("users", &st.users.len())
            .field("pages", &st.pages.len())
            .field("posts", &st.posts.len())
            .field("containers", &st.containers.len())
            .finish_non_exhaustive()
    }
}

impl MetaFake {
    /// Starts a fake with the default [`MetaFakeConfig`].
    pub async fn start() -> MetaFake {
        MetaFake::start_with(MetaFakeConfig::default()).await
    }

    /// Starts a fake with `config`.
    pub async fn start_with(config: MetaFakeConfig) -> MetaFake {
        let server = FakeServer::start_recording(config.record_requests).await;
        let state = Arc::new(Mutex::new(State::new(config.clone(), server.uri())));
        let router = Router {
            state: state.clone(),
            unmatched: server.unmatched_log(),
        };
        server
            .mount_stateful("postd-testkit meta", move |req| router.handle(req))
            .await;
        MetaFake {
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

    /// The base URI, `http://127.0.0.1:PORT` (no trailing `/`).
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL with a trailing `/`: the Graph host, the video host and the
    /// rupload host all at once.
    pub fn url(&self) -> Url {
        self.server.url()
    }

    /// The app id (`client_id`).
    pub fn app_id(&self) -> &str {
        &self.config.app_id
    }

    /// The app secret.
    pub fn app_secret(&self) -> &str {
        &self.config.app_secret
    }

    /// The Verify Token of the app's Webhooks settings (`hub.verify_token`).
    pub fn webhook_verify_token(&self) -> &str {
        &self.config.webhook_verify_token
    }

    /// The app access token, `{app-id}|{app-secret}` (for `debug_token`).
    pub fn app_token(&self) -> String {
        format!("{}|{}", self.config.app_id, self.config.app_secret)
    }

    /// `appsecret_proof` for `token`: hex HMAC-SHA256 keyed with the app secret.
    pub fn appsecret_proof(&self, token: &str) -> String {
        hmac_hex(self.config.app_secret.as_bytes(), token.as_bytes())
    }

    /// Creates (or updates) a user who granted `scopes` to the app, and returns a
    /// fresh valid long-lived (60-day) user token. Data access lasts 90 days.
    pub fn seed_user(&self, user_id: &str, name: &str, scopes: &[&str]) -> String {
        let mut st = self.st();
        let data_access = st.now() + 90 * 86_400;
        let user = st.users.entry(user_id.to_owned()).or_insert(UserRec {
            name: name.to_owned(),
            scopes: Vec::new(),
            data_access_expires_at: data_access,
        });
        user.name = name.to_owned();
        for s in scopes {
            match user.scopes.iter_mut().find(|(x, _)| x == s) {
                Some(entry) => entry.1 = true,
                None => user.scopes.push(((*s).to_owned(), true)),
            }
        }
        st.issue_user_token(user_id, true).0
    }

    /// Gives `user_id` (seeded if unknown, with no scopes) a Page, and returns the
    /// Page's token, as `/me/accounts` hands it to a long-lived user token (it
    /// never expires). `ig_user_id` links an Instagram professional account
    /// (username `ig_{id}`).
    pub fn seed_page(
        &self,
        user_id: &str,
        page_id: &str,
        name: &str,
        ig_user_id: Option<&str>,
    ) -> String {
        let mut st = self.st();
        if !st.users.contains_key(user_id) {
            let data_access = st.now() + 90 * 86_400;
            st.users.insert(
                user_id.to_owned(),
                UserRec {
                    name: user_id.to_owned(),
                    scopes: Vec::new(),
                    data_access_expires_at: data_access,
                },
            );
        }
        let token = st.issue_page_token(user_id, page_id, 0);
        st.pages.insert(
            page_id.to_owned(),
            PageRec {
                name: name.to_owned(),
                owner: user_id.to_owned(),
                ig: ig_user_id.map(str::to_owned),
                token: token.clone(),
            },
        );
        if let Some(ig) = ig_user_id {
            st.igs.insert(
                ig.to_owned(),
                IgRec {
                    page_id: page_id.to_owned(),
                    username: format!("ig_{ig}"),
                    quota_base: 0,
                    publishes: Vec::new(),
                },
            );
        }
        token
    }

    /// The current token of a seeded Page.
    pub fn page_token(&self, page_id: &str) -> Option<String> {
        self.st().pages.get(page_id).map(|p| p.token.clone())
    }

    /// A one-time authorization code for `user_id`, as the login dialog would
    /// redirect with to `redirect_uri`. Valid for 10 minutes.
    pub fn issue_code(&self, user_id: &str, redirect_uri: &str) -> String {
        let mut st = self.st();
        let n = st.next();
        let code = format!(
            "AQfakecode{n}{:08x}",
            fnv1a(FNV_OFFSET, redirect_uri.as_bytes())
        );
        let now = st.now();
        st.codes.insert(
            code.clone(),
            CodeRec {
                user_id: user_id.to_owned(),
                redirect_uri: redirect_uri.to_owned(),
                issued_at: now,
                used: false,
            },
        );
        code
    }

    /// `token` has expired: calls with it answer 190/463, `debug_token` says `is_valid: false`.
    pub fn expire_token(&self, token: &str) {
        if let Some(t) = self.st().tokens.get_mut(token) {
            t.status = TokenStatus::Expired;
        }
    }

    /// `token` was invalidated (a password change): calls with it answer 190/460.
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.st().tokens.get_mut(token) {
            t.status = TokenStatus::Revoked;
        }
    }

    /// The user changed their password: every user and page token issued for
    /// `user_id` answers 190/460.
    pub fn change_password(&self, user_id: &str) {
        for t in self.st().tokens.values_mut() {
            if t.user_id == user_id {
                t.status = TokenStatus::Revoked;
            }
        }
    }

    /// The user declined `scope` (shown as `declined` by `/me/permissions`, absent
    /// from `debug_token`'s scopes, and enforced by the endpoints that need it).
    pub fn decline_scope(&self, user_id: &str, scope: &str) {
        if let Some(u) = self.st().users.get_mut(user_id) {
            match u.scopes.iter_mut().find(|(s, _)| s == scope) {
                Some(entry) => entry.1 = false,
                None => u.scopes.push((scope.to_owned(), false)),
            }
        }
    }

    /// Sets the user's `data_access_expires_at` (as `debug_token` reports it).
    pub fn set_data_access_expires_at(&self, user_id: &str, unix: i64) {
        if let Some(u) = self.st().users.get_mut(user_id) {
            u.data_access_expires_at = unix;
        }
    }

    /// Sets the account's `quota_usage` (API-published posts in the last 24 h);
    /// later publishes add to it.
    pub fn set_quota_usage(&self, ig_user_id: &str, used: u32) {
        if let Some(r) = self.st().igs.get_mut(ig_user_id) {
            r.quota_base = used;
            r.publishes.clear();
        }
    }

    /// The percentages every answer reports in `X-App-Usage`.
    pub fn set_app_usage(&self, call_count: u32, total_time: u32, total_cputime: u32) {
        self.st().app_usage = (call_count, total_time, total_cputime);
    }

    /// The percentages reported for a Page or Instagram account in
    /// `X-Business-Use-Case-Usage`.
    pub fn set_business_usage(
        &self,
        object_id: &str,
        call_count: u32,
        total_time: u32,
        total_cputime: u32,
    ) {
        self.st().business_usage.insert(
            object_id.to_owned(),
            (call_count, total_time, total_cputime),
        );
    }

    /// Every later call about that Page or Instagram account (its node, edges,
    /// posts, containers, media) fails with the rate-limit `code` (80001 Pages,
    /// 80002 Instagram, or 4 / 17 / 32 / 613), and its
    /// `X-Business-Use-Case-Usage` reports 100 % with
    /// `estimated_time_to_regain_access: minutes_to_regain`. Lasts until
    /// [`MetaFake::clear_throttle`].
    pub fn throttle(&self, object_id: &str, code: i64, minutes_to_regain: u32) {
        self.st().throttles.insert(
            object_id.to_owned(),
            Throttle {
                code,
                minutes: minutes_to_regain,
            },
        );
    }

    /// Lifts [`MetaFake::throttle`].
    pub fn clear_throttle(&self, object_id: &str) {
        self.st().throttles.remove(object_id);
    }

    /// The next container created for that account ends `ERROR` (after its
    /// `IN_PROGRESS` polls) with `status` = `status_text`, e.g.
    /// `"Error: Media upload has failed with error code 2207082"`.
    pub fn fail_next_container(&self, ig_user_id: &str, status_text: &str) {
        self.st()
            .fail_next_container
            .insert(ig_user_id.to_owned(), status_text.to_owned());
    }

    /// The next video posted to that Page ends with `video_status: error`.
    pub fn fail_next_video(&self, page_id: &str) {
        self.st().fail_next_video.insert(page_id.to_owned());
    }

    /// The container expired (not published within 24 h): `EXPIRED`, and
    /// `media_publish` answers -2/2207020.
    pub fn expire_container(&self, container_id: &str) {
        if let Some(c) = self.st().containers.get_mut(container_id) {
            c.expired = true;
        }
    }

    /// That insights metric has no data: its rows come back with `values: []`
    /// (and `metric_type=total_value` rows are left out), as Meta answers
    /// missing data.
    pub fn set_empty_metric(&self, metric: &str) {
        self.st().empty_metrics.insert(metric.to_owned());
    }

    /// How long an identical `/feed` message on the same Page counts as a
    /// duplicate (506). Default one hour.
    pub fn set_duplicate_window(&self, seconds: i64) {
        self.st().duplicate_window = seconds;
    }

    /// Moves the fake's clock forward (token and code expiry, scheduled posts
    /// going live, the 24 h container and quota windows).
    pub fn advance_time(&self, seconds: i64) {
        self.st().clock_offset += seconds;
    }

    /// The fake's clock, unix seconds.
    pub fn now(&self) -> i64 {
        self.st().now()
    }

    /// The Page's feed posts, oldest first.
    pub fn facebook_posts(&self, page_id: &str) -> Vec<FbPost> {
        let st = self.st();
        st.posts
            .iter()
            .filter(|p| p.page_id == page_id)
            .filter_map(|p| st.public_post(&p.post.id))
            .collect()
    }

    /// The Page's photos, oldest first.
    pub fn photos(&self, page_id: &str) -> Vec<FbPhoto> {
        self.st()
            .photos
            .iter()
            .filter(|p| p.page_id == page_id)
            .map(|p| p.photo.clone())
            .collect()
    }

    /// The Page's videos, oldest first.
    pub fn videos(&self, page_id: &str) -> Vec<FbVideo> {
        self.st()
            .videos
            .iter()
            .filter(|v| v.page_id == page_id)
            .map(|v| v.video.clone())
            .collect()
    }

    /// Every Resumable Upload API session, oldest first.
    pub fn upload_sessions(&self) -> Vec<UploadSession> {
        self.st()
            .uploads
            .iter()
            .map(|u| u.session.clone())
            .collect()
    }

    /// Every Instagram container, oldest first.
    pub fn containers(&self) -> Vec<Container> {
        let st = self.st();
        st.container_order
            .iter()
            .filter_map(|id| st.containers.get(id))
            .map(|c| st.public_container(c))
            .collect()
    }

    /// The account's published Instagram media, oldest first.
    pub fn instagram_media(&self, ig_user_id: &str) -> Vec<IgMedia> {
        self.st()
            .media
            .iter()
            .filter(|m| m.ig_user_id == ig_user_id)
            .map(|m| m.media.clone())
            .collect()
    }

    /// How many `media_publish` calls reached the fake (failed ones included).
    pub fn media_publish_calls(&self) -> usize {
        self.st().media_publish_calls
    }

    /// How many requests carried `access_token` in the URL query string.
    pub fn tokens_in_query(&self) -> usize {
        self.st().token_uses.iter().filter(|u| u.in_query).count()
    }

    /// How every request the fake answered carried its token, in order.
    pub fn token_uses(&self) -> Vec<TokenUse> {
        self.st().token_uses.clone()
    }

    /// Every request the fake answered, as `METHOD /path`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.st().requests.clone()
    }

    /// `X-Hub-Signature-256` for a webhook delivery of `body`:
    /// `sha256=` + lowercase hex HMAC-SHA256 keyed with the app secret.
    pub fn sign_webhook(&self, body: &[u8]) -> String {
        format!(
            "sha256={}",
            hmac_hex(self.config.app_secret.as_bytes(), body)
        )
    }
}
