//! Metrics against the TikTok fake: a public video's counters from
//! `video/query`, the account's from `user/info`, and the scopes each needs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::{Connector, Credentials, DateRange, ErrorKind, MetricKind, TokenSet};
use postd_testkit::tiktok::TtMetrics;

fn range() -> DateRange {
    let now = Utc::now();
    DateRange::new(now - chrono::Duration::days(7), now).unwrap()
}

fn creds_with(token: &str, scopes: &[&str]) -> Credentials {
    Credentials::OAuth(
        TokenSet::new(token)
            .with_scopes(scopes.iter().copied())
            .with_subject(OPEN_ID),
    )
}

#[tokio::test]
async fn a_public_video_reports_its_counters() {
    let e = env().await;
    let id = e.fake.seed_video(OPEN_ID, "bread at dawn");
    assert!(e.fake.set_metrics(
        &id,
        TtMetrics {
            views: 1234,
            likes: 56,
            comments: 7,
            shares: 8,
        },
    ));
    let m = e.tt.post_metrics(&e.creds, &e.target, &id).await.unwrap();
    for (name, kind, value) in [
        ("view_count", MetricKind::VideoViews, 1234.0),
        ("like_count", MetricKind::Reactions, 56.0),
        ("comment_count", MetricKind::Comments, 7.0),
        ("share_count", MetricKind::Shares, 8.0),
    ] {
        let s = m.get(name).unwrap_or_else(|| panic!("{name}: {m:?}"));
        assert_eq!(s.kind, kind, "{name}");
        assert_eq!(s.total(), Some(value), "{name}");
        assert_eq!(s.period.as_deref(), Some("lifetime"));
    }
}

#[tokio::test]
async fn a_post_without_a_public_id_has_no_metrics() {
    let e = env().await;
    let before = e.fake.requests().len();
    // A publish id (private posts keep it as their id) is not a video id.
    let err =
        e.tt.post_metrics(&e.creds, &e.target, "v_pub_file~v2-1.7")
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(e.fake.requests().len(), before, "no call for it");
    let err =
        e.tt.post_metrics(&e.creds, &e.target, "7300000000000000001")
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn account_counters_need_the_stats_scope() {
    let e = env().await;
    // The default scopes have no user.info.stats: refused before any call, saying how to get it.
    let before = e.fake.requests().len();
    let err =
        e.tt.target_metrics(&e.creds, &e.target, range())
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.message().contains("user.info.stats"), "{err}");
    assert_eq!(e.fake.requests().len(), before);

    let mut scopes = SCOPES.to_vec();
    scopes.push("user.info.stats");
    let token = e.fake.seed_user(OPEN_ID, &scopes);
    e.fake.seed_video(OPEN_ID, "one");
    e.fake.seed_video(OPEN_ID, "two");
    let m =
        e.tt.target_metrics(&creds_with(&token, &scopes), &e.target, range())
            .await
            .unwrap();
    assert_eq!(m.get("follower_count").unwrap().kind, MetricKind::Followers);
    assert_eq!(m.get("video_count").unwrap().total(), Some(2.0));
}

#[tokio::test]
async fn video_counters_need_the_video_list_scope() {
    let e = env().await;
    let scopes = ["user.info.basic", "video.publish"];
    let token = e.fake.seed_user(OPEN_ID, &scopes);
    let id = e.fake.seed_video(OPEN_ID, "no list scope");
    let err =
        e.tt.post_metrics(&creds_with(&token, &scopes), &e.target, &id)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.message().contains("video.list"), "{err}");
}
