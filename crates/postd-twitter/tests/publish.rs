//! Publishing against the X fake: text, media uploaded in segments from a
//! file, processing, options, threads that resume, and the one
//! non-idempotent call reconciled rather than repeated.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use chrono::Utc;
use common::*;
use postd_core::{
    Connector, ErrorKind, Media, MediaKind, PublishOutcome, PublishedPost, Retry, TwitterOptions,
    TwitterPoll, TwitterReplySettings,
};
use postd_testkit::x::{DUPLICATE_DETAIL, upload_checksum};
use postd_testkit::{Fault, Timing};
use postd_twitter::{ThreadProgress, TwitterConnector, XConfig};

fn published(o: PublishOutcome) -> PublishedPost {
    match o {
        PublishOutcome::Published(p) => p,
        other => panic!("expected Published, got {other:?}"),
    }
}

fn creates(fake: &postd_testkit::x::XFake) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.as_str() == "POST /2/tweets")
        .count()
}

fn small_segments(e: &Env) -> TwitterConnector {
    XConfig::clone(e.x.config())
        .with_segment_size(64 * 1024)
        .unwrap()
        .build(http())
}

#[tokio::test]
async fn a_text_post_is_published_with_its_link_after_the_text() {
    let e = env().await;
    let p = post("t1")
        .with_text("Fresh rye today")
        .with_link(url::Url::parse("https://bakery.example/rye").unwrap());
    let out = published(e.x.publish(&e.creds, &e.target, &p).await.unwrap());
    let posts = e.fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(out.id, posts[0].id);
    assert_eq!(posts[0].text, "Fresh rye today https://bakery.example/rye");
    assert_eq!(
        out.url.unwrap().as_str(),
        format!("https://x.com/i/web/status/{}", out.id)
    );
}

#[tokio::test]
async fn options_reach_x_as_its_api_names_them() {
    let e = env().await;
    let first = published(
        e.x.publish(&e.creds, &e.target, &post("o1").with_text("first"))
            .await
            .unwrap(),
    );
    let p = post("o2").with_text("Which loaf?").with_twitter(
        TwitterOptions::new()
            .with_reply_to(first.id.as_str())
            .with_poll(TwitterPoll::new(["Rye", "Spelt"], 1440))
            .with_reply_settings(TwitterReplySettings::Following)
            .with_made_with_ai(true)
            .with_paid_partnership(true),
    );
    e.x.publish(&e.creds, &e.target, &p).await.unwrap();
    let sent = &e.fake.posts()[1].request;
    assert_eq!(sent["reply"]["in_reply_to_tweet_id"], first.id.as_str());
    assert_eq!(sent["poll"]["options"][1], "Spelt");
    assert_eq!(sent["poll"]["duration_minutes"], 1440);
    assert_eq!(sent["reply_settings"], "following");
    assert_eq!(sent["made_with_ai"], true);
    assert_eq!(sent["paid_partnership"], true);
    let q = post("o3")
        .with_text("quoting")
        .with_twitter(TwitterOptions::new().with_quote_post_id(first.id.as_str()));
    e.x.publish(&e.creds, &e.target, &q).await.unwrap();
    assert_eq!(
        e.fake.posts()[2].request["quote_tweet_id"],
        first.id.as_str()
    );
}

#[tokio::test]
async fn four_images_go_in_order_and_a_media_only_post_sends_empty_text() {
    let e = env().await;
    let files: Vec<TempFile> = (0..4)
        .map(|i| TempFile::new(&format!("img{i}"), "photo.jpg", 1000 + i * 10))
        .collect();
    let mut p = post("m1");
    for f in &files {
        p = p.with_media(Media::file(MediaKind::Image, &f.path));
    }
    e.x.publish(&e.creds, &e.target, &p).await.unwrap();
    let media = e.fake.media();
    assert_eq!(media.len(), 4);
    for (m, f) in media.iter().zip(&files) {
        assert_eq!(m.category, "tweet_image");
        assert_eq!(m.media_type, "image/jpeg");
        assert_eq!(m.checksum, upload_checksum(&f.data));
    }
    let sent = &e.fake.posts()[0].request;
    assert_eq!(sent["text"], "");
    let ids: Vec<&str> = sent["media"]["media_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let want: Vec<&str> = media.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, want);
}

#[tokio::test]
async fn a_video_is_streamed_in_segments_and_waited_for() {
    let e = env().await;
    let x = small_segments(&e);
    let f = TempFile::new("video", "clip.mp4", 5 * 64 * 1024 + 123);
    let p = post("v1")
        .with_text("the oven at work")
        .with_media(Media::file(MediaKind::Video, &f.path));
    x.publish(&e.creds, &e.target, &p).await.unwrap();
    let m = &e.fake.media()[0];
    assert_eq!(m.category, "tweet_video");
    assert_eq!(m.media_type, "video/mp4");
    assert_eq!(m.segments, 6);
    assert_eq!(m.received_bytes, f.data.len() as u64);
    assert_eq!(m.checksum, upload_checksum(&f.data));
    assert_eq!(m.state.as_deref(), Some("succeeded"));
    assert!(
        e.fake
            .requests()
            .iter()
            .any(|r| r.starts_with("GET /2/media/upload?command=STATUS")),
        "processing was polled"
    );
    assert_eq!(e.fake.posts().len(), 1);
}

#[tokio::test]
async fn a_gif_is_its_own_category() {
    let e = env().await;
    let f = TempFile::new("gif", "loop.gif", 2048);
    let p = post("g1").with_media(Media::file(MediaKind::Gif, &f.path));
    e.x.publish(&e.creds, &e.target, &p).await.unwrap();
    let m = &e.fake.media()[0];
    assert_eq!(
        (m.category.as_str(), m.media_type.as_str()),
        ("tweet_gif", "image/gif")
    );
}

#[tokio::test]
async fn media_that_fails_processing_is_rejected_and_nothing_is_posted() {
    let e = env().await;
    e.fake.fail_next_media("Unsupported video codec");
    let f = TempFile::new("badvideo", "clip.mp4", 4096);
    let p = post("v2")
        .with_text("bad")
        .with_media(Media::file(MediaKind::Video, &f.path));
    let err = e.x.publish(&e.creds, &e.target, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MediaRejected, "{err}");
    assert!(err.to_string().contains("Unsupported video codec"), "{err}");
    assert_eq!(creates(&e.fake), 0);
}

#[tokio::test]
async fn a_segment_whose_append_breaks_is_sent_again_and_the_video_arrives_whole() {
    let e = env().await;
    let x = small_segments(&e);
    let f = TempFile::new("video-again", "clip.mp4", 5 * 64 * 1024 + 123);
    // The connection breaks before X takes the first append: that segment
    // goes again (from memory) while the next one is read.
    e.fake
        .server()
        .faults()
        .inject("POST", "/append", Fault::Reset, 1, Timing::BeforeCommit);
    let p = post("v-again")
        .with_text("again")
        .with_media(Media::file(MediaKind::Video, &f.path));
    x.publish(&e.creds, &e.target, &p).await.unwrap();
    assert_eq!(e.fake.server().faults().injected(), 1);
    let m = &e.fake.media()[0];
    assert_eq!(m.segments, 6);
    assert_eq!(m.received_bytes, f.data.len() as u64);
    assert_eq!(m.checksum, upload_checksum(&f.data));
}

#[tokio::test]
async fn a_video_too_long_for_the_users_tier_is_a_media_rejection() {
    let e = env().await;
    e.fake.server().faults().inject(
        "POST",
        "/2/tweets",
        Fault::status_with_body(
            403,
            r#"{"detail":"This user is not allowed to post a video longer than 2 minutes and 20 seconds.","type":"about:blank","title":"Forbidden","status":403}"#,
        ),
        1,
        Timing::BeforeCommit,
    );
    let err =
        e.x.publish(&e.creds, &e.target, &post("v3").with_text("long"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MediaRejected);
}

#[tokio::test]
async fn bad_posts_are_refused_before_any_call() {
    let e = env().await;
    let before = e.fake.requests().len();
    let long = post("b1").with_text("a".repeat(281));
    let err = e.x.publish(&e.creds, &e.target, &long).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    let missing = post("b2").with_media(Media::file(MediaKind::Image, "/nonexistent/a.jpg"));
    let err =
        e.x.publish(&e.creds, &e.target, &missing)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    let big = TempFile::new("big", "huge.png", 5 * 1024 * 1024 + 1);
    let p = post("b3").with_media(Media::file(MediaKind::Image, &big.path));
    let err = e.x.publish(&e.creds, &e.target, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MediaRejected, "{err}");
    let other = postd_core::Target::new(postd_core::TargetKind::TwitterAccount, "777");
    let err =
        e.x.publish(&e.creds, &other, &post("b4").with_text("hi"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(e.fake.requests().len(), before);
    // Credentials without a user id are checked against X before a Post goes.
    let mut anonymous = e
        .creds
        .token_set(postd_core::Platform::Twitter)
        .unwrap()
        .clone();
    anonymous.subject = None;
    let anonymous = postd_core::Credentials::OAuth(anonymous);
    let err =
        e.x.publish(&anonymous, &other, &post("b5").with_text("hi"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(e.fake.posts().is_empty());
    e.x.publish(&anonymous, &e.target, &post("b6").with_text("mine"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_lost_answer_is_an_unknown_outcome_that_reconciles_to_the_one_post() {
    let e = env().await;
    e.fake
        .server()
        .faults()
        .inject("POST", "/2/tweets", Fault::Reset, 1, Timing::AfterCommit);
    let p = post("u1").with_text("Lost in the mail & found");
    let attempted = Utc::now();
    let err = e.x.publish(&e.creds, &e.target, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
    assert_eq!(creates(&e.fake), 1, "never sent twice");
    let found =
        e.x.find_published(&e.creds, &e.target, &p.fingerprint(attempted))
            .await
            .unwrap()
            .expect("the post X made is found");
    assert_eq!(found.id, e.fake.posts()[0].id);
    let lookup = e
        .fake
        .requests()
        .into_iter()
        .find(|r| r.starts_with("GET /2/users/") && r.contains("/tweets?"))
        .unwrap();
    assert!(lookup.contains("start_time="), "{lookup}");
}

#[tokio::test]
async fn a_lost_answer_for_a_post_with_a_link_reconciles_from_the_engines_fingerprint() {
    let e = env().await;
    e.fake
        .server()
        .faults()
        .inject("POST", "/2/tweets", Fault::Reset, 1, Timing::AfterCommit);
    let p = post("u2")
        .with_text("Menu is up")
        .with_link(url::Url::parse("https://bakery.example/menu").unwrap());
    let attempted = Utc::now();
    let err = e.x.publish(&e.creds, &e.target, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
    // The engine's fingerprint holds the text without the link.
    let found =
        e.x.find_published(&e.creds, &e.target, &p.fingerprint(attempted))
            .await
            .unwrap()
            .expect("found");
    assert_eq!(found.id, e.fake.posts()[0].id);
}

#[tokio::test]
async fn a_duplicate_refusal_answers_the_post_it_duplicates() {
    let e = env().await;
    let id = e.fake.seed_post(USER, "Same words twice");
    let out =
        e.x.publish(
            &e.creds,
            &e.target,
            &post("d1").with_text("Same words twice"),
        )
        .await
        .unwrap();
    assert_eq!(published(out).id, id);
    assert_eq!(e.fake.posts().len(), 1);
    // A duplicate of a Post from hours ago is not ours: the refusal stands.
    e.fake.advance_time(-3 * 3600);
    e.fake.seed_post(USER, "Old words");
    e.fake.advance_time(3 * 3600);
    let err =
        e.x.publish(&e.creds, &e.target, &post("d2").with_text("Old words"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Duplicate, "{err}");
    assert!(err.to_string().contains("change the text"), "{err}");
    assert!(DUPLICATE_DETAIL.contains("duplicate content"));
}

#[tokio::test]
async fn absence_is_said_only_once_the_timeline_has_had_time() {
    let e = env().await;
    let p = post("a1").with_text("never sent");
    let err =
        e.x.find_published(&e.creds, &e.target, &p.fingerprint(Utc::now()))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
    assert!(matches!(err.retry(), Retry::Temporary { .. }));
    let old = p.fingerprint(Utc::now() - chrono::Duration::minutes(10));
    assert_eq!(
        e.x.find_published(&e.creds, &e.target, &old).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_busy_timeline_that_was_not_read_to_the_end_is_never_absent() {
    let e = env().await;
    let fp = post("busy")
        .with_text("mine")
        .fingerprint(Utc::now() - chrono::Duration::minutes(10));
    for i in 0..501 {
        e.fake.seed_post(USER, &format!("someone else's words {i}"));
    }
    let err =
        e.x.find_published(&e.creds, &e.target, &fp)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
    let reads = e
        .fake
        .requests()
        .iter()
        .filter(|r| r.contains("/tweets?") && r.contains("max_results=100"))
        .count();
    assert_eq!(reads, 5);
}

#[tokio::test]
async fn a_usage_capped_timeline_defers_and_depleted_credits_wait() {
    let e = env().await;
    e.fake.set_usage_capped(true);
    let old = post("c1")
        .with_text("x")
        .fingerprint(Utc::now() - chrono::Duration::minutes(10));
    let err =
        e.x.find_published(&e.creds, &e.target, &old)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "never 'absent': {err}");
    assert_eq!(err.platform_code(), Some(postd_twitter::USAGE_CAPPED));
    e.fake.set_usage_capped(false);
    e.fake.set_credits_depleted(true);
    let err =
        e.x.publish(&e.creds, &e.target, &post("c2").with_text("hi"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.platform_code(), Some(postd_twitter::CREDITS_DEPLETED));
    assert!(err.retry_after().unwrap() >= std::time::Duration::from_secs(900));
    // Spent credits hold every account of the app back without a call.
    let before = e.fake.requests().len();
    let err =
        e.x.find_published(
            &e.creds,
            &e.target,
            &post("c3").with_text("y").fingerprint(Utc::now()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(e.fake.requests().len(), before);
    assert!(e.fake.posts().is_empty());
}

#[tokio::test]
async fn an_exhausted_create_limit_is_not_called_again_until_it_resets() {
    let e = env().await;
    e.fake.set_rate_limit("POST /2/tweets", 1);
    e.x.publish(&e.creds, &e.target, &post("r1").with_text("one"))
        .await
        .unwrap();
    let before = e.fake.requests().len();
    let err =
        e.x.publish(&e.creds, &e.target, &post("r2").with_text("two"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    let wait = err.retry_after().unwrap();
    assert!(wait > std::time::Duration::from_secs(800), "{wait:?}");
    assert_eq!(e.fake.requests().len(), before, "no call X would refuse");
    let h = e.x.health_check(&e.creds).await.unwrap();
    assert!(
        h.quotas
            .iter()
            .any(|q| q.name == postd_twitter::CREATE_QUOTA),
        "{h:?}"
    );
    // The budget used so far: one create counted in each window (the refused one never went).
    let window = h
        .quotas
        .iter()
        .find(|q| q.name == "x_post_create_per_15_min")
        .unwrap();
    assert!((window.used_percent - 1.0).abs() < 1e-9, "{window:?}");
    let long = h
        .quotas
        .iter()
        .find(|q| q.name == "x_post_create_per_180_min")
        .unwrap();
    assert!((long.used_percent - 1.0 / 3.0).abs() < 1e-9, "{long:?}");
}

#[tokio::test]
async fn a_thread_that_fails_half_way_resumes_without_reposting() {
    let e = env().await;
    let parts: Vec<_> = (1..=3)
        .map(|i| post(&format!("th{i}")).with_text(format!("part {i} of 3")))
        .collect();
    let mut progress = ThreadProgress::new();
    // A refused first part publishes nothing and records nothing.
    e.fake.server().faults().inject(
        "POST",
        "/2/tweets",
        Fault::status_with_body(
            403,
            r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"You are not permitted to perform this action."}"#,
        ),
        1,
        Timing::BeforeCommit,
    );
    let err =
        e.x.publish_thread(&e.creds, &e.target, &parts, &mut progress)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(progress.published.is_empty());
    // Part 1 goes (the thread so far is its first part).
    e.x.publish_thread(&e.creds, &e.target, &parts[..1], &mut progress)
        .await
        .unwrap();
    assert_eq!(progress.published.len(), 1);
    // Part 2 ends unknown (X answered 503: it may have been made); the thread stops there.
    e.fake.server().faults().inject(
        "POST",
        "/2/tweets",
        Fault::status(503),
        1,
        Timing::BeforeCommit,
    );
    let err =
        e.x.publish_thread(&e.creds, &e.target, &parts, &mut progress)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
    assert_eq!(progress.published.len(), 1);
    assert_eq!(
        e.fake.posts().len(),
        1,
        "the 503 was not retried (a retry would have made part 2)"
    );
    // Reconciled (here: X made nothing), the thread resumes after part 1.
    let all =
        e.x.publish_thread(&e.creds, &e.target, &parts, &mut progress)
            .await
            .unwrap();
    assert_eq!(all.len(), 3);
    let posts = e.fake.posts();
    assert_eq!(posts.len(), 3, "each part exactly once");
    assert!(posts[0].request.get("reply").is_none());
    assert_eq!(
        posts[1].request["reply"]["in_reply_to_tweet_id"],
        posts[0].id.as_str()
    );
    assert_eq!(
        posts[2].request["reply"]["in_reply_to_tweet_id"],
        posts[1].id.as_str()
    );
}

#[tokio::test]
async fn delete_removes_the_post() {
    let e = env().await;
    let p = published(
        e.x.publish(&e.creds, &e.target, &post("del").with_text("oops"))
            .await
            .unwrap(),
    );
    e.x.delete_post(&e.creds, &e.target, &p.id).await.unwrap();
    assert!(e.fake.posts()[0].deleted);
    let err =
        e.x.delete_post(&e.creds, &e.target, &p.id)
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err =
        e.x.delete_post(&e.creds, &e.target, "../me")
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
}
