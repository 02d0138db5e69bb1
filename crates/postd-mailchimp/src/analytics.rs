//! Campaign reports and audience stats, as typed metrics with Mailchimp's
//! raw names (<https://mailchimp.com/developer/marketing/api/reports/>,
//! <https://mailchimp.com/developer/marketing/api/lists/get-list-info/>).
//!
//! A report exists once a campaign was sent; its figures keep growing for
//! days. Opens include automated privacy opens (Apple Mail Privacy
//! Protection), so "opens" may count more than people. A report's rates are
//! fractions (0 to 1); an audience's `open_rate` and `click_rate` are
//! percentages (0 to 100): each is kept under Mailchimp's raw name.

use postd_core::http::RequestContext;
use postd_core::{
    Credentials, DateRange, MetricKind, MetricPoint, MetricSeries, Metrics, Platform, Result,
    Target,
};
use serde_json::Value;

use crate::api::{Api, id};

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_f64().filter(|n| n.is_finite() && *n >= 0.0)
}

fn series(out: &mut Vec<MetricSeries>, v: &Value, raw: &str, path: &[&str], kind: MetricKind) {
    if let Some(n) = num(v, path) {
        out.push(MetricSeries::new(
            kind,
            raw,
            Some("lifetime".to_owned()),
            vec![MetricPoint::new(None, n)],
        ));
    }
}

/// `GET /reports/{campaign_id}`.
pub(crate) async fn campaign_report(
    api: &Api,
    credentials: &Credentials,
    campaign_id: &str,
) -> Result<Metrics> {
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "reports.get");
    let url = api.url(
        &account,
        &format!("reports/{}", id("the campaign id", campaign_id)?),
        &[(
            "fields",
            "id,emails_sent,abuse_reports,unsubscribed,send_time,bounces,opens,clicks",
        )],
    );
    let r: Value = api.get(ctx, &account, url).await?;
    let mut out = Vec::new();
    for (raw, path, kind) in [
        ("emails_sent", &["emails_sent"][..], MetricKind::Other),
        (
            "opens_total",
            &["opens", "opens_total"][..],
            MetricKind::Opens,
        ),
        (
            "unique_opens",
            &["opens", "unique_opens"][..],
            MetricKind::Opens,
        ),
        ("open_rate", &["opens", "open_rate"][..], MetricKind::Other),
        (
            "clicks_total",
            &["clicks", "clicks_total"][..],
            MetricKind::Clicks,
        ),
        (
            "unique_clicks",
            &["clicks", "unique_clicks"][..],
            MetricKind::Clicks,
        ),
        (
            "click_rate",
            &["clicks", "click_rate"][..],
            MetricKind::Other,
        ),
        (
            "hard_bounces",
            &["bounces", "hard_bounces"][..],
            MetricKind::Other,
        ),
        (
            "soft_bounces",
            &["bounces", "soft_bounces"][..],
            MetricKind::Other,
        ),
        ("unsubscribed", &["unsubscribed"][..], MetricKind::Other),
        ("abuse_reports", &["abuse_reports"][..], MetricKind::Other),
    ] {
        series(&mut out, &r, raw, path, kind);
    }
    Ok(Metrics::new(out))
}

/// `GET /lists/{id}`: the audience's stats now (Mailchimp keeps no history
/// to range over; `range` is not used).
pub(crate) async fn audience_stats(
    api: &Api,
    credentials: &Credentials,
    target: &Target,
    range: DateRange,
) -> Result<Metrics> {
    let _ = range;
    let account = api.account(credentials).await?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "lists.stats");
    let url = api.url(
        &account,
        &format!("lists/{}", id("the audience id", &target.id)?),
        &[("fields", "id,name,stats")],
    );
    let l: Value = api.get(ctx, &account, url).await?;
    let mut out = Vec::new();
    for (raw, kind) in [
        ("member_count", MetricKind::Followers),
        ("unsubscribe_count", MetricKind::Other),
        ("cleaned_count", MetricKind::Other),
        ("member_count_since_send", MetricKind::Other),
        ("campaign_count", MetricKind::Other),
        ("avg_sub_rate", MetricKind::Other),
        ("avg_unsub_rate", MetricKind::Other),
        ("open_rate", MetricKind::Other),
        ("click_rate", MetricKind::Other),
    ] {
        series(&mut out, &l, raw, &["stats", raw], kind);
    }
    Ok(Metrics::new(out))
}
