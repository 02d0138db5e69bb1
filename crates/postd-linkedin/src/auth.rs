//! OAuth 2.0 (3-legged) and who the member is.
//!
//! 1. `GET https://www.linkedin.com/oauth/v2/authorization` (space-separated scopes, `state`);
//! 2. `POST /oauth/v2/accessToken` (form: code, client id and secret, redirect URI) ->
//!    60-day access token, and for approved apps a 365-day refresh token
//!    whose lifetime a refresh does not extend;
//! 3. `GET /v2/userinfo` -> `sub`; the author URN is `urn:li:person:{sub}`;
//! 4. with organization posting on: `GET /rest/organizationAcls?q=roleAssignee&state=APPROVED`,
//!    then `GET /rest/organizations?ids=List(...)` for their names.

use chrono::Utc;
use postd_core::http::RequestContext;
use postd_core::oauth::{Authorization, AuthorizationRequest, CodeExchange, OAuthClient};
use postd_core::reqwest::Method;
use postd_core::secrecy::SecretString;
use postd_core::{Credentials, Error, ErrorKind, Platform, Result, Target, TargetKind, TokenSet};

use crate::models::{BatchOrganizations, Elements, OrganizationAcl, UserInfo};
use crate::rest::{Rest, encode};

/// Organization roles that may post as the organization.
const POSTING_ROLES: &[&str] = &[
    "ADMINISTRATOR",
    "CONTENT_ADMIN",
    "DIRECT_SPONSORED_CONTENT_POSTER",
];

fn oauth_client(rest: &Rest) -> OAuthClient {
    OAuthClient::new(
        Platform::LinkedIn,
        rest.oauth_url("authorization"),
        rest.oauth_url("accessToken"),
        &rest.cfg.client_id,
    )
    .with_client_secret(rest.cfg.client_secret.clone())
    .with_pkce(false)
}

pub(crate) fn authorize_url(rest: &Rest, request: &AuthorizationRequest) -> Result<Authorization> {
    let defaults: Vec<&str> = rest.cfg.scopes.iter().map(String::as_str).collect();
    oauth_client(rest).authorization(request, &defaults)
}

pub(crate) async fn exchange_code(rest: &Rest, exchange: CodeExchange) -> Result<Credentials> {
    let response = oauth_client(rest)
        .exchange_code(&rest.http, &exchange)
        .await
        .map_err(|e| spent_code(dead_grant(e)))?;
    let mut tokens = response.into_token_set(Utc::now());
    let me = userinfo(rest, &tokens.access_token).await?;
    tokens.subject = Some(person_urn(&me.sub));
    Ok(Credentials::OAuth(tokens))
}

pub(crate) async fn refresh(rest: &Rest, credentials: &Credentials) -> Result<Credentials> {
    let tokens = credentials.token_set(Platform::LinkedIn)?;
    let Some(refresh_token) = &tokens.refresh_token else {
        return Err(Error::new(
            ErrorKind::ReauthRequired,
            "this LinkedIn app has no refresh tokens (they are for approved apps only); the member must authorize again",
        )
        .with_platform(Platform::LinkedIn)
        .with_operation("refresh"));
    };
    let response = oauth_client(rest)
        .refresh(&rest.http, refresh_token)
        .await
        .map_err(dead_grant)?;
    let fresh = response.into_token_set(Utc::now());
    Ok(Credentials::OAuth(tokens.merge_refreshed(fresh)))
}

/// LinkedIn answers an expired or already used authorization code with
/// `400 invalid_redirect_uri` ("Unable to retrieve access token:
/// appid/redirect uri/code verifier does not match authorization code. Or
/// authorization code expired"; Authorization Code Flow, error table). Either
/// way the code is spent and the member must authorize again; it is not a
/// configuration error unless the redirect URI really differs, which the
/// message names too.
fn spent_code(e: Error) -> Error {
    if e.platform_code() != Some("invalid_redirect_uri") {
        return e;
    }
    Error::new(
        ErrorKind::ReauthRequired,
        "LinkedIn refused the authorization code: it expired (codes last 30 minutes) or was \
         already used, or the redirect URI differs from the one the authorization used; \
         start the authorization again (and pass the exchange the redirect URI the authorization used)",
    )
    .with_platform(Platform::LinkedIn)
    .with_operation("exchange_code")
    .with_status(e.http_status().unwrap_or(400))
    .with_code("invalid_redirect_uri")
}

/// LinkedIn answers a dead, expired or revoked refresh token with
/// `invalid_request` ("The provided authorization grant or refresh token is
/// invalid, expired or revoked") where RFC 6749 says `invalid_grant`: both
/// mean the member must authorize again.
fn dead_grant(e: Error) -> Error {
    let revoked = e.kind() == ErrorKind::Auth
        && e.http_status() == Some(400)
        && e.message().contains("invalid, expired or revoked");
    if revoked {
        e.with_kind(ErrorKind::ReauthRequired)
    } else {
        e
    }
}

pub(crate) async fn userinfo(rest: &Rest, token: &SecretString) -> Result<UserInfo> {
    let ctx = RequestContext::idempotent(Platform::LinkedIn, "v2.userinfo");
    rest.json(
        ctx,
        rest.plain(Method::GET, rest.v2_url("userinfo"), Some(token)),
    )
    .await
}

pub(crate) fn person_urn(sub: &str) -> String {
    format!("urn:li:person:{sub}")
}

pub(crate) async fn targets(rest: &Rest, credentials: &Credentials) -> Result<Vec<Target>> {
    let tokens = credentials.token_set(Platform::LinkedIn)?;
    let me = userinfo(rest, &tokens.access_token).await?;
    let mut person = Target::new(TargetKind::LinkedInPerson, person_urn(&me.sub));
    if let Some(name) = me.name {
        person = person.with_name(name);
    }
    let mut out = vec![person];
    if rest.cfg.organizations {
        out.extend(organizations(rest, tokens).await?);
    }
    Ok(out)
}

async fn organizations(rest: &Rest, tokens: &TokenSet) -> Result<Vec<Target>> {
    let url = rest.rest_url(
        "organizationAcls",
        Some("q=roleAssignee&state=APPROVED&count=100"),
    );
    let acls: Elements<OrganizationAcl> = rest
        .get("rest.organization_acls", url, &tokens.access_token)
        .await?;
    let mut urns: Vec<String> = acls
        .elements
        .into_iter()
        .filter(|a| a.state.as_deref().is_none_or(|s| s == "APPROVED"))
        .filter(|a| a.role.as_deref().is_none_or(|r| POSTING_ROLES.contains(&r)))
        .map(|a| a.organization)
        .collect();
    urns.sort();
    urns.dedup();
    if urns.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = urns.iter().map(|u| org_id(u)).collect();
    let list = ids
        .iter()
        .map(|id| encode(id))
        .collect::<Vec<_>>()
        .join(",");
    let url = rest.rest_url("organizations", Some(&format!("ids=List({list})")));
    // Names are a nicety: a failure here still lists the organizations.
    let names: Option<BatchOrganizations> = rest
        .get("rest.organizations", url, &tokens.access_token)
        .await
        .ok();
    Ok(urns
        .iter()
        .map(|urn| {
            let mut t = Target::new(TargetKind::LinkedInOrganization, urn.as_str());
            if let Some(name) = names
                .as_ref()
                .and_then(|n| n.results.get(org_id(urn)))
                .and_then(|o| o.localized_name.clone())
            {
                t = t.with_name(name);
            }
            t
        })
        .collect())
}

fn org_id(urn: &str) -> &str {
    urn.rsplit(':').next().unwrap_or(urn)
}
