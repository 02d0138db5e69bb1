//! # postd-tiktok
//!
//! **Scaffold.** The TikTok connector compiles, describes the platform
//! truthfully through [`Capabilities`], and answers every operation with a
//! typed [`ErrorKind::NotImplemented`](postd_core::ErrorKind::NotImplemented) error that points to `CONNECTOR_SPECS_TIKTOK.md`,
//! which holds the implementation requirements. It never returns placeholder data.
//!
//! ```
//! use postd_core::{Connector, Credentials, ErrorKind};
//! use postd_tiktok::TikTokConnector;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let connector = TikTokConnector::new();
//! assert!(!connector.capabilities().implemented);
//! let err = connector.health_check(&Credentials::ApiKey("key".into())).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotImplemented);
//! assert!(err.to_string().contains("CONNECTOR_SPECS_TIKTOK.md"));
//! # });
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

use std::time::Duration;

use postd_core::{
    AuthKind, Capabilities, Connector, MediaKind, MediaLimits, Platform, RefreshModel, async_trait,
};

/// The TikTok connector (scaffold: every operation answers `NotImplemented`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TikTokConnector;

impl TikTokConnector {
    /// The scaffold connector.
    pub fn new() -> Self {
        TikTokConnector
    }
}

#[async_trait]
impl Connector for TikTokConnector {
    fn platform(&self) -> Platform {
        Platform::TikTok
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::TikTok,
            implemented: false,
            // PKCE is required for mobile and desktop clients (Login Kit).
            auth: AuthKind::OAuth2 { pkce: true },
            // "The previous refresh token stops working once a new one is issued."
            refresh: RefreshModel::RefreshToken { rotates: true },
            // Video captions: 2200 UTF-16 units.
            text_max_chars: Some(2200),
            text_only: false,
            links: false,
            media: MediaLimits {
                kinds: &[MediaKind::Video, MediaKind::Image],
                // Photo posts take up to 35 images.
                max_items: 35,
                // A post is one video, or a photo post of images.
                one_video_or_images: true,
                max_image_bytes: Some(20_000_000),
                max_video_bytes: Some(4 * 1024 * 1024 * 1024),
                max_video_duration: Some(Duration::from_secs(600)),
            },
            native_scheduling: None,
            async_processing: true,
            analytics: true,
            analytics_delay: Some(Duration::from_secs(3 * 3600)),
            signed_webhooks: true,
            webhook_challenge: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::{Target, TargetKind};

    #[tokio::test]
    async fn passes_the_scaffold_conformance_checks() {
        let target = Target::new(TargetKind::TikTokAccount, "t1");
        postd_testkit::conformance::check_scaffold(&TikTokConnector::new(), &target).await;
    }
}
