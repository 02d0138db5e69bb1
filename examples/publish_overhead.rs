//! POSTD's HTTP path against plain reqwest, both talking to one canned
//! Graph API server in another process, so the figures measure the clients,
//! not a fake.
//!
//! The server answers the five requests of an Instagram image publish
//! (publishing limit, container create, container status, `media_publish`,
//! permalink), LinkedIn's one for a text post (`POST /rest/posts`, 201
//! with `x-restli-id`) and its three for an image post (`initializeUpload`,
//! the `PUT` of a 64 KiB image, the post) with fixed answers, keeps no state, takes no locks,
//! counts the connections it accepts, and answers anything else with an
//! error (printed on its stderr) so an unexpected request fails the run.
//!
//! The plain client keeps reqwest's defaults, so after the first round it
//! holds up to `M` warm connections, while POSTD keeps at most 64 requests in
//! flight and 64 idle connections: the concurrent figure compares the two
//! configurations, not only the code.
//!
//! Each round runs both sides, in alternating order:
//! - sequential: `N` publishes one after another, microseconds per publish;
//! - concurrent: `M` publishes at once, posts per second and connections opened.
//!
//! The three scenarios, Instagram image, LinkedIn text and LinkedIn image,
//! run every round. The
//! POSTD side is the connector's `publish` on one `HttpClient` with its
//! defaults (64 connections per host); the plain side writes the same
//! requests by hand on a `reqwest::Client` with its defaults. Prints every
//! round, then min and median of POSTD/plain per figure and the load average,
//! and a JSON line.
//!
//! ```sh
//! cargo run --release --example publish_overhead -- [rounds=6] [sequential=2000] [concurrent=1000]
//! ```
//!
//! Instructions per publish, which the machine's load does not move:
//! `benches/publish_instructions.sh` runs each scenario under callgrind with
//! `PUBLISH_SIDE=postd`, `plain` and `none` (the other side, or both, skip
//! their work) and takes each side's cost as its total minus the `none`
//! total, over the publishes a side makes: `1 300 1` one after another (351
//! with the warm-up), and `1 0 1000` as a burst on a cold pool (1,050).
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly

use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use postd::connectors::linkedin::{
    DEFAULT_LINKEDIN_VERSION, LinkedInConfig, LinkedInConnector, escape_commentary,
};
use postd::connectors::meta::{DEFAULT_GRAPH_VERSION, MetaConfig, MetaConnector};
use postd::http::HttpClient;
use postd::webhook::hmac_sha256_hex;
use postd::{
    ClientRef, Connector, Credentials, Media, MediaKind, Post, PublishOutcome, Target, TargetKind,
    TokenSet,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const IG: &str = "17841400000000003";
const CONTAINER: &str = "17900000000000001";
const MEDIA: &str = "17800000000000002";
const PAGE_TOKEN: &str = "EAAbenchpagetoken";
const APP_ID: &str = "1234567890";
const APP_SECRET: &str = "bench-app-secret";
const IMAGE: &str = "https://cdn.example/bench.jpg";
const CAPTION: &str = "Benchmark #bread";
const PERSON: &str = "urn:li:person:782bbtaQ";
const LI_TOKEN: &str = "AQVbenchmembertoken";
const LI_TEXT: &str = "Benchmark post (with reserved characters) #bread";
/// The created post's URN, as LinkedIn sends it.
const SHARE_HEADER: &str = "x-restli-id: urn:li:share:7300000000000000001\r\n";
/// The image's URN, as `initializeUpload` hands it out.
const LI_IMAGE: &str = "urn:li:image:C4E10AQBenchImage";
/// The image a LinkedIn image post uploads (in memory, the same bytes for both sides).
const LI_IMAGE_BYTES: usize = 64 * 1024;

/// What one round publishes.
#[derive(Clone, Copy, Debug)]
enum Scenario {
    Instagram,
    LinkedInText,
    LinkedInImage,
}

impl Scenario {
    const ALL: [Scenario; 3] = [
        Scenario::Instagram,
        Scenario::LinkedInText,
        Scenario::LinkedInImage,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Instagram => "instagram_image",
            Scenario::LinkedInText => "linkedin_text",
            Scenario::LinkedInImage => "linkedin_image",
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(serve());
        return;
    }
    let num =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (rounds, sequential, concurrent) = (num(1, 6), num(2, 2000), num(3, 1000));

    let mut server = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_owned();

    // The client side on one thread, as a `postd worker` runs by default.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let load_before = load();
    let report = rt.block_on(run(&base, rounds, sequential, concurrent));
    server.kill().ok();
    server.wait().ok();
    println!(
        "load average (1 min) before {load_before}, after {}",
        load()
    );
    println!("{report}");
}

struct Sides {
    linkedin: LinkedInConnector,
    li_creds: Credentials,
    li_target: Target,
    li_post: Post,
    li_image_post: Post,
    image: bytes::Bytes,
    server: String,
    meta: MetaConnector,
    creds: Credentials,
    target: Target,
    post: Post,
    plain: postd::reqwest::Client,
    base: String,
    bearer: String,
    proof: String,
}

async fn run(server: &str, rounds: usize, sequential: usize, concurrent: usize) -> Value {
    let vars = postd::config::Vars::from_pairs([
        ("META_CLIENT_ID", APP_ID),
        ("META_CLIENT_SECRET", APP_SECRET),
    ]);
    let http = HttpClient::builder().build().unwrap();
    let meta = MetaConfig::from_vars(&vars)
        .unwrap()
        .with_base_url(url::Url::parse(server).unwrap())
        .build(http.clone());
    let li_vars = postd::config::Vars::from_pairs([
        ("LINKEDIN_CLIENT_ID", "benchclient"),
        ("LINKEDIN_CLIENT_SECRET", "bench-client-secret"),
    ]);
    let linkedin = LinkedInConfig::from_vars(&li_vars)
        .unwrap()
        .with_base_url(url::Url::parse(server).unwrap())
        .build(http);
    postd::http::install_crypto_provider();
    let sides = Arc::new(Sides {
        linkedin,
        li_creds: Credentials::OAuth(TokenSet::new(LI_TOKEN)),
        li_target: Target::new(TargetKind::LinkedInPerson, PERSON),
        li_post: Post::new(ClientRef::new("bench").unwrap()).with_text(LI_TEXT),
        li_image_post: Post::new(ClientRef::new("bench").unwrap())
            .with_text(LI_TEXT)
            .with_media(
                Media::bytes(MediaKind::Image, vec![0xa5u8; LI_IMAGE_BYTES])
                    .with_mime_type("image/jpeg"),
            ),
        image: bytes::Bytes::from(vec![0xa5u8; LI_IMAGE_BYTES]),
        server: server.trim_end_matches('/').to_owned(),
        meta,
        creds: Credentials::OAuth(TokenSet::new("user").with_derived(IG, PAGE_TOKEN)),
        target: Target::new(TargetKind::InstagramAccount, IG),
        post: Post::new(ClientRef::new("bench").unwrap())
            .with_text(CAPTION)
            .with_media(Media::url(
                MediaKind::Image,
                url::Url::parse(IMAGE).unwrap(),
            )),
        plain: postd::reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(postd::reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: format!("{}/{DEFAULT_GRAPH_VERSION}", server.trim_end_matches('/')),
        bearer: format!("Bearer {PAGE_TOKEN}"),
        proof: hmac_sha256_hex(APP_SECRET.as_bytes(), PAGE_TOKEN.as_bytes()),
    });
    // `PUBLISH_SCENARIO=linkedin_text` (or `instagram_image`, `linkedin_image`)
    // runs one only, its warm-up included, so an instruction count is that
    // scenario's alone.
    let only = std::env::var("PUBLISH_SCENARIO").ok();
    let scenarios: Vec<Scenario> = Scenario::ALL
        .into_iter()
        .filter(|s| only.as_deref().is_none_or(|o| o == s.name()))
        .collect();
    // Warm both sides' pools and code paths.
    for _ in 0..50 {
        for &scenario in &scenarios {
            publish(&sides, scenario, true).await;
            publish(&sides, scenario, false).await;
        }
    }

    let mut report = serde_json::Map::new();
    for &scenario in &scenarios {
        let mut seq_ratio = Vec::new();
        let mut conc_ratio = Vec::new();
        let mut rows = Vec::new();
        for round in 0..rounds {
            let postd_first = round % 2 == 0;
            // [postd, plain]: (µs per publish, posts/s at once, connections opened)
            let mut figures = [(0.0, 0.0, 0u64); 2];
            for turn in 0..2 {
                let is_postd = (turn == 0) == postd_first;
                let slot = usize::from(!is_postd);
                let started = Instant::now();
                for _ in 0..sequential {
                    publish(&sides, scenario, is_postd).await;
                }
                let per = started.elapsed().as_secs_f64() * 1e6 / sequential as f64;
                let before = connections(&sides).await;
                let started = Instant::now();
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..concurrent {
                    let sides = Arc::clone(&sides);
                    set.spawn(async move { publish(&sides, scenario, is_postd).await });
                }
                while let Some(done) = set.join_next().await {
                    done.unwrap();
                }
                let rate = concurrent as f64 / started.elapsed().as_secs_f64();
                let opened = connections(&sides).await - before;
                figures[slot] = (per, rate, opened);
            }
            let (p, r) = (figures[0], figures[1]);
            seq_ratio.push(p.0 / r.0);
            conc_ratio.push(p.1 / r.1);
            println!(
                "{} round {}: sequential postd {:.1} µs, plain {:.1} µs, ratio {:.3}; \
                 {concurrent} at once postd {:.0}/s ({} connections), plain {:.0}/s ({} connections), ratio {:.3}",
                scenario.name(),
                round + 1,
                p.0,
                r.0,
                p.0 / r.0,
                p.1,
                p.2,
                r.1,
                r.2,
                p.1 / r.1
            );
            rows.push(json!({
                "postd_us": p.0, "plain_us": r.0, "postd_per_s": p.1, "plain_per_s": r.1,
                "postd_connections": p.2, "plain_connections": r.2,
            }));
        }
        // Time ratios: above 1 is POSTD slower; rate ratios: below 1 is.
        let (smin, smed, smax) = spread(&mut seq_ratio);
        let (cmin, cmed, cmax) = spread(&mut conc_ratio);
        println!(
            "{}: sequential postd/plain time: min {smin:.3}, median {smed:.3}, max {smax:.3}; \
             concurrent postd/plain posts/s: min {cmin:.3}, median {cmed:.3}, max {cmax:.3}",
            scenario.name()
        );
        report.insert(
            scenario.name().to_owned(),
            json!({
                "rounds": rows, "sequential_ratio_min": smin, "sequential_ratio_median": smed,
                "sequential_ratio_max": smax, "concurrent_ratio_min": cmin,
                "concurrent_ratio_median": cmed, "concurrent_ratio_max": cmax,
            }),
        );
    }
    Value::Object(report)
}

/// Min, median and max.
fn spread(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (v[0], median, v[n - 1])
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `PUBLISH_SIDE=postd`, `plain` or `none` makes the other side (or both)
/// skip its work, so an instruction count of the whole run (callgrind) minus
/// the `none` run is one side's cost, its connection tasks included.
fn side_runs(is_postd: bool) -> bool {
    static SIDE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    match SIDE
        .get_or_init(|| std::env::var("PUBLISH_SIDE").ok())
        .as_deref()
    {
        None => true,
        Some("postd") => is_postd,
        Some("plain") => !is_postd,
        Some(_) => false,
    }
}

async fn publish(s: &Sides, scenario: Scenario, is_postd: bool) {
    if !side_runs(is_postd) {
        return;
    }
    match (scenario, is_postd) {
        (Scenario::Instagram, true) => postd_publish(s).await,
        (Scenario::Instagram, false) => plain_publish(s).await,
        (Scenario::LinkedInText | Scenario::LinkedInImage, true) => {
            let post = if matches!(scenario, Scenario::LinkedInImage) {
                &s.li_image_post
            } else {
                &s.li_post
            };
            match s
                .linkedin
                .publish(&s.li_creds, &s.li_target, post)
                .await
                .unwrap()
            {
                PublishOutcome::Published(p) => drop(std::hint::black_box(p)),
                other => panic!("{other:?}"),
            }
        }
        (Scenario::LinkedInImage, false) => {
            // Initialize, upload the bytes, then the post with the image's URN.
            let init: serde_json::Value = s
                .plain
                .post(format!("{}/rest/images?action=initializeUpload", s.server))
                .bearer_auth(LI_TOKEN)
                .header("LinkedIn-Version", DEFAULT_LINKEDIN_VERSION)
                .header("X-Restli-Protocol-Version", "2.0.0")
                .json(&json!({"initializeUploadRequest": {"owner": PERSON}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let upload_url = init["value"]["uploadUrl"].as_str().unwrap();
            let image = init["value"]["image"].as_str().unwrap().to_owned();
            let resp = s
                .plain
                .put(upload_url)
                .bearer_auth(LI_TOKEN)
                .header("Content-Type", "image/jpeg")
                .body(s.image.clone())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            let _ = resp.bytes().await.unwrap();
            plain_linkedin_post(s, Some(&image)).await;
        }
        (Scenario::LinkedInText, false) => plain_linkedin_post(s, None).await,
    }
}

/// `POST /rest/posts` as a caller writes it, with an image's URN or none.
async fn plain_linkedin_post(s: &Sides, image: Option<&str>) {
    // Built per post, as a caller would: the text changes every time.
    let mut body = json!({
        "author": PERSON,
        "commentary": escape_commentary(LI_TEXT),
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": false,
    });
    if let Some(urn) = image {
        body["content"] = json!({"media": {"id": urn}});
    }
    let resp = s
        .plain
        .post(format!("{}/rest/posts", s.server))
        .bearer_auth(LI_TOKEN)
        .header("LinkedIn-Version", DEFAULT_LINKEDIN_VERSION)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let urn = resp.headers()["x-restli-id"].to_str().unwrap().to_owned();
    // The body is empty; read it so the connection goes back to the pool.
    let _ = resp.bytes().await.unwrap();
    std::hint::black_box(urn);
}

async fn postd_publish(s: &Sides) {
    match s.meta.publish(&s.creds, &s.target, &s.post).await.unwrap() {
        PublishOutcome::Published(p) => drop(std::hint::black_box(p)),
        other => panic!("{other:?}"),
    }
}

async fn plain_publish(s: &Sides) {
    let (base, bearer, proof) = (&s.base, &s.bearer, &s.proof);
    let get = |url: String, fields: &'static str| {
        s.plain
            .get(url)
            .header("authorization", bearer)
            .query(&[("fields", fields), ("appsecret_proof", proof)])
    };
    let post = |url: String, form: &[(&str, &str)]| {
        s.plain
            .post(url)
            .header("authorization", bearer)
            .query(&[("appsecret_proof", proof)])
            .form(form)
    };
    let read = |r: postd::reqwest::Response| async move {
        assert!(r.status().is_success(), "{}", r.status());
        r.json::<Value>().await.unwrap()
    };
    let limit = read(
        get(
            format!("{base}/{IG}/content_publishing_limit"),
            "quota_usage,config",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(limit["data"].is_array());
    let container = read(
        post(
            format!("{base}/{IG}/media"),
            &[("caption", CAPTION), ("image_url", IMAGE)],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let id = container["id"].as_str().unwrap().to_owned();
    let status = read(
        get(format!("{base}/{id}"), "status_code,status")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status["status_code"], "FINISHED");
    let media = read(
        post(
            format!("{base}/{IG}/media_publish"),
            &[("creation_id", id.as_str())],
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let media_id = media["id"].as_str().unwrap().to_owned();
    let permalink = read(
        get(format!("{base}/{media_id}"), "id,permalink")
            .send()
            .await
            .unwrap(),
    )
    .await;
    std::hint::black_box(permalink);
}

async fn connections(s: &Sides) -> u64 {
    let url = s.base.rsplit_once('/').unwrap().0.to_owned() + "/__connections";
    let v: Value = s.plain.get(url).send().await.unwrap().json().await.unwrap();
    v["accepted"].as_u64().unwrap()
}

// ---- the canned server ----

async fn serve() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base: &'static str =
        Box::leak(format!("http://{}", listener.local_addr().unwrap()).into_boxed_str());
    println!("{base}");
    let accepted = Arc::new(AtomicU64::new(0));
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        socket.set_nodelay(true).ok();
        accepted.fetch_add(1, Ordering::Relaxed);
        let accepted = Arc::clone(&accepted);
        tokio::spawn(async move { connection(socket, &accepted, base).await });
    }
}

async fn connection(mut socket: tokio::net::TcpStream, accepted: &AtomicU64, base: &str) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    let mut out = Vec::with_capacity(1024);
    loop {
        // Read one request: its head, then `content-length` bytes of body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + length);
        let target = head.split_whitespace().nth(1).unwrap_or("");
        let method = head.split_whitespace().next().unwrap_or("");
        let path = target.split('?').next().unwrap_or("");
        let (status, body) = answer(method, path, accepted, base);
        let extra = if path == "/rest/posts" {
            SHARE_HEADER
        } else {
            ""
        };
        out.clear();
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json; charset=UTF-8\r\n{extra}content-length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(body.as_bytes());
        if socket.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn answer(method: &str, path: &str, accepted: &AtomicU64, base: &str) -> (&'static str, String) {
    if path == "/__connections" {
        return (
            "200 OK",
            format!(r#"{{"accepted":{}}}"#, accepted.load(Ordering::Relaxed)),
        );
    }
    let rest = path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(DEFAULT_GRAPH_VERSION))
        .unwrap_or(path);
    let ok = |b: &str| ("200 OK", b.to_owned());
    match (method, path) {
        ("POST", "/rest/posts") => return ("201 Created", String::new()),
        ("POST", "/rest/images") => {
            return (
                "200 OK",
                format!(
                    r#"{{"value":{{"uploadUrlExpiresAt":1900000000000,"uploadUrl":"{base}/li-upload/image","image":"{LI_IMAGE}"}}}}"#
                ),
            );
        }
        ("PUT", "/li-upload/image") => return ("201 Created", String::new()),
        _ => {}
    }
    match (method, rest) {
        ("GET", p) if p == format!("/{IG}/content_publishing_limit") => ok(
            r#"{"data":[{"quota_usage":0,"config":{"quota_total":100,"quota_duration":86400}}]}"#,
        ),
        ("POST", p) if p == format!("/{IG}/media") => ok(&format!(r#"{{"id":"{CONTAINER}"}}"#)),
        ("GET", p) if p == format!("/{CONTAINER}") => ok(&format!(
            r#"{{"status_code":"FINISHED","status":"Finished: Media has been uploaded and it is complete.","id":"{CONTAINER}"}}"#
        )),
        ("POST", p) if p == format!("/{IG}/media_publish") => ok(&format!(r#"{{"id":"{MEDIA}"}}"#)),
        ("GET", p) if p == format!("/{MEDIA}") => ok(&format!(
            r#"{{"id":"{MEDIA}","permalink":"https://www.instagram.com/p/BENCH/"}}"#
        )),
        _ => {
            eprintln!("canned server: no answer for {method} {path}");
            (
                "400 Bad Request",
                r#"{"error":{"message":"Unsupported request","type":"GraphMethodException","code":100}}"#
                    .to_owned(),
            )
        }
    }
}
