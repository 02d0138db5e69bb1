//! Shared setup: a TikTok fake with one public creator, and a connector pointed at it.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use postd_core::config::Vars;
use postd_core::{
    ClientRef, Credentials, Media, MediaKind, Post, Target, TargetKind, TikTokCommercialContent,
    TikTokOptions, TikTokPrivacy, TokenSet,
};
use postd_testkit::tiktok::{TikTokFake, TikTokFakeConfig};
use postd_tiktok::{TikTokConfig, TikTokConnector};

pub const OPEN_ID: &str = "afd97af1-b87b-48b9-ac98-410aghda5344";
pub const SCOPES: &[&str] = &[
    "user.info.basic",
    "video.publish",
    "video.upload",
    "video.list",
];

// Not every test binary uses each of them.
#[allow(unused_imports)]
pub use postd_testkit::client::{REQUEST_TIMEOUT, http, retry_policy};

pub fn connector(fake: &TikTokFake, extra: &[(&str, &str)]) -> TikTokConnector {
    let mut vars = Vars::from_pairs([
        ("TIKTOK_CLIENT_KEY", fake.client_key()),
        ("TIKTOK_CLIENT_SECRET", fake.client_secret()),
        ("TIKTOK_DIRECT_POST_AUDITED", "true"),
        (
            "TIKTOK_PULL_URL_PREFIXES",
            "https://cdn.example/,https://media.example/",
        ),
    ]);
    for (k, v) in extra {
        vars.set(*k, *v);
    }
    TikTokConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(fake.url())
        .with_status_timing(Duration::from_millis(5), Duration::from_secs(60))
        .build(http())
}

pub struct Env {
    pub fake: TikTokFake,
    pub tt: TikTokConnector,
    pub creds: Credentials,
    pub token: String,
    pub target: Target,
}

pub async fn env() -> Env {
    env_with(TikTokFakeConfig::default(), &[]).await
}

pub async fn env_with(config: TikTokFakeConfig, extra: &[(&str, &str)]) -> Env {
    let fake = TikTokFake::start_with(config).await;
    let token = fake.seed_user(OPEN_ID, SCOPES);
    let refresh = fake.seed_refresh_token(OPEN_ID, SCOPES);
    fake.verify_domain("cdn.example");
    fake.verify_domain("media.example");
    let tt = connector(&fake, extra);
    let creds = Credentials::OAuth(
        TokenSet::new(token.as_str())
            .with_refresh_token(refresh.as_str())
            .with_scopes(SCOPES.iter().copied())
            .with_subject(OPEN_ID),
    );
    Env {
        fake,
        tt,
        creds,
        token,
        target: Target::new(TargetKind::TikTokAccount, OPEN_ID),
    }
}

pub fn choices(privacy: TikTokPrivacy) -> TikTokOptions {
    TikTokOptions::direct_post(privacy, true, false, false, TikTokCommercialContent::none())
}

pub fn post(r: &str) -> Post {
    Post::new(ClientRef::new(r).unwrap())
}

pub fn photo_post(r: &str, n: usize, privacy: TikTokPrivacy) -> Post {
    let mut p = post(r)
        .with_text(format!("photos {r}"))
        .with_tiktok(choices(privacy));
    for i in 0..n {
        p = p.with_media(
            Media::url(
                MediaKind::Image,
                url::Url::parse(&format!("https://cdn.example/{r}-{i}.jpg")).unwrap(),
            )
            .with_mime_type("image/jpeg"),
        );
    }
    p
}

/// A file of `len` pseudo-random bytes in a fresh directory; the directory is removed on drop.
pub struct TempFile {
    pub dir: std::path::PathBuf,
    pub path: std::path::PathBuf,
    pub data: Vec<u8>,
}

impl TempFile {
    pub fn new(tag: &str, len: usize) -> TempFile {
        let dir = std::env::temp_dir().join(format!("postd-tiktok-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("clip.mp4");
        let mut x: u32 = 0x1234_5678;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        std::fs::write(&path, &data).unwrap();
        TempFile { dir, path, data }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
