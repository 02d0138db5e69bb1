//! LinkedIn connector settings.

use std::fmt;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::poll::PollPolicy;
use postd_core::{Error, Result, secrecy::SecretString};
use url::Url;

/// The `LinkedIn-Version` sent unless configured. Versions are `YYYYMM` and
/// are sunset about 12 months after release; an inactive one answers 426.
pub const DEFAULT_LINKEDIN_VERSION: &str = "202609";

/// How many parts of a video upload are sent at once unless configured
/// ([`LinkedInConfig::with_video_parts_in_flight`]).
pub const DEFAULT_VIDEO_PARTS_IN_FLIGHT: usize = 4;

/// Scopes for posting as a member.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "w_member_social"];

/// Scopes added when organization posting is enabled.
pub const ORGANIZATION_SCOPES: &[&str] = &[
    "w_organization_social",
    "r_organization_social",
    "rw_organization_admin",
];

/// Every environment variable the LinkedIn connector reads.
pub const ENV_VARS: &[&str] = &[
    "LINKEDIN_CLIENT_ID",
    "LINKEDIN_CLIENT_SECRET",
    "LINKEDIN_BASE_URL",
    "LINKEDIN_OAUTH_BASE_URL",
    "LINKEDIN_VERSION",
    "LINKEDIN_SCOPES",
    "LINKEDIN_ORGANIZATIONS",
];

/// The variables without which the connector cannot be built.
pub const REQUIRED_VARS: &[&str] = &["LINKEDIN_CLIENT_ID", "LINKEDIN_CLIENT_SECRET"];

/// Settings of a [`LinkedInConnector`](crate::LinkedInConnector).
#[derive(Clone)]
#[non_exhaustive]
pub struct LinkedInConfig {
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret: token calls and webhook signatures.
    pub client_secret: SecretString,
    /// REST API host (`https://api.linkedin.com/`).
    pub api_base_url: Url,
    /// OAuth host (`https://www.linkedin.com/`).
    pub oauth_base_url: Url,
    /// The `LinkedIn-Version` header, `YYYYMM`.
    pub version: String,
    /// Whether to ask for organization scopes and list administered organizations.
    pub organizations: bool,
    /// Scopes asked for at login.
    pub scopes: Vec<String>,
    /// How long `publish` waits for an uploaded video to become `AVAILABLE`
    /// before answering `Pending`, how often it polls, and how often the
    /// queue asks again.
    pub polling: PollPolicy,
    /// How many parts of a video upload are sent at once (at least 1; each
    /// part, about 4 MiB, is in memory while it is sent). LinkedIn gives every
    /// part its own upload URL and assembles the parts in the order of the
    /// ETags passed to `finalizeUpload`, so the parts need not be sent one
    /// after another.
    pub video_parts_in_flight: usize,
}

impl fmt::Debug for LinkedInConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedInConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("api_base_url", &self.api_base_url.as_str())
            .field("oauth_base_url", &self.oauth_base_url.as_str())
            .field("version", &self.version)
            .field("organizations", &self.organizations)
            .field("scopes", &self.scopes)
            .field("polling", &self.polling)
            .field("video_parts_in_flight", &self.video_parts_in_flight)
            .finish_non_exhaustive()
    }
}

impl LinkedInConfig {
    /// Reads the settings from variables (see [`ENV_VARS`]).
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let client_id = vars.required("LINKEDIN_CLIENT_ID")?;
        let client_secret = vars.required_secret("LINKEDIN_CLIENT_SECRET")?;
        LinkedInConfig::with_optional_vars(client_id, client_secret, vars)
    }

    /// Settings with the production hosts and defaults.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Result<Self> {
        LinkedInConfig::with_optional_vars(client_id.into(), client_secret, &Vars::new())
    }

    fn with_optional_vars(
        client_id: String,
        client_secret: SecretString,
        vars: &Vars,
    ) -> Result<Self> {
        let version = vars
            .optional("LINKEDIN_VERSION")
            .unwrap_or_else(|| DEFAULT_LINKEDIN_VERSION.to_owned());
        if !is_version(&version) {
            return Err(Error::config(format!(
                "LINKEDIN_VERSION must be YYYYMM, got {:?}",
                version.chars().take(16).collect::<String>()
            )));
        }
        let organizations = vars.flag("LINKEDIN_ORGANIZATIONS")?;
        let scopes = match vars.optional("LINKEDIN_SCOPES") {
            Some(s) => s
                .split([',', ' '])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
            None => default_scopes(organizations),
        };
        Ok(LinkedInConfig {
            client_id,
            client_secret,
            api_base_url: vars.base_url("LINKEDIN_BASE_URL", "https://api.linkedin.com/")?,
            oauth_base_url: vars
                .base_url("LINKEDIN_OAUTH_BASE_URL", "https://www.linkedin.com/")?,
            version,
            organizations,
            scopes,
            polling: PollPolicy::new(
                Duration::from_secs(20),
                Duration::from_secs(1),
                Duration::from_secs(30),
            ),
            video_parts_in_flight: DEFAULT_VIDEO_PARTS_IN_FLIGHT,
        })
    }

    /// Points every LinkedIn host at one base URL (a local fake).
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.api_base_url = base.clone();
        self.oauth_base_url = base;
        self
    }

    /// Sets how long `publish` waits for videos and how often it polls (tests use milliseconds).
    pub fn with_polling(
        mut self,
        publish_wait: Duration,
        poll_interval: Duration,
        max_poll_interval: Duration,
    ) -> Self {
        self.polling = PollPolicy::new(publish_wait, poll_interval, max_poll_interval);
        self
    }

    /// Sets how many parts of a video upload are sent at once (0 counts as 1:
    /// one part after another). Memory held by an upload is about this many
    /// parts of 4 MiB.
    pub fn with_video_parts_in_flight(mut self, parts: usize) -> Self {
        self.video_parts_in_flight = parts.max(1);
        self
    }

    /// Builds the connector on a shared HTTP client.
    pub fn build(self, http: HttpClient) -> crate::LinkedInConnector {
        crate::LinkedInConnector::new(self, http)
    }
}

fn default_scopes(organizations: bool) -> Vec<String> {
    let mut s: Vec<String> = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
    if organizations {
        s.extend(ORGANIZATION_SCOPES.iter().map(|s| (*s).to_owned()));
    }
    s
}

fn is_version(v: &str) -> bool {
    v.len() == 6
        && v.bytes().all(|b| b.is_ascii_digit())
        && matches!(
            &v[4..],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ErrorKind;

    #[test]
    fn reads_variables() {
        let cfg = LinkedInConfig::from_vars(&Vars::from_pairs([
            ("LINKEDIN_CLIENT_ID", "c"),
            ("LINKEDIN_CLIENT_SECRET", "CANARY_s"),
            ("LINKEDIN_ORGANIZATIONS", "true"),
        ]))
        .unwrap();
        assert!(cfg.organizations);
        assert!(cfg.scopes.contains(&"w_organization_social".to_owned()));
        assert_eq!(cfg.version, DEFAULT_LINKEDIN_VERSION);
        assert!(!format!("{cfg:?}").contains("CANARY"));
        let err = LinkedInConfig::from_vars(&Vars::from_pairs([("LINKEDIN_CLIENT_ID", "c")]))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("LINKEDIN_CLIENT_SECRET is not set")
        );
    }

    #[test]
    fn versions_are_checked() {
        for bad in ["2026-09", "202613", "20260", "abcdef"] {
            let vars = Vars::from_pairs([
                ("LINKEDIN_CLIENT_ID", "c"),
                ("LINKEDIN_CLIENT_SECRET", "s"),
                ("LINKEDIN_VERSION", bad),
            ]);
            assert_eq!(
                LinkedInConfig::from_vars(&vars).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
    }
}
