//! Google's OAuth 2.0 for web server apps, and the locations a user manages
//! (<https://developers.google.com/identity/protocols/oauth2/web-server>,
//! <https://developers.google.com/identity/protocols/oauth2#expiration>,
//! <https://developers.google.com/my-business/reference/accountmanagement/rest/v1/accounts/list>,
//! <https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list>).
//!
//! 1. The consent page with `access_type=offline` (for a refresh token),
//!    `prompt=consent` (so a reconnect is issued one again), `state` and an
//!    S256 challenge; the only scope is `business.manage`.
//! 2. `POST {oauth}/token` (form, the client secret in the body). A grant
//!    without `business.manage` (the user can untick it) or without a
//!    refresh token is [`ErrorKind::ReauthRequired`] at once.
//! 3. Refresh tokens do not rotate: a refresh answers no `refresh_token` and
//!    the old one is kept, never replaced with an empty value. Only
//!    `invalid_grant` ("Token has been expired or revoked.") ends the grant.
//!    A consent screen in "Testing" issues refresh tokens that die after 7
//!    days; with [`GbpConfig::testing_mode`](crate::GbpConfig::testing_mode)
//!    the deadline is recorded and warned about.
//! 4. `POST {oauth}/revoke` with the token in the form body (Google's example
//!    puts it in the query; a token never goes in a URL here).

use chrono::{TimeDelta, Utc};
use postd_core::http::RequestContext;
use postd_core::oauth::{
    Authorization, AuthorizationRequest, ClientAuth, CodeExchange, OAuthClient, parse_oauth_error,
};
use postd_core::reqwest::Method;
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Credentials, Error, ErrorKind, Platform, Result, Target, TargetKind, TokenSet};
use serde::Deserialize;

use crate::api::{Api, Host};
use crate::config::{LEGACY_SCOPE, SCOPE};
use crate::names::LocationName;

/// How long a refresh token of a consent screen in "Testing" lives.
pub const TESTING_REFRESH_LIFETIME: TimeDelta = TimeDelta::days(7);

/// The most pages of accounts, and of each account's locations, read.
const MAX_PAGES: usize = 50;

/// The most locations listed for one user (a hostile answer cannot grow the list without end).
pub(crate) const MAX_LOCATIONS: usize = 10_000;

/// The longest page token followed.
const MAX_PAGE_TOKEN: usize = 2048;

/// The fields asked of each location (`readMask` is mandatory).
pub(crate) const LOCATION_READ_MASK: &str = "name,title,storeCode,languageCode,metadata";

fn oauth_client(api: &Api) -> OAuthClient {
    OAuthClient::new(
        Platform::Gbp,
        api.cfg.authorize_url.clone(),
        postd_core::config::join(&api.cfg.oauth_base_url, &["token"]),
        &api.cfg.client_id,
    )
    .with_pkce(true)
    .with_client_secret(api.cfg.client_secret.clone())
    .with_client_auth(ClientAuth::RequestBody)
}

pub(crate) fn authorize_url(api: &Api, request: &AuthorizationRequest) -> Result<Authorization> {
    let mut request = request.clone();
    for (k, v) in [("access_type", "offline"), ("prompt", "consent")] {
        if !request.extra_params.iter().any(|(key, _)| key == k) {
            request = request.with_param(k, v);
        }
    }
    oauth_client(api).authorization(&request, &[SCOPE])
}

fn granted(tokens: &TokenSet) -> bool {
    tokens
        .scopes
        .iter()
        .any(|s| s == SCOPE || s == LEGACY_SCOPE)
}

fn reauth(message: &str, operation: &'static str) -> Error {
    Error::new(ErrorKind::ReauthRequired, message.to_owned())
        .with_platform(Platform::Gbp)
        .with_operation(operation)
}

pub(crate) async fn exchange_code(api: &Api, exchange: CodeExchange) -> Result<Credentials> {
    let started = Utc::now();
    let response = oauth_client(api)
        .exchange_code(&api.http, &exchange)
        .await
        .map_err(dead_grant)?;
    let mut tokens = response.into_token_set(started);
    // An answer without `scope` grants what was asked; one that names scopes must hold ours.
    if !tokens.scopes.is_empty() && !granted(&tokens) {
        return Err(reauth(
            "business.manage not granted: the user unticked it on Google's consent screen; they must connect again and allow it",
            "exchange_code",
        ));
    }
    if tokens.scopes.is_empty() {
        tokens.scopes = vec![SCOPE.to_owned()];
    }
    if tokens.refresh_token.is_none() {
        return Err(reauth(
            "Google issued no refresh token (no offline access was granted); the user must connect again",
            "exchange_code",
        ));
    }
    if api.cfg.testing_mode && tokens.refresh_expires_at.is_none() {
        tokens.refresh_expires_at = started.checked_add_signed(TESTING_REFRESH_LIFETIME);
    }
    Ok(Credentials::OAuth(tokens))
}

/// `invalid_grant` at the token endpoint: the code or refresh token is dead.
fn dead_grant(e: Error) -> Error {
    if e.platform_code() == Some("invalid_grant") {
        let message = format!(
            "{} (the Google grant is expired or revoked; the user must connect again)",
            e.message()
        );
        e.with_kind(ErrorKind::ReauthRequired)
            .with_message(message)
            .permanent()
    } else {
        e
    }
}

pub(crate) async fn refresh(api: &Api, credentials: &Credentials) -> Result<Credentials> {
    let tokens = credentials.token_set(Platform::Gbp)?;
    let Some(refresh_token) = tokens
        .refresh_token
        .as_ref()
        .filter(|r| !r.expose_secret().is_empty())
    else {
        return Err(reauth(
            "these Google credentials have no refresh token; the user must connect again",
            "refresh",
        ));
    };
    let started = Utc::now();
    let response = oauth_client(api)
        .refresh(&api.http, refresh_token)
        .await
        .map_err(|e| dead_grant(e.or_operation("refresh")))?;
    // No `refresh_token` in the answer (the usual case): merge keeps the old one.
    let fresh = response.into_token_set(started);
    let mut merged = tokens.merge_refreshed(fresh);
    // Credentials stored before Testing mode was declared: the refresh
    // token's deadline runs from when they were obtained (at the latest),
    // which the merge is about to forget.
    if api.cfg.testing_mode && merged.refresh_expires_at.is_none() {
        merged.refresh_expires_at = tokens
            .obtained_at
            .checked_add_signed(TESTING_REFRESH_LIFETIME);
    }
    Ok(Credentials::OAuth(merged))
}

/// Revokes the grant: the refresh token when there is one (which ends its
/// access tokens too), else the access token. A token Google already holds
/// dead counts as revoked.
pub(crate) async fn revoke(api: &Api, credentials: &Credentials) -> Result<()> {
    let tokens = credentials.token_set(Platform::Gbp)?;
    let token: &SecretString = tokens
        .refresh_token
        .as_ref()
        .unwrap_or(&tokens.access_token);
    let url = postd_core::config::join(&api.cfg.oauth_base_url, &["revoke"]);
    let request = api
        .http
        .request(Method::POST, url)
        .form(&[("token", token.expose_secret())])
        .build()
        .map_err(|e| {
            Error::config("could not build the Google revoke request").with_source(e.without_url())
        })?;
    let ctx = RequestContext::idempotent(Platform::Gbp, "oauth.revoke");
    let parse =
        |status, headers: &_, body: &[u8]| parse_oauth_error(Platform::Gbp, status, headers, body);
    match api.http.execute(ctx, request, &parse).await {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.platform_code(), Some("invalid_token" | "invalid_grant")) => Ok(()),
        Err(e) => Err(api.scrub(e.or_operation("revoke"))),
    }
}

#[derive(Deserialize)]
struct AccountsPage {
    #[serde(default)]
    accounts: Vec<Account>,
    #[serde(default, rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct Account {
    name: String,
    #[serde(default, rename = "accountName")]
    account_name: Option<String>,
}

#[derive(Deserialize)]
struct LocationsPage {
    #[serde(default)]
    locations: Vec<Location>,
    #[serde(default, rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Location {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) title: Option<String>,
    #[serde(default)]
    pub(crate) metadata: Option<Metadata>,
}

/// A location's `metadata` flags. Google leaves a false boolean out, so an
/// absent flag is false.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Metadata {
    pub(crate) can_operate_local_post: bool,
    pub(crate) has_voice_of_merchant: bool,
}

impl Metadata {
    /// `canOperateLocalPost`: "Indicates if the listing can manage local
    /// posts." (Voice of Merchant is not required by the docs; a location
    /// without it that Google refuses answers FAILED_PRECONDITION.)
    pub(crate) fn can_post(&self) -> bool {
        self.can_operate_local_post
    }
}

/// Follows `nextPageToken` until it is absent, empty or repeats, for at most [`MAX_PAGES`].
fn next_page(token: Option<String>, seen: &mut Vec<String>) -> Option<String> {
    let t = token.filter(|t| !t.is_empty() && t.len() <= MAX_PAGE_TOKEN)?;
    if seen.contains(&t) || seen.len() >= MAX_PAGES {
        return None;
    }
    seen.push(t.clone());
    Some(t)
}

async fn accounts(api: &Api, token: &SecretString) -> Result<Vec<Account>> {
    let ctx = RequestContext::idempotent(Platform::Gbp, "accounts.list");
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut query = vec![("pageSize", "20")];
        if let Some(p) = &page {
            query.push(("pageToken", p.as_str()));
        }
        let url = api.url(Host::Accounts, "v1/accounts", &query);
        let body: AccountsPage = api.get(ctx, Host::Accounts, url, token).await?;
        out.extend(body.accounts.into_iter().take(MAX_LOCATIONS));
        if out.len() >= MAX_LOCATIONS {
            return Ok(out);
        }
        match next_page(body.next_page_token, &mut seen) {
            Some(next) => page = Some(next),
            None => return Ok(out),
        }
    }
}

pub(crate) async fn locations(
    api: &Api,
    token: &SecretString,
    account: &str,
) -> Result<Vec<Location>> {
    let ctx = RequestContext::idempotent(Platform::Gbp, "locations.list");
    let mut out = Vec::new();
    let mut seen = Vec::new();
    let mut page: Option<String> = None;
    loop {
        let mut query = vec![("readMask", LOCATION_READ_MASK), ("pageSize", "100")];
        if let Some(p) = &page {
            query.push(("pageToken", p.as_str()));
        }
        let url = api.url(
            Host::Locations,
            &format!("v1/accounts/{account}/locations"),
            &query,
        );
        let body: LocationsPage = api.get(ctx, Host::Locations, url, token).await?;
        out.extend(body.locations.into_iter().take(MAX_LOCATIONS));
        if out.len() >= MAX_LOCATIONS {
            return Ok(out);
        }
        match next_page(body.next_page_token, &mut seen) {
            Some(next) => page = Some(next),
            None => return Ok(out),
        }
    }
}

/// Every location of every account the user manages, once each (a location
/// listed under several accounts is kept under the first), flagged with
/// whether it can take local posts.
pub(crate) async fn targets(api: &Api, credentials: &Credentials) -> Result<Vec<Target>> {
    let tokens = credentials.token_set(Platform::Gbp)?;
    let token = &tokens.access_token;
    let mut out: Vec<Target> = Vec::new();
    let mut seen_locations: std::collections::HashSet<String> = std::collections::HashSet::new();
    for account in accounts(api, token).await?.into_iter().take(MAX_LOCATIONS) {
        let Some(account_id) = account.name.strip_prefix("accounts/") else {
            continue;
        };
        // An id Google would never send (it would change the path) is skipped.
        if LocationName::new(account_id, "0").is_err() {
            continue;
        }
        for location in locations(api, token, account_id).await? {
            let Some(location_id) = location.name.rsplit_once("locations/").map(|(_, id)| id)
            else {
                continue;
            };
            let Ok(name) = LocationName::new(account_id, location_id) else {
                continue;
            };
            if out.len() >= MAX_LOCATIONS || !seen_locations.insert(location_id.to_owned()) {
                continue;
            }
            let mut t = Target::new(TargetKind::GbpLocation, name.v4())
                .with_parent(format!("accounts/{account_id}"));
            if let Some(title) = location.title.filter(|t| !t.is_empty()) {
                t = t.with_name(title);
            } else if let Some(account_name) = &account.account_name {
                t = t.with_name(account_name.clone());
            }
            if let Some(m) = &location.metadata {
                t = t.with_can_publish(m.can_post());
            }
            out.push(t);
        }
    }
    Ok(out)
}
