//! `postd connect`: authorize an account and seal its tokens in the vault.
//!
//! For an OAuth platform, `connect` listens on `127.0.0.1:PORT` (a small
//! HTTP/1.1 handler on a Tokio `TcpListener`, no web framework), prints the
//! listener's address and then the authorization URL on stderr, and waits
//! for the browser to come back to `GET /callback?code=...&state=...`. It
//! checks the `state`, exchanges the code (with the PKCE verifier where the
//! platform takes one), asks the platform which targets the account can
//! publish to, stores all of it in the vault under the app, answers the
//! browser with a short page, and lists the targets on stdout.
//!
//! For an API-key platform the key is read from stdin (a hidden prompt on a
//! terminal, one line otherwise), never from the command line, where `ps`
//! and the shell history would see it.

use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use postd_core::secrecy::SecretString;
use postd_core::{
    AuthKind, Authorization, AuthorizationRequest, CodeExchange, Connector, Credentials, Platform,
    Target,
};
use postd_vault::{DEFAULT_APP, TokenVault};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use url::Url;

use crate::error::{CliError, Result};
use crate::output::{self, Table};
use crate::setup::{self, Global, Open};

/// `postd connect PLATFORM --tenant T --account A`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = CONNECT_HELP)]
pub(crate) struct Args {
    /// The platform: meta, linkedin, tiktok, gbp, mailchimp or twitter (x).
    #[arg(value_name = "PLATFORM")]
    platform: Platform,

    /// The tenant (customer) the account belongs to.
    #[arg(long)]
    tenant: String,

    /// Your name for this connection (used by postd schedule --to TENANT/ACCOUNT/...).
    #[arg(long)]
    account: String,

    /// The platform app (client credentials) to authorize with: `default` uses the
    /// variables of .env.example, another NAME those prefixed with POSTD_APP_NAME_.
    #[arg(long, default_value = DEFAULT_APP)]
    app: String,

    /// The callback listener's port on 127.0.0.1; 0 picks a free one. Register
    /// http://127.0.0.1:PORT/callback as a redirect URI of the app and pass that PORT
    /// where the platform wants an exact match.
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// How long to wait for the browser to come back, in seconds.
    #[arg(long, value_name = "SECS", default_value = "600", value_parser = setup::parse_secs)]
    timeout: Duration,

    /// Ask for this scope instead of the connector's defaults (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
}

const CONNECT_HELP: &str = "\
How it goes (OAuth platforms):
  1. postd listens on 127.0.0.1:PORT and prints, on stderr, `postd: listening on 127.0.0.1:PORT ...`
     and then the authorization URL on a line of its own.
  2. Open the URL, sign in and allow the app; the platform sends the browser back to
     http://127.0.0.1:PORT/callback, which postd answers with a short page.
  3. postd checks the state, exchanges the code, seals the tokens in the vault and prints the
     account's targets (JSON with --json).
Connecting an account again replaces its tokens and targets.

API-key platforms (Mailchimp) read the key from stdin:
  printf '%s\\n' \"$MAILCHIMP_KEY\" | postd connect mailchimp --tenant acme --account news";

/// What `connect` stored.
#[derive(Debug, Serialize)]
struct Connected<'a> {
    tenant: &'a str,
    account: &'a str,
    platform: Platform,
    app: &'a str,
    targets: &'a [Target],
}

/// Runs `postd connect`.
pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let manager = setup::manager(&args.app)?;
    let connector = manager.connector(args.platform).map_err(|e| {
        if e.kind() == postd_core::ErrorKind::Config && args.app != DEFAULT_APP {
            CliError::new(setup::missing_connector(args.platform, &args.app))
        } else {
            CliError::from_postd(&e, None)
        }
    })?;
    let vault = setup::vault(global, Open::Create).await?;
    let targets = match connector.capabilities().auth {
        AuthKind::ApiKey => {
            let credentials = Credentials::ApiKey(read_api_key(args.platform)?);
            finish(connector.as_ref(), &vault, &args, credentials).await?
        }
        _ => oauth(connector.as_ref(), &vault, &args).await?,
    };
    if global.json {
        return output::json(&Connected {
            tenant: &args.tenant,
            account: &args.account,
            platform: args.platform,
            app: &args.app,
            targets: &targets,
        });
    }
    let mut text = format!(
        "connected {} account {}/{} (app {}) with {} target{}\n",
        args.platform,
        args.tenant,
        args.account,
        args.app,
        targets.len(),
        if targets.len() == 1 { "" } else { "s" }
    );
    text.push_str(&targets_table(&targets).render());
    output::print(&text)
}

/// The targets of an account as a table.
pub(crate) fn targets_table(targets: &[Target]) -> Table {
    let mut table = Table::new(&["KIND", "ID", "NAME", "PARENT"]);
    for t in targets {
        table.row(vec![
            output::kind_name(t.kind),
            t.id.clone(),
            output::or_dash(t.name.as_deref()),
            output::or_dash(t.parent_id.as_deref()),
        ]);
    }
    table
}

/// Lists the account's targets and seals the credentials with them.
async fn finish(
    connector: &dyn Connector,
    vault: &TokenVault,
    args: &Args,
    credentials: Credentials,
) -> Result<Vec<Target>> {
    let targets = connector
        .targets(&credentials)
        .await
        .map_err(|e| CliError::from_postd(&e, None))?;
    vault
        .store_for_app(
            &args.tenant,
            &args.account,
            args.platform,
            &args.app,
            &credentials,
            targets.clone(),
        )
        .await
        .map_err(|e| {
            CliError::from_postd(&e, Some("choose another --account, or check --tenant"))
        })?;
    Ok(targets)
}

/// The authorization code flow through the loopback listener.
async fn oauth(connector: &dyn Connector, vault: &TokenVault, args: &Args) -> Result<Vec<Target>> {
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| {
            CliError::new(format!(
                "cannot listen on 127.0.0.1:{}: {e}; pick another --port (0 takes any free one)",
                args.port
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::new(format!("cannot read the listener's address: {e}")))?;
    let redirect = Url::parse(&format!("http://{addr}/callback"))
        .map_err(|e| CliError::new(format!("cannot build the redirect URI: {e}")))?;
    let mut request = AuthorizationRequest::new(redirect);
    if !args.scopes.is_empty() {
        request = request.with_scopes(args.scopes.clone());
    }
    let Authorization {
        url,
        state,
        pkce_verifier,
        redirect_uri,
        ..
    } = connector
        .authorize_url(&request)
        .map_err(|e| CliError::from_postd(&e, None))?;
    eprintln!("postd: listening on {addr} for the callback at {redirect_uri}");
    eprintln!(
        "postd: open this URL in a browser to connect {}/{} (waiting up to {} s):",
        args.tenant,
        args.account,
        args.timeout.as_secs_f64()
    );
    eprintln!("{url}");

    let (callback, mut browser) = wait_for_callback(&listener, Instant::now() + args.timeout)
        .await
        .map_err(|e| match e {
            Waited::TimedOut => CliError::new(format!(
                "no callback came within {} s; run postd connect again (and open the URL it prints)",
                args.timeout.as_secs_f64()
            )),
            Waited::Io(e) => CliError::new(format!("the callback listener failed: {e}")),
        })?;
    let outcome = async {
        if let Some(error) = &callback.error {
            let why = callback
                .error_description
                .as_deref()
                .map(|d| format!("{error}: {}", output::one_line(d)))
                .unwrap_or_else(|| error.clone());
            return Err(CliError::new(format!(
                "the platform did not authorize the account ({why}); nothing was stored; run postd connect again"
            )));
        }
        let received = callback.state.clone().unwrap_or_default();
        if !state.matches(&received) {
            return Err(CliError::new(
                "the callback's state does not match this authorization (a stale or forged callback); \
                 nothing was stored; run postd connect again",
            ));
        }
        let Some(code) = callback.code.clone() else {
            return Err(CliError::new(
                "the callback carried no code; nothing was stored; run postd connect again",
            ));
        };
        let exchange = CodeExchange::new(code, received, state, pkce_verifier, redirect_uri);
        let credentials = connector
            .exchange_code(exchange)
            .await
            .map_err(|e| CliError::from_postd(&e, Some("run postd connect again")))?;
        finish(connector, vault, args, credentials).await
    }
    .await;
    let page = match &outcome {
        Ok(targets) => Page::ok(&format!(
            "{}/{} is connected with {} target{}. You can close this tab.",
            args.tenant,
            args.account,
            targets.len(),
            if targets.len() == 1 { "" } else { "s" }
        )),
        Err(e) => Page::failed(&e.to_string()),
    };
    // The terminal has the outcome; a browser that went away changes nothing.
    let _ = page.send(&mut browser).await;
    outcome
}

/// The query of the callback.
#[derive(Debug, Default)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Why no callback came.
#[derive(Debug)]
enum Waited {
    TimedOut,
    Io(std::io::Error),
}

/// The longest request head the listener reads.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers connections until one is `GET /callback` with a code or an error,
/// and returns it with the connection, still open, to answer once it is handled.
async fn wait_for_callback(
    listener: &TcpListener,
    deadline: Instant,
) -> std::result::Result<(Callback, TcpStream), Waited> {
    loop {
        let (mut stream, _) = tokio::time::timeout_at(deadline, listener.accept())
            .await
            .map_err(|_| Waited::TimedOut)?
            .map_err(Waited::Io)?;
        let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
            Ok(Ok(head)) => head,
            // A client that said nothing or went away: wait for the next.
            _ => continue,
        };
        match parse_request(&head) {
            Request::Callback(cb) => return Ok((cb, stream)),
            Request::Other(status, message) => {
                let _ = Page::new(status, "postd", message).send(&mut stream).await;
            }
        }
    }
}

/// Reads up to the blank line that ends the request head.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HEAD {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// What a request asked for.
#[derive(Debug)]
enum Request {
    /// `GET /callback` with a code or an error.
    Callback(Callback),
    /// Anything else: the status and text to answer with.
    Other(u16, &'static str),
}

fn parse_request(head: &str) -> Request {
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Request::Other(400, "Bad request.");
    };
    if method != "GET" {
        return Request::Other(405, "postd only answers GET /callback.");
    }
    let Ok(url) = Url::parse("http://127.0.0.1/").and_then(|base| base.join(target)) else {
        return Request::Other(400, "Bad request.");
    };
    if url.path() != "/callback" {
        return Request::Other(404, "postd is waiting for the authorization at /callback.");
    }
    let mut cb = Callback::default();
    for (k, v) in url.query_pairs() {
        let slot = match k.as_ref() {
            "code" => &mut cb.code,
            "state" => &mut cb.state,
            "error" => &mut cb.error,
            "error_description" => &mut cb.error_description,
            _ => continue,
        };
        *slot = Some(v.into_owned());
    }
    if cb.code.is_none() && cb.error.is_none() {
        return Request::Other(
            400,
            "This callback has neither a code nor an error; postd keeps waiting.",
        );
    }
    Request::Callback(cb)
}

/// A small HTML answer for the browser.
#[derive(Debug)]
struct Page {
    status: u16,
    title: &'static str,
    message: String,
}

impl Page {
    fn new(status: u16, title: &'static str, message: impl Into<String>) -> Self {
        Page {
            status,
            title,
            message: message.into(),
        }
    }

    fn ok(message: &str) -> Self {
        Page::new(200, "Connected", message)
    }

    fn failed(message: &str) -> Self {
        Page::new(400, "Not connected", message)
    }

    async fn send(&self, stream: &mut TcpStream) -> std::io::Result<()> {
        let reason = match self.status {
            200 => "OK",
            404 => "Not Found",
            405 => "Method Not Allowed",
            _ => "Bad Request",
        };
        let body = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>postd: {title}</title></head>\
             <body><h1>{title}</h1><p>{message}</p></body></html>\n",
            title = self.title,
            message = escape_html(&self.message)
        );
        let response = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
            self.status,
            body.len()
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Reads an API key from stdin: a prompt with the echo off on a terminal, one line otherwise.
fn read_api_key(platform: Platform) -> Result<SecretString> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    if terminal {
        eprint!("{} API key (not shown): ", platform.display_name());
        set_echo(false);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if terminal {
        set_echo(true);
        eprintln!();
    }
    read.map_err(|e| CliError::new(format!("cannot read the API key from stdin: {e}")))?;
    key_from_line(line).ok_or_else(|| {
        CliError::new(format!(
            "no API key on stdin; type it at the prompt or pipe it in (printf '%s\\n' \"$KEY\" | postd connect {platform} ...)"
        ))
    })
}

/// The key on a line, trimmed in place (no copy of the secret is left behind).
fn key_from_line(mut line: String) -> Option<SecretString> {
    let end = line.trim_end().len();
    line.truncate(end);
    let start = line.len() - line.trim_start().len();
    line.drain(..start);
    (!line.is_empty()).then(|| SecretString::from(line))
}

/// Turns the terminal's echo off or on (best effort, through `stty`).
fn set_echo(on: bool) {
    let _ = std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(std::process::Stdio::inherit())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::secrecy::ExposeSecret;

    #[test]
    fn a_callback_request_yields_its_code_and_state() {
        let head = "GET /callback?code=abc%2F1&state=s-1 HTTP/1.1\r\nHost: x\r\n\r\n";
        let Request::Callback(cb) = parse_request(head) else {
            panic!("not a callback");
        };
        assert_eq!(cb.code.as_deref(), Some("abc/1"));
        assert_eq!(cb.state.as_deref(), Some("s-1"));
    }

    #[test]
    fn other_paths_and_methods_are_answered_and_waited_past() {
        assert!(matches!(
            parse_request("GET /favicon.ico HTTP/1.1\r\n\r\n"),
            Request::Other(404, _)
        ));
        assert!(matches!(
            parse_request("POST /callback?code=x HTTP/1.1\r\n\r\n"),
            Request::Other(405, _)
        ));
        assert!(matches!(
            parse_request("GET /callback HTTP/1.1\r\n\r\n"),
            Request::Other(400, _)
        ));
        assert!(matches!(parse_request(""), Request::Other(400, _)));
    }

    #[test]
    fn an_error_callback_carries_the_platforms_reason() {
        let Request::Callback(cb) = parse_request(
            "GET /callback?error=access_denied&error_description=No+thanks HTTP/1.1\r\n\r\n",
        ) else {
            panic!("not a callback");
        };
        assert_eq!(cb.error.as_deref(), Some("access_denied"));
        assert_eq!(cb.error_description.as_deref(), Some("No thanks"));
    }

    #[test]
    fn an_api_key_line_is_trimmed_and_an_empty_one_refused() {
        let key = key_from_line("  key-us6 \n".to_owned());
        assert_eq!(key.as_ref().map(|k| k.expose_secret()), Some("key-us6"));
        assert!(key_from_line(" \n".to_owned()).is_none());
    }

    #[test]
    fn page_text_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&"),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
