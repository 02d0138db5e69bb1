//! The fake's internal state behind its one lock: accounts, keys and tokens, audiences,
//! members, segments, campaigns, batches, webhooks, the in-flight connections, the outbox
//! and the clock; and how time moves campaigns and batches on.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::Utc;
use serde_json::Value;

use super::records::{
    MailchimpBatchResult, MailchimpDelivery, MailchimpFakeConfig, MailchimpReport,
};
use crate::util::{FNV_OFFSET, fnv1a};

pub(super) struct State {
    pub(super) config: MailchimpFakeConfig,
    pub(super) seq: u64,
    pub(super) clock_offset: i64,
    pub(super) accounts: BTreeMap<String, AccountRec>,
    /// API key → its record.
    pub(super) keys: HashMap<String, CredRec>,
    /// OAuth access token → its record.
    pub(super) tokens: HashMap<String, CredRec>,
    pub(super) codes: HashMap<String, CodeRec>,
    pub(super) lists: BTreeMap<String, ListRec>,
    /// `(list_id, subscriber_hash)` → member.
    pub(super) members: BTreeMap<(String, String), MemberRec>,
    /// Permanently deleted `(list_id, subscriber_hash)`s.
    pub(super) forgotten: HashSet<(String, String)>,
    pub(super) segments: Vec<SegmentRec>,
    pub(super) campaigns: Vec<CampaignRec>,
    pub(super) batches: Vec<BatchRec>,
    pub(super) webhooks: Vec<WebhookRec>,
    /// URLs whose validation `GET` fails.
    pub(super) unreachable: HashSet<String>,
    /// Every validation `GET` Mailchimp made, by URL.
    pub(super) validations: Vec<String>,
    pub(super) outbox: Vec<MailchimpDelivery>,
    /// Credentials every API call answers `429`.
    pub(super) throttled: HashSet<String>,
    /// Credential → when each in-flight answer leaves.
    pub(super) in_flight: HashMap<String, Vec<Instant>>,
    pub(super) max_in_flight: HashMap<String, usize>,
    pub(super) requests: Vec<String>,
}

impl State {
    pub(super) fn new(config: MailchimpFakeConfig) -> State {
        State {
            config,
            seq: 1000,
            clock_offset: 0,
            accounts: BTreeMap::new(),
            keys: HashMap::new(),
            tokens: HashMap::new(),
            codes: HashMap::new(),
            lists: BTreeMap::new(),
            members: BTreeMap::new(),
            forgotten: HashSet::new(),
            segments: Vec::new(),
            campaigns: Vec::new(),
            batches: Vec::new(),
            webhooks: Vec::new(),
            unreachable: HashSet::new(),
            validations: Vec::new(),
            outbox: Vec::new(),
            throttled: HashSet::new(),
            in_flight: HashMap::new(),
            max_in_flight: HashMap::new(),
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

    /// `len` lowercase hex characters, fresh each call (Mailchimp's ids are 10 hex, keys 32).
    pub(super) fn hex_id(&mut self, len: usize) -> String {
        let mut out = String::new();
        while out.len() < len {
            let n = self.next();
            out.push_str(&format!(
                "{:016x}",
                fnv1a(FNV_OFFSET, format!("mc{n}").as_bytes())
            ));
        }
        out.truncate(len);
        out
    }

    /// Moves every campaign and batch on to where the clock says it is.
    pub(super) fn tick(&mut self) {
        let now = self.now();
        let sending_secs = self.config.sending_secs;
        let due: Vec<usize> = self
            .campaigns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.status == "schedule" && c.schedule_time.is_some_and(|t| t <= now))
            .map(|(i, _)| i)
            .collect();
        for i in due {
            let at = self.campaigns[i].schedule_time.unwrap_or(now);
            self.start_sending(i, at);
        }
        let done: Vec<usize> = self
            .campaigns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.status == "sending" && c.sending_since.is_some_and(|t| t + sending_secs <= now)
            })
            .map(|(i, _)| i)
            .collect();
        for i in done {
            self.finish_sending(i);
        }
        let step = self.config.batch_step_secs.max(0);
        let ready: Vec<usize> = self
            .batches
            .iter()
            .enumerate()
            .filter(|(_, b)| b.results.is_none() && b.submitted_at + 4 * step <= now)
            .map(|(i, _)| i)
            .collect();
        for i in ready {
            self.run_batch(i);
        }
    }

    /// Campaign `i` starts delivery at `at`: `sending`, its recipients counted, one send.
    pub(super) fn start_sending(&mut self, i: usize, at: i64) {
        let recipients = self.recipients(&self.campaigns[i]);
        let now = self.now();
        let c = &mut self.campaigns[i];
        c.status = "sending".to_owned();
        c.send_time = Some(at);
        c.sending_since = Some(now);
        c.sending_gets = 0;
        c.emails_sent = recipients;
        c.sends += 1;
    }

    /// Campaign `i` has gone to every recipient: `sent`, and a `campaign` webhook event.
    pub(super) fn finish_sending(&mut self, i: usize) {
        self.campaigns[i].status = "sent".to_owned();
        let c = self.campaigns[i].clone();
        if let Some(list) = &c.list_id {
            let subject = c.settings["subject_line"].as_str().unwrap_or("").to_owned();
            self.emit(
                list,
                "campaign",
                "api",
                &[
                    ("id", c.id.clone()),
                    ("subject", subject),
                    ("status", "sent".to_owned()),
                    ("reason", String::new()),
                    ("list_id", list.clone()),
                ],
            );
        }
    }

    /// A `GET` saw campaign `i`: with [`MailchimpFakeConfig::sending_gets`], it may finish.
    pub(super) fn seen(&mut self, i: usize) {
        let Some(n) = self.config.sending_gets else {
            return;
        };
        let c = &mut self.campaigns[i];
        if c.status == "sending" {
            c.sending_gets += 1;
            if c.sending_gets >= n {
                self.finish_sending(i);
            }
        }
    }

    /// The subscribed members a campaign goes to (its segment's, when it has one).
    pub(super) fn recipients(&self, c: &CampaignRec) -> u64 {
        let Some(list) = &c.list_id else { return 0 };
        let seg = c.segment_id.and_then(|id| {
            self.segments
                .iter()
                .find(|s| s.id == id && &s.list_id == list)
        });
        self.members
            .iter()
            .filter(|((l, h), m)| {
                l == list && m.status == "subscribed" && seg.is_none_or(|s| s.members.contains(h))
            })
            .count() as u64
    }

    pub(super) fn member_count(&self, list: &str, status: &str) -> u64 {
        self.members
            .iter()
            .filter(|((l, _), m)| l == list && m.status == status)
            .count() as u64
    }

    /// Queues a delivery of `kind` for every webhook of `list` that wants it from `source`.
    pub(super) fn emit(&mut self, list: &str, kind: &str, source: &str, data: &[(&str, String)]) {
        let fired_at = chrono::DateTime::from_timestamp(self.now(), 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let targets: Vec<String> = self
            .webhooks
            .iter()
            .filter(|w| {
                w.list_id == list
                    && w.events[kind].as_bool() == Some(true)
                    && (kind == "campaign" || w.sources[source].as_bool() == Some(true))
            })
            .map(|w| w.url.clone())
            .collect();
        let pairs: Vec<(&str, &str)> = data.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let body = super::webhook_form(kind, &fired_at, &pairs);
        for url in targets {
            self.outbox.push(MailchimpDelivery {
                url,
                kind: kind.to_owned(),
                body: body.clone(),
            });
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct AccountRec {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) user_id: u64,
    pub(super) login_name: String,
    pub(super) login_email: String,
    pub(super) paid: bool,
    /// Sending domains not verified: a from address there fails the checklist.
    pub(super) unverified_domains: HashSet<String>,
    /// Every token issued for the account starts with it.
    pub(super) canary: Option<String>,
}

/// An API key or an OAuth token.
#[derive(Clone, Debug)]
pub(super) struct CredRec {
    pub(super) account: String,
    pub(super) revoked: bool,
}

#[derive(Clone, Debug)]
pub(super) struct CodeRec {
    pub(super) account: String,
    pub(super) redirect_uri: String,
    pub(super) used: bool,
}

#[derive(Clone, Debug)]
pub(super) struct ListRec {
    pub(super) id: String,
    pub(super) web_id: u64,
    pub(super) account: String,
    pub(super) name: String,
    pub(super) from_name: String,
    pub(super) from_email: String,
    pub(super) date_created: i64,
}

#[derive(Clone, Debug)]
pub(super) struct MemberRec {
    pub(super) email: String,
    pub(super) status: String,
    pub(super) merge_fields: Value,
    /// Active tags, in the order added.
    pub(super) tags: Vec<String>,
    pub(super) web_id: u64,
    pub(super) timestamp_opt: i64,
}

#[derive(Clone, Debug)]
pub(super) struct SegmentRec {
    pub(super) id: u64,
    pub(super) list_id: String,
    pub(super) name: String,
    /// `static` (a tag) or `saved`.
    pub(super) kind: &'static str,
    pub(super) members: HashSet<String>,
    /// A saved segment Mailchimp is still building: the checklist refuses it.
    pub(super) processing: bool,
}

#[derive(Clone, Debug)]
pub(super) struct CampaignRec {
    pub(super) id: String,
    pub(super) web_id: u64,
    pub(super) account: String,
    pub(super) kind: String,
    pub(super) list_id: Option<String>,
    pub(super) segment_id: Option<u64>,
    pub(super) status: String,
    pub(super) settings: Value,
    pub(super) html: Option<String>,
    pub(super) plain_text: Option<String>,
    pub(super) template: Option<Value>,
    pub(super) create_time: i64,
    pub(super) schedule_time: Option<i64>,
    pub(super) send_time: Option<i64>,
    pub(super) timewarp: bool,
    pub(super) batch_delivery: Option<Value>,
    pub(super) sending_since: Option<i64>,
    pub(super) sending_gets: u32,
    pub(super) emails_sent: u64,
    pub(super) sends: u32,
    pub(super) tests: Vec<(Vec<String>, String)>,
    pub(super) report: MailchimpReport,
}

#[derive(Clone, Debug)]
pub(super) struct BatchRec {
    pub(super) id: String,
    pub(super) account: String,
    pub(super) operations: Vec<Value>,
    pub(super) submitted_at: i64,
    pub(super) completed_at: Option<i64>,
    /// The operations' results, once run (at the end of `finalizing`).
    pub(super) results: Option<Vec<MailchimpBatchResult>>,
}

#[derive(Clone, Debug)]
pub(super) struct WebhookRec {
    pub(super) id: String,
    pub(super) list_id: String,
    pub(super) url: String,
    pub(super) events: Value,
    pub(super) sources: Value,
}
