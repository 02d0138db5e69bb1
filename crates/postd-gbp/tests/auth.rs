//! Google's OAuth 2.0 for web server apps and the locations a user manages,
//! against the fake.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use common::*;
use postd_core::oauth::AuthorizationRequest;
use postd_core::{Connector, Credentials, ErrorKind, TargetKind};
use postd_testkit::gbp::{GbpFake, GbpFakeConfig, SCOPE};

#[tokio::test]
async fn the_consent_url_asks_for_offline_access_consent_and_pkce() {
    let fake = GbpFake::start().await;
    let gbp = connector(&fake);
    let redirect = url::Url::parse(REDIRECT).unwrap();
    let a = gbp
        .authorize_url(&AuthorizationRequest::new(redirect.clone()))
        .unwrap();
    let b = gbp
        .authorize_url(&AuthorizationRequest::new(redirect))
        .unwrap();
    let q: HashMap<String, String> = a.url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], fake.client_id());
    assert_eq!(q["redirect_uri"], REDIRECT);
    assert_eq!(q["scope"], SCOPE);
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(!q.contains_key("include_granted_scopes"));
    assert!(q["state"].len() >= 22, "state carries at least 128 bits");
    assert_ne!(a.state.as_str(), b.state.as_str());
    assert_eq!(a.url.path(), "/o/oauth2/v2/auth");
}

#[tokio::test]
async fn the_exchange_keeps_both_tokens_and_refuses_a_grant_without_business_manage() {
    let fake = GbpFake::start().await;
    let gbp = connector(&fake);
    let creds = connect(&gbp, &fake, USER, &[SCOPE]).await.unwrap();
    let Credentials::OAuth(t) = &creds else {
        panic!("OAuth credentials expected")
    };
    assert!(t.refresh_token.is_some());
    let life = t.expires_at.unwrap() - t.obtained_at;
    assert!((3_500..=3_600).contains(&life.num_seconds()), "{life}");
    assert!(t.scopes.iter().any(|s| s == SCOPE));
    assert_eq!(
        t.refresh_expires_at, None,
        "production refresh tokens do not expire"
    );
    assert!(fake.token_is_live(&access(&creds)));

    let unticked = connect(
        &gbp,
        &fake,
        "104857600000000000002",
        &["https://www.googleapis.com/auth/userinfo.email"],
    )
    .await
    .unwrap_err();
    assert_eq!(unticked.kind(), ErrorKind::ReauthRequired, "{unticked}");
    assert!(unticked.to_string().contains("business.manage"));
}

#[tokio::test]
async fn a_testing_mode_app_records_the_seven_day_deadline() {
    let fake = GbpFake::start_with(GbpFakeConfig::testing_mode()).await;
    let gbp = postd_gbp::GbpConfig::new(fake.client_id(), fake.client_secret().into())
        .unwrap()
        .with_base_url(fake.url())
        .with_testing_mode(true)
        .build(http());
    let creds = connect(&gbp, &fake, USER, &[SCOPE]).await.unwrap();
    let Credentials::OAuth(t) = &creds else {
        panic!()
    };
    let deadline = t.refresh_expires_at.expect("a Testing app's deadline");
    assert_eq!((deadline - t.obtained_at).num_days(), 7);
    let plan = gbp.refresh_plan(&creds, chrono::Utc::now()).unwrap();
    assert_eq!(plan.reauth_deadline, Some(deadline));
    assert!(
        plan.due_warning(chrono::Utc::now()).is_some(),
        "warned at connect"
    );
    // After the deadline the fake's refresh token is dead, as Google's is.
    fake.advance_time(7 * 86_400 + 60);
    let e = gbp.refresh(&creds).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ReauthRequired, "{e}");
}

#[tokio::test]
async fn a_refresh_keeps_the_old_refresh_token_and_a_dead_one_ends_the_grant() {
    let e = env().await;
    let before = refresh_token(&e.creds).unwrap();
    let fresh = e.gbp.refresh(&e.creds).await.unwrap();
    assert_eq!(refresh_token(&fresh).as_deref(), Some(before.as_str()));
    assert_ne!(access(&fresh), access(&e.creds));
    assert!(e.fake.token_is_live(&access(&fresh)));
    // Refreshed twice more: Google does not rotate, the same token keeps working.
    let again = e.gbp.refresh(&fresh).await.unwrap();
    assert_eq!(refresh_token(&again).as_deref(), Some(before.as_str()));

    e.fake.revoke_token(&before);
    let dead = e.gbp.refresh(&again).await.unwrap_err();
    assert_eq!(dead.kind(), ErrorKind::ReauthRequired, "{dead}");
    assert!(!dead.is_temporary());
}

#[tokio::test]
async fn a_wrong_client_secret_is_a_config_error_that_never_shows_the_secret() {
    let fake = GbpFake::start().await;
    let gbp = postd_gbp::GbpConfig::new(fake.client_id(), "GOCSPX-wrong-secret-canary".into())
        .unwrap()
        .with_base_url(fake.url())
        .build(http());
    let (access_token, refresh) = fake.seed_user_with_refresh(USER, &[SCOPE]);
    let creds = Credentials::OAuth(
        postd_core::TokenSet::new(access_token.as_str()).with_refresh_token(refresh.as_str()),
    );
    let e = gbp.refresh(&creds).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(!format!("{e} {e:?}").contains("wrong-secret-canary"));
}

#[tokio::test]
async fn revoke_sends_the_token_in_the_body_and_ends_the_grant() {
    let e = env().await;
    let refresh = refresh_token(&e.creds).unwrap();
    e.gbp.revoke(&e.creds).await.unwrap();
    assert!(!e.fake.token_is_live(&access(&e.creds)));
    assert!(!e.fake.token_is_live(&refresh));
    let requests = e.fake.requests();
    let revoke = requests.iter().find(|r| r.contains("/revoke")).unwrap();
    assert_eq!(revoke, "POST /revoke", "no token in the URL");
    // Revoking again: already dead is revoked.
    e.gbp.revoke(&e.creds).await.unwrap();
}

#[tokio::test]
async fn targets_are_every_location_of_every_account_once_and_flagged() {
    let fake = GbpFake::start().await;
    // 25 accounts (two pages of 20), one with 130 locations (two pages of 100).
    for a in 0..25 {
        fake.seed_account(USER, &format!("{}", 5_000 + a), &format!("Account {a}"));
    }
    for l in 0..130 {
        fake.seed_location(
            "5000",
            &format!("{}", 70_000 + l),
            &format!("Shop {l}"),
            true,
        );
    }
    // A location under two accounts, and one that cannot post.
    fake.seed_location("5001", "70000", "Shop 0", true);
    fake.seed_location("5024", "80000", "Unverified", false);
    let gbp = connector(&fake);
    let creds = connect(&gbp, &fake, USER, &[SCOPE]).await.unwrap();
    let targets = gbp.targets(&creds).await.unwrap();
    assert_eq!(targets.len(), 131, "{:?}", &targets[..3]);
    assert!(targets.iter().all(|t| t.kind == TargetKind::GbpLocation));
    let first = targets
        .iter()
        .find(|t| t.id == "accounts/5000/locations/70000")
        .unwrap();
    assert_eq!(first.name.as_deref(), Some("Shop 0"));
    assert_eq!(first.parent_id.as_deref(), Some("accounts/5000"));
    assert_eq!(first.can_publish, Some(true));
    assert_eq!(
        targets
            .iter()
            .filter(|t| t.id.ends_with("/locations/70000"))
            .count(),
        1,
        "a location under two accounts is listed once"
    );
    let unverified = targets.iter().find(|t| t.id.ends_with("/80000")).unwrap();
    assert_eq!(unverified.can_publish, Some(false));
    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .filter(|r| r.contains("/locations?"))
            .all(|r| r.contains("readMask=")),
        "readMask is always sent"
    );
    // A post to the unverified location is refused before any call.
    let before = fake.requests().len();
    let err = gbp
        .validate(unverified, &post("unverified", "Hello"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(fake.requests().len(), before);
}

#[tokio::test]
async fn credentials_stored_before_testing_mode_keep_their_first_deadline_through_refreshes() {
    let fake = GbpFake::start().await;
    let gbp = postd_gbp::GbpConfig::new(fake.client_id(), fake.client_secret().into())
        .unwrap()
        .with_base_url(fake.url())
        .with_testing_mode(true)
        .build(http());
    let (access_token, refresh) = fake.seed_user_with_refresh(USER, &[SCOPE]);
    let obtained = chrono::Utc::now() - chrono::Duration::days(3);
    let creds = Credentials::OAuth(
        postd_core::TokenSet::new(access_token.as_str())
            .with_refresh_token(refresh.as_str())
            .with_obtained_at(obtained),
    );
    let first = gbp.refresh(&creds).await.unwrap();
    let again = gbp.refresh(&first).await.unwrap();
    for c in [&first, &again] {
        let Credentials::OAuth(t) = c else { panic!() };
        assert_eq!(
            t.refresh_expires_at,
            Some(obtained + postd_gbp::TESTING_REFRESH_LIFETIME),
            "the deadline does not move with each refresh"
        );
    }
}
