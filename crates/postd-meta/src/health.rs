//! Health check: `debug_token` on the user token (valid, expiry, data access
//! expiry, granted scopes), the scopes publishing needs, and the latest
//! rate-limit usage Meta reported.

use chrono::Utc;
use postd_core::{Credentials, Health, HealthStatus, Platform, Result};

use crate::auth::{debug_token, unix_time};
use crate::graph::Graph;

/// Without these, nothing can be published.
pub const PUBLISHING_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "instagram_basic",
    "instagram_content_publish",
];

/// Without these, analytics and webhooks degrade.
pub const OPTIONAL_SCOPES: &[&str] = &[
    "read_insights",
    "instagram_manage_insights",
    "pages_manage_metadata",
];

pub(crate) async fn check(graph: &Graph, credentials: &Credentials) -> Result<Health> {
    let tokens = credentials.token_set(Platform::Meta)?;
    let now = Utc::now();
    let info = debug_token(graph, &tokens.access_token).await?;
    let mut health = Health::healthy(now);
    health.token_valid = info.is_valid;
    health.expires_at = info.expires_at.and_then(unix_time).or(tokens.expires_at);
    let data_access = info
        .data_access_expires_at
        .and_then(unix_time)
        .or(tokens.consent_expires_at);
    health.reauth_deadline = match (health.expires_at, data_access) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let granted = if info.scopes.is_empty() {
        &tokens.scopes
    } else {
        &info.scopes
    };
    let missing = |wanted: &[&str]| -> Vec<String> {
        wanted
            .iter()
            .filter(|s| !granted.iter().any(|g| g == *s))
            .map(|s| (*s).to_owned())
            .collect()
    };
    let missing_required = missing(PUBLISHING_SCOPES);
    let missing_optional = missing(OPTIONAL_SCOPES);
    health.quotas = graph.usage.snapshot().quotas(now);

    if !info.is_valid {
        health.status = HealthStatus::Unhealthy;
        let why = info
            .error
            .as_ref()
            .and_then(|e| e.message.clone())
            .unwrap_or_else(|| "the token is not valid".to_owned());
        health.notes.push(format!(
            "Meta reports the token is invalid: {why}; the user must log in again"
        ));
    }
    if !missing_required.is_empty() {
        health.status = HealthStatus::Unhealthy;
        health.notes.push(format!(
            "missing scopes needed to publish: {}",
            missing_required.join(", ")
        ));
    }
    if health.status == HealthStatus::Healthy {
        if !missing_optional.is_empty() {
            health.status = HealthStatus::Degraded;
            health.notes.push(format!(
                "missing scopes for insights or webhooks: {}",
                missing_optional.join(", ")
            ));
        }
        health.degrade_if_reauth_soon(now);
        if health.quotas.iter().any(|q| q.used_percent >= 90.0) {
            health.status = HealthStatus::Degraded;
            health
                .notes
                .push("a Meta rate limit is at 90% or more".to_owned());
        }
    }
    health.missing_scopes = missing_required
        .into_iter()
        .chain(missing_optional)
        .collect();
    Ok(health)
}
