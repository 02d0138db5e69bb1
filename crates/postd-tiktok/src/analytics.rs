//! Metrics from the Display API
//! (<https://developers.tiktok.com/doc/tiktok-api-v2-video-query>,
//! <https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info>): lifetime
//! counters at the moment they are read (TikTok has no date-range API), so
//! each series is one point stamped now; series over time come from
//! sampling again.

use chrono::Utc;
use postd_core::http::RequestContext;
use postd_core::secrecy::SecretString;
use postd_core::{
    DateRange, Error, ErrorKind, MetricKind, MetricPoint, MetricSeries, Metrics, Platform, Result,
    Target, TokenSet,
};
use serde::Deserialize;
use serde_json::json;

use crate::api::Api;
use crate::auth::user_info;

/// A video as the Display API answers it.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub(crate) struct Video {
    #[serde(deserialize_with = "id_text")]
    pub(crate) id: String,
    pub(crate) title: Option<String>,
    pub(crate) video_description: Option<String>,
    pub(crate) create_time: Option<i64>,
    pub(crate) share_url: Option<String>,
    pub(crate) view_count: Option<u64>,
    pub(crate) like_count: Option<u64>,
    pub(crate) comment_count: Option<u64>,
    pub(crate) share_count: Option<u64>,
}

fn id_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Num(u64),
        Str(String),
    }
    Ok(match Id::deserialize(d)? {
        Id::Num(n) => n.to_string(),
        Id::Str(s) => s,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Videos {
    videos: Vec<Video>,
}

/// `POST /v2/video/query/?fields=...` for up to 20 ids.
pub(crate) async fn query(
    api: &Api,
    token: &SecretString,
    ids: &[&str],
    fields: &str,
) -> Result<Vec<Video>> {
    let ctx = RequestContext::idempotent(Platform::TikTok, "video.query");
    let url = api.url("video/query/", Some(&format!("fields={fields}")));
    let data: Videos = api
        .post(ctx, url, token, &json!({"filters": {"video_ids": ids}}))
        .await?;
    Ok(data.videos)
}

fn point(kind: MetricKind, raw: &str, value: Option<u64>) -> Option<MetricSeries> {
    #[allow(clippy::cast_precision_loss)] // counters far below 2^53
    value.map(|v| {
        MetricSeries::new(
            kind,
            raw,
            Some("lifetime".to_owned()),
            vec![MetricPoint::new(Some(Utc::now()), v as f64)],
        )
    })
}

/// A call that needs `scope` refuses a token known to lack it, saying how
/// to get it.
fn require_scope(tokens: &TokenSet, scope: &str, operation: &'static str) -> Result<()> {
    if !crate::auth::lacks_scope(tokens, scope) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::PermissionDenied,
        format!(
            "reading these TikTok metrics needs the {scope} scope, which this creator did not grant: \
             add it to TIKTOK_SCOPES (and enable it for the app in TikTok's developer portal), then have the creator authorize again"
        ),
    )
    .with_platform(Platform::TikTok)
    .with_operation(operation))
}

pub(crate) async fn post_metrics(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    post_id: &str,
) -> Result<Metrics> {
    let _ = target;
    require_scope(tokens, "video.list", "post_metrics")?;
    if post_id.is_empty() || post_id.len() > 64 || !post_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new(
            ErrorKind::NotFound,
            "TikTok has metrics only for public videos, by their numeric id; this post has none (it is private, a draft, or not public yet)",
        )
        .with_platform(Platform::TikTok)
        .with_operation("post_metrics"));
    }
    let videos = query(
        api,
        &tokens.access_token,
        &[post_id],
        "id,view_count,like_count,comment_count,share_count",
    )
    .await?;
    let Some(v) = videos.into_iter().find(|v| v.id == post_id) else {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("TikTok has no public video {post_id}"),
        )
        .with_platform(Platform::TikTok)
        .with_operation("post_metrics"));
    };
    Ok(Metrics::new(
        [
            point(MetricKind::VideoViews, "view_count", v.view_count),
            point(MetricKind::Reactions, "like_count", v.like_count),
            point(MetricKind::Comments, "comment_count", v.comment_count),
            point(MetricKind::Shares, "share_count", v.share_count),
        ]
        .into_iter()
        .flatten()
        .collect(),
    ))
}

pub(crate) async fn target_metrics(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    range: DateRange,
) -> Result<Metrics> {
    let _ = (target, range);
    require_scope(tokens, "user.info.stats", "target_metrics")?;
    let me = user_info(
        api,
        &tokens.access_token,
        "open_id,follower_count,following_count,likes_count,video_count",
    )
    .await?;
    Ok(Metrics::new(
        [
            point(MetricKind::Followers, "follower_count", me.follower_count),
            point(MetricKind::Other, "following_count", me.following_count),
            point(MetricKind::Reactions, "likes_count", me.likes_count),
            point(MetricKind::Other, "video_count", me.video_count),
        ]
        .into_iter()
        .flatten()
        .collect(),
    ))
}
