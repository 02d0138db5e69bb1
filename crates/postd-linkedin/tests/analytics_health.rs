//! Analytics and health against the stateful LinkedIn fake.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::{Connector, DateRange, ErrorKind, HealthStatus, PublishOutcome};

#[tokio::test]
async fn organization_post_statistics_and_social_metadata() {
    let e = env().await;
    let PublishOutcome::Published(p) =
        e.li.publish(&e.creds, &e.org, &post("s").with_text("stats"))
            .await
            .unwrap()
    else {
        panic!()
    };
    e.fake.set_share_statistics(&p.id, 1200, 40, 33, 5, 2);
    e.fake.set_reaction(&p.id, "LIKE", 30);
    e.fake.set_reaction(&p.id, "PRAISE", 3);
    let m = e.li.post_metrics(&e.creds, &e.org, &p.id).await.unwrap();
    assert_eq!(m.get("impressionCount").unwrap().total(), Some(1200.0));
    assert_eq!(m.get("clickCount").unwrap().total(), Some(40.0));
    assert_eq!(m.get("reactionSummaries").unwrap().total(), Some(33.0));
    assert_clean_requests(&e.fake);
}

#[tokio::test]
async fn member_post_analytics() {
    let e = env().await;
    let PublishOutcome::Published(p) =
        e.li.publish(&e.creds, &e.person, &post("m").with_text("mine"))
            .await
            .unwrap()
    else {
        panic!()
    };
    e.fake.set_post_metric(&p.id, "IMPRESSION", 500);
    e.fake.set_post_metric(&p.id, "COMMENT", 4);
    let m = e.li.post_metrics(&e.creds, &e.person, &p.id).await.unwrap();
    assert_eq!(m.get("IMPRESSION").unwrap().total(), Some(500.0));
    assert_eq!(m.get("COMMENT").unwrap().total(), Some(4.0));
}

#[tokio::test]
async fn organization_statistics_over_a_range() {
    let e = env().await;
    let now = Utc::now();
    let m =
        e.li.target_metrics(
            &e.creds,
            &e.org,
            DateRange::new(now - chrono::Duration::days(7), now).unwrap(),
        )
        .await
        .unwrap();
    assert!(m.get("impressionCount").is_some(), "{m:?}");
}

#[tokio::test]
async fn member_statistics_per_day() {
    let e = env().await;
    let PublishOutcome::Published(p) =
        e.li.publish(&e.creds, &e.person, &post("d").with_text("daily"))
            .await
            .unwrap()
    else {
        panic!()
    };
    e.fake.set_post_metric(&p.id, "IMPRESSION", 70);
    let now = Utc::now();
    let m =
        e.li.target_metrics(
            &e.creds,
            &e.person,
            DateRange::new(now - chrono::Duration::days(3), now).unwrap(),
        )
        .await
        .unwrap();
    let s = m.get("IMPRESSION").unwrap();
    assert_eq!(s.period.as_deref(), Some("day"));
    assert!(s.points.len() >= 3, "{s:?}");
    assert_eq!(s.total(), Some(70.0));
    assert!(s.points.iter().all(|p| p.end_time.is_some()));
}

#[tokio::test]
async fn unknown_token_is_an_unhealthy_result_not_an_error() {
    let e = env().await;
    let creds = postd_core::Credentials::OAuth(postd_core::TokenSet::new("never-issued"));
    let h = e.li.health_check(&creds).await.unwrap();
    assert!(!h.token_valid);
    assert_eq!(h.status, HealthStatus::Unhealthy);
}

#[tokio::test]
async fn health_reports_token_state_and_scopes() {
    let e = env().await;
    let h = e.li.health_check(&e.creds).await.unwrap();
    assert!(h.token_valid);
    assert_eq!(h.status, HealthStatus::Healthy, "{:?}", h.notes);
    assert!(h.expires_at.is_some());

    e.fake.revoke_token(&e.token);
    let h = e.li.health_check(&e.creds).await.unwrap();
    assert!(!h.token_valid);
    assert_eq!(h.status, HealthStatus::Unhealthy);
}

#[tokio::test]
async fn missing_organization_scope_is_unhealthy() {
    let e = env().await;
    let narrow = e
        .fake
        .seed_member("other", "Bob", &["openid", "profile", "w_member_social"]);
    let creds = postd_core::Credentials::OAuth(postd_core::TokenSet::new(narrow.as_str()));
    let h = e.li.health_check(&creds).await.unwrap();
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert!(
        h.missing_scopes
            .contains(&"w_organization_social".to_owned()),
        "{:?}",
        h.missing_scopes
    );
    // Without the organization scope, posting as the organization is refused by LinkedIn.
    let err =
        e.li.publish(&creds, &e.org, &post("o").with_text("x"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}
