//! Insights for Pages, posts, videos, Instagram media and accounts, with the 2025 metric
//! removals and the "empty values" behaviour (<https://developers.facebook.com/blog/post/2025/08/15/page-insights-api-updates/>).

use serde_json::{Value, json};
use url::Url;

use super::auth::TokenRec;
use super::errors::{Answer, GraphErr, invalid_param, missing_param, no_object};
use super::fields::{fb_time, parse_time};
use super::instagram::list_param;
use super::request::Ctx;
use super::state::State;
use crate::util::{FNV_OFFSET, fnv1a};

impl State {
    pub(super) fn page_insights(&mut self, ctx: &mut Ctx<'_>, page_id: &str) -> Answer {
        let rec = self.page_read_token(ctx, page_id)?;
        self.insights_scope(&rec, "read_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(GraphErr::new(3001, Some(1_504_028), "Invalid query")
                .user(
                    "No metric specified",
                    "No metric was specified to be fetched.",
                )
                .into());
        }
        if let Some(_bad) = metrics.iter().find(|m| !PAGE_METRICS.contains(&m.as_str())) {
            return Err(invalid_metric().into());
        }
        let period = ctx.p("period").unwrap_or("day").to_owned();
        let days = self.days(ctx, Some(93))?;
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| self.series_row(page_id, "insights", m, &period, &days))
            .collect();
        let paging = self.insights_paging(ctx, &format!("{page_id}/insights"), &days);
        Ok(json!({ "data": data, "paging": paging }))
    }

    fn insights_scope(&self, rec: &TokenRec, scope: &str) -> Result<(), GraphErr> {
        if self.has_scope(&rec.user_id, scope) {
            Ok(())
        } else {
            Err(GraphErr::new(
                10,
                None,
                format!("(#10) This endpoint requires the '{scope}' permission"),
            ))
        }
    }

    /// Days (as `end_time` unix seconds) of a `since`/`until` range, Meta style.
    fn days(&self, ctx: &Ctx<'_>, max_days: Option<i64>) -> Result<Vec<i64>, GraphErr> {
        let now = self.now();
        let until = match ctx.p("until") {
            Some(u) => parse_time(u, now).ok_or_else(|| invalid_param("Invalid until"))?,
            None => now,
        };
        let since = match ctx.p("since") {
            Some(s) => parse_time(s, now).ok_or_else(|| invalid_param("Invalid since"))?,
            None => until - 2 * 86_400,
        };
        if since > until {
            return Err(invalid_param("since must be before until"));
        }
        if let Some(max) = max_days
            && until - since > max * 86_400
        {
            return Err(invalid_param(&format!(
                "There cannot be more than {max} days ({} s) between since and until",
                max * 86_400
            )));
        }
        let first = since.div_euclid(86_400) + 1;
        let last = until.div_euclid(86_400);
        let mut days: Vec<i64> = (first..=last).map(|d| d * 86_400 + 7 * 3_600).collect();
        if days.is_empty() {
            days.push(last * 86_400 + 7 * 3_600);
        }
        Ok(days)
    }

    fn series_row(
        &self,
        object: &str,
        edge: &str,
        metric: &str,
        period: &str,
        days: &[i64],
    ) -> Value {
        let values: Vec<Value> = if self.empty_metrics.contains(metric) {
            Vec::new()
        } else {
            days.iter()
                .map(|d| {
                    let v = metric_value(object, metric, *d);
                    let value = match metric {
                        "page_media_view" => json!({"paid": v / 4, "organic": v - v / 4}),
                        _ => json!(v),
                    };
                    json!({"value": value, "end_time": fb_time(*d)})
                })
                .collect()
        };
        json!({
            "name": metric,
            "period": period,
            "values": values,
            "title": title_of(metric),
            "description": format!("{} (fake data)", title_of(metric)),
            "id": format!("{object}/{edge}/{metric}/{period}"),
        })
    }

    fn insights_paging(&self, ctx: &Ctx<'_>, path: &str, days: &[i64]) -> Value {
        let span = (days.len() as i64).max(1) * 86_400;
        let until = days.last().copied().unwrap_or(0) - 7 * 3_600;
        let build = |since: i64, until: i64| {
            let mut u = Url::parse(&format!("{}/{}/{}", self.base_uri, ctx.version, path))
                .unwrap_or_else(|_| Url::parse("http://invalid/").unwrap());
            {
                let mut q = u.query_pairs_mut();
                if let Some(t) = &ctx.token {
                    q.append_pair("access_token", t);
                }
                for key in ["metric", "period", "metric_type"] {
                    if let Some(v) = ctx.p(key) {
                        q.append_pair(key, v);
                    }
                }
                q.append_pair("since", &since.to_string());
                q.append_pair("until", &until.to_string());
            }
            u.to_string()
        };
        json!({
            "previous": build(until - 2 * span, until - span),
            "next": build(until, until + span),
        })
    }

    pub(super) fn post_insights(&mut self, ctx: &mut Ctx<'_>, post_id: &str) -> Answer {
        let page_id = self.page_of_post(post_id).unwrap_or_default();
        let rec = self.page_read_token(ctx, &page_id)?;
        self.insights_scope(&rec, "read_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(GraphErr::new(3001, Some(1_504_028), "Invalid query")
                .user(
                    "No metric specified",
                    "No metric was specified to be fetched.",
                )
                .into());
        }
        if metrics.iter().any(|m| !POST_METRICS.contains(&m.as_str())) {
            return Err(invalid_metric().into());
        }
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| self.lifetime_row(post_id, "insights", m))
            .collect();
        Ok(json!({ "data": data }))
    }

    fn lifetime_row(&self, object: &str, edge: &str, metric: &str) -> Value {
        let values: Vec<Value> = if self.empty_metrics.contains(metric) {
            Vec::new()
        } else {
            let v = metric_value(object, metric, 0);
            let value = match metric {
                "post_reactions_by_type_total" => json!({"like": v, "love": v / 3}),
                "post_clicks_by_type" => json!({"link clicks": v, "other clicks": v / 2}),
                "post_activity_by_action_type" => {
                    json!({"share": v / 5, "like": v, "comment": v / 4})
                }
                _ => json!(v),
            };
            vec![json!({ "value": value })]
        };
        json!({
            "name": metric,
            "period": "lifetime",
            "values": values,
            "title": title_of(metric),
            "description": format!("{} (fake data)", title_of(metric)),
            "id": format!("{object}/{edge}/{metric}/lifetime"),
        })
    }

    pub(super) fn video_insights(&mut self, ctx: &mut Ctx<'_>, video_id: &str) -> Answer {
        let page_id = self
            .videos
            .iter()
            .find(|v| v.video.id == video_id)
            .map(|v| v.page_id.clone())
            .unwrap_or_default();
        let rec = self.authenticate(ctx)?;
        if self.page_access(&rec, &page_id).is_none() {
            return Err(no_object(video_id, "GET").into());
        }
        self.touch(ctx, &page_id, "pages")?;
        self.insights_scope(&rec, "read_insights")?;
        let mut metrics = metrics_of(ctx);
        if metrics.is_empty() {
            metrics = [
                "total_video_views",
                "total_video_views_unique",
                "total_video_avg_time_watched",
            ]
            .map(str::to_owned)
            .to_vec();
        }
        if metrics.iter().any(|m| !VIDEO_METRICS.contains(&m.as_str())) {
            return Err(invalid_metric().into());
        }
        let data: Vec<Value> = metrics
            .iter()
            .map(|m| self.lifetime_row(video_id, "video_insights", m))
            .collect();
        Ok(json!({ "data": data }))
    }

    pub(super) fn ig_media_insights(&mut self, ctx: &mut Ctx<'_>, media_id: &str) -> Answer {
        let m = self
            .media
            .iter()
            .find(|m| m.media.id == media_id)
            .cloned()
            .ok_or_else(|| no_object(media_id, "GET"))?;
        let rec = self.ig_token(ctx, &m.ig_user_id, "GET")?;
        self.insights_scope(&rec, "instagram_manage_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(missing_param("metric").into());
        }
        let allowed = match m.media.media_product_type.as_str() {
            "REELS" => IG_REELS_METRICS,
            "STORY" => IG_STORY_METRICS,
            _ => IG_FEED_METRICS,
        };
        let mut every: Vec<&str> = IG_FEED_METRICS
            .iter()
            .chain(IG_REELS_METRICS)
            .chain(IG_STORY_METRICS)
            .copied()
            .collect();
        every.sort_unstable();
        every.dedup();
        for (i, metric) in metrics.iter().enumerate() {
            if !every.contains(&metric.as_str()) {
                return Err(invalid_param(&format!(
                    "metric[{i}] must be one of the following values: {}",
                    every.join(", ")
                ))
                .into());
            }
        }
        let unsupported: Vec<&str> = metrics
            .iter()
            .filter(|m| !allowed.contains(&m.as_str()))
            .map(String::as_str)
            .collect();
        if !unsupported.is_empty() {
            return Err(invalid_param(&format!(
                "The Media Insights API does not support the {} metric for this media product type.",
                unsupported.join(", ")
            ))
            .into());
        }
        let data: Vec<Value> = metrics
            .iter()
            .map(|metric| self.lifetime_row(media_id, "insights", metric))
            .collect();
        Ok(json!({ "data": data }))
    }

    pub(super) fn ig_user_insights(&mut self, ctx: &mut Ctx<'_>, ig: &str) -> Answer {
        let rec = self.ig_token(ctx, ig, "GET")?;
        self.insights_scope(&rec, "instagram_manage_insights")?;
        let metrics = metrics_of(ctx);
        if metrics.is_empty() {
            return Err(missing_param("metric").into());
        }
        let period = ctx
            .p("period")
            .ok_or_else(|| missing_param("period"))?
            .to_owned();
        let total = ctx.p("metric_type") == Some("total_value");
        let mut every: Vec<&str> = IG_USER_SERIES_METRICS
            .iter()
            .chain(IG_USER_TOTAL_ONLY_METRICS)
            .copied()
            .collect();
        every.sort_unstable();
        every.dedup();
        for (i, metric) in metrics.iter().enumerate() {
            if !every.contains(&metric.as_str()) {
                return Err(invalid_param(&format!(
                    "metric[{i}] must be one of the following values: {}",
                    every.join(", ")
                ))
                .into());
            }
        }
        if !total {
            let need: Vec<&str> = metrics
                .iter()
                .filter(|m| IG_USER_TOTAL_ONLY_METRICS.contains(&m.as_str()))
                .map(String::as_str)
                .collect();
            if !need.is_empty() {
                return Err(invalid_param(&format!(
                    "The following metrics ({}) should be specified with parameter metric_type=total_value",
                    need.join(", ")
                ))
                .into());
            }
        }
        let days = self.days(ctx, Some(30))?;
        let mut data = Vec::new();
        for metric in &metrics {
            if total {
                if self.empty_metrics.contains(metric.as_str()) {
                    continue;
                }
                let sum: u64 = days.iter().map(|d| metric_value(ig, metric, *d)).sum();
                data.push(json!({
                    "name": metric,
                    "period": period,
                    "title": title_of(metric),
                    "description": format!("{} (fake data)", title_of(metric)),
                    "total_value": {"value": sum},
                    "id": format!("{ig}/insights/{metric}/{period}"),
                }));
            } else {
                data.push(self.series_row(ig, "insights", metric, &period, &days));
            }
        }
        let paging = self.insights_paging(ctx, &format!("{ig}/insights"), &days);
        Ok(json!({ "data": data, "paging": paging }))
    }
}

fn metrics_of(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.p("metric").map(list_param).unwrap_or_default()
}

fn invalid_metric() -> GraphErr {
    GraphErr::new(
        100,
        None,
        "(#100) The value must be a valid insights metric",
    )
}

fn metric_value(object: &str, metric: &str, salt: i64) -> u64 {
    fnv1a(FNV_OFFSET, format!("{object}/{metric}/{salt}").as_bytes()) % 500 + 1
}

fn title_of(metric: &str) -> String {
    let mut t = metric.replace('_', " ");
    if let Some(first) = t.get(..1) {
        let up = first.to_ascii_uppercase();
        t.replace_range(..1, &up);
    }
    t
}

const PAGE_METRICS: &[&str] = &[
    "page_total_media_view_unique",
    "page_media_view",
    "page_post_engagements",
    "page_daily_follows",
    "page_daily_follows_unique",
    "page_daily_unfollows_unique",
    "page_follows",
    "page_views_total",
    "page_video_views",
    "page_video_views_unique",
    "page_actions_post_reactions_total",
    "page_total_actions",
];

const POST_METRICS: &[&str] = &[
    "post_total_media_view_unique",
    "post_media_view",
    "post_reactions_by_type_total",
    "post_reactions_like_total",
    "post_clicks",
    "post_clicks_by_type",
    "post_video_views",
    "post_activity_by_action_type",
];

const VIDEO_METRICS: &[&str] = &[
    "total_video_views",
    "total_video_views_unique",
    "total_video_avg_time_watched",
    "total_video_view_total_time",
    "total_video_complete_views",
    "post_video_avg_time_watched",
    "post_video_views",
    "fb_reels_total_plays",
    "fb_reels_replay_count",
    "blue_reels_play_count",
];

const IG_FEED_METRICS: &[&str] = &[
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "follows",
    "profile_visits",
    "profile_activity",
    "total_likes",
    "total_comments",
    "total_views",
];

const IG_REELS_METRICS: &[&str] = &[
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    "ig_reels_avg_watch_time",
    "ig_reels_video_view_total_time",
    "total_likes",
    "total_comments",
    "total_views",
];

const IG_STORY_METRICS: &[&str] = &[
    "views",
    "reach",
    "replies",
    "navigation",
    "shares",
    "follows",
    "profile_visits",
    "profile_activity",
    "total_interactions",
];

const IG_USER_SERIES_METRICS: &[&str] = &["reach", "follower_count", "online_followers"];

const IG_USER_TOTAL_ONLY_METRICS: &[&str] = &[
    "website_clicks",
    "profile_views",
    "accounts_engaged",
    "total_interactions",
    "likes",
    "comments",
    "shares",
    "saves",
    "replies",
    "views",
    "profile_links_taps",
    "follows_and_unfollows",
    "engaged_audience_demographics",
    "reached_audience_demographics",
    "follower_demographics",
];
