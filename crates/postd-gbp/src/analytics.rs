//! Location metrics from the Business Profile Performance API's
//! `locations.fetchMultiDailyMetricsTimeSeries`
//! (<https://developers.google.com/my-business/reference/performance/rest/v1/locations/fetchMultiDailyMetricsTimeSeries>,
//! <https://developers.google.com/my-business/reference/performance/rest/v1/DailyMetric>).
//!
//! One point per day (its `end_time` the next midnight, UTC). Values are
//! int64 strings and left out when zero (proto3 JSON), and the latest days
//! are not available yet: a day without a value counts as 0 once it is older
//! than [`METRICS_DELAY`], and is left out (no data, which is not zero)
//! before. The v1 API has no per-post metrics: `post_metrics` is
//! [`ErrorKind::Unsupported`].

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeDelta, Utc};
use postd_core::http::RequestContext;
use postd_core::{
    DateRange, Error, ErrorKind, MetricKind, MetricPoint, MetricSeries, Metrics, Platform, Result,
    Target, TokenSet,
};
use serde::Deserialize;

use crate::api::{Api, Host};
use crate::publish::location_of;

/// How long after a day its metrics are complete: Google speaks of a delay
/// of a day or two.
pub const METRICS_DELAY: TimeDelta = TimeDelta::hours(48);

/// The longest range asked for at once (Google keeps about 18 months).
pub const MAX_RANGE_DAYS: i64 = 550;

/// Each daily metric asked for, with its common kind (the four impression
/// metrics, one per surface, add up to the location's impressions).
pub const DAILY_METRICS: &[(&str, MetricKind)] = &[
    ("BUSINESS_IMPRESSIONS_DESKTOP_MAPS", MetricKind::Impressions),
    (
        "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
        MetricKind::Impressions,
    ),
    ("BUSINESS_IMPRESSIONS_MOBILE_MAPS", MetricKind::Impressions),
    (
        "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
        MetricKind::Impressions,
    ),
    ("CALL_CLICKS", MetricKind::Clicks),
    ("WEBSITE_CLICKS", MetricKind::Clicks),
    ("BUSINESS_DIRECTION_REQUESTS", MetricKind::Other),
    ("BUSINESS_BOOKINGS", MetricKind::Other),
    ("BUSINESS_FOOD_ORDERS", MetricKind::Other),
    ("BUSINESS_FOOD_MENU_CLICKS", MetricKind::Clicks),
];

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Answer {
    multi_daily_metric_time_series: Vec<Multi>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Multi {
    daily_metric_time_series: Vec<Series>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Series {
    daily_metric: String,
    time_series: TimeSeries,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TimeSeries {
    dated_values: Vec<DatedValue>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DatedValue {
    date: Option<GDate>,
    value: Option<String>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(default)]
struct GDate {
    year: i32,
    month: u32,
    day: u32,
}

pub(crate) fn post_metrics_unsupported() -> Result<Metrics> {
    Err(Error::new(
        ErrorKind::Unsupported,
        "Google Business Profile reports no per-post metrics (the Performance API is per location; localPosts:reportInsights is discontinued)",
    )
    .with_platform(Platform::Gbp)
    .with_operation("post_metrics"))
}

pub(crate) async fn target_metrics(
    api: &Api,
    tokens: &TokenSet,
    target: &Target,
    range: DateRange,
    now: DateTime<Utc>,
) -> Result<Metrics> {
    let location = location_of(target)?;
    let first = range.since.date_naive();
    // `until` is exclusive.
    let last = range
        .until
        .checked_sub_signed(TimeDelta::nanoseconds(1))
        .unwrap_or(range.until)
        .date_naive();
    if last < first {
        return Ok(Metrics::new(Vec::new()));
    }
    if (last - first).num_days() > MAX_RANGE_DAYS {
        return Err(Error::invalid_content(format!(
            "the range spans more than {MAX_RANGE_DAYS} days; ask for it in parts"
        ))
        .with_platform(Platform::Gbp)
        .with_operation("target_metrics"));
    }
    let mut query: Vec<(&str, String)> = DAILY_METRICS
        .iter()
        .map(|(m, _)| ("dailyMetrics", (*m).to_owned()))
        .collect();
    // The generated clients' spelling (Google's pages also show `dailyRange.start_date.year`
    // and `daily_range.start_date.year`; the transcoder binds each).
    let names = [
        [
            "dailyRange.startDate.year",
            "dailyRange.startDate.month",
            "dailyRange.startDate.day",
        ],
        [
            "dailyRange.endDate.year",
            "dailyRange.endDate.month",
            "dailyRange.endDate.day",
        ],
    ];
    for ([year, month, day], d) in names.into_iter().zip([first, last]) {
        query.push((year, d.year().to_string()));
        query.push((month, d.month().to_string()));
        query.push((day, d.day().to_string()));
    }
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = api.url(
        Host::Performance,
        &format!("v1/{}:fetchMultiDailyMetricsTimeSeries", location.v1()),
        &pairs,
    );
    let ctx = RequestContext::idempotent(Platform::Gbp, "performance.fetch_multi_daily");
    let answer: Answer = api
        .get(ctx, Host::Performance, url, &tokens.access_token)
        .await?;
    Ok(Metrics::new(series_of(answer, now)))
}

fn series_of(answer: Answer, now: DateTime<Utc>) -> Vec<MetricSeries> {
    let complete_before = now - METRICS_DELAY;
    let mut out = Vec::new();
    for s in answer
        .multi_daily_metric_time_series
        .into_iter()
        .flat_map(|m| m.daily_metric_time_series)
    {
        let kind = DAILY_METRICS
            .iter()
            .find(|(m, _)| *m == s.daily_metric)
            .map_or(MetricKind::Other, |(_, k)| *k);
        let mut points = Vec::new();
        for dv in s.time_series.dated_values {
            let Some(d) = dv.date else { continue };
            let Some(day) = NaiveDate::from_ymd_opt(d.year, d.month, d.day) else {
                continue;
            };
            let Some(end) = day
                .checked_add_days(Days::new(1))
                .and_then(|n| n.and_hms_opt(0, 0, 0))
                .map(|n| n.and_utc())
            else {
                continue;
            };
            let value = match dv.value.as_deref().map(str::trim) {
                Some(v) => match v.parse::<i64>() {
                    Ok(n) if n >= 0 => n as f64,
                    _ => continue,
                },
                None if end <= complete_before => 0.0,
                None => continue,
            };
            points.push(MetricPoint::new(Some(end), value));
        }
        out.push(MetricSeries::new(
            kind,
            s.daily_metric.chars().take(64).collect::<String>(),
            Some("day".to_owned()),
            points,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_are_zero_once_complete_and_absent_before() {
        let now = "2026-03-10T12:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let answer: Answer = serde_json::from_value(serde_json::json!({
            "multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [
                {"dailyMetric": "WEBSITE_CLICKS", "timeSeries": {"datedValues": [
                    {"date": {"year": 2026, "month": 3, "day": 1}, "value": "12"},
                    {"date": {"year": 2026, "month": 3, "day": 2}},
                    {"date": {"year": 2026, "month": 3, "day": 9}},
                    {"date": {"year": 2026, "month": 3, "day": 9}, "value": "-4"},
                    {"date": {"year": 2026, "month": 2, "day": 30}, "value": "1"}
                ]}},
                {"dailyMetric": "BUSINESS_IMPRESSIONS_MOBILE_MAPS", "timeSeries": {}}
            ]}]
        }))
        .unwrap();
        let series = series_of(answer, now);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].kind, MetricKind::Clicks);
        assert_eq!(series[0].points.len(), 2, "{:?}", series[0].points);
        assert_eq!(series[0].total(), Some(12.0));
        assert_eq!(series[1].kind, MetricKind::Impressions);
        assert_eq!(series[1].total(), None);
    }
}
