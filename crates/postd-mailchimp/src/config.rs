//! Mailchimp connector settings: the API host (derived from each
//! credential's data center unless overridden), the OAuth client for
//! multi-tenant apps, the per-account concurrency, and the webhook secrets.

use std::fmt;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Error, Result};
use url::Url;

/// Every environment variable the connector reads.
pub const ENV_VARS: &[&str] = &[
    "MAILCHIMP_API_KEY",
    "MAILCHIMP_BASE_URL",
    "MAILCHIMP_CLIENT_ID",
    "MAILCHIMP_CLIENT_SECRET",
    "MAILCHIMP_OAUTH_BASE_URL",
    "MAILCHIMP_MAX_CONCURRENCY",
    "MAILCHIMP_WEBHOOK_SECRETS",
    "MAILCHIMP_STATUS_POLL_SECONDS",
];

/// Mailchimp allows 10 simultaneous connections per API key or user
/// (<https://mailchimp.com/developer/marketing/docs/fundamentals/#throttling>).
pub const CONNECTION_LIMIT: usize = 10;

/// Concurrent requests per account unless configured: headroom under
/// [`CONNECTION_LIMIT`] for other apps sharing the key.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;

/// The shortest webhook secret taken (characters; the key each audience's URL tag is derived from).
pub const MIN_WEBHOOK_SECRET: usize = 32;

/// Settings of a [`MailchimpConnector`](crate::MailchimpConnector).
#[derive(Clone)]
#[non_exhaustive]
pub struct MailchimpConfig {
    /// The API host for every credential (`http://127.0.0.1:4010/`, a fake);
    /// `None` derives `https://{dc}.api.mailchimp.com/` from each credential.
    pub base_url: Option<Url>,
    /// The OAuth client id of a multi-tenant app; `None` without OAuth.
    pub client_id: Option<String>,
    /// The OAuth client secret.
    pub client_secret: Option<SecretString>,
    /// The OAuth host (`https://login.mailchimp.com/`): `/oauth2/authorize`,
    /// `/oauth2/token`, `/oauth2/metadata`.
    pub oauth_base_url: Url,
    /// Concurrent requests per Mailchimp account, 1 to [`CONNECTION_LIMIT`].
    pub max_concurrency: usize,
    /// The secrets each audience's webhook URL tag is derived from (several
    /// while one is rotated; the last is used for new URLs). Mailchimp signs
    /// no delivery: the tag is what tells Mailchimp's deliveries from anyone
    /// else's (see [`webhook_path`](Self::webhook_path)).
    pub webhook_secrets: Vec<SecretString>,
    /// How far back `find_published` and the pre-create lookup read the
    /// audience's campaigns: 400 days, longer than a campaign can wait on
    /// Mailchimp's scheduler (a year), so a scheduled one is always seen.
    pub lookup_window: Duration,
    /// How long a send checklist that failed only on the audience or segment
    /// (still being processed) waits before it is checked once more.
    pub checklist_recheck: Duration,
    /// How long `publish_status` asks the engine to wait while a campaign is
    /// `sending` (Mailchimp gives no figure). Default 60 s
    /// (`MAILCHIMP_STATUS_POLL_SECONDS`).
    pub status_poll_interval: Duration,
}

impl fmt::Debug for MailchimpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailchimpConfig")
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("oauth_base_url", &self.oauth_base_url.as_str())
            .field("max_concurrency", &self.max_concurrency)
            .field("webhook_secrets", &self.webhook_secrets.len())
            .field("lookup_window", &self.lookup_window)
            .field("checklist_recheck", &self.checklist_recheck)
            .field("status_poll_interval", &self.status_poll_interval)
            .finish()
    }
}

impl MailchimpConfig {
    /// Reads the settings from variables (see [`ENV_VARS`]). None is
    /// required: API-key credentials come from the vault.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let base_url = match vars.optional("MAILCHIMP_BASE_URL") {
            Some(_) => Some(vars.base_url("MAILCHIMP_BASE_URL", "")?),
            None => None,
        };
        let max_concurrency = vars
            .number("MAILCHIMP_MAX_CONCURRENCY", 1..=CONNECTION_LIMIT as u64)?
            .map_or(DEFAULT_MAX_CONCURRENCY, |n| n as usize);
        let mut webhook_secrets = Vec::new();
        if let Some(all) = vars.optional("MAILCHIMP_WEBHOOK_SECRETS") {
            for s in all.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                webhook_secrets.push(check_secret(s)?);
            }
        }
        let client_id = vars.optional("MAILCHIMP_CLIENT_ID");
        let client_secret = vars.optional_secret("MAILCHIMP_CLIENT_SECRET");
        if client_id.is_some() != client_secret.is_some() {
            return Err(Error::config(
                "MAILCHIMP_CLIENT_ID and MAILCHIMP_CLIENT_SECRET go together (OAuth); set both or neither",
            ));
        }
        Ok(MailchimpConfig {
            base_url,
            client_id,
            client_secret,
            oauth_base_url: vars
                .base_url("MAILCHIMP_OAUTH_BASE_URL", "https://login.mailchimp.com/")?,
            max_concurrency,
            webhook_secrets,
            lookup_window: Duration::from_secs(400 * 86_400),
            checklist_recheck: Duration::from_secs(60),
            status_poll_interval: Duration::from_secs(
                vars.number("MAILCHIMP_STATUS_POLL_SECONDS", 1..=3600)?
                    .unwrap_or(60),
            ),
        })
    }

    /// Settings with Mailchimp's hosts and no OAuth client.
    pub fn new() -> Self {
        MailchimpConfig {
            base_url: None,
            client_id: None,
            client_secret: None,
            oauth_base_url: Url::parse("https://login.mailchimp.com/")
                .unwrap_or_else(|_| unreachable!("a constant URL parses")),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            webhook_secrets: Vec::new(),
            lookup_window: Duration::from_secs(400 * 86_400),
            checklist_recheck: Duration::from_secs(60),
            status_poll_interval: Duration::from_secs(60),
        }
    }

    /// Points the API and OAuth hosts at one base URL (a local fake).
    pub fn with_base_url(mut self, base: Url) -> Self {
        let mut base = base;
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        self.oauth_base_url = base.clone();
        self.base_url = Some(base);
        self
    }

    /// Sets the OAuth client of a multi-tenant app.
    pub fn with_oauth_client(mut self, client_id: impl Into<String>, secret: SecretString) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(secret);
        self
    }

    /// Adds `secret` (at least [`MIN_WEBHOOK_SECRET`] URL-safe characters)
    /// to those webhook URL tags are derived from: deliveries to a URL whose
    /// tag it made are accepted, and the newest secret makes the tags of new
    /// URLs ([`webhook_path`](Self::webhook_path)).
    pub fn with_webhook_secret(mut self, secret: &str) -> Result<Self> {
        self.webhook_secrets.push(check_secret(secret)?);
        Ok(self)
    }

    /// The path a webhook URL of audience `list_id` ends in,
    /// `/{list_id}/{tag}`, the tag under the newest webhook secret; `None`
    /// without a secret (or for an id that is not one).
    pub fn webhook_path(&self, list_id: &str) -> Option<String> {
        crate::api::id("the list id", list_id).ok()?;
        let secret = self.webhook_secrets.last()?;
        Some(format!(
            "/{list_id}/{}",
            crate::webhooks::tag(secret.expose_secret(), list_id)
        ))
    }

    /// The webhook URL of audience `list_id` under `base`
    /// (`https://hooks.example.com/webhooks/mailchimp`): `base` followed by
    /// [`webhook_path`](Self::webhook_path).
    pub fn webhook_url(&self, base: &Url, list_id: &str) -> Result<Url> {
        let path = self.webhook_path(list_id).ok_or_else(|| {
            Error::config(
                "no Mailchimp webhook secret is configured (MAILCHIMP_WEBHOOK_SECRETS), or the list id is not one",
            )
        })?;
        let mut url = base.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
        Ok(url)
    }

    /// Sets the wait before a send checklist that failed on the audience is checked again.
    pub fn with_checklist_recheck(mut self, wait: Duration) -> Self {
        self.checklist_recheck = wait;
        self
    }

    /// The connector, on a shared HTTP client.
    pub fn build(self, http: HttpClient) -> crate::MailchimpConnector {
        crate::MailchimpConnector::new(self, http)
    }
}

impl Default for MailchimpConfig {
    fn default() -> Self {
        MailchimpConfig::new()
    }
}

/// A webhook secret: long enough, and text a variable can carry plainly.
fn check_secret(s: &str) -> Result<SecretString> {
    let ok = s.len() >= MIN_WEBHOOK_SECRET
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(SecretString::from(s.to_owned()))
    } else {
        Err(Error::config(format!(
            "a Mailchimp webhook secret must be {MIN_WEBHOOK_SECRET} to 128 characters of A-Z, a-z, 0-9, '-', '_'"
        )))
    }
}

/// The secrets, exposed for a constant-time comparison.
pub(crate) fn secrets(cfg: &MailchimpConfig) -> impl Iterator<Item = &str> {
    cfg.webhook_secrets.iter().map(|s| s.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ErrorKind;

    #[test]
    fn reads_variables_and_hides_the_secrets() {
        let secret = "s".repeat(40);
        let vars = Vars::from_pairs([
            ("MAILCHIMP_BASE_URL", "http://127.0.0.1:4010"),
            ("MAILCHIMP_CLIENT_ID", "123456789012"),
            ("MAILCHIMP_CLIENT_SECRET", "very-secret-client"),
            ("MAILCHIMP_MAX_CONCURRENCY", "4"),
            ("MAILCHIMP_WEBHOOK_SECRETS", secret.as_str()),
        ]);
        let cfg = MailchimpConfig::from_vars(&vars).unwrap();
        assert_eq!(
            cfg.base_url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:4010/")
        );
        assert_eq!(cfg.max_concurrency, 4);
        assert_eq!(cfg.webhook_secrets.len(), 1);
        let shown = format!("{cfg:?}");
        assert!(
            !shown.contains("very-secret") && !shown.contains(&secret),
            "{shown}"
        );
        for (k, v) in [
            ("MAILCHIMP_MAX_CONCURRENCY", "11"),
            ("MAILCHIMP_WEBHOOK_SECRETS", "short"),
            ("MAILCHIMP_CLIENT_ID", "only-the-id"),
        ] {
            let e = MailchimpConfig::from_vars(&Vars::from_pairs([(k, v)])).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{k}");
        }
    }
}
