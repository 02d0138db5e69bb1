//! Facebook Login: the dialog URL, the code exchange, the short-lived to
//! long-lived exchange (`fb_exchange_token`), page tokens from
//! `/me/accounts`, the Instagram account behind each page, and `debug_token`.
//!
//! Order of calls for a new connection:
//! 1. `/{v}/oauth/access_token` with `client_id`, `redirect_uri`, `client_secret`, `code` -> short-lived user token;
//! 2. `/{v}/oauth/access_token` with `grant_type=fb_exchange_token` -> long-lived user token (~60 days);
//! 3. `GET /{v}/debug_token?input_token=...` (app token) -> user id, scopes, `data_access_expires_at`;
//! 4. `GET /{v}/me/accounts` -> page tokens (which do not expire when fetched with a
//!    long-lived user token) and each page's `instagram_business_account`.
//!
//! The token endpoint takes its parameters in a form body (`POST`; Graph
//! reads parameters from the query or the body alike), so the client
//! secret, the code and tokens never travel in a URL. `debug_token` is the
//! one call Meta takes only as a `GET`: its `input_token` is stripped from
//! every error and log.

use chrono::{DateTime, Utc};
use postd_core::http::RequestContext;
use postd_core::oauth::{
    Authorization, AuthorizationRequest, CodeExchange, OAuthClient, TokenResponse,
};
use postd_core::reqwest::Method;
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Credentials, Error, ErrorKind, Platform, Result, Target, TargetKind, TokenSet};

use crate::graph::{Auth, Graph};
use crate::models::{Account, DebugToken, DebugTokenData, Paged};

/// Pages one `/me/accounts` listing follows at most (100 pages each).
const MAX_ACCOUNT_PAGES: usize = 50;

pub(crate) fn authorize_url(
    graph: &Graph,
    request: &AuthorizationRequest,
) -> Result<Authorization> {
    let cfg = &graph.cfg;
    let dialog = postd_core::config::join(
        &cfg.oauth_base_url,
        &[cfg.graph_version.as_str(), "dialog", "oauth"],
    );
    let client = OAuthClient::new(
        Platform::Meta,
        dialog,
        graph.url(&["oauth", "access_token"]),
        &cfg.client_id,
    )
    // Facebook Login separates scopes with commas.
    .with_scope_separator(",")
    .with_pkce(false);
    let defaults: Vec<&str> = cfg.scopes.iter().map(String::as_str).collect();
    client.authorization(request, &defaults)
}

pub(crate) async fn exchange_code(graph: &Graph, exchange: CodeExchange) -> Result<Credentials> {
    exchange.verify_state(Platform::Meta)?;
    let cfg = &graph.cfg;
    let short: TokenResponse = token_call(
        graph,
        "oauth.exchange_code",
        &[
            ("client_id", cfg.client_id.as_str()),
            ("redirect_uri", exchange.redirect_uri.as_str()),
            ("client_secret", cfg.client_secret.expose_secret()),
            ("code", exchange.code.expose_secret()),
        ],
    )
    .await?;
    long_lived_credentials(graph, &short.access_token).await
}

pub(crate) async fn refresh(graph: &Graph, credentials: &Credentials) -> Result<Credentials> {
    let tokens = credentials.token_set(Platform::Meta)?;
    let fresh = long_lived_credentials(graph, &tokens.access_token).await?;
    match fresh {
        Credentials::OAuth(t) => Ok(Credentials::OAuth(tokens.merge_refreshed(t))),
        other => Ok(other),
    }
}

/// Exchanges `token` for a long-lived user token and gathers everything the connection needs.
async fn long_lived_credentials(graph: &Graph, token: &SecretString) -> Result<Credentials> {
    let cfg = &graph.cfg;
    let now = Utc::now();
    let long: TokenResponse = token_call(
        graph,
        "oauth.fb_exchange_token",
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", cfg.client_id.as_str()),
            ("client_secret", cfg.client_secret.expose_secret()),
            ("fb_exchange_token", token.expose_secret()),
        ],
    )
    .await?;
    let mut tokens = long.into_token_set(now);
    let info = debug_token(graph, &tokens.access_token).await?;
    if !info.is_valid {
        return Err(invalid_token_error(&info));
    }
    tokens.subject = info.user_id.clone();
    if !info.scopes.is_empty() {
        tokens.scopes = info.scopes.clone();
    }
    tokens.consent_expires_at = info.data_access_expires_at.and_then(unix_time);
    if tokens.expires_at.is_none() {
        tokens.expires_at = info.expires_at.and_then(unix_time);
    }
    for account in accounts(graph, &tokens.access_token).await? {
        if let Some(page_token) = account.access_token {
            if let Some(ig) = &account.instagram_business_account {
                // Instagram calls for a page's linked account use the page token.
                tokens.derived.insert(ig.id.clone(), page_token.clone());
            }
            tokens.derived.insert(account.id, page_token);
        }
    }
    Ok(Credentials::OAuth(tokens))
}

async fn token_call(
    graph: &Graph,
    operation: &'static str,
    params: &[(&str, &str)],
) -> Result<TokenResponse> {
    // A form body: the client secret, the code and the token never travel in a URL.
    let builder = graph
        .request(
            Method::POST,
            graph.url(&["oauth", "access_token"]),
            Auth::None,
        )
        .form(params);
    // Never retried after it may have been applied: a code works once.
    let ctx = RequestContext::non_idempotent(Platform::Meta, operation);
    let response = graph.send_raw(ctx, builder, None).await?;
    postd_core::oauth::token_response(&ctx, &response)
}

/// `GET /debug_token` with the app token.
///
/// `input_token` is the object inspected, and Meta takes it only as a
/// parameter; it is stripped from every error and log like any query value.
pub(crate) async fn debug_token(graph: &Graph, token: &SecretString) -> Result<DebugTokenData> {
    let answer: DebugToken = graph
        .get(
            "graph.debug_token",
            Auth::App,
            graph.url(&["debug_token"]),
            &[("input_token", token.expose_secret())],
            None,
        )
        .await?;
    Ok(answer.data)
}

pub(crate) fn invalid_token_error(info: &DebugTokenData) -> Error {
    match &info.error {
        Some(e) => {
            crate::error::from_graph_error(e, None, None).with_kind(ErrorKind::ReauthRequired)
        }
        None => Error::new(
            ErrorKind::ReauthRequired,
            "Meta reports the token is not valid",
        ),
    }
    .with_platform(Platform::Meta)
    .with_operation("debug_token")
}

/// Every page the user token manages (`/me/accounts`, all pages of it).
pub(crate) async fn accounts(graph: &Graph, user_token: &SecretString) -> Result<Vec<Account>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_ACCOUNT_PAGES {
        let mut query = vec![
            (
                "fields",
                "id,name,access_token,tasks,instagram_business_account{id,username}",
            ),
            ("limit", "100"),
        ];
        if let Some(a) = after.as_deref() {
            query.push(("after", a));
        }
        let page: Paged<Account> = graph
            .get(
                "graph.me_accounts",
                Auth::Token(user_token),
                graph.url(&["me", "accounts"]),
                &query,
                None,
            )
            .await?;
        after = page.next_cursor();
        out.extend(page.data);
        if after.is_none() {
            break;
        }
    }
    Ok(out)
}

/// Pages the user can publish to, and the Instagram accounts behind them.
pub(crate) async fn targets(graph: &Graph, credentials: &Credentials) -> Result<Vec<Target>> {
    let tokens = credentials.token_set(Platform::Meta)?;
    let mut out = Vec::new();
    for account in accounts(graph, &tokens.access_token).await? {
        let can_publish = account
            .tasks
            .as_ref()
            .is_none_or(|t| t.iter().any(|t| t == "CREATE_CONTENT" || t == "MANAGE"));
        if !can_publish {
            continue;
        }
        let mut page = Target::new(TargetKind::FacebookPage, &account.id);
        if let Some(name) = &account.name {
            page = page.with_name(name);
        }
        out.push(page);
        if let Some(ig) = account.instagram_business_account {
            let mut t = Target::new(TargetKind::InstagramAccount, ig.id).with_parent(&account.id);
            if let Some(u) = ig.username {
                t = t.with_name(u);
            }
            out.push(t);
        }
    }
    Ok(out)
}

/// The token to call `target` with.
///
/// A Facebook Page needs its page token (`TokenSet::derived` under the page
/// id): Graph refuses page posts made with a user token. An Instagram account
/// takes the token stored under its own id, else its page's token (found
/// through [`Target::parent_id`]), else the user token: Meta's content
/// publishing API accepts a user or page token for an Instagram professional
/// account linked to a Page the user manages (Instagram Platform with Facebook
/// Login).
pub(crate) fn target_token<'a>(tokens: &'a TokenSet, target: &Target) -> Result<&'a SecretString> {
    if let Some(token) = tokens.derived_for(target) {
        return Ok(token);
    }
    if target.kind == TargetKind::InstagramAccount {
        return Ok(&tokens.access_token);
    }
    let id = target.id.as_str();
    Err(Error::new(
        ErrorKind::Auth,
        format!(
            "no page token for page {id}: publish with the credentials exchange_code or refresh \
             returned (they hold each page's token), or add it with \
             TokenSet::with_derived(\"{id}\", <page token>); a page added after login needs a refresh"
        ),
    )
    .with_platform(Platform::Meta))
}

/// A Unix time from Graph, where 0 means "never".
pub(crate) fn unix_time(secs: i64) -> Option<DateTime<Utc>> {
    if secs <= 0 {
        None
    } else {
        DateTime::from_timestamp(secs, 0)
    }
}
