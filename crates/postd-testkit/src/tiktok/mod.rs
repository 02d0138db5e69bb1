//! A stateful fake of TikTok's v2 APIs: OAuth v2 (Login Kit token management), user info,
//! the Content Posting API (creator info, Direct Post and inbox video inits, photo posts,
//! chunked uploads, post status), the Display API's video list and query, and webhooks.
//!
//! [`TikTokFake`] models the platform as TikTok documents it on developers.tiktok.com
//! (each module cites its page), not as any client uses it. One fake server plays
//! `open.tiktokapis.com` (paths under `/v2/`, trailing slashes exact) and serves the upload
//! URLs it hands out, shaped as the docs show them
//! (`{uri}/video/?upload_id=...&upload_token=...`). The authorize page
//! (`www.tiktok.com/v2/auth/authorize/`) is not served: [`TikTokFake::issue_code`] stands in
//! for the user's consent.
//!
//! What it models:
//!
//! - **OAuth v2** (`POST /v2/oauth/token/`, form-encoded): one-time codes bound to their
//!   `redirect_uri` and, when issued with a `code_challenge`, to the S256 `code_verifier`;
//!   2-hour access tokens and 180-day refresh tokens (the 2026 docs; configurable);
//!   refresh tokens that **rotate** (the previous one stops working once a new one is
//!   issued; [`TikTokFakeConfig::rotate_refresh_tokens`] turns it off); `client_credentials`;
//!   `POST /v2/oauth/revoke/`; errors as `{"error", "error_description", "log_id"}`.
//! - **The API envelope** `{"data": {...}, "error": {"code", "message", "log_id"}}` on every
//!   API answer, with the documented codes and statuses ([`status_of`]): bearer tokens
//!   (`401 access_token_invalid`), scopes (`401 scope_not_authorized`), `400 invalid_param`
//!   (posting) / `invalid_params` (Display API), the posting `403`s, `429
//!   rate_limit_exceeded` from one-minute sliding windows (per access token for the posting
//!   endpoints: creator info 20, each init 6, status 30; per app for user info, video list
//!   and query: 600).
//! - **Creator info**, seeded per creator and settable ([`TtCreator`]); a creator who
//!   cannot post now ([`TikTokFake::block_posting`]) or an app at its daily quota of
//!   active publishing users ([`TikTokFake::set_active_user_cap`]) is answered with HTTP
//!   200 and the code, as the reference documents, and `403` at init.
//! - **Inits** (Direct Post video, inbox video, photo): body validation, the chunk plan
//!   exactly as the media transfer guide states it ([`chunk_plan_error`]), privacy options
//!   (`privacy_level_option_mismatch`), unaudited clients (`SELF_ONLY` only, 5 users a
//!   day), URL ownership for `PULL_FROM_URL` ([`TikTokFake::verify_domain`],
//!   [`TikTokFake::verify_url_prefix`]; otherwise `url_ownership_unverified`), the
//!   5-pending-shares cap of inbox uploads, an optional daily post cap.
//! - **Uploads**: `PUT {upload_url}` chunk by chunk in order with `Content-Range`, `206` then
//!   `201`, `416` for a range the plan does not expect; only byte counts and a running
//!   FNV-1a checksum (comparable with [`upload_checksum`]) are kept.
//! - **Status**: `PROCESSING_UPLOAD` / `PROCESSING_DOWNLOAD` → `PUBLISH_COMPLETE` (with
//!   `publicaly_available_post_id`, the docs' spelling, unless `SELF_ONLY`) or
//!   `SEND_TO_USER_INBOX`, or `FAILED` with a `fail_reason`
//!   ([`TikTokFake::fail_next_publish`]), moved on by status fetches
//!   ([`TikTokFakeConfig::polls_per_stage`]).
//! - **Display API**: the public posts, newest first with the millisecond cursor, and
//!   their settable counts ([`TikTokFake::set_metrics`]).
//! - **Webhooks**: every status change queues the delivery TikTok would send
//!   ([`TikTokFake::webhook_outbox`]); [`TikTokFake::sign_webhook`] signs a body as TikTok does.
//!
//! Faults injected with [`Timing::AfterCommit`](crate::Timing::AfterCommit) strike the
//! requests that took effect (a successful init, an accepted chunk, a token exchange, a
//! status poll) *after* the effect; [`TikTokFake::publishes`] then shows what the platform
//! holds.
//!
//! Not modelled: the authorize page, `/v2/post/publish/cancel/`, photo `app_version_check_failed`,
//! video content checks (duration, codec, frame rate: use [`TikTokFake::fail_next_publish`]
//! with `duration_check_failed` etc.), the branded-content-not-`SELF_ONLY` UX rule, the
//! 2-hour expiry of avatar URLs, webhook delivery itself (the fake queues the bodies).
//!
//! ```
//! use postd_testkit::tiktok::TikTokFake;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = TikTokFake::start().await;
//! let token = fake.seed_user("open-1", &["user.info.basic", "video.publish"]);
//! fake.verify_domain("media.example");
//!
//! let client = postd_core::reqwest::Client::new();
//! let resp: serde_json::Value = client
//!     .post(format!("{}/v2/post/publish/content/init/", fake.uri()))
//!     .bearer_auth(&token)
//!     .json(&serde_json::json!({
//!         "post_info": {"title": "hello", "privacy_level": "PUBLIC_TO_EVERYONE"},
//!         "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0,
//!                         "photo_images": ["https://media.example/a.jpg"]},
//!         "post_mode": "DIRECT_POST",
//!         "media_type": "PHOTO",
//!     }))
//!     .send()
//!     .await
//!     .unwrap()
//!     .json()
//!     .await
//!     .unwrap();
//! assert_eq!(resp["error"]["code"], "ok");
//! assert_eq!(fake.publishes()[0].publish_id, resp["data"]["publish_id"]);
//! # });
//! ```

mod auth;
mod conformance;
mod creator;
mod errors;
mod oauth;
mod publish;
mod records;
mod request;
mod routing;
mod state;
#[cfg(test)]
mod tests;
mod uploads;
mod videos;
mod webhooks;

pub use self::errors::{envelope, oauth_error, status_of};
pub use self::oauth::s256;
pub use self::publish::chunk_plan_error;
pub use self::records::{
    ChunkLimits, PostingBlock, PublishKind, TikTokFakeConfig, TtCreator, TtMetrics, TtPublish,
    TtWebhook,
};
pub use self::webhooks::{webhook_body, webhook_signature};
pub use crate::util::upload_checksum;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde_json::json;
use url::Url;

use self::routing::Router;
use self::state::{CodeRec, DEFAULT_LIMITS, PublishRec, State, TokenKind, VideoRec};
use crate::FakeServer;

/// The TikTok fake. Start it, seed users, point the connector's `https://open.tiktokapis.com`
/// base URL at [`TikTokFake::url`], and read the platform's state back through the accessors.
pub struct TikTokFake {
    server: FakeServer,
    state: Arc<Mutex<State>>,
    config: TikTokFakeConfig,
}

impl fmt::Debug for TikTokFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock().unwrap();
        f.debug_struct("TikTokFake")
            .field("uri", &self.server.uri())
            .field("users", &st.users.len())
            .field("publishes", &st.publishes.len())
            .field("videos", &st.videos.len())
            .finish_non_exhaustive()
    }
}

impl TikTokFake {
    /// Starts a fake with the default [`TikTokFakeConfig`].
    pub async fn start() -> TikTokFake {
        TikTokFake::start_with(TikTokFakeConfig::default()).await
    }

    /// Starts a fake with `config`.
    pub async fn start_with(config: TikTokFakeConfig) -> TikTokFake {
        let server = FakeServer::start_recording(config.record_requests).await;
        let state = Arc::new(Mutex::new(State::new(config.clone(), server.uri())));
        let router = Router {
            state: state.clone(),
            unmatched: server.unmatched_log(),
        };
        server
            .mount_stateful("postd-testkit tiktok", move |req| router.handle(req))
            .await;
        TikTokFake {
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

    /// The base URI, `http://127.0.0.1:PORT`, standing in for `https://open.tiktokapis.com`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL with a trailing `/`.
    pub fn url(&self) -> Url {
        self.server.url()
    }

    /// The configuration the fake was started with.
    pub fn config(&self) -> &TikTokFakeConfig {
        &self.config
    }

    /// The app's `client_key`.
    pub fn client_key(&self) -> &str {
        &self.config.client_key
    }

    /// The app's `client_secret`.
    pub fn client_secret(&self) -> &str {
        &self.config.client_secret
    }

    /// Creates the user `open_id` (a public creator, [`TtCreator::public`], unless set
    /// otherwise) who authorized the app for `scopes`, and returns a fresh access token.
    pub fn seed_user(&self, open_id: &str, scopes: &[&str]) -> String {
        let mut st = self.st();
        st.user(open_id);
        let key = st.config.client_key.clone();
        st.issue(open_id, &key, &owned(scopes), TokenKind::Access)
    }

    /// A refresh token for `open_id` with `scopes`, as a code exchange would have issued.
    pub fn seed_refresh_token(&self, open_id: &str, scopes: &[&str]) -> String {
        let mut st = self.st();
        st.user(open_id);
        let key = st.config.client_key.clone();
        st.issue(open_id, &key, &owned(scopes), TokenKind::Refresh)
    }

    /// A one-time authorization code, as if `open_id` approved `scopes` and TikTok
    /// redirected to `redirect_uri`. With `code_challenge` (S256, see [`s256`]) the exchange
    /// must send the matching `code_verifier`.
    pub fn issue_code(
        &self,
        open_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
        code_challenge: Option<&str>,
    ) -> String {
        let mut st = self.st();
        st.user(open_id);
        let code = st.new_token("");
        let rec = CodeRec {
            open_id: open_id.to_owned(),
            client_key: st.config.client_key.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: owned(scopes),
            code_challenge: code_challenge.map(str::to_owned),
            issued_at: st.now(),
            used: false,
        };
        st.codes.insert(code.clone(), rec);
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

    /// Revokes one access or refresh token.
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.st().tokens.get_mut(token) {
            t.revoked = true;
        }
    }

    /// Whether `token` would still be accepted (an access token by the API, a refresh token
    /// by the token endpoint).
    pub fn token_is_live(&self, token: &str) -> bool {
        let st = self.st();
        st.tokens
            .get(token)
            .is_some_and(|t| !t.revoked && t.expires_at > st.now())
    }

    /// The user removed the app's authorization (`reason`: 0 unknown, 1 user disconnect, 2
    /// account deleted, 3 age change, 4 banned, 5 developer revoke): every token dies and an
    /// `authorization.removed` delivery is queued.
    pub fn remove_authorization(&self, open_id: &str, reason: u8) {
        let mut st = self.st();
        st.revoke_grant(open_id);
        st.emit("authorization.removed", open_id, json!({"reason": reason}));
    }

    /// Sets what `creator_info/query` answers for `open_id` (and which privacy levels its
    /// posts may use).
    pub fn set_creator(&self, open_id: &str, creator: TtCreator) {
        self.st().user(open_id).creator = creator;
    }

    /// What `creator_info/query` answers for `open_id`.
    pub fn creator(&self, open_id: &str) -> TtCreator {
        self.st().user(open_id).creator.clone()
    }

    /// The creator cannot post now (`Some`), or can again (`None`).
    pub fn block_posting(&self, open_id: &str, block: Option<PostingBlock>) {
        self.st().user(open_id).block = block;
    }

    /// The app-wide daily quota of active publishing users (`None`: no quota). A user who
    /// has not posted today is refused `reached_active_user_cap` once `cap` users have.
    /// `Some(0)` refuses everyone.
    pub fn set_active_user_cap(&self, cap: Option<usize>) {
        self.st().active_user_cap = cap;
    }

    /// Whether the app passed the Direct Post audit (starts as [`TikTokFakeConfig::audited`]).
    pub fn set_audited(&self, audited: bool) {
        self.st().audited = audited;
    }

    /// Verifies a domain for `PULL_FROM_URL` (`example.com` covers its subdomains too).
    pub fn verify_domain(&self, domain: &str) {
        self.st()
            .verified_domains
            .push(domain.trim_end_matches('.').to_ascii_lowercase());
    }

    /// Verifies a URL prefix for `PULL_FROM_URL` (`https://cdn.example/videos/`).
    pub fn verify_url_prefix(&self, prefix: &str) {
        self.st().verified_prefixes.push(prefix.to_owned());
    }

    /// Sets the per-minute limit of `endpoint` (one of the documented paths, e.g.
    /// `/v2/post/publish/video/init/`); 0 refuses every call. Panics for another path.
    pub fn set_rate_limit(&self, endpoint: &str, per_minute: u32) {
        let Some((path, _)) = DEFAULT_LIMITS.iter().find(|(p, _)| *p == endpoint) else {
            panic!("TikTokFake: {endpoint} has no documented rate limit");
        };
        self.st().limits.insert(path, per_minute);
    }

    /// With `on`, every rate-limited endpoint answers `429 rate_limit_exceeded` to
    /// `open_id`'s tokens; without, lifts it.
    pub fn throttle_user(&self, open_id: &str, on: bool) {
        let mut st = self.st();
        if on {
            st.throttled.insert(open_id.to_owned());
        } else {
            st.throttled.remove(open_id);
        }
    }

    /// The next publish created ends `FAILED` with `fail_reason` (e.g. `video_pull_failed`,
    /// `duration_check_failed`, `spam_risk_text`, `internal`) instead of completing.
    pub fn fail_next_publish(&self, fail_reason: &str) {
        self.st().fail_next = Some(fail_reason.to_owned());
    }

    /// A publish still processing ends `FAILED` with `fail_reason`. False when there is no
    /// such publish or it already ended.
    pub fn fail_publish(&self, publish_id: &str, fail_reason: &str) -> bool {
        let mut st = self.st();
        match st.publishes.iter_mut().find(|p| p.publish_id == publish_id) {
            Some(p) if matches!(p.status, "PROCESSING_UPLOAD" | "PROCESSING_DOWNLOAD") => {
                p.planned_failure = Some(fail_reason.to_owned());
                true
            }
            _ => false,
        }
    }

    /// Ends a publish's processing now, without status polls (its upload must be
    /// complete), as a webhook-driven flow sees it. False when it cannot.
    pub fn complete_processing(&self, publish_id: &str) -> bool {
        let mut st = self.st();
        let Some(i) = st.publishes.iter().position(|p| p.publish_id == publish_id) else {
            return false;
        };
        if st.publishes[i]
            .upload
            .as_ref()
            .is_some_and(|u| !u.complete())
        {
            return false;
        }
        st.finish(i);
        if st.publishes[i].status == "PUBLISH_COMPLETE"
            && st.publishes[i].post_id.is_none()
            && st.publishes[i].privacy_level.as_deref() != Some("SELF_ONLY")
        {
            st.make_public(i);
        }
        true
    }

    /// The creator finished an inbox post (`SEND_TO_USER_INBOX`) in the TikTok app with
    /// `privacy_level`: it becomes `PUBLISH_COMPLETE` (public unless `SELF_ONLY`). False
    /// when the publish is not waiting in the inbox.
    pub fn complete_inbox(&self, publish_id: &str, privacy_level: &str) -> bool {
        let mut st = self.st();
        let Some(i) = st
            .publishes
            .iter()
            .position(|p| p.publish_id == publish_id && p.status == "SEND_TO_USER_INBOX")
        else {
            return false;
        };
        let p = &mut st.publishes[i];
        p.status = "PUBLISH_COMPLETE";
        p.privacy_level = Some(privacy_level.to_owned());
        let (id, open_id, kind) = (p.publish_id.clone(), p.open_id.clone(), p.kind);
        st.emit(
            "post.publish.complete",
            &open_id,
            json!({"publish_id": id, "publish_type": kind.publish_type()}),
        );
        if privacy_level != "SELF_ONLY" {
            st.make_public(i);
        }
        true
    }

    /// A public video already on `open_id`'s profile (posted outside the API); returns its id.
    pub fn seed_video(&self, open_id: &str, title: &str) -> String {
        let mut st = self.st();
        st.user(open_id);
        let id = st.new_post_id();
        let now = st.now_ms();
        let last = st
            .videos
            .iter()
            .filter(|v| v.open_id == open_id)
            .map(|v| v.create_time_ms)
            .max()
            .unwrap_or(i64::MIN);
        st.videos.push(VideoRec {
            id,
            open_id: open_id.to_owned(),
            title: title.to_owned(),
            description: String::new(),
            create_time_ms: now.max(last + 1),
            metrics: TtMetrics::default(),
            duration: 15,
        });
        id.to_string()
    }

    /// Sets a public post's counts. False when there is no such post.
    pub fn set_metrics(&self, post_id: &str, metrics: TtMetrics) -> bool {
        let mut st = self.st();
        match st.videos.iter_mut().find(|v| v.id.to_string() == post_id) {
            Some(v) => {
                v.metrics = metrics;
                true
            }
            None => false,
        }
    }

    /// The ids of `open_id`'s public posts, newest first (as `/v2/video/list/` pages them).
    pub fn public_post_ids(&self, open_id: &str) -> Vec<String> {
        let st = self.st();
        let mut v: Vec<&VideoRec> = st.videos.iter().filter(|v| v.open_id == open_id).collect();
        v.sort_by_key(|v| std::cmp::Reverse(v.create_time_ms));
        v.iter().map(|v| v.id.to_string()).collect()
    }

    /// Every publish the inits created, in creation order.
    pub fn publishes(&self) -> Vec<TtPublish> {
        self.st().publishes.iter().map(view).collect()
    }

    /// One publish.
    pub fn publish(&self, publish_id: &str) -> Option<TtPublish> {
        self.st()
            .publishes
            .iter()
            .find(|p| p.publish_id == publish_id)
            .map(view)
    }

    /// How many init calls created a publish.
    pub fn post_inits(&self) -> usize {
        self.st().post_inits
    }

    /// Every webhook delivery the fake would have sent, in order.
    pub fn webhook_outbox(&self) -> Vec<TtWebhook> {
        self.st().outbox.clone()
    }

    /// The `TikTok-Signature` header value for `body` delivered at `t` (unix seconds):
    /// `t={t},s={hex HMAC-SHA256(client_secret, "{t}." + body)}`.
    pub fn sign_webhook(&self, body: &[u8], t: i64) -> String {
        webhook_signature(&self.config.client_secret, t, body)
    }

    /// `body` as TikTok delivers it now: a `POST` with `Content-Type: application/json` and
    /// `TikTok-Signature` over those exact bytes, timestamped with the wall clock.
    pub fn signed_webhook(&self, body: &[u8]) -> postd_core::WebhookRequest {
        self.signed_webhook_at(body, chrono::Utc::now().timestamp())
    }

    /// `body` delivered at `t` (unix seconds).
    pub fn signed_webhook_at(&self, body: &[u8], t: i64) -> postd_core::WebhookRequest {
        use postd_core::reqwest::header::{HeaderMap, HeaderValue};
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(&self.sign_webhook(body, t)) {
            headers.insert("tiktok-signature", v);
        }
        postd_core::WebhookRequest::post(headers, body.to_vec())
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

fn view(p: &PublishRec) -> TtPublish {
    TtPublish {
        publish_id: p.publish_id.clone(),
        open_id: p.open_id.clone(),
        kind: p.kind,
        source: p.source().to_owned(),
        status: p.status.to_owned(),
        fail_reason: p.fail_reason.clone(),
        privacy_level: p.privacy_level.clone(),
        post_info: p.post_info.clone(),
        chunk_plan: p
            .upload
            .as_ref()
            .map(|u| (u.video_size, u.chunk_size, u.total_chunks)),
        uploaded_chunks: p.upload.as_ref().map_or(0, |u| u.received_chunks),
        uploaded_bytes: p.upload.as_ref().map_or(0, |u| u.uploaded_bytes),
        checksum: p.upload.as_ref().map_or(0, |u| u.checksum),
        urls: p.urls.clone(),
        post_id: p.post_id.map(|id| id.to_string()),
        created_at: p.created_at,
    }
}
