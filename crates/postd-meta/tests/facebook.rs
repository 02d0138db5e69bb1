//! Facebook Page publishing against the stateful Graph fake.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::*;
use postd_core::{
    Connector, ErrorKind, FacebookOptions, Media, MediaKind, PostOptions, PublishOutcome,
    PublishStatus,
};
use postd_testkit::meta::MetaFakeConfig;
use postd_testkit::{Fault, Timing};
use url::Url;

fn published(o: PublishOutcome) -> postd_core::PublishedPost {
    match o {
        PublishOutcome::Published(p) => p,
        other => panic!("expected Published, got {other:?}"),
    }
}

#[tokio::test]
async fn text_and_link_posts() {
    let e = env().await;
    let p = published(
        e.meta
            .publish(
                &e.creds,
                &e.page,
                &post("t1").with_text("Fresh bread (at 7)!"),
            )
            .await
            .unwrap(),
    );
    let link = post("t2")
        .with_text("Read this")
        .with_link(Url::parse("https://example.com/blog/1").unwrap());
    let l = published(e.meta.publish(&e.creds, &e.page, &link).await.unwrap());
    let posts = e.fake.facebook_posts(PAGE);
    assert_eq!(posts.len(), 2);
    let first = posts.iter().find(|x| x.id == p.id).unwrap();
    assert_eq!(first.message.as_deref(), Some("Fresh bread (at 7)!"));
    assert!(first.published);
    let second = posts.iter().find(|x| x.id == l.id).unwrap();
    assert_eq!(second.link.as_deref(), Some("https://example.com/blog/1"));
    assert!(
        p.url
            .unwrap()
            .as_str()
            .starts_with(&format!("https://www.facebook.com/{PAGE}/posts/"))
    );
    assert_no_tokens_in_urls(&e.fake);
}

#[tokio::test]
async fn appsecret_proof_is_sent_when_the_app_requires_it() {
    let cfg = MetaFakeConfig {
        require_appsecret_proof: true,
        ..MetaFakeConfig::default()
    };
    let e = env_with(cfg, |c| c).await;
    e.meta
        .publish(&e.creds, &e.page, &post("p").with_text("proof"))
        .await
        .unwrap();
    // Without the proof the same app is refused.
    let no_proof = env_with(
        MetaFakeConfig {
            require_appsecret_proof: true,
            ..MetaFakeConfig::default()
        },
        |mut c| {
            c.appsecret_proof = false;
            c
        },
    )
    .await;
    let err = no_proof
        .meta
        .publish(&no_proof.creds, &no_proof.page, &post("p").with_text("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert_eq!(err.platform_code(), Some("100"));
}

#[tokio::test]
async fn photos_single_by_url_and_bytes_and_multi() {
    let e = env().await;
    let url = Media::url(
        MediaKind::Image,
        Url::parse("https://cdn.example/bread.jpg").unwrap(),
    );
    let one = published(
        e.meta
            .publish(
                &e.creds,
                &e.page,
                &post("p1").with_text("one").with_media(url.clone()),
            )
            .await
            .unwrap(),
    );
    let bytes = Media::bytes(MediaKind::Image, vec![0xffu8; 5000]).with_mime_type("image/jpeg");
    let two = published(
        e.meta
            .publish(
                &e.creds,
                &e.page,
                &post("p2").with_text("two").with_media(bytes),
            )
            .await
            .unwrap(),
    );
    let multi = post("p3")
        .with_text("three")
        .with_media(url.clone())
        .with_media(url.clone())
        .with_media(url);
    let three = published(e.meta.publish(&e.creds, &e.page, &multi).await.unwrap());

    let photos = e.fake.photos(PAGE);
    assert_eq!(photos.len(), 5);
    assert!(
        photos
            .iter()
            .any(|p| p.uploaded_bytes == 5000 && p.published)
    );
    let unpublished: Vec<_> = photos.iter().filter(|p| !p.published).collect();
    assert_eq!(unpublished.len(), 3);
    let feed = e.fake.facebook_posts(PAGE);
    let multi_post = feed.iter().find(|p| p.id == three.id).unwrap();
    assert_eq!(multi_post.attached_media.len(), 3);
    assert_ne!(one.id, two.id);
    assert_no_tokens_in_urls(&e.fake);
}

#[tokio::test]
async fn scheduled_posts_use_the_native_scheduler() {
    let e = env().await;
    let at = chrono::DateTime::from_timestamp(e.fake.now() + 3600, 0).unwrap();
    let p = published(
        e.meta
            .publish(
                &e.creds,
                &e.page,
                &post("s").with_text("later").with_schedule_at(at),
            )
            .await
            .unwrap(),
    );
    assert_eq!(p.scheduled_for, Some(at));
    let fb = e.fake.facebook_posts(PAGE);
    assert!(!fb[0].published);
    assert_eq!(fb[0].scheduled_publish_time, Some(at.timestamp()));
}

#[tokio::test]
async fn a_schedule_time_already_past_publishes_now() {
    let e = env().await;
    let past = chrono::Utc::now() - chrono::Duration::minutes(3);
    let p = published(
        e.meta
            .publish(
                &e.creds,
                &e.page,
                &post("n").with_text("due now").with_schedule_at(past),
            )
            .await
            .unwrap(),
    );
    assert_eq!(p.scheduled_for, None);
    assert!(e.fake.facebook_posts(PAGE)[0].published);
}

#[tokio::test]
async fn video_by_url_is_pending_until_ready() {
    let e = env().await;
    let mut options = PostOptions::default();
    let mut fb = FacebookOptions::default();
    fb.video_title = Some("Kneading".to_owned());
    options.facebook = Some(fb);
    let video = Media::url(
        MediaKind::Video,
        Url::parse("https://cdn.example/knead.mp4").unwrap(),
    );
    let outcome = e
        .meta
        .publish(
            &e.creds,
            &e.page,
            &post("v")
                .with_text("How we knead")
                .with_media(video)
                .with_options(options),
        )
        .await
        .unwrap();
    let handle = match outcome {
        PublishOutcome::Pending(h) => h,
        PublishOutcome::Published(p) => {
            // The fake may finish processing on the first look.
            assert_eq!(e.fake.videos(PAGE)[0].id, p.id);
            return;
        }
        other => panic!("{other:?}"),
    };
    let mut done = None;
    for _ in 0..10 {
        match e.meta.publish_status(&e.creds, &handle).await.unwrap() {
            PublishStatus::Published(p) => {
                done = Some(p);
                break;
            }
            PublishStatus::Processing { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let p = done.expect("video never became ready");
    let v = &e.fake.videos(PAGE)[0];
    assert_eq!(p.id, v.id);
    assert_eq!(v.title.as_deref(), Some("Kneading"));
    assert_eq!(v.file_url.as_deref(), Some("https://cdn.example/knead.mp4"));
}

#[tokio::test]
async fn video_from_disk_goes_through_the_resumable_upload_and_resumes_after_a_failure() {
    // One part, and three 8 MiB parts (the last shorter; each after the
    // first is read while the one before it is sent).
    for (size, name) in [(3_000_000u32, "clip.mp4"), (20_000_000, "long.mp4")] {
        let e = env().await;
        let dir = std::env::temp_dir().join(format!("postd-meta-video-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let data: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        // The first transfer breaks with a 503 (not applied); the upload resumes from the reported offset.
        e.fake.server().faults().inject(
            "POST",
            "upload:",
            Fault::status(503),
            1,
            Timing::BeforeCommit,
        );
        let video = Media::file(MediaKind::Video, &path).with_mime_type("video/mp4");
        let outcome = e
            .meta
            .publish(
                &e.creds,
                &e.page,
                &post("v").with_text("From disk").with_media(video),
            )
            .await
            .unwrap();
        assert!(matches!(
            outcome,
            PublishOutcome::Pending(_) | PublishOutcome::Published(_)
        ));
        let sessions = e.fake.upload_sessions();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].file_length, u64::from(size));
        assert_eq!(sessions[0].received, u64::from(size));
        assert_eq!(
            sessions[0].checksum,
            postd_testkit::meta::upload_checksum(&data)
        );
        let v = &e.fake.videos(PAGE)[0];
        assert_eq!(v.upload_handle, sessions[0].handle);
        assert_eq!(e.fake.server().faults().injected(), 1);
        assert_no_tokens_in_urls(&e.fake);
        std::fs::remove_file(&path).unwrap();
    }
}

#[tokio::test]
async fn duplicate_status_is_a_duplicate_error() {
    let e = env().await;
    let p = post("d").with_text("same words");
    e.meta.publish(&e.creds, &e.page, &p).await.unwrap();
    let err = e.meta.publish(&e.creds, &e.page, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Duplicate);
    assert_eq!(e.fake.facebook_posts(PAGE).len(), 1);
}

#[tokio::test]
async fn missing_page_token_asks_for_a_refresh() {
    let e = env().await;
    let creds = postd_core::Credentials::OAuth(postd_core::TokenSet::new(e.user_token.as_str()));
    let err = e
        .meta
        .publish(&creds, &e.page, &post("x").with_text("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(e.fake.requests().is_empty() || !e.fake.requests().iter().any(|r| r.contains("/feed")));
}

#[tokio::test]
async fn throttled_page_is_not_called_again_until_it_recovers() {
    let e = env().await;
    e.fake.throttle(PAGE, 80001, 7);
    let err = e
        .meta
        .publish(&e.creds, &e.page, &post("a").with_text("a"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7 * 60)));
    let calls = e.fake.requests().len();
    let err = e
        .meta
        .publish(&e.creds, &e.page, &post("b").with_text("b"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(
        e.fake.requests().len(),
        calls,
        "a throttled page must not be called"
    );
    assert!(e.meta.usage().throttled_until.contains_key(PAGE));
}

/// Scratch files for one test, removed when it ends.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("postd-meta-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn file(&self, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_photo_part_carries_exactly_the_bytes_it_declares() {
    let e = env().await;
    let dir = Scratch::new("photo");
    let photo: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    let path = dir.file("bread.jpg", &photo);
    e.meta
        .publish(
            &e.creds,
            &e.page,
            &post("p")
                .with_text("fresh bread")
                .with_media(Media::file(MediaKind::Image, &path).with_mime_type("image/jpeg")),
        )
        .await
        .unwrap();
    let photos = e.fake.photos(PAGE);
    assert_eq!(photos.len(), 1);
    // The caption and `published` after the file part arrived intact.
    assert_eq!(photos[0].caption.as_deref(), Some("fresh bread"));
    assert_eq!(photos[0].uploaded_bytes, photo.len());
    assert!(photos[0].published);
}

#[tokio::test]
async fn a_natively_scheduled_video_carries_its_go_live_time() {
    let e = env().await;
    let at = chrono::DateTime::from_timestamp(e.fake.now() + 7200, 0).unwrap();
    let video = Media::url(
        MediaKind::Video,
        Url::parse("https://cdn.example/later.mp4").unwrap(),
    );
    let outcome = e
        .meta
        .publish(
            &e.creds,
            &e.page,
            &post("sv")
                .with_text("tonight")
                .with_media(video)
                .with_schedule_at(at),
        )
        .await
        .unwrap();
    let p = match outcome {
        PublishOutcome::Published(p) => p,
        PublishOutcome::Pending(handle) => {
            let mut done = None;
            for _ in 0..20 {
                if let PublishStatus::Published(p) =
                    e.meta.publish_status(&e.creds, &handle).await.unwrap()
                {
                    done = Some(p);
                    break;
                }
            }
            done.expect("the video never became ready")
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        p.scheduled_for,
        Some(at),
        "a scheduled video is not live now"
    );
    assert!(
        !e.fake.videos(PAGE)[0].published,
        "sent as scheduled, not live"
    );
}

#[tokio::test]
async fn a_missing_page_token_error_says_what_to_pass() {
    let e = env().await;
    let creds = postd_core::Credentials::OAuth(postd_core::TokenSet::new(e.user_token.as_str()));
    let err = e
        .meta
        .publish(&creds, &e.page, &post("x").with_text("x"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.message().contains("TokenSet::with_derived"), "{err}");
    assert!(err.message().contains(PAGE), "{err}");
}

#[tokio::test]
async fn reconciliation_finds_a_post_that_many_later_posts_pushed_down() {
    let e = env().await;
    let started = chrono::DateTime::from_timestamp(e.fake.now(), 0).unwrap();
    let ours = post("ours").with_text("the one we lost");
    e.meta.publish(&e.creds, &e.page, &ours).await.unwrap();
    for i in 0..150 {
        e.meta
            .publish(
                &e.creds,
                &e.page,
                &post(&format!("l{i}")).with_text(format!("later {i}")),
            )
            .await
            .unwrap();
    }
    let found = e
        .meta
        .find_published(&e.creds, &e.page, &ours.fingerprint(started))
        .await
        .unwrap()
        .expect("found past the first page");
    let mine = e
        .fake
        .facebook_posts(PAGE)
        .into_iter()
        .find(|p| p.message.as_deref() == Some("the one we lost"))
        .unwrap();
    assert_eq!(found.id, mine.id);
}
