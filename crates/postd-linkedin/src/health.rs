//! Health check: token introspection (`POST /oauth/v2/introspectToken`:
//! active, status, expiry, scopes) against the scopes the connector needs.

use chrono::{Duration, Utc};
use postd_core::http::RequestContext;
use postd_core::reqwest::Method;
use postd_core::secrecy::ExposeSecret;
use postd_core::{Credentials, Health, HealthStatus, Platform, Result};

use crate::config::ORGANIZATION_SCOPES;
use crate::models::Introspection;
use crate::rest::Rest;

/// Needed to post as a member.
pub const MEMBER_SCOPES: &[&str] = &["w_member_social"];

const EXPIRY_WARNING: Duration = Duration::days(7);

pub(crate) async fn check(rest: &Rest, credentials: &Credentials) -> Result<Health> {
    let tokens = credentials.token_set(Platform::LinkedIn)?;
    let now = Utc::now();
    let form = [
        ("client_id", rest.cfg.client_id.as_str()),
        ("client_secret", rest.cfg.client_secret.expose_secret()),
        ("token", tokens.access_token.expose_secret()),
    ];
    let info: Introspection = rest
        .json(
            RequestContext::idempotent(Platform::LinkedIn, "oauth.introspect"),
            rest.plain(Method::POST, rest.oauth_url("introspectToken"), None)
                .form(&form),
        )
        .await?;
    let mut health = Health::healthy(now);
    health.token_valid = info.active && info.status.as_deref().is_none_or(|s| s == "active");
    health.expires_at = info
        .expires_at
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .or(tokens.expires_at);
    health.reauth_deadline = match (tokens.refresh_token.is_some(), tokens.refresh_expires_at) {
        (true, Some(r)) => Some(r),
        _ => health.expires_at,
    };
    let granted: Vec<String> = match &info.scope {
        Some(s) => s
            .split([' ', ','])
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect(),
        None => tokens.scopes.clone(),
    };
    let mut wanted: Vec<&str> = MEMBER_SCOPES.to_vec();
    if rest.cfg.organizations {
        wanted.extend_from_slice(ORGANIZATION_SCOPES);
    }
    health.missing_scopes = wanted
        .iter()
        .filter(|w| !granted.iter().any(|g| g == *w))
        .map(|s| (*s).to_owned())
        .collect();
    if !health.token_valid {
        health.status = HealthStatus::Unhealthy;
        health.notes.push(format!(
            "LinkedIn reports the token as {}; the member must authorize again",
            info.status.as_deref().unwrap_or("inactive")
        ));
    } else if !health.missing_scopes.is_empty() {
        health.status = HealthStatus::Unhealthy;
        health.notes.push(format!(
            "missing scopes: {}",
            health.missing_scopes.join(", ")
        ));
    } else if health
        .reauth_deadline
        .is_some_and(|d| d - now < EXPIRY_WARNING)
    {
        health.status = HealthStatus::Degraded;
        health
            .notes
            .push("authorization ends within 7 days".to_owned());
    }
    Ok(health)
}
