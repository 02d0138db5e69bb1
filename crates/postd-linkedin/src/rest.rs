//! The REST client: every `/rest` call carries `LinkedIn-Version` and
//! `X-Restli-Protocol-Version: 2.0.0`; URNs in paths are percent-encoded;
//! Rest.li query syntax (`List(...)`, `(key:value)`) keeps its structure
//! unencoded while the values inside are encoded.

use std::sync::Arc;

use chrono::Utc;
use postd_core::http::{HttpClient, HttpResponse, RequestContext, bearer};
use postd_core::reqwest::header::{HeaderName, HeaderValue};
use postd_core::reqwest::{Method, RequestBuilder};
use postd_core::secrecy::SecretString;
use postd_core::{Error, Platform, Result};
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::LinkedInConfig;
use crate::error::parse_error;

/// Percent-encodes everything but RFC 3986 unreserved characters (`urn:li:share:1` -> `urn%3Ali%3Ashare%3A1`).
pub(crate) fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base` with `path` after its own path, and `query`.
fn url_on(base: &Url, path: &str, query: Option<&str>) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}{}",
        base.path().trim_end_matches('/'),
        format_args!("/{path}")
    );
    url.set_path(&joined);
    url.set_query(query);
    url
}

// Built once: a header given as strings is parsed and checked on every request.
static LINKEDIN_VERSION: HeaderName = HeaderName::from_static("linkedin-version");
static RESTLI_PROTOCOL: HeaderName = HeaderName::from_static("x-restli-protocol-version");
static RESTLI_2: HeaderValue = HeaderValue::from_static("2.0.0");

#[derive(Clone, Debug)]
pub(crate) struct Rest {
    pub(crate) cfg: Arc<LinkedInConfig>,
    pub(crate) http: HttpClient,
    /// `LinkedIn-Version`, checked once (`None`: not a valid header value;
    /// the request then fails to build and says so).
    version: Option<HeaderValue>,
    /// `{api}/rest/posts` and `{api}/rest/images?action=initializeUpload`,
    /// built once: every post and image upload uses them, and building a URL
    /// parses it again.
    posts: Url,
    images_init: Url,
}

impl Rest {
    pub(crate) fn new(cfg: LinkedInConfig, http: HttpClient) -> Self {
        let posts = url_on(&cfg.api_base_url, "rest/posts", None);
        let images_init = url_on(
            &cfg.api_base_url,
            "rest/images",
            Some("action=initializeUpload"),
        );
        Rest {
            version: HeaderValue::from_str(&cfg.version).ok(),
            cfg: Arc::new(cfg),
            http,
            posts,
            images_init,
        }
    }

    /// `{api}/rest/posts`.
    pub(crate) fn posts_url(&self) -> Url {
        self.posts.clone()
    }

    /// `{api}/rest/images?action=initializeUpload`.
    pub(crate) fn images_init_url(&self) -> Url {
        self.images_init.clone()
    }

    /// `{api}/rest/{path}` where `path` is already encoded, with an optional raw (pre-encoded) query.
    pub(crate) fn rest_url(&self, path: &str, query: Option<&str>) -> Url {
        url_on(&self.cfg.api_base_url, &format!("rest/{path}"), query)
    }

    /// `{api}/v2/{path}`, the unversioned endpoints (`userinfo`).
    pub(crate) fn v2_url(&self, path: &str) -> Url {
        url_on(&self.cfg.api_base_url, &format!("v2/{path}"), None)
    }

    /// `{oauth}/oauth/v2/{path}`.
    pub(crate) fn oauth_url(&self, path: &str) -> Url {
        url_on(&self.cfg.oauth_base_url, &format!("oauth/v2/{path}"), None)
    }

    /// A `/rest` request with the version headers and the bearer token.
    pub(crate) fn rest(&self, method: Method, url: Url, token: &SecretString) -> RequestBuilder {
        let b = bearer(self.http.request(method, url), token);
        let b = match &self.version {
            Some(v) => b.header(LINKEDIN_VERSION.clone(), v.clone()),
            None => b.header(LINKEDIN_VERSION.clone(), self.cfg.version.as_str()),
        };
        b.header(RESTLI_PROTOCOL.clone(), RESTLI_2.clone())
    }

    /// A request to an unversioned endpoint or an upload URL.
    pub(crate) fn plain(
        &self,
        method: Method,
        url: Url,
        token: Option<&SecretString>,
    ) -> RequestBuilder {
        let b = self.http.request(method, url);
        match token {
            Some(t) => bearer(b, t),
            None => b,
        }
    }

    pub(crate) async fn send(
        &self,
        ctx: RequestContext,
        builder: RequestBuilder,
    ) -> Result<HttpResponse> {
        let request = builder.build().map_err(|e| {
            Error::config("could not build the LinkedIn request").with_source(e.without_url())
        })?;
        let cfg = &self.cfg;
        self.http
            .execute(ctx, request, &move |status, headers, body| {
                parse_error(&cfg.version, status, headers, body, Utc::now())
            })
            .await
    }

    /// Sends the request `build` makes, and makes it again for a retry
    /// (instead of copying it before every attempt).
    pub(crate) async fn send_with(
        &self,
        ctx: RequestContext,
        build: &(dyn Fn() -> RequestBuilder + Send + Sync),
    ) -> Result<HttpResponse> {
        let cfg = &self.cfg;
        self.http
            .execute_with(ctx, build, &move |status, headers, body| {
                parse_error(&cfg.version, status, headers, body, Utc::now())
            })
            .await
    }

    /// [`send_with`](Self::send_with), and decodes the JSON answer.
    pub(crate) async fn json_with<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        build: &(dyn Fn() -> RequestBuilder + Send + Sync),
    ) -> Result<T> {
        self.send_with(ctx, build).await?.json(&ctx)
    }

    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        builder: RequestBuilder,
    ) -> Result<T> {
        self.send(ctx, builder).await?.json(&ctx)
    }

    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: Url,
        token: &SecretString,
    ) -> Result<T> {
        let ctx = RequestContext::idempotent(Platform::LinkedIn, operation);
        self.json_with(ctx, &|| self.rest(Method::GET, url.clone(), token))
            .await
    }

    /// Whether an upload URL LinkedIn handed out may receive the bearer token:
    /// only the configured API host, or an https `linkedin.com` host.
    pub(crate) fn trusted_upload_host(&self, url: &Url) -> bool {
        let same_as_api = url.scheme() == self.cfg.api_base_url.scheme()
            && url.host_str() == self.cfg.api_base_url.host_str()
            && url.port_or_known_default() == self.cfg.api_base_url.port_or_known_default();
        let linkedin = url.scheme() == "https"
            && url
                .host_str()
                .is_some_and(|h| h == "linkedin.com" || h.ends_with(".linkedin.com"));
        same_as_api || linkedin
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::config::Vars;

    fn rest(api: &str) -> Rest {
        let vars = Vars::from_pairs([
            ("LINKEDIN_CLIENT_ID", "c"),
            ("LINKEDIN_CLIENT_SECRET", "s"),
            ("LINKEDIN_BASE_URL", api),
        ]);
        Rest::new(
            LinkedInConfig::from_vars(&vars).unwrap(),
            HttpClient::builder().build().unwrap(),
        )
    }

    #[test]
    fn urns_are_encoded_in_paths_and_queries_keep_restli_syntax() {
        let r = rest("http://127.0.0.1:9/fake");
        let url = r.rest_url(&format!("posts/{}", encode("urn:li:share:123")), None);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/fake/rest/posts/urn%3Ali%3Ashare%3A123"
        );
        let q = format!("ids=List({},{})", encode("123"), encode("456"));
        let url = r.rest_url("organizations", Some(&q));
        assert_eq!(url.query(), Some("ids=List(123,456)"));
    }

    #[test]
    fn upload_hosts_are_checked_before_the_token_goes_there() {
        let r = rest("http://127.0.0.1:9/");
        assert!(r.trusted_upload_host(&Url::parse("http://127.0.0.1:9/upload/1").unwrap()));
        assert!(!r.trusted_upload_host(&Url::parse("http://127.0.0.1:10/upload/1").unwrap()));
        assert!(
            r.trusted_upload_host(&Url::parse("https://www.linkedin.com/dms-uploads/x").unwrap())
        );
        assert!(
            !r.trusted_upload_host(&Url::parse("http://www.linkedin.com/dms-uploads/x").unwrap())
        );
        assert!(
            !r.trusted_upload_host(&Url::parse("https://linkedin.com.evil.example/x").unwrap())
        );
    }
}
