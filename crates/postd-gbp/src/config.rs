//! Google Business Profile connector settings: the OAuth client, one base
//! URL per Google host, and the push subscription's identity.

use std::fmt;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::secrecy::SecretString;
use postd_core::{Error, Result};
use url::Url;

/// The one scope a publisher needs: manage the user's Business Profiles
/// (<https://developers.google.com/my-business/content/implement-oauth>).
pub const SCOPE: &str = "https://www.googleapis.com/auth/business.manage";

/// The legacy scope Google still honours for the v4 API; accepted when granted, never asked for.
pub const LEGACY_SCOPE: &str = "https://www.googleapis.com/auth/plus.business.manage";

/// Every environment variable the connector reads.
pub const ENV_VARS: &[&str] = &[
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "GOOGLE_AUTHORIZE_URL",
    "GOOGLE_OAUTH_BASE_URL",
    "GOOGLE_JWKS_URL",
    "GBP_BASE_URL",
    "GBP_ACCOUNT_MANAGEMENT_BASE_URL",
    "GBP_BUSINESS_INFORMATION_BASE_URL",
    "GBP_PERFORMANCE_BASE_URL",
    "GBP_PUSH_AUDIENCE",
    "GBP_PUSH_SERVICE_ACCOUNT",
    "GBP_PUSH_SUBSCRIPTION",
    "GBP_OAUTH_TESTING_MODE",
    "GBP_ALLOW_ALERT_POSTS",
    "GBP_REVIEW_POLL_SECONDS",
];

/// The variables without which the connector cannot be built.
pub const REQUIRED_VARS: &[&str] = &["GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"];

/// Settings of a [`GbpConnector`](crate::GbpConnector).
#[derive(Clone)]
#[non_exhaustive]
pub struct GbpConfig {
    /// The OAuth client id (`…apps.googleusercontent.com`).
    pub client_id: String,
    /// The OAuth client secret (a web-server client is confidential).
    pub client_secret: SecretString,
    /// The consent page (`https://accounts.google.com/o/oauth2/v2/auth`).
    pub authorize_url: Url,
    /// The token and revoke host (`https://oauth2.googleapis.com/`).
    pub oauth_base_url: Url,
    /// Google's OIDC signing keys (`https://www.googleapis.com/oauth2/v3/certs`).
    pub jwks_url: Url,
    /// The v4 API host, local posts (`https://mybusiness.googleapis.com/`).
    pub posts_base_url: Url,
    /// The Account Management API host (`https://mybusinessaccountmanagement.googleapis.com/`).
    pub accounts_base_url: Url,
    /// The Business Information API host (`https://mybusinessbusinessinformation.googleapis.com/`).
    pub locations_base_url: Url,
    /// The Business Profile Performance API host (`https://businessprofileperformance.googleapis.com/`).
    pub performance_base_url: Url,
    /// The `aud` a push's OIDC token must carry (the push subscription's
    /// audience, by default its endpoint URL). Without it, pushes are refused.
    pub push_audience: Option<String>,
    /// The `email` a push's OIDC token must carry (the push subscription's
    /// service account). Without it, pushes are refused.
    pub push_service_account: Option<String>,
    /// The push subscription (`projects/{p}/subscriptions/{s}`) a push must
    /// name, when set; pushes naming another are refused.
    pub push_subscription: Option<String>,
    /// The OAuth consent screen is in "Testing": refresh tokens die 7 days
    /// after they were issued, and the refresh plan says so.
    pub testing_mode: bool,
    /// Whether ALERT posts (a legacy COVID-19 type) may be sent.
    pub allow_alert_posts: bool,
    /// How long after a post's create (or its scheduled time) a review still
    /// under way is given up on.
    pub review_horizon: Duration,
    /// How long after a create `publish_status` first asks for the post
    /// again (later questions wait longer, up to 10 minutes). Google
    /// documents no review time. Default 30 s (`GBP_REVIEW_POLL_SECONDS`).
    pub review_poll_interval: Duration,
    /// The shortest time between two fetches of Google's signing keys for a
    /// push naming a key not seen yet (a minute: made-up key ids cost one
    /// fetch a minute at most).
    pub push_key_refetch_interval: Duration,
}

impl fmt::Debug for GbpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GbpConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("authorize_url", &self.authorize_url.as_str())
            .field("oauth_base_url", &self.oauth_base_url.as_str())
            .field("jwks_url", &self.jwks_url.as_str())
            .field("posts_base_url", &self.posts_base_url.as_str())
            .field("accounts_base_url", &self.accounts_base_url.as_str())
            .field("locations_base_url", &self.locations_base_url.as_str())
            .field("performance_base_url", &self.performance_base_url.as_str())
            .field("push_audience", &self.push_audience)
            .field("push_service_account", &self.push_service_account)
            .field("push_subscription", &self.push_subscription)
            .field("testing_mode", &self.testing_mode)
            .field("allow_alert_posts", &self.allow_alert_posts)
            .field("review_horizon", &self.review_horizon)
            .field("review_poll_interval", &self.review_poll_interval)
            .field("push_key_refetch_interval", &self.push_key_refetch_interval)
            .finish()
    }
}

/// An `http` URL to this machine.
fn loopback(u: &Url) -> bool {
    u.scheme() == "http"
        && match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        }
}

impl GbpConfig {
    /// Reads the settings from variables (see [`ENV_VARS`]).
    ///
    /// With `GBP_BASE_URL` set and a more specific `GBP_*_BASE_URL` not, that
    /// host falls back to `GBP_BASE_URL` (one fake can then serve every API
    /// by path); the OAuth and key hosts never fall back.
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let client_id = vars.required("GOOGLE_CLIENT_ID")?;
        let client_secret = vars.required_secret("GOOGLE_CLIENT_SECRET")?;
        const POSTS: &str = "https://mybusiness.googleapis.com/";
        let posts = vars.base_url("GBP_BASE_URL", POSTS)?;
        // Google's own v4 host named explicitly is no fake serving every API.
        let overridden = posts.as_str() != POSTS;
        let host = |name: &str, default: &str| -> Result<Url> {
            match (vars.optional(name), overridden) {
                (None, true) => Ok(posts.clone()),
                _ => vars.base_url(name, default),
            }
        };
        let authorize_url = vars.endpoint_url(
            "GOOGLE_AUTHORIZE_URL",
            "https://accounts.google.com/o/oauth2/v2/auth",
        )?;
        // The keys decide which pushes are Google's: only over https (plain
        // http only to this machine, for a local fake).
        let jwks_url = vars.endpoint_url(
            "GOOGLE_JWKS_URL",
            "https://www.googleapis.com/oauth2/v3/certs",
        )?;
        if jwks_url.scheme() != "https" && !loopback(&jwks_url) {
            return Err(Error::config(
                "GOOGLE_JWKS_URL must be an https URL (http only to this machine)",
            ));
        }
        Ok(GbpConfig {
            client_id,
            client_secret,
            authorize_url,
            oauth_base_url: vars
                .base_url("GOOGLE_OAUTH_BASE_URL", "https://oauth2.googleapis.com/")?,
            jwks_url,
            accounts_base_url: host(
                "GBP_ACCOUNT_MANAGEMENT_BASE_URL",
                "https://mybusinessaccountmanagement.googleapis.com/",
            )?,
            locations_base_url: host(
                "GBP_BUSINESS_INFORMATION_BASE_URL",
                "https://mybusinessbusinessinformation.googleapis.com/",
            )?,
            performance_base_url: host(
                "GBP_PERFORMANCE_BASE_URL",
                "https://businessprofileperformance.googleapis.com/",
            )?,
            posts_base_url: posts,
            push_audience: vars.optional("GBP_PUSH_AUDIENCE"),
            push_service_account: vars.optional("GBP_PUSH_SERVICE_ACCOUNT"),
            push_subscription: vars.optional("GBP_PUSH_SUBSCRIPTION"),
            testing_mode: vars.flag("GBP_OAUTH_TESTING_MODE")?,
            allow_alert_posts: vars.flag("GBP_ALLOW_ALERT_POSTS")?,
            review_horizon: Duration::from_secs(48 * 3600),
            review_poll_interval: Duration::from_secs(
                vars.number("GBP_REVIEW_POLL_SECONDS", 1..=3600)?
                    .unwrap_or(30),
            ),
            push_key_refetch_interval: Duration::from_secs(60),
        })
    }

    /// Settings with Google's production hosts and defaults.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Result<Self> {
        use postd_core::secrecy::ExposeSecret;
        GbpConfig::from_vars(&Vars::from_pairs([
            ("GOOGLE_CLIENT_ID", client_id.into()),
            (
                "GOOGLE_CLIENT_SECRET",
                client_secret.expose_secret().to_owned(),
            ),
        ]))
    }

    /// Points every Google host (OAuth, keys and every API) at one base URL: a local fake.
    pub fn with_base_url(mut self, base: Url) -> Self {
        let mut base = base;
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        self.authorize_url = postd_core::config::join(&base, &["o", "oauth2", "v2", "auth"]);
        self.jwks_url = postd_core::config::join(&base, &["oauth2", "v3", "certs"]);
        self.oauth_base_url = base.clone();
        self.posts_base_url = base.clone();
        self.accounts_base_url = base.clone();
        self.locations_base_url = base.clone();
        self.performance_base_url = base;
        self
    }

    /// Sets the identity a push's OIDC token must carry: its audience and the
    /// subscription's service account email.
    pub fn with_push_identity(
        mut self,
        audience: impl Into<String>,
        service_account: impl Into<String>,
    ) -> Self {
        self.push_audience = Some(audience.into());
        self.push_service_account = Some(service_account.into());
        self
    }

    /// Declares the consent screen in "Testing" (refresh tokens live 7 days).
    pub fn with_testing_mode(mut self, testing: bool) -> Self {
        self.testing_mode = testing;
        self
    }

    /// Sets the first wait before `publish_status` asks about a review again.
    pub fn with_review_poll_interval(mut self, interval: Duration) -> Self {
        self.review_poll_interval = interval;
        self
    }

    /// Requires pushes to name `subscription` (`projects/{p}/subscriptions/{s}`).
    pub fn with_push_subscription(mut self, subscription: impl Into<String>) -> Self {
        self.push_subscription = Some(subscription.into());
        self
    }

    /// Sets the shortest time between two key fetches for an unknown key id.
    pub fn with_push_key_refetch_interval(mut self, interval: Duration) -> Self {
        self.push_key_refetch_interval = interval;
        self
    }

    /// Allows ALERT posts.
    pub fn with_alert_posts(mut self, allow: bool) -> Self {
        self.allow_alert_posts = allow;
        self
    }

    /// The connector, on a shared HTTP client.
    pub fn build(self, http: HttpClient) -> crate::GbpConnector {
        crate::GbpConnector::new(self, http)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ErrorKind;

    #[test]
    fn reads_variables_falls_back_to_one_host_and_hides_the_secret() {
        let vars = Vars::from_pairs([
            ("GOOGLE_CLIENT_ID", "cid.apps.googleusercontent.com"),
            ("GOOGLE_CLIENT_SECRET", "GOCSPX-very-secret"),
            ("GBP_BASE_URL", "http://127.0.0.1:9000"),
            ("GBP_PERFORMANCE_BASE_URL", "http://127.0.0.1:9001/perf"),
            ("GBP_OAUTH_TESTING_MODE", "true"),
        ]);
        let cfg = GbpConfig::from_vars(&vars).unwrap();
        assert_eq!(cfg.posts_base_url.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(cfg.accounts_base_url.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(cfg.locations_base_url.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(
            cfg.performance_base_url.as_str(),
            "http://127.0.0.1:9001/perf/"
        );
        assert_eq!(
            cfg.oauth_base_url.as_str(),
            "https://oauth2.googleapis.com/"
        );
        assert!(cfg.testing_mode);
        // Google's v4 host named explicitly leaves the other hosts alone.
        let explicit = GbpConfig::from_vars(&Vars::from_pairs([
            ("GOOGLE_CLIENT_ID", "c"),
            ("GOOGLE_CLIENT_SECRET", "s"),
            ("GBP_BASE_URL", "https://mybusiness.googleapis.com"),
        ]))
        .unwrap();
        assert_eq!(
            explicit.accounts_base_url.as_str(),
            "https://mybusinessaccountmanagement.googleapis.com/"
        );
        assert!(!cfg.allow_alert_posts);
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("very-secret"), "{shown}");

        let missing = GbpConfig::from_vars(&Vars::from_pairs([("GOOGLE_CLIENT_ID", "c")]));
        let e = missing.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("GOOGLE_CLIENT_SECRET"), "{e}");
        let plain = Vars::from_pairs([
            ("GOOGLE_CLIENT_ID", "c"),
            ("GOOGLE_CLIENT_SECRET", "s"),
            ("GOOGLE_JWKS_URL", "http://keys.example/certs"),
        ]);
        assert_eq!(
            GbpConfig::from_vars(&plain).unwrap_err().kind(),
            ErrorKind::Config,
            "the push keys only over https"
        );
        let bad = Vars::from_pairs([
            ("GOOGLE_CLIENT_ID", "c"),
            ("GOOGLE_CLIENT_SECRET", "s"),
            ("GBP_OAUTH_TESTING_MODE", "perhaps"),
        ]);
        assert_eq!(
            GbpConfig::from_vars(&bad).unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
