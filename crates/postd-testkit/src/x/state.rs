//! The fake's internal state behind its one lock: users, tokens, codes, Posts, media, rate
//! windows, knobs, the outbox and the clock.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use serde_json::Value;

use super::records::{XDelivery, XFakeConfig, XPostMetrics, XUserMetrics};
use crate::util::{FNV_OFFSET, fnv1a};

/// Twitter's snowflake epoch, unix milliseconds.
const SNOWFLAKE_EPOCH_MS: i64 = 1_288_834_974_657;

/// The documented per-user limits per 15 minutes
/// (<https://docs.x.com/x-api/fundamentals/rate-limits>; the Post lookups: 900 for
/// `GET /2/tweets/:id`, 5,000 for `GET /2/tweets`).
pub(super) const DEFAULT_LIMITS: &[(&str, u32)] = &[
    ("POST /2/tweets", 100),
    ("DELETE /2/tweets/:id", 50),
    ("GET /2/users/me", 75),
    ("GET /2/users/:id/tweets", 900),
    ("GET /2/tweets/:id", 900),
    ("GET /2/tweets", 5_000),
    ("POST /2/media/upload/initialize", 1_875),
    ("POST /2/media/upload/:id/append", 1_875),
    ("POST /2/media/upload/:id/finalize", 1_875),
    ("GET /2/media/upload", 1_000),
];

pub(super) struct State {
    pub(super) config: XFakeConfig,
    pub(super) seq: u64,
    pub(super) clock_offset: i64,
    pub(super) users: BTreeMap<String, UserRec>,
    pub(super) tokens: HashMap<String, TokenRec>,
    pub(super) codes: HashMap<String, CodeRec>,
    pub(super) posts: Vec<PostRec>,
    pub(super) media: Vec<MediaRec>,
    pub(super) limits: HashMap<&'static str, u32>,
    /// `(endpoint, user)` → (window start, requests in the window).
    pub(super) windows: HashMap<(&'static str, String), (i64, u32)>,
    pub(super) credits_depleted: bool,
    pub(super) usage_capped: bool,
    pub(super) fail_next_media: Option<String>,
    pub(super) subscriptions: Vec<Subscription>,
    pub(super) outbox: Vec<XDelivery>,
    pub(super) requests: Vec<String>,
    pub(super) family_seq: u64,
    /// Users every rate-limited endpoint answers `429` ([`XFake::throttle_user`](super::XFake::throttle_user)).
    pub(super) throttled: HashSet<String>,
    /// Token families whose every token starts with a canary.
    pub(super) canaries: HashMap<u64, String>,
}

impl State {
    pub(super) fn new(config: XFakeConfig) -> State {
        State {
            config,
            seq: 1000,
            clock_offset: 0,
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            posts: Vec::new(),
            media: Vec::new(),
            limits: DEFAULT_LIMITS.iter().copied().collect(),
            windows: HashMap::new(),
            credits_depleted: false,
            usage_capped: false,
            fail_next_media: None,
            subscriptions: Vec::new(),
            outbox: Vec::new(),
            requests: Vec::new(),
            family_seq: 0,
            throttled: HashSet::new(),
            canaries: HashMap::new(),
        }
    }

    pub(super) fn now(&self) -> i64 {
        Utc::now().timestamp() + self.clock_offset
    }

    pub(super) fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.clock_offset * 1000
    }

    pub(super) fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// An opaque token-looking string.
    pub(super) fn new_token(&mut self, tag: &str) -> String {
        let n = self.next();
        let a = fnv1a(FNV_OFFSET, format!("{tag}{n}a").as_bytes());
        let b = fnv1a(FNV_OFFSET, format!("{tag}{n}b").as_bytes());
        crate::util::base64url(format!("{a:016x}{b:016x}:{}:1:1:{tag}:1", self.now_ms()).as_bytes())
    }

    /// A fresh snowflake id: milliseconds since the epoch, then a sequence.
    pub(super) fn snowflake(&mut self) -> u64 {
        let ms = u64::try_from(self.now_ms() - SNOWFLAKE_EPOCH_MS).unwrap_or(0);
        let n = self.next() & 0x3f_ffff;
        (ms << 22) | n
    }

    pub(super) fn user(&mut self, user_id: &str) -> &mut UserRec {
        self.users
            .entry(user_id.to_owned())
            .or_insert_with(|| UserRec::new(user_id))
    }
}

#[derive(Clone, Debug)]
pub(super) struct UserRec {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) username: String,
    pub(super) protected: bool,
    /// Seeded `public_metrics`; `None` counts `tweet_count` from the Posts the fake holds.
    pub(super) metrics: Option<XUserMetrics>,
}

impl UserRec {
    fn new(id: &str) -> UserRec {
        UserRec {
            id: id.to_owned(),
            name: format!("User {id}"),
            username: format!("user_{id}"),
            protected: false,
            metrics: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    Access,
    Refresh,
}

#[derive(Clone, Debug)]
pub(super) struct TokenRec {
    pub(super) user_id: String,
    pub(super) scopes: Vec<String>,
    pub(super) expires_at: Option<i64>,
    pub(super) revoked: bool,
    /// A refresh token that was exchanged (rotated away).
    pub(super) used: bool,
    pub(super) kind: TokenKind,
    /// Every token descended from one authorization shares a family.
    pub(super) family: u64,
}

impl TokenRec {
    pub(super) fn live(&self, now: i64) -> bool {
        !self.revoked && !self.used && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Clone, Debug)]
pub(super) struct CodeRec {
    pub(super) user_id: String,
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    /// The S256 challenge the verifier must match; `None` accepts any verifier.
    pub(super) code_challenge: Option<String>,
    pub(super) issued_at: i64,
    pub(super) used: bool,
}

#[derive(Clone, Debug)]
pub(super) struct PostRec {
    pub(super) id: u64,
    pub(super) author_id: String,
    pub(super) text: String,
    pub(super) created_at: i64,
    pub(super) deleted: bool,
    pub(super) reply_settings: String,
    pub(super) conversation_id: u64,
    pub(super) media_keys: Vec<String>,
    pub(super) request: Value,
    pub(super) metrics: XPostMetrics,
}

#[derive(Clone, Debug)]
pub(super) struct MediaRec {
    pub(super) id: u64,
    pub(super) key: String,
    pub(super) owner: String,
    pub(super) media_type: String,
    pub(super) category: String,
    pub(super) total_bytes: u64,
    pub(super) received_bytes: u64,
    pub(super) segments: u32,
    pub(super) checksum: u64,
    /// The state before the last segment, so a re-sent last segment replaces it.
    pub(super) before_last: Option<(u64, u64)>,
    pub(super) finalized: bool,
    /// `processing_info.state` once finalized, for categories X processes.
    pub(super) state: Option<&'static str>,
    pub(super) polls: u32,
    pub(super) failure: Option<String>,
    pub(super) expires_at: i64,
}

impl MediaRec {
    /// Whether a Post may attach it now.
    pub(super) fn ready(&self, now: i64) -> bool {
        self.finalized && self.expires_at > now && self.state.is_none_or(|s| s == "succeeded")
    }

    pub(super) fn is_image(&self) -> bool {
        self.category == "tweet_image"
    }
}

/// An X Activity API subscription, standing in for `POST /2/activity/subscriptions`.
#[derive(Clone, Debug)]
pub(super) struct Subscription {
    pub(super) event_type: String,
    pub(super) user_id: Option<String>,
    pub(super) tag: Option<String>,
}
