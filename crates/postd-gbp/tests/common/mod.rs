//! Shared setup: a Google Business Profile fake, a connector pointed at it,
//! and a user connected through the real authorization flow (authorize URL,
//! S256 challenge, code exchange).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use postd_core::oauth::{AuthorizationRequest, CodeExchange};
use postd_core::{ClientRef, Connector, Credentials, Post, Target, TargetKind};
use postd_gbp::{GbpConfig, GbpConnector};
use postd_testkit::gbp::{GbpFake, GbpFakeConfig, SCOPE};

pub const USER: &str = "104857600000000000001";
pub const ACCOUNT: &str = "1234567890";
pub const LOCATION: &str = "9876543210";
pub const REDIRECT: &str = "https://app.example/oauth/gbp/callback";

// Not every test binary uses each of them.
#[allow(unused_imports)]
pub use postd_testkit::client::{REQUEST_TIMEOUT, http, retry_policy};

/// A connector for `fake`'s app, expecting its push subscription's identity.
pub fn connector(fake: &GbpFake) -> GbpConnector {
    GbpConfig::new(fake.client_id(), fake.client_secret().into())
        .unwrap()
        .with_base_url(fake.url())
        .with_push_identity(
            fake.config().push_audience.as_str(),
            fake.config().push_service_account.as_str(),
        )
        .build(http())
}

/// Connects `user` with `scopes` through the connector's own authorization flow.
pub async fn connect(
    gbp: &GbpConnector,
    fake: &GbpFake,
    user: &str,
    scopes: &[&str],
) -> postd_core::Result<Credentials> {
    let auth = gbp
        .authorize_url(&AuthorizationRequest::new(
            url::Url::parse(REDIRECT).unwrap(),
        ))
        .unwrap();
    let query: HashMap<String, String> = auth.url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    let code = fake.issue_code(user, REDIRECT, scopes, Some(&query["code_challenge"]));
    let state = auth.state.as_str().to_owned();
    gbp.exchange_code(CodeExchange::new(
        code.as_str(),
        state,
        auth.state,
        auth.pkce_verifier,
        auth.redirect_uri,
    ))
    .await
}

pub struct Env {
    pub fake: GbpFake,
    pub gbp: GbpConnector,
    pub creds: Credentials,
    pub target: Target,
}

/// A fake with one user managing one account with one location that can
/// post, connected; reviews end after one `GET` answered `PROCESSING`.
pub async fn env() -> Env {
    env_with(GbpFakeConfig {
        processing_gets: Some(1),
        ..GbpFakeConfig::default()
    })
    .await
}

pub async fn env_with(config: GbpFakeConfig) -> Env {
    let fake = GbpFake::start_with(config).await;
    fake.seed_account(USER, ACCOUNT, "Acme");
    fake.seed_location(ACCOUNT, LOCATION, "Acme Cafe", true);
    let gbp = connector(&fake);
    let creds = connect(&gbp, &fake, USER, &[SCOPE]).await.unwrap();
    let target = Target::new(
        TargetKind::GbpLocation,
        format!("accounts/{ACCOUNT}/locations/{LOCATION}"),
    );
    Env {
        fake,
        gbp,
        creds,
        target,
    }
}

pub fn post(reference: &str, text: &str) -> Post {
    Post::new(ClientRef::new(reference).unwrap()).with_text(text)
}

pub fn access(creds: &Credentials) -> String {
    use postd_core::secrecy::ExposeSecret;
    match creds {
        Credentials::OAuth(t) => t.access_token.expose_secret().to_owned(),
        _ => panic!("OAuth credentials expected"),
    }
}

pub fn refresh_token(creds: &Credentials) -> Option<String> {
    use postd_core::secrecy::ExposeSecret;
    match creds {
        Credentials::OAuth(t) => t
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        _ => None,
    }
}
