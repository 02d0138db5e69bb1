//! Insights and the health check against the stateful Graph fake.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::{Connector, DateRange, HealthStatus, Media, MediaKind, PublishOutcome};
use url::Url;

#[tokio::test]
async fn page_post_and_page_insights_use_current_metrics() {
    let e = env().await;
    let PublishOutcome::Published(p) = e
        .meta
        .publish(&e.creds, &e.page, &post("a").with_text("stats"))
        .await
        .unwrap()
    else {
        panic!()
    };
    let m = e.meta.post_metrics(&e.creds, &e.page, &p.id).await.unwrap();
    assert!(m.get("post_total_media_view_unique").is_some(), "{m:?}");
    let now = Utc::now();
    let range = DateRange::new(now - chrono::Duration::days(7), now).unwrap();
    let m = e
        .meta
        .target_metrics(&e.creds, &e.page, range)
        .await
        .unwrap();
    assert!(m.get("page_total_media_view_unique").is_some(), "{m:?}");
}

#[tokio::test]
async fn empty_series_stay_empty() {
    let e = env().await;
    e.fake.set_empty_metric("page_post_engagements");
    let now = Utc::now();
    let range = DateRange::new(now - chrono::Duration::days(7), now).unwrap();
    let m = e
        .meta
        .target_metrics(&e.creds, &e.page, range)
        .await
        .unwrap();
    let s = m.get("page_post_engagements").unwrap();
    assert!(s.points.is_empty());
    assert_eq!(s.total(), None);
}

#[tokio::test]
async fn instagram_media_and_account_insights() {
    let e = env().await;
    let img = Media::url(
        MediaKind::Image,
        Url::parse("https://cdn.example/a.jpg").unwrap(),
    );
    let PublishOutcome::Published(p) = e
        .meta
        .publish(&e.creds, &e.ig, &post("i").with_text("x").with_media(img))
        .await
        .unwrap()
    else {
        panic!()
    };
    let m = e.meta.post_metrics(&e.creds, &e.ig, &p.id).await.unwrap();
    for name in ["views", "reach", "likes", "saved"] {
        assert!(m.get(name).is_some(), "{name} missing: {m:?}");
    }
    let now = Utc::now();
    let range = DateRange::new(now - chrono::Duration::days(7), now).unwrap();
    let m = e.meta.target_metrics(&e.creds, &e.ig, range).await.unwrap();
    assert!(m.get("reach").is_some(), "{m:?}");
    assert!(m.get("views").is_some(), "{m:?}");
}

#[tokio::test]
async fn long_ranges_are_refused_before_any_call() {
    let e = env().await;
    let now = Utc::now();
    let range = DateRange::new(now - chrono::Duration::days(91), now).unwrap();
    let err = e
        .meta
        .target_metrics(&e.creds, &e.page, range)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), postd_core::ErrorKind::InvalidContent);
    assert!(e.fake.requests().is_empty());
}

#[tokio::test]
async fn healthy_connection_reports_expiry_scopes_and_usage() {
    let e = env().await;
    e.fake.set_app_usage(42, 10, 5);
    // Any call brings the usage headers.
    e.meta.targets(&e.creds).await.unwrap();
    let h = e.meta.health_check(&e.creds).await.unwrap();
    assert!(h.token_valid);
    assert_eq!(h.status, HealthStatus::Healthy, "{:?}", h.notes);
    assert!(h.expires_at.is_some());
    assert!(h.reauth_deadline.is_some());
    assert!(h.missing_scopes.is_empty(), "{:?}", h.missing_scopes);
    assert!(
        h.quotas
            .iter()
            .any(|q| q.name == "app_usage" && q.used_percent == 42.0),
        "{:?}",
        h.quotas
    );
}

#[tokio::test]
async fn declined_scope_and_dead_token_are_reported() {
    let e = env().await;
    e.fake.decline_scope(USER, "instagram_content_publish");
    let h = e.meta.health_check(&e.creds).await.unwrap();
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert!(
        h.missing_scopes
            .contains(&"instagram_content_publish".to_owned())
    );

    let e = env().await;
    e.fake.revoke_token(&e.user_token);
    let h = e.meta.health_check(&e.creds).await.unwrap();
    assert!(!h.token_valid);
    assert_eq!(h.status, HealthStatus::Unhealthy);
}
