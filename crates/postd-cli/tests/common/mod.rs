//! Runs the built `postd` against in-process platform fakes: a temp folder
//! with its SQLite database, a vault key, and the fakes' URLs and client
//! credentials in an environment that holds nothing else.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use postd_testkit::linkedin::LinkedInFake;
use postd_testkit::meta::MetaFake;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use url::Url;

/// base64 of 32 bytes of 7.
pub const KEYS: &str = "1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
pub const TENANT: &str = "acme";
/// How long any one `postd` run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// Worker flags that keep a test short.
pub const FAST_WORKER: &[&str] = &[
    "worker",
    "--until-idle",
    "--lease",
    "2",
    "--settle",
    "0.05",
    "--idle-poll-ms",
    "20",
    "--backoff-ms",
    "10,50",
    "--grace",
    "2",
    "--timeout",
    "20",
];

pub const META_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    "instagram_basic",
    "instagram_content_publish",
];

pub struct Env {
    pub dir: PathBuf,
    pub meta: MetaFake,
    pub linkedin: LinkedInFake,
    vars: Vec<(String, String)>,
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts exit code 1 with exactly one line on stderr, and returns it.
    pub fn one_line_error(&self) -> String {
        assert_eq!(self.code, Some(1), "{self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:?}");
        assert!(lines[0].starts_with("postd: "), "{self:?}");
        lines[0].to_owned()
    }
}

impl Env {
    pub async fn new(name: &str) -> Env {
        let dir = std::env::temp_dir().join(format!(
            "postd-cli-{name}-{}-{:08x}",
            std::process::id(),
            rand_u32()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let meta = MetaFake::start().await;
        let linkedin = LinkedInFake::start().await;
        let db = format!("sqlite://{}", dir.join("postd.db").display());
        let mut vars = vec![
            ("POSTD_DATABASE_URL".to_owned(), db),
            ("POSTD_VAULT_KEYS".to_owned(), KEYS.to_owned()),
            ("META_CLIENT_ID".to_owned(), meta.app_id().to_owned()),
            (
                "META_CLIENT_SECRET".to_owned(),
                meta.app_secret().to_owned(),
            ),
            (
                "LINKEDIN_CLIENT_ID".to_owned(),
                linkedin.client_id().to_owned(),
            ),
            (
                "LINKEDIN_CLIENT_SECRET".to_owned(),
                linkedin.client_secret().to_owned(),
            ),
            ("LINKEDIN_BASE_URL".to_owned(), linkedin.url().to_string()),
            (
                "LINKEDIN_OAUTH_BASE_URL".to_owned(),
                linkedin.url().to_string(),
            ),
        ];
        for var in [
            "META_BASE_URL",
            "META_OAUTH_BASE_URL",
            "META_VIDEO_BASE_URL",
            "META_UPLOAD_BASE_URL",
        ] {
            vars.push((var.to_owned(), meta.url().to_string()));
        }
        Env {
            dir,
            meta,
            linkedin,
            vars,
        }
    }

    /// The environment `postd` gets.
    pub fn vars(&self) -> &[(String, String)] {
        &self.vars
    }

    /// Sets (or replaces) a variable of the environment `postd` gets.
    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_owned(), value.to_owned()));
    }

    /// Drops a variable from the environment `postd` gets.
    pub fn without(&mut self, name: &str) {
        self.vars.retain(|(k, _)| k != name);
    }

    /// `postd ARGS` in the temp folder, with only this environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_postd"));
        cmd.args(args)
            .env_clear()
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    pub async fn run(&self, args: &[&str]) -> Out {
        let child = self.command(args).spawn().unwrap();
        finish(child).await
    }

    /// `postd --json ARGS`, which must succeed.
    pub async fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all).await;
        assert_eq!(out.code, Some(0), "{out:?}");
        out.json()
    }

    /// Seeds a Meta user with a Page (and its Instagram account) on the fake:
    /// `(user, page id, instagram id)`.
    pub fn seed_meta(&self, n: u32) -> (String, String, String) {
        let user = format!("{}", 10_000 + n);
        let page = format!("{}", 20_000 + n);
        let ig = format!("{}", 17_841_400_000_000_000u64 + u64::from(n));
        self.meta.seed_user(&user, "Ada", META_SCOPES);
        self.meta.seed_page(&user, &page, "Bakery", Some(&ig));
        (user, page, ig)
    }

    /// Starts `postd connect PLATFORM`, reads the listener's address and the
    /// authorization URL from its stderr.
    pub async fn start_connect(&self, platform: &str, account: &str) -> Connecting {
        let mut child = self
            .command(&[
                "--json",
                "connect",
                platform,
                "--tenant",
                TENANT,
                "--account",
                account,
                "--timeout",
                "20",
            ])
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut addr = None;
        let mut url = None;
        let mut seen = Vec::new();
        while url.is_none() {
            let line = tokio::time::timeout(RUN_LIMIT, lines.next_line())
                .await
                .expect("connect printed its URL in time")
                .unwrap()
                .unwrap_or_else(|| panic!("connect ended early; stderr: {seen:?}"));
            if let Some(rest) = line.strip_prefix("postd: listening on ") {
                addr = Some(rest.split_whitespace().next().unwrap().to_owned());
            } else if line.starts_with("http") {
                assert!(addr.is_some(), "the address comes before the URL: {seen:?}");
                url = Some(Url::parse(&line).unwrap());
            }
            seen.push(line);
        }
        let url = url.unwrap();
        let query = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap_or_else(|| panic!("no {name} in {url}"))
        };
        Connecting {
            addr: addr.unwrap(),
            state: query("state"),
            redirect_uri: query("redirect_uri"),
            url: url.clone(),
            child,
            stderr: seen,
            lines,
        }
    }

    /// Connects a Meta account through the whole browser flow; `(page, instagram)`.
    pub async fn connect_meta(&self, account: &str, n: u32) -> (String, String) {
        let (user, page, ig) = self.seed_meta(n);
        let connecting = self.start_connect("meta", account).await;
        let code = self.meta.issue_code(&user, &connecting.redirect_uri);
        let query = format!("code={code}&state={}", connecting.state);
        let (status, _) = connecting.callback(&query).await;
        assert_eq!(status, 200);
        let out = connecting.finish().await;
        assert_eq!(out.code, Some(0), "{out:?}");
        (page, ig)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `postd connect` waiting for its callback.
pub struct Connecting {
    pub addr: String,
    pub state: String,
    pub redirect_uri: String,
    pub url: Url,
    child: Child,
    stderr: Vec<String>,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
}

impl Connecting {
    /// `GET /callback?QUERY` as the browser would: `(status, body)`.
    pub async fn callback(&self, query: &str) -> (u16, String) {
        get(&self.addr, &format!("/callback?{query}")).await
    }

    /// Waits for the process to end.
    pub async fn finish(mut self) -> Out {
        let mut stdout = String::new();
        let mut out = self.child.stdout.take().unwrap();
        let read = async {
            out.read_to_string(&mut stdout).await.unwrap();
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.stderr.push(line);
            }
            self.child.wait().await.unwrap()
        };
        let status = tokio::time::timeout(RUN_LIMIT, read)
            .await
            .expect("connect ended in time");
        Out {
            code: status.code(),
            stdout,
            // Only what came after the URL: the outcome.
            stderr: self
                .stderr
                .iter()
                .skip_while(|l| !l.starts_with("http"))
                .skip(1)
                .map(|l| format!("{l}\n"))
                .collect(),
        }
    }
}

/// A plain HTTP/1.1 GET: `(status, body)`.
pub async fn get(addr: &str, target: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(RUN_LIMIT, stream.read_to_string(&mut response))
        .await
        .expect("the listener answered in time")
        .unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Waits for a spawned `postd` to end and collects what it printed.
pub async fn finish(child: Child) -> Out {
    let out = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .expect("postd ended in time")
        .unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now()) as u32
}
