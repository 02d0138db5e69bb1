//! Login Kit (OAuth v2) and who the creator is
//! (<https://developers.tiktok.com/doc/oauth-user-access-token-management>,
//! <https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token>).
//!
//! 1. `GET https://www.tiktok.com/v2/auth/authorize/` with `client_key`,
//!    comma-separated scopes, `state` and an S256 PKCE challenge;
//! 2. `POST /v2/oauth/token/` (form: `client_key`, `client_secret`, code,
//!    redirect URI, `code_verifier`) -> access token, refresh token, their
//!    lifetimes (`expires_in`, `refresh_expires_in`: trusted, never assumed;
//!    TikTok's 2026 pages say 2 hours and 180 days) and `open_id`;
//! 3. refresh with `grant_type=refresh_token`: the answer may carry a new
//!    refresh token, and once it does the previous one stops working, so the
//!    new one must be stored with the new access token (the vault does, in
//!    one write, whether or not the caller is still waiting);
//! 4. `POST /v2/oauth/revoke/` when the creator disconnects.

use chrono::Utc;
use postd_core::http::RequestContext;
use postd_core::oauth::{Authorization, AuthorizationRequest, CodeExchange, OAuthClient};
use postd_core::reqwest::Method;
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Credentials, Error, ErrorKind, Platform, Result, Target, TargetKind};
use serde::Deserialize;

use crate::api::Api;

fn oauth_client(api: &Api) -> OAuthClient {
    OAuthClient::new(
        Platform::TikTok,
        api.cfg.authorize_url.clone(),
        api.url("oauth/token/", None),
        &api.cfg.client_key,
    )
    .with_client_id_param("client_key")
    .with_client_secret(api.cfg.client_secret.clone())
    .with_scope_separator(",")
    .with_pkce(true)
}

pub(crate) fn authorize_url(api: &Api, request: &AuthorizationRequest) -> Result<Authorization> {
    let defaults: Vec<&str> = api.cfg.scopes.iter().map(String::as_str).collect();
    oauth_client(api).authorization(request, &defaults)
}

pub(crate) async fn exchange_code(api: &Api, exchange: CodeExchange) -> Result<Credentials> {
    let started = Utc::now();
    let response = oauth_client(api)
        .exchange_code(&api.http, &exchange)
        .await?;
    let tokens = response.into_token_set(started);
    if tokens.subject.is_none() {
        return Err(Error::unexpected("TikTok's token answer has no open_id")
            .with_platform(Platform::TikTok)
            .with_operation("exchange_code"));
    }
    Ok(Credentials::OAuth(tokens))
}

pub(crate) async fn refresh(api: &Api, credentials: &Credentials) -> Result<Credentials> {
    let tokens = credentials.token_set(Platform::TikTok)?;
    let Some(refresh_token) = &tokens.refresh_token else {
        return Err(Error::new(
            ErrorKind::ReauthRequired,
            "these TikTok credentials have no refresh token; the creator must authorize again",
        )
        .with_platform(Platform::TikTok)
        .with_operation("refresh"));
    };
    let started = Utc::now();
    let response = oauth_client(api)
        .refresh(&api.http, refresh_token)
        .await
        .map_err(|e| e.or_operation("refresh"))?;
    let fresh = response.into_token_set(started);
    // A rotated refresh token replaces the old one (merge keeps the old one
    // only when the answer has none); so does its lifetime.
    let mut merged = tokens.merge_refreshed(fresh.clone());
    if fresh.refresh_token.is_some() {
        merged.refresh_expires_at = fresh.refresh_expires_at;
    }
    Ok(Credentials::OAuth(merged))
}

/// Revokes the creator's grant (`POST /v2/oauth/revoke/`): the access and
/// refresh tokens stop working.
pub(crate) async fn revoke(api: &Api, credentials: &Credentials) -> Result<()> {
    let tokens = credentials.token_set(Platform::TikTok)?;
    let form = [
        ("client_key", api.cfg.client_key.as_str()),
        ("client_secret", api.cfg.client_secret.expose_secret()),
        ("token", tokens.access_token.expose_secret()),
    ];
    let builder = api
        .http
        .request(Method::POST, api.url("oauth/revoke/", None))
        .form(&form);
    let request = builder.build().map_err(|e| {
        Error::config("could not build the TikTok revoke request").with_source(e.without_url())
    })?;
    let ctx = RequestContext::idempotent(Platform::TikTok, "oauth.revoke");
    let parse = |status, headers: &_, body: &[u8]| {
        postd_core::oauth::parse_oauth_error(Platform::TikTok, status, headers, body)
    };
    let resp = api.http.execute(ctx, request, &parse).await?;
    // An OAuth error can come with a 200: the grant then still stands.
    match resp.error_in_body(&ctx, postd_core::oauth::is_oauth_error_body, &parse) {
        Some(e) => Err(e.or_operation("revoke")),
        None => Ok(()),
    }
}

/// Whether `tokens` are known to lack `scope`: an empty scope list is
/// unknown (the token exchange did not say), and the call is made.
pub(crate) fn lacks_scope(tokens: &postd_core::TokenSet, scope: &str) -> bool {
    !tokens.scopes.is_empty() && !tokens.scopes.iter().any(|s| s == scope)
}

#[derive(Deserialize)]
pub(crate) struct UserData {
    pub(crate) user: User,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct User {
    pub(crate) open_id: String,
    pub(crate) display_name: Option<String>,
    pub(crate) follower_count: Option<u64>,
    pub(crate) following_count: Option<u64>,
    pub(crate) likes_count: Option<u64>,
    pub(crate) video_count: Option<u64>,
}

/// `GET /v2/user/info/?fields=...`.
pub(crate) async fn user_info(api: &Api, token: &SecretString, fields: &str) -> Result<User> {
    let url = api.url("user/info/", Some(&format!("fields={fields}")));
    let ctx = RequestContext::idempotent(Platform::TikTok, "user.info");
    let data: UserData = api.get(ctx, url, token).await?;
    Ok(data.user)
}

/// One target per credential: the creator, keyed by `open_id`.
pub(crate) async fn targets(api: &Api, credentials: &Credentials) -> Result<Vec<Target>> {
    let tokens = credentials.token_set(Platform::TikTok)?;
    let me = user_info(api, &tokens.access_token, "open_id,display_name").await?;
    if me.open_id.is_empty() {
        return Err(Error::unexpected("TikTok's user info has no open_id")
            .with_platform(Platform::TikTok)
            .with_operation("targets"));
    }
    let mut t = Target::new(TargetKind::TikTokAccount, me.open_id.as_str());
    if let Some(name) = me.display_name.filter(|n| !n.is_empty()) {
        t = t.with_name(name);
    }
    Ok(vec![t])
}
