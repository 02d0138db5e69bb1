//! A stateful fake of LinkedIn's REST API: OAuth 2.0 (3-legged), OpenID
//! userinfo, organization access control, the Posts, Images and Videos APIs,
//! organization share statistics, member post analytics and social metadata.
//!
//! [`LinkedInFake`] models the platform as LinkedIn documents it (see
//! `shared/reference/api-meta-linkedin.md`, parts B and C, and the
//! learn.microsoft.com pages it cites), not as any client uses it. One fake
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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use url::Url;
use wiremock::{Request, ResponseTemplate};

pub use crate::meta::upload_checksum;
use crate::{FakeServer, Handled, UnmatchedLog};

// ---------------------------------------------------------------------------------------------
// Public configuration and records
// ---------------------------------------------------------------------------------------------

/// How the fake behaves. Build it with struct update syntax over [`Default`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedInFakeConfig {
    /// The app's client id. Default `"li-client-id"`.
    pub client_id: String,
    /// The app's client secret. Default `"li-client-secret"`.
    pub client_secret: String,
    /// The app is approved for programmatic refresh tokens: token answers carry
    /// `refresh_token` / `refresh_token_expires_in` and `grant_type=refresh_token`
    /// works. Default true.
    pub refresh_tokens: bool,
    /// `LinkedIn-Version` months (`YYYYMM`) the fake treats as active; anything
    /// else answers `426 NONEXISTENT_VERSION`. Default `202511..=202611`.
    pub active_versions: RangeInclusive<u32>,
    /// The byte size of a video upload part (the last part may be shorter).
    /// LinkedIn uses 4,194,304; tests may use small parts. Default 4,194,304.
    pub video_part_size: u64,
    /// How many `GET /rest/videos/{urn}` polls answer `PROCESSING` after
    /// `finalizeUpload` before the video is `AVAILABLE` (or
    /// `PROCESSING_FAILED`). Default 1.
    pub video_polls: u32,
    /// The `fileSizeBytes` a video may declare. LinkedIn documents 75 KB to
    /// 500 MB; the default lower bound is 1 byte so tests can use tiny files.
    /// Default `1..=524_288_000`.
    pub video_size_limits: RangeInclusive<u64>,
    /// Calls one member may make to one resource per UTC day (per app).
    /// Default 1,000,000.
    pub member_daily_limit: u32,
    /// Calls the app may make to one resource per UTC day. Default 1,000,000.
    pub app_daily_limit: u32,
    /// Reject URN path keys that are not percent-encoded (`/rest/posts/urn:li:share:1`)
    /// with a `400`, as the Rest.li 2.0 docs require them encoded. Default true.
    pub strict_path_encoding: bool,
    /// Keep wiremock's request log (default true). False starts the server with
    /// [`FakeServer::start_without_recording`], for large uploads.
    pub record_requests: bool,
}

impl Default for LinkedInFakeConfig {
    fn default() -> Self {
        LinkedInFakeConfig {
            client_id: "li-client-id".to_owned(),
            client_secret: "li-client-secret".to_owned(),
            refresh_tokens: true,
            active_versions: 202_511..=202_611,
            video_part_size: 4_194_304,
            video_polls: 1,
            video_size_limits: 1..=524_288_000,
            member_daily_limit: 1_000_000,
            app_daily_limit: 1_000_000,
            strict_path_encoding: true,
            record_requests: true,
        }
    }
}

/// A post created through `POST /rest/posts`.
#[derive(Clone, Debug, PartialEq)]
pub struct LiPost {
    /// `urn:li:share:{n}`.
    pub urn: String,
    /// The author URN (`urn:li:person:{sub}` or `urn:li:organization:{id}`).
    pub author: String,
    /// The `commentary` exactly as sent (the API answers it cut to
    /// [`MAX_COMMENTARY_CHARS`] characters).
    pub commentary: String,
    /// What LinkedIn would show: the commentary cut to
    /// [`MAX_COMMENTARY_CHARS`] characters, then parsed as little text
    /// ([`render_little_text`]).
    pub rendered: String,
    /// `PUBLIC`, `CONNECTIONS`, `LOGGED_IN` or `CONTAINER`.
    pub visibility: String,
    /// `PUBLISHED` or `DRAFT`.
    pub lifecycle_state: String,
    /// The `content` object as sent (`Value::Null` for a text post).
    pub content: Value,
    /// When the post was created (ms since the epoch, fake clock).
    pub created_at: i64,
    /// Deleted with `DELETE /rest/posts/{urn}`.
    pub deleted: bool,
}

/// An image registered with `POST /rest/images?action=initializeUpload`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiImage {
    /// `urn:li:image:{id}`.
    pub urn: String,
    /// The `owner` URN.
    pub owner: String,
    /// Bytes received by the last upload.
    pub uploaded_bytes: u64,
    /// [`upload_checksum`] of the last upload.
    pub checksum: u64,
    /// `WAITING_UPLOAD` before the bytes arrived, `AVAILABLE` after.
    pub status: String,
}

/// A video registered with `POST /rest/videos?action=initializeUpload`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiVideo {
    /// `urn:li:video:{id}`.
    pub urn: String,
    /// The `owner` URN.
    pub owner: String,
    /// The declared `fileSizeBytes`.
    pub file_size: u64,
    /// How many upload parts `initializeUpload` handed out.
    pub parts: usize,
    /// How many of them have been uploaded.
    pub uploaded_parts: usize,
    /// Bytes received over all parts (a re-sent part counts once).
    pub uploaded_bytes: u64,
    /// A running FNV-1a checksum of the bytes in the order they arrived: equal to
    /// [`upload_checksum`] of the whole file when the parts were sent in order
    /// (re-sending an identical part is ignored).
    pub checksum: u64,
    /// `WAITING_UPLOAD`, `PROCESSING`, `AVAILABLE` or `PROCESSING_FAILED`.
    pub status: String,
    /// `finalizeUpload` succeeded.
    pub finalized: bool,
    /// A captions file was uploaded to `captionsUploadUrl`.
    pub captions_uploaded: bool,
    /// A thumbnail was uploaded to `thumbnailUploadUrl`.
    pub thumbnail_uploaded: bool,
}

/// LinkedIn silently cuts post commentary to this many characters.
pub const MAX_COMMENTARY_CHARS: usize = 3000;

/// The characters little text reserves; unescaped, LinkedIn cuts the post off
/// at the first one that does not start a valid element.
pub const LITTLE_TEXT_RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

/// Renders `commentary` the way LinkedIn shows it: cut to
/// [`MAX_COMMENTARY_CHARS`] characters, backslash escapes resolved
/// (`\(` → `(`), mention templates `@[Name](urn:li:person:…)` /
/// `@[Name](urn:li:organization:…)` shown as `Name`, hashtag templates
/// `{hashtag|#|tag}` and plain `#tag` hashtags shown as `#tag`, and the text
/// cut off at the first unescaped reserved character
/// ([`LITTLE_TEXT_RESERVED`]) that does not start one of those elements.
pub fn render_little_text(commentary: &str) -> String {
    let chars: Vec<char> = commentary.chars().take(MAX_COMMENTARY_CHARS).collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => match chars.get(i + 1) {
                Some(n) if LITTLE_TEXT_RESERVED.contains(n) => {
                    out.push(*n);
                    i += 2;
                }
                _ => break,
            },
            '@' => match mention_at(&chars, i) {
                Some((name, next)) => {
                    out.push_str(&name);
                    i = next;
                }
                None => break,
            },
            '{' => match hashtag_template_at(&chars, i) {
                Some((sign, tag, next)) => {
                    out.push(sign);
                    out.push_str(&tag);
                    i = next;
                }
                None => break,
            },
            '#' | '\u{FF03}' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|ch| !ch.is_alphanumeric())
                    .map_or(chars.len(), |p| i + 1 + p);
                if end == i + 1 {
                    if c == '#' {
                        break;
                    }
                    out.push(c);
                    i += 1;
                    continue;
                }
                out.extend(&chars[i..end]);
                i = end;
            }
            c if LITTLE_TEXT_RESERVED.contains(&c) => break,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// `@[Name](urn:li:person:…|urn:li:organization:…)` at `i`: the shown name and
/// the index after the template.
fn mention_at(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars.get(i + 1) != Some(&'[') {
        return None;
    }
    let mut j = i + 2;
    let mut name = String::new();
    loop {
        match chars.get(j)? {
            '\\' => {
                let n = chars.get(j + 1)?;
                if !LITTLE_TEXT_RESERVED.contains(n) {
                    return None;
                }
                name.push(*n);
                j += 2;
            }
            ']' => break,
            c if LITTLE_TEXT_RESERVED.contains(c) => return None,
            c => {
                name.push(*c);
                j += 1;
            }
        }
    }
    if name.is_empty() || chars.get(j + 1) != Some(&'(') {
        return None;
    }
    let start = j + 2;
    let close = chars[start..].iter().position(|c| *c == ')')? + start;
    let urn: String = chars[start..close].iter().collect();
    let id = urn
        .strip_prefix("urn:li:person:")
        .or_else(|| urn.strip_prefix("urn:li:organization:"))?;
    if id.is_empty() || id.chars().any(|c| LITTLE_TEXT_RESERVED.contains(&c)) {
        return None;
    }
    Some((name, close + 1))
}

/// `{hashtag|#|tag}` (or with the full-width `＃`) at `i`: the sign, the tag
/// and the index after the template.
fn hashtag_template_at(chars: &[char], i: usize) -> Option<(char, String, usize)> {
    let rest: String = chars[i..].iter().take(10).collect();
    if !rest.starts_with("{hashtag|") {
        return None;
    }
    let sign = *chars.get(i + 9)?;
    if !(sign == '#' || sign == '\u{FF03}') || chars.get(i + 10) != Some(&'|') {
        return None;
    }
    let start = i + 11;
    let close = chars[start..].iter().position(|c| *c == '}')? + start;
    let tag: String = chars[start..close].iter().collect();
    if tag.is_empty() || tag.chars().any(|c| LITTLE_TEXT_RESERVED.contains(&c)) {
        return None;
    }
    Some((sign, tag, close + 1))
}

/// LinkedIn's API error body: `{"status","serviceErrorCode","code","message"}`.
pub fn api_error(status: u16, service_error_code: i64, code: &str, message: &str) -> Value {
    json!({
        "status": status,
        "serviceErrorCode": service_error_code,
        "code": code,
        "message": message,
    })
}

/// The exact `422` body LinkedIn answers a duplicate post with, naming the
/// post it duplicates.
pub fn duplicate_post_error(original_urn: &str) -> Value {
    json!({
        "errorDetailType": "com.linkedin.common.error.BadRequest",
        "message": format!("com.linkedin.content.common.exception.BadRequestResponseException: Content is a duplicate of {original_urn}"),
        "errorDetails": {"inputErrors": [{
            "description": "Duplicate post is detected",
            "input": {},
            "code": "DUPLICATE_POST",
        }]},
        "status": 422,
    })
}

// ---------------------------------------------------------------------------------------------
// Constants and small helpers
// ---------------------------------------------------------------------------------------------

const ACCESS_TTL: i64 = 5_184_000;
const REFRESH_TTL: i64 = 31_536_000;
const CODE_TTL: i64 = 1_800;
const UPLOAD_URL_TTL_MS: i64 = 86_400_000;
const DAY_MS: i64 = 86_400_000;
const DEFAULT_DUPLICATE_WINDOW: i64 = 86_400;
/// Company page roles that may post, read and delete as the organization.
const POSTING_ROLES: &[&str] = &[
    "ADMINISTRATOR",
    "DIRECT_SPONSORED_CONTENT_POSTER",
    "CONTENT_ADMINISTRATOR",
    "CONTENT_ADMIN",
];
const MSG_BAD_GRANT: &str =
    "The provided authorization grant or refresh token is invalid, expired or revoked";
const MSG_BAD_REDIRECT: &str = "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists";
const MSG_THROTTLED: &str = "Resource level throttle limit for calls to this resource is reached.";
const MEMBER_METRICS: &[&str] = &[
    "IMPRESSION",
    "MEMBERS_REACHED",
    "RESHARE",
    "REACTION",
    "COMMENT",
    "POST_SAVE",
    "POST_SEND",
    "LINK_CLICKS",
    "FOLLOWER_GAINED_FROM_CONTENT",
    "PROFILE_VIEW_FROM_CONTENT",
];

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Continues an FNV-1a 64-bit hash (the one [`upload_checksum`] starts at the
/// offset basis) over `bytes`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
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

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let emit = chunk.len() + 1;
        for k in 0..emit {
            out.push(char::from(A[((n >> (18 - 6 * k)) & 63) as usize]));
        }
    }
    out
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

/// Percent-encodes a URN for a Rest.li 2.0 path key.
fn encode_key(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `YYYYMM`, `YYYYMMDD` or `YYYYMM.NN` → (the month, the version as LinkedIn
/// names it in messages: `YYYYMMDD`).
fn parse_version(v: &str) -> (Option<u32>, String) {
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let base = v
        .split_once('.')
        .map_or(v, |(b, patch)| if all_digits(patch) { b } else { v });
    match base.len() {
        6 if all_digits(base) => (base.parse().ok(), format!("{base}01")),
        8 if all_digits(base) => (base[..6].parse().ok(), base.to_owned()),
        _ => (None, v.to_owned()),
    }
}

fn person_urn(sub: &str) -> String {
    format!("urn:li:person:{sub}")
}

fn org_id_of(urn: &str) -> Option<&str> {
    urn.strip_prefix("urn:li:organization:")
        .filter(|id| !id.is_empty())
}

fn ymd(ms: i64) -> Value {
    let d = DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive();
    json!({"year": d.year(), "month": d.month(), "day": d.day()})
}

// ---------------------------------------------------------------------------------------------
// Rest.li 2.0 query values
// ---------------------------------------------------------------------------------------------

/// A Rest.li 2.0 value: a string leaf, a `List(...)` or a `(key:value,...)` map.
#[derive(Clone, Debug, PartialEq)]
enum Rv {
    S(String),
    L(Vec<Rv>),
    M(Vec<(String, Rv)>),
}

impl Rv {
    fn get(&self, key: &str) -> Option<&Rv> {
        match self {
            Rv::M(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Rv::S(s) => Some(s),
            _ => None,
        }
    }
}

/// Parses a raw (still percent-encoded) Rest.li 2.0 value: the structural
/// `List(`, `(`, `)`, `,` and `:` must be unencoded, and leaves are
/// percent-decoded.
fn parse_restli(raw: &str) -> Result<Rv, String> {
    struct P<'a> {
        s: &'a str,
        i: usize,
    }
    impl P<'_> {
        fn peek(&self) -> Option<u8> {
            self.s.as_bytes().get(self.i).copied()
        }
        fn leaf(&mut self) -> String {
            let start = self.i;
            while let Some(c) = self.peek() {
                if b"(),:".contains(&c) {
                    break;
                }
                self.i += 1;
            }
            pct_decode(&self.s[start..self.i].replace('+', " "))
        }
        fn value(&mut self) -> Result<Rv, String> {
            if self.s[self.i..].starts_with("List(") {
                self.i += 5;
                let mut items = Vec::new();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(Rv::L(items));
                }
                loop {
                    items.push(self.value()?);
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {
                            self.i += 1;
                            return Ok(Rv::L(items));
                        }
                        _ => return Err(format!("malformed List at offset {}", self.i)),
                    }
                }
            }
            if self.peek() == Some(b'(') {
                self.i += 1;
                let mut entries = Vec::new();
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Ok(Rv::M(entries));
                }
                loop {
                    let key = self.leaf();
                    if self.peek() != Some(b':') || key.is_empty() {
                        return Err(format!("malformed map entry at offset {}", self.i));
                    }
                    self.i += 1;
                    let v = self.value()?;
                    entries.push((key, v));
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {
                            self.i += 1;
                            return Ok(Rv::M(entries));
                        }
                        _ => return Err(format!("malformed map at offset {}", self.i)),
                    }
                }
            }
            Ok(Rv::S(self.leaf()))
        }
    }
    let mut p = P { s: raw, i: 0 };
    let v = p.value()?;
    if p.i != raw.len() {
        return Err(format!("unexpected `{}`", &raw[p.i..]));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Answers and errors
// ---------------------------------------------------------------------------------------------

struct Reply {
    status: u16,
    body: Option<Value>,
    headers: Vec<(String, String)>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
}

enum Fail {
    Reply(Reply),
    /// The platform has no such route (or the fake does not model it): the loud 421.
    Unmatched,
}

type Answer = Result<Reply, Fail>;

fn fail(status: u16, body: Value) -> Fail {
    Fail::Reply(Reply::json(status, body))
}

fn coded(status: u16, code: &str, message: impl Into<String>) -> Fail {
    fail(
        status,
        json!({"status": status, "code": code, "message": message.into()}),
    )
}

fn illegal(message: impl Into<String>) -> Fail {
    coded(400, "ILLEGAL_ARGUMENT", message)
}

fn not_found(what: &str) -> Fail {
    coded(404, "NOT_FOUND", format!("Not Found: {what}"))
}

fn denied(label: &str) -> Fail {
    fail(
        403,
        api_error(
            403,
            100,
            "ACCESS_DENIED",
            &format!("Not enough permissions to access: {label}"),
        ),
    )
}

/// Rest.li's schema-validation `422`.
fn restli_422(path: &str, msg: &str) -> Fail {
    fail(
        422,
        json!({
            "message": format!("com.linkedin.restli.server.RestLiServiceException [HTTP Status:422]: ERROR :: {path} :: {msg}\n"),
            "status": 422,
        }),
    )
}

fn required(path: &str) -> Fail {
    restli_422(
        path,
        "field is required but not found and has no default value",
    )
}

/// A content-validation error in the `errorDetails.inputErrors` shape.
fn input_error(status: u16, code: &str, description: &str, field: &str) -> Fail {
    fail(
        status,
        json!({
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": format!("com.linkedin.content.common.exception.BadRequestResponseException: {description}"),
            "errorDetails": {"inputErrors": [{
                "description": description,
                "input": {"inputPath": {"fieldPath": field}},
                "code": code,
            }]},
            "status": status,
        }),
    )
}

fn oauth_err(status: u16, error: &str, description: &str) -> Fail {
    fail(
        status,
        json!({"error": error, "error_description": description}),
    )
}

fn throttled() -> Fail {
    fail(429, json!({"status": 429, "message": MSG_THROTTLED}))
}

// ---------------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct MemberRec {
    name: String,
    email: String,
    scopes: Vec<String>,
}

#[derive(Clone, Debug)]
struct AclRec {
    org: String,
    sub: String,
    role: String,
    state: String,
}

#[derive(Clone, Debug)]
struct TokenRec {
    sub: String,
    client_id: String,
    scopes: Vec<String>,
    created_at: i64,
    authorized_at: i64,
    expires_at: i64,
    revoked: bool,
    refresh: bool,
}

#[derive(Clone, Debug)]
struct CodeRec {
    sub: String,
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    issued_at: i64,
    used: bool,
}

#[derive(Clone, Debug)]
struct PostRec {
    urn: String,
    author: String,
    commentary: String,
    visibility: String,
    lifecycle: String,
    distribution: Value,
    content: Value,
    reshare_context: Value,
    reshare_disabled: bool,
    created_ms: i64,
    modified_ms: i64,
    published_ms: Option<i64>,
    edited: bool,
    deleted: bool,
}

#[derive(Clone, Debug)]
struct ImageRec {
    owner: String,
    uploaded_bytes: u64,
    checksum: u64,
    uploaded: bool,
}

#[derive(Clone, Debug)]
struct PartRec {
    first: u64,
    last: u64,
    etag: Option<String>,
    sum: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VStatus {
    WaitingUpload,
    Processing,
    Available,
    Failed,
}

impl VStatus {
    fn as_str(self) -> &'static str {
        match self {
            VStatus::WaitingUpload => "WAITING_UPLOAD",
            VStatus::Processing => "PROCESSING",
            VStatus::Available => "AVAILABLE",
            VStatus::Failed => "PROCESSING_FAILED",
        }
    }
}

#[derive(Clone, Debug)]
struct VideoRec {
    owner: String,
    file_size: u64,
    parts: Vec<PartRec>,
    upload_token: String,
    running: u64,
    uploaded_bytes: u64,
    status: VStatus,
    polls_left: u32,
    will_fail: bool,
    captions: bool,
    thumbnail: bool,
}

#[derive(Clone, Debug, Default)]
struct Stats {
    impressions: u64,
    clicks: u64,
    likes: u64,
    comments: u64,
    shares: u64,
    metrics: BTreeMap<String, u64>,
    reactions: BTreeMap<String, u64>,
}

impl Stats {
    fn metric(&self, query_type: &str) -> u64 {
        if let Some(v) = self.metrics.get(query_type) {
            return *v;
        }
        match query_type {
            "IMPRESSION" => self.impressions,
            "MEMBERS_REACHED" => self.impressions,
            "RESHARE" => self.shares,
            "REACTION" => self.reaction_total(),
            "COMMENT" => self.comments,
            "LINK_CLICKS" => self.clicks,
            _ => 0,
        }
    }

    fn reaction_total(&self) -> u64 {
        if self.reactions.is_empty() {
            self.likes
        } else {
            self.reactions.values().sum()
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Totals {
    impressions: u64,
    unique: u64,
    clicks: u64,
    likes: u64,
    comments: u64,
    shares: u64,
}

impl Totals {
    fn add(&mut self, s: &Stats) {
        self.impressions += s.impressions;
        self.unique += s.metric("MEMBERS_REACHED");
        self.clicks += s.clicks;
        self.likes += s.likes;
        self.comments += s.comments;
        self.shares += s.shares;
    }

    fn json(&self) -> Value {
        let engaged = self.clicks + self.likes + self.comments + self.shares;
        let engagement = if self.impressions == 0 {
            0.0
        } else {
            engaged as f64 / self.impressions as f64
        };
        json!({
            "uniqueImpressionsCount": self.unique,
            "shareCount": self.shares,
            "engagement": engagement,
            "clickCount": self.clicks,
            "likeCount": self.likes,
            "impressionCount": self.impressions,
            "commentCount": self.comments,
            "shareMentionsCount": 0,
            "commentMentionsCount": 0,
        })
    }
}

struct State {
    config: LinkedInFakeConfig,
    base_uri: String,
    apps: BTreeMap<String, String>,
    seq: u64,
    post_seq: u64,
    clock_offset: i64,
    members: BTreeMap<String, MemberRec>,
    orgs: BTreeMap<String, String>,
    acls: Vec<AclRec>,
    tokens: HashMap<String, TokenRec>,
    codes: HashMap<String, CodeRec>,
    posts: Vec<PostRec>,
    images: BTreeMap<String, ImageRec>,
    image_order: Vec<String>,
    videos: BTreeMap<String, VideoRec>,
    video_order: Vec<String>,
    stats: HashMap<String, Stats>,
    duplicate_window: i64,
    fail_next_video: bool,
    member_limit: u32,
    app_limit: u32,
    usage: HashMap<String, u32>,
    usage_day: i64,
    post_creates: usize,
    missing_version: usize,
    tokens_in_query: usize,
    requests: Vec<String>,
}

impl State {
    fn new(config: LinkedInFakeConfig, base_uri: String) -> State {
        let mut apps = BTreeMap::new();
        apps.insert(config.client_id.clone(), config.client_secret.clone());
        State {
            member_limit: config.member_daily_limit,
            app_limit: config.app_daily_limit,
            config,
            base_uri,
            apps,
            seq: 1000,
            post_seq: 7_300_000_000_000_000_000,
            clock_offset: 0,
            members: BTreeMap::new(),
            orgs: BTreeMap::new(),
            acls: Vec::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            posts: Vec::new(),
            images: BTreeMap::new(),
            image_order: Vec::new(),
            videos: BTreeMap::new(),
            video_order: Vec::new(),
            stats: HashMap::new(),
            duplicate_window: DEFAULT_DUPLICATE_WINDOW,
            fail_next_video: false,
            usage: HashMap::new(),
            usage_day: i64::MIN,
            post_creates: 0,
            missing_version: 0,
            tokens_in_query: 0,
            requests: Vec::new(),
        }
    }

    fn now(&self) -> i64 {
        Utc::now().timestamp() + self.clock_offset
    }

    fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.clock_offset * 1000
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn salt(&mut self, prefix: &str) -> u64 {
        let n = self.next();
        fnv1a(FNV_OFFSET, format!("{prefix}{n}").as_bytes())
    }

    fn new_token(&mut self, prefix: &str) -> String {
        let a = self.salt(prefix);
        let b = self.salt(prefix);
        let c = self.salt(prefix);
        format!("{prefix}{a:016x}{b:016x}_{c:016x}-fakeLinkedInToken")
    }

    fn member(&mut self, sub: &str) -> &mut MemberRec {
        self.members
            .entry(sub.to_owned())
            .or_insert_with(|| MemberRec {
                name: sub.to_owned(),
                email: format!("{sub}@members.example"),
                scopes: Vec::new(),
            })
    }

    fn issue_access(
        &mut self,
        sub: &str,
        client_id: &str,
        scopes: &[String],
        authorized_at: i64,
        cap: Option<i64>,
    ) -> (String, i64) {
        let token = self.new_token("AQV");
        let now = self.now();
        let expires_at = cap.map_or(now + ACCESS_TTL, |c| c.min(now + ACCESS_TTL));
        self.tokens.insert(
            token.clone(),
            TokenRec {
                sub: sub.to_owned(),
                client_id: client_id.to_owned(),
                scopes: scopes.to_vec(),
                created_at: now,
                authorized_at,
                expires_at,
                revoked: false,
                refresh: false,
            },
        );
        (token, expires_at - now)
    }

    fn issue_refresh(&mut self, sub: &str, client_id: &str, scopes: &[String], at: i64) -> String {
        let token = self.new_token("AQX");
        let now = self.now();
        self.tokens.insert(
            token.clone(),
            TokenRec {
                sub: sub.to_owned(),
                client_id: client_id.to_owned(),
                scopes: scopes.to_vec(),
                created_at: now,
                authorized_at: at,
                expires_at: now + REFRESH_TTL,
                revoked: false,
                refresh: true,
            },
        );
        token
    }

    fn role_in(&self, sub: &str, org: &str) -> Option<&str> {
        self.acls
            .iter()
            .find(|a| {
                a.sub == sub
                    && a.org == org
                    && a.state == "APPROVED"
                    && POSTING_ROLES.contains(&a.role.as_str())
            })
            .map(|a| a.role.as_str())
    }

    fn is_admin(&self, sub: &str, org: &str) -> bool {
        self.acls.iter().any(|a| {
            a.sub == sub && a.org == org && a.state == "APPROVED" && a.role == "ADMINISTRATOR"
        })
    }

    /// May `tok` write (post, upload, delete) as `author`?
    fn may_write_as(&self, tok: &TokenRec, author: &str) -> bool {
        if author == person_urn(&tok.sub) {
            return has(tok, "w_member_social");
        }
        match org_id_of(author) {
            Some(org) => has(tok, "w_organization_social") && self.role_in(&tok.sub, org).is_some(),
            None => false,
        }
    }

    /// May `tok` read `author`'s posts?
    fn may_read_as(&self, tok: &TokenRec, author: &str) -> bool {
        if author == person_urn(&tok.sub) {
            return has(tok, "r_member_social");
        }
        match org_id_of(author) {
            Some(org) => has(tok, "r_organization_social") && self.role_in(&tok.sub, org).is_some(),
            None => false,
        }
    }

    /// May `tok` see an asset owned by `owner`?
    fn may_see_asset(&self, tok: &TokenRec, owner: &str) -> bool {
        if owner == person_urn(&tok.sub) {
            return true;
        }
        org_id_of(owner).is_some_and(|org| self.role_in(&tok.sub, org).is_some())
    }

    fn post(&self, urn: &str) -> Option<&PostRec> {
        self.posts.iter().find(|p| p.urn == urn)
    }

    fn video_view(&self, urn: &str, v: &VideoRec) -> LiVideo {
        LiVideo {
            urn: urn.to_owned(),
            owner: v.owner.clone(),
            file_size: v.file_size,
            parts: v.parts.len(),
            uploaded_parts: v.parts.iter().filter(|p| p.etag.is_some()).count(),
            uploaded_bytes: v.uploaded_bytes,
            checksum: v.running,
            status: v.status.as_str().to_owned(),
            finalized: matches!(
                v.status,
                VStatus::Processing | VStatus::Available | VStatus::Failed
            ),
            captions_uploaded: v.captions,
            thumbnail_uploaded: v.thumbnail,
        }
    }

    fn post_view(p: &PostRec) -> LiPost {
        LiPost {
            urn: p.urn.clone(),
            author: p.author.clone(),
            commentary: p.commentary.clone(),
            rendered: render_little_text(&p.commentary),
            visibility: p.visibility.clone(),
            lifecycle_state: p.lifecycle.clone(),
            content: p.content.clone(),
            created_at: p.created_ms,
            deleted: p.deleted,
        }
    }
}

fn has(tok: &TokenRec, scope: &str) -> bool {
    tok.scopes.iter().any(|s| s == scope)
}

// ---------------------------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Area {
    OAuth,
    V2,
    Rest,
    Upload,
}

fn area_of(path: &str) -> Option<Area> {
    if path.starts_with("/oauth/v2/") {
        Some(Area::OAuth)
    } else if path.starts_with("/v2/") {
        Some(Area::V2)
    } else if path.starts_with("/rest/") {
        Some(Area::Rest)
    } else if path.starts_with("/dms-uploads/") {
        Some(Area::Upload)
    } else {
        None
    }
}

struct Ctx<'a> {
    req: &'a Request,
    method: String,
    /// Raw (still percent-encoded) path segments after the host prefix.
    segs: Vec<String>,
    /// (decoded key, raw value).
    query: Vec<(String, String)>,
    /// The version as LinkedIn names it in permission labels and messages.
    version: String,
    committed: bool,
}

impl<'a> Ctx<'a> {
    fn new(req: &'a Request, area: Area) -> Ctx<'a> {
        let skip = match area {
            Area::OAuth => 2,
            Area::V2 | Area::Rest | Area::Upload => 1,
        };
        let segs = req
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .skip(skip)
            .map(str::to_owned)
            .collect();
        let query = req
            .url
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (pct_decode(&k.replace('+', " ")), v.to_owned())
            })
            .collect();
        Ctx {
            req,
            method: req.method.as_str().to_ascii_uppercase(),
            segs,
            query,
            version: "NO_VERSION".to_owned(),
            committed: false,
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.req
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
    }

    fn q_raw(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A plain (form-decoded) query parameter, when present and non-empty.
    fn q(&self, key: &str) -> Option<String> {
        self.q_raw(key)
            .map(|v| pct_decode(&v.replace('+', " ")))
            .filter(|v| !v.is_empty())
    }

    /// A Rest.li-structured query parameter.
    fn q_restli(&self, key: &str) -> Result<Option<Rv>, Fail> {
        match self.q_raw(key) {
            None | Some("") => Ok(None),
            Some(raw) => parse_restli(raw).map(Some).map_err(|e| {
                illegal(format!(
                    "Invalid value for query parameter {key}: {e} (Rest.li 2.0 encodes values, not the List()/(k:v) structure)"
                ))
            }),
        }
    }

    fn count_param(&self, default: usize, max: usize) -> Result<(usize, usize), Fail> {
        let parse = |k: &str, d: usize| -> Result<usize, Fail> {
            match self.q(k) {
                None => Ok(d),
                Some(v) => v
                    .parse::<usize>()
                    .map_err(|_| illegal(format!("Invalid value for query parameter {k}: {v}"))),
            }
        };
        let start = parse("start", 0)?;
        let count = parse("count", default)?.min(max);
        Ok((start, count))
    }

    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    fn json_body(&self) -> Result<Value, Fail> {
        if self.req.body.is_empty() {
            return Err(illegal("Request body is empty"));
        }
        serde_json::from_slice(&self.req.body)
            .map_err(|e| illegal(format!("Could not parse the request body as JSON: {e}")))
    }

    fn label(&self, resource: &str, method: &str) -> String {
        format!("{resource}.{method}.{}", self.version)
    }

    /// A path key: percent-decoded, or a `400` when it holds a raw `:`.
    fn key(&self, raw: &str, strict: bool) -> Result<String, Fail> {
        if strict && raw.contains(':') {
            return Err(illegal(format!(
                "Syntax exception in path variables: the key {raw} must be URL-encoded (Rest.li 2.0)"
            )));
        }
        Ok(pct_decode(raw))
    }
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

/// Routes LinkedIn requests against the shared state, through
/// [`FakeServer::mount_stateful`] (which applies after-commit faults).
struct Router {
    state: Arc<Mutex<State>>,
    unmatched: UnmatchedLog,
}

impl Router {
    fn handle(&self, req: &Request) -> Handled {
        let Some(area) = area_of(req.url.path()) else {
            return Handled::NotMine;
        };
        let mut ctx = Ctx::new(req, area);
        let mut st = self.state.lock().unwrap();
        let line = match req.url.query() {
            Some(q) => format!("{} {}?{q}", ctx.method, req.url.path()),
            None => format!("{} {}", ctx.method, req.url.path()),
        };
        st.requests.push(line);
        if ctx.q_raw("oauth2_access_token").is_some() || ctx.q_raw("access_token").is_some() {
            st.tokens_in_query += 1;
        }
        let result = match area {
            Area::OAuth => st.oauth(&mut ctx),
            Area::V2 => st.v2(&mut ctx),
            Area::Rest => st.rest(&mut ctx),
            Area::Upload => st.upload(&mut ctx),
        };
        let reply = match result {
            Ok(r) | Err(Fail::Reply(r)) => r,
            Err(Fail::Unmatched) => {
                drop(st);
                return Handled::Answer {
                    response: self.unmatched.record(req),
                    committed: false,
                };
            }
        };
        let uuid = format!("{:016x}{:08x}", st.salt("uuid"), st.seq);
        drop(st);
        let mut t = ResponseTemplate::new(reply.status);
        if let Some(body) = &reply.body {
            t = t.set_body_raw(body.to_string().into_bytes(), "application/json");
        }
        t = t.insert_header("x-li-uuid", uuid.as_str());
        if matches!(area, Area::Rest | Area::V2) {
            t = t.insert_header("x-restli-protocol-version", "2.0.0");
        }
        for (k, v) in &reply.headers {
            t = t.insert_header(k.as_str(), v.as_str());
        }
        Handled::Answer {
            response: t,
            committed: ctx.committed,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// OAuth (www.linkedin.com/oauth/v2)
// ---------------------------------------------------------------------------------------------

impl State {
    fn oauth(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let segs: Vec<&str> = ctx.segs.iter().map(String::as_str).collect();
        match (ctx.method.as_str(), segs.as_slice()) {
            ("POST", ["accessToken"]) => self.access_token(ctx),
            ("POST", ["introspectToken"]) => self.introspect(ctx),
            _ => Err(Fail::Unmatched),
        }
    }

    fn check_client(&self, client_id: &str, secret: &str) -> Result<(), Fail> {
        match self.apps.get(client_id) {
            Some(s) if s == secret => Ok(()),
            _ => Err(oauth_err(
                401,
                "invalid_client",
                "Client authentication failed",
            )),
        }
    }

    fn access_token(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let form = ctx.form();
        let p = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let missing = |k: &str| {
            oauth_err(
                400,
                "invalid_request",
                &format!("A required parameter \"{k}\" is missing"),
            )
        };
        let grant = p("grant_type").ok_or_else(|| missing("grant_type"))?;
        match grant.as_str() {
            "authorization_code" => {
                let code = p("code").ok_or_else(|| missing("code"))?;
                let redirect = p("redirect_uri").ok_or_else(|| missing("redirect_uri"))?;
                let client_id = p("client_id").ok_or_else(|| missing("client_id"))?;
                let secret = p("client_secret").ok_or_else(|| missing("client_secret"))?;
                self.check_client(&client_id, &secret)?;
                let now = self.now();
                let Some(rec) = self.codes.get(&code).cloned() else {
                    return Err(oauth_err(
                        401,
                        "invalid_request",
                        "Unable to retrieve access token: authorization code not found",
                    ));
                };
                if rec.used {
                    return Err(oauth_err(400, "invalid_request", MSG_BAD_GRANT));
                }
                if rec.client_id != client_id
                    || rec.redirect_uri != redirect
                    || now - rec.issued_at > CODE_TTL
                {
                    return Err(oauth_err(400, "invalid_redirect_uri", MSG_BAD_REDIRECT));
                }
                if let Some(c) = self.codes.get_mut(&code) {
                    c.used = true;
                }
                // "If you request a different scope than the previously granted
                // scope, all the previous access tokens are invalidated."
                let mut granted = self.member(&rec.sub).scopes.clone();
                let mut wanted = rec.scopes.clone();
                granted.sort();
                wanted.sort();
                if !granted.is_empty() && granted != wanted {
                    for t in self.tokens.values_mut() {
                        if t.sub == rec.sub && t.client_id == client_id && !t.refresh {
                            t.revoked = true;
                        }
                    }
                }
                self.member(&rec.sub).scopes = rec.scopes.clone();
                let (access, expires_in) =
                    self.issue_access(&rec.sub, &client_id, &rec.scopes, rec.issued_at, None);
                let mut body = json!({
                    "access_token": access,
                    "expires_in": expires_in,
                    "scope": rec.scopes.join(","),
                    "token_type": "Bearer",
                });
                if self.config.refresh_tokens {
                    let refresh =
                        self.issue_refresh(&rec.sub, &client_id, &rec.scopes, rec.issued_at);
                    body["refresh_token"] = json!(refresh);
                    body["refresh_token_expires_in"] = json!(REFRESH_TTL);
                }
                if rec.scopes.iter().any(|s| s == "openid") {
                    body["id_token"] = json!(self.id_token(&rec.sub, &client_id, &rec.scopes));
                }
                Ok(Reply::json(200, body))
            }
            "refresh_token" => {
                let refresh = p("refresh_token").ok_or_else(|| missing("refresh_token"))?;
                let client_id = p("client_id").ok_or_else(|| missing("client_id"))?;
                let secret = p("client_secret").ok_or_else(|| missing("client_secret"))?;
                self.check_client(&client_id, &secret)?;
                let now = self.now();
                let rec = match self.tokens.get(&refresh) {
                    Some(t)
                        if t.refresh
                            && !t.revoked
                            && t.expires_at > now
                            && t.client_id == client_id
                            && self.config.refresh_tokens =>
                    {
                        t.clone()
                    }
                    _ => return Err(oauth_err(400, "invalid_request", MSG_BAD_GRANT)),
                };
                let (access, expires_in) = self.issue_access(
                    &rec.sub,
                    &client_id,
                    &rec.scopes,
                    rec.authorized_at,
                    Some(rec.expires_at),
                );
                Ok(Reply::json(
                    200,
                    json!({
                        "access_token": access,
                        "expires_in": expires_in,
                        "refresh_token": refresh,
                        "refresh_token_expires_in": rec.expires_at - now,
                        "scope": rec.scopes.join(","),
                        "token_type": "Bearer",
                    }),
                ))
            }
            "client_credentials" => Err(oauth_err(
                400,
                "access_denied",
                "This application is not allowed to create application tokens",
            )),
            other => Err(oauth_err(
                400,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {other}"),
            )),
        }
    }

    /// An OpenID Connect `id_token` shaped like LinkedIn's (RS256 header), but
    /// with a fake signature: it is not verifiable against any JWKS.
    fn id_token(&self, sub: &str, client_id: &str, scopes: &[String]) -> String {
        let now = self.now();
        let m = self.members.get(sub);
        let mut claims = json!({
            "iss": "https://www.linkedin.com/oauth",
            "aud": client_id,
            "iat": now,
            "exp": now + 3600,
            "sub": sub,
        });
        if let Some(m) = m {
            if scopes.iter().any(|s| s == "profile") {
                claims["name"] = json!(m.name);
            }
            if scopes.iter().any(|s| s == "email") {
                claims["email"] = json!(m.email);
                claims["email_verified"] = json!(true);
            }
        }
        let header = json!({"typ": "JWT", "kid": "postd-testkit", "alg": "RS256"});
        format!(
            "{}.{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes()),
            base64url(b"postd-testkit-fake-signature")
        )
    }

    fn introspect(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let form = ctx.form();
        let p = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
        let (Some(client_id), Some(token)) = (p("client_id"), p("token")) else {
            return Err(oauth_err(
                400,
                "invalid_request",
                "A required parameter \"client_id\" or \"token\" is missing",
            ));
        };
        let Some(secret) = self.apps.get(&client_id).cloned() else {
            return Err(oauth_err(400, "invalid_request", "Invalid client id"));
        };
        if p("client_secret").as_deref() != Some(secret.as_str()) {
            return Err(oauth_err(
                401,
                "invalid_client",
                "Client authentication failed",
            ));
        }
        let Some(t) = self.tokens.get(&token).cloned() else {
            return Err(oauth_err(400, "invalid_request", "Invalid token"));
        };
        if t.client_id != client_id {
            return Ok(Reply::json(200, json!({"active": false})));
        }
        let status = if t.revoked {
            "revoked"
        } else if t.expires_at <= self.now() {
            "expired"
        } else {
            "active"
        };
        Ok(Reply::json(
            200,
            json!({
                "active": status == "active",
                "client_id": t.client_id,
                "authorized_at": t.authorized_at,
                "created_at": t.created_at,
                "status": status,
                "expires_at": t.expires_at,
                "scope": t.scopes.join(","),
                "auth_type": "3L",
            }),
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication, throttling and the unversioned /v2 API
// ---------------------------------------------------------------------------------------------

impl State {
    fn authenticate(&self, ctx: &Ctx<'_>) -> Result<TokenRec, Fail> {
        let empty = || {
            fail(
                401,
                json!({"message": "Empty oauth2_access_token", "serviceErrorCode": 401, "status": 401}),
            )
        };
        let token = match ctx.header("authorization") {
            Some(h) => {
                let (scheme, rest) = h.split_once(' ').unwrap_or((h.as_str(), ""));
                if !scheme.eq_ignore_ascii_case("bearer") {
                    return Err(fail(
                        401,
                        json!({"message": "Unknown authentication scheme", "serviceErrorCode": 401, "status": 401}),
                    ));
                }
                let t = rest.trim();
                if t.is_empty() {
                    return Err(empty());
                }
                t.to_owned()
            }
            None => ctx.q("oauth2_access_token").ok_or_else(empty)?,
        };
        let invalid = || {
            fail(
                401,
                api_error(401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token"),
            )
        };
        let rec = match self.tokens.get(&token) {
            Some(t) if !t.refresh => t,
            _ => return Err(invalid()),
        };
        if rec.revoked {
            return Err(fail(
                401,
                api_error(
                    401,
                    65601,
                    "REVOKED_ACCESS_TOKEN",
                    "The token used in the request has been revoked by the user",
                ),
            ));
        }
        if rec.expires_at <= self.now() {
            return Err(fail(
                401,
                api_error(
                    401,
                    65602,
                    "EXPIRED_ACCESS_TOKEN",
                    "The token used in the request has expired",
                ),
            ));
        }
        Ok(rec.clone())
    }

    fn throttle(&mut self, tok: &TokenRec, resource: &str) -> Result<(), Fail> {
        let day = self.now().div_euclid(86_400);
        if day != self.usage_day {
            self.usage.clear();
            self.usage_day = day;
        }
        let mk = format!("m|{}|{}|{resource}", tok.client_id, tok.sub);
        let ak = format!("a|{}|{resource}", tok.client_id);
        let m = self.usage.get(&mk).copied().unwrap_or(0);
        let a = self.usage.get(&ak).copied().unwrap_or(0);
        if m >= self.member_limit || a >= self.app_limit {
            return Err(throttled());
        }
        self.usage.insert(mk, m + 1);
        self.usage.insert(ak, a + 1);
        Ok(())
    }

    fn v2(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let segs: Vec<String> = ctx.segs.clone();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let resource = match (ctx.method.as_str(), segs.as_slice()) {
            ("GET", ["userinfo"]) => "userinfo",
            ("GET", ["me"]) => "me",
            _ => return Err(Fail::Unmatched),
        };
        let tok = self.authenticate(ctx)?;
        self.throttle(&tok, resource)?;
        let m = self.members.get(&tok.sub).cloned().unwrap_or(MemberRec {
            name: tok.sub.clone(),
            email: format!("{}@members.example", tok.sub),
            scopes: Vec::new(),
        });
        let (given, family) = m.name.split_once(' ').unwrap_or((m.name.as_str(), ""));
        match resource {
            "userinfo" => {
                if !has(&tok, "openid") {
                    return Err(denied("userinfo.GET.NO_VERSION"));
                }
                let mut body = json!({"sub": tok.sub});
                if has(&tok, "profile") {
                    body["name"] = json!(m.name);
                    body["given_name"] = json!(given);
                    body["family_name"] = json!(family);
                    body["picture"] = json!(format!(
                        "https://media.licdn.com/dms/image/fake/{}/profile-displayphoto-shrink_100_100/0/",
                        tok.sub
                    ));
                    body["locale"] = json!("en-US");
                }
                if has(&tok, "email") {
                    body["email"] = json!(m.email);
                    body["email_verified"] = json!(true);
                }
                Ok(Reply::json(200, body))
            }
            _ => {
                if !(has(&tok, "r_liteprofile") || has(&tok, "r_basicprofile")) {
                    return Err(denied("me.GET.NO_VERSION"));
                }
                Ok(Reply::json(
                    200,
                    json!({
                        "id": tok.sub,
                        "localizedFirstName": given,
                        "localizedLastName": family,
                    }),
                ))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The versioned /rest API
// ---------------------------------------------------------------------------------------------

impl State {
    fn rest(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        let version = ctx.header("linkedin-version").filter(|v| !v.is_empty());
        let protocol = ctx
            .header("x-restli-protocol-version")
            .filter(|v| !v.is_empty());
        if version.is_none() || protocol.is_none() {
            self.missing_version += 1;
        }
        let Some(version) = version else {
            return Err(coded(
                400,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
            ));
        };
        let (month, shown) = parse_version(&version);
        if !month.is_some_and(|m| self.config.active_versions.contains(&m)) {
            return Err(coded(
                426,
                "NONEXISTENT_VERSION",
                format!("Requested version {shown} is not active"),
            ));
        }
        ctx.version = shown;
        if protocol.as_deref() != Some("2.0.0") {
            return Err(illegal(
                "This API requires Rest.li protocol 2.0: send the header X-Restli-Protocol-Version: 2.0.0",
            ));
        }
        let tok = self.authenticate(ctx)?;
        let segs = ctx.segs.clone();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let resource = segs.first().copied().unwrap_or("");
        let known = matches!(
            resource,
            "posts"
                | "images"
                | "videos"
                | "organizationAcls"
                | "organizations"
                | "organizationalEntityShareStatistics"
                | "memberCreatorPostAnalytics"
                | "socialMetadata"
        );
        if !known {
            return Err(Fail::Unmatched);
        }
        self.throttle(&tok, resource)?;
        let strict = self.config.strict_path_encoding;
        let action = ctx.q("action");
        match (ctx.method.as_str(), segs.as_slice()) {
            ("POST", ["posts"]) => self.create_post(ctx, &tok),
            ("GET", ["posts"]) => self.find_posts(ctx, &tok),
            ("GET", ["posts", key]) => {
                let urn = ctx.key(key, strict)?;
                self.get_post(ctx, &tok, &urn)
            }
            ("DELETE", ["posts", key]) => {
                let urn = ctx.key(key, strict)?;
                self.delete_post(ctx, &tok, &urn)
            }
            ("POST", ["posts", key])
                if ctx
                    .header("x-restli-method")
                    .is_some_and(|m| m.eq_ignore_ascii_case("PARTIAL_UPDATE")) =>
            {
                let urn = ctx.key(key, strict)?;
                self.update_post(ctx, &tok, &urn)
            }
            ("POST", ["images"]) if action.as_deref() == Some("initializeUpload") => {
                self.init_image(ctx, &tok)
            }
            ("GET", ["images"]) => self.batch_assets(ctx, &tok, "images"),
            ("GET", ["images", key]) => {
                let urn = ctx.key(key, strict)?;
                self.get_image(&tok, &urn).map(|v| Reply::json(200, v))
            }
            ("POST", ["videos"]) if action.as_deref() == Some("initializeUpload") => {
                self.init_video(ctx, &tok)
            }
            ("POST", ["videos"]) if action.as_deref() == Some("finalizeUpload") => {
                self.finalize_video(ctx, &tok)
            }
            ("GET", ["videos"]) => self.batch_assets(ctx, &tok, "videos"),
            ("GET", ["videos", key]) => {
                let urn = ctx.key(key, strict)?;
                self.get_video(&tok, &urn).map(|v| Reply::json(200, v))
            }
            ("GET", ["organizationAcls"]) => self.org_acls(ctx, &tok),
            ("GET", ["organizations"]) => self.organizations(ctx),
            ("GET", ["organizations", id]) => {
                let id = ctx.key(id, strict)?;
                match self.org_json(&id) {
                    Some(v) => Ok(Reply::json(200, v)),
                    None => Err(not_found(&format!("organization {id}"))),
                }
            }
            ("GET", ["organizationalEntityShareStatistics"]) => self.share_statistics(ctx, &tok),
            ("GET", ["memberCreatorPostAnalytics"]) => self.member_analytics(ctx, &tok),
            ("GET", ["socialMetadata", key]) => {
                let urn = ctx.key(key, strict)?;
                self.social_metadata(ctx, &tok, &urn)
            }
            _ => Err(Fail::Unmatched),
        }
    }

    // ---- posts ------------------------------------------------------------------------------

    fn create_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "CREATE");
        let body = ctx.json_body()?;
        let Some(obj) = body.as_object() else {
            return Err(restli_422("", "expected a record"));
        };
        let string = |k: &str| -> Result<Option<String>, Fail> {
            match obj.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(restli_422(
                    &format!("/{k}"),
                    &format!("{other} is not a string"),
                )),
            }
        };
        let author = string("author")?.ok_or_else(|| required("/author"))?;
        if !self.may_write_as(tok, &author) {
            return Err(denied(&label));
        }
        let commentary = string("commentary")?.unwrap_or_default();
        let visibility = string("visibility")?.ok_or_else(|| required("/visibility"))?;
        let lifecycle = string("lifecycleState")?.ok_or_else(|| required("/lifecycleState"))?;
        let distribution = obj
            .get("distribution")
            .cloned()
            .ok_or_else(|| required("/distribution"))?;
        if !["PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"].contains(&visibility.as_str()) {
            return Err(restli_422(
                "/visibility",
                &format!("\"{visibility}\" is not an enum symbol"),
            ));
        }
        if visibility == "CONNECTIONS" && org_id_of(&author).is_some() {
            return Err(restli_422(
                "/visibility",
                "CONNECTIONS visibility is only available for member authors",
            ));
        }
        match lifecycle.as_str() {
            "PUBLISHED" | "DRAFT" => {}
            "PUBLISH_REQUESTED" | "PUBLISH_FAILED" => {
                return Err(restli_422(
                    "/lifecycleState",
                    &format!("{lifecycle} is not allowed when creating a post"),
                ));
            }
            _ => {
                return Err(restli_422(
                    "/lifecycleState",
                    &format!("\"{lifecycle}\" is not an enum symbol"),
                ));
            }
        }
        match distribution.get("feedDistribution") {
            Some(Value::String(f)) if f == "MAIN_FEED" || f == "NONE" => {}
            Some(Value::String(f)) => {
                return Err(restli_422(
                    "/distribution/feedDistribution",
                    &format!("\"{f}\" is not an enum symbol"),
                ));
            }
            _ => return Err(required("/distribution/feedDistribution")),
        }
        let content = obj.get("content").cloned().unwrap_or(Value::Null);
        if !content.is_null() {
            self.check_content(&author, &content)?;
        }
        let reshare_context = obj.get("reshareContext").cloned().unwrap_or(Value::Null);
        if let Some(parent) = reshare_context.get("parent") {
            let parent = parent.as_str().unwrap_or("");
            if self.post(parent).is_none_or(|p| p.deleted) {
                return Err(restli_422(
                    "/reshareContext/parent",
                    &format!("{parent} does not exist"),
                ));
            }
        }
        let now_ms = self.now_ms();
        if !commentary.trim().is_empty() && self.duplicate_window > 0 {
            let window_ms = self.duplicate_window * 1000;
            if let Some(orig) = self.posts.iter().rev().find(|p| {
                p.author == author
                    && p.commentary == commentary
                    && now_ms - p.created_ms < window_ms
            }) {
                return Err(fail(422, duplicate_post_error(&orig.urn)));
            }
        }
        self.post_seq += 1;
        let urn = format!("urn:li:share:{}", self.post_seq);
        self.posts.push(PostRec {
            urn: urn.clone(),
            author,
            commentary,
            visibility,
            published_ms: (lifecycle == "PUBLISHED").then_some(now_ms),
            lifecycle,
            distribution,
            content,
            reshare_context,
            reshare_disabled: obj
                .get("isReshareDisabledByAuthor")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            created_ms: now_ms,
            modified_ms: now_ms,
            edited: false,
            deleted: false,
        });
        self.post_creates += 1;
        ctx.committed = true;
        Ok(Reply::empty(201)
            .header("x-restli-id", &urn)
            .header("location", &format!("/rest/posts/{}", encode_key(&urn))))
    }

    fn check_content(&self, author: &str, content: &Value) -> Result<(), Fail> {
        let Some(obj) = content.as_object() else {
            return Err(restli_422("/content", "expected a record"));
        };
        if obj.len() != 1 {
            return Err(restli_422(
                "/content",
                "a union must have exactly one member",
            ));
        }
        let (kind, v) = obj.iter().next().expect("one member");
        match kind.as_str() {
            "media" => {
                let id = v
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| required("/content/media/id"))?;
                if id.starts_with("urn:li:document:") {
                    if v.get("title")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        return Err(required("/content/media/title"));
                    }
                    return Err(restli_422(
                        "/content/media/id",
                        &format!(
                            "{id} does not exist (postd-testkit does not model the Documents API)"
                        ),
                    ));
                }
                self.check_asset(author, id, "/content/media/id")
            }
            "multiImage" => {
                let images = v
                    .get("images")
                    .and_then(Value::as_array)
                    .ok_or_else(|| required("/content/multiImage/images"))?;
                if !(2..=20).contains(&images.len()) {
                    return Err(restli_422(
                        "/content/multiImage/images",
                        &format!(
                            "a MultiImage post needs between 2 and 20 images, found {}",
                            images.len()
                        ),
                    ));
                }
                for (i, img) in images.iter().enumerate() {
                    let field = format!("/content/multiImage/images/{i}/id");
                    let id = img
                        .get("id")
                        .and_then(Value::as_str)
                        .ok_or_else(|| required(&field))?;
                    if !id.starts_with("urn:li:image:") {
                        return Err(restli_422(&field, &format!("{id} is not an image URN")));
                    }
                    self.check_asset(author, id, &field)?;
                }
                Ok(())
            }
            "article" => {
                let source = v
                    .get("source")
                    .and_then(Value::as_str)
                    .ok_or_else(|| required("/content/article/source"))?;
                if Url::parse(source).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
                    return Err(restli_422(
                        "/content/article/source",
                        &format!("\"{source}\" is not a valid URL"),
                    ));
                }
                if let Some(thumb) = v.get("thumbnail") {
                    let thumb = thumb.as_str().unwrap_or("");
                    if !thumb.starts_with("urn:li:image:") {
                        return Err(restli_422(
                            "/content/article/thumbnail",
                            &format!("{thumb} is not an image URN"),
                        ));
                    }
                    self.check_asset(author, thumb, "/content/article/thumbnail")?;
                }
                Ok(())
            }
            "poll" | "celebration" | "reference" => Ok(()),
            other => Err(restli_422(
                &format!("/content/{other}"),
                "unrecognized field found but not allowed",
            )),
        }
    }

    fn check_asset(&self, author: &str, id: &str, field: &str) -> Result<(), Fail> {
        let ownership = || {
            input_error(
                400,
                "INVALID_CONTENT_OWNERSHIP",
                "Content(s) you provided must be owned by post author",
                field,
            )
        };
        let not_ready = |status: &str| {
            input_error(
                400,
                "MEDIA_ASSET_NOT_READY",
                &format!("Media asset {id} is not ready for use: its status is {status}"),
                field,
            )
        };
        if id.starts_with("urn:li:image:") {
            let img = self
                .images
                .get(id)
                .ok_or_else(|| restli_422(field, &format!("{id} does not exist")))?;
            if img.owner != author {
                return Err(ownership());
            }
            if !img.uploaded {
                return Err(not_ready("WAITING_UPLOAD"));
            }
            Ok(())
        } else if id.starts_with("urn:li:video:") {
            let v = self
                .videos
                .get(id)
                .ok_or_else(|| restli_422(field, &format!("{id} does not exist")))?;
            if v.owner != author {
                return Err(ownership());
            }
            if v.status != VStatus::Available {
                return Err(not_ready(v.status.as_str()));
            }
            Ok(())
        } else {
            Err(restli_422(
                field,
                &format!("{id} is not a supported media URN"),
            ))
        }
    }

    fn post_json(&self, p: &PostRec) -> Value {
        let stored: String = p.commentary.chars().take(MAX_COMMENTARY_CHARS).collect();
        let mut v = json!({
            "id": p.urn,
            "author": p.author,
            "commentary": stored,
            "visibility": p.visibility,
            "distribution": p.distribution,
            "lifecycleState": p.lifecycle,
            "lifecycleStateInfo": {"isEditedByAuthor": p.edited},
            "isReshareDisabledByAuthor": p.reshare_disabled,
            "createdAt": p.created_ms,
            "lastModifiedAt": p.modified_ms,
        });
        if let Some(at) = p.published_ms {
            v["publishedAt"] = json!(at);
        }
        if !p.content.is_null() {
            v["content"] = p.content.clone();
        }
        if !p.reshare_context.is_null() {
            v["reshareContext"] = p.reshare_context.clone();
        }
        v
    }

    fn get_post(&mut self, ctx: &Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "GET");
        let p = self
            .post(urn)
            .filter(|p| !p.deleted)
            .ok_or_else(|| not_found(urn))?;
        if !self.may_read_as(tok, &p.author) {
            return Err(denied(&label));
        }
        Ok(Reply::json(200, self.post_json(p)))
    }

    fn find_posts(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        if let Some(ids) = ctx.q_restli("ids")? {
            let label = ctx.label("partnerApiPostsExternal", "BATCH_GET");
            let Rv::L(items) = ids else {
                return Err(illegal("ids must be a List(...)"));
            };
            let mut results = Map::new();
            let mut statuses = Map::new();
            let mut errors = Map::new();
            for item in items {
                let urn = item.str().unwrap_or("").to_owned();
                match self.post(&urn).filter(|p| !p.deleted) {
                    Some(p) if self.may_read_as(tok, &p.author) => {
                        results.insert(urn.clone(), self.post_json(p));
                        statuses.insert(urn, json!(200));
                    }
                    Some(_) => return Err(denied(&label)),
                    None => {
                        statuses.insert(urn.clone(), json!(404));
                        errors.insert(
                            urn.clone(),
                            json!({"status": 404, "message": format!("Not Found: {urn}")}),
                        );
                    }
                }
            }
            return Ok(Reply::json(
                200,
                json!({"results": results, "statuses": statuses, "errors": errors}),
            ));
        }
        match ctx.q("q").as_deref() {
            Some("author") => {}
            _ => return Err(Fail::Unmatched),
        }
        let label = ctx.label("partnerApiPostsExternal", "FINDER-author");
        let author = ctx
            .q("author")
            .ok_or_else(|| illegal("Missing required query parameter author"))?;
        if !self.may_read_as(tok, &author) {
            return Err(denied(&label));
        }
        let (start, count) = ctx.count_param(10, 100)?;
        let by_created = match ctx.q("sortBy").as_deref() {
            None | Some("LAST_MODIFIED") => false,
            Some("CREATED") => true,
            Some(other) => return Err(illegal(format!("Invalid value for sortBy: {other}"))),
        };
        let mut mine: Vec<&PostRec> = self
            .posts
            .iter()
            .filter(|p| p.author == author && !p.deleted)
            .collect();
        mine.sort_by_key(|p| {
            std::cmp::Reverse(if by_created {
                (p.created_ms, p.urn.clone())
            } else {
                (p.modified_ms, p.urn.clone())
            })
        });
        let total = mine.len();
        let elements: Vec<Value> = mine
            .into_iter()
            .skip(start)
            .take(count)
            .map(|p| self.post_json(p))
            .collect();
        Ok(Reply::json(
            200,
            json!({
                "paging": {"start": start, "count": count, "links": [], "total": total},
                "elements": elements,
            }),
        ))
    }

    fn delete_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "DELETE");
        let p = self.post(urn).ok_or_else(|| not_found(urn))?;
        if !self.may_write_as(tok, &p.author) {
            return Err(denied(&label));
        }
        let now = self.now_ms();
        if let Some(p) = self.posts.iter_mut().find(|p| p.urn == urn)
            && !p.deleted
        {
            p.deleted = true;
            p.modified_ms = now;
            ctx.committed = true;
        }
        Ok(Reply::empty(204))
    }

    fn update_post(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
        let label = ctx.label("partnerApiPostsExternal", "PARTIAL_UPDATE");
        let p = self
            .post(urn)
            .filter(|p| !p.deleted)
            .ok_or_else(|| not_found(urn))?;
        if !self.may_write_as(tok, &p.author) {
            return Err(denied(&label));
        }
        let body = ctx.json_body()?;
        let set = body
            .pointer("/patch/$set")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| required("/patch/$set"))?;
        for k in set.keys() {
            if ![
                "commentary",
                "lifecycleState",
                "contentCallToActionLabel",
                "contentLandingPage",
            ]
            .contains(&k.as_str())
            {
                return Err(restli_422(
                    &format!("/patch/$set/{k}"),
                    "field cannot be updated",
                ));
            }
        }
        let now = self.now_ms();
        let p = self
            .posts
            .iter_mut()
            .find(|p| p.urn == urn)
            .expect("checked above");
        if let Some(c) = set.get("commentary").and_then(Value::as_str) {
            p.commentary = c.to_owned();
            p.edited = true;
        }
        if let Some(l) = set.get("lifecycleState").and_then(Value::as_str) {
            if l == "PUBLISHED" && p.published_ms.is_none() {
                p.published_ms = Some(now);
            }
            p.lifecycle = l.to_owned();
        }
        p.modified_ms = now;
        ctx.committed = true;
        Ok(Reply::empty(204))
    }

    // ---- images and videos ------------------------------------------------------------------

    fn owner_of_init(
        &self,
        ctx: &Ctx<'_>,
        tok: &TokenRec,
        resource: &str,
    ) -> Result<(String, Value), Fail> {
        let label = ctx.label(resource, "ACTION-initializeUpload");
        let body = ctx.json_body()?;
        let req = body
            .get("initializeUploadRequest")
            .cloned()
            .ok_or_else(|| required("/initializeUploadRequest"))?;
        let owner = req
            .get("owner")
            .and_then(Value::as_str)
            .ok_or_else(|| required("/initializeUploadRequest/owner"))?
            .to_owned();
        if !self.may_write_as(tok, &owner) {
            return Err(denied(&label));
        }
        Ok((owner, req))
    }

    fn init_image(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let (owner, _) = self.owner_of_init(ctx, tok, "images")?;
        let id = format!("C4E10AQ{:012X}", self.salt("image") & 0xFFFF_FFFF_FFFF);
        let urn = format!("urn:li:image:{id}");
        self.images.insert(
            urn.clone(),
            ImageRec {
                owner,
                uploaded_bytes: 0,
                checksum: upload_checksum(&[]),
                uploaded: false,
            },
        );
        self.image_order.push(urn.clone());
        ctx.committed = true;
        Ok(Reply::json(
            200,
            json!({"value": {
                "uploadUrlExpiresAt": self.now_ms() + UPLOAD_URL_TTL_MS,
                "uploadUrl": format!("{}/dms-uploads/image/{id}?ca=vector_feedshare&cn=uploads&sync=0&v=beta", self.base_uri),
                "image": urn,
            }}),
        ))
    }

    fn image_json(&self, urn: &str, img: &ImageRec) -> Value {
        let mut v = json!({
            "id": urn,
            "owner": img.owner,
            "status": if img.uploaded { "AVAILABLE" } else { "WAITING_UPLOAD" },
        });
        if img.uploaded {
            v["downloadUrl"] = json!(format!(
                "{}/dms-downloads/{}",
                self.base_uri,
                encode_key(urn)
            ));
            v["downloadUrlExpiresAt"] = json!(self.now_ms() + UPLOAD_URL_TTL_MS);
        }
        v
    }

    fn get_image(&self, tok: &TokenRec, urn: &str) -> Result<Value, Fail> {
        let img = self.images.get(urn).ok_or_else(|| not_found(urn))?;
        if !self.may_see_asset(tok, &img.owner) {
            return Err(not_found(urn));
        }
        Ok(self.image_json(urn, img))
    }

    fn init_video(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let (owner, req) = self.owner_of_init(ctx, tok, "videos")?;
        let size = req
            .get("fileSizeBytes")
            .ok_or_else(|| required("/initializeUploadRequest/fileSizeBytes"))?
            .as_u64()
            .ok_or_else(|| {
                restli_422(
                    "/initializeUploadRequest/fileSizeBytes",
                    "expected a non-negative long",
                )
            })?;
        if !self.config.video_size_limits.contains(&size) {
            return Err(illegal(format!(
                "fileSizeBytes {size} is outside the allowed range {}..={} bytes",
                self.config.video_size_limits.start(),
                self.config.video_size_limits.end()
            )));
        }
        let flag = |k: &str| req.get(k).and_then(Value::as_bool).unwrap_or(false);
        let (captions, thumbnail) = (flag("uploadCaptions"), flag("uploadThumbnail"));
        let id = format!("C5505AQ{:012X}", self.salt("video") & 0xFFFF_FFFF_FFFF);
        let urn = format!("urn:li:video:{id}");
        let part = self.config.video_part_size.max(1);
        let n = size.div_ceil(part);
        let parts: Vec<PartRec> = (0..n)
            .map(|i| PartRec {
                first: i * part,
                last: ((i + 1) * part).min(size) - 1,
                etag: None,
                sum: 0,
            })
            .collect();
        let upload_token = if parts.len() > 1 {
            format!("fakeUploadToken{:016x}", self.salt("upload-token"))
        } else {
            String::new()
        };
        let instructions: Vec<Value> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({
                    "uploadUrl": format!("{}/dms-uploads/video/{id}/{i}?ca=vector_feedshare&cn=uploads_secure&sync=0&v=beta", self.base_uri),
                    "firstByte": p.first,
                    "lastByte": p.last,
                })
            })
            .collect();
        let mut value = json!({
            "uploadUrlsExpireAt": self.now_ms() + UPLOAD_URL_TTL_MS,
            "video": urn,
            "uploadInstructions": instructions,
            "uploadToken": upload_token,
        });
        if captions {
            value["captionsUploadUrl"] =
                json!(format!("{}/dms-uploads/video/{id}/captions", self.base_uri));
        }
        if thumbnail {
            value["thumbnailUploadUrl"] = json!(format!(
                "{}/dms-uploads/video/{id}/thumbnail",
                self.base_uri
            ));
        }
        self.videos.insert(
            urn.clone(),
            VideoRec {
                owner,
                file_size: size,
                parts,
                upload_token,
                running: FNV_OFFSET,
                uploaded_bytes: 0,
                status: VStatus::WaitingUpload,
                polls_left: 0,
                will_fail: false,
                captions: false,
                thumbnail: false,
            },
        );
        self.video_order.push(urn);
        ctx.committed = true;
        Ok(Reply::json(200, json!({ "value": value })))
    }

    fn finalize_video(&mut self, ctx: &mut Ctx<'_>, tok: &TokenRec) -> Answer {
        let label = ctx.label("videos", "ACTION-finalizeUpload");
        let body = ctx.json_body()?;
        let req = body
            .get("finalizeUploadRequest")
            .ok_or_else(|| required("/finalizeUploadRequest"))?;
        let urn = req
            .get("video")
            .and_then(Value::as_str)
            .ok_or_else(|| required("/finalizeUploadRequest/video"))?
            .to_owned();
        let token = req
            .get("uploadToken")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let ids: Vec<String> = req
            .get("uploadedPartIds")
            .and_then(Value::as_array)
            .ok_or_else(|| required("/finalizeUploadRequest/uploadedPartIds"))?
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_owned())
            .collect();
        let polls = self.config.video_polls;
        let fail_next = self.fail_next_video;
        let v = self.videos.get(&urn).ok_or_else(|| not_found(&urn))?;
        if !self.may_write_as(tok, &v.owner) {
            return Err(denied(&label));
        }
        if v.status != VStatus::WaitingUpload {
            return Err(illegal(format!(
                "Video {urn} has already been finalized (status {})",
                v.status.as_str()
            )));
        }
        if token != v.upload_token {
            return Err(illegal(format!("Invalid uploadToken for video {urn}")));
        }
        let missing: Vec<usize> = v
            .parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.etag.is_none())
            .map(|(i, _)| i)
            .collect();
        if !missing.is_empty() {
            return Err(illegal(format!(
                "Video {urn} is missing upload parts {missing:?}"
            )));
        }
        let expected: Vec<&str> = v.parts.iter().filter_map(|p| p.etag.as_deref()).collect();
        if ids.len() != expected.len() || ids.iter().zip(&expected).any(|(a, b)| a != b) {
            return Err(illegal(format!(
                "uploadedPartIds do not match the uploaded parts of {urn}: send every part's ETag, in part order"
            )));
        }
        let v = self.videos.get_mut(&urn).expect("checked above");
        v.status = VStatus::Processing;
        v.polls_left = polls;
        v.will_fail = fail_next;
        self.fail_next_video = false;
        ctx.committed = true;
        Ok(Reply::empty(200))
    }

    fn video_json(&self, urn: &str, v: &VideoRec) -> Value {
        let mut out = json!({
            "id": urn,
            "owner": v.owner,
            "status": v.status.as_str(),
        });
        if v.status == VStatus::Available {
            out["downloadUrl"] = json!(format!(
                "{}/dms-downloads/{}",
                self.base_uri,
                encode_key(urn)
            ));
            out["downloadUrlExpiresAt"] = json!(self.now_ms() + UPLOAD_URL_TTL_MS);
            out["duration"] = json!(0);
            out["aspectRatioWidth"] = json!(16.0);
            out["aspectRatioHeight"] = json!(9.0);
        }
        out
    }

    fn get_video(&mut self, tok: &TokenRec, urn: &str) -> Result<Value, Fail> {
        let v = self.videos.get(urn).ok_or_else(|| not_found(urn))?;
        if !self.may_see_asset(tok, &v.owner) {
            return Err(not_found(urn));
        }
        let v = self.videos.get_mut(urn).expect("checked above");
        if v.status == VStatus::Processing {
            if v.polls_left == 0 {
                v.status = if v.will_fail {
                    VStatus::Failed
                } else {
                    VStatus::Available
                };
            } else {
                v.polls_left -= 1;
            }
        }
        let v = self.videos.get(urn).expect("checked above");
        Ok(self.video_json(urn, v))
    }

    fn batch_assets(&mut self, ctx: &Ctx<'_>, tok: &TokenRec, kind: &str) -> Answer {
        let Some(Rv::L(items)) = ctx.q_restli("ids")? else {
            return Err(Fail::Unmatched);
        };
        let mut results = Map::new();
        let mut statuses = Map::new();
        let mut errors = Map::new();
        for item in items {
            let urn = item.str().unwrap_or("").to_owned();
            let got = if kind == "images" {
                self.get_image(tok, &urn)
            } else {
                self.get_video(tok, &urn)
            };
            match got {
                Ok(v) => {
                    results.insert(urn.clone(), v);
                    statuses.insert(urn, json!(200));
                }
                Err(_) => {
                    statuses.insert(urn.clone(), json!(404));
                    errors.insert(
                        urn.clone(),
                        json!({"status": 404, "message": format!("Not Found: {urn}")}),
                    );
                }
            }
        }
        Ok(Reply::json(
            200,
            json!({"results": results, "statuses": statuses, "errors": errors}),
        ))
    }

    // ---- organizations ----------------------------------------------------------------------

    fn org_acls(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        if ctx.q("q").as_deref() != Some("roleAssignee") {
            return Err(Fail::Unmatched);
        }
        if !(has(tok, "rw_organization_admin") || has(tok, "r_organization_admin")) {
            return Err(denied(
                &ctx.label("organizationAcls", "FINDER-roleAssignee"),
            ));
        }
        let role = ctx.q("role");
        let state = ctx.q("state");
        let (start, count) = ctx.count_param(10, 100)?;
        let all: Vec<Value> = self
            .acls
            .iter()
            .filter(|a| a.sub == tok.sub)
            .filter(|a| role.as_ref().is_none_or(|r| *r == a.role))
            .filter(|a| state.as_ref().is_none_or(|s| *s == a.state))
            .map(|a| {
                json!({
                    "organization": format!("urn:li:organization:{}", a.org),
                    "role": a.role,
                    "state": a.state,
                    "roleAssignee": person_urn(&a.sub),
                })
            })
            .collect();
        let total = all.len();
        let elements: Vec<Value> = all.into_iter().skip(start).take(count).collect();
        Ok(Reply::json(
            200,
            json!({
                "paging": {"start": start, "count": count, "links": [], "total": total},
                "elements": elements,
            }),
        ))
    }

    fn org_json(&self, id: &str) -> Option<Value> {
        let id = org_id_of(id).unwrap_or(id);
        let name = self.orgs.get(id)?;
        let vanity: String = name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect();
        Some(json!({
            "id": id.parse::<u64>().map_or_else(|_| json!(id), |n| json!(n)),
            "localizedName": name,
            "vanityName": vanity,
            "name": {
                "localized": {"en_US": name},
                "preferredLocale": {"country": "US", "language": "en"},
            },
            "$URN": format!("urn:li:organization:{id}"),
        }))
    }

    fn organizations(&mut self, ctx: &Ctx<'_>) -> Answer {
        let Some(ids) = ctx.q_restli("ids")? else {
            return Err(Fail::Unmatched);
        };
        let Rv::L(items) = ids else {
            return Err(illegal("ids must be a List(...)"));
        };
        let mut results = Map::new();
        let mut statuses = Map::new();
        let mut errors = Map::new();
        for item in items {
            let id = item.str().unwrap_or("").to_owned();
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                statuses.insert(id.clone(), json!(400));
                errors.insert(
                    id.clone(),
                    json!({"status": 400, "message": format!("Invalid organization id {id}")}),
                );
                continue;
            }
            match self.org_json(&id) {
                Some(v) => {
                    results.insert(id.clone(), v);
                    statuses.insert(id, json!(200));
                }
                None => {
                    statuses.insert(id.clone(), json!(404));
                    errors.insert(
                        id.clone(),
                        json!({"status": 404, "message": format!("Not Found: organization {id}")}),
                    );
                }
            }
        }
        Ok(Reply::json(
            200,
            json!({"results": results, "statuses": statuses, "errors": errors}),
        ))
    }

    // ---- analytics --------------------------------------------------------------------------

    fn share_statistics(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        if ctx.q("q").as_deref() != Some("organizationalEntity") {
            return Err(Fail::Unmatched);
        }
        let label = ctx.label(
            "organizationalEntityShareStatistics",
            "FINDER-organizationalEntity",
        );
        let entity = ctx
            .q("organizationalEntity")
            .ok_or_else(|| illegal("Missing required query parameter organizationalEntity"))?;
        let org = org_id_of(&entity)
            .ok_or_else(|| illegal(format!("Invalid organizationalEntity {entity}")))?
            .to_owned();
        if !has(tok, "rw_organization_admin") || !self.is_admin(&tok.sub, &org) {
            return Err(denied(&label));
        }
        let list = |key: &str| -> Result<Option<Vec<String>>, Fail> {
            match ctx.q_restli(key)? {
                None => Ok(None),
                Some(Rv::L(items)) => Ok(Some(
                    items
                        .iter()
                        .map(|i| i.str().unwrap_or("").to_owned())
                        .collect(),
                )),
                Some(_) => Err(illegal(format!("{key} must be a List(...)"))),
            }
        };
        let shares = list("shares")?;
        let ugc = list("ugcPosts")?;
        let intervals = ctx.q_restli("timeIntervals")?;
        if (shares.is_some() || ugc.is_some()) && intervals.is_some() {
            return Err(illegal(
                "timeIntervals is not supported when querying statistics of specific shares or ugcPosts (lifetime only)",
            ));
        }
        let org_posts: Vec<&PostRec> = self
            .posts
            .iter()
            .filter(|p| p.author == entity && !p.deleted)
            .collect();
        let stats_of = |urn: &str| self.stats.get(urn).cloned().unwrap_or_default();
        let mut elements = Vec::new();
        if shares.is_some() || ugc.is_some() {
            for (key, urns) in [("share", shares), ("ugcPost", ugc)] {
                for urn in urns.unwrap_or_default() {
                    if org_posts.iter().any(|p| p.urn == urn) {
                        let mut t = Totals::default();
                        t.add(&stats_of(&urn));
                        elements.push(json!({
                            "organizationalEntity": entity,
                            key: urn,
                            "totalShareStatistics": t.json(),
                        }));
                    }
                }
            }
        } else if let Some(iv) = intervals {
            let num = |v: Option<&Rv>| v.and_then(Rv::str).and_then(|s| s.parse::<i64>().ok());
            let range = iv.get("timeRange");
            let start = num(range.and_then(|r| r.get("start")))
                .ok_or_else(|| illegal("timeIntervals.timeRange.start is required"))?;
            let end = num(range.and_then(|r| r.get("end"))).unwrap_or_else(|| self.now_ms());
            let granularity = iv
                .get("timeGranularityType")
                .and_then(Rv::str)
                .unwrap_or("DAY")
                .to_owned();
            if end <= start {
                return Err(illegal("timeIntervals.timeRange.end must be after start"));
            }
            let mut bucket_start = start;
            while bucket_start < end && elements.len() < 1000 {
                let bucket_end = match granularity.as_str() {
                    "DAY" => bucket_start + DAY_MS,
                    "MONTH" => next_month_ms(bucket_start),
                    other => return Err(illegal(format!("Invalid timeGranularityType {other}"))),
                }
                .min(end);
                let mut t = Totals::default();
                for p in &org_posts {
                    if p.created_ms >= bucket_start && p.created_ms < bucket_end {
                        t.add(&stats_of(&p.urn));
                    }
                }
                elements.push(json!({
                    "organizationalEntity": entity,
                    "timeRange": {"start": bucket_start, "end": bucket_end},
                    "totalShareStatistics": t.json(),
                }));
                bucket_start = bucket_end;
            }
        } else {
            let mut t = Totals::default();
            for p in &org_posts {
                t.add(&stats_of(&p.urn));
            }
            elements.push(json!({
                "organizationalEntity": entity,
                "totalShareStatistics": t.json(),
            }));
        }
        let n = elements.len();
        Ok(Reply::json(
            200,
            json!({"paging": {"start": 0, "count": n, "links": []}, "elements": elements}),
        ))
    }

    fn member_analytics(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
        let finder = ctx.q("q").unwrap_or_default();
        if finder != "entity" && finder != "me" {
            return Err(Fail::Unmatched);
        }
        let label = ctx.label("memberCreatorPostAnalytics", &format!("FINDER-{finder}"));
        if !has(tok, "r_member_postAnalytics") {
            return Err(denied(&label));
        }
        let query_type = ctx
            .q("queryType")
            .ok_or_else(|| illegal("Missing required query parameter queryType"))?;
        if !MEMBER_METRICS.contains(&query_type.as_str()) {
            return Err(illegal(format!("Invalid queryType {query_type}")));
        }
        let aggregation = ctx.q("aggregation").unwrap_or_else(|| "TOTAL".to_owned());
        if aggregation != "TOTAL" && aggregation != "DAILY" {
            return Err(illegal(format!("Invalid aggregation {aggregation}")));
        }
        if aggregation == "DAILY" && query_type == "MEMBERS_REACHED" {
            return Err(illegal(
                "MEMBERS_REACHED does not support DAILY aggregation; use TOTAL",
            ));
        }
        let me = person_urn(&tok.sub);
        let (posts, target): (Vec<&PostRec>, Option<Value>) = if finder == "entity" {
            let entity = ctx
                .q_restli("entity")?
                .ok_or_else(|| illegal("Missing required query parameter entity"))?;
            let Rv::M(entries) = &entity else {
                return Err(illegal(
                    "entity must be (share:{encoded urn}) or (ugc:{encoded urn})",
                ));
            };
            let [(key, Rv::S(urn))] = entries.as_slice() else {
                return Err(illegal(
                    "entity must be (share:{encoded urn}) or (ugc:{encoded urn})",
                ));
            };
            let kind_ok = match key.as_str() {
                "share" => urn.starts_with("urn:li:share:"),
                "ugc" => urn.starts_with("urn:li:ugcPost:"),
                _ => false,
            };
            if !kind_ok {
                return Err(illegal(format!(
                    "Invalid entity ({key}:{urn}): use share for urn:li:share and ugc for urn:li:ugcPost"
                )));
            }
            let post = self
                .post(urn)
                .filter(|p| !p.deleted)
                .ok_or_else(|| not_found(urn))?;
            if post.author != me {
                return Err(denied(&label));
            }
            (vec![post], Some(json!({ key.as_str(): urn })))
        } else {
            (
                self.posts
                    .iter()
                    .filter(|p| p.author == me && !p.deleted)
                    .collect(),
                None,
            )
        };
        let metric_of = |p: &PostRec| self.stats.get(&p.urn).map_or(0, |s| s.metric(&query_type));
        let mut elements = Vec::new();
        if aggregation == "TOTAL" {
            let count: u64 = posts.iter().map(|p| metric_of(p)).sum();
            let mut e = json!({"count": count, "metricType": query_type});
            if let Some(t) = &target {
                e["targetEntity"] = t.clone();
            }
            elements.push(e);
        } else {
            let (from, to) = match ctx.q_restli("dateRange")? {
                Some(r) => (date_of(r.get("start"))?, date_of(r.get("end"))?),
                None => {
                    let first = posts
                        .iter()
                        .map(|p| p.created_ms)
                        .min()
                        .unwrap_or(self.now_ms());
                    (first.div_euclid(DAY_MS) * DAY_MS, self.now_ms())
                }
            };
            let mut day = from.div_euclid(DAY_MS) * DAY_MS;
            while day <= to && elements.len() < 400 {
                let count: u64 = posts
                    .iter()
                    .filter(|p| p.created_ms >= day && p.created_ms < day + DAY_MS)
                    .map(|p| metric_of(p))
                    .sum();
                let mut e = json!({
                    "count": count,
                    "metricType": query_type,
                    "dateRange": {"start": ymd(day), "end": ymd(day + DAY_MS)},
                });
                if let Some(t) = &target {
                    e["targetEntity"] = t.clone();
                }
                elements.push(e);
                day += DAY_MS;
            }
        }
        let n = elements.len();
        Ok(Reply::json(
            200,
            json!({"paging": {"start": 0, "count": n, "links": []}, "elements": elements}),
        ))
    }

    fn social_metadata(&mut self, ctx: &Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
        let label = ctx.label("socialMetadata", "GET");
        let p = self
            .post(urn)
            .filter(|p| !p.deleted)
            .ok_or_else(|| not_found(urn))?;
        if !self.may_read_as(tok, &p.author) {
            return Err(denied(&label));
        }
        let s = self.stats.get(urn).cloned().unwrap_or_default();
        let mut reactions = Map::new();
        if s.reactions.is_empty() {
            if s.likes > 0 {
                reactions.insert(
                    "LIKE".to_owned(),
                    json!({"reactionType": "LIKE", "count": s.likes}),
                );
            }
        } else {
            for (k, v) in &s.reactions {
                reactions.insert(k.clone(), json!({"reactionType": k, "count": v}));
            }
        }
        Ok(Reply::json(
            200,
            json!({
                "reactionSummaries": reactions,
                "commentsState": "OPEN",
                "commentSummary": {"count": s.comments, "topLevelCount": s.comments},
                "entity": urn,
            }),
        ))
    }
}

fn next_month_ms(ms: i64) -> i64 {
    let d = DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive();
    let (y, m) = if d.month() == 12 {
        (d.year() + 1, 1)
    } else {
        (d.year(), d.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .map_or(ms + 31 * DAY_MS, |n| n.and_utc().timestamp_millis())
}

/// `(day:D,month:M,year:Y)` → ms at UTC midnight.
fn date_of(v: Option<&Rv>) -> Result<i64, Fail> {
    let bad =
        || illegal("dateRange must be (start:(day:D,month:M,year:Y),end:(day:D,month:M,year:Y))");
    let v = v.ok_or_else(bad)?;
    let n = |k: &str| {
        v.get(k)
            .and_then(Rv::str)
            .and_then(|s| s.parse::<u32>().ok())
    };
    let (Some(d), Some(m), Some(y)) = (n("day"), n("month"), n("year")) else {
        return Err(bad());
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).map_err(|_| bad())?, m, d)
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc().timestamp_millis())
        .ok_or_else(bad)
}

// ---------------------------------------------------------------------------------------------
// Upload URLs (/dms-uploads)
// ---------------------------------------------------------------------------------------------

impl State {
    fn upload(&mut self, ctx: &mut Ctx<'_>) -> Answer {
        if ctx.method != "PUT" && ctx.method != "POST" {
            return Err(Fail::Unmatched);
        }
        let segs = ctx.segs.clone();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let bad = |msg: String| fail(400, json!({"status": 400, "message": msg}));
        match segs.as_slice() {
            ["image", id] => {
                // The Images API documents the upload with the member's bearer token.
                self.authenticate(ctx)?;
                let urn = format!("urn:li:image:{id}");
                let body = &ctx.req.body;
                let img = self.images.get_mut(&urn).ok_or_else(|| not_found(&urn))?;
                if body.is_empty() {
                    return Err(bad("The upload body is empty".to_owned()));
                }
                img.uploaded_bytes = body.len() as u64;
                img.checksum = upload_checksum(body);
                img.uploaded = true;
                ctx.committed = true;
                Ok(Reply::empty(201))
            }
            ["video", id, "captions" | "thumbnail"] => {
                let urn = format!("urn:li:video:{id}");
                let v = self.videos.get_mut(&urn).ok_or_else(|| not_found(&urn))?;
                if segs[2] == "captions" {
                    v.captions = true;
                } else {
                    v.thumbnail = true;
                }
                ctx.committed = true;
                Ok(Reply::empty(201))
            }
            ["video", id, part] => {
                let urn = format!("urn:li:video:{id}");
                let body = &ctx.req.body;
                let v = self.videos.get_mut(&urn).ok_or_else(|| not_found(&urn))?;
                let idx: usize = part.parse().map_err(|_| not_found(&urn))?;
                if v.status != VStatus::WaitingUpload {
                    return Err(bad(format!(
                        "Video {urn} is already finalized; parts cannot be uploaded"
                    )));
                }
                let p = v.parts.get_mut(idx).ok_or_else(|| not_found(&urn))?;
                let expected = p.last - p.first + 1;
                if body.len() as u64 != expected {
                    return Err(bad(format!(
                        "Part {idx} of {urn} must carry bytes {}..={} ({expected} bytes), got {} bytes",
                        p.first,
                        p.last,
                        body.len()
                    )));
                }
                let sum = upload_checksum(body);
                let etag = format!("/{id}/{idx}/{sum:016x}");
                let first_time = p.etag.is_none();
                if first_time || p.sum != sum {
                    v.running = fnv1a(v.running, body);
                }
                p.etag = Some(etag.clone());
                p.sum = sum;
                if first_time {
                    v.uploaded_bytes += expected;
                }
                ctx.committed = true;
                Ok(Reply::empty(200).header("etag", &etag))
            }
            _ => Err(Fail::Unmatched),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The public fake
// ---------------------------------------------------------------------------------------------

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_text_cuts_at_the_first_unescaped_reserved_character() {
        assert_eq!(render_little_text("plain text"), "plain text");
        assert_eq!(render_little_text("before (after)"), "before ");
        assert_eq!(render_little_text("before \\(after\\)"), "before (after)");
        assert_eq!(render_little_text("a_b"), "a");
        assert_eq!(render_little_text("a\\_b \\\\ c"), "a_b \\ c");
        assert_eq!(render_little_text("trailing \\"), "trailing ");
        assert_eq!(render_little_text("50% off ~ today"), "50% off ");
    }

    #[test]
    fn little_text_keeps_hashtags_and_mentions() {
        assert_eq!(render_little_text("#rust is #fun"), "#rust is #fun");
        assert_eq!(render_little_text("# alone"), "");
        assert_eq!(render_little_text("{hashtag|#|Tech} yes"), "#Tech yes");
        assert_eq!(
            render_little_text("hi @[Acme Corp](urn:li:organization:1234)!"),
            "hi Acme Corp!"
        );
        assert_eq!(
            render_little_text("hi @[Eddy](urn:li:person:ab-12) there"),
            "hi Eddy there"
        );
        assert_eq!(render_little_text("mail me @ home"), "mail me ");
        assert_eq!(render_little_text("@[Bad](urn:li:share:1)"), "");
    }

    #[test]
    fn little_text_applies_the_3000_character_cut_first() {
        let long = "x".repeat(3100);
        assert_eq!(render_little_text(&long).chars().count(), 3000);
        let late = format!("{}(", "y".repeat(3000));
        assert_eq!(render_little_text(&late).chars().count(), 3000);
    }

    #[test]
    fn restli_values_parse_with_encoded_leaves() {
        assert_eq!(
            parse_restli("List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)").unwrap(),
            Rv::L(vec![
                Rv::S("urn:li:share:1".to_owned()),
                Rv::S("urn:li:share:2".to_owned())
            ])
        );
        let v = parse_restli("(timeRange:(start:1,end:2),timeGranularityType:DAY)").unwrap();
        assert_eq!(
            v.get("timeRange").and_then(|r| r.get("end")),
            Some(&Rv::S("2".to_owned()))
        );
        assert!(parse_restli("List(urn:li:share:1)").is_err());
        assert!(parse_restli("(share:urn:li:share:1)").is_err());
        assert_eq!(
            parse_restli("List%28urn%3Ali%3Ashare%3A1%29").unwrap(),
            Rv::S("List(urn:li:share:1)".to_owned())
        );
    }

    #[test]
    fn versions_are_named_like_linkedin_names_them() {
        assert_eq!(
            parse_version("202504"),
            (Some(202_504), "20250401".to_owned())
        );
        assert_eq!(
            parse_version("20250401"),
            (Some(202_504), "20250401".to_owned())
        );
        assert_eq!(
            parse_version("202504.01"),
            (Some(202_504), "20250401".to_owned())
        );
        assert_eq!(parse_version("v2"), (None, "v2".to_owned()));
    }

    #[test]
    fn running_checksum_matches_upload_checksum() {
        let data = b"hello linkedin video bytes";
        let (a, b) = data.split_at(7);
        assert_eq!(fnv1a(fnv1a(FNV_OFFSET, a), b), upload_checksum(data));
    }

    #[test]
    fn base64url_encodes_without_padding() {
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
