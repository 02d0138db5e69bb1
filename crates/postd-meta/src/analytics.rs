//! Insights, using the metrics that are current after Meta's 2025 removals
//! (the `impressions` family, `page_fans*`, Instagram `plays`/`video_views`
//! are gone; `views` and `*_media_view*` replace them).
//!
//! - Page post: `GET /{page_post_id}/insights?metric=post_total_media_view_unique,post_reactions_by_type_total,post_clicks`.
//! - Page video (a bare numeric id has no `insights` edge): `GET /{video}/video_insights?metric=total_video_views`.
//! - Page: `GET /{page}/insights?metric=page_total_media_view_unique,page_post_engagements,page_daily_follows&period=day&since&until`.
//! - Instagram media: `GET /{media}/insights?metric=...` with metrics by
//!   product type (feed, reels, story), since reels and stories reject some.
//! - Instagram account: `GET /{ig}/insights?metric=reach&period=day&since&until`
//!   and `metric_type=total_value` for the totals.
//!
//! Data runs up to 48 hours late. A metric with no data comes back as an
//! empty series, never as zero.

use chrono::{DateTime, Utc};
use postd_core::{
    DateRange, Error, ErrorKind, MetricKind, MetricPoint, MetricSeries, Metrics, Platform, Result,
    Target, TargetKind, TokenSet,
};

use crate::graph::{Auth, Graph};
use crate::models::{IgMedia, InsightRow, InsightValue, Paged, parse_time};

/// Insights accept at most 90 days between `since` and `until`.
const MAX_RANGE: chrono::TimeDelta = chrono::TimeDelta::days(90);

const PAGE_POST_METRICS: &str =
    "post_total_media_view_unique,post_reactions_by_type_total,post_clicks";
const PAGE_VIDEO_METRICS: &str = "total_video_views";
const PAGE_METRICS: &str = "page_total_media_view_unique,page_post_engagements,page_daily_follows";
const IG_FEED_METRICS: &str = "views,reach,likes,comments,shares,saved,total_interactions";
const IG_REELS_METRICS: &str =
    "views,reach,likes,comments,shares,saved,total_interactions,ig_reels_avg_watch_time";
const IG_STORY_METRICS: &str = "views,reach,replies,shares,total_interactions";
const IG_ACCOUNT_SERIES: &str = "reach";
const IG_ACCOUNT_TOTALS: &str =
    "views,accounts_engaged,total_interactions,likes,comments,shares,saves,replies";

pub(crate) async fn post_metrics(
    graph: &Graph,
    tokens: &TokenSet,
    target: &Target,
    post_id: &str,
) -> Result<Metrics> {
    let token = crate::auth::target_token(tokens, target)?;
    let object = target.id.as_str();
    let rows: Paged<InsightRow> = match target.kind {
        TargetKind::FacebookPage => {
            // Page posts are `{page}_{post}`; a bare numeric id is a video, which has no `insights` edge.
            let (edge, metrics) = if post_id.contains('_') {
                ("insights", PAGE_POST_METRICS)
            } else {
                ("video_insights", PAGE_VIDEO_METRICS)
            };
            graph
                .get(
                    "graph.post_insights",
                    Auth::Token(token),
                    graph.url(&[post_id, edge]),
                    &[("metric", metrics)],
                    Some(object),
                )
                .await?
        }
        TargetKind::InstagramAccount => {
            let media: IgMedia = graph
                .get(
                    "graph.ig_media_get",
                    Auth::Token(token),
                    graph.url(&[post_id]),
                    &[("fields", "id,media_product_type")],
                    Some(object),
                )
                .await?;
            let metrics = match media.media_product_type.as_deref() {
                Some("REELS") => IG_REELS_METRICS,
                Some("STORY") => IG_STORY_METRICS,
                _ => IG_FEED_METRICS,
            };
            let rows: Result<Paged<InsightRow>> = graph
                .get(
                    "graph.ig_media_insights",
                    Auth::Token(token),
                    graph.url(&[post_id, "insights"]),
                    &[("metric", metrics)],
                    Some(object),
                )
                .await;
            match rows {
                // "(#10) Not enough viewers for the media to show insights": no data, not an error.
                Err(e) if e.platform_code() == Some("10") => Paged {
                    data: Vec::new(),
                    paging: None,
                },
                other => other?,
            }
        }
        _ => return Err(wrong_target(target)),
    };
    Ok(to_metrics(rows.data))
}

pub(crate) async fn target_metrics(
    graph: &Graph,
    tokens: &TokenSet,
    target: &Target,
    range: DateRange,
) -> Result<Metrics> {
    let token = crate::auth::target_token(tokens, target)?;
    let object = target.id.as_str();
    if range.until - range.since > MAX_RANGE {
        return Err(Error::new(
            ErrorKind::InvalidContent,
            "Meta insights take at most 90 days per request; split the range",
        )
        .with_platform(Platform::Meta)
        .with_operation("target_metrics"));
    }
    let since = range.since.timestamp().to_string();
    let until = range.until.timestamp().to_string();
    match target.kind {
        TargetKind::FacebookPage => {
            let rows: Paged<InsightRow> = graph
                .get(
                    "graph.page_insights",
                    Auth::Token(token),
                    graph.url(&[object, "insights"]),
                    &[
                        ("metric", PAGE_METRICS),
                        ("period", "day"),
                        ("since", &since),
                        ("until", &until),
                    ],
                    Some(object),
                )
                .await?;
            Ok(to_metrics(rows.data))
        }
        TargetKind::InstagramAccount => {
            let series: Paged<InsightRow> = graph
                .get(
                    "graph.ig_account_insights",
                    Auth::Token(token),
                    graph.url(&[object, "insights"]),
                    &[
                        ("metric", IG_ACCOUNT_SERIES),
                        ("period", "day"),
                        ("since", &since),
                        ("until", &until),
                    ],
                    Some(object),
                )
                .await?;
            let totals: Paged<InsightRow> = graph
                .get(
                    "graph.ig_account_insights",
                    Auth::Token(token),
                    graph.url(&[object, "insights"]),
                    &[
                        ("metric", IG_ACCOUNT_TOTALS),
                        ("period", "day"),
                        ("metric_type", "total_value"),
                        ("since", &since),
                        ("until", &until),
                    ],
                    Some(object),
                )
                .await?;
            let mut m = to_metrics(series.data);
            let end = Some(range.until);
            for row in totals.data {
                m.series.push(total_series(row, end));
            }
            Ok(m)
        }
        _ => Err(wrong_target(target)),
    }
}

fn wrong_target(target: &Target) -> Error {
    Error::new(
        ErrorKind::InvalidContent,
        format!("{:?} is not a Meta target", target.kind),
    )
    .with_platform(Platform::Meta)
}

fn to_metrics(rows: Vec<InsightRow>) -> Metrics {
    Metrics::new(
        rows.into_iter()
            .map(|row| {
                if row.values.is_empty() && row.total_value.is_some() {
                    return total_series(row, None);
                }
                let points = row.values.iter().filter_map(point).collect();
                MetricSeries::new(kind(&row.name), row.name, row.period, points)
            })
            .collect(),
    )
}

fn total_series(row: InsightRow, end: Option<DateTime<Utc>>) -> MetricSeries {
    let points = row
        .total_value
        .as_ref()
        .and_then(|v| number(&v.value))
        .map(|v| vec![MetricPoint::new(end, v)])
        .unwrap_or_default();
    MetricSeries::new(kind(&row.name), row.name, row.period, points)
}

fn point(v: &InsightValue) -> Option<MetricPoint> {
    let value = number(&v.value)?;
    Some(MetricPoint::new(
        v.end_time.as_deref().and_then(parse_time),
        value,
    ))
}

/// A number, or the sum of an object's numbers (`{"like": 3, "love": 1}`); `None` for null.
fn number(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::Object(map) => {
            let nums: Vec<f64> = map.values().filter_map(serde_json::Value::as_f64).collect();
            (!nums.is_empty()).then(|| nums.iter().sum())
        }
        _ => None,
    }
}

fn kind(name: &str) -> MetricKind {
    match name {
        "views"
        | "post_total_media_view_unique"
        | "page_total_media_view_unique"
        | "page_media_view" => MetricKind::Impressions,
        "reach" | "accounts_engaged" => MetricKind::Reach,
        "total_interactions" | "page_post_engagements" => MetricKind::Engagements,
        "likes" | "post_reactions_by_type_total" => MetricKind::Reactions,
        "comments" => MetricKind::Comments,
        "shares" => MetricKind::Shares,
        "saved" | "saves" => MetricKind::Saves,
        "post_clicks" => MetricKind::Clicks,
        "total_video_views" => MetricKind::VideoViews,
        "page_daily_follows" | "follows" | "follower_count" => MetricKind::Followers,
        _ => MetricKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_stay_empty_and_objects_sum() {
        let rows: Paged<InsightRow> = serde_json::from_str(
            r#"{"data":[
                {"name":"post_total_media_view_unique","period":"lifetime","values":[]},
                {"name":"post_reactions_by_type_total","period":"lifetime","values":[{"value":{"like":3,"love":1}}]},
                {"name":"page_daily_follows","period":"day","values":[{"value":0,"end_time":"2026-11-01T07:00:00+0000"},{"value":5,"end_time":"2026-11-02T07:00:00+0000"}]},
                {"name":"views","period":"day","total_value":{"value":42}}
            ]}"#,
        )
        .unwrap();
        let m = to_metrics(rows.data);
        let empty = m.get("post_total_media_view_unique").unwrap();
        assert!(empty.points.is_empty());
        assert_eq!(empty.total(), None);
        assert_eq!(
            m.get("post_reactions_by_type_total").unwrap().total(),
            Some(4.0)
        );
        let follows = m.get("page_daily_follows").unwrap();
        assert_eq!(follows.points.len(), 2);
        assert_eq!(follows.points[0].value, 0.0);
        assert!(follows.points[1].end_time.is_some());
        assert_eq!(m.get("views").unwrap().total(), Some(42.0));
        assert_eq!(m.get("views").unwrap().kind, MetricKind::Impressions);
    }

    #[test]
    fn no_removed_metric_is_requested() {
        let all = [
            PAGE_POST_METRICS,
            PAGE_VIDEO_METRICS,
            PAGE_METRICS,
            IG_FEED_METRICS,
            IG_REELS_METRICS,
            IG_STORY_METRICS,
            IG_ACCOUNT_SERIES,
            IG_ACCOUNT_TOTALS,
        ];
        for list in all {
            for metric in list.split(',') {
                assert!(
                    !metric.contains("impressions"),
                    "{metric} was removed in 2025"
                );
                assert!(
                    !metric.starts_with("page_fans"),
                    "{metric} was removed in 2025"
                );
                assert!(
                    !matches!(metric, "plays" | "video_views" | "clips_replays_count"),
                    "{metric} was removed in 2025"
                );
            }
        }
    }
}
