//! Shared setup: an X fake, a connector pointed at it, and a user connected
//! through the real authorization flow (authorize URL, S256 challenge, code exchange).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::oauth::{AuthorizationRequest, CodeExchange};
use postd_core::{ClientRef, Connector, Credentials, Post, Target, TargetKind};
use postd_testkit::x::{XFake, XFakeConfig};
use postd_twitter::{TwitterConnector, XConfig};

pub const USER: &str = "2244994945";
pub const REDIRECT: &str = "https://app.example/callback/x";
pub const SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "media.write",
    "offline.access",
];

// Not every test binary uses each of them.
#[allow(unused_imports)]
pub use postd_testkit::client::{REQUEST_TIMEOUT, http, retry_policy};

/// A connector for `fake`'s app: confidential when the fake is.
pub fn connector(fake: &XFake, extra: &[(&str, &str)]) -> TwitterConnector {
    let cfg = fake.config();
    let mut vars = Vars::from_pairs([
        ("X_CLIENT_ID", cfg.client_id.as_str()),
        ("X_CONSUMER_SECRET", cfg.consumer_secret.as_str()),
    ]);
    if cfg.confidential {
        vars.set("X_CLIENT_SECRET", cfg.client_secret.as_str());
    }
    for (k, v) in extra {
        vars.set(*k, *v);
    }
    XConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(fake.url())
        .with_processing_timing(Duration::from_secs(10), Duration::from_millis(5))
        .build(http())
}

/// Connects `user` with `scopes` through the connector's own authorization flow.
pub async fn connect(
    x: &TwitterConnector,
    fake: &XFake,
    user: &str,
    scopes: &[&str],
) -> postd_core::Result<Credentials> {
    let auth = x
        .authorize_url(&AuthorizationRequest::new(
            url::Url::parse(REDIRECT).unwrap(),
        ))
        .unwrap();
    let query: HashMap<String, String> = auth.url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    let code = fake.issue_code(user, REDIRECT, scopes, &query["code_challenge"]);
    let state = auth.state.as_str().to_owned();
    x.exchange_code(CodeExchange::new(
        code.as_str(),
        state,
        auth.state,
        auth.pkce_verifier,
        auth.redirect_uri,
    ))
    .await
}

pub struct Env {
    pub fake: XFake,
    pub x: TwitterConnector,
    pub creds: Credentials,
    pub target: Target,
}

pub async fn env() -> Env {
    env_with(XFakeConfig::default(), &[]).await
}

pub async fn env_with(config: XFakeConfig, extra: &[(&str, &str)]) -> Env {
    let fake = XFake::start_with(config).await;
    fake.set_profile(USER, "Bakery", "bakery");
    let x = connector(&fake, extra);
    let creds = connect(&x, &fake, USER, SCOPES).await.unwrap();
    Env {
        fake,
        x,
        creds,
        target: Target::new(TargetKind::TwitterAccount, USER),
    }
}

pub fn post(r: &str) -> Post {
    Post::new(ClientRef::new(r).unwrap())
}

pub fn access(c: &Credentials) -> String {
    use postd_core::secrecy::ExposeSecret;
    c.token_set(postd_core::Platform::Twitter)
        .unwrap()
        .access_token
        .expose_secret()
        .to_owned()
}

pub fn refresh_token(c: &Credentials) -> String {
    use postd_core::secrecy::ExposeSecret;
    c.token_set(postd_core::Platform::Twitter)
        .unwrap()
        .refresh_token
        .as_ref()
        .unwrap()
        .expose_secret()
        .to_owned()
}

/// A file of `len` pseudo-random bytes in a fresh directory; removed on drop.
pub struct TempFile {
    pub dir: std::path::PathBuf,
    pub path: std::path::PathBuf,
    pub data: Vec<u8>,
}

impl TempFile {
    pub fn new(tag: &str, name: &str, len: usize) -> TempFile {
        let dir = std::env::temp_dir().join(format!("postd-x-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let mut v: u32 = 0x9e37_79b9 ^ len as u32;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                v ^= v << 13;
                v ^= v >> 17;
                v ^= v << 5;
                v as u8
            })
            .collect();
        std::fs::write(&path, &data).unwrap();
        TempFile { dir, path, data }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
