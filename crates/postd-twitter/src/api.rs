//! The API client: `{base}/2/...` paths, the bearer token, JSON bodies, X's
//! error bodies, and the rate-limit ledger every call goes through.

use std::sync::Arc;

use chrono::Utc;
use postd_core::http::{HttpClient, HttpResponse, RequestContext, bearer};
use postd_core::reqwest::{Method, RequestBuilder};
use postd_core::secrecy::SecretString;
use postd_core::{Error, Platform, Result};
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::XConfig;
use crate::error::parse_error;
use crate::limits::Ledger;

#[derive(Clone, Debug)]
pub(crate) struct Api {
    pub(crate) cfg: Arc<XConfig>,
    pub(crate) http: HttpClient,
    pub(crate) ledger: Arc<Ledger>,
}

/// Whose budget a call spends: the user's id where known (the target), else
/// a digest of the token (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Caller(pub(crate) String);

impl Caller {
    pub(crate) fn user(id: &str) -> Self {
        Caller(id.to_owned())
    }

    pub(crate) fn token(token: &SecretString) -> Self {
        use postd_core::secrecy::ExposeSecret;
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(token.expose_secret().as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Caller(format!("token:{hex}"))
    }
}

impl Api {
    pub(crate) fn new(cfg: XConfig, http: HttpClient) -> Self {
        Api {
            cfg: Arc::new(cfg),
            http,
            ledger: Arc::new(Ledger::default()),
        }
    }

    /// `{base}/2/{path}` with an optional query.
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let base = &self.cfg.api_base_url;
        let mut url = base.clone();
        url.set_path(&format!("{}/2/{path}", base.path().trim_end_matches('/')));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// A request with the user's bearer token.
    pub(crate) fn request(&self, method: Method, url: Url, token: &SecretString) -> RequestBuilder {
        bearer(self.http.request(method, url), token)
    }

    /// Sends a request through the ledger: refused without a call while the
    /// endpoint is exhausted for `caller`, and what X's headers say is kept.
    pub(crate) async fn send(
        &self,
        ctx: RequestContext,
        caller: &Caller,
        builder: RequestBuilder,
    ) -> Result<HttpResponse> {
        let request = builder.build().map_err(|e| {
            Error::config("could not build the X request")
                .with_source(e.without_url())
                .with_platform(Platform::Twitter)
        })?;
        let endpoint = crate::limits::endpoint_of(request.method(), request.url().path());
        let is_create = endpoint == crate::limits::CREATE;
        // Checked and counted under one lock: two creates racing for the
        // last slot of a window cannot both go.
        self.ledger
            .check_and_count(&endpoint, caller, is_create, Utc::now())
            .map_err(|e| e.with_operation(ctx.operation))?;
        let parse =
            |status, headers: &_, body: &[u8]| parse_error(status, headers, body, Utc::now());
        let result = self
            .http
            .execute(ctx, request, &parse)
            .await
            .map_err(|e| self.scrub(e));
        match &result {
            Ok(response) => self
                .ledger
                .observe(&endpoint, caller, &response.headers, Utc::now()),
            Err(e) => self.ledger.observe_error(&endpoint, caller, e, Utc::now()),
        }
        result
    }

    /// `e` without the app's secrets in its message: an answer that echoes
    /// the client or consumer secret (a hostile or broken proxy) must not put
    /// it in an error, a log line or the dead-letter queue. The HTTP client
    /// removes what the request itself carried (the client secret of a Basic
    /// header included); this covers the secrets a request did not carry,
    /// such as the consumer secret, which is never sent.
    pub(crate) fn scrub(&self, e: Error) -> Error {
        use postd_core::secrecy::ExposeSecret;
        let secrets: Vec<String> = [&self.cfg.client_secret, &self.cfg.consumer_secret]
            .into_iter()
            .flatten()
            .map(|s| s.expose_secret().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if secrets.iter().any(|s| e.message().contains(s.as_str())) {
            let clean = postd_core::error::redact(e.message(), &secrets);
            e.with_message(clean)
        } else {
            e
        }
    }

    /// A `GET`, decoded.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        caller: &Caller,
        url: Url,
        token: &SecretString,
    ) -> Result<T> {
        let response = self
            .send(ctx, caller, self.request(Method::GET, url, token))
            .await?;
        response.json(&ctx)
    }

    /// A JSON `POST`, decoded.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        caller: &Caller,
        url: Url,
        token: &SecretString,
        body: &serde_json::Value,
    ) -> Result<T> {
        let builder = self.request(Method::POST, url, token).json(body);
        let response = self.send(ctx, caller, builder).await?;
        response.json(&ctx)
    }
}
