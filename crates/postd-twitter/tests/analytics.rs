//! Post metrics against the X fake: public and non-public metrics of the
//! author's own Posts, public ones only where X withholds the rest, missing
//! Posts, and no account metrics over a date range.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::{Connector, DateRange, ErrorKind, MetricKind, PublishOutcome};
use postd_testkit::x::XPostMetrics;

fn metrics() -> XPostMetrics {
    XPostMetrics {
        retweet_count: 3,
        reply_count: 4,
        like_count: 5,
        quote_count: 6,
        bookmark_count: 7,
        impression_count: 1000,
        url_link_clicks: 12,
        user_profile_clicks: 13,
    }
}

fn value(m: &postd_core::Metrics, name: &str) -> Option<f64> {
    m.get(name).and_then(postd_core::MetricSeries::total)
}

#[tokio::test]
async fn the_authors_post_has_public_and_private_metrics() {
    let e = env().await;
    let PublishOutcome::Published(p) =
        e.x.publish(&e.creds, &e.target, &post("m1").with_text("counted"))
            .await
            .unwrap()
    else {
        panic!("not published")
    };
    e.fake.set_metrics(&p.id, metrics());
    let m = e.x.post_metrics(&e.creds, &e.target, &p.id).await.unwrap();
    assert_eq!(value(&m, "impression_count"), Some(1000.0));
    assert_eq!(value(&m, "like_count"), Some(5.0));
    assert_eq!(value(&m, "reply_count"), Some(4.0));
    assert_eq!(value(&m, "retweet_count"), Some(3.0));
    assert_eq!(value(&m, "quote_count"), Some(6.0));
    assert_eq!(value(&m, "bookmark_count"), Some(7.0));
    assert_eq!(value(&m, "url_link_clicks"), Some(12.0));
    assert_eq!(value(&m, "user_profile_clicks"), Some(13.0));
    assert_eq!(
        m.get("impression_count").unwrap().kind,
        MetricKind::Impressions
    );
}

#[tokio::test]
async fn someone_elses_post_answers_its_public_metrics() {
    let e = env().await;
    let other = e.fake.seed_post("783214", "not mine");
    e.fake.set_metrics(&other, metrics());
    let m = e.x.post_metrics(&e.creds, &e.target, &other).await.unwrap();
    assert_eq!(value(&m, "like_count"), Some(5.0));
    assert_eq!(value(&m, "impression_count"), Some(1000.0));
    assert_eq!(
        value(&m, "url_link_clicks"),
        None,
        "X withholds private metrics"
    );
}

#[tokio::test]
async fn a_missing_post_is_not_found_and_a_range_is_unsupported() {
    let e = env().await;
    let err =
        e.x.post_metrics(&e.creds, &e.target, "1999999999999999999")
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err =
        e.x.post_metrics(&e.creds, &e.target, "12/../me")
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    let range = DateRange::new(Utc::now() - chrono::Duration::days(7), Utc::now()).unwrap();
    let err =
        e.x.target_metrics(&e.creds, &e.target, range)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
