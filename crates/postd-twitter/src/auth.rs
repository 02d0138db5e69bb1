//! OAuth 2.0 Authorization Code with PKCE, and who the user is
//! (<https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code>,
//! <https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token>).
//!
//! 1. `https://x.com/i/oauth2/authorize` with `client_id`, space-separated
//!    scopes (`offline.access` for a refresh token), `state` and an S256
//!    challenge; the code it returns is valid for 30 seconds.
//! 2. `POST /2/oauth2/token` (form): a confidential client authenticates
//!    with HTTP Basic (`client_id:client_secret`), a public one sends
//!    `client_id` in the body. Access tokens live two hours (`expires_in` is
//!    trusted, never assumed).
//! 3. Refresh tokens rotate and are single use: each refresh answers a new
//!    one and the one sent is spent; sending a spent one again is answered
//!    `invalid_request` ("Value passed for the token was invalid") and, as
//!    users report, can end the whole authorization. So a refresh is made only
//!    when the token is about to expire and the account is used (see
//!    [`crate::REFRESH_AHEAD`]), through the vault's single flight, and its
//!    answer is stored in one write whether or not the caller still waits.
//!    That error, or `invalid_grant`, is [`ErrorKind::ReauthRequired`]; any
//!    other failure is not.
//! 4. `POST /2/oauth2/revoke` when the user disconnects.

use chrono::Utc;
use postd_core::http::RequestContext;
use postd_core::oauth::{
    Authorization, AuthorizationRequest, ClientAuth, CodeExchange, OAuthClient, parse_oauth_error,
};
use postd_core::reqwest::Method;
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Credentials, Error, ErrorKind, Platform, Result, Target, TargetKind, TokenSet};
use serde::Deserialize;

use crate::api::{Api, Caller};

fn oauth_client(api: &Api) -> OAuthClient {
    let client = OAuthClient::new(
        Platform::Twitter,
        api.cfg.authorize_url.clone(),
        api.url("oauth2/token", &[]),
        &api.cfg.client_id,
    )
    .with_pkce(true);
    match &api.cfg.client_secret {
        Some(secret) => client
            .with_client_secret(secret.clone())
            .with_client_auth(ClientAuth::BasicAuth),
        None => client.with_client_auth(ClientAuth::RequestBody),
    }
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
    let mut tokens = response.into_token_set(started);
    // The token answer does not say who the user is: ask. The code is spent
    // by now, so a transient failure keeps the tokens (without a subject;
    // `targets` asks again) rather than sending the user back to X.
    match me(api, &tokens.access_token, "").await {
        Ok(me) => tokens.subject = Some(me.id),
        Err(e) if e.is_temporary() => {
            tracing::warn!(platform = "twitter", kind = %e.kind(), "users/me failed after the code exchange; the user id is read later");
        }
        Err(e) => return Err(e.or_operation("exchange_code")),
    }
    Ok(Credentials::OAuth(tokens))
}

/// Whether a token endpoint error says the refresh token itself is dead:
/// `invalid_grant` (RFC 6749) or X's `invalid_request` about the token's
/// value. A missing parameter or a bad client is not (that is our fault).
fn dead_refresh_token(e: &Error) -> bool {
    let message = e.message().to_ascii_lowercase();
    match e.platform_code() {
        Some("invalid_grant") => true,
        Some("invalid_request") => message.contains("token") && !message.contains("missing"),
        _ => false,
    }
}

pub(crate) async fn refresh(api: &Api, credentials: &Credentials) -> Result<Credentials> {
    let tokens = credentials.token_set(Platform::Twitter)?;
    let Some(refresh_token) = &tokens.refresh_token else {
        return Err(Error::new(
            ErrorKind::ReauthRequired,
            "these X credentials have no refresh token (was offline.access granted?); the user must authorize again",
        )
        .with_platform(Platform::Twitter)
        .with_operation("refresh"));
    };
    let started = Utc::now();
    let response = oauth_client(api)
        .refresh(&api.http, refresh_token)
        .await
        .map_err(|e| {
            let e = e.or_operation("refresh");
            if dead_refresh_token(&e) {
                let message = format!(
                    "{} (the refresh token is spent or revoked; the user must authorize again)",
                    e.message()
                );
                e.with_kind(ErrorKind::ReauthRequired)
                    .with_message(message)
                    .permanent()
            } else {
                e
            }
        })?;
    let fresh = response.into_token_set(started);
    Ok(Credentials::OAuth(tokens.merge_refreshed(fresh)))
}

/// `POST /2/oauth2/revoke` for the refresh token (when there is one) and the
/// access token: both are tried whatever the first answered, and a token X
/// already holds dead counts as revoked.
pub(crate) async fn revoke(api: &Api, credentials: &Credentials) -> Result<()> {
    let tokens = credentials.token_set(Platform::Twitter)?;
    let refresh = match &tokens.refresh_token {
        Some(r) => revoke_one(api, r, "refresh_token").await,
        None => Ok(()),
    };
    let access = revoke_one(api, &tokens.access_token, "access_token").await;
    refresh.and(access)
}

async fn revoke_one(api: &Api, token: &SecretString, hint: &str) -> Result<()> {
    let mut form = vec![("token", token.expose_secret()), ("token_type_hint", hint)];
    let mut builder = api
        .http
        .request(Method::POST, api.url("oauth2/revoke", &[]));
    match &api.cfg.client_secret {
        // The same client authentication as the token endpoint's.
        Some(secret) => {
            let value = postd_core::oauth::basic_auth(&api.cfg.client_id, secret.expose_secret())?;
            builder = builder.header(postd_core::reqwest::header::AUTHORIZATION, value);
        }
        None => form.push(("client_id", api.cfg.client_id.as_str())),
    }
    let request = builder.form(&form).build().map_err(|e| {
        Error::config("could not build the X revoke request").with_source(e.without_url())
    })?;
    let ctx = RequestContext::idempotent(Platform::Twitter, "oauth.revoke");
    let parse = |status, headers: &_, body: &[u8]| {
        parse_oauth_error(Platform::Twitter, status, headers, body)
    };
    match api.http.execute(ctx, request, &parse).await {
        Ok(_) => Ok(()),
        // Already spent or revoked: what a revoke wants.
        Err(e) if dead_refresh_token(&e) => Ok(()),
        Err(e) => Err(e.or_operation("revoke")),
    }
}

#[derive(Deserialize)]
pub(crate) struct Me {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) username: Option<String>,
    #[serde(default)]
    pub(crate) public_metrics: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Data<T> {
    data: T,
}

/// `GET /2/users/me`, with `user.fields` when given.
pub(crate) async fn me(api: &Api, token: &SecretString, fields: &str) -> Result<Me> {
    let query: &[(&str, &str)] = if fields.is_empty() {
        &[]
    } else {
        &[("user.fields", fields)]
    };
    let url = api.url("users/me", query);
    let ctx = RequestContext::idempotent(Platform::Twitter, "users.me");
    let me: Data<Me> = api.get(ctx, &Caller::token(token), url, token).await?;
    if me.data.id.is_empty() || !me.data.id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            Error::unexpected("X's users/me answer has no usable user id")
                .with_platform(Platform::Twitter),
        );
    }
    Ok(me.data)
}

/// One target per credential: the user.
pub(crate) async fn targets(api: &Api, credentials: &Credentials) -> Result<Vec<Target>> {
    let tokens = credentials.token_set(Platform::Twitter)?;
    let me = me(api, &tokens.access_token, "")
        .await
        .map_err(|e| e.or_operation("targets"))?;
    let mut t = Target::new(TargetKind::TwitterAccount, me.id.as_str());
    if let Some(name) = me.username.filter(|n| !n.is_empty()) {
        t = t.with_name(format!("@{name}"));
    }
    Ok(vec![t])
}

/// Whether `tokens` are known to lack `scope` (an empty list is unknown).
pub(crate) fn lacks_scope(tokens: &TokenSet, scope: &str) -> bool {
    !tokens.scopes.is_empty() && !tokens.scopes.iter().any(|s| s == scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_token_means_authorize_again() {
        let e = |code: &str, msg: &str| {
            Error::new(ErrorKind::Auth, msg.to_owned())
                .with_code(code.to_owned())
                .with_platform(Platform::Twitter)
        };
        assert!(dead_refresh_token(&e(
            "invalid_request",
            "invalid_request: Value passed for the token was invalid."
        )));
        assert!(dead_refresh_token(&e("invalid_grant", "invalid_grant")));
        assert!(!dead_refresh_token(&e(
            "invalid_request",
            "invalid_request: Missing required parameter [refresh_token]."
        )));
        assert!(!dead_refresh_token(&e("invalid_client", "invalid_client")));
        assert!(!dead_refresh_token(&e("server_error", "token")));
    }
}
