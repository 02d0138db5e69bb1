//! Analytics. LinkedIn's numbers run 1-3 hours behind.
//!
//! - Organization posts: `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={org}&shares=List({urn})`
//!   (lifetime totals; `ugcPosts=List(...)` for `urn:li:ugcPost:` ids).
//! - Organization over a range: the same with `timeIntervals=(timeRange:(start:..,end:..),timeGranularityType:DAY)`.
//! - Member posts: `GET /rest/memberCreatorPostAnalytics?q=entity&entity=(share:{urn})&queryType=...&aggregation=TOTAL`,
//!   one call per metric; needs `r_member_postAnalytics`.
//! - Any post: `GET /rest/socialMetadata/{urn}` for reactions and comments.

use chrono::{DateTime, Datelike};
use postd_core::secrecy::SecretString;
use postd_core::{
    DateRange, Error, ErrorKind, MetricKind, MetricPoint, MetricSeries, Metrics, Platform, Result,
    Target, TargetKind, TokenSet,
};
use serde::Deserialize;
use serde_json::Value;

use crate::models::Elements;
use crate::rest::{Rest, encode};

/// Member post metrics, one request each.
const MEMBER_QUERY_TYPES: &[(&str, MetricKind)] = &[
    ("IMPRESSION", MetricKind::Impressions),
    ("MEMBERS_REACHED", MetricKind::Reach),
    ("RESHARE", MetricKind::Shares),
    ("REACTION", MetricKind::Reactions),
    ("COMMENT", MetricKind::Comments),
];

/// Organization share statistics fields.
const SHARE_FIELDS: &[(&str, MetricKind)] = &[
    ("impressionCount", MetricKind::Impressions),
    ("uniqueImpressionsCount", MetricKind::Reach),
    ("clickCount", MetricKind::Clicks),
    ("likeCount", MetricKind::Reactions),
    ("commentCount", MetricKind::Comments),
    ("shareCount", MetricKind::Shares),
    ("engagement", MetricKind::Engagements),
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShareStatistics {
    #[serde(default)]
    time_range: Option<TimeRange>,
    #[serde(default)]
    total_share_statistics: Option<Value>,
}

#[derive(Deserialize)]
struct TimeRange {
    #[serde(default)]
    end: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MemberCount {
    #[serde(default)]
    count: Option<f64>,
    #[serde(default)]
    date_range: Option<DayRange>,
}

#[derive(Deserialize)]
struct DayRange {
    #[serde(default)]
    end: Option<Ymd>,
}

#[derive(Deserialize)]
struct Ymd {
    year: i32,
    month: u32,
    day: u32,
}

impl MemberCount {
    fn day_end(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let e = self.date_range.as_ref()?.end.as_ref()?;
        chrono::NaiveDate::from_ymd_opt(e.year, e.month, e.day)?
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SocialMetadata {
    #[serde(default)]
    reaction_summaries: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    comment_summary: Option<Value>,
}

pub(crate) async fn post_metrics(
    rest: &Rest,
    tokens: &TokenSet,
    target: &Target,
    post_urn: &str,
) -> Result<Metrics> {
    let token = &tokens.access_token;
    let mut series = match target.kind {
        TargetKind::LinkedInOrganization => {
            let key = if post_urn.starts_with("urn:li:ugcPost:") {
                "ugcPosts"
            } else {
                "shares"
            };
            let query = format!(
                "q=organizationalEntity&organizationalEntity={}&{key}=List({})",
                encode(&target.id),
                encode(post_urn)
            );
            let stats: Elements<ShareStatistics> = rest
                .get(
                    "rest.share_statistics",
                    rest.rest_url("organizationalEntityShareStatistics", Some(&query)),
                    token,
                )
                .await?;
            share_series(&stats.elements)
        }
        // Member analytics need r_member_postAnalytics; without it, the other source still counts.
        _ => granted(member_series(rest, token, post_urn).await)?.unwrap_or_default(),
    };
    // socialMetadata needs r_member_social (restricted) for member posts.
    let social = granted(social_metadata(rest, token, post_urn).await)?;
    let any_source = !series.is_empty() || social.is_some();
    series.extend(social.unwrap_or_default());
    if !any_source {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "no analytics source is granted for this post (r_member_postAnalytics or r_member_social)",
        )
        .with_platform(Platform::LinkedIn)
        .with_operation("post_metrics"));
    }
    Ok(Metrics::new(series))
}

/// A source the token has no permission for is skipped (`None`), other errors fail.
fn granted<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn target_metrics(
    rest: &Rest,
    tokens: &TokenSet,
    target: &Target,
    range: DateRange,
) -> Result<Metrics> {
    let token = &tokens.access_token;
    match target.kind {
        TargetKind::LinkedInOrganization => {
            let query = format!(
                "q=organizationalEntity&organizationalEntity={}&timeIntervals=(timeRange:(start:{},end:{}),timeGranularityType:DAY)",
                encode(&target.id),
                range.since.timestamp_millis(),
                range.until.timestamp_millis()
            );
            let stats: Elements<ShareStatistics> = rest
                .get(
                    "rest.share_statistics",
                    rest.rest_url("organizationalEntityShareStatistics", Some(&query)),
                    token,
                )
                .await?;
            Ok(Metrics::new(share_series(&stats.elements)))
        }
        _ => {
            // Member analytics over all the member's posts, per day in the range.
            let day = |t: chrono::DateTime<chrono::Utc>| {
                format!("(day:{},month:{},year:{})", t.day(), t.month(), t.year())
            };
            let date_range = format!("(start:{},end:{})", day(range.since), day(range.until));
            let mut series = Vec::new();
            for (query_type, kind) in MEMBER_QUERY_TYPES {
                if *query_type == "MEMBERS_REACHED" {
                    // Reach is only given as a total, not per day.
                    continue;
                }
                let query =
                    format!("q=me&queryType={query_type}&aggregation=DAILY&dateRange={date_range}");
                let counts: Elements<MemberCount> = rest
                    .get(
                        "rest.member_post_analytics",
                        rest.rest_url("memberCreatorPostAnalytics", Some(&query)),
                        token,
                    )
                    .await?;
                let points = counts
                    .elements
                    .iter()
                    .filter_map(|c| Some(MetricPoint::new(c.day_end(), c.count?)))
                    .collect();
                series.push(MetricSeries::new(
                    *kind,
                    *query_type,
                    Some("day".to_owned()),
                    points,
                ));
            }
            Ok(Metrics::new(series))
        }
    }
}

async fn member_series(
    rest: &Rest,
    token: &SecretString,
    post_urn: &str,
) -> Result<Vec<MetricSeries>> {
    let entity_key = if post_urn.starts_with("urn:li:ugcPost:") {
        "ugc"
    } else {
        "share"
    };
    let mut out = Vec::new();
    for (query_type, kind) in MEMBER_QUERY_TYPES {
        let query = format!(
            "q=entity&entity=({entity_key}:{})&queryType={query_type}&aggregation=TOTAL",
            encode(post_urn)
        );
        let counts: Elements<MemberCount> = rest
            .get(
                "rest.member_post_analytics",
                rest.rest_url("memberCreatorPostAnalytics", Some(&query)),
                token,
            )
            .await?;
        let points = counts
            .elements
            .iter()
            .filter_map(|c| c.count)
            .map(|v| MetricPoint::new(None, v))
            .collect();
        out.push(MetricSeries::new(
            *kind,
            *query_type,
            Some("lifetime".to_owned()),
            points,
        ));
    }
    Ok(out)
}

fn share_series(elements: &[ShareStatistics]) -> Vec<MetricSeries> {
    SHARE_FIELDS
        .iter()
        .map(|(field, kind)| {
            let points = elements
                .iter()
                .filter_map(|e| {
                    let v = e.total_share_statistics.as_ref()?.get(*field)?.as_f64()?;
                    let end = e
                        .time_range
                        .as_ref()
                        .and_then(|t| t.end)
                        .and_then(DateTime::from_timestamp_millis);
                    Some(MetricPoint::new(end, v))
                })
                .collect();
            MetricSeries::new(*kind, *field, None, points)
        })
        .collect()
}

async fn social_metadata(
    rest: &Rest,
    token: &SecretString,
    post_urn: &str,
) -> Result<Vec<MetricSeries>> {
    let meta: SocialMetadata = rest
        .get(
            "rest.social_metadata",
            rest.rest_url(&format!("socialMetadata/{}", encode(post_urn)), None),
            token,
        )
        .await?;
    let mut out = Vec::new();
    if let Some(reactions) = meta.reaction_summaries {
        let counts: Vec<f64> = reactions
            .values()
            .filter_map(|r| r.get("count").and_then(Value::as_f64))
            .collect();
        let points = if counts.is_empty() {
            Vec::new()
        } else {
            vec![MetricPoint::new(None, counts.iter().sum())]
        };
        out.push(MetricSeries::new(
            MetricKind::Reactions,
            "reactionSummaries",
            Some("lifetime".to_owned()),
            points,
        ));
    }
    if let Some(comments) = meta.comment_summary {
        let points = comments
            .get("count")
            .and_then(Value::as_f64)
            .map(|v| vec![MetricPoint::new(None, v)])
            .unwrap_or_default();
        out.push(MetricSeries::new(
            MetricKind::Comments,
            "commentSummary",
            Some("lifetime".to_owned()),
            points,
        ));
    }
    Ok(out)
}
