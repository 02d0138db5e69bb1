//! # postd-mailchimp
//!
//! **Scaffold.** The Mailchimp connector compiles, describes the platform
//! truthfully through [`Capabilities`], and answers every operation with a
//! typed [`ErrorKind::NotImplemented`](postd_core::ErrorKind::NotImplemented) error that points to `CONNECTOR_SPECS_MAILCHIMP.md`,
//! which holds the implementation requirements. It never returns placeholder data.
//!
//! ```
//! use postd_core::{Connector, Credentials, ErrorKind};
//! use postd_mailchimp::MailchimpConnector;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let connector = MailchimpConnector::new();
//! assert!(!connector.capabilities().implemented);
//! let err = connector.health_check(&Credentials::ApiKey("key".into())).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotImplemented);
//! assert!(err.to_string().contains("CONNECTOR_SPECS_MAILCHIMP.md"));
//! # });
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

use std::time::Duration;

use postd_core::{
    AuthKind, Capabilities, Connector, MediaKind, MediaLimits, Platform, RefreshModel, async_trait,
};

/// The Mailchimp connector (scaffold: every operation answers `NotImplemented`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MailchimpConnector;

impl MailchimpConnector {
    /// The scaffold connector.
    pub fn new() -> Self {
        MailchimpConnector
    }
}

#[async_trait]
impl Connector for MailchimpConnector {
    fn platform(&self) -> Platform {
        Platform::Mailchimp
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::Mailchimp,
            implemented: false,
            auth: AuthKind::ApiKey,
            refresh: RefreshModel::NonExpiring,
            // Subject lines: 150 characters; the body is HTML of any length.
            text_max_chars: Some(150),
            text_only: true,
            links: true,
            media: MediaLimits {
                kinds: &[MediaKind::Image],
                max_items: 10,
                one_video_or_images: false,
                max_image_bytes: None,
                max_video_bytes: None,
                max_video_duration: None,
            },
            // Campaigns can be scheduled on 15-minute boundaries.
            native_scheduling: Some(postd_core::ScheduleWindow::new(
                Duration::from_secs(15 * 60),
                Duration::from_secs(365 * 24 * 3600),
            )),
            async_processing: true,
            analytics: true,
            analytics_delay: None,
            // Audience webhooks are unsigned; a secret in the URL protects them.
            signed_webhooks: false,
            webhook_challenge: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::{Target, TargetKind};

    #[tokio::test]
    async fn passes_the_scaffold_conformance_checks() {
        let target = Target::new(TargetKind::MailchimpAudience, "t1");
        postd_testkit::conformance::check_scaffold(&MailchimpConnector::new(), &target).await;
    }
}
