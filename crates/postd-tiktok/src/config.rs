//! TikTok connector settings.

use std::fmt;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::HttpClient;
use postd_core::{Error, Result, secrecy::SecretString};
use url::Url;

/// Scopes asked for at login: who the creator is, Direct Post, inbox
/// uploads, and their public videos (reconciliation and metrics).
pub const DEFAULT_SCOPES: &[&str] = &[
    "user.info.basic",
    "video.publish",
    "video.upload",
    "video.list",
];

/// Every environment variable the TikTok connector reads.
pub const ENV_VARS: &[&str] = &[
    "TIKTOK_CLIENT_KEY",
    "TIKTOK_CLIENT_SECRET",
    "TIKTOK_BASE_URL",
    "TIKTOK_AUTHORIZE_URL",
    "TIKTOK_SCOPES",
    "TIKTOK_PULL_URL_PREFIXES",
    "TIKTOK_DIRECT_POST_AUDITED",
    "TIKTOK_UPLOAD_DOMAINS",
];

/// The variables without which the connector cannot be built.
pub const REQUIRED_VARS: &[&str] = &["TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET"];

/// Bytes per chunk of a chunked upload unless configured: 10,000,000, inside
/// the 5-64 MB TikTok allows under either reading of "MB".
pub const DEFAULT_CHUNK_SIZE: u64 = 10_000_000;

/// The largest video sent as one chunk unless configured (64,000,000 bytes:
/// "64 MB" under the decimal reading, the smaller one).
pub const DEFAULT_SINGLE_CHUNK_MAX: u64 = 64_000_000;

/// The smallest chunk size accepted in the settings (5 MiB, "5 MB" under
/// the larger reading) and the largest (32,000,000, so that any file over
/// 64 MB is sent in at least two chunks and the last stays under 64 MB).
pub const CHUNK_SIZE_RANGE: std::ops::RangeInclusive<u64> = 5 * 1024 * 1024..=32_000_000;

/// Domains an `upload_url` may point at unless configured: TikTok's API
/// domain and every host under it (`open-upload.tiktokapis.com`, regional
/// upload hosts).
pub const DEFAULT_UPLOAD_DOMAINS: &[&str] = &["tiktokapis.com"];

/// Settings of a [`TikTokConnector`](crate::TikTokConnector).
#[derive(Clone)]
#[non_exhaustive]
pub struct TikTokConfig {
    /// The app's client key (TikTok's name for the client id).
    pub client_key: String,
    /// The app's client secret: token calls and webhook signatures.
    pub client_secret: SecretString,
    /// API and token host (`https://open.tiktokapis.com/`).
    pub api_base_url: Url,
    /// The consent page (`https://www.tiktok.com/v2/auth/authorize/`).
    pub authorize_url: Url,
    /// Scopes asked for at login (comma-joined on the wire).
    pub scopes: Vec<String>,
    /// URL prefixes verified in the developer portal: media under one of them
    /// is pulled by TikTok (`PULL_FROM_URL`); photos must be under one.
    pub pull_url_prefixes: Vec<String>,
    /// Whether the app passed TikTok's Direct Post audit. Until it has, every
    /// post must be `SELF_ONLY` and `validate` refuses any other privacy.
    pub direct_post_audited: bool,
    /// Bytes per chunk of a chunked upload (see [`CHUNK_SIZE_RANGE`]).
    pub chunk_size: u64,
    /// The largest video sent as one chunk.
    pub single_chunk_max: u64,
    /// Domains an `upload_url` from an init may point at, over https: each
    /// domain itself and every host under it (see [`DEFAULT_UPLOAD_DOMAINS`]).
    /// The API host is accepted too, over its own scheme (a fake, a sandbox).
    /// The video goes to no other host.
    pub upload_domains: Vec<String>,
    /// How long to wait after a lost init answer before the Display API can
    /// show the post, and how often `publish_status` asks again.
    pub status_interval: Duration,
    /// How long a post may stay in processing before `publish_status` gives
    /// up with an unknown outcome (TikTok's pull timeout is 1 h).
    pub processing_bound: Duration,
}

impl fmt::Debug for TikTokConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TikTokConfig")
            .field("client_key", &self.client_key)
            .field("client_secret", &"[REDACTED]")
            .field("api_base_url", &self.api_base_url.as_str())
            .field("authorize_url", &self.authorize_url.as_str())
            .field("scopes", &self.scopes)
            .field("pull_url_prefixes", &self.pull_url_prefixes)
            .field("direct_post_audited", &self.direct_post_audited)
            .field("chunk_size", &self.chunk_size)
            .field("single_chunk_max", &self.single_chunk_max)
            .field("upload_domains", &self.upload_domains)
            .field("status_interval", &self.status_interval)
            .field("processing_bound", &self.processing_bound)
            .finish()
    }
}

impl TikTokConfig {
    /// Reads the settings from variables (see [`ENV_VARS`]).
    pub fn from_vars(vars: &Vars) -> Result<Self> {
        let client_key = vars.required("TIKTOK_CLIENT_KEY")?;
        let client_secret = vars.required_secret("TIKTOK_CLIENT_SECRET")?;
        TikTokConfig::with_optional_vars(client_key, client_secret, vars)
    }

    /// Settings with the production hosts and defaults.
    pub fn new(client_key: impl Into<String>, client_secret: SecretString) -> Result<Self> {
        TikTokConfig::with_optional_vars(client_key.into(), client_secret, &Vars::new())
    }

    fn with_optional_vars(
        client_key: String,
        client_secret: SecretString,
        vars: &Vars,
    ) -> Result<Self> {
        let scopes = match vars.optional("TIKTOK_SCOPES") {
            Some(s) => split_list(&s),
            None => DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        };
        let pull_url_prefixes = vars
            .optional("TIKTOK_PULL_URL_PREFIXES")
            .map(|s| split_list(&s))
            .unwrap_or_default();
        for p in &pull_url_prefixes {
            check_prefix(p)?;
        }
        let direct_post_audited = vars.flag("TIKTOK_DIRECT_POST_AUDITED")?;
        let upload_domains = match vars.optional("TIKTOK_UPLOAD_DOMAINS") {
            Some(s) => split_list(&s),
            None => DEFAULT_UPLOAD_DOMAINS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        };
        for d in &upload_domains {
            check_domain(d)?;
        }
        Ok(TikTokConfig {
            client_key,
            client_secret,
            api_base_url: vars.base_url("TIKTOK_BASE_URL", "https://open.tiktokapis.com/")?,
            authorize_url: vars.base_url(
                "TIKTOK_AUTHORIZE_URL",
                "https://www.tiktok.com/v2/auth/authorize/",
            )?,
            scopes,
            pull_url_prefixes,
            direct_post_audited,
            chunk_size: DEFAULT_CHUNK_SIZE,
            single_chunk_max: DEFAULT_SINGLE_CHUNK_MAX,
            upload_domains,
            status_interval: Duration::from_secs(5),
            processing_bound: Duration::from_secs(2 * 3600),
        })
    }

    /// Points the API and token host at one base URL (a local fake).
    pub fn with_base_url(mut self, base: Url) -> Self {
        self.api_base_url = base;
        self
    }

    /// Sets the URL prefixes verified in the developer portal.
    pub fn with_pull_url_prefixes<I, S>(mut self, prefixes: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let prefixes: Vec<String> = prefixes.into_iter().map(Into::into).collect();
        for p in &prefixes {
            check_prefix(p)?;
        }
        self.pull_url_prefixes = prefixes;
        Ok(self)
    }

    /// Sets whether the app passed the Direct Post audit.
    pub fn with_direct_post_audited(mut self, audited: bool) -> Self {
        self.direct_post_audited = audited;
        self
    }

    /// Sets the chunk size and the largest single-chunk video; a chunk size
    /// outside [`CHUNK_SIZE_RANGE`], or a single-chunk maximum over 64,000,000
    /// or under the chunk size, is a configuration error.
    pub fn with_chunking(mut self, chunk_size: u64, single_chunk_max: u64) -> Result<Self> {
        if !CHUNK_SIZE_RANGE.contains(&chunk_size) {
            return Err(Error::config(format!(
                "the TikTok chunk size must be {} to {} bytes, got {chunk_size}",
                CHUNK_SIZE_RANGE.start(),
                CHUNK_SIZE_RANGE.end()
            )));
        }
        if single_chunk_max > DEFAULT_SINGLE_CHUNK_MAX || single_chunk_max < chunk_size {
            return Err(Error::config(format!(
                "the largest single-chunk TikTok video must be {chunk_size} to {DEFAULT_SINGLE_CHUNK_MAX} bytes, got {single_chunk_max}"
            )));
        }
        self.chunk_size = chunk_size;
        self.single_chunk_max = single_chunk_max;
        Ok(self)
    }

    /// Sets how often `publish_status` asks again, and how long processing
    /// may last before the outcome is called unknown (tests use milliseconds).
    pub fn with_status_timing(mut self, interval: Duration, processing_bound: Duration) -> Self {
        self.status_interval = interval;
        self.processing_bound = processing_bound;
        self
    }

    /// Builds the connector on a shared HTTP client.
    pub fn build(self, http: HttpClient) -> crate::TikTokConnector {
        crate::TikTokConnector::new(self, http)
    }

    /// Whether `host` is one of the upload domains or under one.
    pub(crate) fn upload_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.upload_domains.iter().any(|d| {
            host == *d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    /// Whether `url` is under a verified prefix (and https).
    pub(crate) fn pullable(&self, url: &Url) -> bool {
        url.scheme() == "https"
            && self
                .pull_url_prefixes
                .iter()
                .any(|p| url.as_str().starts_with(p.as_str()))
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// An upload domain is a bare lowercase DNS name of at least two labels
/// (`tiktokapis.com`, not `com`, not a URL).
fn check_domain(d: &str) -> Result<()> {
    let labels: Vec<&str> = d.split('.').collect();
    let ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    // A top-level label has a letter: `0.1` would match the address 10.0.0.1.
    let ok = ok
        && labels
            .last()
            .is_some_and(|l| l.bytes().any(|b| b.is_ascii_lowercase()));
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "TikTok upload domain {d:?} must be a lowercase domain name of two labels or more, such as tiktokapis.com"
        )))
    }
}

/// A prefix must be an https URL ending at a path boundary, or a prefix
/// match could cover another site (`https://cdn.example` covers
/// `https://cdn.example.evil`).
fn check_prefix(p: &str) -> Result<()> {
    let url = Url::parse(p)
        .map_err(|_| Error::config(format!("TikTok pull URL prefix {p:?} is not a URL")))?;
    if url.scheme() != "https" || url.host_str().is_none() {
        return Err(Error::config(format!(
            "TikTok pull URL prefix {p:?} must be an https URL (TikTok pulls over https only)"
        )));
    }
    if !p.ends_with('/') {
        return Err(Error::config(format!(
            "TikTok pull URL prefix {p:?} must end with '/', so it cannot match another host or path"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::ErrorKind;

    fn vars(extra: &[(&str, &str)]) -> Vars {
        let mut v = Vars::from_pairs([
            ("TIKTOK_CLIENT_KEY", "awkey"),
            ("TIKTOK_CLIENT_SECRET", "CANARY_secret"),
        ]);
        for (k, val) in extra {
            v.set(*k, *val);
        }
        v
    }

    #[test]
    fn reads_variables_and_hides_the_secret() {
        let cfg = TikTokConfig::from_vars(&vars(&[
            (
                "TIKTOK_PULL_URL_PREFIXES",
                "https://media.example/v/,https://cdn.example/",
            ),
            ("TIKTOK_DIRECT_POST_AUDITED", "true"),
        ]))
        .unwrap();
        assert!(cfg.direct_post_audited);
        assert_eq!(cfg.pull_url_prefixes.len(), 2);
        assert_eq!(cfg.scopes, DEFAULT_SCOPES);
        assert!(!format!("{cfg:?}").contains("CANARY"));
        assert!(cfg.pullable(&Url::parse("https://media.example/v/a.mp4").unwrap()));
        assert!(!cfg.pullable(&Url::parse("https://media.example/other/a.mp4").unwrap()));
        assert!(!cfg.pullable(&Url::parse("http://media.example/v/a.mp4").unwrap()));
    }

    #[test]
    fn upload_hosts_are_the_domains_and_hosts_under_them() {
        let cfg = TikTokConfig::from_vars(&vars(&[])).unwrap();
        for ok in [
            "tiktokapis.com",
            "open-upload.tiktokapis.com",
            "open-upload-i18n.tiktokapis.com",
            "OPEN-UPLOAD.tiktokapis.com.",
        ] {
            assert!(cfg.upload_host(ok), "{ok}");
        }
        for no in [
            "eviltiktokapis.com",
            "tiktokapis.com.evil.example",
            "open-upload.tiktokapis.co",
            "",
        ] {
            assert!(!cfg.upload_host(no), "{no}");
        }
        let cfg = TikTokConfig::from_vars(&vars(&[(
            "TIKTOK_UPLOAD_DOMAINS",
            "upload.example,tiktokapis.com",
        )]))
        .unwrap();
        assert!(cfg.upload_host("eu.upload.example"));
        assert!(cfg.upload_host("open-upload.tiktokapis.com"));
    }

    #[test]
    fn bad_settings_are_config_errors() {
        for (k, v) in [
            ("TIKTOK_PULL_URL_PREFIXES", "http://media.example/"),
            ("TIKTOK_PULL_URL_PREFIXES", "https://media.example"),
            ("TIKTOK_PULL_URL_PREFIXES", "not a url"),
            ("TIKTOK_DIRECT_POST_AUDITED", "maybe"),
            ("TIKTOK_BASE_URL", "ftp://x"),
            ("TIKTOK_UPLOAD_DOMAINS", "com"),
            ("TIKTOK_UPLOAD_DOMAINS", "https://upload.example/"),
            ("TIKTOK_UPLOAD_DOMAINS", "Upload.Example"),
            ("TIKTOK_UPLOAD_DOMAINS", "0.1"),
        ] {
            let err = TikTokConfig::from_vars(&vars(&[(k, v)])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{k}={v}");
        }
        let err =
            TikTokConfig::from_vars(&Vars::from_pairs([("TIKTOK_CLIENT_KEY", "k")])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let cfg = TikTokConfig::from_vars(&vars(&[])).unwrap();
        for (c, m) in [
            (1_000_000, 64_000_000),
            (10_000_000, 64_000_001),
            (10_000_000, 9_000_000),
        ] {
            assert_eq!(
                cfg.clone().with_chunking(c, m).unwrap_err().kind(),
                ErrorKind::Config
            );
        }
        assert!(cfg.with_chunking(5 * 1024 * 1024, 6_000_000).is_ok());
    }
}
