//! # postd-meta
//!
//! The Meta connector: Facebook Pages and Instagram professional accounts
//! through the Graph API. **Work in progress**: the connector is configured
//! and reports its capabilities, but its operations still answer
//! `NotImplemented`, and the manager does not hand it out yet.
//!
//! ```
//! use postd_core::config::Vars;
//! use postd_core::http::HttpClient;
//! use postd_meta::MetaConfig;
//!
//! let vars = Vars::from_pairs([("META_CLIENT_ID", "1234"), ("META_CLIENT_SECRET", "app-secret")]);
//! let connector = MetaConfig::from_vars(&vars)?.build(HttpClient::shared()?);
//! assert_eq!(connector.config().graph_version, postd_meta::DEFAULT_GRAPH_VERSION);
//! # Ok::<(), postd_core::Error>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod config;

use std::time::Duration;

use postd_core::http::HttpClient;
use postd_core::{
    AuthKind, Capabilities, Connector, MediaKind, MediaLimits, Platform, RefreshModel,
    ScheduleWindow, async_trait,
};

pub use config::{DEFAULT_GRAPH_VERSION, DEFAULT_SCOPES, ENV_VARS, MetaConfig, REQUIRED_VARS};

/// The Meta connector.
#[derive(Debug, Clone)]
pub struct MetaConnector {
    config: MetaConfig,
    http: HttpClient,
}

impl MetaConnector {
    /// A connector with `config` on the shared `http` client.
    pub fn new(config: MetaConfig, http: HttpClient) -> Self {
        MetaConnector { config, http }
    }

    /// The settings.
    pub fn config(&self) -> &MetaConfig {
        &self.config
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }
}

#[async_trait]
impl Connector for MetaConnector {
    fn platform(&self) -> Platform {
        Platform::Meta
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            platform: Platform::Meta,
            implemented: false,
            auth: AuthKind::OAuth2 { pkce: false },
            refresh: RefreshModel::LongLivedExchange,
            // Facebook posts take about 63,206 characters; Instagram captions 2,200 (checked per target).
            text_max_chars: Some(63_206),
            text_only: true,
            links: true,
            media: MediaLimits {
                kinds: vec![MediaKind::Image, MediaKind::Video],
                // Instagram carousels: 2-10 items.
                max_items: 10,
                max_image_bytes: Some(8 * 1024 * 1024),
                max_video_bytes: Some(1024 * 1024 * 1024),
                max_video_duration: Some(Duration::from_secs(15 * 60)),
            },
            // Facebook Pages: 10 minutes to 30 days ahead (the safe intersection of the documented windows).
            native_scheduling: Some(ScheduleWindow::new(
                Duration::from_secs(10 * 60),
                Duration::from_secs(30 * 24 * 3600),
            )),
            async_processing: true,
            analytics: true,
            analytics_delay: Some(Duration::from_secs(48 * 3600)),
            signed_webhooks: true,
            webhook_challenge: true,
        }
    }
}
