//! Health check: `GET /v2/user/info/` (its 600/min budget, not creator
//! info's 20), the scopes posting needs, the token's deadlines, the app's
//! audit restriction, and the app-wide quota of active publishing creators.

use chrono::Utc;
use postd_core::{Credentials, ErrorKind, Health, HealthStatus, Platform, QuotaUsage, Result};

use crate::api::Api;
use crate::auth::user_info;

/// Scopes posting needs: Direct Post and inbox uploads.
pub const POSTING_SCOPES: &[&str] = &["video.publish", "video.upload"];

/// The name of the app-wide quota in [`Health::quotas`].
pub const ACTIVE_CREATORS_QUOTA: &str = "tiktok_active_publishing_creators";

pub(crate) async fn check(api: &Api, credentials: &Credentials) -> Result<Health> {
    let tokens = credentials.token_set(Platform::TikTok)?;
    let now = Utc::now();
    let mut health = Health::healthy(now);
    health.expires_at = tokens.expires_at;
    health.reauth_deadline = tokens.refresh_expires_at.or(tokens.expires_at);
    match user_info(api, &tokens.access_token, "open_id").await {
        Ok(_) => health.token_valid = true,
        Err(e) if matches!(e.kind(), ErrorKind::Auth | ErrorKind::ReauthRequired) => {
            health.token_valid = false;
            health.status = HealthStatus::Unhealthy;
            health
                .notes
                .push(format!("TikTok refused the token: {}", e.message()));
            return Ok(health);
        }
        Err(e) => return Err(e.or_operation("health_check")),
    }
    health.missing_scopes = POSTING_SCOPES
        .iter()
        .filter(|s| crate::auth::lacks_scope(tokens, s))
        .map(|s| (*s).to_owned())
        .collect();
    if !health.missing_scopes.is_empty() {
        health.status = HealthStatus::Degraded;
        health.notes.push(format!(
            "the creator did not grant {}: posting that needs it fails until they authorize again",
            health.missing_scopes.join(", ")
        ));
    }
    if !api.cfg.direct_post_audited {
        health.notes.push(
            "the app has not passed TikTok's Direct Post audit: posts are SELF_ONLY, to private accounts, for at most 5 creators a day"
                .to_owned(),
        );
    }
    if let Some(until) = api.cap_until() {
        health.status = HealthStatus::Degraded;
        health.quotas.push(QuotaUsage::new(
            ACTIVE_CREATORS_QUOTA,
            100.0,
            (until - now).to_std().ok(),
        ));
        health.notes.push(format!(
            "TikTok says the app reached its daily quota of active publishing creators; creators who have not posted today cannot until about {until}"
        ));
    }
    health.degrade_if_reauth_soon(now);
    Ok(health)
}
