//! Meta connector settings.

use std::fmt;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::poll::PollPolicy;
use postd_core::{Result, secrecy::SecretString};
use url::Url;

/// The Graph API version used unless configured (v26.0 was released on 2026-07-29).
pub const DEFAULT_GRAPH_VERSION: &str = "v26.0";

/// The scopes asked for unless configured: Pages publishing and insights,
/// Instagram publishing, insights and comments, webhooks, and Business
/// Manager pages.
pub const DEFAULT_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "pages_manage_engagement",
    "pages_read_user_engagement",
    "pages_manage_metadata",
    "read_insights",
    "publish_video",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "instagram_manage_comments",
    "business_management",
];

/// Every environment variable the Meta connector reads.
pub const ENV_VARS: &[&str] = &[
    "META_CLIENT_ID",
    "META_CLIENT_SECRET",
    "META_BASE_URL",
    "META_OAUTH_BASE_URL",
    "META_VIDEO_BASE_URL",
    "META_UPLOAD_BASE_URL",
    "META_GRAPH_VERSION",
    "META_WEBHOOK_VERIFY_TOKEN",
    "META_SCOPES",
];

/// The variables without which the connector cannot be built.
pub const REQUIRED_VARS: &[&str] = &["META_CLIENT_ID", "META_CLIENT_SECRET"];

/// Settings of a [`MetaConnector`](crate::MetaConnector).
#[derive(Clone)]
#[non_exhaustive]
pub struct MetaConfig {
    /// The Meta app id.
    pub client_id: String,
    /// The app secret: token exchange, `appsecret_proof`, and webhook signatures.
    pub client_secret: SecretString,
    /// Graph API host (`https://graph.facebook.com/`).
    pub graph_base_url: Url,
    /// Login dialog host (`https://www.facebook.com/`).
    pub oauth_base_url: Url,
    /// Video upload host (`https://graph-video.facebook.com/`).
    pub video_base_url: Url,
    /// Instagram resumable upload host (`https://rupload.facebook.com/`).
    pub upload_base_url: Url,
    /// Graph API version, such as `v26.0`.
    pub graph_version: String,
    /// The token Meta echoes in webhook verification (`hub.verify_token`).
    pub webhook_verify_token: Option<SecretString>,
    /// Scopes asked for at login.
    pub scopes: Vec<String>,
    /// Send `appsecret_proof` with every call made with a user or page token.
    pub appsecret_proof: bool,
    /// How long `publish` waits for Instagram containers before answering
    /// `Pending` (image containers are usually ready at once), how often it
    /// polls, and how often the queue asks again.
    pub polling: PollPolicy,
    /// Attempts to finish a resumable upload, resuming from the offset Meta reports.
    pub upload_attempts: u32,
    /// After a `media_publish` whose outcome is unknown, how long the container
    /// may still say `FINISHED` before the same container is published again.
    pub unknown_outcome_wait: Duration,
}

impl fmt::Debug for MetaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetaConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("graph_base_url", &self.graph_base_url.as_str())
            .field("oauth_base_url", &self.oauth_base_url.as_str())
            .field("video_base_url", &self.video_base_url.as_str())
            .field("upload_base_url", &self.upload_base_url.as_str())
            .field("graph_version", &self.graph_version)
            .field(
                "webhook_verify_token",
                &self.webhook_verify_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("scopes", &self.scopes)
            .field("appsecret_proof", &self.appsecret_proof)
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl MetaConfig {
    /// Reads the settings from variables (see [`ENV_VARS`]); a missing required variable is a
    /// [`Config`](postd_core::ErrorKind::Config) error that names it.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let client_id = vars.required("META_CLIENT_ID")?;
        let client_secret = vars.required_secret("META_CLIENT_SECRET")?;
        MetaConfig::with_optional_vars(client_id, client_secret, vars)
    }

    /// Settings with the production hosts and defaults, for an app id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Result<Self> {
        MetaConfig::with_optional_vars(client_id.into(), client_secret, &Vars::new())
    }

    fn with_optional_vars(
        client_id: String,
        client_secret: SecretString,
        vars: &Vars,
    ) -> Result<Self> {
        let graph_version = vars
            .optional("META_GRAPH_VERSION")
            .unwrap_or_else(|| DEFAULT_GRAPH_VERSION.to_owned());
        if !is_graph_version(&graph_version) {
            return Err(postd_core::Error::config(format!(
                "META_GRAPH_VERSION must look like v26.0, got {:?}",
                graph_version.chars().take(16).collect::<String>()
            )));
        }
        let scopes = match vars.optional("META_SCOPES") {
            Some(s) => s
                .split([',', ' '])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
            None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        };
        Ok(MetaConfig {
            client_id,
            client_secret,
            graph_base_url: vars.base_url("META_BASE_URL", "https://graph.facebook.com/")?,
            oauth_base_url: vars.base_url("META_OAUTH_BASE_URL", "https://www.facebook.com/")?,
            video_base_url: vars
                .base_url("META_VIDEO_BASE_URL", "https://graph-video.facebook.com/")?,
            upload_base_url: vars
                .base_url("META_UPLOAD_BASE_URL", "https://rupload.facebook.com/")?,
            graph_version,
            webhook_verify_token: vars.optional_secret("META_WEBHOOK_VERIFY_TOKEN"),
            scopes,
            appsecret_proof: true,
            // Meta: "query a container's status once per minute, for no more than 5 minutes".
            polling: PollPolicy::new(
                Duration::from_secs(20),
                Duration::from_secs(1),
                Duration::from_secs(60),
            ),
            upload_attempts: 5,
            unknown_outcome_wait: Duration::from_secs(120),
        })
    }

    /// Points every Meta host at one base URL (a local fake).
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.graph_base_url = base.clone();
        self.oauth_base_url = base.clone();
        self.video_base_url = base.clone();
        self.upload_base_url = base;
        self
    }

    /// Sets how long `publish` waits and how often it polls (tests use milliseconds).
    pub fn with_polling(
        mut self,
        publish_wait: Duration,
        poll_interval: Duration,
        max_poll_interval: Duration,
    ) -> Self {
        self.polling = PollPolicy::new(publish_wait, poll_interval, max_poll_interval);
        self
    }

    /// Builds the connector on a shared HTTP client.
    pub fn build(self, http: HttpClient) -> crate::MetaConnector {
        crate::MetaConnector::new(self, http)
    }
}

fn is_graph_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ErrorKind;

    #[test]
    fn missing_variables_are_named() {
        let err = MetaConfig::from_vars(&Vars::from_pairs([("META_CLIENT_ID", "1")])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("META_CLIENT_SECRET is not set"));
    }

    #[test]
    fn defaults_and_overrides() {
        let cfg = MetaConfig::from_vars(&Vars::from_pairs([
            ("META_CLIENT_ID", "1"),
            ("META_CLIENT_SECRET", "CANARY_secret"),
            ("META_BASE_URL", "http://127.0.0.1:9/graph"),
            ("META_SCOPES", "pages_show_list, instagram_basic"),
        ]))
        .unwrap();
        assert_eq!(cfg.graph_version, DEFAULT_GRAPH_VERSION);
        assert_eq!(cfg.graph_base_url.as_str(), "http://127.0.0.1:9/graph/");
        assert_eq!(cfg.oauth_base_url.as_str(), "https://www.facebook.com/");
        assert_eq!(cfg.scopes, vec!["pages_show_list", "instagram_basic"]);
        assert!(!format!("{cfg:?}").contains("CANARY"));
    }

    #[test]
    fn graph_versions_are_checked() {
        for good in ["v26.0", "v9.1"] {
            assert!(is_graph_version(good));
        }
        for bad in ["26.0", "v26", "v26.0.1", "vX.0", "v26.0/../x"] {
            assert!(!is_graph_version(bad), "{bad}");
            let vars = Vars::from_pairs([
                ("META_CLIENT_ID", "1"),
                ("META_CLIENT_SECRET", "s"),
                ("META_GRAPH_VERSION", bad),
            ]);
            assert_eq!(
                MetaConfig::from_vars(&vars).unwrap_err().kind(),
                ErrorKind::Config
            );
        }
    }
}
