//! The fake's internal state behind its one lock: users, Pages, Instagram accounts, usage
//! counters and knobs, and the clock.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;

use super::auth::TokenRec;
use super::edges::{PhotoRec, PostRec, VideoRec};
use super::instagram::{ContainerRec, IgMediaRec};
use super::oauth::CodeRec;
use super::records::{MetaFakeConfig, TokenUse};
use super::uploads::UploadRec;

pub(super) struct State {
    pub(super) config: MetaFakeConfig,
    pub(super) base_uri: String,
    seq: u64,
    pub(super) clock_offset: i64,
    pub(super) users: BTreeMap<String, UserRec>,
    pub(super) pages: BTreeMap<String, PageRec>,
    pub(super) igs: BTreeMap<String, IgRec>,
    pub(super) tokens: HashMap<String, TokenRec>,
    pub(super) codes: HashMap<String, CodeRec>,
    pub(super) posts: Vec<PostRec>,
    pub(super) photos: Vec<PhotoRec>,
    pub(super) videos: Vec<VideoRec>,
    pub(super) uploads: Vec<UploadRec>,
    pub(super) containers: BTreeMap<String, ContainerRec>,
    pub(super) container_order: Vec<String>,
    pub(super) media: Vec<IgMediaRec>,
    pub(super) media_publish_calls: usize,
    pub(super) token_uses: Vec<TokenUse>,
    pub(super) app_usage: (u32, u32, u32),
    pub(super) business_usage: HashMap<String, (u32, u32, u32)>,
    pub(super) throttles: HashMap<String, Throttle>,
    pub(super) fail_next_container: HashMap<String, String>,
    pub(super) fail_next_video: HashSet<String>,
    pub(super) empty_metrics: HashSet<String>,
    pub(super) duplicate_window: i64,
    pub(super) requests: Vec<String>,
}

impl State {
    pub(super) fn new(config: MetaFakeConfig, base_uri: String) -> Self {
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

    pub(super) fn now(&self) -> i64 {
        Utc::now().timestamp() + self.clock_offset
    }

    pub(super) fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

#[derive(Clone, Debug)]
pub(super) struct UserRec {
    pub(super) name: String,
    /// (scope, granted)
    pub(super) scopes: Vec<(String, bool)>,
    pub(super) data_access_expires_at: i64,
}

#[derive(Clone, Debug)]
pub(super) struct PageRec {
    pub(super) name: String,
    pub(super) owner: String,
    pub(super) ig: Option<String>,
    pub(super) token: String,
}

#[derive(Clone, Debug)]
pub(super) struct IgRec {
    pub(super) page_id: String,
    pub(super) username: String,
    pub(super) quota_base: u32,
    pub(super) publishes: Vec<i64>,
}

#[derive(Clone, Debug)]
pub(super) struct Throttle {
    pub(super) code: i64,
    pub(super) minutes: u32,
}
