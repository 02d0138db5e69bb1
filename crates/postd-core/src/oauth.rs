//! OAuth 2.0 helpers: the authorization URL with `state` and PKCE S256, the
//! code exchange and the refresh, with RFC 6749 section 5.2 error parsing.
//!
//! Platforms bend RFC 6749 in small ways (TikTok calls the client id
//! `client_key`, Meta separates scopes with commas, X wants HTTP Basic client
//! authentication); [`OAuthClient`] has a setting for each.
//!
//! ```
//! use postd_core::oauth::{AuthorizationRequest, OAuthClient};
//! use postd_core::Platform;
//! use url::Url;
//!
//! let client = OAuthClient::new(
//!     Platform::LinkedIn,
//!     Url::parse("https://www.linkedin.com/oauth/v2/authorization")?,
//!     Url::parse("https://www.linkedin.com/oauth/v2/accessToken")?,
//!     "my-client-id",
//! );
//! let request = AuthorizationRequest::new(Url::parse("https://app.example/callback/linkedin")?);
//! let auth = client.authorization(&request, &["openid", "w_member_social"])?;
//! assert!(auth.url.as_str().contains("state="));
//! assert_eq!(auth.state.as_str().len(), 43); // 256 random bits, base64url
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::credentials::TokenSet;
use crate::error::{Error, ErrorKind, Result, body_snippet};
use crate::http::{HttpClient, HttpResponse, RequestContext, classify_status};
use crate::platform::Platform;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The CSRF `state` of one authorization: 256 random bits, base64url.
/// Compare with [`State::matches`] (constant time), not `==`.
#[derive(Clone)]
pub struct State(String);

impl State {
    /// A fresh random state.
    pub fn generate() -> Self {
        State(B64URL.encode(rand::random::<[u8; 32]>()))
    }

    /// A state restored from the session store.
    pub fn from_stored(value: impl Into<String>) -> Self {
        State(value.into())
    }

    /// The state as sent in the URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares with the `state` the callback received, in constant time.
    pub fn matches(&self, received: &str) -> bool {
        !self.0.is_empty()
            && crate::webhook::constant_time_eq(self.0.as_bytes(), received.as_bytes())
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("State([REDACTED])")
    }
}

/// A PKCE code verifier (RFC 7636). Deliberately not `Clone`: one verifier, one authorization.
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A fresh verifier: 32 random bytes, 43 base64url characters.
    pub fn generate() -> Self {
        PkceVerifier(SecretString::from(
            B64URL.encode(rand::random::<[u8; 32]>()),
        ))
    }

    /// A verifier restored from the session store; 43-128 characters of `[A-Za-z0-9-._~]`.
    pub fn from_secret(secret: SecretString) -> Result<Self> {
        let s = secret.expose_secret();
        let ok = (43..=128).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if ok {
            Ok(PkceVerifier(secret))
        } else {
            Err(Error::new(
                ErrorKind::Auth,
                "PKCE verifier must be 43-128 characters of A-Z, a-z, 0-9, '-', '.', '_', '~'",
            ))
        }
    }

    /// The S256 challenge: `BASE64URL(SHA256(verifier))` without padding.
    pub fn challenge(&self) -> String {
        pkce_challenge(self.0.expose_secret())
    }

    /// The verifier, to store in the session until the callback.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl fmt::Debug for PkceVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PkceVerifier([REDACTED])")
    }
}

/// Parameters the authorization URL sets itself; extra parameters may not repeat them.
const RESERVED_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "client_key",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// RFC 6749 3.1.2 and RFC 9700: https (http only for loopback), no fragment, no user info.
fn check_redirect_uri(uri: &Url) -> std::result::Result<(), &'static str> {
    let loopback = matches!(uri.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match uri.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must be https (http only for a loopback address)"),
    }
    if uri.fragment().is_some() {
        return Err("must not have a fragment");
    }
    if !uri.username().is_empty() || uri.password().is_some() {
        return Err("must not carry user info");
    }
    Ok(())
}

/// The S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    B64URL.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the service asks for when it starts an authorization.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AuthorizationRequest {
    /// Where the platform sends the user back. Use one per platform (RFC 9700 mix-up defence).
    pub redirect_uri: Url,
    /// Scopes to ask for; `None` for the connector's defaults.
    pub scopes: Option<Vec<String>>,
    /// Extra query parameters (`auth_type=rerequest`, `prompt=consent`, ...).
    pub extra_params: Vec<(String, String)>,
}

impl AuthorizationRequest {
    /// A request with the connector's default scopes.
    pub fn new(redirect_uri: Url) -> Self {
        AuthorizationRequest {
            redirect_uri,
            scopes: None,
            extra_params: Vec::new(),
        }
    }

    /// Asks for these scopes instead of the defaults.
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a query parameter.
    pub fn with_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((key.into(), value.into()));
        self
    }
}

/// A started authorization: send the user to `url`, keep `state` and `pkce_verifier` in their session.
#[derive(Debug)]
#[non_exhaustive]
pub struct Authorization {
    /// The URL to send the user to.
    pub url: Url,
    /// The state to compare with the callback's.
    pub state: State,
    /// The PKCE verifier, for platforms that use PKCE.
    pub pkce_verifier: Option<PkceVerifier>,
    /// The redirect URI, which the code exchange must repeat exactly.
    pub redirect_uri: Url,
    /// The scopes asked for.
    pub scopes: Vec<String>,
}

/// What the callback received, plus what the session kept.
#[derive(Debug)]
#[non_exhaustive]
pub struct CodeExchange {
    /// The authorization code.
    pub code: SecretString,
    /// The `state` the callback received.
    pub received_state: String,
    /// The state kept in the session.
    pub expected_state: State,
    /// The PKCE verifier kept in the session.
    pub pkce_verifier: Option<PkceVerifier>,
    /// The redirect URI used in the authorization.
    pub redirect_uri: Url,
}

impl CodeExchange {
    /// Builds an exchange from the callback's `code` and `state` and the session's values.
    pub fn new(
        code: impl Into<SecretString>,
        received_state: impl Into<String>,
        expected_state: State,
        pkce_verifier: Option<PkceVerifier>,
        redirect_uri: Url,
    ) -> Self {
        CodeExchange {
            code: code.into(),
            received_state: received_state.into(),
            expected_state,
            pkce_verifier,
            redirect_uri,
        }
    }

    /// Fails with [`ErrorKind::Auth`] unless the received state equals the expected one.
    pub fn verify_state(&self, platform: Platform) -> Result<()> {
        if self.expected_state.matches(&self.received_state) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Auth,
                "the callback's state does not match this session's (possible CSRF); start the authorization again",
            )
            .with_platform(platform)
            .with_operation("exchange_code"))
        }
    }
}

/// How the client authenticates at the token endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    RequestBody,
    /// HTTP Basic with the client id and secret.
    BasicAuth,
}

/// An OAuth 2.0 client for one platform's authorization server.
#[derive(Clone)]
pub struct OAuthClient {
    platform: Platform,
    authorize_url: Url,
    token_url: Url,
    client_id: String,
    client_secret: Option<SecretString>,
    client_id_param: &'static str,
    client_auth: ClientAuth,
    scope_separator: &'static str,
    pkce: bool,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("platform", &self.platform)
            .field("authorize_url", &self.authorize_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .field("pkce", &self.pkce)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// A client with RFC 6749 defaults: `client_id`, secret in the body, space-separated scopes, PKCE on.
    pub fn new(
        platform: Platform,
        authorize_url: Url,
        token_url: Url,
        client_id: impl Into<String>,
    ) -> Self {
        OAuthClient {
            platform,
            authorize_url,
            token_url,
            client_id: client_id.into(),
            client_secret: None,
            client_id_param: "client_id",
            client_auth: ClientAuth::RequestBody,
            scope_separator: " ",
            pkce: true,
        }
    }

    /// Sets the client secret.
    pub fn with_client_secret(mut self, secret: SecretString) -> Self {
        self.client_secret = Some(secret);
        self
    }

    /// Renames the client id parameter (TikTok: `client_key`).
    pub fn with_client_id_param(mut self, name: &'static str) -> Self {
        self.client_id_param = name;
        self
    }

    /// Sets how the client authenticates at the token endpoint.
    pub fn with_client_auth(mut self, auth: ClientAuth) -> Self {
        self.client_auth = auth;
        self
    }

    /// Sets the scope separator (Meta: `,`).
    pub fn with_scope_separator(mut self, sep: &'static str) -> Self {
        self.scope_separator = sep;
        self
    }

    /// Turns PKCE on or off.
    pub fn with_pkce(mut self, pkce: bool) -> Self {
        self.pkce = pkce;
        self
    }

    /// The platform.
    pub fn platform(&self) -> Platform {
        self.platform
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret, if set.
    pub fn client_secret(&self) -> Option<&SecretString> {
        self.client_secret.as_ref()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.token_url
    }

    /// Builds the authorization URL with a fresh state (and PKCE verifier when enabled).
    pub fn authorization(
        &self,
        request: &AuthorizationRequest,
        default_scopes: &[&str],
    ) -> Result<Authorization> {
        check_redirect_uri(&request.redirect_uri).map_err(|why| {
            Error::config(format!("redirect URI {why}")).with_platform(self.platform)
        })?;
        if let Some((k, _)) = request
            .extra_params
            .iter()
            .find(|(k, _)| RESERVED_PARAMS.contains(&k.as_str()))
        {
            return Err(Error::config(format!(
                "extra authorization parameter {k:?} would override one POSTD sets itself"
            ))
            .with_platform(self.platform));
        }
        let scopes: Vec<String> = match &request.scopes {
            Some(s) => s.clone(),
            None => default_scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        let state = State::generate();
        let verifier = self.pkce.then(PkceVerifier::generate);
        let mut url = self.authorize_url.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair(self.client_id_param, &self.client_id);
            q.append_pair("redirect_uri", request.redirect_uri.as_str());
            if !scopes.is_empty() {
                q.append_pair("scope", &scopes.join(self.scope_separator));
            }
            q.append_pair("state", state.as_str());
            if let Some(v) = &verifier {
                q.append_pair("code_challenge", &v.challenge());
                q.append_pair("code_challenge_method", "S256");
            }
            for (k, v) in &request.extra_params {
                q.append_pair(k, v);
            }
        }
        Ok(Authorization {
            url,
            state,
            pkce_verifier: verifier,
            redirect_uri: request.redirect_uri.clone(),
            scopes,
        })
    }

    /// Exchanges an authorization code for tokens, after checking the state.
    pub async fn exchange_code(
        &self,
        http: &HttpClient,
        exchange: &CodeExchange,
    ) -> Result<TokenResponse> {
        exchange.verify_state(self.platform)?;
        if self.pkce && exchange.pkce_verifier.is_none() {
            return Err(Error::new(
                ErrorKind::Auth,
                "this authorization used PKCE but the exchange has no verifier; start the authorization again",
            )
            .with_platform(self.platform)
            .with_operation("exchange_code"));
        }
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", exchange.code.expose_secret()),
            ("redirect_uri", exchange.redirect_uri.as_str()),
        ];
        if let Some(v) = &exchange.pkce_verifier {
            form.push(("code_verifier", v.secret().expose_secret()));
        }
        self.token_request(http, "oauth.exchange_code", form).await
    }

    /// Uses a refresh token.
    pub async fn refresh(
        &self,
        http: &HttpClient,
        refresh_token: &SecretString,
    ) -> Result<TokenResponse> {
        let form = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        self.token_request(http, "oauth.refresh", form).await
    }

    async fn token_request(
        &self,
        http: &HttpClient,
        operation: &'static str,
        mut form: Vec<(&str, &str)>,
    ) -> Result<TokenResponse> {
        let mut builder = http
            .request(Method::POST, self.token_url.clone())
            .header(header::ACCEPT, "application/json");
        match self.client_auth {
            ClientAuth::RequestBody => {
                form.push((self.client_id_param, &self.client_id));
                if let Some(s) = &self.client_secret {
                    form.push(("client_secret", s.expose_secret()));
                }
            }
            ClientAuth::BasicAuth => {
                let secret = self
                    .client_secret
                    .as_ref()
                    .map_or("", |s| s.expose_secret());
                builder =
                    builder.header(header::AUTHORIZATION, basic_auth(&self.client_id, secret)?);
            }
        }
        let request = builder.form(&form).build().map_err(|e| {
            Error::config("could not build the token request").with_source(e.without_url())
        })?;
        // Never retried after it may have been applied: a rotated refresh token would be lost.
        let ctx = RequestContext::non_idempotent(self.platform, operation);
        let platform = self.platform;
        let response = http
            .execute(ctx, request, &move |status, headers, body| {
                parse_oauth_error(platform, status, headers, body)
            })
            .await?;
        token_response(&ctx, &response)
    }
}

/// Reads a token endpoint's answer: the tokens, or the OAuth error it carries
/// whatever its status.
///
/// RFC 6749 section 5.2 sends errors with `400`, but some platforms answer
/// `200` with `{"error":"invalid_grant",...}`. That is the error, classified
/// by [`parse_oauth_error`] (so `invalid_grant` is
/// [`ErrorKind::ReauthRequired`]), never an answer with a missing
/// `access_token`, and never an unknown outcome.
pub fn token_response(ctx: &RequestContext, response: &HttpResponse) -> Result<TokenResponse> {
    let platform = ctx.platform;
    if let Some(err) =
        response.error_in_body(ctx, is_oauth_error_body, &move |status, headers, body| {
            parse_oauth_error(platform, status, headers, body)
        })
    {
        return Err(err);
    }
    response.json::<TokenResponse>(ctx)
}

/// An OAuth error document: an object with a string `error` and no `access_token`.
pub fn is_oauth_error_body(body: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe {
        error: Option<serde_json::Value>,
        access_token: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Probe>(body)
        .is_ok_and(|p| p.access_token.is_none() && p.error.as_ref().is_some_and(|e| e.is_string()))
}

/// The `Authorization: Basic` value of a client at a token endpoint (RFC 6749
/// section 2.3.1: id and secret form-encoded, then `id:secret` in base64),
/// marked sensitive so it is never logged. For other calls of the same
/// authorization server (a revoke) that authenticate the client the same way.
///
/// ```
/// let v = postd_core::oauth::basic_auth("client", "s3cret").unwrap();
/// assert_eq!(v.to_str().unwrap(), "Basic Y2xpZW50OnMzY3JldA==");
/// assert!(v.is_sensitive());
/// ```
pub fn basic_auth(client_id: &str, client_secret: &str) -> Result<HeaderValue> {
    let raw = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    let mut value = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
    .map_err(|_| Error::config("client credentials contain characters a header cannot carry"))?;
    value.set_sensitive(true);
    Ok(value)
}

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A token endpoint's successful answer (RFC 6749 section 5.1), tolerant of
/// platforms that send numbers as strings or use other names for expiries.
#[derive(Deserialize)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The access token.
    pub access_token: SecretString,
    /// Usually `bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds until the access token expires.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub expires_in: Option<i64>,
    /// The refresh token, when issued.
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// Seconds until the refresh token expires (LinkedIn `refresh_token_expires_in`, TikTok `refresh_expires_in`).
    #[serde(default, alias = "refresh_expires_in", deserialize_with = "de_opt_i64")]
    pub refresh_token_expires_in: Option<i64>,
    /// Granted scopes, as the platform separates them.
    #[serde(default)]
    pub scope: Option<String>,
    /// The user the token belongs to, when the platform says (TikTok `open_id`).
    #[serde(default, alias = "open_id", alias = "user_id")]
    pub subject: Option<String>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("refresh_token_expires_in", &self.refresh_token_expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// The token set this response describes, obtained at `now`.
    pub fn into_token_set(self, now: DateTime<Utc>) -> TokenSet {
        let at = |secs: Option<i64>| {
            secs.filter(|s| *s > 0)
                .and_then(chrono::Duration::try_seconds)
                .and_then(|d| now.checked_add_signed(d))
        };
        let scopes = self
            .scope
            .as_deref()
            .map(|s| {
                s.split([' ', ','])
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut t = TokenSet::new(self.access_token)
            .with_obtained_at(now)
            .with_scopes::<Vec<String>, String>(scopes);
        t.expires_at = at(self.expires_in);
        // An empty refresh token is no refresh token (merge_refreshed then keeps the old one).
        t.refresh_token = self.refresh_token.filter(|r| !r.expose_secret().is_empty());
        t.refresh_expires_at = at(self.refresh_token_expires_in);
        t.subject = self.subject;
        t
    }
}

fn de_opt_i64<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrString {
        Num(i64),
        Float(f64),
        Str(String),
    }
    Ok(match Option::<NumOrString>::deserialize(d)? {
        None => None,
        Some(NumOrString::Num(n)) => Some(n),
        #[allow(clippy::cast_possible_truncation)]
        Some(NumOrString::Float(f)) if f.is_finite() => Some(f as i64),
        Some(NumOrString::Float(_)) => None,
        Some(NumOrString::Str(s)) => s.trim().parse().ok(),
    })
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Classifies a token endpoint's error answer (RFC 6749 section 5.2).
///
/// `invalid_grant` (dead, revoked or reused code or refresh token) is
/// [`ErrorKind::ReauthRequired`]; `invalid_client` and `unauthorized_client`
/// are [`ErrorKind::Config`]; `invalid_scope` is [`ErrorKind::PermissionDenied`];
/// `temporarily_unavailable` and `server_error` are temporary. A body that is
/// not an OAuth error keeps the status and a short redacted snippet.
pub fn parse_oauth_error(
    platform: Platform,
    status: StatusCode,
    _headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let Ok(parsed) = serde_json::from_slice::<OAuthErrorBody>(body) else {
        let (kind, retry) = classify_status(status);
        let snippet = body_snippet(body, &[], 200);
        return Error::new(kind, format!("token endpoint answered {status}: {snippet}"))
            .with_retry(retry)
            .with_platform(platform)
            .with_status(status.as_u16());
    };
    let kind = match parsed.error.as_str() {
        "invalid_grant" => ErrorKind::ReauthRequired,
        "invalid_client"
        | "unauthorized_client"
        | "unsupported_grant_type"
        | "invalid_redirect_uri" => ErrorKind::Config,
        "invalid_scope" | "access_denied" => ErrorKind::PermissionDenied,
        "temporarily_unavailable" | "server_error" => ErrorKind::Unavailable,
        "slow_down" | "rate_limit_exceeded" => ErrorKind::RateLimited,
        "scope_not_authorized" => ErrorKind::PermissionDenied,
        _ => ErrorKind::Auth,
    };
    let description = parsed
        .error_description
        .map(|d| format!(": {}", d.chars().take(300).collect::<String>()))
        .unwrap_or_default();
    let code: String = parsed.error.chars().take(64).collect();
    Error::new(kind, format!("{code}{description}"))
        .with_platform(platform)
        .with_status(status.as_u16())
        .with_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let v = PkceVerifier::from_secret(SecretString::from(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        ))
        .unwrap();
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifiers_are_fresh_and_well_formed() {
        let a = PkceVerifier::generate();
        let b = PkceVerifier::generate();
        assert_eq!(a.secret().expose_secret().len(), 43);
        assert_ne!(a.secret().expose_secret(), b.secret().expose_secret());
        assert!(PkceVerifier::from_secret(SecretString::from(a.secret().expose_secret())).is_ok());
        for bad in ["short", &"a".repeat(129), &format!("{}!", "a".repeat(43))] {
            assert!(PkceVerifier::from_secret(SecretString::from(bad)).is_err());
        }
        assert_eq!(format!("{a:?}"), "PkceVerifier([REDACTED])");
    }

    #[test]
    fn state_has_256_bits_and_compares_exactly() {
        let s = State::generate();
        let raw = B64URL.decode(s.as_str()).unwrap();
        assert_eq!(raw.len(), 32);
        assert!(!s.matches(State::generate().as_str()));
        assert!(s.matches(s.as_str()));
        assert!(!s.matches(""));
        assert!(!s.matches(&s.as_str()[1..]));
        let mut flipped = s.as_str().to_owned();
        flipped.replace_range(0..1, if flipped.starts_with('A') { "B" } else { "A" });
        assert!(!s.matches(&flipped));
        assert!(!State::from_stored("").matches(""));
    }

    #[test]
    fn authorization_url_carries_everything() {
        let client = OAuthClient::new(
            Platform::Twitter,
            Url::parse("https://x.example/i/oauth2/authorize").unwrap(),
            Url::parse("https://api.x.example/2/oauth2/token").unwrap(),
            "cid",
        )
        .with_client_id_param("client_key")
        .with_scope_separator(",");
        let req = AuthorizationRequest::new(Url::parse("https://app.example/cb?x=1").unwrap())
            .with_param("prompt", "consent");
        let auth = client.authorization(&req, &["a", "b"]).unwrap();
        let q: std::collections::HashMap<_, _> = auth.url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_key"], "cid");
        assert_eq!(q["redirect_uri"], "https://app.example/cb?x=1");
        assert_eq!(q["scope"], "a,b");
        assert_eq!(q["state"], auth.state.as_str());
        assert_eq!(
            q["code_challenge"],
            auth.pkce_verifier.as_ref().unwrap().challenge()
        );
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["prompt"], "consent");
        // The verifier itself never goes in the URL.
        assert!(
            !auth.url.as_str().contains(
                auth.pkce_verifier
                    .as_ref()
                    .unwrap()
                    .secret()
                    .expose_secret()
            )
        );

        for bad in [
            "javascript:alert(1)",
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "https://u:p@app.example/cb",
        ] {
            let req = AuthorizationRequest::new(Url::parse(bad).unwrap());
            assert_eq!(
                client.authorization(&req, &[]).unwrap_err().kind(),
                ErrorKind::Config,
                "{bad}"
            );
        }
        let loopback = AuthorizationRequest::new(Url::parse("http://127.0.0.1:8080/cb").unwrap());
        assert!(client.authorization(&loopback, &[]).is_ok());
        for key in [
            "state",
            "redirect_uri",
            "code_challenge",
            "scope",
            "client_key",
        ] {
            let req = AuthorizationRequest::new(Url::parse("https://app.example/cb").unwrap())
                .with_param(key, "evil");
            assert_eq!(
                client.authorization(&req, &[]).unwrap_err().kind(),
                ErrorKind::Config,
                "{key}"
            );
        }
    }

    #[test]
    fn oauth_errors_map_to_kinds() {
        let cases = [
            (
                400,
                r#"{"error":"invalid_grant","error_description":"Refresh token revoked"}"#,
                ErrorKind::ReauthRequired,
                false,
            ),
            (
                401,
                r#"{"error":"invalid_client"}"#,
                ErrorKind::Config,
                false,
            ),
            (
                400,
                r#"{"error":"invalid_scope"}"#,
                ErrorKind::PermissionDenied,
                false,
            ),
            (
                503,
                r#"{"error":"temporarily_unavailable"}"#,
                ErrorKind::Unavailable,
                true,
            ),
            (
                400,
                r#"{"error":"invalid_request"}"#,
                ErrorKind::Auth,
                false,
            ),
            (
                429,
                r#"{"error":"rate_limit_exceeded"}"#,
                ErrorKind::RateLimited,
                true,
            ),
            (
                400,
                r#"{"error":"scope_not_authorized"}"#,
                ErrorKind::PermissionDenied,
                false,
            ),
            (
                502,
                "<html>bad gateway</html>",
                ErrorKind::Unavailable,
                true,
            ),
        ];
        for (status, body, kind, temporary) in cases {
            let e = parse_oauth_error(
                Platform::LinkedIn,
                StatusCode::from_u16(status).unwrap(),
                &HeaderMap::new(),
                body.as_bytes(),
            );
            assert_eq!(e.kind(), kind, "{body}");
            assert_eq!(e.is_temporary(), temporary, "{body}");
            assert_eq!(e.http_status(), Some(status));
        }
    }

    #[test]
    fn token_responses_tolerate_platform_quirks() {
        let now = Utc::now();
        let r: TokenResponse = serde_json::from_str(
            r#"{"access_token":"at","expires_in":"3600","refresh_token":"rt","refresh_expires_in":31536000,
                "scope":"user.info.basic,video.publish","open_id":"u1","extra":true}"#,
        )
        .unwrap();
        assert!(!format!("{r:?}").contains("\"at\""));
        let t = r.into_token_set(now);
        assert_eq!(t.expires_at, Some(now + chrono::Duration::seconds(3600)));
        assert_eq!(
            t.refresh_expires_at,
            Some(now + chrono::Duration::days(365))
        );
        assert_eq!(t.scopes, vec!["user.info.basic", "video.publish"]);
        assert_eq!(t.subject.as_deref(), Some("u1"));

        let r: TokenResponse =
            serde_json::from_str(r#"{"access_token":"at","expires_in":null,"refresh_token":""}"#)
                .unwrap();
        let t = r.into_token_set(now);
        assert_eq!(t.expires_at, None);
        assert!(t.refresh_token.is_none(), "an empty refresh token is none");
        let huge: TokenResponse =
            serde_json::from_str(r#"{"access_token":"at","expires_in":9223372036854775807}"#)
                .unwrap();
        assert_eq!(huge.into_token_set(now).expires_at, None);
    }
}
