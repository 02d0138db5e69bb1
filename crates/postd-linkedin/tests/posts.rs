//! The Posts API against the stateful LinkedIn fake.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::*;
use postd_core::{
    Connector, ErrorKind, LinkedInArticle, LinkedInOptions, Media, MediaKind, PostOptions,
    PublishOutcome, PublishStatus, Retry,
};
use postd_testkit::linkedin::LinkedInFakeConfig;
use postd_testkit::{Fault, Timing};
use url::Url;

fn published(o: PublishOutcome) -> postd_core::PublishedPost {
    match o {
        PublishOutcome::Published(p) => p,
        other => panic!("expected Published, got {other:?}"),
    }
}

#[tokio::test]
async fn text_post_with_reserved_characters_is_not_truncated() {
    let e = env().await;
    let text = "Shipping v2 (finally) -> [beta] <3 #rust @team a_b *c* ~d~ {e} | \\";
    let p = published(
        e.li.publish(&e.creds, &e.person, &post("t").with_text(text))
            .await
            .unwrap(),
    );
    let posts = e.fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].urn, p.id);
    assert_eq!(posts[0].author, PERSON);
    // What LinkedIn shows is the whole text: nothing was cut at a reserved character.
    assert_eq!(posts[0].rendered, text);
    assert_eq!(
        p.url.unwrap().as_str(),
        format!("https://www.linkedin.com/feed/update/{}", p.id)
    );
    assert_clean_requests(&e.fake);
}

#[tokio::test]
async fn organization_article_post_with_thumbnail() {
    let e = env().await;
    let mut article = LinkedInArticle::new(Url::parse("https://example.com/launch").unwrap());
    article.title = Some("Launch".to_owned());
    article.description = Some("What we built".to_owned());
    article.thumbnail =
        Some(Media::bytes(MediaKind::Image, vec![0xffu8; 2048]).with_mime_type("image/jpeg"));
    let mut li = LinkedInOptions::default();
    li.article = Some(article);
    let mut options = PostOptions::default();
    options.linkedin = Some(li);
    let p = published(
        e.li.publish(
            &e.creds,
            &e.org,
            &post("a").with_text("Read about it").with_options(options),
        )
        .await
        .unwrap(),
    );
    let stored = e.fake.posts().into_iter().find(|x| x.urn == p.id).unwrap();
    assert_eq!(stored.author, ORG);
    assert_eq!(
        stored.content["article"]["source"],
        "https://example.com/launch"
    );
    assert_eq!(stored.content["article"]["title"], "Launch");
    let image = &e.fake.images()[0];
    assert_eq!(image.owner, ORG, "media is owned by the post's author");
    assert_eq!(stored.content["article"]["thumbnail"], image.urn.as_str());
    assert_clean_requests(&e.fake);
}

#[tokio::test]
async fn single_and_multi_image_posts() {
    let e = env().await;
    let img = |n: u8| {
        Media::bytes(MediaKind::Image, vec![n; 1000 + usize::from(n)]).with_mime_type("image/png")
    };
    let one = published(
        e.li.publish(
            &e.creds,
            &e.person,
            &post("1").with_text("one").with_media(img(1)),
        )
        .await
        .unwrap(),
    );
    let mut many = post("m").with_text("many");
    for i in 0..5 {
        many = many.with_media(img(10 + i).with_alt_text(format!("picture {i}")));
    }
    let multi = published(e.li.publish(&e.creds, &e.person, &many).await.unwrap());
    let posts = e.fake.posts();
    let single = posts.iter().find(|p| p.urn == one.id).unwrap();
    assert!(
        single.content["media"]["id"]
            .as_str()
            .unwrap()
            .starts_with("urn:li:image:")
    );
    let multi = posts.iter().find(|p| p.urn == multi.id).unwrap();
    let images = multi.content["multiImage"]["images"].as_array().unwrap();
    assert_eq!(images.len(), 5);
    assert_eq!(images[0]["altText"], "picture 0");
    assert_eq!(e.fake.images().len(), 6);
    assert!(
        e.fake
            .images()
            .iter()
            .all(|i| i.owner == PERSON && i.status == "AVAILABLE")
    );
}

#[tokio::test]
async fn video_is_uploaded_in_parts_and_posted_when_available() {
    let cfg = LinkedInFakeConfig {
        video_part_size: 100_000,
        video_polls: 1,
        ..LinkedInFakeConfig::default()
    };
    let e = env_with(cfg, &[]).await;
    let dir = std::env::temp_dir().join(format!("postd-li-video-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clip.mp4");
    let data: Vec<u8> = (0..350_123u32).map(|i| (i % 247) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let mut li = LinkedInOptions::default();
    li.video_title = Some("Demo".to_owned());
    let mut options = PostOptions::default();
    options.linkedin = Some(li);
    let video = Media::file(MediaKind::Video, &path).with_mime_type("video/mp4");
    let outcome =
        e.li.publish(
            &e.creds,
            &e.org,
            &post("v")
                .with_text("Watch")
                .with_media(video)
                .with_options(options),
        )
        .await
        .unwrap();
    let p = published(outcome);
    let v = &e.fake.videos()[0];
    assert_eq!(v.owner, ORG);
    assert_eq!(v.file_size, 350_123);
    assert_eq!(v.uploaded_parts, 4);
    assert_eq!(v.checksum, postd_testkit::linkedin::upload_checksum(&data));
    assert!(v.finalized);
    let stored = e.fake.posts().into_iter().find(|x| x.urn == p.id).unwrap();
    assert_eq!(stored.content["media"]["id"], v.urn.as_str());
    assert_eq!(stored.content["media"]["title"], "Demo");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn slow_video_is_pending_then_posted_by_publish_status() {
    let cfg = LinkedInFakeConfig {
        video_polls: 8,
        ..LinkedInFakeConfig::default()
    };
    let e = env_with(cfg, &[]).await;
    // publish waits only ~20 ms, so the video is still processing when it returns.
    let li = {
        let vars = postd_core::config::Vars::from_pairs([
            ("LINKEDIN_CLIENT_ID", e.fake.client_id()),
            ("LINKEDIN_CLIENT_SECRET", e.fake.client_secret()),
        ]);
        postd_linkedin::LinkedInConfig::from_vars(&vars)
            .unwrap()
            .with_base_url(e.fake.url())
            .with_polling(
                Duration::from_millis(20),
                Duration::from_millis(10),
                Duration::from_millis(10),
            )
            .build(http())
    };
    let video = Media::bytes(MediaKind::Video, vec![7u8; 5000]);
    let handle = match li
        .publish(
            &e.creds,
            &e.person,
            &post("v").with_text("slow").with_media(video),
        )
        .await
        .unwrap()
    {
        PublishOutcome::Pending(h) => h,
        other => panic!("expected Pending, got {other:?}"),
    };
    assert_eq!(
        e.fake.post_creates(),
        0,
        "no post before the video is available"
    );
    let handle: postd_core::PublishHandle =
        serde_json::from_str(&serde_json::to_string(&handle).unwrap()).unwrap();
    let mut done = None;
    for _ in 0..20 {
        match li.publish_status(&e.creds, &handle).await.unwrap() {
            PublishStatus::Published(p) => {
                done = Some(p);
                break;
            }
            PublishStatus::Processing { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    let p = done.expect("video never became available");
    assert_eq!(e.fake.post_creates(), 1);
    assert_eq!(e.fake.posts()[0].urn, p.id);
}

#[tokio::test]
async fn failed_video_processing_is_reported() {
    let e = env().await;
    e.fake.fail_next_video();
    let err =
        e.li.publish(
            &e.creds,
            &e.person,
            &post("f")
                .with_text("bad video")
                .with_media(Media::bytes(MediaKind::Video, vec![1u8; 100])),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MediaRejected);
    assert_eq!(e.fake.post_creates(), 0);
}

#[tokio::test]
async fn duplicate_post_is_a_duplicate_error() {
    let e = env().await;
    let p = post("d").with_text("Same words twice");
    e.li.publish(&e.creds, &e.person, &p).await.unwrap();
    let err = e.li.publish(&e.creds, &e.person, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Duplicate);
    assert_eq!(err.platform_code(), Some("DUPLICATE_POST"));
    assert_eq!(e.fake.post_creates(), 1);
}

#[tokio::test]
async fn inactive_version_is_a_config_error_naming_it() {
    let fake_cfg = LinkedInFakeConfig::default();
    let e = env_with(fake_cfg, &[("LINKEDIN_VERSION", "202504")]).await;
    let err =
        e.li.publish(&e.creds, &e.person, &post("v").with_text("hi"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert_eq!(err.http_status(), Some(426));
    assert!(
        err.to_string()
            .contains("LinkedIn-Version 202504 is not active"),
        "{err}"
    );
}

#[tokio::test]
async fn revoked_token_needs_reauthorization() {
    let e = env().await;
    e.fake.revoke_token(&e.token);
    let err =
        e.li.publish(&e.creds, &e.person, &post("r").with_text("x"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired);
    assert!(!err.to_string().contains(&e.token));
}

#[tokio::test]
async fn bad_input_never_reaches_linkedin() {
    let e = env().await;
    let img = || Media::bytes(MediaKind::Image, vec![1u8; 10]);
    let mut many = post("m").with_text("21 images");
    for _ in 0..21 {
        many = many.with_media(img());
    }
    let cases = vec![
        (e.person.clone(), post("l").with_text("x".repeat(3001))),
        (e.person.clone(), many),
        (e.person.clone(), post("e")),
        (
            e.person.clone(),
            post("v").with_text("x").with_media(Media::url(
                MediaKind::Video,
                Url::parse("https://cdn.example/v.mp4").unwrap(),
            )),
        ),
        (
            e.person.clone(),
            post("mix")
                .with_text("x")
                .with_media(img())
                .with_media(Media::bytes(MediaKind::Video, vec![1])),
        ),
        // A person target whose id is an organization URN: media would be owned by someone else.
        (
            postd_core::Target::new(postd_core::TargetKind::LinkedInPerson, ORG),
            post("o").with_text("x").with_media(img()),
        ),
    ];
    for (target, p) in cases {
        let err = e.li.publish(&e.creds, &target, &p).await.unwrap_err();
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
async fn a_lost_answer_on_the_video_post_is_found_again_not_reposted() {
    let cfg = LinkedInFakeConfig {
        video_polls: 2,
        ..LinkedInFakeConfig::default()
    };
    let e = env_with(cfg, &[]).await;
    let li = {
        let vars = postd_core::config::Vars::from_pairs([
            ("LINKEDIN_CLIENT_ID", e.fake.client_id()),
            ("LINKEDIN_CLIENT_SECRET", e.fake.client_secret()),
        ]);
        postd_linkedin::LinkedInConfig::from_vars(&vars)
            .unwrap()
            .with_base_url(e.fake.url())
            .with_polling(
                Duration::from_millis(5),
                Duration::from_millis(5),
                Duration::from_millis(5),
            )
            .build(http())
    };
    let video = Media::bytes(MediaKind::Video, vec![3u8; 4000]);
    let PublishOutcome::Pending(handle) = li
        .publish(
            &e.creds,
            &e.person,
            &post("v").with_text("once only").with_media(video),
        )
        .await
        .unwrap()
    else {
        panic!("expected Pending")
    };
    // The video becomes available; the create goes through but its answer is lost.
    e.fake.server().faults().inject(
        "POST",
        "/rest/posts",
        Fault::Delay(Duration::from_secs(3)),
        1,
        Timing::AfterCommit,
    );
    let mut lost = false;
    for _ in 0..10 {
        match li.publish_status(&e.creds, &handle).await {
            Err(err) => {
                assert_eq!(err.kind(), ErrorKind::UnknownOutcome);
                lost = true;
                break;
            }
            Ok(PublishStatus::Processing { .. }) => {}
            Ok(other) => panic!("{other:?}"),
        }
    }
    assert!(lost);
    assert_eq!(e.fake.post_creates(), 1);
    // Asked again, LinkedIn says the post exists: that is the post, not a second one.
    let PublishStatus::Published(p) = li.publish_status(&e.creds, &handle).await.unwrap() else {
        panic!()
    };
    assert_eq!(p.id, e.fake.posts()[0].urn);
    assert_eq!(e.fake.post_creates(), 1);
}

#[tokio::test]
async fn hashtags_with_underscores_survive() {
    let e = env().await;
    let text = "Learning #rust_lang and #tokio today";
    e.li.publish(&e.creds, &e.person, &post("h").with_text(text))
        .await
        .unwrap();
    assert_eq!(e.fake.posts()[0].rendered, text);
}

#[tokio::test]
async fn articles_need_a_title_because_linkedin_does_not_scrape() {
    let e = env().await;
    let err =
        e.li.publish(
            &e.creds,
            &e.person,
            &post("l")
                .with_text("see")
                .with_link(Url::parse("https://example.com").unwrap()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert!(err.to_string().contains("title"));
    assert!(e.fake.requests().is_empty());
}

#[tokio::test]
async fn member_posts_cannot_be_listed_without_the_restricted_scope() {
    let e = env().await;
    let narrow = e
        .fake
        .seed_member("bob", "Bob", &["openid", "profile", "w_member_social"]);
    let creds = postd_core::Credentials::OAuth(postd_core::TokenSet::new(narrow.as_str()));
    let bob = postd_core::Target::new(postd_core::TargetKind::LinkedInPerson, "urn:li:person:bob");
    let p = post("b").with_text("hello");
    e.li.publish(&creds, &bob, &p).await.unwrap();
    let err =
        e.li.find_published(&creds, &bob, &p.fingerprint(chrono::Utc::now()))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_409_that_says_duplicate_post_is_a_duplicate_not_an_unknown_outcome() {
    let e = env().await;
    e.fake.server().faults().inject(
        "POST",
        "/rest/posts",
        Fault::status_with_body(
            409,
            r#"{"status":409,"code":"DUPLICATE_POST","message":"Content is a duplicate of urn:li:share:7141138937766391808"}"#,
        ),
        1,
        Timing::BeforeCommit,
    );
    let err =
        e.li.publish(
            &e.creds,
            &e.person,
            &post("dup409").with_text("said before"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Duplicate, "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    assert_eq!(err.http_status(), Some(409));
}
#[tokio::test]
async fn reconciliation_finds_a_post_that_many_later_posts_pushed_down() {
    let e = env().await;
    let started = chrono::Utc::now();
    let ours = post("ours").with_text("the one we lost");
    e.li.publish(&e.creds, &e.person, &ours).await.unwrap();
    // A busy account: 120 more posts before anyone asks.
    for i in 0..120 {
        e.li.publish(
            &e.creds,
            &e.person,
            &post(&format!("later-{i}")).with_text(format!("later {i}")),
        )
        .await
        .unwrap();
    }
    let found =
        e.li.find_published(&e.creds, &e.person, &ours.fingerprint(started))
            .await
            .unwrap()
            .expect("found past the first page");
    assert_eq!(found.id, e.fake.posts()[0].urn);
    // And a post that was never made is not found, without reading the whole history.
    let never = post("never").with_text("never sent");
    assert!(
        e.li.find_published(&e.creds, &e.person, &never.fingerprint(chrono::Utc::now()))
            .await
            .unwrap()
            .is_none()
    );
}

/// The 3,000-character limit counts what is sent, escapes included, on
/// either side of the length where escaping is skipped as unable to matter.
#[tokio::test]
async fn the_commentary_limit_counts_escapes() {
    let e = env().await;
    let check = |text: String| e.li.validate(&e.person, &post("c").with_text(text));
    assert!(check("(".repeat(1_500)).is_ok(), "3,000 once escaped");
    let err = check("(".repeat(1_501)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    assert!(err.message().contains("once escaped"), "{err}");
    let err = check("(".repeat(1_600)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    assert!(check("a".repeat(2_999)).is_ok());
}
