//! Health check: token introspection (`POST /oauth/v2/introspectToken`:
//! active, status, expiry, scopes) against the scopes the connector needs.

use chrono::Utc;
use postd_core::http::RequestContext;
use postd_core::oauth::{is_oauth_error_body, parse_oauth_error};
use postd_core::reqwest::Method;
use postd_core::secrecy::ExposeSecret;
use postd_core::{Credentials, Error, Health, HealthStatus, Platform, Result};

use crate::config::ORGANIZATION_SCOPES;
use crate::models::Introspection;
use crate::rest::Rest;

/// Needed to post as a member.
pub const MEMBER_SCOPES: &[&str] = &["w_member_social"];

pub(crate) async fn check(rest: &Rest, credentials: &Credentials) -> Result<Health> {
    let tokens = credentials.token_set(Platform::LinkedIn)?;
    let now = Utc::now();
    let form = [
        ("client_id", rest.cfg.client_id.as_str()),
        ("client_secret", rest.cfg.client_secret.expose_secret()),
        ("token", tokens.access_token.expose_secret()),
    ];
    let ctx = RequestContext::idempotent(Platform::LinkedIn, "oauth.introspect");
    let request = rest
        .plain(Method::POST, rest.oauth_url("introspectToken"), None)
        .form(&form)
        .build()
        .map_err(|e| {
            Error::config("could not build the introspection request").with_source(e.without_url())
        })?;
    // The OAuth host answers errors in RFC 6749 form, not the REST API's.
    let parse = |status, headers: &_, body: &[u8]| {
        parse_oauth_error(Platform::LinkedIn, status, headers, body)
    };
    // An OAuth error document is an error whatever the status it came with.
    let answer = rest
        .http
        .execute(ctx, request, &parse)
        .await
        .and_then(
            |resp| match resp.error_in_body(&ctx, is_oauth_error_body, &parse) {
                Some(err) => Err(err),
                None => Ok(resp),
            },
        );
    let info: Introspection = match answer {
        Ok(resp) => resp.json(&ctx)?,
        // "400 for an invalid token": the token is not one LinkedIn knows any more.
        Err(e) if e.http_status() == Some(400) => {
            let mut health = Health::healthy(now);
            health.status = HealthStatus::Unhealthy;
            health.token_valid = false;
            health.notes.push(format!(
                "LinkedIn does not recognise the token ({}); the member must authorize again",
                e.message()
            ));
            return Ok(health);
        }
        // "401 for an invalid client_secret": POSTD's configuration, not the member's token.
        Err(e) if e.http_status() == Some(401) => {
            return Err(Error::config(
                "LinkedIn rejected the app's client credentials during token introspection",
            )
            .with_platform(Platform::LinkedIn)
            .with_status(401));
        }
        Err(e) => return Err(e),
    };
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
    } else {
        health.degrade_if_reauth_soon(now);
    }
    Ok(health)
}
