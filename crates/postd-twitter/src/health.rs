//! Health check: `GET /2/users/me` with `public_metrics`, the scopes
//! publishing needs, the token's expiry, and the budgets the rate-limit
//! ledger holds (an exhausted create window, depleted credits).

use chrono::Utc;
use postd_core::{Credentials, ErrorKind, Health, HealthStatus, Platform, QuotaUsage, Result};

use crate::api::{Api, Caller};
use crate::auth::{lacks_scope, me};
use crate::error::{CREDITS_DEPLETED, USAGE_CAPPED};
use crate::limits::CREATE;

/// Scopes publishing needs: Posts, the user, media, and a refresh token.
pub const PUBLISHING_SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "media.write",
    "offline.access",
];

/// The name of the create budget in [`Health::quotas`] while it is exhausted; its
/// windows are reported as `x_post_create_per_15_min` and `x_post_create_per_180_min`.
pub const CREATE_QUOTA: &str = "x_post_create";

pub(crate) async fn check(api: &Api, credentials: &Credentials) -> Result<Health> {
    let tokens = credentials.token_set(Platform::Twitter)?;
    let now = Utc::now();
    let mut health = Health::healthy(now);
    health.expires_at = tokens.expires_at;
    match me(api, &tokens.access_token, "public_metrics").await {
        Ok(user) => {
            health.token_valid = true;
            if let Some(followers) = user
                .public_metrics
                .as_ref()
                .and_then(|m| m.get("followers_count"))
                .and_then(serde_json::Value::as_u64)
            {
                health.notes.push(format!("{followers} followers"));
            }
            let caller = Caller::user(&user.id);
            for (window, used, most, frees) in api.ledger.create_usage(&caller, now) {
                health.quotas.push(QuotaUsage::new(
                    format!("{CREATE_QUOTA}_per_{}_min", window.as_secs() / 60),
                    used as f64 * 100.0 / most as f64,
                    frees,
                ));
            }
            if let Some(wait) = api.ledger.blocked_for(CREATE, &caller, now) {
                health.status = HealthStatus::Degraded;
                health
                    .quotas
                    .push(QuotaUsage::new(CREATE_QUOTA, 100.0, Some(wait)));
                health.notes.push(format!(
                    "X's limit on creating Posts is exhausted for this account for {} s",
                    wait.as_secs()
                ));
            }
        }
        Err(e) if matches!(e.kind(), ErrorKind::Auth | ErrorKind::ReauthRequired) => {
            health.token_valid = false;
            health.status = HealthStatus::Unhealthy;
            health
                .notes
                .push(format!("X refused the token: {}", e.message()));
            return Ok(health);
        }
        Err(e) if matches!(e.platform_code(), Some(CREDITS_DEPLETED | USAGE_CAPPED)) => {
            health.status = HealthStatus::Unhealthy;
            health.notes.push(e.message().to_owned());
            return Ok(health);
        }
        Err(e) => return Err(e.or_operation("health_check")),
    }
    health.missing_scopes = PUBLISHING_SCOPES
        .iter()
        .filter(|s| lacks_scope(tokens, s))
        .map(|s| (*s).to_owned())
        .collect();
    if !health.missing_scopes.is_empty() {
        health.status = HealthStatus::Degraded;
        health.notes.push(format!(
            "the user did not grant {}: what needs it fails until they authorize again",
            health.missing_scopes.join(", ")
        ));
    }
    if tokens.refresh_token.is_none() {
        health.status = HealthStatus::Degraded;
        health.reauth_deadline = tokens.expires_at;
        health.notes.push(
            "no refresh token (offline.access was not granted): the user must authorize again when the access token expires"
                .to_owned(),
        );
    }
    health.degrade_if_reauth_soon(now);
    Ok(health)
}
