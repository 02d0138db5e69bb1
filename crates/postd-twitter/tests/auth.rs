//! OAuth 2.0 with PKCE against the X fake: the authorization URL, the code
//! exchange (HTTP Basic for a confidential client, `client_id` for a public
//! one), rotating single-use refresh tokens, revocation, targets and health.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashMap;

use chrono::Utc;
use common::*;
use postd_core::oauth::AuthorizationRequest;
use postd_core::{Connector, Credentials, ErrorKind, HealthStatus, Platform, TokenSet};
use postd_testkit::x::XFakeConfig;

#[tokio::test]
async fn the_authorization_url_asks_for_offline_access_with_s256() {
    let e = env().await;
    let auth =
        e.x.authorize_url(&AuthorizationRequest::new(
            url::Url::parse(REDIRECT).unwrap(),
        ))
        .unwrap();
    assert_eq!(auth.url.host_str(), Some("x.com"));
    assert_eq!(auth.url.path(), "/i/oauth2/authorize");
    let q: HashMap<String, String> = auth.url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], e.fake.config().client_id);
    assert_eq!(
        q["scope"],
        "tweet.read tweet.write users.read media.write offline.access"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"], auth.state.as_str());
    assert!(!q.contains_key("client_secret"));
}

#[tokio::test]
async fn the_exchange_names_the_user_and_trusts_expires_in() {
    for confidential in [true, false] {
        let before = Utc::now();
        let e = env_with(
            XFakeConfig {
                confidential,
                access_ttl: 3_600,
                ..XFakeConfig::default()
            },
            &[],
        )
        .await;
        let t = e.creds.token_set(Platform::Twitter).unwrap();
        assert_eq!(t.subject.as_deref(), Some(USER));
        assert!(
            t.refresh_token.is_some(),
            "offline.access gives a refresh token"
        );
        let exp = t.expires_at.unwrap();
        assert!(
            exp >= before + chrono::Duration::seconds(3_590)
                && exp <= Utc::now() + chrono::Duration::seconds(3_600)
        );
        assert!(t.scopes.iter().any(|s| s == "media.write"));
        let targets = e.x.targets(&e.creds).await.unwrap();
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].id, USER);
        assert_eq!(targets[0].name.as_deref(), Some("@bakery"));
    }
}

#[tokio::test]
async fn a_public_client_without_its_secret_is_told_apart_from_a_confidential_one() {
    // The app is confidential but the connector has no secret: X refuses the client.
    let fake = postd_testkit::x::XFake::start().await;
    let cfg = fake.config();
    let x = postd_twitter::XConfig::new(cfg.client_id.as_str())
        .unwrap()
        .with_base_url(fake.url())
        .build(http());
    let err = connect(&x, &fake, USER, SCOPES).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[tokio::test]
async fn a_refresh_rotates_the_token_and_the_spent_one_is_a_reauth() {
    let e = env().await;
    let old = refresh_token(&e.creds);
    let fresh = e.x.refresh(&e.creds).await.unwrap();
    let new = refresh_token(&fresh);
    assert_ne!(new, old);
    assert!(e.fake.token_is_live(&access(&fresh)));
    assert!(
        !e.fake.token_is_live(&old),
        "the spent refresh token is dead"
    );
    assert_eq!(
        fresh
            .token_set(Platform::Twitter)
            .unwrap()
            .subject
            .as_deref(),
        Some(USER),
        "the subject is kept"
    );
    // Presenting the spent one: X answers invalid_request, and the family dies.
    let err = e.x.refresh(&e.creds).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
    assert!(!err.is_temporary());
    assert!(
        !e.fake.token_is_live(&new),
        "reuse revoked the whole family"
    );
    assert!(!err.to_string().contains(&old), "no token in the error");
}

#[tokio::test]
async fn invalid_grant_is_a_reauth_too_and_no_refresh_token_says_so() {
    let e = env_with(
        XFakeConfig {
            bad_refresh_error: "invalid_grant".to_owned(),
            ..XFakeConfig::default()
        },
        &[],
    )
    .await;
    e.fake.expire_token(&refresh_token(&e.creds));
    let err = e.x.refresh(&e.creds).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    let bare = Credentials::OAuth(TokenSet::new("a"));
    let err = e.x.refresh(&bare).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    assert!(err.to_string().contains("offline.access"), "{err}");
}

#[tokio::test]
async fn a_refresh_answer_that_never_arrives_is_not_a_reauth() {
    let e = env().await;
    e.fake.server().faults().inject(
        "POST",
        "/2/oauth2/token",
        postd_testkit::Fault::Reset,
        1,
        postd_testkit::Timing::AfterCommit,
    );
    let err = e.x.refresh(&e.creds).await.unwrap_err();
    assert_ne!(err.kind(), ErrorKind::ReauthRequired, "{err}");
}

#[tokio::test]
async fn revoke_ends_both_tokens() {
    for confidential in [true, false] {
        let e = env_with(
            XFakeConfig {
                confidential,
                ..XFakeConfig::default()
            },
            &[],
        )
        .await;
        e.x.revoke(&e.creds).await.unwrap();
        // Revoking what is already dead is a success too.
        e.x.revoke(&e.creds).await.unwrap();
        assert!(!e.fake.token_is_live(&access(&e.creds)));
        assert!(!e.fake.token_is_live(&refresh_token(&e.creds)));
        let err = e.x.targets(&e.creds).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Auth);
    }
}

#[tokio::test]
async fn health_reports_the_token_and_missing_scopes() {
    let e = env().await;
    let h = e.x.health_check(&e.creds).await.unwrap();
    assert_eq!(h.status, HealthStatus::Healthy, "{h:?}");
    assert!(h.token_valid);
    assert!(h.missing_scopes.is_empty());
    // A user who granted no media.write and no offline.access.
    let narrow = connect(
        &e.x,
        &e.fake,
        "99",
        &["tweet.read", "tweet.write", "users.read"],
    )
    .await
    .unwrap();
    let h = e.x.health_check(&narrow).await.unwrap();
    assert_eq!(h.status, HealthStatus::Degraded);
    assert_eq!(h.missing_scopes, ["media.write", "offline.access"]);
    e.fake.expire_token(&access(&narrow));
    let h = e.x.health_check(&narrow).await.unwrap();
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert!(!h.token_valid);
    // Depleted credits are unhealthy, with what to do.
    e.fake.set_credits_depleted(true);
    let h = e.x.health_check(&e.creds).await.unwrap();
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert!(h.notes.iter().any(|n| n.contains("add credits")), "{h:?}");
}
