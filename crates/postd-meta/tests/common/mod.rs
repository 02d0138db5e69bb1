//! Shared setup: a Meta fake with one user, one page and its Instagram account,
//! and a connector pointed at it with fast polling and short timeouts.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use postd_core::config::Vars;
use postd_core::{ClientRef, Credentials, Post, Target, TargetKind, TokenSet};
use postd_meta::{MetaConfig, MetaConnector};
use postd_testkit::meta::{MetaFake, MetaFakeConfig};

pub const USER: &str = "10001";
pub const PAGE: &str = "20002";
pub const IG: &str = "17841400000000003";
pub const SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "pages_manage_metadata",
    "read_insights",
    "publish_video",
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "business_management",
];

pub struct Env {
    pub fake: MetaFake,
    pub meta: MetaConnector,
    pub creds: Credentials,
    pub page: Target,
    pub ig: Target,
    pub user_token: String,
}

// Not every test binary uses each of them.
#[allow(unused_imports)]
pub use postd_testkit::client::{REQUEST_TIMEOUT, http, retry_policy};

pub fn connector(fake: &MetaFake, tweak: impl FnOnce(MetaConfig) -> MetaConfig) -> MetaConnector {
    let vars = Vars::from_pairs([
        ("META_CLIENT_ID", fake.app_id()),
        ("META_CLIENT_SECRET", fake.app_secret()),
        ("META_WEBHOOK_VERIFY_TOKEN", fake.webhook_verify_token()),
    ]);
    let cfg = MetaConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(fake.url())
        .with_polling(
            Duration::from_secs(2),
            Duration::from_millis(10),
            Duration::from_millis(40),
        );
    tweak(cfg).build(http())
}

pub async fn env() -> Env {
    env_with(MetaFakeConfig::default(), |c| c).await
}

pub async fn env_with(config: MetaFakeConfig, tweak: impl FnOnce(MetaConfig) -> MetaConfig) -> Env {
    let fake = MetaFake::start_with(config).await;
    let user_token = fake.seed_user(USER, "Ada", SCOPES);
    let page_token = fake.seed_page(USER, PAGE, "Ada's Bakery", Some(IG));
    let meta = connector(&fake, tweak);
    let creds = Credentials::OAuth(
        TokenSet::new(user_token.as_str())
            .with_scopes(SCOPES.iter().copied())
            .with_derived(PAGE, page_token.as_str())
            .with_derived(IG, page_token.as_str()),
    );
    Env {
        fake,
        meta,
        creds,
        page: Target::new(TargetKind::FacebookPage, PAGE),
        ig: Target::new(TargetKind::InstagramAccount, IG).with_parent(PAGE),
        user_token,
    }
}

pub fn post(r: &str) -> Post {
    Post::new(ClientRef::new(r).unwrap())
}

/// No request the fake received carried a secret in its URL: not the client
/// secret, an authorization code, a token to exchange or an access token.
/// `debug_token`'s `input_token` is the one documented exception.
pub async fn assert_no_secrets_in_urls(fake: &MetaFake) {
    const SECRET_PARAMS: &[&str] = &[
        "client_secret",
        "code",
        "fb_exchange_token",
        "access_token",
        "refresh_token",
    ];
    let requests = fake
        .server()
        .server()
        .received_requests()
        .await
        .unwrap_or_default();
    assert!(!requests.is_empty(), "the fake saw no requests");
    for r in requests {
        for (k, _) in r.url.query_pairs() {
            assert!(
                !SECRET_PARAMS.contains(&k.as_ref()),
                "{} {} carried {k} in its URL",
                r.method,
                r.url.path()
            );
        }
        if r.url.path().ends_with("/oauth/access_token") {
            assert_eq!(r.method.as_str(), "POST", "token calls send a form body");
        }
    }
    assert_no_tokens_in_urls(fake);
}

/// No request carried a token in its URL.
pub fn assert_no_tokens_in_urls(fake: &MetaFake) {
    assert_eq!(
        fake.tokens_in_query(),
        0,
        "a token travelled in a query string: {:?}",
        fake.token_uses()
    );
}
