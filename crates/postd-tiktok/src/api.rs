//! The API client: `{base}/v2/...` paths with their trailing slashes, the
//! bearer token, JSON bodies, and the envelope checked on every answer.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::Utc;
use postd_core::http::{HttpClient, HttpResponse, RequestContext, bearer};
use postd_core::reqwest::{Method, RequestBuilder};
use postd_core::secrecy::SecretString;
use postd_core::{Error, Platform, Result};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::TikTokConfig;
use crate::error::{ACTIVE_USER_CAP, is_error_envelope, parse_error};
use crate::limits::{Endpoint, Limiter};

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

#[derive(Clone, Debug)]
pub(crate) struct Api {
    pub(crate) cfg: Arc<TikTokConfig>,
    pub(crate) http: HttpClient,
    /// Until when (unix seconds) the app is at its daily quota of active
    /// publishing creators, as TikTok last said; 0 when it has not said so.
    cap_until: Arc<AtomicI64>,
    /// TikTok's per-minute windows, kept on this side.
    limiter: Arc<Limiter>,
}

impl Api {
    pub(crate) fn new(cfg: TikTokConfig, http: HttpClient) -> Self {
        Api {
            cfg: Arc::new(cfg),
            http,
            cap_until: Arc::new(AtomicI64::new(0)),
            limiter: Arc::new(Limiter::default()),
        }
    }

    /// `{base}/v2/{path}` (`path` keeps its trailing slash), with an optional raw query.
    pub(crate) fn url(&self, path: &str, query: Option<&str>) -> Url {
        let base = &self.cfg.api_base_url;
        let mut url = base.clone();
        url.set_path(&format!("{}/v2/{path}", base.path().trim_end_matches('/')));
        url.set_query(query);
        url
    }

    /// A request to the API with the bearer token.
    pub(crate) fn request(&self, method: Method, url: Url, token: &SecretString) -> RequestBuilder {
        bearer(self.http.request(method, url), token)
    }

    /// Sends a request; an answer whose envelope holds an error is an error, whatever its status.
    pub(crate) async fn send(
        &self,
        ctx: RequestContext,
        builder: RequestBuilder,
    ) -> Result<HttpResponse> {
        let request = builder.build().map_err(|e| {
            Error::config("could not build the TikTok request").with_source(e.without_url())
        })?;
        let parse =
            |status, headers: &_, body: &[u8]| parse_error(status, headers, body, Utc::now());
        let result = match self.http.execute(ctx, request, &parse).await {
            Ok(response) => match response.error_in_body(&ctx, is_error_envelope, &parse) {
                Some(e) => Err(e.with_operation(ctx.operation)),
                None => Ok(response),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            self.note_cap(e);
        }
        result
    }

    /// Sends a JSON `POST` and decodes the envelope's `data`.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        url: Url,
        token: &SecretString,
        body: &serde_json::Value,
    ) -> Result<T> {
        self.take_slot(&ctx, &url, token).await?;
        let builder = self
            .request(Method::POST, url, token)
            .header("Content-Type", "application/json; charset=UTF-8")
            .json(body);
        let response = self.send(ctx, builder).await?;
        response.json::<Data<T>>(&ctx).map(|d| d.data)
    }

    /// Sends a `GET` and decodes the envelope's `data`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        url: Url,
        token: &SecretString,
    ) -> Result<T> {
        self.take_slot(&ctx, &url, token).await?;
        let response = self
            .send(ctx, self.request(Method::GET, url, token))
            .await?;
        response.json::<Data<T>>(&ctx).map(|d| d.data)
    }

    /// Waits for, or refuses, a call over TikTok's per-minute limit of the endpoint `url` names.
    async fn take_slot(&self, ctx: &RequestContext, url: &Url, token: &SecretString) -> Result<()> {
        match Endpoint::of(url.path()) {
            Some(endpoint) => self
                .limiter
                .acquire(endpoint, token)
                .await
                .map_err(|e| e.with_operation(ctx.operation)),
            None => Ok(()),
        }
    }

    /// Remembers an app-wide quota answer until its window ends.
    fn note_cap(&self, e: &Error) {
        if e.platform_code() == Some(ACTIVE_USER_CAP)
            && let postd_core::Retry::Temporary { after: Some(wait) } = e.retry()
        {
            let until = Utc::now().timestamp() + i64::try_from(wait.as_secs()).unwrap_or(86_400);
            self.cap_until.fetch_max(until, Ordering::Relaxed);
        }
    }

    /// When the app's daily quota of active publishing creators resets, if
    /// TikTok said it was reached and the window has not ended.
    pub(crate) fn cap_until(&self) -> Option<chrono::DateTime<Utc>> {
        let until = self.cap_until.load(Ordering::Relaxed);
        (until > Utc::now().timestamp())
            .then(|| chrono::DateTime::from_timestamp(until, 0))
            .flatten()
    }

    /// Whether an `upload_url` from an init may be used: https on a host
    /// under a configured upload domain, or the API host itself (a fake, a sandbox).
    pub(crate) fn upload_url(&self, raw: &str) -> Result<Url> {
        let url = Url::parse(raw).map_err(|_| {
            Error::unexpected("TikTok returned an upload URL that does not parse")
                .with_platform(Platform::TikTok)
        })?;
        let base = &self.cfg.api_base_url;
        let same_as_api = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default();
        let upload_host =
            url.scheme() == "https" && url.host_str().is_some_and(|h| self.cfg.upload_host(h));
        if same_as_api || upload_host {
            Ok(url)
        } else {
            Err(Error::unexpected(format!(
                "TikTok returned an upload URL on host {:?}, which is not a TikTok upload host; not sending the video there",
                url.host_str().unwrap_or("")
            ))
            .with_platform(Platform::TikTok))
        }
    }
}
