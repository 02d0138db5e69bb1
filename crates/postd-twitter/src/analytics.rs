//! Post metrics from `GET /2/tweets/:id` with `tweet.fields`
//! (<https://docs.x.com/x-api/fundamentals/metrics>,
//! <https://docs.x.com/x-api/posts/lookup/introduction>).
//!
//! `public_metrics` (impressions, likes, replies, reposts, quotes,
//! bookmarks) are there for any Post; `non_public_metrics` (link and profile
//! clicks) only for the author's own Posts of the last 30 days, with a user
//! token. They are asked for together; where X withholds the private ones
//! (answering the Post as a `not-authorized-for-field` problem) the public
//! ones are asked for alone. X gives no account metrics over a
//! date range: [`target_metrics`] is [`ErrorKind::Unsupported`].

use postd_core::http::RequestContext;
use postd_core::{
    DateRange, Error, ErrorKind, MetricKind, MetricPoint, MetricSeries, Metrics, Platform, Result,
    Target, TokenSet,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api::{Api, Caller};

/// Each metric X reports, with its common kind.
const KINDS: &[(&str, MetricKind)] = &[
    ("impression_count", MetricKind::Impressions),
    ("like_count", MetricKind::Reactions),
    ("reply_count", MetricKind::Comments),
    ("retweet_count", MetricKind::Shares),
    ("quote_count", MetricKind::Shares),
    ("bookmark_count", MetricKind::Saves),
    ("url_link_clicks", MetricKind::Clicks),
    ("user_profile_clicks", MetricKind::Clicks),
];

#[derive(Deserialize, Default)]
#[serde(default)]
struct Lookup {
    data: Option<PostData>,
    errors: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PostData {
    public_metrics: Option<Map<String, Value>>,
    non_public_metrics: Option<Map<String, Value>>,
}

pub(crate) async fn post_metrics(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    post_id: &str,
) -> Result<Metrics> {
    if post_id.is_empty() || post_id.len() > 19 || !post_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            Error::invalid_content(format!("{post_id:?} is not an X post id"))
                .with_platform(Platform::Twitter),
        );
    }
    let caller = Caller::user(crate::publish::user_id(target)?);
    let url = api.url(
        &format!("tweets/{post_id}"),
        &[("tweet.fields", "public_metrics,non_public_metrics")],
    );
    let ctx = RequestContext::idempotent(Platform::Twitter, "tweets.lookup");
    let lookup: Lookup = match api.get(ctx, &caller, url, &tokens.access_token).await {
        Ok(l) => l,
        // A tier or a token that may not read private metrics: the public ones still come.
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::PermissionDenied | ErrorKind::InvalidContent
            ) =>
        {
            let url = api.url(
                &format!("tweets/{post_id}"),
                &[("tweet.fields", "public_metrics")],
            );
            api.get(ctx, &caller, url, &tokens.access_token).await?
        }
        Err(e) => return Err(e),
    };
    let problem = |l: &Lookup, name: &str| {
        l.errors.iter().any(|e| {
            e.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with(name))
        })
    };
    // Private metrics of someone else's Post (or an old one): X leaves the
    // Post out and says which fields it withheld. Ask for the public ones.
    let lookup = if lookup.data.is_none() && problem(&lookup, "not-authorized-for-field") {
        let url = api.url(
            &format!("tweets/{post_id}"),
            &[("tweet.fields", "public_metrics")],
        );
        api.get(ctx, &caller, url, &tokens.access_token).await?
    } else {
        lookup
    };
    let Some(data) = lookup.data else {
        let not_found = problem(&lookup, "resource-not-found");
        return Err(Error::new(
            if not_found {
                ErrorKind::NotFound
            } else {
                ErrorKind::Unexpected
            },
            format!("X has no Post {post_id} visible to this user"),
        )
        .with_platform(Platform::Twitter));
    };
    let mut series = Vec::new();
    for (name, kind) in KINDS {
        let value = [&data.public_metrics, &data.non_public_metrics]
            .iter()
            .filter_map(|m| m.as_ref())
            .find_map(|m| m.get(*name))
            .and_then(Value::as_f64);
        if let Some(v) = value.filter(|v| v.is_finite() && *v >= 0.0) {
            series.push(MetricSeries::new(
                *kind,
                *name,
                Some("lifetime".to_owned()),
                vec![MetricPoint::new(None, v)],
            ));
        }
    }
    Ok(Metrics::new(series))
}

pub(crate) fn target_metrics(range: DateRange) -> Result<Metrics> {
    let _ = range;
    Err(Error::new(
        ErrorKind::Unsupported,
        "X gives no account metrics over a date range; ask post_metrics for each Post (health_check reports the follower count)",
    )
    .with_platform(Platform::Twitter)
    .with_operation("target_metrics"))
}
