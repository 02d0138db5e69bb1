//! Login Kit against the TikTok fake: the authorization URL, the code
//! exchange with PKCE, lifetimes read from the answer, rotating refresh
//! tokens, revocation, targets and health.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::oauth::{AuthorizationRequest, CodeExchange};
use postd_core::secrecy::ExposeSecret;
use postd_core::{Connector, Credentials, ErrorKind, HealthStatus};
use postd_testkit::tiktok::TikTokFakeConfig;

const REDIRECT: &str = "https://app.example/callback/tiktok";

async fn connect(e: &Env) -> Credentials {
    let auth =
        e.tt.authorize_url(&AuthorizationRequest::new(
            url::Url::parse(REDIRECT).unwrap(),
        ))
        .unwrap();
    let query: std::collections::HashMap<String, String> =
        auth.url.query_pairs().into_owned().collect();
    assert_eq!(query["client_key"], e.fake.client_key());
    assert_eq!(
        query["scope"],
        "user.info.basic,video.publish,video.upload,video.list"
    );
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["response_type"], "code");
    assert!(!query.contains_key("client_id"));
    let code = e
        .fake
        .issue_code(OPEN_ID, REDIRECT, SCOPES, Some(&query["code_challenge"]));
    let state = auth.state.as_str().to_owned();
    e.tt.exchange_code(CodeExchange::new(
        code.as_str(),
        state,
        auth.state,
        auth.pkce_verifier,
        auth.redirect_uri,
    ))
    .await
    .unwrap()
}

#[tokio::test]
async fn the_code_exchange_uses_pkce_and_reads_the_lifetimes_it_is_given() {
    for (access, refresh) in [(7_200, 15_552_000), (86_400, 31_536_000)] {
        let e = env_with(
            TikTokFakeConfig {
                access_ttl: access,
                refresh_ttl: refresh,
                ..TikTokFakeConfig::default()
            },
            &[],
        )
        .await;
        let before = Utc::now();
        let creds = connect(&e).await;
        let tokens = creds.token_set(postd_core::Platform::TikTok).unwrap();
        assert_eq!(tokens.subject.as_deref(), Some(OPEN_ID));
        let expires = (tokens.expires_at.unwrap() - before).num_seconds();
        assert!(
            (access - 5..=access + 1).contains(&expires),
            "{expires} vs {access}"
        );
        let refresh_in = (tokens.refresh_expires_at.unwrap() - before).num_seconds();
        assert!((refresh - 5..=refresh + 1).contains(&refresh_in));
        // The refresh plan follows the token: 15 minutes ahead, warnings before the refresh token dies.
        let plan = e.tt.refresh_plan(&creds, Utc::now()).unwrap();
        let ahead = (tokens.expires_at.unwrap() - plan.refresh_at.unwrap()).num_minutes();
        assert_eq!(ahead, 15);
        assert_eq!(plan.reauth_deadline, tokens.refresh_expires_at);
        assert_eq!(plan.warnings.len(), 2, "{plan:?}");
        // The credentials publish.
        let outcome =
            e.tt.publish(
                &creds,
                &e.target,
                &photo_post("after-connect", 1, postd_core::TikTokPrivacy::SelfOnly),
            )
            .await;
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

#[tokio::test]
async fn a_code_without_its_verifier_is_refused() {
    let e = env().await;
    let auth =
        e.tt.authorize_url(&AuthorizationRequest::new(
            url::Url::parse(REDIRECT).unwrap(),
        ))
        .unwrap();
    let challenge: String = auth
        .url
        .query_pairs()
        .find(|(k, _)| k == "code_challenge")
        .unwrap()
        .1
        .into_owned();
    let code = e
        .fake
        .issue_code(OPEN_ID, REDIRECT, SCOPES, Some(&challenge));
    let other = postd_core::oauth::PkceVerifier::generate();
    let state = auth.state.as_str().to_owned();
    let err =
        e.tt.exchange_code(CodeExchange::new(
            code.as_str(),
            state,
            auth.state,
            Some(other),
            auth.redirect_uri,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
}

#[tokio::test]
async fn a_refresh_keeps_the_rotated_token_and_the_old_one_is_dead() {
    let e = env().await;
    let old = e
        .creds
        .token_set(postd_core::Platform::TikTok)
        .unwrap()
        .refresh_token
        .clone()
        .unwrap();
    let fresh = e.tt.refresh(&e.creds).await.unwrap();
    let tokens = fresh.token_set(postd_core::Platform::TikTok).unwrap();
    let new = tokens.refresh_token.clone().unwrap();
    assert_ne!(
        new.expose_secret(),
        old.expose_secret(),
        "TikTok rotated it"
    );
    assert!(e.fake.token_is_live(new.expose_secret()));
    assert!(!e.fake.token_is_live(old.expose_secret()));
    assert_eq!(tokens.subject.as_deref(), Some(OPEN_ID));
    // Refreshing with the old set again: the grant is spent.
    let err = e.tt.refresh(&e.creds).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
    // The new set refreshes.
    assert!(e.tt.refresh(&fresh).await.is_ok());
}

#[tokio::test]
async fn revoke_kills_the_grant_and_health_says_so() {
    let e = env().await;
    let health = e.tt.health_check(&e.creds).await.unwrap();
    assert!(health.token_valid);
    assert_eq!(health.status, HealthStatus::Healthy, "{health:?}");
    e.tt.revoke(&e.creds).await.unwrap();
    assert!(!e.fake.token_is_live(&e.token));
    let health = e.tt.health_check(&e.creds).await.unwrap();
    assert!(!health.token_valid);
    assert_eq!(health.status, HealthStatus::Unhealthy);
}

#[tokio::test]
async fn targets_are_the_creator_and_health_names_missing_scopes_and_the_audit() {
    let e = env_with(
        TikTokFakeConfig::default(),
        &[("TIKTOK_DIRECT_POST_AUDITED", "false")],
    )
    .await;
    let targets = e.tt.targets(&e.creds).await.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].id, OPEN_ID);
    let token = e
        .fake
        .seed_user(OPEN_ID, &["user.info.basic", "video.publish"]);
    let creds = Credentials::OAuth(
        postd_core::TokenSet::new(token.as_str()).with_scopes(["user.info.basic", "video.publish"]),
    );
    let health = e.tt.health_check(&creds).await.unwrap();
    assert_eq!(health.missing_scopes, ["video.upload"]);
    assert_eq!(health.status, HealthStatus::Degraded);
    assert!(
        health.notes.iter().any(|n| n.contains("Direct Post audit")),
        "{:?}",
        health.notes
    );
}

/// TikTok's OAuth errors can come with a 200: a revoke it refused is an
/// error, so the caller does not believe the grant is gone.
#[tokio::test]
async fn a_refused_revoke_is_an_error_even_with_a_200() {
    let e = env().await;
    let body =
        r#"{"error":"invalid_request","error_description":"The token is invalid.","log_id":"x"}"#;
    e.fake.server().faults().inject(
        "POST",
        "/v2/oauth/revoke/",
        postd_testkit::Fault::status_with_body(200, body),
        1,
        postd_testkit::Timing::BeforeCommit,
    );
    let err = e.tt.revoke(&e.creds).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert_eq!(err.platform_code(), Some("invalid_request"));
    assert!(e.fake.token_is_live(&e.token), "the grant still stands");
}
