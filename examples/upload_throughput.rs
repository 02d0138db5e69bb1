//! LinkedIn, TikTok and Facebook video uploads through POSTD against curl
//! sending the same parts to the same sink, and against the loopback ceiling.
//!
//! A sink server in another process answers the Videos API calls of a video
//! post with fixed answers (`initializeUpload` hands out 4 MiB parts, as
//! LinkedIn does, each with its own URL on the sink; `finalizeUpload`; the
//! status `AVAILABLE`; `POST /rest/posts`), reads every part's body into one
//! reused buffer and throws it away, answers TikTok's creator info, init and
//! chunk `PUT`s (`206`, then `201` for the last) and Facebook's upload
//! session (the next `file_offset`, then the handle), keeps no state, and
//! answers anything else with an error so an unexpected request fails the run.
//!
//! The file is real: written with pseudo-random bytes (not sparse), read once
//! before the first round so every side reads it from the page cache. curl
//! cannot send a byte range of a file, so its parts are the same bytes split
//! into part files beside it.
//!
//! Each round runs, in alternating order:
//! - `postd 1`: the connector's `publish` of a video post, one part at a time
//!   (`with_video_parts_in_flight(1)`), in its own process on a one-thread
//!   runtime (as `postd worker` runs by default), which reports its peak RSS;
//! - `curl 1`: one `curl` process sending every part file to its part URL,
//!   one after another on one connection (`-T part URL` per part);
//! - `postd P` and `curl P`: the same with `P` parts at once (`--parallel
//!   --parallel-max P` for curl);
//! - `postd tiktok` and `curl tiktok`: a TikTok Direct Post's `FILE_UPLOAD`,
//!   the same chunks of 10,000,000 bytes (the last takes the remainder) one
//!   after another with their `Content-Range`, as TikTok takes them only in
//!   order (the sink also answers creator info and the init);
//! - `postd facebook` and `curl facebook`: a Facebook Page video through
//!   the Resumable Upload API, the same 8 MiB parts one after another, each
//!   `POST`ed with its `file_offset` (the sink also answers the session, the
//!   `/videos` call and the status `ready`);
//! - `postd x` and `curl x`: an X video Post through the v2 media upload,
//!   the same 4 MiB segments one after another, each a multipart
//!   `segment_index` + `media` `POST` to `append` (the sink also answers
//!   initialize, finalize with processing `succeeded`, and `POST /2/tweets`);
//! - `curl -T` of the whole file as one request to the same sink, and the
//!   whole file written to a bare socket with sendfile: the faster of the
//!   two is the loopback ceiling.
//!
//! curl sends no `Expect: 100-continue` (`-H Expect:`), as reqwest does not.
//! Prints each round's MiB/s, then min and median of POSTD/curl per mode, the
//! ceiling, POSTD's peak RSS and the load average, and a JSON line.
//!
//! ```sh
//! cargo build --release --example upload_throughput
//! target/release/examples/upload_throughput [rounds=5] [size_mib=1024] [parallel=4]
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use postd::connectors::linkedin::LinkedInConfig;
use postd::connectors::meta::{DEFAULT_GRAPH_VERSION, MetaConfig};
use postd::connectors::tiktok::TikTokConfig;
use postd::connectors::twitter::XConfig;
use postd::http::HttpClient;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, Target, TargetKind,
    TikTokCommercialContent, TikTokOptions, TikTokPrivacy, TokenSet,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PART: u64 = 4 * 1024 * 1024;
/// POSTD's TikTok chunk size (the connector's default).
const TIKTOK_CHUNK: u64 = postd::connectors::tiktok::DEFAULT_CHUNK_SIZE;
/// POSTD's Resumable Upload part size for Facebook videos.
const FB_PART: u64 = 8 * 1024 * 1024;
const FB_APP: &str = "100200300";
const FB_PAGE: &str = "20002";
const FB_VIDEO: &str = "55500555";
const PERSON: &str = "urn:li:person:782bbtaQ";
const VIDEO: &str = "urn:li:video:C5F10AQGKQg_6y2a4sQ";
const X_USER: &str = "2244994945";
const X_MEDIA: &str = "1880028106020515840";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve") => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(serve());
        }
        Some("--postd") => postd_side(&args[2], Path::new(&args[3]), args[4].parse().unwrap()),
        Some("--postd-tiktok") => postd_tiktok_side(&args[2], Path::new(&args[3])),
        Some("--postd-facebook") => postd_facebook_side(&args[2], Path::new(&args[3])),
        Some("--postd-x") => postd_x_side(&args[2], Path::new(&args[3])),
        _ => {
            let num = |i: usize, default: u64| {
                args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default)
            };
            run(num(1, 5), num(2, 1024), num(3, 4));
        }
    }
}

/// A video post of `file`.
fn video_post(client_ref: &str, file: &Path) -> Post {
    Post::new(ClientRef::new(client_ref).unwrap())
        .with_text("Benchmark video")
        .with_media(Media::file(MediaKind::Video, file).with_mime_type("video/mp4"))
}

/// Publishes `post` once in this process, on a one-thread runtime (as
/// `postd worker` runs by default), checks that it ended as expected
/// (`pending`: TikTok answers `Pending` until it has processed the video),
/// and prints `{"secs":..,"peak_rss_kib":..}`.
fn time_one_publish(
    connector: &dyn Connector,
    creds: &Credentials,
    target: &Target,
    post: &Post,
    pending: bool,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let secs = rt.block_on(async {
        let started = Instant::now();
        let outcome = connector.publish(creds, target, post).await.unwrap();
        let expected = if pending {
            matches!(outcome, PublishOutcome::Pending(_))
        } else {
            matches!(outcome, PublishOutcome::Published(_))
        };
        assert!(expected, "{outcome:?}");
        started.elapsed().as_secs_f64()
    });
    println!("{}", json!({"secs": secs, "peak_rss_kib": peak_rss_kib()}));
}

/// One POSTD LinkedIn video post of the file, `parallel` parts at once.
fn postd_side(base: &str, file: &Path, parallel: usize) {
    let li = LinkedInConfig::new("bench-client", "bench-secret".to_owned().into())
        .unwrap()
        .with_base_url(url::Url::parse(base).unwrap())
        .with_video_parts_in_flight(parallel)
        .build(HttpClient::shared().unwrap());
    let creds = Credentials::OAuth(
        TokenSet::new("AQVbenchmembertoken").with_scopes(["openid", "w_member_social"]),
    );
    let target = Target::new(TargetKind::LinkedInPerson, PERSON);
    time_one_publish(
        &li,
        &creds,
        &target,
        &video_post("upload-bench", file),
        false,
    );
}

/// One POSTD TikTok Direct Post of the file (its chunks one after another,
/// as TikTok requires).
fn postd_tiktok_side(base: &str, file: &Path) {
    let tt = TikTokConfig::new("bench-client-key", "bench-secret".to_owned().into())
        .unwrap()
        .with_base_url(url::Url::parse(base).unwrap())
        .with_direct_post_audited(true)
        .build(HttpClient::shared().unwrap());
    let creds = Credentials::OAuth(
        TokenSet::new("act.benchcreatortoken").with_scopes(["user.info.basic", "video.publish"]),
    );
    let target = Target::new(TargetKind::TikTokAccount, "bench-open-id");
    let post = video_post("upload-bench-tiktok", file).with_tiktok(TikTokOptions::direct_post(
        TikTokPrivacy::SelfOnly,
        true,
        false,
        false,
        TikTokCommercialContent::none(),
    ));
    time_one_publish(&tt, &creds, &target, &post, true);
}

/// One POSTD Facebook Page video post of the file (the Resumable Upload
/// API's parts one after another, each at the offset the last answer gave).
fn postd_facebook_side(base: &str, file: &Path) {
    let vars = postd::config::Vars::from_pairs([
        ("META_CLIENT_ID", FB_APP),
        ("META_CLIENT_SECRET", "bench-app-secret"),
    ]);
    let meta = MetaConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(url::Url::parse(base).unwrap())
        .build(HttpClient::shared().unwrap());
    let creds =
        Credentials::OAuth(TokenSet::new("bench-user-token").with_derived(FB_PAGE, "bench-page"));
    let target = Target::new(TargetKind::FacebookPage, FB_PAGE);
    let post = video_post("upload-bench-facebook", file);
    time_one_publish(&meta, &creds, &target, &post, false);
}

/// One POSTD X video Post of the file (its 4 MiB segments appended one
/// after another, as X takes them in order).
fn postd_x_side(base: &str, file: &Path) {
    let x = XConfig::new("bench-client")
        .unwrap()
        .with_base_url(url::Url::parse(base).unwrap())
        .with_segment_size(PART)
        .unwrap()
        .build(HttpClient::shared().unwrap());
    let creds = Credentials::OAuth(
        TokenSet::new("bench-x-token")
            .with_scopes(["tweet.read", "tweet.write", "users.read", "media.write"])
            .with_subject(X_USER),
    );
    let target = Target::new(TargetKind::TwitterAccount, X_USER);
    time_one_publish(
        &x,
        &creds,
        &target,
        &video_post("upload-bench-x", file),
        false,
    );
}

/// The X segments (the same 4 MiB part files), one after another on one
/// connection, each a multipart `POST` of `segment_index` and `media`.
fn curl_x_segments(base: &str, dir: &Path, parts: u64) -> f64 {
    let mut cmd = std::process::Command::new("curl");
    for i in 0..parts {
        if i > 0 {
            cmd.arg("--next");
        }
        cmd.args([
            "-s",
            "-S",
            "--fail",
            "-H",
            "Expect:",
            "-H",
            "Authorization: Bearer bench-x-token",
        ])
        .arg("-F")
        .arg(format!("segment_index={i}"))
        .arg("-F")
        .arg(format!(
            "media=@{};type=application/octet-stream",
            dir.join(format!("part-{i:05}")).display()
        ))
        .arg(format!("{base}/2/media/upload/{X_MEDIA}/append"))
        .args(["-o", "/dev/null"]);
    }
    time_curl(cmd, "curl x segments")
}

/// The Facebook part files, one after another on one connection, each
/// `POST`ed to the upload session with its `file_offset`.
fn curl_facebook_parts(base: &str, dir: &Path, size: u64) -> f64 {
    let mut cmd = std::process::Command::new("curl");
    let session = format!("{base}/{DEFAULT_GRAPH_VERSION}/upload:len{size}?sig=bench");
    for i in 0..size.div_ceil(FB_PART) {
        if i > 0 {
            cmd.arg("--next");
        }
        cmd.args([
            "-s",
            "-S",
            "--fail",
            "-X",
            "POST",
            "-H",
            "Expect:",
            "-H",
            "Authorization: OAuth bench-user-token",
        ])
        .arg("-H")
        .arg(format!("file_offset: {}", i * FB_PART))
        .arg("-T")
        .arg(dir.join(format!("fbpart-{i:05}")))
        .arg(&session)
        .args(["-o", "/dev/null"]);
    }
    time_curl(cmd, "curl facebook parts")
}

/// The sink process, stopped when the run ends or panics.
struct Sink(std::process::Child);

impl Drop for Sink {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn run(rounds: u64, size_mib: u64, parallel: u64) {
    let dir = std::env::temp_dir().join("postd-upload-bench");
    let file = prepare(&dir, size_mib);
    let size = size_mib * 1024 * 1024;
    let parts = size.div_ceil(PART);

    let mut server = Sink(
        std::process::Command::new(std::env::current_exe().unwrap())
            .arg("--serve")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_owned();
    let load_before = load();

    let modes = [
        "postd 1",
        "curl 1",
        "postd P",
        "curl P",
        "curl -T",
        "raw",
        "postd tiktok",
        "curl tiktok",
        "postd facebook",
        "curl facebook",
        "postd x",
        "curl x",
    ];
    let mut speeds: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut rss = [0u64; 5];
    let pairs = [(0, 1), (2, 3), (6, 7), (8, 9), (10, 11), (4, 5)];
    for round in 0..rounds {
        // Alternate the pairs' order, and which side of a pair goes first.
        let mut order: Vec<usize> = Vec::new();
        let flip = (round % 2 == 1) != (round % 4 >= 2);
        let mut round_pairs = pairs.to_vec();
        if round % 2 == 1 {
            round_pairs.reverse();
        }
        for (a, b) in round_pairs {
            if flip {
                order.extend([b, a]);
            } else {
                order.extend([a, b]);
            }
        }
        let mut line = format!("round {}:", round + 1);
        for &m in &order {
            let secs = match m {
                0 | 2 => {
                    let p = if m == 0 { 1 } else { parallel };
                    let (secs, peak) = postd_child(&base, &file, "--postd", &[&p.to_string()]);
                    rss[m / 2] = rss[m / 2].max(peak);
                    secs
                }
                1 | 3 => curl_parts(&base, &dir, parts, if m == 1 { 1 } else { parallel }),
                4 => curl_whole(&base, &file),
                5 => raw_whole(&base, &file),
                6 => {
                    let (secs, peak) = postd_child(&base, &file, "--postd-tiktok", &[]);
                    rss[2] = rss[2].max(peak);
                    secs
                }
                7 => curl_tiktok_chunks(&base, &dir, size),
                8 => {
                    let (secs, peak) = postd_child(&base, &file, "--postd-facebook", &[]);
                    rss[3] = rss[3].max(peak);
                    secs
                }
                9 => curl_facebook_parts(&base, &dir, size),
                10 => {
                    let (secs, peak) = postd_child(&base, &file, "--postd-x", &[]);
                    rss[4] = rss[4].max(peak);
                    secs
                }
                _ => curl_x_segments(&base, &dir, parts),
            };
            let mibs = size_mib as f64 / secs;
            speeds[m].push(mibs);
            line.push_str(&format!(" {} {mibs:.0} MiB/s;", modes[m]));
        }
        println!("{line}");
    }
    drop(server);

    let ratio = |a: usize, b: usize| -> Vec<f64> {
        let mut r: Vec<f64> = speeds[a]
            .iter()
            .zip(&speeds[b])
            .map(|(x, y)| x / y)
            .collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let median = |v: &[f64]| v[v.len() / 2];
    let seq = ratio(0, 1);
    let par = ratio(2, 3);
    let tiktok = ratio(6, 7);
    let facebook = ratio(8, 9);
    let x = ratio(10, 11);
    let mut curl_t = speeds[4].clone();
    curl_t.sort_by(f64::total_cmp);
    let mut ceiling = speeds[5].clone();
    ceiling.sort_by(f64::total_cmp);
    let mut postd_par = speeds[2].clone();
    postd_par.sort_by(f64::total_cmp);
    println!(
        "{size_mib} MiB in {parts} parts of 4 MiB, {rounds} rounds, parts at once P = {parallel}"
    );
    println!(
        "POSTD/curl MiB/s, one part at a time: min {:.2}, median {:.2}",
        seq[0],
        median(&seq)
    );
    println!(
        "POSTD/curl MiB/s, {parallel} parts at once: min {:.2}, median {:.2}",
        par[0],
        median(&par)
    );
    let plan = tiktok_plan(size);
    println!(
        "TikTok, {} chunks of {} bytes one after another (TikTok takes them only in order), POSTD/curl MiB/s: min {:.2}, median {:.2}",
        plan.len(),
        TIKTOK_CHUNK,
        tiktok[0],
        median(&tiktok)
    );
    println!(
        "Facebook, {} parts of {FB_PART} bytes one after another (each at the offset the last answer gave), POSTD/curl MiB/s: min {:.2}, median {:.2}",
        size.div_ceil(FB_PART),
        facebook[0],
        median(&facebook)
    );
    println!(
        "X, {parts} segments of 4 MiB one after another (multipart appends, in order), POSTD/curl MiB/s: min {:.2}, median {:.2}",
        x[0],
        median(&x)
    );
    println!(
        "one request of the whole file: curl -T median {:.0} MiB/s, sendfile on a bare socket median {:.0} MiB/s; POSTD with {parallel} parts at once reaches {:.2} of the faster (the loopback ceiling)",
        median(&curl_t),
        median(&ceiling),
        median(&postd_par) / median(&curl_t).max(median(&ceiling))
    );
    println!(
        "POSTD uploader peak RSS (max over its runs): LinkedIn {} KiB one part at a time, {} KiB with {parallel} at once; TikTok {} KiB; Facebook {} KiB; X {} KiB",
        rss[0], rss[1], rss[2], rss[3], rss[4]
    );
    println!(
        "load average (1 min) before {load_before}, after {}",
        load()
    );
    println!(
        "{}",
        json!({
            "size_mib": size_mib, "rounds": rounds, "parallel": parallel,
            "sequential_ratio": {"min": seq[0], "median": median(&seq)},
            "parallel_ratio": {"min": par[0], "median": median(&par)},
            "tiktok_ratio": {"min": tiktok[0], "median": median(&tiktok)},
            "facebook_ratio": {"min": facebook[0], "median": median(&facebook)},
            "x_ratio": {"min": x[0], "median": median(&x)},
            "curl_whole_mib_s": median(&curl_t),
            "ceiling_mib_s": median(&ceiling),
            "postd_peak_rss_kib": {"one": rss[0], "parallel": rss[1], "tiktok": rss[2], "facebook": rss[3], "x": rss[4]},
        })
    );
}

/// Writes the file (pseudo-random bytes) and its 4 MiB part files once, and
/// reads them so every side finds them in the page cache.
fn prepare(dir: &Path, size_mib: u64) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join(format!("video-{size_mib}.mp4"));
    let size = size_mib * 1024 * 1024;
    let stale = std::fs::metadata(&file)
        .map(|m| m.len() != size)
        .unwrap_or(true);
    if stale {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..size_mib {
            for b in block.chunks_exact_mut(8) {
                // xorshift64: cheap bytes that do not compress or dedupe.
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.copy_from_slice(&x.to_le_bytes());
            }
            out.write_all(&block).unwrap();
        }
        out.flush().unwrap();
        let data = std::fs::read(&file).unwrap();
        for (i, part) in data.chunks(PART as usize).enumerate() {
            std::fs::write(dir.join(format!("part-{i:05}")), part).unwrap();
        }
        for (i, part) in data.chunks(FB_PART as usize).enumerate() {
            std::fs::write(dir.join(format!("fbpart-{i:05}")), part).unwrap();
        }
        for (i, (first, last)) in tiktok_plan(size).into_iter().enumerate() {
            std::fs::write(
                dir.join(format!("chunk-{i:05}")),
                &data[first as usize..=last as usize],
            )
            .unwrap();
        }
    }
    // Warm the page cache for both sides.
    let mut sum = 0u64;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        sum = sum.wrapping_add(
            data.iter()
                .step_by(4096)
                .map(|b| u64::from(*b))
                .sum::<u64>(),
        );
    }
    std::hint::black_box(sum);
    file
}

/// TikTok's chunk plan for `size` bytes with POSTD's default chunk size:
/// `floor(size / chunk)` chunks, the last taking the remainder (one chunk up to 64,000,000 bytes).
fn tiktok_plan(size: u64) -> Vec<(u64, u64)> {
    if size <= 64_000_000 {
        return vec![(0, size - 1)];
    }
    let n = size / TIKTOK_CHUNK;
    (0..n)
        .map(|i| {
            let first = i * TIKTOK_CHUNK;
            let last = if i + 1 == n {
                size - 1
            } else {
                first + TIKTOK_CHUNK - 1
            };
            (first, last)
        })
        .collect()
}

/// Runs one POSTD side (`--postd`, `--postd-tiktok`, `--postd-facebook`)
/// in its own process; its seconds and peak RSS.
fn postd_child(base: &str, file: &Path, side: &str, extra: &[&str]) -> (f64, u64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([side, base, file.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["secs"].as_f64().unwrap(),
        v["peak_rss_kib"].as_u64().unwrap(),
    )
}

/// The TikTok chunk files, one after another on one connection, each with its `Content-Range`.
fn curl_tiktok_chunks(base: &str, dir: &Path, size: u64) -> f64 {
    let mut cmd = std::process::Command::new("curl");
    for (i, (first, last)) in tiktok_plan(size).into_iter().enumerate() {
        if i > 0 {
            cmd.arg("--next");
        }
        cmd.args([
            "-s",
            "-S",
            "--fail",
            "-H",
            "Expect:",
            "-H",
            "Content-Type: video/mp4",
        ])
        .arg("-H")
        .arg(format!("Content-Range: bytes {first}-{last}/{size}"))
        .arg("-T")
        .arg(dir.join(format!("chunk-{i:05}")))
        .arg(format!(
            "{base}/tt-upload/video?upload_id=1&upload_token=bench"
        ))
        .args(["-o", "/dev/null"]);
    }
    time_curl(cmd, "curl tiktok chunks")
}

fn curl_parts(base: &str, dir: &Path, parts: u64, parallel: u64) -> f64 {
    let mut cmd = std::process::Command::new("curl");
    cmd.args([
        "-s",
        "-S",
        "--fail",
        "-H",
        "Expect:",
        "-H",
        "Content-Type: application/octet-stream",
    ]);
    if parallel > 1 {
        // Its parallel progress meter ignores -s; failures still show in the exit status.
        cmd.args(["--parallel", "--parallel-max", &parallel.to_string()])
            .stderr(std::process::Stdio::null());
    }
    for i in 0..parts {
        cmd.arg("-T")
            .arg(dir.join(format!("part-{i:05}")))
            .arg(format!("{base}/part/{i}"))
            .args(["-o", "/dev/null"]);
    }
    time_curl(cmd, "curl parts")
}

fn curl_whole(base: &str, file: &Path) -> f64 {
    let mut cmd = std::process::Command::new("curl");
    cmd.args([
        "-s",
        "-S",
        "--fail",
        "-H",
        "Expect:",
        "-o",
        "/dev/null",
        "-T",
    ])
    .arg(file)
    .arg(format!("{base}/whole"));
    time_curl(cmd, "curl whole")
}

/// Runs a curl command to its end; the seconds it took (its start included,
/// as a POSTD side's is not: curl starts in about a millisecond).
fn time_curl(mut cmd: std::process::Command, what: &str) -> f64 {
    let started = Instant::now();
    let status = cmd.status().unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(status.success(), "{what}: {status}");
    secs
}

/// The whole file as one `PUT` on a bare socket, sent with `std::io::copy`
/// (sendfile on Linux): what the sink can take over one connection.
fn raw_whole(base: &str, file: &Path) -> f64 {
    use std::io::Read;
    let addr = base.trim_start_matches("http://");
    let started = Instant::now();
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket.set_nodelay(true).unwrap();
    let mut f = std::fs::File::open(file).unwrap();
    let len = f.metadata().unwrap().len();
    write!(
        socket,
        "PUT /whole HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {len}\r\n\r\n"
    )
    .unwrap();
    assert_eq!(std::io::copy(&mut f, &mut socket).unwrap(), len);
    let mut answer = [0u8; 512];
    let n = socket.read(&mut answer).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "raw: {}",
        String::from_utf8_lossy(&answer[..n])
    );
    secs
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

// ---- the sink -----------------------------------------------------------------------------------

async fn serve() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    println!("{base}");
    std::io::stdout().flush().unwrap();
    let base: &'static str = Box::leak(base.into_boxed_str());
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        socket.set_nodelay(true).ok();
        tokio::spawn(connection(socket, base));
    }
}

/// Serves one connection: each request's head, then its body read into one
/// reused buffer (kept only for the small JSON calls), then a fixed answer.
async fn connection(mut socket: tokio::net::TcpStream, base: &'static str) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut have = 0usize;
    loop {
        let head_end = loop {
            if let Some(i) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if have == buf.len() {
                return; // a head this long is not ours
            }
            match socket.read(&mut buf[have..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => have += n,
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let Some(length) = head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        }) else {
            let method = head.split_whitespace().next().unwrap_or("");
            if method == "PUT" || method == "POST" {
                eprintln!("sink: a body without content-length: {head}");
                return;
            }
            have -= head_end;
            buf.copy_within(head_end..head_end + have, 0);
            respond(&mut socket, &head, &[], 0, base).await;
            continue;
        };
        let keep = length <= 64 * 1024;
        let in_buf = (have - head_end).min(length);
        let mut small = Vec::new();
        if keep {
            small.extend_from_slice(&buf[head_end..head_end + in_buf]);
        }
        // Whatever followed the body in the buffer is the next request's start.
        buf.copy_within(head_end + in_buf..have, 0);
        have -= head_end + in_buf;
        let mut left = length - in_buf;
        while left > 0 {
            let want = left.min(buf.len());
            match socket.read(&mut buf[..want]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if keep {
                        small.extend_from_slice(&buf[..n]);
                    }
                    left -= n;
                }
            }
        }
        if !respond(&mut socket, &head, &small, length as u64, base).await {
            return;
        }
    }
}

/// A header's value in a request head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn respond(
    socket: &mut tokio::net::TcpStream,
    head: &str,
    body: &[u8],
    body_len: u64,
    base: &str,
) -> bool {
    let method = head.split_whitespace().next().unwrap_or("");
    let target = head.split_whitespace().nth(1).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, extra, answer): (&str, String, String) = match (method, path, query) {
        ("POST", "/rest/videos", "action=initializeUpload") => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let size = v["initializeUploadRequest"]["fileSizeBytes"]
                .as_u64()
                .unwrap_or(0);
            let parts: Vec<Value> = (0..size.div_ceil(PART))
                .map(|i| {
                    json!({
                        "uploadUrl": format!("{base}/part/{i}"),
                        "firstByte": i * PART,
                        "lastByte": ((i + 1) * PART).min(size) - 1,
                    })
                })
                .collect();
            let answer = json!({"value": {
                "video": VIDEO, "uploadToken": "", "uploadInstructions": parts,
                "uploadUrlsExpireAt": 1_900_000_000_000u64,
            }});
            ("200 OK", String::new(), answer.to_string())
        }
        ("PUT", p, _) if p.starts_with("/part/") => (
            "200 OK",
            format!("etag: \"{}\"\r\n", &p["/part/".len()..]),
            String::new(),
        ),
        ("PUT", "/whole", _) => ("200 OK", String::new(), String::new()),
        ("POST", "/v2/post/publish/creator_info/query/", _) => (
            "200 OK",
            String::new(),
            json!({"data": {
                "creator_username": "bench", "creator_nickname": "Bench",
                "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
                "comment_disabled": false, "duet_disabled": false, "stitch_disabled": false,
                "max_video_post_duration_sec": 600,
            }, "error": {"code": "ok", "message": "", "log_id": "bench"}})
            .to_string(),
        ),
        ("POST", "/v2/post/publish/video/init/", _) => (
            "200 OK",
            String::new(),
            json!({"data": {
                "publish_id": "v_pub_file~v2-1.1",
                "upload_url": format!("{base}/tt-upload/video?upload_id=1&upload_token=bench"),
            }, "error": {"code": "ok", "message": "", "log_id": "bench"}})
            .to_string(),
        ),
        ("PUT", "/tt-upload/video", _) => {
            // 206 with the range received, 201 once the last byte is in.
            let range = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-range").then(|| v.trim().to_owned())
                })
                .unwrap_or_default();
            let done = range
                .strip_prefix("bytes ")
                .and_then(|r| r.split_once('/'))
                .and_then(|(span, total)| {
                    let last: u64 = span.split_once('-')?.1.parse().ok()?;
                    Some(last + 1 == total.parse::<u64>().ok()?)
                });
            match done {
                Some(true) => ("201 Created", String::new(), String::new()),
                Some(false) => (
                    "206 Partial Content",
                    format!("content-range: {range}\r\n"),
                    String::new(),
                ),
                None => {
                    eprintln!("sink: a TikTok chunk without a valid Content-Range: {range:?}");
                    ("400 Bad Request", String::new(), String::new())
                }
            }
        }
        ("POST", p, _) if p.ends_with(&format!("/{FB_APP}/uploads")) => {
            // The session id carries the file's length: the sink keeps no state.
            let form = String::from_utf8_lossy(body);
            let len = form
                .split('&')
                .find_map(|kv| kv.strip_prefix("file_length="))
                .unwrap_or("0");
            (
                "200 OK",
                String::new(),
                json!({"id": format!("upload:len{len}?sig=bench")}).to_string(),
            )
        }
        ("POST", p, _) if p.contains("/upload:len") => {
            let total: u64 = p
                .rsplit_once("upload:len")
                .and_then(|(_, n)| n.parse().ok())
                .unwrap_or(0);
            let offset: u64 = header(head, "file_offset")
                .and_then(|v| v.parse().ok())
                .unwrap_or(u64::MAX);
            let next = offset.saturating_add(body_len);
            if next >= total {
                ("200 OK", String::new(), r#"{"h":"2::bench-handle"}"#.to_owned())
            } else {
                ("200 OK", String::new(), json!({"file_offset": next}).to_string())
            }
        }
        ("POST", p, _) if p.ends_with(&format!("/{FB_PAGE}/videos")) => (
            "200 OK",
            String::new(),
            json!({"id": FB_VIDEO}).to_string(),
        ),
        ("GET", p, _) if p.ends_with(&format!("/{FB_VIDEO}")) => (
            "200 OK",
            String::new(),
            json!({"id": FB_VIDEO, "status": {"video_status": "ready"}}).to_string(),
        ),
        ("POST", "/rest/videos", "action=finalizeUpload") => {
            ("200 OK", String::new(), String::new())
        }
        ("GET", p, _) if p.starts_with("/rest/videos/") => (
            "200 OK",
            String::new(),
            r#"{"status":"AVAILABLE"}"#.to_owned(),
        ),
        ("POST", "/2/media/upload/initialize", _) => (
            "200 OK",
            String::new(),
            json!({"data": {"id": X_MEDIA, "media_key": format!("7_{X_MEDIA}"), "expires_after_secs": 86_400}})
                .to_string(),
        ),
        ("POST", p, _) if p == format!("/2/media/upload/{X_MEDIA}/append") => (
            "200 OK",
            String::new(),
            json!({"data": {"expires_at": 1_900_000_000u64}}).to_string(),
        ),
        ("POST", p, _) if p == format!("/2/media/upload/{X_MEDIA}/finalize") => (
            "200 OK",
            String::new(),
            json!({"data": {"id": X_MEDIA, "media_key": format!("7_{X_MEDIA}"),
                            "processing_info": {"state": "succeeded", "progress_percent": 100}}})
            .to_string(),
        ),
        ("POST", "/2/tweets", _) => (
            "201 Created",
            String::new(),
            json!({"data": {"id": "1880028106020515841", "text": "Benchmark video"}}).to_string(),
        ),
        ("POST", "/rest/posts", _) => (
            "201 Created",
            "x-restli-id: urn:li:share:7300000000000000001\r\n".to_owned(),
            String::new(),
        ),
        _ => {
            eprintln!("sink: unexpected request {method} {target}");
            ("500 Internal Server Error", String::new(), String::new())
        }
    };
    let out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{answer}",
        answer.len()
    );
    socket.write_all(out.as_bytes()).await.is_ok()
}
