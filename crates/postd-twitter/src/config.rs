//! X connector settings.

use std::fmt;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::secrecy::SecretString;
use postd_core::{Error, Result};
use url::Url;

/// Scopes asked for at authorization: read and write Posts, who the user is,
/// media uploads, and `offline.access` for a refresh token
/// (<https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code>).
pub const DEFAULT_SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "media.write",
    "offline.access",
];

/// Every environment variable the X connector reads.
pub const ENV_VARS: &[&str] = &[
    "X_CLIENT_ID",
    "X_CLIENT_SECRET",
    "X_CONSUMER_SECRET",
    "X_BASE_URL",
    "X_AUTHORIZE_URL",
    "X_SCOPES",
    "X_MAX_WEIGHTED_TEXT",
];

/// The variables without which the connector cannot be built.
pub const REQUIRED_VARS: &[&str] = &["X_CLIENT_ID"];

/// Bytes per appended segment unless configured: 4 MiB, under the 5 MB a
/// segment of the v1.1 upload could carry (X documents no v2 segment size).
pub const DEFAULT_SEGMENT_SIZE: u64 = 4 * 1024 * 1024;

/// The segment sizes accepted in the settings: 64 KiB to 5 MiB.
pub const SEGMENT_SIZE_RANGE: std::ops::RangeInclusive<u64> = 64 * 1024..=5 * 1024 * 1024;

/// Settings of a [`TwitterConnector`](crate::TwitterConnector).
#[derive(Clone)]
#[non_exhaustive]
pub struct XConfig {
    /// The app's OAuth 2.0 Client ID.
    pub client_id: String,
    /// The OAuth 2.0 Client Secret of a confidential client (sent with HTTP
    /// Basic); `None` for a public client, which sends only `client_id`.
    pub client_secret: Option<SecretString>,
    /// The app's consumer secret (API key secret): it keys the webhook CRC
    /// and the legacy delivery signature. Without it, the CRC is keyed with
    /// the client secret and only the OAuth 2.0 signature header is checked;
    /// with neither, webhooks are refused.
    pub consumer_secret: Option<SecretString>,
    /// API host (`https://api.x.com/`); the token, media and Post endpoints live under `/2/`.
    pub api_base_url: Url,
    /// The consent page (`https://x.com/i/oauth2/authorize`).
    pub authorize_url: Url,
    /// Scopes asked for at authorization (space-joined on the wire).
    pub scopes: Vec<String>,
    /// The longest text in X's weighted count: 280 (Premium accounts may post more).
    pub max_weighted_text: usize,
    /// Bytes per appended media segment (see [`SEGMENT_SIZE_RANGE`]).
    pub segment_size: u64,
    /// How long media processing may take before the publish gives up.
    pub processing_timeout: Duration,
    /// The longest wait between two processing status checks (X's
    /// `check_after_secs` is followed up to this).
    pub max_poll_interval: Duration,
}

impl fmt::Debug for XConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |s: &Option<SecretString>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("XConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &hidden(&self.client_secret))
            .field("consumer_secret", &hidden(&self.consumer_secret))
            .field("api_base_url", &self.api_base_url.as_str())
            .field("authorize_url", &self.authorize_url.as_str())
            .field("scopes", &self.scopes)
            .field("max_weighted_text", &self.max_weighted_text)
            .field("segment_size", &self.segment_size)
            .field("processing_timeout", &self.processing_timeout)
            .field("max_poll_interval", &self.max_poll_interval)
            .finish()
    }
}

impl XConfig {
    /// Reads the settings from variables (see [`ENV_VARS`]).
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let client_id = vars.required("X_CLIENT_ID")?;
        let scopes = match vars.optional("X_SCOPES") {
            Some(s) => s
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        };
        let max_weighted_text = vars
            .number("X_MAX_WEIGHTED_TEXT", 1..=25_000)?
            .map_or(280, |n| n as usize);
        Ok(XConfig {
            client_id,
            client_secret: vars.optional_secret("X_CLIENT_SECRET"),
            consumer_secret: vars.optional_secret("X_CONSUMER_SECRET"),
            api_base_url: vars.base_url("X_BASE_URL", "https://api.x.com/")?,
            authorize_url: vars
                .endpoint_url("X_AUTHORIZE_URL", "https://x.com/i/oauth2/authorize")?,
            scopes,
            max_weighted_text,
            segment_size: DEFAULT_SEGMENT_SIZE,
            processing_timeout: Duration::from_secs(20 * 60),
            max_poll_interval: Duration::from_secs(30),
        })
    }

    /// Settings for a public client with the production hosts and defaults.
    pub fn new(client_id: impl Into<String>) -> Result<Self> {
        XConfig::from_vars(&Vars::from_pairs([("X_CLIENT_ID", client_id.into())]))
    }

    /// Makes the client confidential: the token calls send HTTP Basic.
    pub fn with_client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// Sets the consumer secret that keys webhook signatures.
    pub fn with_consumer_secret(mut self, secret: SecretString) -> Self {
        self.consumer_secret = Some(secret);
        self
    }

    /// Points the API host at one base URL (a local fake).
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.api_base_url = base;
        self
    }

    /// Sets the media segment size; outside [`SEGMENT_SIZE_RANGE`] is a config error.
    pub fn with_segment_size(mut self, bytes: u64) -> Result<Self> {
        if !SEGMENT_SIZE_RANGE.contains(&bytes) {
            return Err(Error::config(format!(
                "the X segment size must be {} to {} bytes, not {bytes}",
                SEGMENT_SIZE_RANGE.start(),
                SEGMENT_SIZE_RANGE.end()
            )));
        }
        self.segment_size = bytes;
        Ok(self)
    }

    /// Sets how long media processing may take and the longest wait between checks.
    pub fn with_processing_timing(mut self, timeout: Duration, max_poll: Duration) -> Self {
        self.processing_timeout = timeout;
        self.max_poll_interval = max_poll;
        self
    }

    /// The connector, on a shared HTTP client.
    pub fn build(self, http: HttpClient) -> crate::TwitterConnector {
        crate::TwitterConnector::new(self, http)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ErrorKind;

    #[test]
    fn reads_variables_and_hides_the_secrets() {
        let vars = Vars::from_pairs([
            ("X_CLIENT_ID", "cid"),
            ("X_CLIENT_SECRET", "very-secret-1"),
            ("X_CONSUMER_SECRET", "very-secret-2"),
            ("X_SCOPES", "tweet.read users.read"),
            ("X_MAX_WEIGHTED_TEXT", "25000"),
        ]);
        let cfg = XConfig::from_vars(&vars).unwrap();
        assert_eq!(cfg.scopes, ["tweet.read", "users.read"]);
        assert_eq!(cfg.max_weighted_text, 25_000);
        assert_eq!(cfg.api_base_url.as_str(), "https://api.x.com/");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        let err = XConfig::from_vars(&Vars::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("X_CLIENT_ID"));
        let bad = Vars::from_pairs([("X_CLIENT_ID", "c"), ("X_MAX_WEIGHTED_TEXT", "-1")]);
        assert_eq!(
            XConfig::from_vars(&bad).unwrap_err().kind(),
            ErrorKind::Config
        );
    }

    #[test]
    fn segment_sizes_are_bounded() {
        let cfg = XConfig::new("c").unwrap();
        assert!(cfg.clone().with_segment_size(1024).is_err());
        assert!(cfg.clone().with_segment_size(6 * 1024 * 1024).is_err());
        assert_eq!(
            cfg.with_segment_size(1024 * 1024).unwrap().segment_size,
            1024 * 1024
        );
    }
}
