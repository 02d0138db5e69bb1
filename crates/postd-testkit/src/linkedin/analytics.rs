//! Analytics: organization share statistics, member post analytics and social metadata, fed by
//! the fake's knobs (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics>).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate};
use serde_json::{Map, Value, json};

use super::auth::{TokenRec, has};
use super::errors::{Answer, Fail, Reply, denied, illegal, not_found};
use super::posts::PostRec;
use super::request::Ctx;
use super::restli::Rv;
use super::state::{State, org_id_of, person_urn};

impl State {
    pub(super) fn share_statistics(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
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

    pub(super) fn member_analytics(&mut self, ctx: &Ctx<'_>, tok: &TokenRec) -> Answer {
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

    pub(super) fn social_metadata(&mut self, ctx: &Ctx<'_>, tok: &TokenRec, urn: &str) -> Answer {
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

fn ymd(ms: i64) -> Value {
    let d = DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive();
    json!({"year": d.year(), "month": d.month(), "day": d.day()})
}

const DAY_MS: i64 = 86_400_000;

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

#[derive(Clone, Debug, Default)]
pub(super) struct Stats {
    pub(super) impressions: u64,
    pub(super) clicks: u64,
    pub(super) likes: u64,
    pub(super) comments: u64,
    pub(super) shares: u64,
    pub(super) metrics: BTreeMap<String, u64>,
    pub(super) reactions: BTreeMap<String, u64>,
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
