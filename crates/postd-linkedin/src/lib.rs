//! # postd-linkedin
//!
//! The LinkedIn connector: member and organization posts through the REST
//! Posts API. **Work in progress**: the connector is configured and reports
//! its capabilities, but its operations still answer `NotImplemented`, and the
//! manager does not hand it out yet.
//!
//! ```
//! use postd_core::config::Vars;
//! use postd_core::http::HttpClient;
//! use postd_linkedin::LinkedInConfig;
//!
//! let vars = Vars::from_pairs([("LINKEDIN_CLIENT_ID", "abc"), ("LINKEDIN_CLIENT_SECRET", "secret")]);
//! let connector = LinkedInConfig::from_vars(&vars)?.build(HttpClient::shared()?);
//! assert_eq!(connector.config().version, postd_linkedin::DEFAULT_LINKEDIN_VERSION);
//! # Ok::<(), postd_core::Error>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod config;

use std::time::Duration;

use postd_core::http::HttpClient;
use postd_core::{
    AuthKind, Capabilities, Connector, MediaKind, MediaLimits, Platform, RefreshModel, async_trait,
};

pub use config::{
    DEFAULT_LINKEDIN_VERSION, DEFAULT_SCOPES, ENV_VARS, LinkedInConfig, ORGANIZATION_SCOPES,
    REQUIRED_VARS,
};

/// The LinkedIn connector.
#[derive(Debug, Clone)]
pub struct LinkedInConnector {
    config: LinkedInConfig,
    http: HttpClient,
}

impl LinkedInConnector {
    /// A connector with `config` on the shared `http` client.
    pub fn new(config: LinkedInConfig, http: HttpClient) -> Self {
        LinkedInConnector { config, http }
    }

    /// The settings.
    pub fn config(&self) -> &LinkedInConfig {
        &self.config
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }
}

#[async_trait]
impl Connector for LinkedInConnector {
    fn platform(&self) -> Platform {
        Platform::LinkedIn
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::LinkedIn,
            implemented: false,
            auth: AuthKind::OAuth2 { pkce: false },
            // Refresh tokens (for approved apps) live 365 days and are not extended by a refresh.
            refresh: RefreshModel::RefreshToken { rotates: false },
            text_max_chars: Some(3000),
            text_only: true,
            links: true,
            media: MediaLimits {
                kinds: vec![MediaKind::Image, MediaKind::Video],
                // Multi-image posts: 2-20 images.
                max_items: 20,
                max_image_bytes: None,
                max_video_bytes: Some(5 * 1024 * 1024 * 1024),
                max_video_duration: Some(Duration::from_secs(30 * 60)),
            },
            // No native scheduling: the queue schedules.
            native_scheduling: None,
            async_processing: true,
            analytics: true,
            analytics_delay: Some(Duration::from_secs(3 * 3600)),
            signed_webhooks: true,
            webhook_challenge: true,
        }
    }
}
