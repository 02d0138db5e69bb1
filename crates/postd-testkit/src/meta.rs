//! A stateful fake of the Meta Graph API: Facebook Pages and Instagram
//! (Instagram API with Facebook Login).
//!
//! [`MetaFake`] models the platform as Meta documents it (see
//! `shared/reference/api-meta-linkedin.md`, parts A and C, and the official
//! pages it cites), not as any client uses it. One fake server plays
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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use url::Url;
use wiremock::{Request, ResponseTemplate};

use crate::{FakeServer, Handled, UnmatchedLog};

// ---------------------------------------------------------------------------------------------
// Public configuration and records
// ---------------------------------------------------------------------------------------------

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaFakeConfig {
    /// The app id (`client_id`). Default `"1234567890"`.
    pub app_id: String,
    /// The app secret. Default `"fake-app-secret"`.
    pub app_secret: String,
    /// How many status polls a video / reel / video-story container answers
    /// `IN_PROGRESS` before `FINISHED`. Default 2.
    pub container_polls: u32,
    /// The same for image and carousel containers. Default 0 (ready at once).
    pub image_container_polls: u32,
    /// How many `?fields=status` polls a Facebook video answers `processing`
    /// before `ready`. Default 1.
    pub video_polls: u32,
    /// `config.quota_total` of `content_publishing_limit`: API-published posts
    /// allowed per rolling 24 h. Default 100.
    pub quota_total: u32,
    /// Every call made with a user or page token must carry `appsecret_proof`
    /// ("Require App Secret" switched on). Default false.
    pub require_appsecret_proof: bool,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`], for large uploads.
    pub record_requests: bool,
}

impl Default for MetaFakeConfig {
    fn default() -> Self {
        MetaFakeConfig {
            app_id: "1234567890".to_owned(),
            app_secret: "fake-app-secret".to_owned(),
            container_polls: 2,
            image_container_polls: 0,
            video_polls: 1,
            quota_total: 100,
            require_appsecret_proof: false,
            record_requests: true,
        }
    }
}

/// A post on a Facebook Page's feed (a status, link, multi-photo or photo post).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FbPost {
    /// `{page-id}_{post-id}`.
    pub id: String,
    /// The `message`.
    pub message: Option<String>,
    /// The `link`.
    pub link: Option<String>,
    /// Visible on the Page: published now, or scheduled and its time has come.
    pub published: bool,
    /// The scheduled publish time (unix seconds), for scheduled posts.
    pub scheduled_publish_time: Option<i64>,
    /// The `media_fbid`s of `attached_media` (or the photo of a photo post).
    pub attached_media: Vec<String>,
    /// When the post was created (unix seconds, fake clock).
    pub created_time: i64,
}

/// A photo uploaded to a Page's `/photos` edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FbPhoto {
    /// The photo id.
    pub id: String,
    /// Published as its own post (`published` defaulted or was true).
    pub published: bool,
    /// The `url` it was fetched from, when given.
    pub url: Option<String>,
    /// Bytes of a multipart `source` file (0 for `url`).
    pub uploaded_bytes: usize,
    /// The `caption` (or `message`).
    pub caption: Option<String>,
    /// Uploaded with `temporary=true`.
    pub temporary: bool,
    /// The feed post the photo made, when published.
    pub post_id: Option<String>,
}

/// A video posted to a Page's `/videos` edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FbVideo {
    /// The video id.
    pub id: String,
    /// The `title`.
    pub title: Option<String>,
    /// The `description`.
    pub description: Option<String>,
    /// The Resumable Upload API handle given as `fbuploader_video_file_chunk`.
    pub upload_handle: Option<String>,
    /// The `file_url`, when given.
    pub file_url: Option<String>,
    /// Published (`published` defaulted or was true and no schedule).
    pub published: bool,
    /// Bytes of a multipart `source` file, or of the upload behind `upload_handle`.
    pub uploaded_bytes: u64,
}

/// A Resumable Upload API session (`upload:{id}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSession {
    /// The session id as returned, `upload:...` (including any `?sig=`).
    pub id: String,
    /// The declared `file_length`.
    pub file_length: u64,
    /// Bytes received so far.
    pub received: u64,
    /// The file handle (`h`), once every byte arrived.
    pub handle: Option<String>,
    /// The declared `file_type`.
    pub file_type: String,
    /// The declared `file_name`, when given.
    pub file_name: Option<String>,
    /// FNV-1a 64 of the bytes received so far, in order (see [`upload_checksum`]).
    pub checksum: u64,
}

/// An Instagram media container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    /// The container id (`creation_id`).
    pub id: String,
    /// The Instagram professional account it belongs to.
    pub ig_user_id: String,
    /// The requested `media_type`: `IMAGE` (the default), `VIDEO`, `REELS`, `STORIES` or `CAROUSEL`.
    pub media_type: String,
    /// `status_code` as the next poll would see it before counting that poll:
    /// `IN_PROGRESS`, `FINISHED`, `ERROR`, `EXPIRED` or `PUBLISHED`.
    pub status_code: String,
    /// The caption.
    pub caption: Option<String>,
    /// Carousel children, in order.
    pub children: Vec<String>,
    /// Bytes received through the resumable upload host.
    pub uploaded_bytes: u64,
    /// Created with `is_carousel_item=true`.
    pub is_carousel_item: bool,
    /// The `image_url`.
    pub image_url: Option<String>,
    /// The `video_url` (or the `file_url` header of a hosted resumable upload).
    pub video_url: Option<String>,
    /// The `upload_type` (`resumable`).
    pub upload_type: Option<String>,
    /// FNV-1a 64 of the bytes received through the resumable upload host (see [`upload_checksum`]).
    pub checksum: u64,
}

/// A published Instagram media object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgMedia {
    /// The IG media id (`media_publish`'s answer).
    pub id: String,
    /// The container it was published from.
    pub container_id: String,
    /// The caption.
    pub caption: Option<String>,
    /// `IMAGE`, `VIDEO` or `CAROUSEL_ALBUM`.
    pub media_type: String,
    /// `FEED`, `REELS` or `STORY`.
    pub media_product_type: String,
    /// The permalink.
    pub permalink: String,
    /// When it was published (unix seconds, fake clock).
    pub timestamp: i64,
}

/// How a request carried its access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenVia {
    /// `Authorization: Bearer <token>`.
    BearerHeader,
    /// `Authorization: OAuth <token>`.
    OAuthHeader,
    /// An `access_token` query parameter.
    Query,
    /// An `access_token` field of a form, JSON or multipart body.
    Body,
    /// No access token.
    None,
}

/// One request's token transport, as recorded by the fake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenUse {
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// How the token travelled.
    pub via: TokenVia,
    /// True when the query string carried `access_token` (even if a header did too).
    pub in_query: bool,
}

/// The FNV-1a 64-bit hash the fake keeps of uploaded bytes, to compare with
/// [`UploadSession::checksum`] without the fake holding the bytes.
pub fn upload_checksum(bytes: &[u8]) -> u64 {
    fnv1a(FNV_OFFSET, bytes)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

static TRACE: AtomicU64 = AtomicU64::new(1);

fn fbtrace_id() -> String {
    let n = TRACE.fetch_add(1, Ordering::Relaxed);
    format!("AfakeTrace{n:08}")
}

fn default_transient(code: i64) -> bool {
    matches!(code, 1 | 2 | 4 | 17 | 32 | 341 | 613) || (80000..=80014).contains(&code)
}

/// The exact error body Meta answers with:
/// `{"error":{"message","type":"OAuthException","code","error_subcode"(when given),"is_transient","fbtrace_id"}}`.
pub fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Value {
    GraphErr::new(code, subcode, message).body()
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct GraphErr {
    status: u16,
    code: i64,
    subcode: Option<i64>,
    message: String,
    user_title: Option<String>,
    user_msg: Option<String>,
}

impl GraphErr {
    fn new(code: i64, subcode: Option<i64>, message: impl Into<String>) -> Self {
        let status = match code {
            1 | 2 => 500,
            10 | 200..=299 => 403,
            _ => 400,
        };
        GraphErr {
            status,
            code,
            subcode,
            message: message.into(),
            user_title: None,
            user_msg: None,
        }
    }

    fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    fn user(mut self, title: &str, msg: &str) -> Self {
        self.user_title = Some(title.to_owned());
        self.user_msg = Some(msg.to_owned());
        self
    }

    fn body(&self) -> Value {
        let mut e = Map::new();
        e.insert("message".into(), json!(self.message));
        e.insert("type".into(), json!("OAuthException"));
        e.insert("code".into(), json!(self.code));
        if let Some(s) = self.subcode {
            e.insert("error_subcode".into(), json!(s));
        }
        e.insert("is_transient".into(), json!(default_transient(self.code)));
        if let Some(t) = &self.user_title {
            e.insert("error_user_title".into(), json!(t));
        }
        if let Some(m) = &self.user_msg {
            e.insert("error_user_msg".into(), json!(m));
        }
        e.insert("fbtrace_id".into(), json!(fbtrace_id()));
        json!({ "error": Value::Object(e) })
    }
}

fn no_object(id: &str, method: &str) -> GraphErr {
    let verb = if method.eq_ignore_ascii_case("POST") {
        "post"
    } else {
        "get"
    };
    GraphErr::new(
        100,
        Some(33),
        format!(
            "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        ),
    )
}

fn missing_param(name: &str) -> GraphErr {
    GraphErr::new(
        100,
        None,
        format!("(#100) The parameter {name} is required"),
    )
}

fn invalid_param(msg: &str) -> GraphErr {
    GraphErr::new(100, None, format!("(#100) {msg}"))
}

fn invalid_token() -> GraphErr {
    GraphErr::new(
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
    )
}

fn nonexisting_field(field: &str, node: &str) -> GraphErr {
    GraphErr::new(
        100,
        None,
        format!("(#100) Tried accessing nonexisting field ({field}) on node type ({node})"),
    )
}

const PAGE_POST_PERMISSION: &str = "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission";

fn rate_limit_message(code: i64) -> String {
    match code {
        4 => "(#4) Application request limit reached".to_owned(),
        17 => "(#17) User request limit reached".to_owned(),
        32 => "(#32) Page request limit reached".to_owned(),
        613 => "(#613) Calls to this api have exceeded the rate limit.".to_owned(),
        80001 => "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.".to_owned(),
        80002 => "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.".to_owned(),
        c => format!("(#{c}) Rate limit reached"),
    }
}

enum Fail {
    Graph(GraphErr),
    /// The platform has no such route: the loud 421.
    Unmatched,
    /// An error from the rupload host, in its own `debug_info` shape.
    Rupload {
        status: u16,
        kind: &'static str,
        message: String,
    },
}

impl From<GraphErr> for Fail {
    fn from(e: GraphErr) -> Self {
        Fail::Graph(e)
    }
}

type Answer = Result<Value, Fail>;

// ---------------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenKind {
    User { long_lived: bool },
    Page,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenStatus {
    Valid,
    Expired,
    Revoked,
}

#[derive(Clone, Debug)]
struct TokenRec {
    kind: TokenKind,
    user_id: String,
    page_id: Option<String>,
    issued_at: i64,
    /// 0: never.
    expires_at: i64,
    status: TokenStatus,
}

#[derive(Clone, Debug)]
struct UserRec {
    name: String,
    /// (scope, granted)
    scopes: Vec<(String, bool)>,
    data_access_expires_at: i64,
}

#[derive(Clone, Debug)]
struct PageRec {
    name: String,
    owner: String,
    ig: Option<String>,
    token: String,
}

#[derive(Clone, Debug)]
struct IgRec {
    page_id: String,
    username: String,
    quota_base: u32,
    publishes: Vec<i64>,
}

#[derive(Clone, Debug)]
struct CodeRec {
    user_id: String,
    redirect_uri: String,
    issued_at: i64,
    used: bool,
}

#[derive(Clone, Debug)]
struct PostRec {
    page_id: String,
    post: FbPost,
}

#[derive(Clone, Debug)]
struct PhotoRec {
    page_id: String,
    photo: FbPhoto,
    created_time: i64,
}

#[derive(Clone, Debug)]
struct VideoRec {
    page_id: String,
    video: FbVideo,
    created_time: i64,
    polls: u32,
    fail: bool,
    scheduled_publish_time: Option<i64>,
}

#[derive(Clone, Debug)]
struct UploadRec {
    session: UploadSession,
    key: String,
    user_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Image,
    Video,
    Carousel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Product {
    Feed,
    Reels,
    Story,
}

#[derive(Clone, Debug)]
struct ContainerRec {
    c: Container,
    kind: Kind,
    product: Product,
    resumable: bool,
    file_size: Option<u64>,
    upload_done: bool,
    polls: u32,
    fail: Option<String>,
    expired: bool,
    published_media: Option<String>,
    created_at: i64,
}

#[derive(Clone, Debug)]
struct IgMediaRec {
    ig_user_id: String,
    media: IgMedia,
}

#[derive(Clone, Debug)]
struct Throttle {
    code: i64,
    minutes: u32,
}

struct State {
    config: MetaFakeConfig,
    base_uri: String,
    seq: u64,
    clock_offset: i64,
    users: BTreeMap<String, UserRec>,
    pages: BTreeMap<String, PageRec>,
    igs: BTreeMap<String, IgRec>,
    tokens: HashMap<String, TokenRec>,
    codes: HashMap<String, CodeRec>,
    posts: Vec<PostRec>,
    photos: Vec<PhotoRec>,
    videos: Vec<VideoRec>,
    uploads: Vec<UploadRec>,
    containers: BTreeMap<String, ContainerRec>,
    container_order: Vec<String>,
    media: Vec<IgMediaRec>,
    media_publish_calls: usize,
    token_uses: Vec<TokenUse>,
    app_usage: (u32, u32, u32),
    business_usage: HashMap<String, (u32, u32, u32)>,
    throttles: HashMap<String, Throttle>,
    fail_next_container: HashMap<String, String>,
    fail_next_video: HashSet<String>,
    empty_metrics: HashSet<String>,
    duplicate_window: i64,
    requests: Vec<String>,
}

impl State {
    fn new(config: MetaFakeConfig, base_uri: String) -> Self {
        State {
            config,
            base_uri,
            seq: 1000,
            clock_offset: 0,
            users: BTreeMap::new(),
            pages: BTreeMap::new(),
            igs: BTreeMap::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            posts: Vec::new(),
            photos: Vec::new(),
            videos: Vec::new(),
            uploads: Vec::new(),
            containers: BTreeMap::new(),
            container_order: Vec::new(),
            media: Vec::new(),
            media_publish_calls: 0,
            token_uses: Vec::new(),
            app_usage: (0, 0, 0),
            business_usage: HashMap::new(),
            throttles: HashMap::new(),
            fail_next_container: HashMap::new(),
            fail_next_video: HashSet::new(),
            empty_metrics: HashSet::new(),
            duplicate_window: 3600,
            requests: Vec::new(),
        }
    }

    fn now(&self) -> i64 {
        Utc::now().timestamp() + self.clock_offset
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn new_token(&mut self, prefix: &str) -> String {
        let n = self.next();
        let salt = fnv1a(FNV_OFFSET, format!("{prefix}{n}").as_bytes());
        format!("EAAG{prefix}{n}Z{salt:016x}")
    }

    fn issue_user_token(&mut self, user_id: &str, long_lived: bool) -> (String, i64) {
        let token = self.new_token("u");
        let now = self.now();
        let life = if long_lived { 5_183_944 } else { 5_400 };
        self.tokens.insert(
            token.clone(),
            TokenRec {
                kind: TokenKind::User { long_lived },
                user_id: user_id.to_owned(),
                page_id: None,
                issued_at: now,
                expires_at: now + life,
                status: TokenStatus::Valid,
            },
        );
        (token, life)
    }

    fn issue_page_token(&mut self, user_id: &str, page_id: &str, expires_at: i64) -> String {
        let token = self.new_token("p");
        let now = self.now();
        self.tokens.insert(
            token.clone(),
            TokenRec {
                kind: TokenKind::Page,
                user_id: user_id.to_owned(),
                page_id: Some(page_id.to_owned()),
                issued_at: now,
                expires_at,
                status: TokenStatus::Valid,
            },
        );
        token
    }

    fn is_app_token(&self, token: &str) -> bool {
        token == format!("{}|{}", self.config.app_id, self.config.app_secret)
    }

    fn has_scope(&self, user_id: &str, scope: &str) -> bool {
        self.users
            .get(user_id)
            .is_some_and(|u| u.scopes.iter().any(|(s, g)| s == scope && *g))
    }

    fn token_problem(&self, rec: &TokenRec) -> Option<GraphErr> {
        let now = self.now();
        match rec.status {
            TokenStatus::Revoked => Some(GraphErr::new(
                190,
                Some(460),
                "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.",
            )),
            TokenStatus::Expired => {
                let at = if rec.expires_at == 0 || rec.expires_at >= now {
                    now - 1
                } else {
                    rec.expires_at
                };
                Some(expired_err(at, now))
            }
            TokenStatus::Valid if rec.expires_at != 0 && rec.expires_at <= now => {
                Some(expired_err(rec.expires_at, now))
            }
            TokenStatus::Valid => None,
        }
    }

    fn ig_quota_usage(&self, ig: &str) -> u32 {
        let now = self.now();
        self.igs.get(ig).map_or(0, |r| {
            let recent = r.publishes.iter().filter(|t| now - **t < 86_400).count();
            r.quota_base
                .saturating_add(u32::try_from(recent).unwrap_or(u32::MAX))
        })
    }

    fn container_status(&self, c: &ContainerRec) -> (&'static str, Option<String>) {
        if c.published_media.is_some() {
            return ("PUBLISHED", None);
        }
        if c.expired || self.now() - c.created_at >= 86_400 {
            return ("EXPIRED", None);
        }
        if c.resumable && !c.upload_done {
            return ("IN_PROGRESS", None);
        }
        if c.kind == Kind::Carousel {
            for child in &c.c.children {
                if let Some(ch) = self.containers.get(child) {
                    let (s, text) = self.container_status(ch);
                    if s == "ERROR" {
                        return ("ERROR", text);
                    }
                    if s != "FINISHED" {
                        return ("IN_PROGRESS", None);
                    }
                }
            }
        }
        let needed = match c.kind {
            Kind::Video => self.config.container_polls,
            Kind::Image | Kind::Carousel => self.config.image_container_polls,
        };
        if c.polls < needed {
            return ("IN_PROGRESS", None);
        }
        match &c.fail {
            Some(text) => ("ERROR", Some(text.clone())),
            None => ("FINISHED", None),
        }
    }

    fn public_container(&self, c: &ContainerRec) -> Container {
        let mut out = c.c.clone();
        out.status_code = self.container_status(c).0.to_owned();
        out
    }
}

fn expired_err(at: i64, now: i64) -> GraphErr {
    let fmt = |t: i64| {
        DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%A, %d-%b-%y %H:%M:%S UTC")
            .to_string()
    };
    GraphErr::new(
        190,
        Some(463),
        format!(
            "Error validating access token: Session has expired on {}. The current time is {}.",
            fmt(at),
            fmt(now)
        ),
    )
}

fn fb_time(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%z")
        .to_string()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn hmac_hex(key: &[u8], msg: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(msg);
    hex(&mac.finalize().into_bytes())
}

// ---------------------------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------------------------

struct Ctx<'a> {
    req: &'a Request,
    method: String,
    version: String,
    params: HashMap<String, String>,
    attached_media: Vec<String>,
    /// Multipart file parts: (field name, bytes).
    files: Vec<(String, usize)>,
    token: Option<String>,
    via: TokenVia,
    in_query: bool,
    committed: bool,
    buc: Option<(String, &'static str)>,
}

impl Ctx<'_> {
    fn p(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn header(&self, name: &str) -> Option<String> {
        self.req
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.p(name)
            .map(|v| matches!(v, "true" | "1" | "True" | "TRUE"))
    }

    fn fields(&self) -> Option<Vec<FieldSel>> {
        self.p("fields").map(parse_fields)
    }

    fn wants_field(&self, name: &str) -> bool {
        self.fields()
            .is_some_and(|f| f.iter().any(|s| s.name == name))
    }
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_version(seg: &str) -> bool {
    let Some(rest) = seg.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !a.is_empty()
        && !b.is_empty()
        && a.bytes().all(|c| c.is_ascii_digit())
        && b.bytes().all(|c| c.is_ascii_digit())
}

/// Paths the fake answers: versioned Graph paths and the rupload host.
fn is_meta_path(path: &str) -> bool {
    let mut segs = path.trim_start_matches('/').split('/');
    match segs.next() {
        Some("ig-api-upload") => true,
        Some(first) => is_version(first),
        None => false,
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

struct Part {
    name: String,
    filename: Option<String>,
    data_len: usize,
    text: Option<String>,
}

fn parse_multipart(body: &[u8], boundary: &str) -> Vec<Part> {
    let delim = format!("--{boundary}");
    let next_delim = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    let Some(mut pos) = find(body, delim.as_bytes(), 0) else {
        return parts;
    };
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break;
        }
        if body[pos..].starts_with(b"\r\n") {
            pos += 2;
        }
        let Some(hdr_end) = find(body, b"\r\n\r\n", pos) else {
            break;
        };
        let headers = String::from_utf8_lossy(&body[pos..hdr_end]).into_owned();
        let start = hdr_end + 4;
        let Some(end) = find(body, next_delim.as_bytes(), start) else {
            break;
        };
        let mut name = String::new();
        let mut filename = None;
        for line in headers.lines() {
            if line.to_ascii_lowercase().starts_with("content-disposition") {
                for attr in line.split(';') {
                    let attr = attr.trim();
                    if let Some(v) = attr.strip_prefix("name=") {
                        name = v.trim_matches('"').to_owned();
                    } else if let Some(v) = attr.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_owned());
                    }
                }
            }
        }
        let data = &body[start..end];
        let text = if filename.is_none() {
            Some(String::from_utf8_lossy(data).into_owned())
        } else {
            None
        };
        parts.push(Part {
            name,
            filename,
            data_len: data.len(),
            text,
        });
        pos = end + 2;
    }
    parts
}

fn json_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn media_fbid_of(v: &str) -> Option<String> {
    match serde_json::from_str::<Value>(v) {
        Ok(Value::Object(o)) => o.get("media_fbid").map(json_scalar),
        Ok(Value::String(s)) => Some(s),
        Ok(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn build_ctx<'a>(req: &'a Request, version: &str, parse_body: bool) -> Ctx<'a> {
    let mut params: HashMap<String, String> = HashMap::new();
    let mut attached: BTreeMap<String, String> = BTreeMap::new();
    let mut attached_list: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut in_query = false;
    let mut query_token = None;
    for (k, v) in req.url.query_pairs() {
        if k == "access_token" {
            in_query = true;
            query_token = Some(v.to_string());
        }
        params.insert(k.into_owned(), v.into_owned());
    }
    let mut body_token = None;
    if parse_body && !req.body.is_empty() {
        let ct = req
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut body_params: Vec<(String, String)> = Vec::new();
        if ct.starts_with("application/json") {
            if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(&req.body) {
                for (k, v) in o {
                    match (k.as_str(), &v) {
                        ("attached_media", Value::Array(items)) => {
                            for item in items {
                                let fbid = match item {
                                    Value::Object(m) => m.get("media_fbid").map(json_scalar),
                                    Value::String(s) => media_fbid_of(s),
                                    _ => None,
                                };
                                attached_list.extend(fbid);
                            }
                        }
                        ("children", Value::Array(items)) => {
                            let ids: Vec<String> = items.iter().map(json_scalar).collect();
                            body_params.push((k.clone(), ids.join(",")));
                        }
                        _ => body_params.push((k.clone(), json_scalar(&v))),
                    }
                }
            }
        } else if ct.starts_with("multipart/form-data") {
            // The boundary is case-sensitive: read it from the original header.
            let raw_ct = req
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let boundary = raw_ct.split(';').find_map(|p| {
                let p = p.trim();
                p.get(..9)
                    .filter(|h| h.eq_ignore_ascii_case("boundary="))
                    .map(|_| p[9..].trim_matches('"').to_owned())
            });
            if let Some(b) = boundary {
                for part in parse_multipart(&req.body, &b) {
                    match (part.filename, part.text) {
                        (None, Some(text)) if part.name != "source" => {
                            body_params.push((part.name, text));
                        }
                        _ => files.push((part.name, part.data_len)),
                    }
                }
            }
        } else if ct.starts_with("application/x-www-form-urlencoded") || ct.is_empty() {
            for (k, v) in url::form_urlencoded::parse(&req.body) {
                body_params.push((k.into_owned(), v.into_owned()));
            }
        }
        for (k, v) in body_params {
            if k == "access_token" {
                body_token = Some(v.clone());
            }
            params.insert(k, v);
        }
    }
    // attached_media[0]={"media_fbid":..} (form or query) and attached_media=[..] (a JSON string)
    for (k, v) in &params {
        if let Some(idx) = k
            .strip_prefix("attached_media[")
            .and_then(|r| r.strip_suffix(']'))
        {
            if let Some(id) = media_fbid_of(v) {
                attached.insert(format!("{idx:0>6}"), id);
            }
        } else if k == "attached_media"
            && let Ok(Value::Array(items)) = serde_json::from_str::<Value>(v)
        {
            for item in items {
                let fbid = match &item {
                    Value::Object(m) => m.get("media_fbid").map(json_scalar),
                    Value::String(s) => media_fbid_of(s),
                    _ => None,
                };
                attached_list.extend(fbid);
            }
        }
    }
    attached_list.extend(attached.into_values());

    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned());
    let (token, via) = match auth.as_deref().and_then(|a| a.split_once(' ')) {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => {
            (Some(t.trim().to_owned()), TokenVia::BearerHeader)
        }
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("oauth") => {
            (Some(t.trim().to_owned()), TokenVia::OAuthHeader)
        }
        _ => match (query_token, body_token) {
            (Some(t), _) => (Some(t), TokenVia::Query),
            (None, Some(t)) => (Some(t), TokenVia::Body),
            (None, None) => (None, TokenVia::None),
        },
    };
    Ctx {
        req,
        method: req.method.as_str().to_ascii_uppercase(),
        version: version.to_owned(),
        params,
        attached_media: attached_list,
        files,
        token: token.filter(|t| !t.is_empty()),
        via,
        in_query,
        committed: false,
        buc: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Field selection (`fields=a,b{c,d}`)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct FieldSel {
    name: String,
    sub: Vec<FieldSel>,
}

fn parse_fields(s: &str) -> Vec<FieldSel> {
    fn list(chars: &[char], pos: &mut usize) -> Vec<FieldSel> {
        let mut out = Vec::new();
        let mut name = String::new();
        let mut sub = Vec::new();
        let mut depth_paren = 0;
        while *pos < chars.len() {
            let c = chars[*pos];
            *pos += 1;
            match c {
                '(' => depth_paren += 1,
                ')' => depth_paren -= 1,
                _ if depth_paren > 0 => {}
                '{' => sub = list(chars, pos),
                '}' => break,
                ',' => {
                    push(&mut out, &mut name, &mut sub);
                }
                c if c.is_whitespace() => {}
                c => name.push(c),
            }
        }
        push(&mut out, &mut name, &mut sub);
        out
    }
    fn push(out: &mut Vec<FieldSel>, name: &mut String, sub: &mut Vec<FieldSel>) {
        // Strip modifiers such as `.limit(10)` or `.as(x)`.
        let base = name.split('.').next().unwrap_or("").to_owned();
        if !base.is_empty() {
            out.push(FieldSel {
                name: base,
                sub: std::mem::take(sub),
            });
        }
        name.clear();
        sub.clear();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut pos = 0;
    list(&chars, &mut pos)
}

/// Keeps the selected fields of a node (with `id` always), checking each
/// selected name against what the node type has.
fn select(
    full: &Map<String, Value>,
    sel: Option<&[FieldSel]>,
    defaults: &[&str],
    known: &[&str],
    node: &str,
) -> Result<Value, GraphErr> {
    let owned: Vec<FieldSel>;
    let sel = match sel {
        Some(s) if !s.is_empty() => s,
        _ => {
            owned = defaults
                .iter()
                .map(|d| FieldSel {
                    name: (*d).to_owned(),
                    sub: Vec::new(),
                })
                .collect();
            &owned
        }
    };
    let mut out = Map::new();
    for f in sel {
        if !known.contains(&f.name.as_str()) && !full.contains_key(&f.name) {
            return Err(nonexisting_field(&f.name, node));
        }
        if let Some(v) = full.get(&f.name) {
            out.insert(f.name.clone(), nested(v, &f.sub));
        }
    }
    if let Some(id) = full.get("id") {
        out.insert("id".into(), id.clone());
    }
    Ok(Value::Object(out))
}

fn nested(v: &Value, sub: &[FieldSel]) -> Value {
    match v {
        Value::Object(o) if o.contains_key("id") && !o.contains_key("data") => {
            let mut m = Map::new();
            for f in sub {
                if let Some(x) = o.get(&f.name) {
                    m.insert(f.name.clone(), nested(x, &f.sub));
                }
            }
            m.insert("id".into(), o["id"].clone());
            Value::Object(m)
        }
        other => other.clone(),
    }
}

fn encode_cursor(index: usize) -> String {
    format!("QVFIU{}", hex(index.to_string().as_bytes()))
}

fn decode_cursor(c: &str) -> Option<usize> {
    let h = c.strip_prefix("QVFIU")?;
    let bytes: Option<Vec<u8>> = (0..h.len())
        .step_by(2)
        .map(|i| h.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()?.parse().ok()
}

fn parse_time(s: &str, now: i64) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z") {
        return Some(t.timestamp());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
    }
    // A few of PHP strtotime()'s relative forms: "+2 weeks", "+90 minutes", "tomorrow".
    if s.eq_ignore_ascii_case("tomorrow") {
        return Some((now / 86_400 + 1) * 86_400);
    }
    let rest = s.strip_prefix('+')?;
    let mut it = rest.split_whitespace();
    let n: i64 = it.next()?.parse().ok()?;
    let unit = it.next()?.trim_end_matches('s').to_ascii_lowercase();
    let secs = match unit.as_str() {
        "second" | "sec" => 1,
        "minute" | "min" => 60,
        "hour" => 3_600,
        "day" => 86_400,
        "week" => 604_800,
        _ => return None,
    };
    Some(now + n * secs)
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

/// Routes Meta requests against the shared state, through
/// [`FakeServer::mount_stateful`] (which applies after-commit faults).
struct Router {
    state: Arc<Mutex<State>>,
    unmatched: UnmatchedLog,
}

impl Router {
    fn handle(&self, req: &Request) -> Handled {
        if !is_meta_path(req.url.path()) {
            return Handled::NotMine;
        }
        let unmatched = |req: &Request| Handled::Answer {
            response: self.unmatched.record(req),
            committed: false,
        };
        let segs: Vec<String> = req
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .map(pct_decode)
            .collect();
        let (version, rest, rupload) = match segs.first().map(String::as_str) {
            Some("ig-api-upload") => {
                let (v, rest) = match segs.get(1) {
                    Some(v) if is_version(v) => (v.clone(), segs[2..].to_vec()),
                    _ => (String::new(), segs[1..].to_vec()),
                };
                (v, rest, true)
            }
            Some(v) if is_version(v) => (v.to_owned(), segs[1..].to_vec(), false),
            _ => return unmatched(req),
        };
        let is_upload = rupload || rest.first().is_some_and(|s| s.starts_with("upload:"));
        let mut ctx = build_ctx(req, &version, !is_upload);
        let mut st = self.state.lock().unwrap();
        st.requests
            .push(format!("{} {}", ctx.method, req.url.path()));
        let result = if rupload {
            st.rupload(&mut ctx, &rest)
        } else {
            st.dispatch(&mut ctx, &rest)
        };
        st.token_uses.push(TokenUse {
            method: ctx.method.clone(),
            path: req.url.path().to_owned(),
            via: ctx.via,
            in_query: ctx.in_query,
        });
        let (status, body) = match result {
            Ok(v) => (200, v),
            Err(Fail::Graph(e)) => (e.status, e.body()),
            Err(Fail::Rupload {
                status,
                kind,
                message,
            }) => (
                status,
                json!({"debug_info": {"retriable": false, "type": kind, "message": message}}),
            ),
            Err(Fail::Unmatched) => {
                drop(st);
                return unmatched(req);
            }
        };
        let mut t = ResponseTemplate::new(status)
            .set_body_raw(body.to_string().into_bytes(), "application/json");
        let (cc, tt, tc) = st.app_usage;
        t = t.insert_header(
            "x-app-usage",
            json!({"call_count": cc, "total_time": tt, "total_cputime": tc})
                .to_string()
                .as_str(),
        );
        if let Some((id, kind)) = &ctx.buc {
            let (cc, tt, tc) = st.business_usage.get(id).copied().unwrap_or((0, 0, 0));
            let (cc, tt, tc, eta) = match st.throttles.get(id) {
                Some(th) => (100.max(cc), tt.max(100), tc.max(100), th.minutes),
                None => (cc, tt, tc, 0),
            };
            let buc = json!({ id.as_str(): [{
                "type": kind,
                "call_count": cc,
                "total_cputime": tc,
                "total_time": tt,
                "estimated_time_to_regain_access": eta,
            }]});
            t = t.insert_header("x-business-use-case-usage", buc.to_string().as_str());
        }
        drop(st);
        Handled::Answer {
            response: t,
            committed: ctx.committed,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PageAccess {
    PageToken,
    OwnerUser,
}

impl State {
    fn dispatch(&mut self, ctx: &mut Ctx<'_>, segs: &[String]) -> Answer {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let method = ctx.method.clone();
        match (method.as_str(), s.as_slice()) {
            ("GET" | "POST", ["oauth", "access_token"]) => self.oauth_access_token(ctx),
            ("GET", ["debug_token"]) => self.debug_token(ctx),
            ("GET", ["me"]) => self.me(ctx),
            ("GET", ["me", "permissions"]) => self.me_permissions(ctx),
            ("GET", ["me", "accounts"]) => self.me_accounts(ctx),
            ("POST", [app, "uploads"]) => self.start_upload(ctx, app),
            ("GET" | "POST", [session]) if session.starts_with("upload:") => {
                self.upload_chunk(ctx, session)
            }
            ("GET", [id]) => self.node(ctx, id),
            (_, [id, edge]) => self.edge(ctx, id, edge),
            _ => Err(Fail::Unmatched),
        }
    }

    // ---- authentication ------------------------------------------------------------------

    fn check_proof(&self, ctx: &Ctx<'_>, token: &str) -> Result<(), GraphErr> {
        match ctx.p("appsecret_proof") {
            Some(proof) => {
                let want = hmac_hex(self.config.app_secret.as_bytes(), token.as_bytes());
                if proof.eq_ignore_ascii_case(&want) {
                    Ok(())
                } else {
                    Err(GraphErr::new(
                        100,
                        None,
                        "Invalid appsecret_proof provided in the API argument",
                    ))
                }
            }
            None if self.config.require_appsecret_proof => Err(GraphErr::new(
                100,
                None,
                "API calls from the server require an appsecret_proof argument",
            )),
            None => Ok(()),
        }
    }

    /// A valid user or page token, or the error Meta answers.
    fn authenticate(&self, ctx: &Ctx<'_>) -> Result<TokenRec, GraphErr> {
        let Some(token) = ctx.token.as_deref() else {
            return Err(GraphErr::new(
                104,
                None,
                "An access token is required to request this resource.",
            ));
        };
        if token.contains('|') {
            return Err(if self.is_app_token(token) {
                GraphErr::new(200, None, "(#200) Permissions error")
            } else {
                GraphErr::new(190, None, "Invalid OAuth access token signature.")
            });
        }
        let rec = self.tokens.get(token).cloned().ok_or_else(invalid_token)?;
        if let Some(e) = self.token_problem(&rec) {
            return Err(e);
        }
        self.check_proof(ctx, token)?;
        Ok(rec)
    }

    /// Marks the business object a call is about (for `X-Business-Use-Case-Usage`)
    /// and fails it when that object is throttled.
    fn touch(&self, ctx: &mut Ctx<'_>, id: &str, kind: &'static str) -> Result<(), GraphErr> {
        ctx.buc = Some((id.to_owned(), kind));
        match self.throttles.get(id) {
            Some(th) => Err(GraphErr::new(th.code, None, rate_limit_message(th.code))),
            None => Ok(()),
        }
    }

    fn page_access(&self, rec: &TokenRec, page_id: &str) -> Option<PageAccess> {
        let page = self.pages.get(page_id)?;
        match rec.kind {
            TokenKind::Page if rec.page_id.as_deref() == Some(page_id) => {
                Some(PageAccess::PageToken)
            }
            TokenKind::User { .. } if page.owner == rec.user_id => Some(PageAccess::OwnerUser),
            _ => None,
        }
    }

    /// Whether `rec` may act on the Instagram account `ig`: the user who manages
    /// the linked Page, or that Page's token.
    fn ig_access(&self, rec: &TokenRec, ig: &str) -> bool {
        self.igs
            .get(ig)
            .is_some_and(|r| self.page_access(rec, &r.page_id).is_some())
    }

    fn page_of_post(&self, post_id: &str) -> Option<String> {
        self.posts
            .iter()
            .find(|p| p.post.id == post_id)
            .map(|p| p.page_id.clone())
    }

    // ---- OAuth ---------------------------------------------------------------------------

    fn oauth_access_token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        if ctx.p("grant_type") == Some("client_credentials") {
            self.check_client(ctx)?;
            return Ok(json!({
                "access_token": format!("{}|{}", self.config.app_id, self.config.app_secret),
                "token_type": "bearer",
            }));
        }
        self.check_client(ctx)?;
        if ctx.p("grant_type") == Some("fb_exchange_token") {
            let t = ctx
                .p("fb_exchange_token")
                .ok_or_else(|| missing_param("fb_exchange_token"))?
                .to_owned();
            let rec = self.tokens.get(&t).cloned().ok_or_else(invalid_token)?;
            if let Some(e) = self.token_problem(&rec) {
                return Err(e.into());
            }
            if !matches!(rec.kind, TokenKind::User { .. }) {
                return Err(invalid_token().into());
            }
            let (token, life) = self.issue_user_token(&rec.user_id, true);
            return Ok(json!({"access_token": token, "token_type": "bearer", "expires_in": life}));
        }
        let Some(code) = ctx.p("code").map(str::to_owned) else {
            return Err(GraphErr::new(1, None, "Missing authorization code")
                .status(400)
                .into());
        };
        let redirect = ctx
            .p("redirect_uri")
            .ok_or_else(|| GraphErr::new(100, None, "Missing redirect_uri parameter."))?
            .to_owned();
        let now = self.now();
        let Some(rec) = self.codes.get(&code).cloned() else {
            return Err(GraphErr::new(100, None, "Invalid verification code format.").into());
        };
        if rec.used {
            return Err(
                GraphErr::new(100, Some(36009), "This authorization code has been used.").into(),
            );
        }
        if now - rec.issued_at > 600 {
            return Err(
                GraphErr::new(100, Some(36007), "This authorization code has expired.").into(),
            );
        }
        if rec.redirect_uri != redirect {
            return Err(GraphErr::new(
                100,
                Some(36008),
                "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request",
            )
            .into());
        }
        if let Some(c) = self.codes.get_mut(&code) {
            c.used = true;
        }
        let (token, life) = self.issue_user_token(&rec.user_id, false);
        Ok(json!({"access_token": token, "token_type": "bearer", "expires_in": life}))
    }

    fn check_client(&self, ctx: &Ctx<'_>) -> Result<(), GraphErr> {
        let id = ctx
            .p("client_id")
            .ok_or_else(|| missing_param("client_id"))?;
        if id != self.config.app_id {
            return Err(GraphErr::new(
                101,
                None,
                "Error validating application. Invalid application ID.",
            ));
        }
        match ctx.p("client_secret") {
            Some(s) if s == self.config.app_secret => Ok(()),
            Some(_) => Err(GraphErr::new(1, None, "Error validating client secret.").status(400)),
            None => Err(missing_param("client_secret")),
        }
    }

    fn debug_token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let Some(token) = ctx.token.as_deref() else {
            return Err(GraphErr::new(
                104,
                None,
                "An access token is required to request this resource.",
            )
            .into());
        };
        if token.contains('|') && !self.is_app_token(token) {
            return Err(GraphErr::new(190, None, "Invalid OAuth access token signature.").into());
        }
        if !self.is_app_token(token) {
            return Err(GraphErr::new(
                100,
                None,
                "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app",
            )
            .into());
        }
        let input = ctx
            .p("input_token")
            .ok_or_else(|| missing_param("input_token"))?
            .to_owned();
        let Some(rec) = self.tokens.get(&input).cloned() else {
            return Ok(json!({"data": {
                "error": {"code": 190, "message": "Invalid OAuth access token - Cannot parse access token"},
                "is_valid": false,
                "scopes": [],
            }}));
        };
        let user = self.users.get(&rec.user_id).cloned();
        let granted: Vec<String> = user
            .as_ref()
            .map(|u| {
                u.scopes
                    .iter()
                    .filter(|(_, g)| *g)
                    .map(|(s, _)| s.clone())
                    .collect()
            })
            .unwrap_or_default();
        let page_ids: Vec<String> = self
            .pages
            .iter()
            .filter(|(_, p)| p.owner == rec.user_id)
            .map(|(id, _)| id.clone())
            .collect();
        let ig_ids: Vec<String> = page_ids
            .iter()
            .filter_map(|p| self.pages.get(p).and_then(|p| p.ig.clone()))
            .collect();
        let granular: Vec<Value> = granted
            .iter()
            .map(|s| {
                if s.starts_with("pages_") || s == "read_insights" || s == "publish_video" {
                    json!({"scope": s, "target_ids": page_ids})
                } else if s.starts_with("instagram_") {
                    json!({"scope": s, "target_ids": ig_ids})
                } else {
                    json!({"scope": s})
                }
            })
            .collect();
        let mut data = Map::new();
        data.insert("app_id".into(), json!(self.config.app_id));
        data.insert(
            "type".into(),
            json!(if rec.kind == TokenKind::Page {
                "PAGE"
            } else {
                "USER"
            }),
        );
        data.insert("application".into(), json!("POSTD Fake App"));
        data.insert(
            "data_access_expires_at".into(),
            json!(user.as_ref().map_or(0, |u| u.data_access_expires_at)),
        );
        data.insert("expires_at".into(), json!(rec.expires_at));
        data.insert("is_valid".into(), json!(self.token_problem(&rec).is_none()));
        data.insert("issued_at".into(), json!(rec.issued_at));
        data.insert("scopes".into(), json!(granted));
        data.insert("granular_scopes".into(), json!(granular));
        data.insert("user_id".into(), json!(rec.user_id));
        if let Some(p) = &rec.page_id {
            data.insert("profile_id".into(), json!(p));
        }
        if let Some(e) = self.token_problem(&rec) {
            data.insert(
                "error".into(),
                json!({"code": 190, "message": e.message, "subcode": e.subcode}),
            );
        }
        Ok(json!({ "data": Value::Object(data) }))
    }

    // ---- /me -----------------------------------------------------------------------------

    fn me(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let rec = self.authenticate_me(ctx)?;
        if rec.kind == TokenKind::Page {
            let page_id = rec.page_id.clone().unwrap_or_default();
            return self.page_node(ctx, &page_id, &rec);
        }
        let name = self
            .users
            .get(&rec.user_id)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let full = json!({"id": rec.user_id, "name": name});
        Ok(select(
            full.as_object().unwrap_or(&Map::new()),
            ctx.fields().as_deref(),
            &["name", "id"],
            USER_FIELDS,
            "User",
        )?)
    }

    fn authenticate_me(&self, ctx: &Ctx<'_>) -> Result<TokenRec, GraphErr> {
        if ctx.token.as_deref().is_some_and(|t| self.is_app_token(t)) || ctx.token.is_none() {
            return Err(GraphErr::new(
                2500,
                None,
                "An active access token must be used to query information about the current user.",
            ));
        }
        self.authenticate(ctx)
    }

    fn me_permissions(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let rec = self.authenticate_me(ctx)?;
        if rec.kind == TokenKind::Page {
            return Err(nonexisting_field("permissions", "Page").into());
        }
        let data: Vec<Value> = self
            .users
            .get(&rec.user_id)
            .map(|u| {
                u.scopes
                    .iter()
                    .map(|(s, g)| {
                        json!({"permission": s, "status": if *g { "granted" } else { "declined" }})
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(json!({ "data": data }))
    }

    fn me_accounts(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let rec = self.authenticate_me(ctx)?;
        let TokenKind::User { long_lived } = rec.kind else {
            return Err(nonexisting_field("accounts", "Page").into());
        };
        let page_ids: Vec<String> = if self.has_scope(&rec.user_id, "pages_show_list") {
            self.pages
                .iter()
                .filter(|(_, p)| p.owner == rec.user_id)
                .map(|(id, _)| id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let fields = ctx.fields();
        let limit = ctx
            .p("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let start = ctx
            .p("after")
            .and_then(decode_cursor)
            .map_or(0, |i| i + 1)
            .min(page_ids.len());
        let end = (start + limit).min(page_ids.len());
        let mut data = Vec::new();
        for page_id in &page_ids[start..end] {
            let page = self.pages.get(page_id).cloned().unwrap_or_else(|| PageRec {
                name: String::new(),
                owner: String::new(),
                ig: None,
                token: String::new(),
            });
            let token = if long_lived {
                page.token.clone()
            } else {
                let exp = self.now() + 3_600;
                self.issue_page_token(&rec.user_id, page_id, exp)
            };
            let mut full = Map::new();
            full.insert("access_token".into(), json!(token));
            full.insert("category".into(), json!("Brand"));
            full.insert(
                "category_list".into(),
                json!([{"id": "1605186416478696", "name": "Brand"}]),
            );
            full.insert("name".into(), json!(page.name));
            full.insert("id".into(), json!(page_id));
            full.insert(
                "tasks".into(),
                json!([
                    "ANALYZE",
                    "ADVERTISE",
                    "MESSAGING",
                    "MODERATE",
                    "CREATE_CONTENT",
                    "MANAGE"
                ]),
            );
            if let Some(ig) = &page.ig {
                let username = self.igs.get(ig).map(|r| r.username.clone());
                full.insert(
                    "instagram_business_account".into(),
                    json!({"id": ig, "username": username}),
                );
            }
            data.push(select(
                &full,
                fields.as_deref(),
                &[
                    "access_token",
                    "category",
                    "category_list",
                    "name",
                    "id",
                    "tasks",
                ],
                PAGE_FIELDS,
                "Page",
            )?);
        }
        let mut out = Map::new();
        let more = end < page_ids.len();
        out.insert("data".into(), json!(data));
        if !data.is_empty() {
            let mut paging = Map::new();
            paging.insert(
                "cursors".into(),
                json!({"before": encode_cursor(start), "after": encode_cursor(end - 1)}),
            );
            if more {
                paging.insert(
                    "next".into(),
                    json!(self.next_url(ctx, "me/accounts", limit, &encode_cursor(end - 1))),
                );
            }
            out.insert("paging".into(), Value::Object(paging));
        }
        Ok(Value::Object(out))
    }

    /// `paging.next` as Meta builds it: the same query with `after` and, like
    /// Meta, the `access_token` in the query string.
    fn next_url(&self, ctx: &Ctx<'_>, path: &str, limit: usize, after: &str) -> String {
        let mut u = Url::parse(&format!("{}/{}/{}", self.base_uri, ctx.version, path))
            .unwrap_or_else(|_| Url::parse("http://invalid/").unwrap());
        {
            let mut q = u.query_pairs_mut();
            if let Some(t) = &ctx.token {
                q.append_pair("access_token", t);
            }
            for key in ["fields", "since", "until", "metric", "period"] {
                if let Some(v) = ctx.p(key) {
                    q.append_pair(key, v);
                }
            }
            q.append_pair("limit", &limit.to_string());
            q.append_pair("after", after);
        }
        u.to_string()
    }
}

const USER_FIELDS: &[&str] = &[
    "id",
    "name",
    "email",
    "first_name",
    "last_name",
    "middle_name",
    "short_name",
    "picture",
    "accounts",
    "permissions",
];

const PAGE_FIELDS: &[&str] = &[
    "id",
    "name",
    "access_token",
    "category",
    "category_list",
    "tasks",
    "instagram_business_account",
    "connected_instagram_account",
    "picture",
    "link",
    "username",
    "fan_count",
    "followers_count",
    "about",
    "is_published",
    "verification_status",
    "cover",
];

const CONTAINER_FIELDS: &[&str] = &["id", "status_code", "status", "copyright_check_status"];

const IG_USER_FIELDS: &[&str] = &[
    "id",
    "ig_id",
    "username",
    "name",
    "biography",
    "website",
    "profile_picture_url",
    "followers_count",
    "follows_count",
    "media_count",
];

const IG_MEDIA_FIELDS: &[&str] = &[
    "id",
    "ig_id",
    "caption",
    "media_type",
    "media_product_type",
    "media_url",
    "permalink",
    "timestamp",
    "username",
    "shortcode",
    "thumbnail_url",
    "like_count",
    "comments_count",
    "is_comment_enabled",
    "is_shared_to_feed",
    "owner",
    "children",
    "alt_text",
];

const POST_FIELDS: &[&str] = &[
    "id",
    "message",
    "created_time",
    "updated_time",
    "permalink_url",
    "is_published",
    "scheduled_publish_time",
    "attachments",
    "full_picture",
    "status_type",
    "from",
    "story",
    "privacy",
    "shares",
    "link",
];

const VIDEO_FIELDS: &[&str] = &[
    "id",
    "title",
    "description",
    "created_time",
    "updated_time",
    "status",
    "published",
    "permalink_url",
    "length",
    "source",
    "picture",
    "post_id",
    "scheduled_publish_time",
];

const PHOTO_FIELDS: &[&str] = &[
    "id",
    "created_time",
    "name",
    "link",
    "images",
    "picture",
    "album",
    "page_story_id",
    "height",
    "width",
];

const KNOWN_EDGES: &[&str] = &[
    "feed",
    "posts",
    "published_posts",
    "scheduled_posts",
    "photos",
    "videos",
    "insights",
    "video_insights",
    "media",
    "media_publish",
    "content_publishing_limit",
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn page_token_required() -> GraphErr {
    GraphErr::new(
        190,
        None,
        "(#190) This method must be called with a Page Access Token",
    )
}

fn shortcode(id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut h = fnv1a(FNV_OFFSET, id.as_bytes());
    let mut s = String::from("C");
    for _ in 0..10 {
        s.push(char::from(ALPHABET[(h % 64) as usize]));
        h /= 64;
    }
    s
}

impl State {
    // ---- nodes ---------------------------------------------------------------------------

    fn node(&mut self, ctx: &mut Ctx<'_>, id: &str) -> Answer {
        let rec = self.authenticate(ctx)?;
        let fields = ctx.fields();
        if self.pages.contains_key(id) {
            return self.page_node(ctx, id, &rec);
        }
        if let Some(ig) = self.igs.get(id).cloned() {
            if !self.ig_access(&rec, id) {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, id, "instagram")?;
            let media_count = self.media.iter().filter(|m| m.ig_user_id == id).count();
            let full = json!({
                "id": id,
                "ig_id": id,
                "username": ig.username,
                "name": ig.username,
                "followers_count": 1234,
                "follows_count": 56,
                "media_count": media_count,
            });
            return Ok(select(
                &obj(full),
                fields.as_deref(),
                &["id"],
                IG_USER_FIELDS,
                "User",
            )?);
        }
        if let Some(c) = self.containers.get(id).cloned() {
            if !self.ig_access(&rec, &c.c.ig_user_id) {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &c.c.ig_user_id, "instagram")?;
            let polling = ctx.wants_field("status_code") || ctx.wants_field("status");
            let (code, text) = self.container_status(&c);
            if polling
                && code == "IN_PROGRESS"
                && (!c.resumable || c.upload_done)
                && let Some(m) = self.containers.get_mut(id)
            {
                m.polls += 1;
            }
            let status = match code {
                "IN_PROGRESS" if c.resumable && !c.upload_done => {
                    "In Progress: Waiting for the video bytes to be uploaded.".to_owned()
                }
                "IN_PROGRESS" => "In Progress: Media is still being processed.".to_owned(),
                "FINISHED" => {
                    "Finished: Media has been uploaded and it is ready to be published.".to_owned()
                }
                "PUBLISHED" => "Published: Media has been successfully published.".to_owned(),
                "EXPIRED" => "Expired: Media was not published within 24 hours.".to_owned(),
                _ => text.unwrap_or_else(|| "Error: Media upload has failed".to_owned()),
            };
            let full = json!({"id": id, "status_code": code, "status": status});
            return Ok(select(
                &obj(full),
                fields.as_deref(),
                &["id"],
                CONTAINER_FIELDS,
                "ShadowIGMediaBuilder",
            )?);
        }
        if let Some(m) = self.media.iter().find(|m| m.media.id == id).cloned() {
            if !self.ig_access(&rec, &m.ig_user_id) {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &m.ig_user_id, "instagram")?;
            let username = self
                .igs
                .get(&m.ig_user_id)
                .map(|r| r.username.clone())
                .unwrap_or_default();
            let full = json!({
                "id": m.media.id,
                "ig_id": m.media.id,
                "caption": m.media.caption,
                "media_type": m.media.media_type,
                "media_product_type": m.media.media_product_type,
                "permalink": m.media.permalink,
                "timestamp": fb_time(m.media.timestamp),
                "username": username,
                "shortcode": shortcode(&m.media.id),
                "like_count": 0,
                "comments_count": 0,
                "owner": {"id": m.ig_user_id},
            });
            let mut full = obj(full);
            if m.media.caption.is_none() {
                full.remove("caption");
            }
            return Ok(select(
                &full,
                fields.as_deref(),
                &["id"],
                IG_MEDIA_FIELDS,
                "IGMedia",
            )?);
        }
        if let Some(page_id) = self.page_of_post(id) {
            if self.page_access(&rec, &page_id).is_none() {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &page_id, "pages")?;
            let p = self.public_post(id).unwrap_or_else(|| FbPost {
                id: id.to_owned(),
                message: None,
                link: None,
                published: false,
                scheduled_publish_time: None,
                attached_media: Vec::new(),
                created_time: 0,
            });
            return Ok(select(
                &self.post_json(&page_id, &p),
                fields.as_deref(),
                &["created_time", "message", "id"],
                POST_FIELDS,
                "Post",
            )?);
        }
        if let Some(v) = self.videos.iter().find(|v| v.video.id == id).cloned() {
            if self.page_access(&rec, &v.page_id).is_none() {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &v.page_id, "pages")?;
            let polling = ctx.wants_field("status");
            let processing = v.polls < self.config.video_polls;
            if polling
                && processing
                && let Some(m) = self.videos.iter_mut().find(|x| x.video.id == id)
            {
                m.polls += 1;
            }
            let publish_status = if v.video.published {
                "published"
            } else {
                "not_published"
            };
            let status = if processing {
                json!({
                    "video_status": "processing",
                    "uploading_phase": {"status": "complete"},
                    "processing_phase": {"status": "in_progress"},
                    "publishing_phase": {"status": "not_started"},
                })
            } else if v.fail {
                json!({
                    "video_status": "error",
                    "uploading_phase": {"status": "complete"},
                    "processing_phase": {"status": "error", "errors": [{"code": 1_363_008, "message": "The video could not be processed."}]},
                    "publishing_phase": {"status": "not_started"},
                })
            } else {
                json!({
                    "video_status": "ready",
                    "uploading_phase": {"status": "complete"},
                    "processing_phase": {"status": "complete"},
                    "publishing_phase": {"status": "complete", "publish_status": publish_status},
                })
            };
            let mut full = obj(json!({
                "id": v.video.id,
                "title": v.video.title,
                "description": v.video.description,
                "created_time": fb_time(v.created_time),
                "updated_time": fb_time(v.created_time),
                "published": v.video.published,
                "status": status,
                "permalink_url": format!("/{}/videos/{}/", v.page_id, v.video.id),
            }));
            full.retain(|_, x| !x.is_null());
            if let Some(t) = v.scheduled_publish_time {
                full.insert("scheduled_publish_time".into(), json!(t));
            }
            return Ok(select(
                &full,
                fields.as_deref(),
                &["updated_time", "description", "id"],
                VIDEO_FIELDS,
                "Video",
            )?);
        }
        if let Some(ph) = self.photos.iter().find(|p| p.photo.id == id).cloned() {
            if self.page_access(&rec, &ph.page_id).is_none() {
                return Err(no_object(id, "GET").into());
            }
            self.touch(ctx, &ph.page_id, "pages")?;
            let mut full = obj(json!({
                "id": ph.photo.id,
                "created_time": fb_time(ph.created_time),
                "name": ph.photo.caption,
                "link": format!("https://www.facebook.com/photo.php?fbid={}", ph.photo.id),
                "page_story_id": ph.photo.post_id,
            }));
            full.retain(|_, x| !x.is_null());
            return Ok(select(
                &full,
                fields.as_deref(),
                &["created_time", "name", "id"],
                PHOTO_FIELDS,
                "Photo",
            )?);
        }
        if let Some(u) = self.users.get(id)
            && rec.user_id == id
            && rec.kind != TokenKind::Page
        {
            let full = json!({"id": id, "name": u.name});
            return Ok(select(
                &obj(full),
                fields.as_deref(),
                &["name", "id"],
                USER_FIELDS,
                "User",
            )?);
        }
        Err(no_object(id, "GET").into())
    }

    fn page_node(&mut self, ctx: &mut Ctx<'_>, id: &str, rec: &TokenRec) -> Answer {
        let Some(access) = self.page_access(rec, id) else {
            return Err(no_object(id, "GET").into());
        };
        self.touch(ctx, id, "pages")?;
        let page = self.pages.get(id).cloned().unwrap_or_else(|| PageRec {
            name: String::new(),
            owner: String::new(),
            ig: None,
            token: String::new(),
        });
        let mut full = Map::new();
        full.insert("id".into(), json!(id));
        full.insert("name".into(), json!(page.name));
        full.insert("category".into(), json!("Brand"));
        full.insert(
            "tasks".into(),
            json!([
                "ANALYZE",
                "ADVERTISE",
                "MESSAGING",
                "MODERATE",
                "CREATE_CONTENT",
                "MANAGE"
            ]),
        );
        full.insert("is_published".into(), json!(true));
        full.insert(
            "link".into(),
            json!(format!("https://www.facebook.com/{id}")),
        );
        if access == PageAccess::OwnerUser || access == PageAccess::PageToken {
            full.insert("access_token".into(), json!(page.token));
        }
        if let Some(ig) = &page.ig {
            let username = self.igs.get(ig).map(|r| r.username.clone());
            full.insert(
                "instagram_business_account".into(),
                json!({"id": ig, "username": username}),
            );
        }
        Ok(select(
            &full,
            ctx.fields().as_deref(),
            &["name", "id"],
            PAGE_FIELDS,
            "Page",
        )?)
    }

    fn public_post(&self, id: &str) -> Option<FbPost> {
        let now = self.now();
        self.posts.iter().find(|p| p.post.id == id).map(|p| {
            let mut post = p.post.clone();
            post.published =
                post.published || post.scheduled_publish_time.is_some_and(|t| t <= now);
            post
        })
    }

    fn post_json(&self, page_id: &str, p: &FbPost) -> Map<String, Value> {
        let suffix = p.id.split_once('_').map_or(p.id.as_str(), |(_, s)| s);
        let mut full = Map::new();
        full.insert("id".into(), json!(p.id));
        if let Some(m) = &p.message {
            full.insert("message".into(), json!(m));
        }
        if let Some(l) = &p.link {
            full.insert("link".into(), json!(l));
        }
        full.insert("created_time".into(), json!(fb_time(p.created_time)));
        full.insert("updated_time".into(), json!(fb_time(p.created_time)));
        full.insert(
            "permalink_url".into(),
            json!(format!("https://www.facebook.com/{page_id}/posts/{suffix}")),
        );
        full.insert("is_published".into(), json!(p.published));
        if let Some(t) = p.scheduled_publish_time {
            full.insert("scheduled_publish_time".into(), json!(t));
        }
        full
    }

    // ---- edges ---------------------------------------------------------------------------

    fn edge(&mut self, ctx: &mut Ctx<'_>, id: &str, edge: &str) -> Answer {
        let method = ctx.method.clone();
        let m = method.as_str();
        if self.pages.contains_key(id) {
            return match (m, edge) {
                ("POST", "feed") => self.post_feed(ctx, id),
                ("GET", "feed" | "posts" | "published_posts") => self.list_posts(ctx, id, false),
                ("GET", "scheduled_posts") => self.list_posts(ctx, id, true),
                ("POST", "photos") => self.post_photo(ctx, id),
                ("POST", "videos") => self.post_video(ctx, id),
                ("GET", "videos") => self.list_videos(ctx, id),
                ("GET", "insights") => self.page_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if self.igs.contains_key(id) {
            return match (m, edge) {
                ("POST", "media") => self.create_container(ctx, id),
                ("GET", "media") => self.list_media(ctx, id),
                ("POST", "media_publish") => self.media_publish(ctx, id),
                ("GET", "content_publishing_limit") => self.publishing_limit(ctx, id),
                ("GET", "insights") => self.ig_user_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if self.media.iter().any(|r| r.media.id == id) {
            return match (m, edge) {
                ("GET", "insights") => self.ig_media_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if self.posts.iter().any(|p| p.post.id == id) {
            return match (m, edge) {
                ("GET", "insights") => self.post_insights(ctx, id),
                _ => Err(Fail::Unmatched),
            };
        }
        if let Some(v) = self.videos.iter().find(|v| v.video.id == id).cloned() {
            return match (m, edge) {
                ("GET", "video_insights") => self.video_insights(ctx, id),
                ("GET", "insights") => {
                    let rec = self.authenticate(ctx)?;
                    if self.page_access(&rec, &v.page_id).is_none() {
                        return Err(no_object(id, m).into());
                    }
                    Err(nonexisting_field("insights", "Video").into())
                }
                _ => Err(Fail::Unmatched),
            };
        }
        if self.containers.contains_key(id) && edge == "insights" {
            self.authenticate(ctx)?;
            return Err(nonexisting_field("insights", "ShadowIGMediaBuilder").into());
        }
        if KNOWN_EDGES.contains(&edge) {
            self.authenticate(ctx)?;
            return Err(no_object(id, m).into());
        }
        Err(Fail::Unmatched)
    }

    /// The page token a publishing call needs, or Meta's answer to the wrong token.
    fn publishing_token(
        &self,
        ctx: &mut Ctx<'_>,
        page_id: &str,
        unpublished: bool,
    ) -> Result<TokenRec, GraphErr> {
        let rec = self.authenticate(ctx)?;
        match self.page_access(&rec, page_id) {
            Some(PageAccess::PageToken) => {}
            Some(PageAccess::OwnerUser) => {
                return Err(GraphErr::new(
                    200,
                    None,
                    if unpublished {
                        "(#200) Unpublished posts must be posted to a page as the page itself."
                    } else {
                        PAGE_POST_PERMISSION
                    },
                ));
            }
            None if rec.kind == TokenKind::Page => {
                return Err(GraphErr::new(200, None, PAGE_POST_PERMISSION));
            }
            None => return Err(no_object(page_id, "POST")),
        }
        self.touch(ctx, page_id, "pages")?;
        if !self.has_scope(&rec.user_id, "pages_manage_posts") {
            return Err(GraphErr::new(200, None, PAGE_POST_PERMISSION));
        }
        Ok(rec)
    }

    /// A `scheduled_publish_time` inside Meta's documented window (10 minutes to 30 days ahead).
    fn schedule(&self, ctx: &Ctx<'_>, unpublished: bool) -> Result<Option<i64>, GraphErr> {
        let Some(raw) = ctx.p("scheduled_publish_time") else {
            return Ok(None);
        };
        let now = self.now();
        let t = parse_time(raw, now)
            .ok_or_else(|| invalid_param("The specified scheduled publish time is invalid."))?;
        if !unpublished {
            return Err(invalid_param(
                "You cannot specify a scheduled publish time on a published post",
            ));
        }
        if t < now + 600 {
            return Err(invalid_param(
                "scheduled_publish_time must be at least 10 minutes in the future",
            ));
        }
        if t > now + 30 * 86_400 {
            return Err(invalid_param(
                "The specified scheduled publish time is invalid. It must be between 10 minutes and 30 days from the time of the API request.",
            ));
        }
        Ok(Some(t))
    }

    fn post_feed(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        let unpublished = ctx.flag("published") == Some(false);
        self.publishing_token(ctx, page_id, unpublished)?;
        let message = ctx.p("message").map(str::to_owned);
        let link = ctx.p("link").map(str::to_owned);
        let attached = ctx.attached_media.clone();
        if message.is_none() && link.is_none() && attached.is_empty() {
            return Err(invalid_param("Missing message or attachment").into());
        }
        let sched = self.schedule(ctx, unpublished)?;
        for (i, fbid) in attached.iter().enumerate() {
            let ok = self
                .photos
                .iter()
                .any(|p| p.page_id == page_id && p.photo.id == *fbid && !p.photo.published);
            if !ok {
                return Err(invalid_param(&format!(
                    "attached_media[{i}]: media_fbid {fbid} is not an unpublished photo of this Page"
                ))
                .into());
            }
        }
        let now = self.now();
        if message.is_some() {
            let window = self.duplicate_window;
            let dup = self.posts.iter().any(|p| {
                p.page_id == page_id
                    && p.post.message == message
                    && p.post.link == link
                    && p.post.attached_media == attached
                    && now - p.post.created_time < window
            });
            if dup {
                return Err(GraphErr::new(506, None, "(#506) Duplicate status message").into());
            }
        }
        let n = self.next();
        let id = format!("{page_id}_{n}");
        self.posts.push(PostRec {
            page_id: page_id.to_owned(),
            post: FbPost {
                id: id.clone(),
                message,
                link,
                published: !unpublished,
                scheduled_publish_time: sched,
                attached_media: attached,
                created_time: now,
            },
        });
        ctx.committed = true;
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        if ctx.wants_field("permalink_url") {
            out.insert(
                "permalink_url".into(),
                json!(format!("https://www.facebook.com/{page_id}/posts/{n}")),
            );
        }
        Ok(Value::Object(out))
    }

    fn post_photo(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        let unpublished = ctx.flag("published") == Some(false);
        self.publishing_token(ctx, page_id, false)?;
        let url = ctx.p("url").map(str::to_owned);
        let source = ctx
            .files
            .iter()
            .find(|(n, _)| n == "source")
            .map(|(_, len)| *len);
        if url.is_none() && source.is_none() {
            return Err(GraphErr::new(324, None, "(#324) Requires upload file").into());
        }
        let sched = self.schedule(ctx, unpublished)?;
        let caption = ctx
            .p("caption")
            .or_else(|| ctx.p("message"))
            .map(str::to_owned);
        let now = self.now();
        let photo_id = self.next().to_string();
        let post_id = if !unpublished || sched.is_some() {
            let n = self.next();
            let post_id = format!("{page_id}_{n}");
            self.posts.push(PostRec {
                page_id: page_id.to_owned(),
                post: FbPost {
                    id: post_id.clone(),
                    message: caption.clone(),
                    link: None,
                    published: !unpublished,
                    scheduled_publish_time: sched,
                    attached_media: vec![photo_id.clone()],
                    created_time: now,
                },
            });
            Some(post_id)
        } else {
            None
        };
        self.photos.push(PhotoRec {
            page_id: page_id.to_owned(),
            photo: FbPhoto {
                id: photo_id.clone(),
                published: !unpublished,
                url,
                uploaded_bytes: source.unwrap_or(0),
                caption,
                temporary: ctx.flag("temporary") == Some(true),
                post_id: post_id.clone(),
            },
            created_time: now,
        });
        ctx.committed = true;
        let mut out = Map::new();
        out.insert("id".into(), json!(photo_id));
        if let Some(p) = post_id.filter(|_| !unpublished) {
            out.insert("post_id".into(), json!(p));
        }
        Ok(Value::Object(out))
    }

    fn post_video(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        if ctx.p("upload_phase").is_some() {
            // The legacy chunked protocol (start/transfer/finish) is not modelled.
            return Err(Fail::Unmatched);
        }
        let unpublished = ctx.flag("published") == Some(false);
        self.publishing_token(ctx, page_id, false)?;
        let file_url = ctx.p("file_url").map(str::to_owned);
        let handle = ctx.p("fbuploader_video_file_chunk").map(str::to_owned);
        let source = ctx
            .files
            .iter()
            .find(|(n, _)| n == "source")
            .map(|(_, len)| *len as u64);
        let given = [file_url.is_some(), handle.is_some(), source.is_some()]
            .iter()
            .filter(|x| **x)
            .count();
        if given == 0 {
            return Err(invalid_param(
                "Requires one of the params: file_url, fbuploader_video_file_chunk or source",
            )
            .into());
        }
        if given > 1 {
            return Err(invalid_param(
                "Only one of file_url, fbuploader_video_file_chunk or source may be given",
            )
            .into());
        }
        let mut bytes = source.unwrap_or(0);
        if let Some(h) = &handle {
            let Some(u) = self
                .uploads
                .iter()
                .find(|u| u.session.handle.as_deref() == Some(h.as_str()))
            else {
                return Err(invalid_param(
                    "Invalid fbuploader_video_file_chunk: unknown file handle",
                )
                .into());
            };
            if u.session.file_type != "video/mp4" {
                return Err(invalid_param("The file handle does not refer to a video").into());
            }
            bytes = u.session.file_length;
        }
        let sched = self.schedule(ctx, unpublished)?;
        let now = self.now();
        let id = format!("10{:013}", self.next());
        let fail = self.fail_next_video.remove(page_id);
        self.videos.push(VideoRec {
            page_id: page_id.to_owned(),
            video: FbVideo {
                id: id.clone(),
                title: ctx.p("title").map(str::to_owned),
                description: ctx.p("description").map(str::to_owned),
                upload_handle: handle,
                file_url,
                published: !unpublished,
                uploaded_bytes: bytes,
            },
            created_time: now,
            polls: 0,
            fail,
            scheduled_publish_time: sched,
        });
        ctx.committed = true;
        Ok(json!({ "id": id }))
    }

    fn paginate(&self, ctx: &Ctx<'_>, path: &str, items: Vec<Value>) -> Value {
        let limit = ctx
            .p("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let start = ctx
            .p("after")
            .and_then(decode_cursor)
            .map_or(0, |i| i + 1)
            .min(items.len());
        let end = (start + limit).min(items.len());
        let more = end < items.len();
        let data: Vec<Value> = items[start..end].to_vec();
        let mut out = Map::new();
        let empty = data.is_empty();
        out.insert("data".into(), Value::Array(data));
        if !empty {
            let mut paging = Map::new();
            paging.insert(
                "cursors".into(),
                json!({"before": encode_cursor(start), "after": encode_cursor(end - 1)}),
            );
            if more {
                paging.insert(
                    "next".into(),
                    json!(self.next_url(ctx, path, limit, &encode_cursor(end - 1))),
                );
            }
            out.insert("paging".into(), Value::Object(paging));
        }
        Value::Object(out)
    }

    fn page_read_token(&self, ctx: &mut Ctx<'_>, page_id: &str) -> Result<TokenRec, GraphErr> {
        let rec = self.authenticate(ctx)?;
        match self.page_access(&rec, page_id) {
            Some(PageAccess::PageToken) => {}
            Some(PageAccess::OwnerUser) => return Err(page_token_required()),
            None => return Err(no_object(page_id, "GET")),
        }
        self.touch(ctx, page_id, "pages")?;
        Ok(rec)
    }

    fn list_posts(&mut self, ctx: &mut Ctx<'_>, page_id: &str, scheduled: bool) -> Answer {
        self.page_read_token(ctx, page_id)?;
        let now = self.now();
        let since = ctx.p("since").and_then(|s| parse_time(s, now));
        let until = ctx.p("until").and_then(|s| parse_time(s, now));
        let fields = ctx.fields();
        let mut items = Vec::new();
        for p in self.posts.iter().rev().filter(|p| p.page_id == page_id) {
            let Some(post) = self.public_post(&p.post.id) else {
                continue;
            };
            let wanted = if scheduled {
                !post.published && post.scheduled_publish_time.is_some()
            } else {
                post.published
            };
            if !wanted
                || since.is_some_and(|s| post.created_time < s)
                || until.is_some_and(|u| post.created_time > u)
            {
                continue;
            }
            items.push(select(
                &self.post_json(page_id, &post),
                fields.as_deref(),
                &["created_time", "message", "id"],
                POST_FIELDS,
                "Post",
            )?);
        }
        let path = format!(
            "{page_id}/{}",
            if scheduled {
                "scheduled_posts"
            } else {
                "published_posts"
            }
        );
        Ok(self.paginate(ctx, &path, items))
    }

    fn list_videos(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        self.page_read_token(ctx, page_id)?;
        let fields = ctx.fields();
        let mut items = Vec::new();
        for v in self.videos.iter().rev().filter(|v| v.page_id == page_id) {
            let mut full = obj(json!({
                "id": v.video.id,
                "title": v.video.title,
                "description": v.video.description,
                "created_time": fb_time(v.created_time),
                "updated_time": fb_time(v.created_time),
                "published": v.video.published,
            }));
            full.retain(|_, x| !x.is_null());
            items.push(select(
                &full,
                fields.as_deref(),
                &["updated_time", "description", "id"],
                VIDEO_FIELDS,
                "Video",
            )?);
        }
        Ok(self.paginate(ctx, &format!("{page_id}/videos"), items))
    }

    // ---- Resumable Upload API ------------------------------------------------------------

    fn start_upload(&mut self, ctx: &mut Ctx<'_>, app: &str) -> Answer {
        let rec = self.authenticate(ctx)?;
        if app != self.config.app_id {
            return Err(no_object(app, "POST").into());
        }
        if rec.kind == TokenKind::Page {
            return Err(GraphErr::new(
                200,
                None,
                "(#200) The Resumable Upload API requires a user access token",
            )
            .into());
        }
        let length: u64 = ctx
            .p("file_length")
            .ok_or_else(|| missing_param("file_length"))?
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| invalid_param("Param file_length must be a positive integer"))?;
        let file_type = ctx
            .p("file_type")
            .ok_or_else(|| missing_param("file_type"))?
            .to_owned();
        const TYPES: &[&str] = &[
            "application/pdf",
            "image/jpeg",
            "image/jpg",
            "image/png",
            "video/mp4",
        ];
        if !TYPES.contains(&file_type.as_str()) {
            return Err(invalid_param(
                "Param file_type must be one of {application/pdf, image/jpeg, image/jpg, image/png, video/mp4}",
            )
            .into());
        }
        let n = self.next();
        let key = format!("MTp{}", hex(format!("attachment:{n}").as_bytes()));
        let sig = format!("ARZ{:x}", fnv1a(FNV_OFFSET, key.as_bytes()));
        let id = format!("upload:{key}?sig={sig}");
        self.uploads.push(UploadRec {
            session: UploadSession {
                id: id.clone(),
                file_length: length,
                received: 0,
                handle: None,
                file_type,
                file_name: ctx.p("file_name").map(str::to_owned),
                checksum: FNV_OFFSET,
            },
            key,
            user_id: rec.user_id,
        });
        ctx.committed = true;
        Ok(json!({ "id": id }))
    }

    fn upload_chunk(&mut self, ctx: &mut Ctx<'_>, segment: &str) -> Answer {
        let key = segment
            .trim_start_matches("upload:")
            .split('?')
            .next()
            .unwrap_or("")
            .to_owned();
        if matches!(ctx.via, TokenVia::Query | TokenVia::Body) {
            // The upload endpoint reads the token from the Authorization header only
            // ("You must include the access token in the header or the call will fail").
            return Err(GraphErr::new(
                104,
                None,
                "An access token is required to request this resource.",
            )
            .into());
        }
        let rec = self.authenticate(ctx)?;
        let Some(idx) = self
            .uploads
            .iter()
            .position(|u| u.key == key && u.user_id == rec.user_id)
        else {
            return Err(no_object(segment, &ctx.method).into());
        };
        if ctx.method == "GET" {
            let s = &self.uploads[idx].session;
            return Ok(json!({"id": s.id, "file_offset": s.received}));
        }
        let offset: u64 = ctx
            .header("file_offset")
            .ok_or_else(|| invalid_param("The file_offset header is required"))?
            .parse()
            .map_err(|_| invalid_param("The file_offset header must be a non-negative integer"))?;
        let body_len = ctx.req.body.len() as u64;
        let upload = &mut self.uploads[idx];
        let s = &mut upload.session;
        if offset != s.received {
            return Err(invalid_param(&format!(
                "Invalid file_offset {offset}: the upload session has received {} bytes; resume from file_offset {}",
                s.received, s.received
            ))
            .into());
        }
        if let Some(h) = &s.handle
            && body_len == 0
        {
            return Ok(json!({ "h": h }));
        }
        if s.received + body_len > s.file_length {
            return Err(invalid_param(&format!(
                "The upload would exceed file_length {} (received {}, chunk {body_len})",
                s.file_length, s.received
            ))
            .into());
        }
        s.received += body_len;
        s.checksum = fnv1a(s.checksum, &ctx.req.body);
        ctx.committed = true;
        if s.received == s.file_length {
            let name = s.file_name.clone().unwrap_or_default();
            let h = format!(
                "2:{}:{}:{}:e:{}:ARZ{:x}",
                hex(name.as_bytes()),
                s.file_type,
                upload.key,
                2_000_000_000,
                s.checksum
            );
            s.handle = Some(h.clone());
            return Ok(json!({ "h": h }));
        }
        Ok(json!({"id": s.id, "file_offset": s.received}))
    }
}

fn rupload_err(kind: &'static str, message: impl Into<String>) -> Fail {
    Fail::Rupload {
        status: 400,
        kind,
        message: message.into(),
    }
}

fn ig_error(code: i64, subcode: i64, message: &str, title: &str, user_msg: &str) -> GraphErr {
    GraphErr::new(code, Some(subcode), message).user(title, user_msg)
}

fn not_ready() -> GraphErr {
    ig_error(
        9007,
        2_207_027,
        "Media ID is not available",
        "Media not ready for publishing",
        "The media is not ready for publishing, please wait for a moment",
    )
}

fn unsupported_media_type(detail: &str) -> GraphErr {
    ig_error(
        100,
        2_207_023,
        &format!("(#100) {detail}"),
        "Unknown media type",
        "The media type entered is not one of the expected media types.",
    )
}

fn count_tags(caption: &str, mark: char) -> usize {
    let chars: Vec<char> = caption.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            **c == mark
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_alphanumeric() || *n == '_' || *n == '.')
        })
        .count()
}

fn list_param(raw: &str) -> Vec<String> {
    if raw.trim_start().starts_with('[')
        && let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw)
    {
        return items.iter().map(json_scalar).collect();
    }
    raw.split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

fn non_jpeg(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let Some((_, ext)) = path.rsplit_once('.') else {
        return false;
    };
    if ext.contains('/') {
        return false;
    }
    matches!(
        ext,
        "png"
            | "gif"
            | "webp"
            | "heic"
            | "heif"
            | "bmp"
            | "tif"
            | "tiff"
            | "svg"
            | "mpo"
            | "jps"
            | "avif"
    )
}

impl State {
    // ---- Instagram content publishing ----------------------------------------------------

    fn ig_token(&self, ctx: &mut Ctx<'_>, ig: &str, method: &str) -> Result<TokenRec, GraphErr> {
        let rec = self.authenticate(ctx)?;
        if !self.ig_access(&rec, ig) {
            return Err(no_object(ig, method));
        }
        self.touch(ctx, ig, "instagram")?;
        Ok(rec)
    }

    fn create_container(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        let rec = self.ig_token(ctx, ig, "POST")?;
        if !self.has_scope(&rec.user_id, "instagram_content_publish") {
            return Err(GraphErr::new(
                10,
                None,
                "(#10) Application does not have permission for this action",
            )
            .into());
        }
        let is_item = ctx.flag("is_carousel_item") == Some(true);
        let resumable = ctx.p("upload_type") == Some("resumable");
        let image_url = ctx.p("image_url").map(str::to_owned);
        let video_url = ctx.p("video_url").map(str::to_owned);
        let caption = ctx.p("caption").map(str::to_owned);
        let media_type = ctx.p("media_type").map(str::to_ascii_uppercase);
        let (kind, product) = match media_type.as_deref() {
            None | Some("IMAGE") => (Kind::Image, Product::Feed),
            Some("VIDEO") if is_item => (Kind::Video, Product::Feed),
            Some("VIDEO") => {
                return Err(unsupported_media_type(
                    "The VIDEO media type is no longer supported for single feed videos; use REELS",
                )
                .into());
            }
            Some("REELS") => (Kind::Video, Product::Reels),
            Some("STORIES") if image_url.is_some() => (Kind::Image, Product::Story),
            Some("STORIES") => (Kind::Video, Product::Story),
            Some("CAROUSEL") if !is_item => (Kind::Carousel, Product::Feed),
            Some(other) => {
                return Err(unsupported_media_type(&format!(
                    "media_type {other} is not supported here"
                ))
                .into());
            }
        };
        if is_item && product != Product::Feed {
            return Err(
                unsupported_media_type("Reels and stories cannot be carousel items").into(),
            );
        }
        if is_item && caption.is_some() {
            return Err(invalid_param("Param caption is not supported on carousel items").into());
        }
        if let Some(raw) = ctx.p("collaborators") {
            if is_item || product == Product::Story {
                return Err(invalid_param("param collaborators is not allowed").into());
            }
            if list_param(raw).len() > 3 {
                return Err(
                    invalid_param("param collaborators must list at most 3 usernames").into(),
                );
            }
        }
        if let Some(c) = &caption {
            if c.chars().count() > 2_200 || count_tags(c, '#') > 30 {
                return Err(ig_error(
                    36_004,
                    2_207_010,
                    "The caption is too long.",
                    "Caption too long",
                    "The caption can have at most 2200 characters and 30 hashtags.",
                )
                .into());
            }
            if count_tags(c, '@') > 20 {
                return Err(ig_error(
                    100,
                    2_207_040,
                    "(#100) Too many tags",
                    "Too many tags",
                    "Cannot use more than 20 tags per created media.",
                )
                .into());
            }
        }
        let mut children = Vec::new();
        match (kind, product) {
            (Kind::Carousel, _) => {
                let raw = ctx.p("children").ok_or_else(|| missing_param("children"))?;
                children = list_param(raw);
                if !(2..=10).contains(&children.len()) {
                    return Err(ig_error(
                        100,
                        2_207_028,
                        "(#100) Invalid number of carousel children",
                        "Carousel item count",
                        "Carousels need at least 2 photos/videos and no more than 10 photos/videos.",
                    )
                    .into());
                }
                for child in &children {
                    let Some(c) = self.containers.get(child) else {
                        return Err(ig_error(
                            24,
                            2_207_006,
                            "The media was not found",
                            "Media not found",
                            &format!("The media with id {child} cannot be found."),
                        )
                        .into());
                    };
                    if c.c.ig_user_id != ig || !c.c.is_carousel_item {
                        return Err(invalid_param(&format!(
                            "children: {child} is not a carousel item of this account"
                        ))
                        .into());
                    }
                    if self.container_status(c).0 != "FINISHED" {
                        return Err(not_ready().into());
                    }
                }
            }
            (Kind::Image, Product::Story) => {
                if video_url.is_some() {
                    return Err(invalid_param(
                        "A story takes either image_url or video_url, not both",
                    )
                    .into());
                }
            }
            (Kind::Image, _) => {
                if image_url.is_none() {
                    return Err(missing_param("image_url").into());
                }
            }
            (Kind::Video, _) => {
                if video_url.is_none() && !resumable {
                    return Err(missing_param("video_url").into());
                }
            }
        }
        if let Some(u) = &image_url
            && non_jpeg(u)
        {
            return Err(ig_error(
                36_001,
                2_207_005,
                "The image format is not supported.",
                "Unsupported image format",
                "The image format is not supported. Only JPEG images are supported.",
            )
            .into());
        }
        let resumable = resumable && kind == Kind::Video;
        let fail = self.fail_next_container.remove(ig);
        let id = format!("17{:015}", self.next());
        let label = match (kind, product) {
            (Kind::Carousel, _) => "CAROUSEL",
            (_, Product::Reels) => "REELS",
            (_, Product::Story) => "STORIES",
            (Kind::Video, _) => "VIDEO",
            (Kind::Image, _) => "IMAGE",
        };
        let now = self.now();
        self.containers.insert(
            id.clone(),
            ContainerRec {
                c: Container {
                    id: id.clone(),
                    ig_user_id: ig.to_owned(),
                    media_type: label.to_owned(),
                    status_code: "IN_PROGRESS".to_owned(),
                    caption,
                    children,
                    uploaded_bytes: 0,
                    is_carousel_item: is_item,
                    image_url,
                    video_url,
                    upload_type: ctx.p("upload_type").map(str::to_owned),
                    checksum: FNV_OFFSET,
                },
                kind,
                product,
                resumable,
                file_size: None,
                upload_done: false,
                polls: 0,
                fail,
                expired: false,
                published_media: None,
                created_at: now,
            },
        );
        self.container_order.push(id.clone());
        ctx.committed = true;
        let mut out = Map::new();
        out.insert("id".into(), json!(id));
        if resumable {
            let v = if ctx.version.is_empty() {
                "v24.0".to_owned()
            } else {
                ctx.version.clone()
            };
            out.insert(
                "uri".into(),
                json!(format!("{}/ig-api-upload/{v}/{id}", self.base_uri)),
            );
        }
        Ok(Value::Object(out))
    }

    fn media_publish(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        self.media_publish_calls += 1;
        let rec = self.ig_token(ctx, ig, "POST")?;
        if !self.has_scope(&rec.user_id, "instagram_content_publish") {
            return Err(GraphErr::new(
                10,
                None,
                "(#10) Application does not have permission for this action",
            )
            .into());
        }
        let creation_id = ctx
            .p("creation_id")
            .ok_or_else(|| missing_param("creation_id"))?
            .to_owned();
        let Some(c) = self
            .containers
            .get(&creation_id)
            .filter(|c| c.c.ig_user_id == ig)
            .cloned()
        else {
            return Err(ig_error(
                24,
                2_207_006,
                "The media was not found",
                "Media not found",
                &format!("The media with id {creation_id} cannot be found."),
            )
            .into());
        };
        if c.c.is_carousel_item {
            return Err(invalid_param(
                "A carousel item cannot be published on its own; publish its carousel container",
            )
            .into());
        }
        match self.container_status(&c).0 {
            "FINISHED" => {}
            "PUBLISHED" => {
                return Err(invalid_param("The media container has already been published").into());
            }
            "EXPIRED" => {
                return Err(ig_error(
                    -2,
                    2_207_020,
                    "The media you are trying to access has expired. Please try to upload again.",
                    "Media expired",
                    "The media you are trying to access has expired. Please try to upload again.",
                )
                .into());
            }
            _ => return Err(not_ready().into()),
        }
        if self.ig_quota_usage(ig) >= self.config.quota_total {
            return Err(ig_error(
                9,
                2_207_042,
                "Application request limit reached",
                "Max. publish limit reached",
                "You reached maximum number of posts that is allowed to be published by Content Publishing API.",
            )
            .into());
        }
        let now = self.now();
        let media_id = format!("18{:015}", self.next());
        let sc = shortcode(&media_id);
        let username = self
            .igs
            .get(ig)
            .map(|r| r.username.clone())
            .unwrap_or_default();
        let (media_type, product, permalink) = match (c.kind, c.product) {
            (_, Product::Story) => (
                if c.kind == Kind::Image {
                    "IMAGE"
                } else {
                    "VIDEO"
                },
                "STORY",
                format!("https://www.instagram.com/stories/{username}/{media_id}/"),
            ),
            (_, Product::Reels) => (
                "VIDEO",
                "REELS",
                format!("https://www.instagram.com/reel/{sc}/"),
            ),
            (Kind::Carousel, _) => (
                "CAROUSEL_ALBUM",
                "FEED",
                format!("https://www.instagram.com/p/{sc}/"),
            ),
            (Kind::Video, _) => (
                "VIDEO",
                "FEED",
                format!("https://www.instagram.com/p/{sc}/"),
            ),
            (Kind::Image, _) => (
                "IMAGE",
                "FEED",
                format!("https://www.instagram.com/p/{sc}/"),
            ),
        };
        self.media.push(IgMediaRec {
            ig_user_id: ig.to_owned(),
            media: IgMedia {
                id: media_id.clone(),
                container_id: creation_id.clone(),
                caption: c.c.caption.clone(),
                media_type: media_type.to_owned(),
                media_product_type: product.to_owned(),
                permalink,
                timestamp: now,
            },
        });
        if let Some(m) = self.containers.get_mut(&creation_id) {
            m.published_media = Some(media_id.clone());
        }
        if let Some(r) = self.igs.get_mut(ig) {
            r.publishes.push(now);
        }
        ctx.committed = true;
        Ok(json!({ "id": media_id }))
    }

    fn publishing_limit(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        self.ig_token(ctx, ig, "GET")?;
        let fields = ctx.fields();
        let want = |name: &str| {
            fields
                .as_ref()
                .is_none_or(|f| f.is_empty() || f.iter().any(|s| s.name == name))
        };
        let mut row = Map::new();
        if want("quota_usage") {
            row.insert("quota_usage".into(), json!(self.ig_quota_usage(ig)));
        }
        if fields
            .as_ref()
            .is_some_and(|f| f.iter().any(|s| s.name == "config"))
        {
            row.insert(
                "config".into(),
                json!({"quota_total": self.config.quota_total, "quota_duration": 86_400}),
            );
        }
        Ok(json!({ "data": [Value::Object(row)] }))
    }

    fn list_media(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        self.ig_token(ctx, ig, "GET")?;
        let fields = ctx.fields();
        let username = self
            .igs
            .get(ig)
            .map(|r| r.username.clone())
            .unwrap_or_default();
        let mut items = Vec::new();
        for m in self.media.iter().rev().filter(|m| m.ig_user_id == ig) {
            let mut full = obj(json!({
                "id": m.media.id,
                "caption": m.media.caption,
                "media_type": m.media.media_type,
                "media_product_type": m.media.media_product_type,
                "permalink": m.media.permalink,
                "timestamp": fb_time(m.media.timestamp),
                "username": username,
                "shortcode": shortcode(&m.media.id),
                "like_count": 0,
                "comments_count": 0,
            }));
            full.retain(|_, x| !x.is_null());
            items.push(select(
                &full,
                fields.as_deref(),
                &["id"],
                IG_MEDIA_FIELDS,
                "IGMedia",
            )?);
        }
        Ok(self.paginate(ctx, &format!("{ig}/media"), items))
    }

    /// `POST /ig-api-upload/[{version}/]{container-id}` on the rupload host.
    fn rupload(&mut self, ctx: &mut Ctx<'_>, rest: &[String]) -> Answer {
        if ctx.method != "POST" {
            return Err(Fail::Unmatched);
        }
        let [id] = rest else {
            return Err(Fail::Unmatched);
        };
        let not_authorized = || {
            rupload_err(
                "NotAuthorizedError",
                "User not authorized to perform this request",
            )
        };
        let token = match ctx.via {
            TokenVia::OAuthHeader | TokenVia::BearerHeader => ctx.token.clone(),
            _ => None,
        };
        let Some(token) = token else {
            return Err(not_authorized());
        };
        let Some(rec) = self.tokens.get(&token).cloned() else {
            return Err(not_authorized());
        };
        if self.token_problem(&rec).is_some() {
            return Err(not_authorized());
        }
        let Some(c) = self.containers.get(id).cloned() else {
            return Err(rupload_err(
                "InvalidRequestError",
                format!("Invalid container id {id}"),
            ));
        };
        if !self.ig_access(&rec, &c.c.ig_user_id) {
            return Err(not_authorized());
        }
        if !c.resumable {
            return Err(rupload_err(
                "InvalidRequestError",
                "The container was not created with upload_type=resumable",
            ));
        }
        if c.published_media.is_some() || c.expired {
            return Err(rupload_err(
                "InvalidRequestError",
                "The container no longer accepts uploads",
            ));
        }
        if let Some(url) = ctx.header("file_url") {
            if let Some(m) = self.containers.get_mut(id) {
                m.upload_done = true;
                m.c.video_url = Some(url);
            }
            ctx.committed = true;
            return Ok(json!({"success": true, "message": "Upload successful."}));
        }
        let offset: u64 = ctx
            .header("offset")
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| rupload_err("InvalidRequestError", "The offset header is required"))?;
        let size: u64 = ctx
            .header("file_size")
            .and_then(|o| o.parse().ok())
            .ok_or_else(|| {
                rupload_err("InvalidRequestError", "The file_size header is required")
            })?;
        if c.file_size.is_some_and(|s| s != size) {
            return Err(rupload_err(
                "InvalidRequestError",
                format!(
                    "file_size {size} differs from the {} given before",
                    c.file_size.unwrap_or(0)
                ),
            ));
        }
        if offset != c.c.uploaded_bytes {
            return Err(rupload_err(
                "InvalidRequestError",
                format!(
                    "Invalid offset {offset}: {} bytes have been received; resume from offset {}",
                    c.c.uploaded_bytes, c.c.uploaded_bytes
                ),
            ));
        }
        let body_len = ctx.req.body.len() as u64;
        if offset + body_len > size {
            return Err(rupload_err(
                "InvalidRequestError",
                format!("The body runs past file_size {size}"),
            ));
        }
        if let Some(m) = self.containers.get_mut(id) {
            m.c.uploaded_bytes += body_len;
            m.c.checksum = fnv1a(m.c.checksum, &ctx.req.body);
            m.file_size = Some(size);
            m.upload_done = m.c.uploaded_bytes == size;
        }
        ctx.committed = true;
        Ok(json!({"success": true, "message": "Upload successful."}))
    }
}

// ---------------------------------------------------------------------------------------------
// Insights
// ---------------------------------------------------------------------------------------------

const PAGE_METRICS: &[&str] = &[
    "page_total_media_view_unique",
    "page_media_view",
    "page_post_engagements",
    "page_daily_follows",
    "page_daily_follows_unique",
    "page_daily_unfollows_unique",
    "page_follows",
    "page_views_total",
    "page_video_views",
    "page_video_views_unique",
    "page_actions_post_reactions_total",
    "page_total_actions",
];

const POST_METRICS: &[&str] = &[
    "post_total_media_view_unique",
    "post_media_view",
    "post_reactions_by_type_total",
    "post_reactions_like_total",
    "post_clicks",
    "post_clicks_by_type",
    "post_video_views",
    "post_activity_by_action_type",
];

const VIDEO_METRICS: &[&str] = &[
    "total_video_views",
    "total_video_views_unique",
    "total_video_avg_time_watched",
    "total_video_view_total_time",
    "total_video_complete_views",
    "post_video_avg_time_watched",
    "post_video_views",
    "fb_reels_total_plays",
    "fb_reels_replay_count",
    "blue_reels_play_count",
];

const IG_FEED_METRICS: &[&str] = &[
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "follows",
    "profile_visits",
    "profile_activity",
    "total_likes",
    "total_comments",
    "total_views",
];

const IG_REELS_METRICS: &[&str] = &[
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "ig_reels_avg_watch_time",
    "ig_reels_video_view_total_time",
    "total_likes",
    "total_comments",
    "total_views",
];

const IG_STORY_METRICS: &[&str] = &[
    "views",
    "reach",
    "replies",
    "navigation",
    "shares",
    "follows",
    "profile_visits",
    "profile_activity",
    "total_interactions",
];

const IG_USER_SERIES_METRICS: &[&str] = &["reach", "follower_count", "online_followers"];

const IG_USER_TOTAL_ONLY_METRICS: &[&str] = &[
    "website_clicks",
    "profile_views",
    "accounts_engaged",
    "total_interactions",
    "likes",
    "comments",
    "shares",
    "saves",
    "replies",
    "views",
    "profile_links_taps",
    "follows_and_unfollows",
    "engaged_audience_demographics",
    "reached_audience_demographics",
    "follower_demographics",
];

fn invalid_metric() -> GraphErr {
    GraphErr::new(
        100,
        None,
        "(#100) The value must be a valid insights metric",
    )
}

fn metrics_of(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.p("metric").map(list_param).unwrap_or_default()
}

fn metric_value(object: &str, metric: &str, salt: i64) -> u64 {
    fnv1a(FNV_OFFSET, format!("{object}/{metric}/{salt}").as_bytes()) % 500 + 1
}

fn title_of(metric: &str) -> String {
    let mut t = metric.replace('_', " ");
    if let Some(first) = t.get(..1) {
        let up = first.to_ascii_uppercase();
        t.replace_range(..1, &up);
    }
    t
}

impl State {
    fn insights_scope(&self, rec: &TokenRec, scope: &str) -> Result<(), GraphErr> {
        if self.has_scope(&rec.user_id, scope) {
            Ok(())
        } else {
            Err(GraphErr::new(
                10,
                None,
                format!("(#10) This endpoint requires the '{scope}' permission"),
            ))
        }
    }

    /// Days (as `end_time` unix seconds) of a `since`/`until` range, Meta style.
    fn days(&self, ctx: &Ctx<'_>, max_days: Option<i64>) -> Result<Vec<i64>, GraphErr> {
        let now = self.now();
        let until = match ctx.p("until") {
            Some(u) => parse_time(u, now).ok_or_else(|| invalid_param("Invalid until"))?,
            None => now,
        };
        let since = match ctx.p("since") {
            Some(s) => parse_time(s, now).ok_or_else(|| invalid_param("Invalid since"))?,
            None => until - 2 * 86_400,
        };
        if since > until {
            return Err(invalid_param("since must be before until"));
        }
        if let Some(max) = max_days
            && until - since > max * 86_400
        {
            return Err(invalid_param(&format!(
                "There cannot be more than {max} days ({} s) between since and until",
                max * 86_400
            )));
        }
        let first = since.div_euclid(86_400) + 1;
        let last = until.div_euclid(86_400);
        let mut days: Vec<i64> = (first..=last).map(|d| d * 86_400 + 7 * 3_600).collect();
        if days.is_empty() {
            days.push(last * 86_400 + 7 * 3_600);
        }
        Ok(days)
    }

    fn series_row(
        &self,
        object: &str,
        edge: &str,
        metric: &str,
        period: &str,
        days: &[i64],
    ) -> Value {
        let values: Vec<Value> = if self.empty_metrics.contains(metric) {
            Vec::new()
        } else {
            days.iter()
                .map(|d| {
                    let v = metric_value(object, metric, *d);
                    let value = match metric {
                        "page_media_view" => json!({"paid": v / 4, "organic": v - v / 4}),
                        _ => json!(v),
                    };
                    json!({"value": value, "end_time": fb_time(*d)})
                })
                .collect()
        };
        json!({
            "name": metric,
            "period": period,
            "values": values,
            "title": title_of(metric),
            "description": format!("{} (fake data)", title_of(metric)),
            "id": format!("{object}/{edge}/{metric}/{period}"),
        })
    }

    fn lifetime_row(&self, object: &str, edge: &str, metric: &str) -> Value {
        let values: Vec<Value> = if self.empty_metrics.contains(metric) {
            Vec::new()
        } else {
            let v = metric_value(object, metric, 0);
            let value = match metric {
                "post_reactions_by_type_total" => json!({"like": v, "love": v / 3}),
                "post_clicks_by_type" => json!({"link clicks": v, "other clicks": v / 2}),
                "post_activity_by_action_type" => {
                    json!({"share": v / 5, "like": v, "comment": v / 4})
                }
                _ => json!(v),
            };
            vec![json!({ "value": value })]
        };
        json!({
            "name": metric,
            "period": "lifetime",
            "values": values,
            "title": title_of(metric),
            "description": format!("{} (fake data)", title_of(metric)),
            "id": format!("{object}/{edge}/{metric}/lifetime"),
        })
    }

    fn insights_paging(&self, ctx: &Ctx<'_>, path: &str, days: &[i64]) -> Value {
        let span = (days.len() as i64).max(1) * 86_400;
        let until = days.last().copied().unwrap_or(0) - 7 * 3_600;
        let build = |since: i64, until: i64| {
            let mut u = Url::parse(&format!("{}/{}/{}", self.base_uri, ctx.version, path))
                .unwrap_or_else(|_| Url::parse("http://invalid/").unwrap());
            {
                let mut q = u.query_pairs_mut();
                if let Some(t) = &ctx.token {
                    q.append_pair("access_token", t);
                }
                for key in ["metric", "period", "metric_type"] {
                    if let Some(v) = ctx.p(key) {
                        q.append_pair(key, v);
                    }
                }
                q.append_pair("since", &since.to_string());
                q.append_pair("until", &until.to_string());
            }
            u.to_string()
        };
        json!({
            "previous": build(until - 2 * span, until - span),
            "next": build(until, until + span),
        })
    }

    fn page_insights(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        let rec = self.page_read_token(ctx, page_id)?;
        self.insights_scope(&rec, "read_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(GraphErr::new(3001, Some(1_504_028), "Invalid query")
                .user(
                    "No metric specified",
                    "No metric was specified to be fetched.",
                )
                .into());
        }
        if let Some(_bad) = metrics.iter().find(|m| !PAGE_METRICS.contains(&m.as_str())) {
            return Err(invalid_metric().into());
        }
        let period = ctx.p("period").unwrap_or("day").to_owned();
        let days = self.days(ctx, Some(93))?;
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| self.series_row(page_id, "insights", m, &period, &days))
            .collect();
        let paging = self.insights_paging(ctx, &format!("{page_id}/insights"), &days);
        Ok(json!({ "data": data, "paging": paging }))
    }

    fn post_insights(&mut self, ctx: &mut Ctx<'_>, post_id: &str) -> Answer {
        let page_id = self.page_of_post(post_id).unwrap_or_default();
        let rec = self.page_read_token(ctx, &page_id)?;
        self.insights_scope(&rec, "read_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(GraphErr::new(3001, Some(1_504_028), "Invalid query")
                .user(
                    "No metric specified",
                    "No metric was specified to be fetched.",
                )
                .into());
        }
        if metrics.iter().any(|m| !POST_METRICS.contains(&m.as_str())) {
            return Err(invalid_metric().into());
        }
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| self.lifetime_row(post_id, "insights", m))
            .collect();
        Ok(json!({ "data": data }))
    }

    fn video_insights(&mut self, ctx: &mut Ctx<'_>, video_id: &str) -> Answer {
        let page_id = self
            .videos
            .iter()
            .find(|v| v.video.id == video_id)
            .map(|v| v.page_id.clone())
            .unwrap_or_default();
        let rec = self.authenticate(ctx)?;
        if self.page_access(&rec, &page_id).is_none() {
            return Err(no_object(video_id, "GET").into());
        }
        self.touch(ctx, &page_id, "pages")?;
        self.insights_scope(&rec, "read_insights")?;
        let mut metrics = metrics_of(ctx);
        if metrics.is_empty() {
            metrics = [
                "total_video_views",
                "total_video_views_unique",
                "total_video_avg_time_watched",
            ]
            .map(str::to_owned)
            .to_vec();
        }
        if metrics.iter().any(|m| !VIDEO_METRICS.contains(&m.as_str())) {
            return Err(invalid_metric().into());
        }
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| self.lifetime_row(video_id, "video_insights", m))
            .collect();
        Ok(json!({ "data": data }))
    }

    fn ig_media_insights(&mut self, ctx: &mut Ctx<'_>, media_id: &str) -> Answer {
        let m = self
            .media
            .iter()
            .find(|m| m.media.id == media_id)
            .cloned()
            .ok_or_else(|| no_object(media_id, "GET"))?;
        let rec = self.ig_token(ctx, &m.ig_user_id, "GET")?;
        self.insights_scope(&rec, "instagram_manage_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(missing_param("metric").into());
        }
        let allowed = match m.media.media_product_type.as_str() {
            "REELS" => IG_REELS_METRICS,
            "STORY" => IG_STORY_METRICS,
            _ => IG_FEED_METRICS,
        };
        let mut every: Vec<&str> = IG_FEED_METRICS
            .iter()
            .chain(IG_REELS_METRICS)
            .chain(IG_STORY_METRICS)
            .copied()
            .collect();
        every.sort_unstable();
        every.dedup();
        for (i, metric) in metrics.iter().enumerate() {
            if !every.contains(&metric.as_str()) {
                return Err(invalid_param(&format!(
                    "metric[{i}] must be one of the following values: {}",
                    every.join(", ")
                ))
                .into());
            }
        }
        let unsupported: Vec<&str> = metrics
            .iter()
            .filter(|m| !allowed.contains(&m.as_str()))
            .map(String::as_str)
            .collect();
        if !unsupported.is_empty() {
            return Err(invalid_param(&format!(
                "The Media Insights API does not support the {} metric for this media product type.",
                unsupported.join(", ")
            ))
            .into());
        }
        let data: Vec<Value> = metrics
            .iter()
            .map(|metric| self.lifetime_row(media_id, "insights", metric))
            .collect();
        Ok(json!({ "data": data }))
    }

    fn ig_user_insights(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        let rec = self.ig_token(ctx, ig, "GET")?;
        self.insights_scope(&rec, "instagram_manage_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(missing_param("metric").into());
        }
        let period = ctx
            .p("period")
            .ok_or_else(|| missing_param("period"))?
            .to_owned();
        let total = ctx.p("metric_type") == Some("total_value");
        let mut every: Vec<&str> = IG_USER_SERIES_METRICS
            .iter()
            .chain(IG_USER_TOTAL_ONLY_METRICS)
            .copied()
            .collect();
        every.sort_unstable();
        every.dedup();
        for (i, metric) in metrics.iter().enumerate() {
            if !every.contains(&metric.as_str()) {
                return Err(invalid_param(&format!(
                    "metric[{i}] must be one of the following values: {}",
                    every.join(", ")
                ))
                .into());
            }
        }
        if !total {
            let need: Vec<&str> = metrics
                .iter()
                .filter(|m| IG_USER_TOTAL_ONLY_METRICS.contains(&m.as_str()))
                .map(String::as_str)
                .collect();
            if !need.is_empty() {
                return Err(invalid_param(&format!(
                    "The following metrics ({}) should be specified with parameter metric_type=total_value",
                    need.join(", ")
                ))
                .into());
            }
        }
        let days = self.days(ctx, Some(30))?;
        let mut data = Vec::new();
        for metric in &metrics {
            if total {
                if self.empty_metrics.contains(metric.as_str()) {
                    continue;
                }
                let sum: u64 = days.iter().map(|d| metric_value(ig, metric, *d)).sum();
                data.push(json!({
                    "name": metric,
                    "period": period,
                    "title": title_of(metric),
                    "description": format!("{} (fake data)", title_of(metric)),
                    "total_value": {"value": sum},
                    "id": format!("{ig}/insights/{metric}/{period}"),
                }));
            } else {
                data.push(self.series_row(ig, "insights", metric, &period, &days));
            }
        }
        let paging = self.insights_paging(ctx, &format!("{ig}/insights"), &days);
        Ok(json!({ "data": data, "paging": paging }))
    }
}

// ---------------------------------------------------------------------------------------------
// The public fake
// ---------------------------------------------------------------------------------------------

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
        let server = if config.record_requests {
            FakeServer::start().await
        } else {
            FakeServer::start_without_recording().await
        };
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
