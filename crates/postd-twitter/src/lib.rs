//! # postd-twitter
//!
//! **Scaffold.** The X (Twitter) connector compiles, describes the platform
//! truthfully through [`Capabilities`], and answers every operation with a
//! typed [`ErrorKind::NotImplemented`](postd_core::ErrorKind::NotImplemented) error that points to `CONNECTOR_SPECS_X.md`,
//! which holds the implementation requirements. It never returns placeholder data.
//!
//! ```
//! use postd_core::{Connector, Credentials, ErrorKind};
//! use postd_twitter::TwitterConnector;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let connector = TwitterConnector::new();
//! assert!(!connector.capabilities().implemented);
//! let err = connector.health_check(&Credentials::ApiKey("key".into())).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotImplemented);
//! assert!(err.to_string().contains("CONNECTOR_SPECS_X.md"));
//! # });
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

use std::time::Duration;

use postd_core::{
    AuthKind, Capabilities, Connector, MediaKind, MediaLimits, Platform, RefreshModel, async_trait,
};

/// The X (Twitter) connector (scaffold: every operation answers `NotImplemented`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TwitterConnector;

impl TwitterConnector {
    /// The scaffold connector.
    pub fn new() -> Self {
        TwitterConnector
    }
}

#[async_trait]
impl Connector for TwitterConnector {
    fn platform(&self) -> Platform {
        Platform::Twitter
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::Twitter,
            implemented: false,
            auth: AuthKind::OAuth2 { pkce: true },
            refresh: RefreshModel::RefreshToken { rotates: true },
            // 280 weighted characters for standard accounts.
            text_max_chars: Some(280),
            text_only: true,
            links: true,
            media: MediaLimits {
                kinds: &[MediaKind::Image, MediaKind::Gif, MediaKind::Video],
                max_items: 4,
                // Up to four images, or one video (or GIF).
                one_video_or_images: true,
                max_image_bytes: Some(5_000_000),
                max_video_bytes: Some(512 * 1024 * 1024),
                max_video_duration: Some(Duration::from_secs(20 * 60)),
            },
            native_scheduling: None,
            async_processing: false,
            analytics: true,
            analytics_delay: None,
            signed_webhooks: true,
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
        let target = Target::new(TargetKind::TwitterAccount, "t1");
        postd_testkit::conformance::check_scaffold(&TwitterConnector::new(), &target).await;
    }
}
