//! Facebook Login: dialog URL, code exchange to a long-lived token, page and
//! Instagram tokens, refresh, targets, and the refresh plan.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::oauth::{AuthorizationRequest, CodeExchange, State};
use postd_core::secrecy::ExposeSecret;
use postd_core::{Connector, Credentials, ErrorKind, TargetKind, TokenSet};
use url::Url;

const REDIRECT: &str = "https://app.example/callback/meta";

#[tokio::test]
async fn dialog_url_has_state_scopes_and_version() {
    let e = env().await;
    let auth = e
        .meta
        .authorize_url(&AuthorizationRequest::new(Url::parse(REDIRECT).unwrap()))
        .unwrap();
    assert!(
        auth.url.path().ends_with("/v26.0/dialog/oauth"),
        "{}",
        auth.url
    );
    let q: std::collections::HashMap<_, _> = auth.url.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], e.fake.app_id());
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["state"], auth.state.as_str());
    for scope in [
        "pages_manage_posts",
        "instagram_content_publish",
        "read_insights",
        "pages_manage_metadata",
    ] {
        assert!(
            q["scope"].split(',').any(|s| s == scope),
            "{scope} missing from {}",
            q["scope"]
        );
    }
    assert!(auth.pkce_verifier.is_none());
}

#[tokio::test]
async fn code_exchange_yields_long_lived_tokens_pages_and_instagram() {
    let e = env().await;
    let auth = e
        .meta
        .authorize_url(&AuthorizationRequest::new(Url::parse(REDIRECT).unwrap()))
        .unwrap();
    let code = e.fake.issue_code(USER, REDIRECT);
    let state = auth.state.as_str().to_owned();
    let creds = e
        .meta
        .exchange_code(CodeExchange::new(
            code,
            state,
            auth.state,
            None,
            auth.redirect_uri,
        ))
        .await
        .unwrap();
    let Credentials::OAuth(t) = &creds else {
        panic!("not OAuth")
    };
    let lifetime = t.expires_at.unwrap() - Utc::now();
    assert!(
        lifetime > chrono::Duration::days(55),
        "long-lived token lives ~60 days, got {lifetime}"
    );
    assert_eq!(t.subject.as_deref(), Some(USER));
    assert!(
        t.consent_expires_at.is_some(),
        "data_access_expires_at is kept"
    );
    assert!(t.scopes.iter().any(|s| s == "pages_manage_posts"));
    let page_token = e.fake.page_token(PAGE).unwrap();
    assert_eq!(t.derived[PAGE].expose_secret(), page_token);
    assert_eq!(t.derived[IG].expose_secret(), page_token);
    assert!(!format!("{creds:?}").contains(&page_token));
    // The new credentials publish.
    e.meta
        .publish(&creds, &e.page, &post("x").with_text("hello from login"))
        .await
        .unwrap();
    // The code, the client secret and the short-lived token went in form bodies.
    assert_no_secrets_in_urls(&e.fake).await;
}

#[tokio::test]
async fn used_or_bad_codes_fail_cleanly() {
    let e = env().await;
    let code = e.fake.issue_code(USER, REDIRECT);
    let exchange = |code: &str| {
        let s = State::generate();
        let received = s.as_str().to_owned();
        CodeExchange::new(
            code.to_owned(),
            received,
            s,
            None,
            Url::parse(REDIRECT).unwrap(),
        )
    };
    e.meta.exchange_code(exchange(&code)).await.unwrap();
    let err = e.meta.exchange_code(exchange(&code)).await.unwrap_err();
    // A spent code cannot be refreshed: the user must authorize again.
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    assert_eq!(err.platform_code(), Some("100/36009"));
    assert!(
        !err.to_string().contains(&code),
        "the code leaked into {err}"
    );
}

#[tokio::test]
async fn refresh_re_exchanges_and_keeps_page_tokens() {
    let e = env().await;
    let refreshed = e.meta.refresh(&e.creds).await.unwrap();
    let Credentials::OAuth(t) = &refreshed else {
        panic!()
    };
    assert_ne!(t.access_token.expose_secret(), e.user_token);
    assert!(t.expires_at.unwrap() > Utc::now() + chrono::Duration::days(55));
    assert!(t.derived.contains_key(PAGE) && t.derived.contains_key(IG));
    assert_no_secrets_in_urls(&e.fake).await;
}

#[tokio::test]
async fn a_password_change_means_reauthorization() {
    let e = env().await;
    e.fake.change_password(USER);
    let err = e.meta.targets(&e.creds).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
}

#[tokio::test]
async fn targets_list_pages_and_instagram_accounts_across_pages_of_results() {
    let e = env().await;
    for i in 0..120 {
        e.fake
            .seed_page(USER, &format!("3{i:04}"), &format!("Branch {i}"), None);
    }
    let targets = e.meta.targets(&e.creds).await.unwrap();
    let pages = targets
        .iter()
        .filter(|t| t.kind == TargetKind::FacebookPage)
        .count();
    assert_eq!(pages, 121);
    let ig = targets
        .iter()
        .find(|t| t.kind == TargetKind::InstagramAccount)
        .unwrap();
    assert_eq!(ig.id, IG);
    assert_eq!(ig.parent_id.as_deref(), Some(PAGE));
    assert_no_tokens_in_urls(&e.fake);
}

#[tokio::test]
async fn refresh_plan_re_exchanges_ahead_and_warns_before_expiry() {
    let e = env().await;
    let now = Utc::now();
    let expires = now + chrono::Duration::days(60);
    let creds = Credentials::OAuth(
        TokenSet::new("t")
            .with_obtained_at(now)
            .with_expires_at(expires),
    );
    let plan = e.meta.refresh_plan(&creds, now).unwrap();
    assert_eq!(plan.refresh_at, Some(expires - postd_meta::REFRESH_AHEAD));
    assert_eq!(plan.warnings.len(), 2);
    assert_eq!(plan.warnings[0].at, expires - chrono::Duration::days(7));
    assert_eq!(plan.warnings[1].at, expires - chrono::Duration::days(1));
    // Data access ending first wins.
    let consent = now + chrono::Duration::days(20);
    let creds = Credentials::OAuth(
        TokenSet::new("t")
            .with_obtained_at(now)
            .with_expires_at(expires)
            .with_consent_expires_at(consent),
    );
    let plan = e.meta.refresh_plan(&creds, now).unwrap();
    assert_eq!(plan.reauth_deadline, Some(consent));
}

#[tokio::test]
async fn a_token_call_answered_200_with_an_error_body_is_that_error() {
    use postd_testkit::{Fault, Timing};
    for body in [
        r#"{"error":"invalid_grant","error_description":"The token has been revoked"}"#,
        r#"{"error":{"message":"Error validating access token: The session has been invalidated","type":"OAuthException","code":190,"error_subcode":460}}"#,
    ] {
        let e = env().await;
        e.fake.server().faults().inject(
            "POST",
            "oauth/access_token",
            Fault::status_with_body(200, body),
            1,
            Timing::BeforeCommit,
        );
        let err = e.meta.refresh(&e.creds).await.unwrap_err();
        // Not "missing field access_token", and not an unknown outcome.
        assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{body}: {err}");
        assert_eq!(err.http_status(), Some(200));
    }
}
