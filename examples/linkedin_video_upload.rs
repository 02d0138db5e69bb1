//! Upload a large LinkedIn video from disk and report the uploader's peak
//! memory and throughput, next to `curl -T` of the same file to the same fake.
//!
//! The LinkedIn fake runs in a separate process (it buffers each request
//! body), so the memory figure is the uploading process's alone.
//!
//! ```text
//! cargo build --release --example linkedin_video_upload
//! target/release/examples/linkedin_video_upload --serve > /tmp/li-fake.json &
//! /usr/bin/time -v target/release/examples/linkedin_video_upload --upload /tmp/li-fake.json --size-mib 1024 --curl
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // an example fails loudly

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use postd::config::Vars;
use postd::connectors::linkedin::LinkedInConfig;
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, Target, TargetKind,
    TokenSet,
};
use postd_testkit::linkedin::{LinkedInFake, LinkedInFakeConfig};
use serde_json::{Value, json};

const SUB: &str = "782bbtaQ";
const PERSON: &str = "urn:li:person:782bbtaQ";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let size_mib: u64 = args
        .iter()
        .position(|a| a == "--size-mib")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1024);
    let curl = args.iter().any(|a| a == "--curl");
    match args.get(1).map(String::as_str) {
        Some("--serve") => serve(),
        Some("--upload") => {
            let info: Value =
                serde_json::from_str(&std::fs::read_to_string(&args[2]).unwrap()).unwrap();
            upload(&info, size_mib, curl);
        }
        _ => {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap())
                .arg("--serve")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            upload(&serde_json::from_str(&line).unwrap(), size_mib, curl);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn serve() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let fake = LinkedInFake::start_with(LinkedInFakeConfig {
            record_requests: false,
            video_polls: 0,
            video_size_limits: 1..=u64::MAX,
            ..LinkedInFakeConfig::default()
        })
        .await;
        let token = fake.seed_member(SUB, "Uploader", &["openid", "profile", "w_member_social"]);
        println!(
            "{}",
            json!({"uri": fake.uri(), "client_id": fake.client_id(), "client_secret": fake.client_secret(), "token": token})
        );
        std::io::stdout().flush().unwrap();
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

fn upload(info: &Value, size_mib: u64, curl: bool) {
    let s = |k: &str| info[k].as_str().unwrap().to_owned();
    let path = std::env::temp_dir().join(format!(
        "postd-li-video-{}-{size_mib}MiB.mp4",
        std::process::id()
    ));
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(size_mib * 1024 * 1024).unwrap(); // sparse: zeros are read, nothing is stored
    drop(file);
    let bytes = size_mib * 1024 * 1024;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let started = Instant::now();
    let outcome = rt.block_on(async {
        let vars = Vars::from_pairs([
            ("LINKEDIN_CLIENT_ID", s("client_id")),
            ("LINKEDIN_CLIENT_SECRET", s("client_secret")),
        ]);
        let li = LinkedInConfig::from_vars(&vars)
            .unwrap()
            .with_base_url(url::Url::parse(&format!("{}/", s("uri"))).unwrap())
            .build(HttpClient::builder().build().unwrap());
        let post = Post::new(ClientRef::new("big-video").unwrap())
            .with_text("A big one")
            .with_media(Media::file(MediaKind::Video, &path).with_mime_type("video/mp4"));
        li.publish(
            &Credentials::OAuth(TokenSet::new(s("token"))),
            &Target::new(TargetKind::LinkedInPerson, PERSON),
            &post,
        )
        .await
    });
    let elapsed = started.elapsed();
    let id = match outcome.expect("upload failed") {
        PublishOutcome::Published(p) => p.id,
        PublishOutcome::Pending(h) => h.id,
        other => panic!("{other:?}"),
    };
    println!(
        "postd: uploaded {size_mib} MiB and posted {id} in {:.2} s ({:.0} MiB/s)",
        elapsed.as_secs_f64(),
        bytes as f64 / 1048576.0 / elapsed.as_secs_f64()
    );
    println!(
        "postd: uploader peak RSS (VmHWM): {} MiB",
        peak_rss_kib() / 1024
    );

    if curl {
        // The same file, one PUT, to an upload URL on the same fake.
        let upload_url = rt.block_on(async {
            postd::http::install_crypto_provider();
            let init: Value = postd::reqwest::Client::new()
                .post(format!("{}/rest/images?action=initializeUpload", s("uri")))
                .bearer_auth(s("token"))
                .header(
                    "LinkedIn-Version",
                    postd::connectors::linkedin::DEFAULT_LINKEDIN_VERSION,
                )
                .header("X-Restli-Protocol-Version", "2.0.0")
                .json(&json!({"initializeUploadRequest": {"owner": PERSON}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            init["value"]["uploadUrl"].as_str().unwrap().to_owned()
        });
        let started = Instant::now();
        let status = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-H",
                &format!("Authorization: Bearer {}", s("token")),
                "-T",
            ])
            .arg(&path)
            .arg(&upload_url)
            .status()
            .expect("curl runs");
        let elapsed = started.elapsed();
        println!(
            "curl -T: sent {size_mib} MiB in {:.2} s ({:.0} MiB/s), exit {status}",
            elapsed.as_secs_f64(),
            bytes as f64 / 1048576.0 / elapsed.as_secs_f64()
        );
    }
    std::fs::remove_file(&path).ok();
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
