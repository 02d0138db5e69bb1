//! Publish to a TikTok creator: the compose screen's `creator_info`, a video
//! from a file (Direct Post, chunked upload), a photo post pulled from URLs,
//! and a draft sent to the creator's inbox, each followed to its end.
//!
//! By default this runs against the local TikTok fake (no credentials, no
//! network). With a real access token it talks to TikTok, and only sends a
//! video to the creator's inbox as a draft (nothing is posted publicly):
//!
//! ```text
//! cargo run --example tiktok_publish
//! TIKTOK_CLIENT_KEY=... TIKTOK_CLIENT_SECRET=... TIKTOK_ACCESS_TOKEN=... \
//!   TIKTOK_VIDEO_FILE=clip.mp4 cargo run --example tiktok_publish
//! ```
//!
//! A real app asks the creator for every choice a Direct Post carries
//! (privacy, comments, duets, stitches, the commercial-content disclosure,
//! the Music Usage Confirmation) on a compose screen built from
//! `creator_info`; the choices below stand for what a creator picked.
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use std::time::Duration;

use postd::config::Vars;
use postd::connectors::tiktok::{TikTokConfig, TikTokConnector};
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, PublishStatus,
    Target, TikTokCommercialContent, TikTokOptions, TikTokPrivacy, TokenSet,
};
use postd_testkit::tiktok::TikTokFake;
use url::Url;

#[tokio::main]
async fn main() -> Result<(), postd::Error> {
    let vars = Vars::from_env();
    if let Some(token) = vars.optional("TIKTOK_ACCESS_TOKEN") {
        return real_run(&vars, token).await;
    }

    println!("No TIKTOK_ACCESS_TOKEN: publishing to the local TikTok fake.\n");
    let fake = TikTokFake::start().await;
    let scopes = [
        "user.info.basic",
        "video.publish",
        "video.upload",
        "video.list",
    ];
    let token = fake.seed_user("creator-1", &scopes);
    fake.verify_domain("cdn.example");
    let vars = Vars::from_pairs([
        ("TIKTOK_CLIENT_KEY", fake.client_key()),
        ("TIKTOK_CLIENT_SECRET", fake.client_secret()),
        ("TIKTOK_DIRECT_POST_AUDITED", "true"),
        ("TIKTOK_PULL_URL_PREFIXES", "https://cdn.example/"),
    ]);
    let tiktok = TikTokConfig::from_vars(&vars)?
        .with_base_url(fake.url())
        .with_status_timing(Duration::from_millis(20), Duration::from_secs(60))
        .build(HttpClient::shared()?);
    let creds = Credentials::OAuth(
        TokenSet::new(token.as_str())
            .with_scopes(scopes)
            .with_subject("creator-1"),
    );
    let target = tiktok.targets(&creds).await?.remove(0);

    let info = tiktok.creator_info(&creds).await?;
    println!(
        "Compose screen for @{}: privacy {:?}; comments {}, duets {}, stitches {}; videos up to {} s\n",
        info.username,
        info.privacy_level_options,
        on_off(info.comment_disabled),
        on_off(info.duet_disabled),
        on_off(info.stitch_disabled),
        info.max_video_post_duration_sec.unwrap_or(0),
    );

    // The creator's choices on that screen.
    let choices = || {
        TikTokOptions::direct_post(
            TikTokPrivacy::PublicToEveryone,
            true,
            false,
            false,
            TikTokCommercialContent::none(),
        )
    };
    let dir = std::env::temp_dir().join(format!("postd-tiktok-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp folder");
    let video = dir.join("knead.mp4");
    // 12 MB: two chunks (10,000,000 bytes and the rest, as TikTok plans them).
    std::fs::write(&video, vec![0x42u8; 12_000_000]).expect("write the video");

    let posts = [
        (
            "video",
            Post::new(ClientRef::new("tiktok-video")?)
                .with_text("How we knead #bread")
                .with_media(Media::file(MediaKind::Video, &video).with_mime_type("video/mp4"))
                .with_tiktok(choices()),
        ),
        (
            "photos",
            Post::new(ClientRef::new("tiktok-photos")?)
                .with_text("This morning's loaves")
                .with_media(photo("https://cdn.example/loaf-1.jpg"))
                .with_media(photo("https://cdn.example/loaf-2.jpg"))
                .with_tiktok(choices().with_title("Loaves")),
        ),
        (
            "inbox draft",
            Post::new(ClientRef::new("tiktok-draft")?)
                .with_text("A draft to finish in the app")
                .with_media(Media::file(MediaKind::Video, &video).with_mime_type("video/mp4"))
                .with_tiktok(TikTokOptions::inbox()),
        ),
    ];
    for (what, post) in &posts {
        let outcome = tiktok.publish(&creds, &target, post).await?;
        // TikTok processes and moderates on its side: ask until it is done.
        println!("{what}: {}", follow(&tiktok, &creds, outcome).await?);
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// With real credentials: the creator's compose screen, then the video
/// file sent to their inbox as a draft.
async fn real_run(vars: &Vars, token: String) -> Result<(), postd::Error> {
    let tiktok = TikTokConfig::from_vars(vars)?.build(HttpClient::shared()?);
    let creds = Credentials::OAuth(TokenSet::new(token));
    let target: Target = tiktok.targets(&creds).await?.remove(0);
    let info = tiktok.creator_info(&creds).await?;
    println!(
        "@{} may post with {:?}",
        info.username, info.privacy_level_options
    );
    let Some(file) = vars.optional("TIKTOK_VIDEO_FILE") else {
        println!("Set TIKTOK_VIDEO_FILE to send a video to the creator's inbox as a draft.");
        return Ok(());
    };
    let post = Post::new(ClientRef::new("postd-example")?)
        .with_text("Uploaded by POSTD")
        .with_media(Media::file(MediaKind::Video, file).with_mime_type("video/mp4"))
        .with_tiktok(TikTokOptions::inbox());
    let outcome = tiktok.publish(&creds, &target, &post).await?;
    println!("inbox draft: {}", follow(&tiktok, &creds, outcome).await?);
    Ok(())
}

/// Follows a publish with `publish_status` until it has ended.
async fn follow(
    tiktok: &TikTokConnector,
    creds: &Credentials,
    outcome: PublishOutcome,
) -> Result<String, postd::Error> {
    let mut handle = match outcome {
        PublishOutcome::Published(p) => return Ok(format!("published {}", p.id)),
        PublishOutcome::Pending(h) => h,
        other => return Ok(format!("{other:?}")),
    };
    for _ in 0..200 {
        match tiktok.publish_status(creds, &handle).await? {
            PublishStatus::Published(p) => {
                return Ok(format!(
                    "published {} {}",
                    p.id,
                    p.url.map(|u| u.to_string()).unwrap_or_default()
                ));
            }
            PublishStatus::Processing {
                state,
                retry_after,
                next,
            } => {
                println!("  ... {state}");
                tokio::time::sleep(retry_after.min(Duration::from_secs(5))).await;
                handle = next;
            }
            PublishStatus::Failed { code, message, .. } => {
                return Ok(format!("failed ({code}): {message}"));
            }
            other => return Ok(format!("{other:?}")),
        }
    }
    Ok(format!("still processing {}", handle.id))
}

fn photo(url: &str) -> Media {
    Media::url(MediaKind::Image, Url::parse(url).expect("a URL")).with_mime_type("image/jpeg")
}

fn on_off(disabled: bool) -> &'static str {
    if disabled { "off" } else { "on" }
}
