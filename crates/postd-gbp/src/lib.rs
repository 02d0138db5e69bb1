//! # postd-gbp
//!
//! **Scaffold.** The Google Business Profile connector compiles, describes the platform
//! truthfully through [`Capabilities`], and answers every operation with a
//! typed [`ErrorKind::NotImplemented`](postd_core::ErrorKind::NotImplemented) error that points to `CONNECTOR_SPECS_GBP.md`,
//! which holds the implementation requirements. It never returns placeholder data.
//!
//! In place for the connector to come: typed resource names ([`LocationName`],
//! [`LocalPostName`]) that refuse a malformed name before anything is sent.
//!
//! ```
//! use postd_core::{Connector, Credentials, ErrorKind};
//! use postd_gbp::GbpConnector;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let connector = GbpConnector::new();
//! assert!(!connector.capabilities().implemented);
//! let err = connector.health_check(&Credentials::ApiKey("key".into())).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotImplemented);
//! assert!(err.to_string().contains("CONNECTOR_SPECS_GBP.md"));
//! # });
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod names;

pub use names::{LocalPostName, LocationName};

use std::time::Duration;

use postd_core::{
    AuthKind, Capabilities, Connector, MediaKind, MediaLimits, Platform, RefreshModel, async_trait,
};

/// The Google Business Profile connector (scaffold: every operation answers `NotImplemented`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GbpConnector;

impl GbpConnector {
    /// The scaffold connector.
    pub fn new() -> Self {
        GbpConnector
    }
}

#[async_trait]
impl Connector for GbpConnector {
    fn platform(&self) -> Platform {
        Platform::Gbp
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::Gbp,
            implemented: false,
            auth: AuthKind::OAuth2 { pkce: true },
            refresh: RefreshModel::RefreshToken { rotates: false },
            // Local post summary: 1500 characters.
            text_max_chars: Some(1500),
            text_only: true,
            links: true,
            media: MediaLimits {
                // One photo, by public URL, that Google fetches.
                kinds: &[MediaKind::Image],
                max_items: 1,
                one_video_or_images: false,
                max_image_bytes: Some(5 * 1024 * 1024),
                max_video_bytes: None,
                max_video_duration: None,
            },
            native_scheduling: None,
            async_processing: true,
            analytics: true,
            // Performance API data lags by 24-48 hours.
            analytics_delay: Some(Duration::from_secs(48 * 3600)),
            // Notifications arrive through Pub/Sub push with an OIDC JWT, not an HMAC.
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
        let target = Target::new(TargetKind::GbpLocation, "t1");
        postd_testkit::conformance::check_scaffold(&GbpConnector::new(), &target).await;
    }
}
