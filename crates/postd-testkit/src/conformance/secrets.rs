//! The secrets behaviour: a canary token seeded as the account's access and
//! refresh tokens (and the app's client secret) never shows up where others
//! can read it: a request URL, an error, a `Debug` output, a TRACE log.

use std::io;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use postd_core::oauth::{AuthorizationRequest, CodeExchange};
use postd_core::secrecy::ExposeSecret;
use postd_core::{Connector, Credentials, Error, RefreshModel};
use tracing::instrument::WithSubscriber;
use tracing_subscriber::fmt::format::FmtSpan;

use super::{Outcome, Seeded, Subject, ensure, sample_post, unique};
use crate::{Fault, Timing};

/// A TRACE log written to memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn dispatch(&self) -> tracing::Dispatch {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::Dispatch::new(subscriber)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// An error answer that echoes `secret` wherever a platform puts text: how a
/// careless platform (or proxy) quotes the token it was sent.
fn echo(secret: &str) -> String {
    serde_json::json!({
        "error": {
            "message": format!("Invalid OAuth access token {secret}"),
            "type": "OAuthException",
            "code": 100,
            "error_user_msg": secret,
        },
        "error_description": format!("{secret} is invalid"),
        "message": format!("token {secret} is not valid"),
        "status": 400,
        "serviceErrorCode": 100,
        "access_token": secret,
    })
    .to_string()
}

fn secrets_of(credentials: &Credentials) -> Vec<String> {
    match credentials {
        Credentials::OAuth(t) => t.secrets_for_redaction(),
        Credentials::ApiKey(k) => vec![k.expose_secret().to_owned()],
        _ => Vec::new(),
    }
}

/// What the calls produced: their errors, the `Debug` text of what holds a
/// secret, and the secrets issued on the way.
#[derive(Default)]
struct Trail {
    errors: Vec<Error>,
    debug: Vec<String>,
    issued: Vec<String>,
}

impl Trail {
    fn keep<T>(&mut self, result: postd_core::Result<T>) -> Option<T> {
        result.map_err(|e| self.errors.push(e)).ok()
    }

    fn debug(&mut self, value: &dyn std::fmt::Debug) {
        self.debug.push(format!("{value:?}"));
        self.debug.push(format!("{value:#?}"));
    }
}

/// Every call a connector makes with an account, its failures included
/// (answers that echo the token sent, a dead grant, a bogus code).
async fn exercise(s: &Subject<'_>, seeded: &Seeded, canary: &str, rule: &str) -> Trail {
    let mut trail = Trail::default();
    let (c, fake, creds, target) = (s.connector, s.fake, &seeded.credentials, &seeded.target);
    let Credentials::OAuth(tokens) = creds else {
        s.fail(rule, "the fake seeded credentials that are not OAuth")
    };
    let sent = tokens.derived_for(target).unwrap_or(&tokens.access_token);
    let sent = sent.expose_secret().to_owned();
    let grant = tokens
        .refresh_token
        .as_ref()
        .unwrap_or(&tokens.access_token);
    let grant = format!("{} {}", grant.expose_secret(), fake.client_secret());
    let route = fake.create_route(target);
    trail.debug(creds);

    let post = sample_post(s, target, "canary");
    let started = Utc::now() - chrono::Duration::seconds(2);
    s.publish_settled(rule, creds, target, &post).await;
    trail.keep(
        c.find_published(creds, target, &post.fingerprint(started))
            .await,
    );
    trail.keep(c.targets(creds).await);
    trail.keep(c.health_check(creds).await);

    let faults = fake.faults();
    for timing in [Timing::BeforeCommit, Timing::AfterCommit] {
        let status = if timing == Timing::BeforeCommit {
            400
        } else {
            500
        };
        faults.inject(
            route.method,
            route.path_contains,
            Fault::status_with_body(status, echo(&sent)),
            1,
            timing,
        );
        let echoed = sample_post(s, target, "canary-echo");
        trail.keep(c.publish(creds, target, &echoed).await);
    }
    // A read answered 400, then one answered 200 with an error document.
    let reads = fake.lookup_route();
    for status in [400, 200] {
        faults.inject(
            reads.method,
            reads.path_contains,
            Fault::status_with_body(status, echo(&sent)),
            1,
            Timing::BeforeCommit,
        );
        trail.keep(
            c.find_published(creds, target, &post.fingerprint(started))
                .await,
        );
    }
    // Webhook requests whose signature, body and challenge are the token.
    trail.debug(&fake.signed_delivery(sent.as_bytes()));
    trail.debug(&fake.challenge_request(Some(&sent)));

    if s.caps(target).refresh != RefreshModel::NonExpiring {
        faults.inject(
            "POST",
            "",
            Fault::status_with_body(400, echo(&grant)),
            1,
            Timing::BeforeCommit,
        );
        trail.keep(c.refresh(creds).await);
        if let Some(fresh) = trail.keep(c.refresh(creds).await) {
            trail.issued.extend(secrets_of(&fresh));
            trail.debug(&fresh);
        }
    }
    exchange_bogus_codes(c, s, &format!("{canary}code"), &mut trail, rule).await;
    fake.end_refresh_grant(seeded, super::GrantEnd::Revoked);
    trail.keep(c.refresh(creds).await);
    faults.clear();
    trail
}

/// A code that is itself secret, refused for a bad `state` and by the platform.
async fn exchange_bogus_codes(
    c: &dyn Connector,
    s: &Subject<'_>,
    code: &str,
    trail: &mut Trail,
    rule: &str,
) {
    for right_state in [false, true] {
        let redirect = url::Url::parse("https://app.example/callback/conformance")
            .unwrap_or_else(|e| s.fail(rule, e));
        let Some(auth) = trail.keep(c.authorize_url(&AuthorizationRequest::new(redirect))) else {
            return;
        };
        let received = if right_state {
            auth.state.as_str().to_owned()
        } else {
            "forged".into()
        };
        let exchange = CodeExchange::new(
            code.to_owned(),
            received,
            auth.state,
            auth.pkce_verifier,
            auth.redirect_uri,
        );
        trail.debug(&exchange);
        if right_state {
            s.fake.faults().inject(
                "POST",
                "",
                Fault::status_with_body(400, echo(code)),
                1,
                Timing::BeforeCommit,
            );
        }
        trail.keep(c.exchange_code(exchange).await);
    }
}

/// A canary seeded as the account's access and refresh tokens (and the app's
/// client secret, and every token issued on the way) never appears in a
/// request URL the fake received (but where the platform documents a token
/// parameter: [`PlatformFake::url_token_exceptions`](super::PlatformFake::url_token_exceptions)),
/// in an error's `Display` or `Debug`, in the `Debug` of credentials or a
/// code exchange, or in a TRACE log captured during the calls.
pub async fn secrets_canary_never_leaks(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "secrets: a canary token never leaks into URLs, errors, Debug or logs";
    let canary = unique("POSTDCANARY").replace('-', "Z");
    let seeded = s.fake.seed(s.kind, Some(&canary));
    ensure!(
        s,
        RULE,
        secrets_of(&seeded.credentials)
            .iter()
            .all(|t| t.starts_with(&canary)),
        "the fake did not seed the canary as every token"
    );
    let capture = Capture::default();
    let before = s.received_count().await;
    let struck = s.fake.faults().injected();
    let trail = exercise(s, &seeded, &canary, RULE)
        .with_subscriber(capture.dispatch())
        .await;
    let echoes = s.fake.faults().injected() - struck;
    let refreshes = s.caps(&seeded.target).refresh != RefreshModel::NonExpiring;
    ensure!(
        s,
        RULE,
        echoes == 5 + usize::from(refreshes),
        "{echoes} of the answers that echo a secret struck"
    );
    let mut secrets = vec![canary, s.fake.client_secret()];
    secrets.extend(trail.issued.iter().cloned());
    super::check_debug_hides(s.connector, &s.fake.client_secret());

    let mut texts: Vec<(String, String)> = Vec::new();
    for e in &trail.errors {
        texts.push(("an error's Display".into(), e.to_string()));
        texts.push(("an error's Debug".into(), format!("{e:?} {e:#?}")));
    }
    texts.extend(
        trail
            .debug
            .iter()
            .map(|d| ("a Debug output".to_owned(), d.clone())),
    );
    let log = capture.text();
    ensure!(
        s,
        RULE,
        log.contains("postd.http"),
        "the TRACE capture saw no platform call: {log}"
    );
    texts.push(("the TRACE log".into(), log));
    for (where_, text) in &texts {
        for secret in &secrets {
            ensure!(
                s,
                RULE,
                !text.contains(secret.as_str()),
                "{where_} carries a secret: {text}"
            );
        }
    }

    let exceptions = s.fake.url_token_exceptions();
    let mut excused = Vec::new();
    for r in s.received_since(before).await {
        let path = r.url.path();
        for secret in &secrets {
            ensure!(
                s,
                RULE,
                !path.contains(secret.as_str()),
                "{} {path} carries a secret in its path",
                r.method
            );
        }
        for (k, v) in r.url.query_pairs() {
            if let Some((suffix, _)) = exceptions
                .iter()
                .find(|(suffix, p)| path.ends_with(suffix) && k == *p)
            {
                excused.push(format!(
                    "{} …{suffix}?{k}= (documented by the platform)",
                    r.method
                ));
                continue;
            }
            for secret in &secrets {
                ensure!(
                    s,
                    RULE,
                    !k.contains(secret.as_str()) && !v.contains(secret.as_str()),
                    "{} {path} carries a secret in its query parameter {k}",
                    r.method
                );
            }
        }
    }
    excused.sort();
    excused.dedup();
    if excused.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Partial(
            excused
                .into_iter()
                .map(|e| format!("a token travelled in {e}"))
                .collect(),
        )
    }
}
