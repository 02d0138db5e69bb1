//! Posts TikTok would refuse, or that lack the user's own choices, are
//! refused by `validate` with a typed error, before any call.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::{
    Connector, ErrorKind, Media, MediaKind, Post, TikTokCommercialContent, TikTokOptions,
    TikTokPrivacy,
};

fn video(url: &str) -> Media {
    Media::url(MediaKind::Video, url::Url::parse(url).unwrap())
}

fn image(url: &str) -> Media {
    Media::url(MediaKind::Image, url::Url::parse(url).unwrap()).with_mime_type("image/jpeg")
}

fn pulled_video(r: &str) -> Post {
    post(r)
        .with_text("caption")
        .with_media(video("https://media.example/v.mp4"))
        .with_tiktok(choices(TikTokPrivacy::PublicToEveryone))
}

#[tokio::test]
async fn bad_posts_get_their_kind_and_no_call_is_made() {
    let e = env().await;
    let emoji = "\u{1F35E}"; // two UTF-16 units
    let mut cases: Vec<(&str, Post, ErrorKind)> = vec![
        (
            "no media",
            post("a")
                .with_text("x")
                .with_tiktok(choices(TikTokPrivacy::SelfOnly)),
            ErrorKind::InvalidContent,
        ),
        (
            "a video and a photo",
            pulled_video("b").with_media(image("https://cdn.example/a.jpg")),
            ErrorKind::InvalidContent,
        ),
        (
            "36 photos",
            photo_post("c", 36, TikTokPrivacy::SelfOnly),
            ErrorKind::InvalidContent,
        ),
        (
            "a caption of 2201 UTF-16 units",
            pulled_video("d").with_text("a".repeat(2201)),
            ErrorKind::InvalidContent,
        ),
        (
            "a caption of 1101 emoji (2202 UTF-16 units)",
            pulled_video("e").with_text(emoji.repeat(1101)),
            ErrorKind::InvalidContent,
        ),
        (
            "a PNG photo",
            post("f")
                .with_media(image("https://cdn.example/a.png").with_mime_type("image/png"))
                .with_tiktok(choices(TikTokPrivacy::SelfOnly)),
            ErrorKind::MediaRejected,
        ),
        (
            "a photo from bytes",
            post("g")
                .with_media(
                    Media::bytes(MediaKind::Image, vec![1u8; 10]).with_mime_type("image/jpeg"),
                )
                .with_tiktok(choices(TikTokPrivacy::SelfOnly)),
            ErrorKind::Unsupported,
        ),
        (
            "a photo on an unverified host",
            post("h")
                .with_media(image("https://elsewhere.example/a.jpg"))
                .with_tiktok(choices(TikTokPrivacy::SelfOnly)),
            ErrorKind::InvalidContent,
        ),
        (
            "a video pulled over http",
            post("i")
                .with_media(video("http://media.example/v.mp4"))
                .with_tiktok(choices(TikTokPrivacy::SelfOnly)),
            ErrorKind::InvalidContent,
        ),
        (
            "an AVI video",
            post("j")
                .with_media(video("https://media.example/v.avi").with_mime_type("video/x-msvideo"))
                .with_tiktok(choices(TikTokPrivacy::SelfOnly)),
            ErrorKind::MediaRejected,
        ),
        (
            "a link",
            pulled_video("k").with_link(url::Url::parse("https://x.example").unwrap()),
            ErrorKind::InvalidContent,
        ),
        (
            "a video over 4 GB",
            post("l")
                .with_media(video("https://media.example/v.mp4").with_size_hint(4_000_000_001))
                .with_tiktok(choices(TikTokPrivacy::SelfOnly)),
            ErrorKind::MediaRejected,
        ),
    ];
    let mut photo_title = photo_post("m", 1, TikTokPrivacy::SelfOnly);
    let mut o = photo_title.options.tiktok.take().unwrap();
    o.title = Some("t".repeat(91));
    cases.push((
        "a photo title of 91",
        photo_title.with_tiktok(o),
        ErrorKind::InvalidContent,
    ));
    let mut cover = photo_post("n", 2, TikTokPrivacy::SelfOnly);
    let mut o = cover.options.tiktok.take().unwrap();
    o.photo_cover_index = Some(2);
    cases.push((
        "a cover index past the last photo",
        cover.with_tiktok(o),
        ErrorKind::InvalidContent,
    ));
    let before = e.fake.requests().len();
    for (what, post, kind) in cases {
        let err = e.tt.validate(&e.target, &post).unwrap_err();
        assert_eq!(err.kind(), kind, "{what}: {err}");
        let err = e.tt.publish(&e.creds, &e.target, &post).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{what} (publish): {err}");
    }
    assert_eq!(e.fake.requests().len(), before, "no call was made");
    // 2200 UTF-16 units exactly is fine.
    e.tt.validate(&e.target, &pulled_video("ok").with_text(emoji.repeat(1100)))
        .unwrap();
}

#[tokio::test]
async fn a_direct_post_needs_each_choice_from_the_user_and_names_what_is_missing() {
    let e = env().await;
    let bare = pulled_video("bare").with_tiktok(TikTokOptions::new());
    let err = e.tt.validate(&e.target, &bare).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    for name in [
        "privacy_level",
        "allow_comment",
        "allow_duet",
        "allow_stitch",
        "commercial_content",
        "music_usage_confirmed",
    ] {
        assert!(err.to_string().contains(name), "{name} missing from {err}");
    }
    // No options at all is the same.
    let none = post("none").with_media(video("https://media.example/v.mp4"));
    assert_eq!(
        e.tt.validate(&e.target, &none).unwrap_err().kind(),
        ErrorKind::InvalidContent
    );
    // Photos need no duet or stitch choice.
    let photo = photo_post("photo", 1, TikTokPrivacy::SelfOnly);
    let mut o = photo.options.tiktok.clone().unwrap();
    o.allow_duet = None;
    o.allow_stitch = None;
    e.tt.validate(&e.target, &photo.clone().with_tiktok(o.clone()))
        .unwrap();
    o.music_usage_confirmed = false;
    let err = e.tt.validate(&e.target, &photo.with_tiktok(o)).unwrap_err();
    assert!(err.to_string().contains("music_usage_confirmed"), "{err}");
    // An inbox draft needs none of them.
    let inbox = post("inbox")
        .with_media(video("https://media.example/v.mp4"))
        .with_tiktok(TikTokOptions::inbox());
    e.tt.validate(&e.target, &inbox).unwrap();
}

#[tokio::test]
async fn branded_content_cannot_be_private_and_an_unaudited_app_posts_only_privately() {
    let e = env().await;
    let branded = pulled_video("branded").with_tiktok(TikTokOptions::direct_post(
        TikTokPrivacy::SelfOnly,
        true,
        true,
        true,
        TikTokCommercialContent::branded_content(),
    ));
    let err = e.tt.validate(&e.target, &branded).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert!(
        err.to_string()
            .contains("branded content cannot be private"),
        "{err}"
    );

    let unaudited = env_with(
        Default::default(),
        &[("TIKTOK_DIRECT_POST_AUDITED", "false")],
    )
    .await;
    let err = unaudited
        .tt
        .validate(&unaudited.target, &pulled_video("public"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    assert!(err.to_string().contains("Direct Post audit"), "{err}");
    let private = pulled_video("private").with_tiktok(choices(TikTokPrivacy::SelfOnly));
    unaudited.tt.validate(&unaudited.target, &private).unwrap();
}
