//! The fake's internal state behind its one lock: users, accounts, locations, tokens, codes,
//! local posts, metrics, the API switches and quota windows, the push signing key, and the
//! clock.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{NaiveDate, Utc};
use serde_json::Value;

use super::records::{GbpFakeConfig, GbpLocationMetadata};
use crate::util::{FNV_OFFSET, fnv1a};

/// The APIs the fake serves: `(service name, title)` as Google's errors name them.
pub(super) const APIS: &[(&str, &str)] = &[
    (
        super::ACCOUNT_MANAGEMENT,
        "My Business Account Management API",
    ),
    (
        super::BUSINESS_INFORMATION,
        "My Business Business Information API",
    ),
    (super::MY_BUSINESS, "Google My Business API"),
    (super::PERFORMANCE, "Business Profile Performance API"),
];

pub(super) struct State {
    pub(super) config: GbpFakeConfig,
    pub(super) seq: u64,
    pub(super) clock_offset: i64,
    /// Every user who was seeded or authorized, in order.
    pub(super) users: Vec<String>,
    pub(super) accounts: Vec<AccountRec>,
    pub(super) locations: Vec<LocationRec>,
    pub(super) tokens: HashMap<String, TokenRec>,
    pub(super) codes: HashMap<String, CodeRec>,
    pub(super) posts: Vec<PostRec>,
    pub(super) post_seq: u64,
    pub(super) grant_seq: u64,
    /// Grants whose every token starts with a canary.
    pub(super) canaries: HashMap<u64, String>,
    pub(super) disabled: HashSet<&'static str>,
    pub(super) quotas: HashMap<&'static str, u32>,
    /// Request times (ms, fake clock) per API, for the one-minute sliding window.
    pub(super) windows: HashMap<&'static str, VecDeque<i64>>,
    /// Local-post write times (ms) per location id.
    pub(super) edits: HashMap<String, VecDeque<i64>>,
    /// Location ids whose every call answers `429` ([`GbpFake::throttle_location`](super::GbpFake::throttle_location)).
    pub(super) throttled: HashSet<String>,
    pub(super) reject_next: Option<String>,
    pub(super) unfetchable: HashSet<String>,
    /// `(location id, metric)` → day → value.
    pub(super) metrics: HashMap<(String, String), BTreeMap<NaiveDate, u64>>,
    pub(super) requests: Vec<String>,
    /// The index in [`PUBLISHED`](super::push_auth::PUBLISHED) of the key that signs push
    /// tokens now.
    pub(super) push_key: usize,
    /// `GET /oauth2/v3/certs` answers served.
    pub(super) jwks_fetches: u64,
}

impl State {
    pub(super) fn new(config: GbpFakeConfig) -> State {
        let quotas = APIS
            .iter()
            .map(|(s, _)| (*s, config.quota_per_minute))
            .collect();
        State {
            config,
            seq: 1000,
            clock_offset: 0,
            users: Vec::new(),
            accounts: Vec::new(),
            locations: Vec::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            posts: Vec::new(),
            post_seq: 1_700_000_000_000_000_000,
            grant_seq: 0,
            canaries: HashMap::new(),
            disabled: HashSet::new(),
            quotas,
            windows: HashMap::new(),
            edits: HashMap::new(),
            throttled: HashSet::new(),
            reject_next: None,
            unfetchable: HashSet::new(),
            metrics: HashMap::new(),
            requests: Vec::new(),
            push_key: 0,
            jwks_fetches: 0,
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

    /// An opaque string of `len` base64url characters after `prefix`.
    pub(super) fn opaque(&mut self, prefix: &str, len: usize) -> String {
        let n = self.next();
        let mut out = String::from(prefix);
        let mut i = 0u64;
        while out.len() < prefix.len() + len {
            let h = fnv1a(FNV_OFFSET, format!("{prefix}{n}:{i}").as_bytes());
            out.push_str(&crate::util::base64url(&h.to_be_bytes()));
            i += 1;
        }
        out.truncate(prefix.len() + len);
        out
    }

    pub(super) fn user(&mut self, user_id: &str) {
        if !self.users.iter().any(|u| u == user_id) {
            self.users.push(user_id.to_owned());
        }
    }

    pub(super) fn account(&self, account_id: &str) -> Option<&AccountRec> {
        self.accounts.iter().find(|a| a.id == account_id)
    }

    pub(super) fn location(&self, location_id: &str) -> Option<&LocationRec> {
        self.locations.iter().find(|l| l.id == location_id)
    }

    pub(super) fn location_mut(&mut self, location_id: &str) -> Option<&mut LocationRec> {
        self.locations.iter_mut().find(|l| l.id == location_id)
    }

    /// Whether `user` manages `account_id`.
    pub(super) fn user_has_account(&self, user: &str, account_id: &str) -> bool {
        self.account(account_id)
            .is_some_and(|a| a.users.iter().any(|u| u == user))
    }

    /// Whether `user` manages the location through any of its accounts.
    pub(super) fn user_has_location(&self, user: &str, location: &LocationRec) -> bool {
        location
            .accounts
            .iter()
            .any(|a| self.user_has_account(user, a))
    }
}

#[derive(Clone, Debug)]
pub(super) struct AccountRec {
    pub(super) id: String,
    pub(super) account_name: String,
    pub(super) kind: String,
    /// The users who manage it, each with their role.
    pub(super) users: Vec<String>,
    pub(super) roles: HashMap<String, String>,
}

#[derive(Clone, Debug)]
pub(super) struct LocationRec {
    pub(super) id: String,
    /// The accounts that list it, in order (a location can sit in a personal account and a
    /// location group).
    pub(super) accounts: Vec<String>,
    pub(super) title: String,
    pub(super) store_code: Option<String>,
    pub(super) language_code: String,
    pub(super) metadata: GbpLocationMetadata,
    pub(super) place_id: String,
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
    pub(super) kind: TokenKind,
    /// Every token of one authorization shares a grant.
    pub(super) grant: u64,
    pub(super) issued_at: i64,
    pub(super) expires_at: Option<i64>,
    pub(super) revoked: bool,
}

impl TokenRec {
    pub(super) fn live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at.is_none_or(|e| e > now)
    }
}

/// What a code's exchange must prove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Challenge {
    /// No PKCE: a `code_verifier` sent anyway is refused.
    None,
    /// The S256 challenge the verifier must match.
    S256(String),
    /// Any verifier, or none (a test convenience).
    Any,
}

#[derive(Clone, Debug)]
pub(super) struct CodeRec {
    pub(super) user_id: String,
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    pub(super) challenge: Challenge,
    pub(super) issued_at: i64,
    pub(super) used: bool,
}

#[derive(Clone, Debug)]
pub(super) struct PostRec {
    pub(super) id: String,
    pub(super) account: String,
    pub(super) location: String,
    /// The client-settable fields as stored (`languageCode`, `summary`, `callToAction`,
    /// `event`, `media`, `topicType`, `alertType`, `offer`, `scheduledTime`).
    pub(super) fields: serde_json::Map<String, Value>,
    pub(super) request: Value,
    pub(super) create_ms: i64,
    pub(super) update_ms: i64,
    /// When a scheduled post is due (unix seconds).
    pub(super) scheduled_at: Option<i64>,
    /// When the current review ends (unix seconds).
    pub(super) review_ends: i64,
    /// `GET`s answered `PROCESSING` in the current review.
    pub(super) gets: u32,
    /// Why the review rejects it, if it does.
    pub(super) rejection: Option<String>,
    pub(super) deleted: bool,
}
