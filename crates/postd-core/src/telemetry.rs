//! Metrics and logs every connector records the same way (labels stay
//! low-cardinality: no account or post ids).

use std::time::Duration;

use crate::connector::PublishOutcome;
use crate::error::Result;
use crate::target::{Target, TargetKind};

/// The surface a target publishes to, as a metric label (`facebook`, `instagram`, `linkedin`, ...).
pub fn surface(target: &Target) -> &'static str {
    match target.kind {
        TargetKind::FacebookPage => "facebook",
        TargetKind::InstagramAccount => "instagram",
        TargetKind::LinkedInPerson | TargetKind::LinkedInOrganization => "linkedin",
        TargetKind::TikTokAccount => "tiktok",
        TargetKind::GbpLocation => "gbp",
        TargetKind::MailchimpAudience => "mailchimp",
        TargetKind::TwitterAccount => "twitter",
    }
}

/// Records a publish: `postd_publish_total{platform,surface,outcome}`,
/// `postd_publish_duration_seconds{platform,surface}` and one log line.
pub fn record_publish(target: &Target, result: &Result<PublishOutcome>, elapsed: Duration) {
    let platform = target.platform().as_str();
    let surface = surface(target);
    let outcome = match result {
        Ok(PublishOutcome::Published(_)) => "published",
        Ok(PublishOutcome::Pending(_)) => "pending",
        Err(e) => e.kind().as_str(),
    };
    metrics::counter!("postd_publish_total", "platform" => platform, "surface" => surface, "outcome" => outcome)
        .increment(1);
    metrics::histogram!("postd_publish_duration_seconds", "platform" => platform, "surface" => surface)
        .record(elapsed.as_secs_f64());
    tracing::info!(
        platform,
        surface,
        outcome,
        latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "publish finished"
    );
}
