//! OAuth 2.0 behaviours (RFC 6749, <https://www.rfc-editor.org/rfc/rfc6749>;
//! PKCE, RFC 7636, <https://www.rfc-editor.org/rfc/rfc7636>): `state`, the
//! authorization URL, the code exchange, refresh and a dead refresh grant.

use std::collections::HashMap;

use postd_core::oauth::{AuthorizationRequest, CodeExchange};
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{AuthKind, Credentials, ErrorKind, RefreshModel, Target};
use url::Url;

use super::{GrantEnd, Outcome, Subject, ensure, sample_post, unique};

const REDIRECT: &str = "https://app.example/callback/conformance";

fn redirect() -> Url {
    Url::parse(REDIRECT).unwrap_or_else(|e| panic!("{REDIRECT}: {e}"))
}

/// `Some(Skipped)` when the target does not authorize with OAuth 2.0.
fn not_oauth(s: &Subject<'_>, target: &Target) -> Option<Outcome> {
    match s.caps(target).auth {
        AuthKind::OAuth2 { .. } => None,
        other => Some(Outcome::Skipped(format!(
            "the target authorizes with {other:?}, not OAuth 2.0"
        ))),
    }
}

fn query(url: &Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// A callback whose `state` is not the session's is refused with
/// [`ErrorKind::Auth`] before the platform is called.
pub async fn oauth_state_mismatch_makes_no_call(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "oauth: a state mismatch is an Auth error and makes no call";
    let seeded = s.seed();
    if let Some(skip) = not_oauth(s, &seeded.target) {
        return skip;
    }
    let forged = |state: &str| -> Vec<String> {
        vec![
            "forged-state".to_owned(),
            String::new(),
            format!("{state}x"),
            state[..state.len() / 2].to_owned(),
        ]
    };
    let probe = s.expect_ok(
        RULE,
        "authorize_url",
        s.connector
            .authorize_url(&AuthorizationRequest::new(redirect())),
    );
    for received in forged(probe.state.as_str()) {
        let auth = s.expect_ok(
            RULE,
            "authorize_url",
            s.connector
                .authorize_url(&AuthorizationRequest::new(redirect())),
        );
        let code = s.fake.authorization_code(&seeded, REDIRECT);
        let before = s.received_count().await;
        let exchange = CodeExchange::new(
            code,
            received.clone(),
            auth.state,
            auth.pkce_verifier,
            auth.redirect_uri,
        );
        s.expect_kind(
            RULE,
            &format!("exchange_code with state {received:?}"),
            s.connector.exchange_code(exchange).await,
            ErrorKind::Auth,
        );
        let seen = s.received_since(before).await;
        ensure!(
            s,
            RULE,
            seen.is_empty(),
            "state {received:?}: the platform was called: {seen:?}"
        );
    }
    Outcome::Passed
}

/// The authorization URL carries the session's `state`, at least 128 bits
/// of it, fresh for every authorization, and the redirect URI asked for.
pub async fn oauth_authorization_url_carries_state(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "oauth: the authorization URL carries a fresh state of at least 128 bits";
    let seeded = s.seed();
    if let Some(skip) = not_oauth(s, &seeded.target) {
        return skip;
    }
    let mut states = Vec::new();
    for _ in 0..2 {
        let auth = s.expect_ok(
            RULE,
            "authorize_url",
            s.connector
                .authorize_url(&AuthorizationRequest::new(redirect())),
        );
        let q = query(&auth.url);
        let state = auth.state.as_str().to_owned();
        ensure!(
            s,
            RULE,
            q.get("state") == Some(&state),
            "the URL's state {:?} is not the session's",
            q.get("state")
        );
        // Each character of an unreserved (base64url) alphabet carries at most 6 bits.
        let unreserved = state
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        ensure!(
            s,
            RULE,
            unreserved && state.len() * 6 >= 128,
            "state has {} characters{}: fewer than 128 bits",
            state.len(),
            if unreserved { "" } else { " outside base64url" }
        );
        ensure!(
            s,
            RULE,
            q.get("redirect_uri").map(String::as_str) == Some(REDIRECT)
                && auth.redirect_uri.as_str() == REDIRECT,
            "the redirect URI is not the one asked for: {:?}",
            q.get("redirect_uri")
        );
        ensure!(
            s,
            RULE,
            q.get("response_type").map(String::as_str) == Some("code"),
            "response_type is {:?}, not code",
            q.get("response_type")
        );
        states.push(state);
    }
    ensure!(
        s,
        RULE,
        states[0] != states[1],
        "two authorizations got the same state"
    );
    Outcome::Passed
}

/// Where the target claims PKCE, the authorization URL carries the S256
/// `code_challenge` of the verifier it hands back; where it does not, it
/// sends none (and the behaviour is skipped).
pub async fn oauth_authorization_url_carries_pkce(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "oauth: with PKCE the authorization URL carries an S256 code_challenge";
    let seeded = s.seed();
    if let Some(skip) = not_oauth(s, &seeded.target) {
        return skip;
    }
    let auth = s.expect_ok(
        RULE,
        "authorize_url",
        s.connector
            .authorize_url(&AuthorizationRequest::new(redirect())),
    );
    let q = query(&auth.url);
    if s.caps(&seeded.target).auth == (AuthKind::OAuth2 { pkce: false }) {
        ensure!(
            s,
            RULE,
            !q.contains_key("code_challenge") && auth.pkce_verifier.is_none(),
            "the target claims no PKCE but the authorization uses it"
        );
        return Outcome::Skipped(
            "the target claims no PKCE (AuthKind::OAuth2 { pkce: false })".into(),
        );
    }
    let Some(verifier) = &auth.pkce_verifier else {
        s.fail(RULE, "the authorization hands back no PKCE verifier")
    };
    ensure!(
        s,
        RULE,
        q.get("code_challenge_method").map(String::as_str) == Some("S256"),
        "code_challenge_method is {:?}",
        q.get("code_challenge_method")
    );
    ensure!(
        s,
        RULE,
        q.get("code_challenge") == Some(&verifier.challenge()),
        "code_challenge is not BASE64URL(SHA256(verifier))"
    );
    Outcome::Passed
}

/// A code issued for the account, exchanged with the matching `state`,
/// gives credentials that publish.
pub async fn oauth_code_exchange_yields_credentials_that_publish(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "oauth: a code exchange returns credentials that publish";
    let seeded = s.seed();
    if let Some(skip) = not_oauth(s, &seeded.target) {
        return skip;
    }
    let auth = s.expect_ok(
        RULE,
        "authorize_url",
        s.connector
            .authorize_url(&AuthorizationRequest::new(redirect())),
    );
    let code = s.fake.authorization_code(&seeded, REDIRECT);
    let state = auth.state.as_str().to_owned();
    let credentials = s.expect_ok(
        RULE,
        "exchange_code",
        s.connector
            .exchange_code(CodeExchange::new(
                code,
                state,
                auth.state,
                auth.pkce_verifier,
                auth.redirect_uri,
            ))
            .await,
    );
    let post = sample_post(s, &seeded.target, "exchanged");
    let published = s
        .publish_settled(RULE, &credentials, &seeded.target, &post)
        .await;
    let ids = s.fake.post_ids(&seeded.target);
    ensure!(
        s,
        RULE,
        ids == [published.id.clone()],
        "publishing with the exchanged credentials answered {published:?}; the platform holds {ids:?}"
    );
    Outcome::Passed
}

/// A refresh gives a new access token (and keeps or rotates the refresh
/// token as the capabilities say), and the new credentials publish.
pub async fn oauth_refresh_works(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "oauth: refresh returns new credentials that publish";
    let seeded = s.seed();
    if let Some(skip) = not_oauth(s, &seeded.target) {
        return skip;
    }
    let model = s.caps(&seeded.target).refresh;
    if model == RefreshModel::NonExpiring {
        return Outcome::Skipped("credentials do not expire (RefreshModel::NonExpiring)".into());
    }
    let fresh = s.expect_ok(
        RULE,
        "refresh",
        s.connector.refresh(&seeded.credentials).await,
    );
    let (Credentials::OAuth(old), Credentials::OAuth(new)) = (&seeded.credentials, &fresh) else {
        s.fail(RULE, "refresh did not return OAuth credentials")
    };
    ensure!(
        s,
        RULE,
        old.access_token.expose_secret() != new.access_token.expose_secret(),
        "refresh kept the old access token"
    );
    let refresh_token = |t: &postd_core::TokenSet| {
        t.refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned())
    };
    match model {
        RefreshModel::RefreshToken { rotates: false } => ensure!(
            s,
            RULE,
            refresh_token(new).is_some() && refresh_token(new) == refresh_token(old),
            "a non-rotating refresh token was not kept"
        ),
        RefreshModel::RefreshToken { rotates: true } => ensure!(
            s,
            RULE,
            refresh_token(new).is_some() && refresh_token(new) != refresh_token(old),
            "a rotating refresh token was not replaced"
        ),
        _ => {}
    }
    let post = sample_post(s, &seeded.target, "refreshed");
    let published = s.publish_settled(RULE, &fresh, &seeded.target, &post).await;
    let ids = s.fake.post_ids(&seeded.target);
    ensure!(
        s,
        RULE,
        ids == [published.id.clone()],
        "publishing with the refreshed credentials answered {published:?}; the platform holds {ids:?}"
    );
    Outcome::Passed
}

/// A refresh whose grant expired, was revoked or was never issued is
/// [`ErrorKind::ReauthRequired`]: only the user can fix it.
pub async fn oauth_dead_refresh_grant_needs_reauthorization(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "oauth: a dead refresh grant is ReauthRequired";
    let probe = s.seed();
    if let Some(skip) = not_oauth(s, &probe.target) {
        return skip;
    }
    let model = s.caps(&probe.target).refresh;
    if model == RefreshModel::NonExpiring {
        return Outcome::Skipped("credentials do not expire (RefreshModel::NonExpiring)".into());
    }
    for how in [GrantEnd::Expired, GrantEnd::Revoked] {
        let seeded = s.seed();
        s.fake.end_refresh_grant(&seeded, how);
        s.expect_kind(
            RULE,
            &format!("refresh with a grant that {how:?}"),
            s.connector.refresh(&seeded.credentials).await,
            ErrorKind::ReauthRequired,
        );
    }
    // A grant the platform never issued.
    let Credentials::OAuth(mut tokens) = probe.credentials.clone() else {
        s.fail(RULE, "the fake seeded credentials that are not OAuth")
    };
    let unknown = SecretString::from(unique("postd-conformance-unknown-grant"));
    match model {
        RefreshModel::RefreshToken { .. } => tokens.refresh_token = Some(unknown),
        _ => tokens.access_token = unknown,
    }
    s.expect_kind(
        RULE,
        "refresh with a grant the platform never issued",
        s.connector.refresh(&Credentials::OAuth(tokens)).await,
        ErrorKind::ReauthRequired,
    );
    Outcome::Passed
}
