//! Instagram publishing: the container flow against the stateful Graph fake.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::*;
use postd_core::{
    Connector, ErrorKind, InstagramKind, InstagramOptions, Media, MediaKind, PostOptions,
    PublishOutcome, PublishStatus,
};
use postd_testkit::meta::MetaFakeConfig;
use postd_testkit::{Fault, Timing};
use url::Url;

fn image(name: &str) -> Media {
    Media::url(
        MediaKind::Image,
        Url::parse(&format!("https://cdn.example/{name}.jpg")).unwrap(),
    )
}

fn video(name: &str) -> Media {
    Media::url(
        MediaKind::Video,
        Url::parse(&format!("https://cdn.example/{name}.mp4")).unwrap(),
    )
}

fn kind(k: InstagramKind) -> PostOptions {
    let mut ig = InstagramOptions::default();
    ig.kind = k;
    let mut o = PostOptions::default();
    o.instagram = Some(ig);
    o
}

fn published(o: PublishOutcome) -> postd_core::PublishedPost {
    match o {
        PublishOutcome::Published(p) => p,
        other => panic!("expected Published, got {other:?}"),
    }
}

#[tokio::test]
async fn image_post_goes_container_status_publish() {
    let e = env().await;
    let p = published(
        e.meta
            .publish(
                &e.creds,
                &e.ig,
                &post("i")
                    .with_text("New loaf #bread @ada")
                    .with_media(image("loaf")),
            )
            .await
            .unwrap(),
    );
    let media = e.fake.instagram_media(IG);
    assert_eq!(media.len(), 1);
    assert_eq!(media[0].id, p.id);
    assert_eq!(media[0].caption.as_deref(), Some("New loaf #bread @ada"));
    assert_eq!(
        p.url.as_ref().map(Url::as_str),
        Some(media[0].permalink.as_str())
    );
    assert_eq!(e.fake.media_publish_calls(), 1);
    let c = &e.fake.containers()[0];
    assert_eq!(c.image_url.as_deref(), Some("https://cdn.example/loaf.jpg"));
    assert_eq!(c.status_code, "PUBLISHED");
    assert_no_tokens_in_urls(&e.fake);
}

#[tokio::test]
async fn carousel_waits_for_every_child_then_the_parent() {
    let e = env().await;
    let p = post("c")
        .with_text("Three kinds")
        .with_media(image("a"))
        .with_media(video("b"))
        .with_media(image("c"));
    let outcome = e.meta.publish(&e.creds, &e.ig, &p).await.unwrap();
    let published = published(outcome);
    let containers = e.fake.containers();
    let parent = containers
        .iter()
        .find(|c| c.media_type == "CAROUSEL")
        .unwrap();
    assert_eq!(parent.children.len(), 3);
    assert_eq!(parent.caption.as_deref(), Some("Three kinds"));
    assert!(
        containers
            .iter()
            .filter(|c| c.is_carousel_item)
            .all(|c| c.caption.is_none())
    );
    assert_eq!(e.fake.instagram_media(IG)[0].id, published.id);
    assert_eq!(e.fake.media_publish_calls(), 1);
}

#[tokio::test]
async fn slow_reel_is_pending_then_finished_by_publish_status() {
    let cfg = MetaFakeConfig {
        container_polls: 6,
        ..MetaFakeConfig::default()
    };
    // publish waits only ~30 ms, so the reel is still IN_PROGRESS when publish returns.
    let e = env_with(cfg, |c| {
        c.with_polling(
            Duration::from_millis(30),
            Duration::from_millis(10),
            Duration::from_millis(10),
        )
    })
    .await;
    let outcome = e
        .meta
        .publish(
            &e.creds,
            &e.ig,
            &post("r").with_text("Reel").with_media(video("r")),
        )
        .await
        .unwrap();
    let handle = match outcome {
        PublishOutcome::Pending(h) => h,
        other => panic!("expected Pending, got {other:?}"),
    };
    assert_eq!(e.fake.media_publish_calls(), 0);
    // The handle survives a trip through JSON (the queue persists it).
    let handle: postd_core::PublishHandle =
        serde_json::from_str(&serde_json::to_string(&handle).unwrap()).unwrap();
    let mut result = None;
    for _ in 0..20 {
        match e.meta.publish_status(&e.creds, &handle).await.unwrap() {
            PublishStatus::Published(p) => {
                result = Some(p);
                break;
            }
            PublishStatus::Processing { state, .. } => assert_eq!(state, "IN_PROGRESS"),
            other => panic!("{other:?}"),
        }
    }
    let p = result.expect("reel never published");
    assert_eq!(e.fake.instagram_media(IG)[0].id, p.id);
    assert_eq!(e.fake.containers()[0].media_type, "REELS");
    // Asking again after it was published does not publish twice.
    match e.meta.publish_status(&e.creds, &handle).await.unwrap() {
        PublishStatus::Published(again) => assert_eq!(again.id, p.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(e.fake.media_publish_calls(), 1);
}

#[tokio::test]
async fn reel_from_disk_uses_the_resumable_upload() {
    let e = env().await;
    let dir = std::env::temp_dir().join(format!("postd-meta-reel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("reel.mp4");
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let reel = Media::file(MediaKind::Video, &path).with_mime_type("video/mp4");
    let p = published(
        e.meta
            .publish(
                &e.creds,
                &e.ig,
                &post("r").with_text("From disk").with_media(reel),
            )
            .await
            .unwrap(),
    );
    let c = &e.fake.containers()[0];
    assert_eq!(c.upload_type.as_deref(), Some("resumable"));
    assert_eq!(c.uploaded_bytes, 1_500_000);
    assert_eq!(c.checksum, postd_testkit::meta::upload_checksum(&data));
    assert_eq!(e.fake.instagram_media(IG)[0].id, p.id);
    assert_no_tokens_in_urls(&e.fake);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn story_has_no_caption() {
    let e = env().await;
    let p = published(
        e.meta
            .publish(
                &e.creds,
                &e.ig,
                &post("s")
                    .with_media(image("story"))
                    .with_options(kind(InstagramKind::Story)),
            )
            .await
            .unwrap(),
    );
    let c = &e.fake.containers()[0];
    assert_eq!(c.media_type, "STORIES");
    assert!(c.caption.is_none());
    assert_eq!(e.fake.instagram_media(IG)[0].id, p.id);
}

#[tokio::test]
async fn spent_quota_refuses_before_creating_a_container() {
    let e = env().await;
    e.fake.set_quota_usage(IG, 100);
    let err = e
        .meta
        .publish(
            &e.creds,
            &e.ig,
            &post("q").with_text("x").with_media(image("q")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.retry_after().is_some());
    assert!(e.fake.containers().is_empty());
}

#[tokio::test]
async fn failed_container_is_media_rejected() {
    let e = env().await;
    e.fake
        .fail_next_container(IG, "Error: Media upload has failed with error code 2207082");
    let err = e
        .meta
        .publish(
            &e.creds,
            &e.ig,
            &post("f").with_text("x").with_media(video("bad")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MediaRejected);
    assert_eq!(err.platform_code(), Some("ERROR/2207082"));
    assert_eq!(e.fake.media_publish_calls(), 0);
}

#[tokio::test]
async fn lost_media_publish_answer_is_reconciled_through_the_container() {
    for fault in [
        Fault::Delay(Duration::from_secs(3)),
        Fault::status(500),
        Fault::Reset,
    ] {
        let e = env().await;
        e.fake.server().faults().inject(
            "POST",
            "/media_publish",
            fault.clone(),
            1,
            Timing::AfterCommit,
        );
        let p = e
            .meta
            .publish(
                &e.creds,
                &e.ig,
                &post("l")
                    .with_text("Exactly once")
                    .with_media(image("once")),
            )
            .await
            .unwrap_or_else(|err| panic!("{fault:?}: {err}"));
        let p = published(p);
        // One container, one post: the container said PUBLISHED, so no second media_publish.
        assert_eq!(e.fake.media_publish_calls(), 1, "{fault:?}");
        assert_eq!(e.fake.instagram_media(IG).len(), 1, "{fault:?}");
        assert_eq!(e.fake.instagram_media(IG)[0].id, p.id);
    }
}

#[tokio::test]
async fn unknown_media_publish_waits_before_publishing_the_same_container_again() {
    let e = env_with(MetaFakeConfig::default(), |mut c| {
        c.unknown_outcome_wait = Duration::from_millis(300);
        c
    })
    .await;
    // The gateway error never reached Meta, but POSTD cannot know that: the outcome is unknown.
    e.fake.server().faults().inject(
        "POST",
        "/media_publish",
        Fault::status(502),
        1,
        Timing::BeforeCommit,
    );
    let outcome = e
        .meta
        .publish(
            &e.creds,
            &e.ig,
            &post("b").with_text("Second try").with_media(image("b")),
        )
        .await
        .unwrap();
    let PublishOutcome::Pending(handle) = outcome else {
        panic!("expected Pending, got {outcome:?}")
    };
    assert_eq!(e.fake.media_publish_calls(), 0);
    // Asked again at once, the container still says FINISHED: too soon to publish it again.
    match e.meta.publish_status(&e.creds, &handle).await.unwrap() {
        PublishStatus::Processing { .. } => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(e.fake.media_publish_calls(), 0);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let PublishStatus::Published(p) = e.meta.publish_status(&e.creds, &handle).await.unwrap()
    else {
        panic!("expected Published")
    };
    assert_eq!(e.fake.media_publish_calls(), 1);
    assert_eq!(e.fake.instagram_media(IG)[0].id, p.id);
}

#[tokio::test]
async fn instagram_does_not_schedule_natively() {
    let e = env().await;
    assert!(e.meta.capabilities_for(&e.ig).native_scheduling.is_none());
    assert!(e.meta.capabilities_for(&e.page).native_scheduling.is_some());
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    let err = e
        .meta
        .publish(
            &e.creds,
            &e.ig,
            &post("s")
                .with_text("later")
                .with_media(image("s"))
                .with_schedule_at(later),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert!(e.fake.containers().is_empty());
    // When the queue brings it at its time, it publishes.
    let now = chrono::Utc::now();
    published(
        e.meta
            .publish(
                &e.creds,
                &e.ig,
                &post("s")
                    .with_text("now")
                    .with_media(image("s"))
                    .with_schedule_at(now),
            )
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn captionless_posts_are_not_reconciled_by_guessing() {
    let e = env().await;
    let story = post("s")
        .with_media(image("story"))
        .with_options(kind(InstagramKind::Story));
    e.meta.publish(&e.creds, &e.ig, &story).await.unwrap();
    let err = e
        .meta
        .find_published(
            &e.creds,
            &e.ig,
            &story.fingerprint(chrono::Utc::now() - chrono::Duration::seconds(5)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
}

#[tokio::test]
async fn find_published_matches_caption_and_time() {
    let e = env().await;
    let p = post("f").with_text("Find me").with_media(image("f"));
    let started = chrono::Utc::now() - chrono::Duration::seconds(5);
    e.meta.publish(&e.creds, &e.ig, &p).await.unwrap();
    let found = e
        .meta
        .find_published(&e.creds, &e.ig, &p.fingerprint(started))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, e.fake.instagram_media(IG)[0].id);
    let other = post("g").with_text("Not me").with_media(image("g"));
    assert!(
        e.meta
            .find_published(&e.creds, &e.ig, &other.fingerprint(started))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn bad_input_never_reaches_the_platform() {
    let e = env().await;
    let mut eleven = post("x").with_text("x");
    for i in 0..11 {
        eleven = eleven.with_media(image(&format!("i{i}")));
    }
    let cases = vec![
        post("a").with_text("a".repeat(2201)).with_media(image("a")),
        eleven,
        post("s")
            .with_text("text only story")
            .with_options(kind(InstagramKind::Story)),
        post("t").with_text("text only"),
        post("p").with_media(Media::bytes(MediaKind::Image, vec![1, 2, 3])),
        post("g")
            .with_text("png")
            .with_media(image("x").clone().with_mime_type("image/jpeg"))
            .with_media(Media::url(
                MediaKind::Image,
                Url::parse("https://cdn.example/pic.PNG").unwrap(),
            )),
        post("v").with_media(video("v").with_size_hint(2 * 1024 * 1024 * 1024)),
    ];
    for p in cases {
        let err = e.meta.publish(&e.creds, &e.ig, &p).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::InvalidContent | ErrorKind::MediaRejected
            ),
            "{err}"
        );
    }
    assert!(e.fake.requests().is_empty(), "{:?}", e.fake.requests());
}

#[tokio::test]
async fn instagram_finds_its_token_through_the_parent_page_or_the_user_token() {
    let e = env().await;
    let page_token = e.fake.page_token(PAGE).unwrap();
    // What a caller naturally stores: the user token and the page token under the page id.
    let by_parent = postd_core::Credentials::OAuth(
        postd_core::TokenSet::new(e.user_token.as_str()).with_derived(PAGE, page_token.as_str()),
    );
    // And only the user token, which Meta accepts for a linked Instagram account.
    let user_only =
        postd_core::Credentials::OAuth(postd_core::TokenSet::new(e.user_token.as_str()));
    for (i, creds) in [by_parent, user_only].iter().enumerate() {
        let p = published(
            e.meta
                .publish(
                    creds,
                    &e.ig,
                    &post(&format!("ig-{i}"))
                        .with_text(format!("parent lookup {i}"))
                        .with_media(image(&format!("p{i}"))),
                )
                .await
                .unwrap(),
        );
        assert!(e.fake.instagram_media(IG).iter().any(|m| m.id == p.id));
    }
    assert_eq!(e.fake.instagram_media(IG).len(), 2);
}
