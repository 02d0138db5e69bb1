//! Health check: one probe of each Google API a publish needs, because each
//! is enabled (and approved) separately in the Google Cloud project, and
//! accounts and locations can list fine while the first post fails
//! (<https://developers.google.com/my-business/content/prereqs>,
//! <https://developers.google.com/my-business/content/limits>).
//!
//! The probes, in order: `accounts.list` (Account Management: also whether
//! the token works), `accounts.locations.list` of each account of the first
//! page until one lists a location (Business Information), `localPosts.list`
//! of that location (the v4 API that posts need) and one day of its
//! performance metrics (the Performance API). A disabled API or a quota of 0
//! makes the connection [`HealthStatus::Unhealthy`] with the exact fix in
//! the note; with no location to probe the post APIs through it is
//! [`HealthStatus::Degraded`]. A location should not be offered for
//! publishing until the check is healthy.

use chrono::{Datelike, Utc};
use postd_core::http::RequestContext;
use postd_core::{Credentials, Error, ErrorKind, Health, HealthStatus, Platform, Result};
use serde::Deserialize;

use crate::api::{Api, Host};
use crate::config::{LEGACY_SCOPE, SCOPE};
use crate::error::{PROJECT_NOT_APPROVED, SERVICE_DISABLED};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Named {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Accounts {
    accounts: Vec<Named>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Locations {
    locations: Vec<Named>,
}

/// Records what a failed probe of `api` says about the connection.
fn record(health: &mut Health, api: &str, e: &Error) {
    match (e.kind(), e.platform_code()) {
        (ErrorKind::Auth | ErrorKind::ReauthRequired, _) => {
            if e.kind() == ErrorKind::Auth {
                health.token_valid = false;
            }
            health.status = HealthStatus::Unhealthy;
            health
                .notes
                .push(format!("{api}: Google refused the token: {}", e.message()));
        }
        (_, Some(SERVICE_DISABLED | PROJECT_NOT_APPROVED)) | (ErrorKind::Config, _) => {
            health.status = HealthStatus::Unhealthy;
            health.notes.push(format!("{api}: {}", e.message()));
        }
        (ErrorKind::PermissionDenied, _) => {
            health.status = HealthStatus::Unhealthy;
            health.notes.push(format!(
                "{api}: the user may not use it ({}); check their role on the location",
                e.message()
            ));
        }
        _ => {
            if health.status == HealthStatus::Healthy {
                health.status = HealthStatus::Degraded;
            }
            health
                .notes
                .push(format!("{api}: the probe failed: {}", e.message()));
        }
    }
}

pub(crate) async fn check(api: &Api, credentials: &Credentials) -> Result<Health> {
    let tokens = credentials.token_set(Platform::Gbp)?;
    let token = &tokens.access_token;
    let now = Utc::now();
    let mut health = Health::healthy(now);
    health.expires_at = tokens.expires_at;
    health.reauth_deadline = tokens.refresh_expires_at;
    if !tokens.scopes.is_empty()
        && !tokens
            .scopes
            .iter()
            .any(|s| s == SCOPE || s == LEGACY_SCOPE)
    {
        health.missing_scopes.push(SCOPE.to_owned());
        health.status = HealthStatus::Unhealthy;
        health.notes.push(
            "business.manage was not granted: the user must connect again and allow it".to_owned(),
        );
    }
    if tokens.refresh_token.is_none() {
        health.status = HealthStatus::Degraded;
        health.reauth_deadline = tokens.expires_at;
        health.notes.push(
            "no refresh token: the user must connect again when the access token expires"
                .to_owned(),
        );
    }
    if api.cfg.testing_mode {
        health.notes.push(
            "the Google app's consent screen is in Testing: refresh tokens stop working 7 days after the user connected; publish the app to production"
                .to_owned(),
        );
    }

    let probe = |op: &'static str| RequestContext::idempotent(Platform::Gbp, op);
    // 1. Account Management (and the token): the first page of accounts.
    let url = api.url(Host::Accounts, "v1/accounts", &[("pageSize", "20")]);
    let accounts: Vec<String> = match api
        .get::<Accounts>(probe("health.accounts"), Host::Accounts, url, token)
        .await
    {
        Ok(a) => a
            .accounts
            .into_iter()
            .filter_map(|a| a.name.strip_prefix("accounts/").map(str::to_owned))
            .filter(|a| crate::names::LocationName::new(a, "0").is_ok())
            .collect(),
        Err(e) => {
            record(&mut health, Host::Accounts.service(), &e);
            Vec::new()
        }
    };
    // 2. Business Information: the accounts in turn until one lists a
    // location (a personal account may hold none; its location group does).
    let mut location = None;
    let mut listed = false;
    for a in &accounts {
        let url = api.url(
            Host::Locations,
            &format!("v1/accounts/{a}/locations"),
            &[("readMask", "name"), ("pageSize", "1")],
        );
        match api
            .get::<Locations>(probe("health.locations"), Host::Locations, url, token)
            .await
        {
            Ok(l) => {
                listed = true;
                location = l
                    .locations
                    .into_iter()
                    .next()
                    .and_then(|l| {
                        l.name
                            .rsplit_once("locations/")
                            .map(|(_, id)| id.to_owned())
                    })
                    .and_then(|id| crate::names::LocationName::new(a, &id).ok());
                if location.is_some() {
                    break;
                }
            }
            Err(e) => {
                record(&mut health, Host::Locations.service(), &e);
                break;
            }
        }
    }
    if location.is_none() && health.status != HealthStatus::Unhealthy {
        // The APIs posts need went unprobed: not healthy, whatever else passed.
        health.status = HealthStatus::Degraded;
        let why = if accounts.is_empty() || listed {
            "the user manages no location: nothing can be published"
        } else {
            "no location could be read"
        };
        health.notes.push(format!(
            "{why} (the local posts and performance APIs were not probed)"
        ));
    }
    if let Some(location) = location {
        // 3. The v4 API, which local posts need.
        let url = api.url(
            Host::Posts,
            &format!("v4/{location}/localPosts"),
            &[("pageSize", "1")],
        );
        if let Err(e) = api
            .get::<serde_json::Value>(probe("health.local_posts"), Host::Posts, url, token)
            .await
        {
            record(&mut health, Host::Posts.service(), &e);
        }
        // 4. Performance: one day, a week ago.
        let day = (now - chrono::TimeDelta::days(7)).date_naive();
        let (y, m, d) = (
            day.year().to_string(),
            day.month().to_string(),
            day.day().to_string(),
        );
        let url = api.url(
            Host::Performance,
            &format!("v1/{}:fetchMultiDailyMetricsTimeSeries", location.v1()),
            &[
                ("dailyMetrics", "WEBSITE_CLICKS"),
                ("dailyRange.startDate.year", &y),
                ("dailyRange.startDate.month", &m),
                ("dailyRange.startDate.day", &d),
                ("dailyRange.endDate.year", &y),
                ("dailyRange.endDate.month", &m),
                ("dailyRange.endDate.day", &d),
            ],
        );
        if let Err(e) = api
            .get::<serde_json::Value>(probe("health.performance"), Host::Performance, url, token)
            .await
        {
            record(&mut health, Host::Performance.service(), &e);
        }
    }
    health.degrade_if_reauth_soon(now);
    Ok(health)
}
