//! Upload a large Facebook video from disk and report the uploader's peak memory.
//!
//! The Meta fake runs in a separate process (it buffers each request body, as
//! wiremock does), so the figures are the uploading process's alone.
//!
//! ```text
//! cargo build --release --example meta_video_upload
//! target/release/examples/meta_video_upload --serve > /tmp/meta-fake.json &
//! /usr/bin/time -v target/release/examples/meta_video_upload --upload /tmp/meta-fake.json --size-mib 1024
//! ```
//!
//! Without arguments it starts the fake itself (as a separate process) and uploads 1 GiB.
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use postd::config::Vars;
use postd::connectors::meta::MetaConfig;
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, Target, TargetKind,
    TokenSet,
};
use postd_testkit::meta::{MetaFake, MetaFakeConfig};
use serde_json::{Value, json};

const USER: &str = "10001";
const PAGE: &str = "20002";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size_mib: u64 = args
        .iter()
        .position(|a| a == "--size-mib")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    match args.get(1).map(String::as_str) {
        Some("--serve") => serve(),
        Some("--upload") => {
            let info: Value =
                serde_json::from_str(&std::fs::read_to_string(&args[2]).expect("fake info file"))
                    .unwrap();
            upload(&info, size_mib);
        }
        _ => {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap())
                .arg("--serve")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("start the fake");
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            let info: Value = serde_json::from_str(&line).unwrap();
            upload(&info, size_mib);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the fake and prints how to reach it as one JSON line.
fn serve() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let fake = MetaFake::start_with(MetaFakeConfig {
            record_requests: false,
            video_polls: 0,
            ..MetaFakeConfig::default()
        })
        .await;
        let user = fake.seed_user(
            USER,
            "Uploader",
            &["pages_show_list", "pages_manage_posts", "publish_video"],
        );
        let page = fake.seed_page(USER, PAGE, "Video Page", None);
        let info = json!({
            "uri": fake.uri(), "app_id": fake.app_id(), "app_secret": fake.app_secret(),
            "user_token": user, "page_token": page,
        });
        println!("{info}");
        std::io::stdout().flush().unwrap();
        // Serve until killed.
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

fn upload(info: &Value, size_mib: u64) {
    let s = |k: &str| info[k].as_str().unwrap().to_owned();
    let path = std::env::temp_dir().join(format!(
        "postd-video-{}-{size_mib}MiB.mp4",
        std::process::id()
    ));
    let file = std::fs::File::create(&path).unwrap();
    // A sparse file: the disk stays empty, the bytes read are zeros, the upload is real.
    file.set_len(size_mib * 1024 * 1024).unwrap();
    drop(file);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = rt.block_on(async {
        let vars = Vars::from_pairs([
            ("META_CLIENT_ID", s("app_id")),
            ("META_CLIENT_SECRET", s("app_secret")),
        ]);
        let meta = MetaConfig::from_vars(&vars)
            .unwrap()
            .with_base_url(url::Url::parse(&format!("{}/", s("uri"))).unwrap())
            .build(
                HttpClient::builder()
                    .request_timeout(Duration::from_secs(600))
                    .build()
                    .unwrap(),
            );
        let creds =
            Credentials::OAuth(TokenSet::new(s("user_token")).with_derived(PAGE, s("page_token")));
        let video = Media::file(MediaKind::Video, &path).with_mime_type("video/mp4");
        let post = Post::new(ClientRef::new("big-video").unwrap())
            .with_text("A big one")
            .with_media(video);
        meta.publish(&creds, &Target::new(TargetKind::FacebookPage, PAGE), &post)
            .await
    });
    let elapsed = started.elapsed();
    std::fs::remove_file(&path).ok();
    let outcome = outcome.expect("upload failed");
    let id = match outcome {
        PublishOutcome::Published(p) => p.id,
        PublishOutcome::Pending(h) => h.id,
        other => panic!("{other:?}"),
    };
    let bytes = size_mib * 1024 * 1024;
    println!(
        "uploaded {size_mib} MiB as video {id} in {:.2} s ({:.0} MiB/s)",
        elapsed.as_secs_f64(),
        bytes as f64 / 1048576.0 / elapsed.as_secs_f64()
    );
    println!("uploader peak RSS (VmHWM): {} MiB", peak_rss_kib() / 1024);
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
