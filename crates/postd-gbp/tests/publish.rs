//! Local posts against the fake: bodies, Google's review followed to its
//! end, native scheduling, reconciliation, errors and limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, Utc};
use common::*;
use postd_core::{
    Connector, ErrorKind, GbpCallToAction, GbpEvent, GbpOffer, GbpOptions, GbpTopic, Media,
    MediaKind, Post, PublishOutcome, PublishStatus, PublishedPost, Retry,
};
use postd_testkit::gbp::{GbpFakeConfig, MY_BUSINESS, PERFORMANCE};
use postd_testkit::{Fault, Timing};
use serde_json::json;

fn url(s: &str) -> url::Url {
    url::Url::parse(s).unwrap()
}

async fn settle(e: &Env, outcome: PublishOutcome) -> Result<PublishedPost, PublishStatus> {
    let mut handle = match outcome {
        PublishOutcome::Published(p) => return Ok(p),
        PublishOutcome::Pending(h) => h,
        other => panic!("{other:?}"),
    };
    for _ in 0..10 {
        match e.gbp.publish_status(&e.creds, &handle).await.unwrap() {
            PublishStatus::Published(p) => return Ok(p),
            PublishStatus::Processing { next, .. } => handle = next,
            failed => return Err(failed),
        }
    }
    panic!("never settled")
}

#[tokio::test]
async fn a_standard_post_is_pending_while_reviewed_then_published_with_its_search_url() {
    let e = env().await;
    let p = post("spring", "Come in for our spring sale!")
        .with_link(url("https://example.com/sale"))
        .with_media(Media::url(
            MediaKind::Image,
            url("https://cdn.example.com/spring.jpg"),
        ));
    let outcome = e.gbp.publish(&e.creds, &e.target, &p).await.unwrap();
    let PublishOutcome::Pending(handle) = &outcome else {
        panic!("Google reviews a new post first: {outcome:?}")
    };
    assert_eq!(handle.kind, "gbp_local_post");
    let held = e.fake.local_posts();
    assert_eq!(held.len(), 1);
    assert_eq!(handle.id, held[0].name);
    assert_eq!(
        held[0].request,
        json!({
            "languageCode": "en-US",
            "summary": "Come in for our spring sale!",
            "topicType": "STANDARD",
            "callToAction": {"actionType": "LEARN_MORE", "url": "https://example.com/sale"},
            "media": [{"mediaFormat": "PHOTO", "sourceUrl": "https://cdn.example.com/spring.jpg"}]
        })
    );
    let published = settle(&e, outcome).await.unwrap();
    assert_eq!(published.id, held[0].name);
    let live = e.fake.local_post(&published.id).unwrap();
    assert_eq!(live.state, "LIVE");
    assert_eq!(
        published.url.as_ref().map(url::Url::as_str),
        live.resource["searchUrl"].as_str()
    );
}

#[tokio::test]
async fn event_offer_and_call_bodies_are_what_google_documents() {
    let e = env().await;
    let start = Utc::now() + Duration::days(3);
    let start = start.date_naive().and_hms_opt(9, 0, 0).unwrap().and_utc();
    let end = start + Duration::days(2) + Duration::hours(8);
    let event = post("fair", "Live music all weekend.").with_gbp(
        GbpOptions::new()
            .with_topic(GbpTopic::Event)
            .with_event(GbpEvent::new("Spring Fair", start, end))
            .with_call_to_action(
                GbpCallToAction::new("BOOK").with_url(url("https://example.com/book")),
            ),
    );
    let offer = post("offer", "20% off everything this week.").with_gbp(
        GbpOptions::new()
            .with_topic(GbpTopic::Offer)
            .with_event(GbpEvent::new("20% off everything", start, end))
            .with_offer(
                GbpOffer::new()
                    .with_coupon_code("SPRING20")
                    .with_redeem_online_url(url("https://example.com/redeem"))
                    .with_terms_conditions("Valid in store only."),
            ),
    );
    let call = post("call", "Questions? Give us a ring.")
        .with_gbp(GbpOptions::new().with_call_to_action(GbpCallToAction::new("CALL")));
    for p in [&event, &offer, &call] {
        let outcome = e.gbp.publish(&e.creds, &e.target, p).await.unwrap();
        settle(&e, outcome).await.unwrap();
    }
    let held = e.fake.local_posts();
    let d = |t: chrono::DateTime<Utc>| {
        use chrono::Datelike;
        json!({"year": t.year(), "month": t.month(), "day": t.day()})
    };
    let schedule = json!({
        "startDate": d(start), "startTime": {"hours": 9, "minutes": 0, "seconds": 0, "nanos": 0},
        "endDate": d(end), "endTime": {"hours": 17, "minutes": 0, "seconds": 0, "nanos": 0},
    });
    assert_eq!(held[0].request["topicType"], "EVENT");
    assert_eq!(
        held[0].request["event"],
        json!({"title": "Spring Fair", "schedule": schedule})
    );
    assert_eq!(
        held[0].request["callToAction"],
        json!({"actionType": "BOOK", "url": "https://example.com/book"})
    );
    assert_eq!(held[1].request["topicType"], "OFFER");
    assert_eq!(
        held[1].request["offer"],
        json!({"couponCode": "SPRING20", "redeemOnlineUrl": "https://example.com/redeem", "termsConditions": "Valid in store only."})
    );
    assert!(held[1].request.get("callToAction").is_none());
    assert_eq!(
        held[2].request["callToAction"],
        json!({"actionType": "CALL"})
    );
    assert!(held.iter().all(|p| p.state == "LIVE"), "{held:?}");
}

#[tokio::test]
async fn a_post_google_rejects_ends_as_a_rejection_never_as_published() {
    let e = env().await;
    e.fake.reject_next_post("prohibited content");
    let outcome = e
        .gbp
        .publish(&e.creds, &e.target, &post("rejected", "Best deals in town"))
        .await
        .unwrap();
    let Err(PublishStatus::Failed {
        kind,
        code,
        message,
    }) = settle(&e, outcome).await
    else {
        panic!("a rejected post must fail")
    };
    assert_eq!(kind, ErrorKind::InvalidContent);
    assert_eq!(code, "REJECTED");
    assert!(message.contains("Business Profile manager"), "{message}");
    assert_eq!(e.fake.local_posts()[0].state, "REJECTED");

    // A phone number: warned about before, and Google's review rejects it.
    let phone = post("phone", "Call us on 555-123-4567 for a table");
    assert_eq!(e.gbp.content_warnings(&phone).len(), 1);
    assert!(
        e.gbp
            .content_warnings(&post("ok", "See you soon"))
            .is_empty()
    );
    let outcome = e.gbp.publish(&e.creds, &e.target, &phone).await.unwrap();
    assert!(matches!(
        settle(&e, outcome).await,
        Err(PublishStatus::Failed {
            kind: ErrorKind::InvalidContent,
            ..
        })
    ));
}

#[tokio::test]
async fn a_scheduled_post_is_handed_to_google_and_followed_past_its_time() {
    let e = env_with(GbpFakeConfig {
        processing_gets: Some(1),
        ..GbpFakeConfig::default()
    })
    .await;
    let at =
        chrono::DateTime::from_timestamp((Utc::now() + Duration::hours(2)).timestamp(), 0).unwrap();
    let p = post("later", "Opening at noon").with_schedule_at(at);
    let outcome = e.gbp.publish(&e.creds, &e.target, &p).await.unwrap();
    let PublishOutcome::Pending(handle) = outcome else {
        panic!()
    };
    let held = e.fake.local_posts();
    assert_eq!(
        held[0].request["scheduledTime"],
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(held[0].state, "SCHEDULED");
    let PublishStatus::Processing {
        state,
        retry_after,
        next,
    } = e.gbp.publish_status(&e.creds, &handle).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(state, "SCHEDULED");
    assert!(
        retry_after >= std::time::Duration::from_secs(3600),
        "asks again after the time: {retry_after:?}"
    );
    // Google's time passes; the post goes through review and is live.
    e.fake.advance_time(2 * 3600 + 60);
    // The access token expired meanwhile (an hour): the vault refreshes it.
    let creds = e.gbp.refresh(&e.creds).await.unwrap();
    let mut handle = next;
    let published = loop {
        match e.gbp.publish_status(&creds, &handle).await.unwrap() {
            PublishStatus::Published(p) => break p,
            PublishStatus::Processing { next, .. } => handle = next,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(published.scheduled_for, Some(at));
    assert_eq!(e.fake.local_posts().len(), 1);
}

#[tokio::test]
async fn a_review_still_under_way_past_the_horizon_is_given_up() {
    let e = env_with(GbpFakeConfig {
        processing_secs: 10 * 86_400,
        ..GbpFakeConfig::default()
    })
    .await;
    let outcome = e
        .gbp
        .publish(&e.creds, &e.target, &post("slow", "Slow review"))
        .await
        .unwrap();
    let PublishOutcome::Pending(mut handle) = outcome else {
        panic!()
    };
    assert!(matches!(
        e.gbp.publish_status(&e.creds, &handle).await.unwrap(),
        PublishStatus::Processing { .. }
    ));
    handle.started_at -= Duration::hours(49);
    let PublishStatus::Failed { kind, .. } = e.gbp.publish_status(&e.creds, &handle).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(kind, ErrorKind::Timeout);
}

#[tokio::test]
async fn a_lost_create_answer_is_an_unknown_outcome_found_by_reconciliation_once() {
    let e = env().await;
    let faults = [
        Fault::status(500),
        Fault::status(503),
        Fault::Reset,
        Fault::status_with_body(200, "<html><body>Oops</body></html>"),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let before = e.fake.local_posts().len();
        e.fake
            .server()
            .faults()
            .inject("POST", "/localPosts", fault, 1, Timing::AfterCommit);
        let p = post(&format!("lost-{i}"), &format!("Lost answer {i}"));
        let started = Utc::now();
        let err = e.gbp.publish(&e.creds, &e.target, &p).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "fault {i}: {err}");
        assert_eq!(
            e.fake.local_posts().len(),
            before + 1,
            "fault {i}: sent once"
        );
        // Under review: "ask again", never "absent".
        let pending = e
            .gbp
            .find_published(&e.creds, &e.target, &p.fingerprint(started))
            .await
            .unwrap_err();
        assert_eq!(pending.kind(), ErrorKind::UnknownOutcome);
        assert!(matches!(pending.retry(), Retry::Temporary { .. }));
        e.fake.finish_reviews();
        let found = e
            .gbp
            .find_published(&e.creds, &e.target, &p.fingerprint(started))
            .await
            .unwrap()
            .expect("the post is found");
        assert_eq!(found.id, e.fake.local_posts()[before].name);
    }
    let never = post("never", "Never sent");
    assert_eq!(
        e.gbp
            .find_published(&e.creds, &e.target, &never.fingerprint(Utc::now()))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn reconciliation_cannot_prove_absence_beyond_five_hundred_posts() {
    let e = env_with(GbpFakeConfig {
        edits_per_minute_per_location: 10_000,
        quota_per_minute: 10_000,
        ..GbpFakeConfig::default()
    })
    .await;
    let started = Utc::now();
    let token = access(&e.creds);
    let client = postd_core::reqwest::Client::new();
    for i in 0..501 {
        let resp = client
            .post(format!("{}/v4/{}/localPosts", e.fake.uri(), e.target.id))
            .bearer_auth(&token)
            .json(&json!({"topicType": "STANDARD", "summary": format!("filler {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let never = post("needle", "Not among them");
    let err = e
        .gbp
        .find_published(&e.creds, &e.target, &never.fingerprint(started))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
}

#[tokio::test]
async fn validate_refuses_what_google_would_refuse_without_a_call() {
    let e = env().await;
    let start = Utc::now() + Duration::days(1);
    let event = |s, end| {
        GbpOptions::new()
            .with_topic(GbpTopic::Event)
            .with_event(GbpEvent::new("Fair", s, end))
    };
    let cases: Vec<(&str, Post, ErrorKind)> = vec![
        (
            "1501 characters",
            post("a", &"é".repeat(1501)),
            ErrorKind::InvalidContent,
        ),
        (
            "empty STANDARD summary",
            Post::new(postd_core::ClientRef::new("b").unwrap())
                .with_link(url("https://example.com")),
            ErrorKind::InvalidContent,
        ),
        (
            "CALL with a url",
            post("c", "x").with_gbp(GbpOptions::new().with_call_to_action(
                GbpCallToAction::new("CALL").with_url(url("https://example.com")),
            )),
            ErrorKind::InvalidContent,
        ),
        (
            "LEARN_MORE without a url",
            post("d", "x").with_gbp(
                GbpOptions::new().with_call_to_action(GbpCallToAction::new("LEARN_MORE")),
            ),
            ErrorKind::InvalidContent,
        ),
        (
            "GET_OFFER",
            post("e", "x").with_gbp(GbpOptions::new().with_call_to_action(
                GbpCallToAction::new("GET_OFFER").with_url(url("https://example.com")),
            )),
            ErrorKind::Unsupported,
        ),
        (
            "an unknown action",
            post("f", "x").with_gbp(GbpOptions::new().with_call_to_action(
                GbpCallToAction::new("BUY_NOW").with_url(url("https://example.com")),
            )),
            ErrorKind::InvalidContent,
        ),
        (
            "a CTA on an OFFER",
            post("g", "x").with_gbp(
                GbpOptions::new()
                    .with_topic(GbpTopic::Offer)
                    .with_event(GbpEvent::new("Sale", start, start + Duration::days(2)))
                    .with_call_to_action(
                        GbpCallToAction::new("SHOP").with_url(url("https://example.com")),
                    ),
            ),
            ErrorKind::InvalidContent,
        ),
        (
            "EVENT without an event",
            post("h", "x").with_gbp(GbpOptions::new().with_topic(GbpTopic::Event)),
            ErrorKind::InvalidContent,
        ),
        (
            "EVENT ending before it starts",
            post("i", "x").with_gbp(event(start, start - Duration::hours(1))),
            ErrorKind::InvalidContent,
        ),
        (
            "EVENT already over",
            post("j", "x").with_gbp(event(start - Duration::days(3), start - Duration::days(2))),
            ErrorKind::InvalidContent,
        ),
        (
            "OFFER without a schedule",
            post("k", "x").with_gbp(GbpOptions::new().with_topic(GbpTopic::Offer)),
            ErrorKind::InvalidContent,
        ),
        (
            "offer on a STANDARD post",
            post("l", "x")
                .with_gbp(GbpOptions::new().with_offer(GbpOffer::new().with_coupon_code("X"))),
            ErrorKind::InvalidContent,
        ),
        (
            "event on a STANDARD post",
            post("m", "x")
                .with_gbp(GbpOptions::new().with_event(GbpEvent::new("Fair", start, start))),
            ErrorKind::InvalidContent,
        ),
        (
            "two photos",
            post("n", "x")
                .with_media(Media::url(
                    MediaKind::Image,
                    url("https://cdn.example/a.jpg"),
                ))
                .with_media(Media::url(
                    MediaKind::Image,
                    url("https://cdn.example/b.jpg"),
                )),
            ErrorKind::InvalidContent,
        ),
        (
            "a video",
            post("o", "x").with_media(Media::url(
                MediaKind::Video,
                url("https://cdn.example/a.mp4"),
            )),
            ErrorKind::MediaRejected,
        ),
        (
            "a file photo",
            post("p", "x").with_media(Media::file(MediaKind::Image, "/tmp/a.jpg")),
            ErrorKind::Unsupported,
        ),
        (
            "a loopback photo URL",
            post("q", "x").with_media(Media::url(MediaKind::Image, url("https://127.0.0.1/a.jpg"))),
            ErrorKind::InvalidContent,
        ),
        (
            "ALERT without the opt-in",
            post("r", "x").with_gbp(GbpOptions::new().with_topic(GbpTopic::Alert)),
            ErrorKind::Unsupported,
        ),
        (
            "a bad language code",
            post("s", "x").with_gbp(GbpOptions::new().with_language_code("en_US")),
            ErrorKind::InvalidContent,
        ),
        (
            "a link and a different CTA url",
            post("t", "x")
                .with_link(url("https://example.com/a"))
                .with_gbp(GbpOptions::new().with_call_to_action(
                    GbpCallToAction::new("SHOP").with_url(url("https://example.com/b")),
                )),
            ErrorKind::InvalidContent,
        ),
        (
            "scheduled five minutes ahead",
            post("u", "x").with_schedule_at(Utc::now() + Duration::minutes(5)),
            ErrorKind::InvalidContent,
        ),
        (
            "scheduled in the past",
            post("v", "x").with_schedule_at(Utc::now() - Duration::hours(1)),
            ErrorKind::InvalidContent,
        ),
    ];
    let before = e.fake.requests().len();
    for (what, p, kind) in &cases {
        let err = e.gbp.validate(&e.target, p).expect_err(what);
        assert_eq!(err.kind(), *kind, "{what}: {err}");
        let err = e.gbp.publish(&e.creds, &e.target, p).await.expect_err(what);
        assert_eq!(err.kind(), *kind, "{what}: {err}");
    }
    let bad_target =
        postd_core::Target::new(postd_core::TargetKind::GbpLocation, "locations/9876543210");
    assert_eq!(
        e.gbp
            .validate(&bad_target, &post("w", "x"))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidContent
    );
    assert_eq!(e.fake.requests().len(), before, "no request was made");
    // Exactly 1500 characters, multibyte and emoji included, passes.
    let edge = format!("{}{}", "😀".repeat(500), "é".repeat(1000));
    e.gbp.validate(&e.target, &post("edge", &edge)).unwrap();
}

#[tokio::test]
async fn a_disabled_api_or_a_quota_of_zero_is_a_config_error_naming_the_fix() {
    let e = env().await;
    e.fake.disable_api(MY_BUSINESS);
    let err = e
        .gbp
        .publish(&e.creds, &e.target, &post("disabled", "Hello"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(err.platform_code(), Some(postd_gbp::SERVICE_DISABLED));
    assert!(
        err.message().contains("enable mybusiness.googleapis.com"),
        "{err}"
    );
    assert!(e.fake.local_posts().is_empty());
    e.fake.enable_api(MY_BUSINESS);

    e.fake.set_quota(MY_BUSINESS, 0);
    let err = e
        .gbp
        .publish(&e.creds, &e.target, &post("unapproved", "Hello"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(err.platform_code(), Some(postd_gbp::PROJECT_NOT_APPROVED));
}

#[tokio::test]
async fn rate_limits_wait_and_the_eleventh_write_in_a_minute_is_held_back_without_a_call() {
    let e = env().await;
    e.fake.throttle_location(&e.target.id, true);
    let err = e
        .gbp
        .publish(&e.creds, &e.target, &post("throttled", "Hello"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(61)));
    assert!(
        !matches!(err.retry(), Retry::Exhausted),
        "returned at once, not slept on"
    );
    e.fake.throttle_location(&e.target.id, false);

    // The throttled create counted against the minute: nine more go.
    for i in 0..9 {
        e.gbp
            .publish(
                &e.creds,
                &e.target,
                &post(&format!("w{i}"), &format!("Write {i}")),
            )
            .await
            .unwrap();
    }
    let before = e.fake.requests().len();
    let err = e
        .gbp
        .publish(&e.creds, &e.target, &post("w10", "One too many"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert!(err.retry_after().is_some());
    assert_eq!(e.fake.requests().len(), before, "held back without a call");
}

#[tokio::test]
async fn health_probes_every_api_a_post_needs() {
    let e = env().await;
    let h = e.gbp.health_check(&e.creds).await.unwrap();
    assert_eq!(h.status, postd_core::HealthStatus::Healthy, "{:?}", h.notes);
    assert!(h.token_valid);
    e.fake.disable_api(PERFORMANCE);
    let h = e.gbp.health_check(&e.creds).await.unwrap();
    assert_eq!(h.status, postd_core::HealthStatus::Unhealthy);
    assert!(
        h.notes
            .iter()
            .any(|n| n.contains("enable businessprofileperformance.googleapis.com")),
        "{:?}",
        h.notes
    );
    e.fake.enable_api(PERFORMANCE);
    e.fake.expire_token(&access(&e.creds));
    let h = e.gbp.health_check(&e.creds).await.unwrap();
    assert!(!h.token_valid);
    assert_eq!(h.status, postd_core::HealthStatus::Unhealthy);
}

#[tokio::test]
async fn health_finds_a_location_in_a_later_account_and_degrades_without_one() {
    let e = env().await;
    // A second user: an empty personal account first, the location group second.
    let user = "104857600000000000009";
    e.fake.seed_account(user, "2000", "Personal");
    e.fake.seed_account(user, "2001", "Group");
    e.fake.seed_location("2001", "3001", "Group shop", true);
    let creds = connect(&e.gbp, &e.fake, user, &[postd_testkit::gbp::SCOPE])
        .await
        .unwrap();
    e.fake.disable_api(MY_BUSINESS);
    let h = e.gbp.health_check(&creds).await.unwrap();
    assert_eq!(
        h.status,
        postd_core::HealthStatus::Unhealthy,
        "{:?}",
        h.notes
    );
    assert!(
        h.notes
            .iter()
            .any(|n| n.contains("mybusiness.googleapis.com")),
        "{:?}",
        h.notes
    );
    e.fake.enable_api(MY_BUSINESS);

    let lonely = "104857600000000000010";
    e.fake.seed_account(lonely, "4000", "Nothing here");
    let creds = connect(&e.gbp, &e.fake, lonely, &[postd_testkit::gbp::SCOPE])
        .await
        .unwrap();
    let h = e.gbp.health_check(&creds).await.unwrap();
    assert_eq!(
        h.status,
        postd_core::HealthStatus::Degraded,
        "{:?}",
        h.notes
    );
    assert!(
        h.notes.iter().any(|n| n.contains("no location")),
        "{:?}",
        h.notes
    );
}

#[tokio::test]
async fn location_metrics_are_daily_with_missing_days_zero_once_complete() {
    let e = env().await;
    let today = Utc::now().date_naive();
    let day = |n: i64| today - Duration::days(n);
    e.fake
        .set_daily_metric(&e.target.id, "WEBSITE_CLICKS", day(10), 12);
    e.fake.set_daily_metric(
        &e.target.id,
        "BUSINESS_IMPRESSIONS_MOBILE_MAPS",
        day(10),
        30,
    );
    e.fake.set_daily_metric(
        &e.target.id,
        "BUSINESS_IMPRESSIONS_DESKTOP_SEARCH",
        day(9),
        5,
    );
    let since = day(10).and_hms_opt(0, 0, 0).unwrap().and_utc();
    let until = (today + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let metrics = e
        .gbp
        .target_metrics(
            &e.creds,
            &e.target,
            postd_core::DateRange::new(since, until).unwrap(),
        )
        .await
        .unwrap();
    let clicks = metrics.get("WEBSITE_CLICKS").unwrap();
    assert_eq!(clicks.total(), Some(12.0));
    // Ten complete days and the latest ones left out (no data yet is not zero).
    assert!(
        clicks.points.len() < 11 && clicks.points.len() >= 8,
        "{:?}",
        clicks.points
    );
    let impressions: f64 = metrics
        .series
        .iter()
        .filter(|s| s.kind == postd_core::MetricKind::Impressions)
        .filter_map(|s| s.total())
        .sum();
    assert_eq!(impressions, 35.0);
    let err = e
        .gbp
        .post_metrics(&e.creds, &e.target, "x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}
