//! API keys and Mailchimp's OAuth 2 for multi-tenant apps, and the health check
//! (<https://mailchimp.com/developer/marketing/docs/fundamentals/#api-structure>,
//! <https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/>,
//! <https://mailchimp.com/developer/marketing/api/ping/>).
//!
//! - An API key (`Credentials::ApiKey`) names its data center (`…-us6`); its
//!   shape is checked before any request, so a key without one, or with a
//!   suffix that is no data center, is [`ErrorKind::Config`] at once.
//! - OAuth: no scopes and no PKCE (`state` is the CSRF defence); the token
//!   answer's `expires_in: 0` means the token never expires, and there is no
//!   refresh. The metadata call (`Authorization: OAuth <token>`) says the
//!   account's data center, which is kept with the token
//!   ([`DC_KEY`](crate::DC_KEY)); an invalid token may be answered `200`
//!   with `{"error": "invalid_token"}`.

use chrono::Utc;
use postd_core::http::RequestContext;
use postd_core::oauth::{
    Authorization, AuthorizationRequest, ClientAuth, CodeExchange, OAuthClient,
};
use postd_core::reqwest::Method;
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Credentials, Error, ErrorKind, Health, HealthStatus, Platform, Result};
use serde::Deserialize;

use crate::api::{Api, DC_KEY, valid_dc};

fn no_oauth(operation: &'static str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        "this Mailchimp connector has no OAuth client (MAILCHIMP_CLIENT_ID, MAILCHIMP_CLIENT_SECRET): accounts connect with an API key",
    )
    .with_platform(Platform::Mailchimp)
    .with_operation(operation)
}

fn oauth_client(api: &Api, operation: &'static str) -> Result<OAuthClient> {
    let (Some(id), Some(secret)) = (&api.cfg.client_id, &api.cfg.client_secret) else {
        return Err(no_oauth(operation));
    };
    let base = &api.cfg.oauth_base_url;
    Ok(OAuthClient::new(
        Platform::Mailchimp,
        postd_core::config::join(base, &["oauth2", "authorize"]),
        postd_core::config::join(base, &["oauth2", "token"]),
        id,
    )
    .with_pkce(false)
    .with_client_secret(secret.clone())
    .with_client_auth(ClientAuth::RequestBody))
}

pub(crate) fn authorize_url(api: &Api, request: &AuthorizationRequest) -> Result<Authorization> {
    oauth_client(api, "authorize_url")?.authorization(request, &[])
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    dc: Option<String>,
    #[serde(default)]
    api_endpoint: Option<String>,
    #[serde(default)]
    user_id: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
}

pub(crate) async fn exchange_code(api: &Api, exchange: CodeExchange) -> Result<Credentials> {
    let client = oauth_client(api, "exchange_code")?;
    let started = Utc::now();
    let response = client
        .exchange_code(&api.http, &exchange)
        .await
        .map_err(|e| {
            if e.platform_code() == Some("invalid_grant") {
                e.with_kind(ErrorKind::ReauthRequired).permanent()
            } else {
                e
            }
        })?;
    // `expires_in: 0` is "never": into_token_set leaves no expiry.
    let mut tokens = response.into_token_set(started);
    tokens.refresh_token = None;
    // The code is spent and the token never expires: a metadata call that
    // fails for a transient reason keeps the token (its data center is asked
    // for on first use) rather than sending the user back to Mailchimp.
    match metadata(api, &tokens.access_token).await {
        Ok((dc, user)) => {
            tokens
                .derived
                .insert(DC_KEY.to_owned(), SecretString::from(dc));
            tokens.subject = user;
        }
        Err(e) if e.is_temporary() => {
            tracing::warn!(platform = "mailchimp", kind = %e.kind(), "the metadata call failed after the code exchange; the data center is read on first use");
        }
        Err(e) => return Err(e),
    }
    Ok(Credentials::OAuth(tokens))
}

/// `GET {oauth}/oauth2/metadata`: the data center and the user id.
pub(crate) async fn metadata(api: &Api, token: &SecretString) -> Result<(String, Option<String>)> {
    let url = postd_core::config::join(&api.cfg.oauth_base_url, &["oauth2", "metadata"]);
    let mut value = postd_core::reqwest::header::HeaderValue::from_str(&format!(
        "OAuth {}",
        token.expose_secret()
    ))
    .map_err(|_| {
        Error::new(
            ErrorKind::ReauthRequired,
            "the Mailchimp token is not header text",
        )
        .with_platform(Platform::Mailchimp)
    })?;
    value.set_sensitive(true);
    let request = api
        .http
        .request(Method::GET, url)
        .header(postd_core::reqwest::header::AUTHORIZATION, value)
        .header("accept", "application/json")
        .build()
        .map_err(|e| {
            Error::config("could not build the metadata request").with_source(e.without_url())
        })?;
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "oauth.metadata");
    let response = api
        .http
        .execute(ctx, request, &crate::error::parse_error)
        .await?;
    let meta: Metadata = response.json(&ctx)?;
    if let Some(error) = meta.error {
        return Err(Error::new(
            ErrorKind::ReauthRequired,
            format!(
                "Mailchimp refused the token ({}); connect the account again",
                error.chars().take(60).collect::<String>()
            ),
        )
        .with_platform(Platform::Mailchimp)
        .with_code("invalid_token"));
    }
    let dc = meta.dc.filter(|d| valid_dc(d)).ok_or_else(|| {
        Error::unexpected("Mailchimp's metadata answer has no usable data center")
            .with_platform(Platform::Mailchimp)
    })?;
    // The endpoint must be the data center's own host.
    if let Some(endpoint) = &meta.api_endpoint
        && endpoint.trim_end_matches('/') != format!("https://{dc}.api.mailchimp.com")
        && api.cfg.base_url.is_none()
    {
        return Err(Error::unexpected(
            "Mailchimp's metadata names an API endpoint that is not its data center's",
        )
        .with_platform(Platform::Mailchimp));
    }
    let user = meta.user_id.map(|u| match u {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    });
    Ok((dc, user.map(|u| u.chars().take(64).collect())))
}

pub(crate) fn refresh_unsupported() -> Result<Credentials> {
    Err(Error::new(
        ErrorKind::Unsupported,
        "Mailchimp keys and OAuth tokens do not expire and have no refresh",
    )
    .with_platform(Platform::Mailchimp)
    .with_operation("refresh"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Root {
    account_id: String,
    account_name: String,
    pricing_plan_type: String,
}

/// `GET /ping`, then the account: whether the key or token works, and
/// whether the plan can schedule.
pub(crate) async fn health(api: &Api, credentials: &Credentials) -> Result<Health> {
    let now = Utc::now();
    let mut health = Health::healthy(now);
    let account = match api.account(credentials).await {
        Ok(a) => a,
        Err(e) => {
            health.status = HealthStatus::Unhealthy;
            health.token_valid = false;
            health.notes.push(e.message().to_owned());
            return Ok(health);
        }
    };
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "ping");
    let ping = api
        .get::<serde_json::Value>(ctx, &account, api.url(&account, "ping", &[]))
        .await;
    if let Err(e) = ping {
        return match e.kind() {
            ErrorKind::ReauthRequired | ErrorKind::Auth | ErrorKind::Config => {
                health.status = HealthStatus::Unhealthy;
                health.token_valid = false;
                health.notes.push(e.message().to_owned());
                Ok(health)
            }
            _ => Err(e.or_operation("health_check")),
        };
    }
    let ctx = RequestContext::idempotent(Platform::Mailchimp, "root");
    let url = api.url(
        &account,
        "",
        &[("fields", "account_id,account_name,pricing_plan_type")],
    );
    let root: Root = api
        .get(ctx, &account, url)
        .await
        .map_err(|e| e.or_operation("health_check"))?;
    if !root.account_name.is_empty() {
        health.notes.push(format!(
            "account {} ({})",
            root.account_name.chars().take(100).collect::<String>(),
            root.account_id.chars().take(40).collect::<String>()
        ));
    }
    if root.pricing_plan_type == "forever_free" {
        health.status = HealthStatus::Degraded;
        health.notes.push(
            "the account is on Mailchimp's free plan: campaigns cannot be scheduled with Mailchimp (the queue holds them instead)"
                .to_owned(),
        );
    }
    Ok(health)
}
