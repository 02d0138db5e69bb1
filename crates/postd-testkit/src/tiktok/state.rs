//! The fake's internal state behind its one lock: apps, users, tokens, codes, publishes,
//! public videos, knobs, counters and the clock.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::Utc;
use serde_json::Value;

use super::records::{
    PostingBlock, PublishKind, TikTokFakeConfig, TtCreator, TtMetrics, TtWebhook,
};
use crate::util::{FNV_OFFSET, fnv1a};

pub(super) struct State {
    pub(super) config: TikTokFakeConfig,
    pub(super) base_uri: String,
    pub(super) seq: u64,
    pub(super) clock_offset: i64,
    pub(super) users: BTreeMap<String, UserRec>,
    pub(super) tokens: HashMap<String, TokenRec>,
    pub(super) codes: HashMap<String, CodeRec>,
    pub(super) publishes: Vec<PublishRec>,
    pub(super) videos: Vec<VideoRec>,
    pub(super) verified_domains: Vec<String>,
    pub(super) verified_prefixes: Vec<String>,
    /// Request times (ms, fake clock) per rate-limit key, for the one-minute sliding window.
    pub(super) windows: HashMap<String, VecDeque<i64>>,
    /// Per-minute limits per endpoint path.
    pub(super) limits: HashMap<&'static str, u32>,
    pub(super) throttled: HashSet<String>,
    pub(super) active_user_cap: Option<usize>,
    /// (UTC day, open_ids that initialized a post that day).
    pub(super) active_users: (i64, HashSet<String>),
    pub(super) fail_next: Option<String>,
    pub(super) audited: bool,
    pub(super) outbox: Vec<TtWebhook>,
    pub(super) requests: Vec<String>,
    pub(super) post_inits: usize,
    pub(super) post_id_seq: u64,
}

/// The documented per-minute limits: Rate Limits page for the Display API, each Content
/// Posting reference for its endpoint.
pub(super) const DEFAULT_LIMITS: &[(&str, u32)] = &[
    ("/v2/user/info/", 600),
    ("/v2/video/list/", 600),
    ("/v2/video/query/", 600),
    ("/v2/post/publish/creator_info/query/", 20),
    ("/v2/post/publish/video/init/", 6),
    ("/v2/post/publish/inbox/video/init/", 6),
    ("/v2/post/publish/content/init/", 6),
    ("/v2/post/publish/status/fetch/", 30),
];

impl State {
    pub(super) fn new(config: TikTokFakeConfig, base_uri: String) -> State {
        State {
            audited: config.audited,
            config,
            base_uri,
            seq: 1000,
            clock_offset: 0,
            users: BTreeMap::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            publishes: Vec::new(),
            videos: Vec::new(),
            verified_domains: Vec::new(),
            verified_prefixes: Vec::new(),
            windows: HashMap::new(),
            limits: DEFAULT_LIMITS.iter().copied().collect(),
            throttled: HashSet::new(),
            active_user_cap: None,
            active_users: (i64::MIN, HashSet::new()),
            fail_next: None,
            outbox: Vec::new(),
            requests: Vec::new(),
            post_inits: 0,
            post_id_seq: 7_300_000_000_000_000_000,
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

    /// An opaque token-looking string: `{prefix}{hex}`.
    pub(super) fn new_token(&mut self, prefix: &str) -> String {
        let n = self.next();
        let a = fnv1a(FNV_OFFSET, format!("{prefix}{n}a").as_bytes());
        let b = fnv1a(FNV_OFFSET, format!("{prefix}{n}b").as_bytes());
        format!("{prefix}{a:016x}{b:016x}")
    }

    pub(super) fn log_id(&mut self) -> String {
        let stamp = chrono::DateTime::from_timestamp(self.now(), 0)
            .unwrap_or_default()
            .format("%Y%m%d%H%M%S");
        let n = self.next();
        let h = fnv1a(FNV_OFFSET, format!("log{n}").as_bytes());
        format!("{stamp}{h:016X}{:04X}", n % 0x1_0000)
    }

    pub(super) fn user(&mut self, open_id: &str) -> &mut UserRec {
        self.users
            .entry(open_id.to_owned())
            .or_insert_with(|| UserRec::new(open_id))
    }

    /// A fresh public post id (TikTok's are 19-digit numbers).
    pub(super) fn new_post_id(&mut self) -> u64 {
        self.post_id_seq += 1 + self.seq % 7;
        self.post_id_seq
    }

    /// Whether `url` is https and on a verified domain (or a subdomain of one) or under a
    /// verified URL prefix.
    pub(super) fn url_verified(&self, url: &str) -> bool {
        if self
            .verified_prefixes
            .iter()
            .any(|p| url.starts_with(p.as_str()))
        {
            return true;
        }
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
        self.verified_domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    }
}

#[derive(Clone, Debug)]
pub(super) struct UserRec {
    pub(super) open_id: String,
    pub(super) union_id: String,
    pub(super) display_name: String,
    pub(super) creator: TtCreator,
    pub(super) block: Option<PostingBlock>,
    pub(super) follower_count: u64,
}

impl UserRec {
    fn new(open_id: &str) -> UserRec {
        let short: String = open_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect();
        UserRec {
            open_id: open_id.to_owned(),
            union_id: format!("u-{open_id}"),
            display_name: format!("Creator {short}"),
            creator: TtCreator::public(&format!("creator_{short}")),
            block: None,
            follower_count: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    Access,
    Refresh,
    Client,
}

#[derive(Clone, Debug)]
pub(super) struct TokenRec {
    pub(super) open_id: String,
    pub(super) client_key: String,
    pub(super) scopes: Vec<String>,
    pub(super) expires_at: i64,
    pub(super) revoked: bool,
    pub(super) kind: TokenKind,
}

#[derive(Clone, Debug)]
pub(super) struct CodeRec {
    pub(super) open_id: String,
    pub(super) client_key: String,
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    pub(super) code_challenge: Option<String>,
    pub(super) issued_at: i64,
    pub(super) used: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Upload {
    pub(super) upload_id: String,
    pub(super) upload_token: String,
    pub(super) video_size: u64,
    pub(super) chunk_size: u64,
    pub(super) total_chunks: u64,
    pub(super) received_chunks: u64,
    pub(super) uploaded_bytes: u64,
    pub(super) checksum: u64,
    /// The checksum before the last accepted chunk, so a re-sent chunk replaces it.
    pub(super) checksum_before_last: u64,
    /// The range of the last accepted chunk.
    pub(super) last_range: Option<(u64, u64)>,
}

impl Upload {
    pub(super) fn complete(&self) -> bool {
        self.received_chunks == self.total_chunks
    }

    /// The inclusive byte range chunk `i` (0-based) must carry.
    pub(super) fn range_of(&self, i: u64) -> (u64, u64) {
        let first = i * self.chunk_size;
        let last = if i + 1 == self.total_chunks {
            self.video_size - 1
        } else {
            first + self.chunk_size - 1
        };
        (first, last)
    }
}

#[derive(Clone, Debug)]
pub(super) struct PublishRec {
    pub(super) publish_id: String,
    pub(super) open_id: String,
    pub(super) client_key: String,
    pub(super) kind: PublishKind,
    pub(super) upload: Option<Upload>,
    pub(super) urls: Vec<String>,
    pub(super) post_info: Value,
    pub(super) privacy_level: Option<String>,
    pub(super) status: &'static str,
    /// Polls answered in the current stage.
    pub(super) stage_polls: u32,
    /// The failure planned for the end of processing.
    pub(super) planned_failure: Option<String>,
    pub(super) fail_reason: Option<String>,
    pub(super) downloaded_bytes: u64,
    pub(super) post_id: Option<u64>,
    pub(super) created_at: i64,
}

impl PublishRec {
    pub(super) fn source(&self) -> &'static str {
        if self.upload.is_some() {
            "FILE_UPLOAD"
        } else {
            "PULL_FROM_URL"
        }
    }
}

/// A public video (or photo post) on a creator's profile, as the Display API answers it.
#[derive(Clone, Debug)]
pub(super) struct VideoRec {
    pub(super) id: u64,
    pub(super) open_id: String,
    pub(super) title: String,
    pub(super) description: String,
    /// Unix milliseconds; unique per creator, so the list cursor pages cleanly.
    pub(super) create_time_ms: i64,
    pub(super) metrics: TtMetrics,
    pub(super) duration: u32,
}
