//! The fake's internal state behind its one lock: members, organizations and their roles,
//! counters and knobs, and the clock.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;

use super::analytics::Stats;
use super::auth::TokenRec;
use super::media::{ImageRec, VideoRec};
use super::oauth::CodeRec;
use super::posts::PostRec;
use super::records::LinkedInFakeConfig;
use crate::util::{FNV_OFFSET, fnv1a};

pub(super) struct State {
    pub(super) config: LinkedInFakeConfig,
    pub(super) base_uri: String,
    pub(super) apps: BTreeMap<String, String>,
    pub(super) seq: u64,
    pub(super) post_seq: u64,
    pub(super) clock_offset: i64,
    pub(super) members: BTreeMap<String, MemberRec>,
    pub(super) orgs: BTreeMap<String, String>,
    pub(super) acls: Vec<AclRec>,
    pub(super) tokens: HashMap<String, TokenRec>,
    pub(super) codes: HashMap<String, CodeRec>,
    pub(super) posts: Vec<PostRec>,
    pub(super) images: BTreeMap<String, ImageRec>,
    pub(super) image_order: Vec<String>,
    pub(super) videos: BTreeMap<String, VideoRec>,
    pub(super) video_order: Vec<String>,
    pub(super) stats: HashMap<String, Stats>,
    pub(super) duplicate_window: i64,
    pub(super) fail_next_video: bool,
    pub(super) member_limit: u32,
    pub(super) app_limit: u32,
    pub(super) usage: HashMap<String, u32>,
    pub(super) usage_day: i64,
    pub(super) post_creates: usize,
    pub(super) missing_version: usize,
    pub(super) tokens_in_query: usize,
    pub(super) requests: Vec<String>,
}

impl State {
    pub(super) fn new(config: LinkedInFakeConfig, base_uri: String) -> State {
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

    pub(super) fn now(&self) -> i64 {
        Utc::now().timestamp() + self.clock_offset
    }

    pub(super) fn now_ms(&self) -> i64 {
        Utc::now().timestamp_millis() + self.clock_offset * 1000
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(super) fn salt(&mut self, prefix: &str) -> u64 {
        let n = self.next();
        fnv1a(FNV_OFFSET, format!("{prefix}{n}").as_bytes())
    }

    pub(super) fn member(&mut self, sub: &str) -> &mut MemberRec {
        self.members
            .entry(sub.to_owned())
            .or_insert_with(|| MemberRec {
                name: sub.to_owned(),
                email: format!("{sub}@members.example"),
                scopes: Vec::new(),
            })
    }
}

const DEFAULT_DUPLICATE_WINDOW: i64 = 86_400;

#[derive(Clone, Debug)]
pub(super) struct MemberRec {
    pub(super) name: String,
    pub(super) email: String,
    pub(super) scopes: Vec<String>,
}

#[derive(Clone, Debug)]
pub(super) struct AclRec {
    pub(super) org: String,
    pub(super) sub: String,
    pub(super) role: String,
    pub(super) state: String,
}

pub(super) fn person_urn(sub: &str) -> String {
    format!("urn:li:person:{sub}")
}

pub(super) fn org_id_of(urn: &str) -> Option<&str> {
    urn.strip_prefix("urn:li:organization:")
        .filter(|id| !id.is_empty())
}
