//! # postd-manager
//!
//! [`ConnectorManager`] builds the connectors an application compiled in (one
//! cargo feature per platform: `meta`, `linkedin`, `tiktok`, `gbp`,
//! `mailchimp`, `twitter`; all on by default), configures them from
//! environment variables or a builder, and hands them out as
//! `Arc<dyn Connector>`.
//!
//! - A platform whose feature is off is a [`ErrorKind::Config`] error that names the feature.
//! - A platform whose required variables are missing is a [`ErrorKind::Config`] error that names the variable.
//! - A scaffold platform (GBP and Mailchimp today) is refused with
//!   [`ErrorKind::NotImplemented`] and a message pointing to its spec.
//! - Every connector handed out is wrapped in
//!   [`Instrumented`](postd_core::telemetry::Instrumented): one span per call,
//!   publish outcome and latency metrics, the same for every platform.
//! - Every platform takes a `{PREFIX}_BASE_URL` override (`META_BASE_URL`,
//!   `LINKEDIN_BASE_URL`, `TIKTOK_BASE_URL`, `GBP_BASE_URL`,
//!   `MAILCHIMP_BASE_URL`, `X_BASE_URL`) so tests and sandboxes can point it at a fake.
//!
//! ```
//! use postd_core::{ErrorKind, Platform};
//! use postd_manager::{ConnectorManager, ConnectorStatus};
//!
//! let manager = ConnectorManager::builder()
//!     .var("META_CLIENT_ID", "1234")
//!     .build()?;
//! # #[cfg(feature = "gbp")] {
//! let err = manager.connector(Platform::Gbp).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Config);
//! assert!(err.to_string().contains("GOOGLE_CLIENT_ID"));
//! # }
//! # #[cfg(feature = "meta")] {
//! let status = manager.status(Platform::Meta);
//! assert!(matches!(status, ConnectorStatus::NotConfigured { .. }));
//! assert!(manager.connector(Platform::Meta).unwrap_err().to_string().contains("META_CLIENT_SECRET is not set"));
//! # }
//! # Ok::<(), postd_core::Error>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::{Capabilities, Connector, Error, ErrorKind, Platform, Result};

/// Re-exports of the connector crates compiled in.
pub mod connectors {
    #[cfg(feature = "gbp")]
    pub use postd_gbp as gbp;
    #[cfg(feature = "linkedin")]
    pub use postd_linkedin as linkedin;
    #[cfg(feature = "mailchimp")]
    pub use postd_mailchimp as mailchimp;
    #[cfg(feature = "meta")]
    pub use postd_meta as meta;
    #[cfg(feature = "tiktok")]
    pub use postd_tiktok as tiktok;
    #[cfg(feature = "twitter")]
    pub use postd_twitter as twitter;
}

/// Where a platform stands in this manager.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectorStatus {
    /// Configured and implemented: [`ConnectorManager::connector`] hands it out.
    Ready,
    /// Compiled in, but a scaffold (or not finished): every operation would answer `NotImplemented`.
    Scaffold,
    /// Compiled in, but its settings are missing or invalid.
    NotConfigured {
        /// Why, naming the variable.
        reason: String,
    },
    /// Its cargo feature is off.
    FeatureDisabled,
}

impl fmt::Display for ConnectorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectorStatus::Ready => f.write_str("ready"),
            ConnectorStatus::Scaffold => f.write_str("scaffold (not implemented)"),
            ConnectorStatus::NotConfigured { reason } => write!(f, "not configured: {reason}"),
            ConnectorStatus::FeatureDisabled => f.write_str("feature disabled"),
        }
    }
}

// With few platform features on, some entries are never built.
#[cfg_attr(
    not(all(
        feature = "meta",
        feature = "linkedin",
        any(
            feature = "tiktok",
            feature = "gbp",
            feature = "mailchimp",
            feature = "twitter"
        )
    )),
    allow(dead_code)
)]
enum Entry {
    Ready(Arc<dyn Connector>),
    Scaffold(Arc<dyn Connector>),
    NotConfigured(String),
}

/// Builds a [`ConnectorManager`].
#[derive(Debug, Default)]
pub struct ManagerBuilder {
    vars: Vars,
    http: Option<HttpClient>,
}

impl ManagerBuilder {
    /// Uses these variables (replacing any set before).
    pub fn vars(mut self, vars: Vars) -> Self {
        self.vars = vars;
        self
    }

    /// Sets one variable.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.set(name, value);
        self
    }

    /// Fills in sandbox app credentials for every platform that has none, so
    /// the manager can be built on a machine with no credentials (point the
    /// `*_BASE_URL` variables at fakes: the sandbox values are not real).
    pub fn sandbox_defaults(mut self) -> Self {
        for (name, value) in SANDBOX_DEFAULTS {
            self.vars.set_default(*name, *value);
        }
        self
    }

    /// Uses this HTTP client for every connector (default: the process-wide shared one).
    pub fn http_client(mut self, http: HttpClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds every compiled-in connector. Missing settings do not fail the
    /// build: they make that platform [`ConnectorStatus::NotConfigured`].
    pub fn build(self) -> Result<ConnectorManager> {
        let http = match self.http {
            Some(h) => h,
            None => HttpClient::shared()?,
        };
        let mut entries = BTreeMap::new();
        for platform in Platform::ALL {
            if let Some(entry) = build_entry(platform, &self.vars, &http) {
                entries.insert(platform, entry);
            }
        }
        Ok(ConnectorManager { entries })
    }
}

/// The sandbox values [`ManagerBuilder::sandbox_defaults`] fills in.
pub const SANDBOX_DEFAULTS: &[(&str, &str)] = &[
    ("META_CLIENT_ID", "sandbox-meta-app"),
    ("META_CLIENT_SECRET", "sandbox-meta-secret"),
    ("META_WEBHOOK_VERIFY_TOKEN", "sandbox-verify-token"),
    ("LINKEDIN_CLIENT_ID", "sandbox-linkedin-client"),
    ("LINKEDIN_CLIENT_SECRET", "sandbox-linkedin-secret"),
    ("TIKTOK_CLIENT_KEY", "sandbox-tiktok-key"),
    ("TIKTOK_CLIENT_SECRET", "sandbox-tiktok-secret"),
    ("GOOGLE_CLIENT_ID", "sandbox-google-client"),
    ("GOOGLE_CLIENT_SECRET", "sandbox-google-secret"),
    ("MAILCHIMP_API_KEY", "sandbox00000000000000000000000000-us1"),
    ("X_CLIENT_ID", "sandbox-x-client"),
    ("X_CLIENT_SECRET", "sandbox-x-secret"),
    ("X_CONSUMER_SECRET", "sandbox-x-consumer-secret"),
];

/// Every connector the manager hands out records the same spans and metrics
/// (`postd_core::telemetry::Instrumented`).
#[cfg_attr(
    not(any(
        feature = "meta",
        feature = "linkedin",
        feature = "tiktok",
        feature = "gbp",
        feature = "mailchimp",
        feature = "twitter"
    )),
    allow(dead_code)
)]
fn instrumented<C: Connector>(connector: C) -> Arc<dyn Connector> {
    Arc::new(postd_core::telemetry::Instrumented::new(connector))
}

#[cfg_attr(
    not(any(
        feature = "meta",
        feature = "linkedin",
        feature = "tiktok",
        feature = "gbp",
        feature = "mailchimp",
        feature = "twitter"
    )),
    allow(dead_code)
)]
fn classify(connector: Arc<dyn Connector>) -> Entry {
    if connector.capabilities().implemented {
        Entry::Ready(connector)
    } else {
        Entry::Scaffold(connector)
    }
}

#[allow(unused_variables)]
fn build_entry(platform: Platform, vars: &Vars, http: &HttpClient) -> Option<Entry> {
    match platform {
        #[cfg(feature = "meta")]
        Platform::Meta => Some(match postd_meta::MetaConfig::from_vars(vars) {
            Ok(cfg) => classify(instrumented(cfg.build(http.clone()))),
            Err(e) => Entry::NotConfigured(e.message().to_owned()),
        }),
        #[cfg(feature = "linkedin")]
        Platform::LinkedIn => Some(match postd_linkedin::LinkedInConfig::from_vars(vars) {
            Ok(cfg) => classify(instrumented(cfg.build(http.clone()))),
            Err(e) => Entry::NotConfigured(e.message().to_owned()),
        }),
        #[cfg(feature = "tiktok")]
        Platform::TikTok => Some(match postd_tiktok::TikTokConfig::from_vars(vars) {
            Ok(cfg) => classify(instrumented(cfg.build(http.clone()))),
            Err(e) => Entry::NotConfigured(e.message().to_owned()),
        }),
        #[cfg(feature = "gbp")]
        Platform::Gbp => Some(match postd_gbp::GbpConfig::from_vars(vars) {
            Ok(cfg) => classify(instrumented(cfg.build(http.clone()))),
            Err(e) => Entry::NotConfigured(e.message().to_owned()),
        }),
        #[cfg(feature = "mailchimp")]
        Platform::Mailchimp => Some(match postd_mailchimp::MailchimpConfig::from_vars(vars) {
            Ok(cfg) => classify(instrumented(cfg.build(http.clone()))),
            Err(e) => Entry::NotConfigured(e.message().to_owned()),
        }),
        #[cfg(feature = "twitter")]
        Platform::Twitter => Some(match postd_twitter::XConfig::from_vars(vars) {
            Ok(cfg) => classify(instrumented(cfg.build(http.clone()))),
            Err(e) => Entry::NotConfigured(e.message().to_owned()),
        }),
        _ => None,
    }
}

/// The connectors an application compiled in, configured.
pub struct ConnectorManager {
    entries: BTreeMap<Platform, Entry>,
}

impl fmt::Debug for ConnectorManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let statuses: BTreeMap<Platform, ConnectorStatus> = Platform::ALL
            .iter()
            .map(|p| (*p, self.status(*p)))
            .collect();
        f.debug_struct("ConnectorManager")
            .field("platforms", &statuses)
            .finish()
    }
}

impl ConnectorManager {
    /// A builder with no variables set.
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::default()
    }

    /// A manager configured from the process environment (see `.env.example`).
    pub fn from_env() -> Result<Self> {
        ConnectorManager::builder().vars(Vars::from_env()).build()
    }

    /// Where `platform` stands.
    pub fn status(&self, platform: Platform) -> ConnectorStatus {
        match self.entries.get(&platform) {
            None => ConnectorStatus::FeatureDisabled,
            Some(Entry::Ready(_)) => ConnectorStatus::Ready,
            Some(Entry::Scaffold(_)) => ConnectorStatus::Scaffold,
            Some(Entry::NotConfigured(reason)) => ConnectorStatus::NotConfigured {
                reason: reason.clone(),
            },
        }
    }

    /// The connector for `platform`, ready to use.
    ///
    /// Fails with [`ErrorKind::Config`] when the platform's feature is off or
    /// its settings are missing, and with [`ErrorKind::NotImplemented`] for a scaffold.
    pub fn connector(&self, platform: Platform) -> Result<Arc<dyn Connector>> {
        match self.entries.get(&platform) {
            Some(Entry::Ready(c)) => Ok(Arc::clone(c)),
            Some(Entry::Scaffold(_)) => Err(Error::new(ErrorKind::NotImplemented, platform.scaffold_message())
                .with_platform(platform)
                .with_operation("connector")),
            Some(Entry::NotConfigured(reason)) => Err(Error::config(format!(
                "{} is not configured: {reason}",
                platform.display_name()
            ))
            .with_platform(platform)
            .with_operation("connector")),
            None => Err(Error::config(format!(
                "{} support is not compiled in: enable the `{}` cargo feature of postd (or postd-manager)",
                platform.display_name(),
                platform.feature()
            ))
            .with_platform(platform)
            .with_operation("connector")),
        }
    }

    /// The capabilities of a compiled-in, configured platform (scaffolds included).
    pub fn capabilities(&self, platform: Platform) -> Option<Capabilities> {
        match self.entries.get(&platform)? {
            Entry::Ready(c) | Entry::Scaffold(c) => Some(c.capabilities()),
            Entry::NotConfigured(_) => None,
        }
    }

    /// The platforms whose connectors are ready.
    pub fn ready(&self) -> Vec<Platform> {
        self.entries
            .iter()
            .filter(|(_, e)| matches!(e, Entry::Ready(_)))
            .map(|(p, _)| *p)
            .collect()
    }
}
