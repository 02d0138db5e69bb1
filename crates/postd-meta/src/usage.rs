//! Meta's rate-limit usage headers, kept as the latest snapshot.
//!
//! - `X-App-Usage` (and the older `X-Page-Usage`): percentages of the app's
//!   rolling one-hour allowance (`call_count`, `total_time`, `total_cputime`).
//! - `X-Business-Use-Case-Usage`: per business object (page, Instagram
//!   account), the same percentages plus `estimated_time_to_regain_access`
//!   in minutes once throttled.
//!
//! Meta does not send `Retry-After`; these headers are the only wait hints.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::QuotaUsage;
use postd_core::reqwest::header::{HeaderMap, HeaderName};
use serde::Deserialize;

// Parsed once: looking a header up by a `&str` parses and hashes the name
// on every answer (about a thousand instructions per answer for these three).
static APP_USAGE: HeaderName = HeaderName::from_static("x-app-usage");
static PAGE_USAGE: HeaderName = HeaderName::from_static("x-page-usage");
static BUSINESS_USAGE: HeaderName = HeaderName::from_static("x-business-use-case-usage");

/// The longest wait POSTD believes from a usage header: a day.
const MAX_WAIT_MINUTES: u64 = 24 * 60;

/// One usage reading, in percent of the allowance (100 means throttled).
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct UsageCounts {
    /// Calls, percent of the allowance.
    #[serde(default)]
    pub call_count: f64,
    /// Total time, percent of the allowance.
    #[serde(default)]
    pub total_time: f64,
    /// CPU time, percent of the allowance.
    #[serde(default)]
    pub total_cputime: f64,
}

impl UsageCounts {
    /// The highest of the three percentages.
    pub fn max_percent(&self) -> f64 {
        self.call_count.max(self.total_time).max(self.total_cputime)
    }
}

/// A business use case reading for one object.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BusinessUseCase {
    /// The use case (`pages`, `instagram`, ...).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The percentages.
    #[serde(flatten)]
    pub counts: UsageCounts,
    /// Minutes until calls are allowed again, once throttled.
    #[serde(default)]
    pub estimated_time_to_regain_access: u64,
}

/// The `X-Business-Use-Case-Usage` header: object id to readings.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct BusinessUsage(pub(crate) BTreeMap<String, Vec<BusinessUseCase>>);

impl BusinessUsage {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let raw = headers.get(&BUSINESS_USAGE)?.to_str().ok()?;
        serde_json::from_str::<BTreeMap<String, Vec<BusinessUseCase>>>(raw)
            .ok()
            .map(BusinessUsage)
    }

    /// The longest `estimated_time_to_regain_access` announced, if any (at most a day).
    pub(crate) fn longest_wait(&self) -> Option<Duration> {
        self.0
            .values()
            .flatten()
            .map(|u| u.estimated_time_to_regain_access)
            .max()
            .filter(|m| *m > 0)
            .map(|m| Duration::from_secs(m.min(MAX_WAIT_MINUTES) * 60))
    }
}

fn counts_header(headers: &HeaderMap, name: &HeaderName) -> Option<UsageCounts> {
    let raw = headers.get(name)?.to_str().ok()?;
    serde_json::from_str(raw).ok()
}

/// The latest usage Meta reported to this connector.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct UsageSnapshot {
    /// `X-App-Usage`.
    pub app: Option<UsageCounts>,
    /// `X-Page-Usage` (older page-level header).
    pub page: Option<UsageCounts>,
    /// `X-Business-Use-Case-Usage`, per object id.
    pub business: BTreeMap<String, Vec<BusinessUseCase>>,
    /// Until when each object is throttled (from `estimated_time_to_regain_access`).
    pub throttled_until: BTreeMap<String, DateTime<Utc>>,
    /// When the last header was read.
    pub updated_at: Option<DateTime<Utc>>,
}

impl UsageSnapshot {
    /// The readings as POSTD quota figures.
    pub fn quotas(&self, now: DateTime<Utc>) -> Vec<QuotaUsage> {
        let mut out = Vec::new();
        if let Some(a) = self.app {
            out.push(QuotaUsage::new("app_usage", a.max_percent(), None));
        }
        if let Some(p) = self.page {
            out.push(QuotaUsage::new("page_usage", p.max_percent(), None));
        }
        for (id, readings) in &self.business {
            for r in readings {
                let resets_in = self
                    .throttled_until
                    .get(id)
                    .and_then(|until| (*until - now).to_std().ok());
                out.push(QuotaUsage::new(
                    format!("business_use_case:{}:{id}", r.kind),
                    r.counts.max_percent(),
                    resets_in,
                ));
            }
        }
        out
    }
}

/// Shared, updated from every Graph answer.
#[derive(Clone, Debug, Default)]
pub(crate) struct UsageTracker(Arc<Mutex<UsageSnapshot>>);

impl UsageTracker {
    pub(crate) fn observe(&self, headers: &HeaderMap, now: DateTime<Utc>) {
        let app = counts_header(headers, &APP_USAGE);
        let page = counts_header(headers, &PAGE_USAGE);
        let business = BusinessUsage::from_headers(headers);
        if app.is_none() && page.is_none() && business.is_none() {
            return;
        }
        let Ok(mut snap) = self.0.lock() else { return };
        if app.is_some() {
            snap.app = app;
        }
        if page.is_some() {
            snap.page = page;
        }
        if let Some(BusinessUsage(map)) = business {
            for (id, readings) in map {
                // Minutes; a hostile or buggy value is clamped to a day rather than overflowing.
                let wait = readings
                    .iter()
                    .map(|r| r.estimated_time_to_regain_access)
                    .max()
                    .unwrap_or(0)
                    .min(MAX_WAIT_MINUTES);
                let until = chrono::Duration::try_minutes(i64::try_from(wait).unwrap_or(0))
                    .and_then(|d| now.checked_add_signed(d));
                if let (true, Some(until)) = (wait > 0, until) {
                    snap.throttled_until.insert(id.clone(), until);
                } else {
                    snap.throttled_until.remove(&id);
                }
                snap.business.insert(id, readings);
            }
        }
        snap.updated_at = Some(now);
    }

    pub(crate) fn snapshot(&self) -> UsageSnapshot {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// [`observe`](Self::observe) at the current time, when the answer
    /// carries a usage header at all (most do not, and the clock costs).
    pub(crate) fn observe_now(&self, headers: &HeaderMap) {
        // One pass over the few headers an answer has, instead of three hashed lookups.
        if headers
            .keys()
            .any(|k| *k == APP_USAGE || *k == PAGE_USAGE || *k == BUSINESS_USAGE)
        {
            self.observe(headers, Utc::now());
        }
    }

    /// How long `object_id` stays throttled, if Meta said so; the clock is
    /// read only for an object Meta throttled.
    pub(crate) fn throttled_now(&self, object_id: &str) -> Option<Duration> {
        self.throttled_at(object_id, Utc::now)
    }

    /// [`throttled_now`](Self::throttled_now) with the clock given.
    fn throttled_at(
        &self,
        object_id: &str,
        now: impl FnOnce() -> DateTime<Utc>,
    ) -> Option<Duration> {
        let until = *self.0.lock().ok()?.throttled_until.get(object_id)?;
        (until - now()).to_std().ok().filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::reqwest::header::HeaderValue;

    #[test]
    fn reads_all_three_headers_and_tolerates_garbage() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-app-usage",
            HeaderValue::from_static(r#"{"call_count":28,"total_time":25,"total_cputime":31}"#),
        );
        h.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(
                r#"{"111":[{"type":"pages","call_count":100,"total_cputime":4,"total_time":9,"estimated_time_to_regain_access":12}],"222":[{"type":"instagram","call_count":5}]}"#,
            ),
        );
        h.insert("x-page-usage", HeaderValue::from_static("not json"));
        let t = UsageTracker::default();
        let now = Utc::now();
        t.observe(&h, now);
        let s = t.snapshot();
        assert_eq!(s.app.unwrap().max_percent(), 31.0);
        assert_eq!(s.page, None);
        assert_eq!(s.business["111"][0].estimated_time_to_regain_access, 12);
        assert_eq!(
            t.throttled_at("111", || now),
            Some(Duration::from_secs(720))
        );
        assert_eq!(t.throttled_at("222", || now), None);
        let q = s.quotas(now);
        assert!(
            q.iter()
                .any(|q| q.name == "business_use_case:pages:111" && q.used_percent == 100.0)
        );

        // Absurd waits are clamped, not a panic.
        let mut h3 = HeaderMap::new();
        h3.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(r#"{"333":[{"type":"pages","estimated_time_to_regain_access":18446744073709551615}]}"#),
        );
        t.observe(&h3, now);
        assert_eq!(
            t.throttled_at("333", || now),
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(
            BusinessUsage::from_headers(&h3).unwrap().longest_wait(),
            Some(Duration::from_secs(24 * 3600))
        );

        // A later reading without a wait lifts the throttle.
        let mut h2 = HeaderMap::new();
        h2.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(r#"{"111":[{"type":"pages","call_count":40}]}"#),
        );
        t.observe(&h2, now);
        assert_eq!(t.throttled_at("111", || now), None);
    }
}
