//! Shared setup: a LinkedIn fake with one member who administers one
//! organization, and a connector pointed at it.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use postd_core::config::Vars;
use postd_core::{ClientRef, Credentials, Post, Target, TargetKind, TokenSet};
use postd_linkedin::{LinkedInConfig, LinkedInConnector};
use postd_testkit::linkedin::{LinkedInFake, LinkedInFakeConfig};

pub const SUB: &str = "782bbtaQ";
pub const PERSON: &str = "urn:li:person:782bbtaQ";
pub const ORG_ID: &str = "5515715";
pub const ORG: &str = "urn:li:organization:5515715";
pub const SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "w_member_social",
    "r_member_social",
    "w_organization_social",
    "r_organization_social",
    "rw_organization_admin",
    "r_member_postAnalytics",
];

pub struct Env {
    pub fake: LinkedInFake,
    pub li: LinkedInConnector,
    pub creds: Credentials,
    pub token: String,
    pub person: Target,
    pub org: Target,
}

// Not every test binary uses each of them.
#[allow(unused_imports)]
pub use postd_testkit::client::{REQUEST_TIMEOUT, http, retry_policy};

pub fn connector(fake: &LinkedInFake, extra: &[(&str, &str)]) -> LinkedInConnector {
    let mut vars = Vars::from_pairs([
        ("LINKEDIN_CLIENT_ID", fake.client_id()),
        ("LINKEDIN_CLIENT_SECRET", fake.client_secret()),
        ("LINKEDIN_ORGANIZATIONS", "true"),
    ]);
    for (k, v) in extra {
        vars.set(*k, *v);
    }
    LinkedInConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(fake.url())
        .with_polling(
            Duration::from_secs(2),
            Duration::from_millis(10),
            Duration::from_millis(40),
        )
        .build(http())
}

pub async fn env() -> Env {
    env_with(LinkedInFakeConfig::default(), &[]).await
}

pub async fn env_with(config: LinkedInFakeConfig, extra: &[(&str, &str)]) -> Env {
    let fake = LinkedInFake::start_with(config).await;
    let token = fake.seed_member(SUB, "Ada Lovelace", SCOPES);
    fake.seed_organization(ORG_ID, "Analytical Engines", SUB, "ADMINISTRATOR");
    let li = connector(&fake, extra);
    let creds =
        Credentials::OAuth(TokenSet::new(token.as_str()).with_scopes(SCOPES.iter().copied()));
    Env {
        fake,
        li,
        creds,
        token,
        person: Target::new(TargetKind::LinkedInPerson, PERSON),
        org: Target::new(TargetKind::LinkedInOrganization, ORG),
    }
}

pub fn post(r: &str) -> Post {
    Post::new(ClientRef::new(r).unwrap())
}

/// Every /rest call carried the version headers, and no token travelled in a URL.
pub fn assert_clean_requests(fake: &LinkedInFake) {
    assert_eq!(
        fake.requests_missing_version(),
        0,
        "a /rest call lacked the version headers"
    );
    assert_eq!(
        fake.tokens_in_query(),
        0,
        "a token travelled in a query string"
    );
}
