//! The Business Profile Performance API's `locations.fetchMultiDailyMetricsTimeSeries`:
//! `GET /v1/{location=locations/*}:fetchMultiDailyMetricsTimeSeries` with the repeated
//! `dailyMetrics` and `dailyRange.startDate.{year,month,day}` /
//! `dailyRange.endDate.{year,month,day}`
//! (<https://developers.google.com/my-business/reference/performance/rest/v1/locations/fetchMultiDailyMetricsTimeSeries>,
//! metrics from <https://developers.google.com/my-business/reference/performance/rest/v1/DailyMetric>).
//!
//! Google's own examples spell the range three ways (`dailyRange.start_date.year` on the
//! method page, `daily_range.start_date.year` in the client libraries' docs,
//! `dailyRange.startDate.year` in the generated clients); its transcoder binds each dotted
//! segment by its JSON or its proto name, and so does the fake. The answer is
//! `{"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": [{"dailyMetric", "timeSeries":
//! {"datedValues": [{"date": {"year", "month", "day"}, "value"}]}}]}]}` with a dated value for
//! every day of the (inclusive) range; `value` is an int64 string, left out when zero (proto3
//! JSON). Days later than [`GbpFakeConfig::metrics_delay_days`](super::GbpFakeConfig::metrics_delay_days)
//! before today (UTC, fake clock) carry no value yet. Sub-entity breakdowns
//! (`dailySubEntityType`) and `getDailyMetricsTimeSeries` are not modelled.

use chrono::{DateTime, Datelike, Duration, NaiveDate};
use serde_json::{Value, json};

use super::errors::{Answer, Fail, Reply, bind_error, invalid_field, not_found, permission_denied};
use super::request::Ctx;
use super::state::State;

/// The `DailyMetric` values (`DAILY_METRIC_UNKNOWN` aside).
pub const DAILY_METRICS: &[&str] = &[
    "BUSINESS_IMPRESSIONS_DESKTOP_MAPS",
    "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
    "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
    "BUSINESS_IMPRESSIONS_MOBILE_SEARCH",
    "BUSINESS_CONVERSATIONS",
    "BUSINESS_DIRECTION_REQUESTS",
    "CALL_CLICKS",
    "WEBSITE_CLICKS",
    "MESSAGING_CLICKS",
    "BUSINESS_BOOKINGS",
    "BUSINESS_FOOD_ORDERS",
    "BUSINESS_FOOD_MENU_CLICKS",
];

const RANGE_PARAMS: &[&str] = &[
    "dailyRange.startDate.year",
    "dailyRange.startDate.month",
    "dailyRange.startDate.day",
    "dailyRange.endDate.year",
    "dailyRange.endDate.month",
    "dailyRange.endDate.day",
];

impl State {
    pub(super) fn fetch_metrics(
        &mut self,
        ctx: &mut Ctx<'_>,
        user: &str,
        location: &str,
    ) -> Answer {
        let mut known = vec!["dailyMetrics"];
        known.extend_from_slice(RANGE_PARAMS);
        ctx.only_params(&known)?;
        let Some(loc) = self.location(location) else {
            return Err(not_found());
        };
        if !self.user_has_location(user, loc) {
            return Err(permission_denied());
        }
        let metrics = ctx.q_all("dailyMetrics");
        if metrics.is_empty() {
            return Err(invalid_field("daily_metrics", "Field is required"));
        }
        for (i, m) in metrics.iter().enumerate() {
            if m == "DAILY_METRIC_UNKNOWN" {
                return Err(invalid_field(
                    &format!("daily_metrics[{i}]"),
                    "DAILY_METRIC_UNKNOWN is not a metric",
                ));
            }
            if !DAILY_METRICS.contains(&m.as_str()) {
                return Err(bind_error(&format!(
                    "Invalid value at 'daily_metrics[{i}]' \
                     (type.googleapis.com/google.businessprofileperformance.v1.DailyMetric), \"{m}\""
                )));
            }
        }
        let start = range_date(ctx, "startDate")?;
        let end = range_date(ctx, "endDate")?;
        if end < start {
            return Err(invalid_field(
                "daily_range",
                "The end date must not be before the start date",
            ));
        }
        let today = DateTime::from_timestamp(self.now(), 0)
            .unwrap_or_default()
            .date_naive();
        let last_ready = today - Duration::days(self.config.metrics_delay_days);
        let series: Vec<Value> = metrics
            .iter()
            .map(|m| {
                let values = self.metrics.get(&(location.to_owned(), m.clone()));
                let mut dated = Vec::new();
                let mut day = start;
                while day <= end {
                    let mut dv = json!({"date": {
                        "year": day.year(), "month": day.month(), "day": day.day()
                    }});
                    let v = values.and_then(|vs| vs.get(&day)).copied().unwrap_or(0);
                    if day <= last_ready && v != 0 {
                        dv["value"] = v.to_string().into();
                    }
                    dated.push(dv);
                    match day.succ_opt() {
                        Some(d) => day = d,
                        None => break,
                    }
                }
                json!({"dailyMetric": m, "timeSeries": {"datedValues": dated}})
            })
            .collect();
        Ok(Reply::json(
            200,
            json!({"multiDailyMetricTimeSeries": [{"dailyMetricTimeSeries": series}]}),
        ))
    }
}

/// `dailyRange.{which}` as a full date, or `400 INVALID_ARGUMENT`.
fn range_date(ctx: &Ctx<'_>, which: &str) -> Result<NaiveDate, Fail> {
    let field = match which {
        "startDate" => "daily_range.start_date",
        _ => "daily_range.end_date",
    };
    let part = |p: &str| -> Result<Option<i64>, Fail> {
        match ctx.q(&format!("dailyRange.{which}.{p}")) {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                bind_error(&format!(
                    "Invalid value at '{field}.{p}' (TYPE_INT32), \"{s}\""
                ))
            }),
        }
    };
    let (y, m, d) = (part("year")?, part("month")?, part("day")?);
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return Err(invalid_field(field, "Field is required"));
    };
    i32::try_from(y)
        .ok()
        .zip(u32::try_from(m).ok())
        .zip(u32::try_from(d).ok())
        .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d))
        .filter(|_| (1..=9999).contains(&y))
        .ok_or_else(|| invalid_field(field, "Invalid date"))
}
