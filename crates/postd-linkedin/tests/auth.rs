//! OAuth, refresh, targets and the refresh plan against the stateful LinkedIn fake.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::oauth::{AuthorizationRequest, CodeExchange, State};
use postd_core::secrecy::ExposeSecret;
use postd_core::{Connector, Credentials, ErrorKind, TargetKind, TokenSet};
use url::Url;

const REDIRECT: &str = "https://app.example/callback/linkedin";

#[tokio::test]
async fn authorization_url_asks_for_member_and_organization_scopes() {
    let e = env().await;
    let auth =
        e.li.authorize_url(&AuthorizationRequest::new(Url::parse(REDIRECT).unwrap()))
            .unwrap();
    assert_eq!(auth.url.path(), "/oauth/v2/authorization");
    let q: std::collections::HashMap<_, _> = auth.url.query_pairs().into_owned().collect();
    let scopes: Vec<&str> = q["scope"].split(' ').collect();
    for s in [
        "openid",
        "profile",
        "w_member_social",
        "w_organization_social",
        "rw_organization_admin",
    ] {
        assert!(scopes.contains(&s), "{s} missing: {scopes:?}");
    }
    assert_eq!(q["state"], auth.state.as_str());
    assert_eq!(q["client_id"], e.fake.client_id());
}

#[tokio::test]
async fn code_exchange_gives_tokens_and_the_person_urn() {
    let e = env().await;
    let code = e.fake.issue_code(SUB, REDIRECT, SCOPES);
    let state = State::generate();
    let received = state.as_str().to_owned();
    let creds =
        e.li.exchange_code(CodeExchange::new(
            code,
            received,
            state,
            None,
            Url::parse(REDIRECT).unwrap(),
        ))
        .await
        .unwrap();
    let Credentials::OAuth(t) = &creds else {
        panic!()
    };
    assert_eq!(t.subject.as_deref(), Some(PERSON));
    let life = t.expires_at.unwrap() - Utc::now();
    assert!(life > chrono::Duration::days(59), "{life}");
    let refresh_life = t.refresh_expires_at.unwrap() - Utc::now();
    assert!(refresh_life > chrono::Duration::days(364), "{refresh_life}");
    assert!(t.scopes.iter().any(|s| s == "w_member_social"));
    e.li.publish(&creds, &e.person, &post("x").with_text("hello"))
        .await
        .unwrap();
}

#[tokio::test]
async fn refresh_keeps_the_refresh_token_and_its_deadline() {
    let e = env().await;
    let refresh_token = e.fake.seed_refresh_token(SUB);
    let now = Utc::now();
    let deadline = now + chrono::Duration::days(365);
    let creds = Credentials::OAuth(
        TokenSet::new(e.token.as_str())
            .with_refresh_token(refresh_token.as_str())
            .with_refresh_expires_at(deadline)
            .with_subject(PERSON),
    );
    e.fake.advance_time(100 * 86_400);
    let Credentials::OAuth(t) = e.li.refresh(&creds).await.unwrap() else {
        panic!()
    };
    assert_ne!(t.access_token.expose_secret(), e.token);
    assert_eq!(
        t.refresh_token.as_ref().unwrap().expose_secret(),
        refresh_token
    );
    // A refresh does not extend the 365 days: about 265 are left.
    let left = t.refresh_expires_at.unwrap() - Utc::now();
    assert!(
        left < chrono::Duration::days(266) && left > chrono::Duration::days(264),
        "{left}"
    );
    assert_eq!(t.subject.as_deref(), Some(PERSON));
}

#[tokio::test]
async fn refresh_without_a_refresh_token_means_reauthorization() {
    let e = env().await;
    // Apps without refresh tokens must ask the member again.
    let err =
        e.li.refresh(&Credentials::OAuth(TokenSet::new("t")))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
}

#[tokio::test]
async fn targets_are_the_member_and_administered_organizations() {
    let e = env().await;
    e.fake
        .seed_organization("777", "Other Org", "someone-else", "ADMINISTRATOR");
    let targets = e.li.targets(&e.creds).await.unwrap();
    assert_eq!(targets.len(), 2, "{targets:?}");
    assert_eq!(targets[0].kind, TargetKind::LinkedInPerson);
    assert_eq!(targets[0].id, PERSON);
    assert_eq!(targets[1].kind, TargetKind::LinkedInOrganization);
    assert_eq!(targets[1].id, ORG);
    assert_eq!(targets[1].name.as_deref(), Some("Analytical Engines"));
    assert_clean_requests(&e.fake);
}

#[tokio::test]
async fn refresh_plan_warns_before_the_refresh_token_dies() {
    let e = env().await;
    let now = Utc::now();
    let deadline = now + chrono::Duration::days(300);
    let creds = Credentials::OAuth(
        TokenSet::new("a")
            .with_refresh_token("r")
            .with_obtained_at(now)
            .with_expires_at(now + chrono::Duration::days(60))
            .with_refresh_expires_at(deadline),
    );
    let plan = e.li.refresh_plan(&creds, now).unwrap();
    assert_eq!(plan.refresh_at, Some(now + chrono::Duration::days(59)));
    assert_eq!(plan.reauth_deadline, Some(deadline));
    assert_eq!(plan.warnings[0].at, deadline - chrono::Duration::days(7));
    assert_eq!(plan.warnings[1].at, deadline - chrono::Duration::days(1));
    // Without a refresh token the access token's own expiry is the deadline.
    let plain = Credentials::OAuth(
        TokenSet::new("a")
            .with_obtained_at(now)
            .with_expires_at(now + chrono::Duration::days(60)),
    );
    let plan = e.li.refresh_plan(&plain, now).unwrap();
    assert_eq!(plan.refresh_at, None);
    assert_eq!(plan.reauth_deadline, Some(now + chrono::Duration::days(60)));
}

#[tokio::test]
async fn a_spent_or_expired_code_means_authorize_again() {
    let e = env().await;
    let code = e.fake.issue_code(SUB, REDIRECT, SCOPES);
    let exchange = |code: &str, redirect: &str| {
        let state = State::generate();
        let received = state.as_str().to_owned();
        CodeExchange::new(
            code.to_owned(),
            received,
            state,
            None,
            Url::parse(redirect).unwrap(),
        )
    };
    e.li.exchange_code(exchange(&code, REDIRECT)).await.unwrap();
    // A reused code: "The provided authorization grant ... is invalid, expired or revoked".
    let err =
        e.li.exchange_code(exchange(&code, REDIRECT))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
    assert!(!err.to_string().contains(&code), "the code leaked: {err}");
    // An expired code: LinkedIn's 400 invalid_redirect_uri, which also covers a
    // redirect URI that differs. Either way: authorize again, and the message says both.
    let old = e.fake.issue_code(SUB, REDIRECT, SCOPES);
    e.fake.advance_time(31 * 60);
    let err =
        e.li.exchange_code(exchange(&old, REDIRECT))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
    assert_eq!(err.platform_code(), Some("invalid_redirect_uri"));
    let text = err.to_string();
    assert!(
        text.contains("expired") && text.contains("already used"),
        "{text}"
    );
    assert!(text.contains("redirect URI"), "{text}");
}
