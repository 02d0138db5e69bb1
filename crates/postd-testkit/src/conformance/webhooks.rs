//! Webhook behaviours: signatures over the raw body, stale signatures, the
//! endpoint challenge and its forged tokens, hostile deliveries.
//!
//! A challenge responder that signs under the delivery key signs only tokens
//! of the documented shape ([`postd_core::webhook::challenge_token`]);
//! otherwise it is a signing oracle for forged deliveries.

use postd_core::reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use postd_core::{Capabilities, ErrorKind, WebhookRequest};

use super::{Outcome, Subject, ensure};
use crate::fuzz::Rng;

fn webhook_caps(s: &Subject<'_>) -> Capabilities {
    s.caps(&s.seed().target)
}

fn not_signed(s: &Subject<'_>) -> Option<Outcome> {
    (!webhook_caps(s).signed_webhooks)
        .then(|| Outcome::Skipped("the platform signs no webhooks (signed_webhooks: false)".into()))
}

/// `None` where deliveries are authenticated: signed over the body, or (a
/// platform that signs no body, such as Pub/Sub's OIDC token) where the
/// connector verifies the fake's authenticated delivery. Else why not.
fn not_authenticated(s: &Subject<'_>) -> Option<Outcome> {
    not_signed(s)?;
    let first = s.fake.webhook_deliveries().into_iter().next()?;
    match s.connector.verify_webhook(&s.fake.signed_delivery(&first)) {
        Ok(_) => None,
        Err(e) => Some(Outcome::Skipped(format!(
            "the platform signs no webhooks (signed_webhooks: false) and the connector authenticates none of the fake's deliveries ({})",
            e.kind()
        ))),
    }
}

fn no_challenge(s: &Subject<'_>) -> Option<Outcome> {
    (!webhook_caps(s).webhook_challenge).then(|| {
        Outcome::Skipped(
            "the platform validates no webhook endpoint (webhook_challenge: false)".into(),
        )
    })
}

fn deliveries(s: &Subject<'_>, rule: &str) -> Vec<Vec<u8>> {
    let all = s.fake.webhook_deliveries();
    ensure!(
        s,
        rule,
        !all.is_empty(),
        "the fake documents no webhook delivery"
    );
    all
}

fn with_headers(headers: HeaderMap, body: &[u8]) -> WebhookRequest {
    WebhookRequest::post(headers, body.to_vec())
}

/// Every documented delivery, signed (or authenticated) as the platform
/// does it, verifies; the first one parses to events of this platform.
pub async fn webhook_good_signature_verifies_and_parses(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "webhooks: a good signature verifies and parses";
    if let Some(skip) = not_authenticated(s) {
        return skip;
    }
    for (i, body) in deliveries(s, RULE).iter().enumerate() {
        let events = s.expect_ok(
            RULE,
            &format!("delivery {i}"),
            s.connector.verify_webhook(&s.fake.signed_delivery(body)),
        );
        if i == 0 {
            ensure!(
                s,
                RULE,
                !events.is_empty() && events.iter().all(|e| e.platform == s.connector.platform()),
                "the first documented delivery parsed to {events:?}"
            );
        }
    }
    Outcome::Passed
}

/// Signatures that do not match the bytes received are
/// [`ErrorKind::InvalidSignature`]: a changed, cut, doubled, empty or non-text
/// signature, a missing header, a signature over other bytes, a body changed
/// after signing.
pub async fn webhook_bad_signatures_are_refused(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "webhooks: a bad, misplaced or missing signature is InvalidSignature";
    if let Some(skip) = not_signed(s) {
        return skip;
    }
    let all = deliveries(s, RULE);
    let body = &all[0];
    let good = s.fake.signed_delivery(body);
    ensure!(
        s,
        RULE,
        !good.headers.is_empty(),
        "the fake's signed delivery has no header"
    );
    let mut cases: Vec<(String, WebhookRequest)> = Vec::new();
    for (name, value) in &good.headers {
        let text = value.to_str().unwrap_or_default().to_owned();
        let mut flipped = text.clone();
        let last = flipped.pop().unwrap_or('0');
        flipped.push(if last == '0' { '1' } else { '0' });
        let mut not_hex = text.clone();
        not_hex.pop();
        not_hex.push('z');
        let variants: Vec<(&str, Vec<u8>)> = vec![
            ("its last character changed", flipped.into_bytes()),
            (
                "one character short",
                text.as_bytes()[..text.len().saturating_sub(1)].to_vec(),
            ),
            ("cut in half", text.as_bytes()[..text.len() / 2].to_vec()),
            ("not hex at the end", not_hex.into_bytes()),
            ("empty", Vec::new()),
            ("doubled", format!("{text}{text}").into_bytes()),
            ("not ASCII", "é".repeat(32).into_bytes()),
        ];
        for (what, bytes) in variants {
            let mut headers = good.headers.clone();
            let Ok(v) = HeaderValue::from_bytes(&bytes) else {
                continue;
            };
            headers.insert(name.clone(), v);
            cases.push((format!("{name} {what}"), with_headers(headers, body)));
        }
        let mut headers = good.headers.clone();
        headers.remove(name);
        cases.push((format!("{name} missing"), with_headers(headers, body)));
    }
    let mut other = body.clone();
    other.extend_from_slice(b" ");
    cases.push((
        "a signature over other bytes".into(),
        with_headers(s.fake.signed_delivery(&other).headers, body),
    ));
    let mut tampered = body.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    cases.push((
        "the body changed after signing".into(),
        with_headers(good.headers.clone(), &tampered),
    ));
    cases.push((
        "no header at all".into(),
        with_headers(HeaderMap::new(), body),
    ));
    for (what, request) in cases {
        s.expect_kind(
            RULE,
            &what,
            s.connector.verify_webhook(&request),
            ErrorKind::InvalidSignature,
        );
    }
    Outcome::Passed
}

/// Where the platform signs a timestamp, a delivery signed an hour ago (a
/// replay) is [`ErrorKind::InvalidSignature`] and one signed now verifies.
pub async fn webhook_stale_signature_is_refused(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "webhooks: a stale or replayed signed timestamp is InvalidSignature";
    if let Some(skip) = not_signed(s) {
        return skip;
    }
    let body = &deliveries(s, RULE)[0];
    let now = chrono::Utc::now().timestamp();
    let Some(fresh) = s.fake.signed_delivery_at(body, now) else {
        return Outcome::Skipped(
            "the platform signs no timestamp, so a replay cannot be told".into(),
        );
    };
    s.expect_ok(
        RULE,
        "a delivery signed now",
        s.connector.verify_webhook(&fresh),
    );
    for (what, at) in [("an hour ago", now - 3600), ("an hour ahead", now + 3600)] {
        if let Some(stale) = s.fake.signed_delivery_at(body, at) {
            s.expect_kind(
                RULE,
                &format!("a delivery signed {what}"),
                s.connector.verify_webhook(&stale),
                ErrorKind::InvalidSignature,
            );
        }
    }
    Outcome::Passed
}

/// The platform's validation request with a token of the documented shape
/// gets the answer the platform accepts.
pub async fn webhook_challenge_answers_its_documented_form(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "webhooks: the challenge answers in its documented form";
    if let Some(skip) = no_challenge(s) {
        return skip;
    }
    let token = s.fake.challenge_token();
    let answer = s.expect_ok(
        RULE,
        "webhook_challenge",
        s.connector
            .webhook_challenge(&s.fake.challenge_request(Some(&token))),
    );
    ensure!(
        s,
        RULE,
        s.fake.accepts_challenge_answer(&token, &answer),
        "the platform would not accept {answer:?} for {token:?}"
    );
    Outcome::Passed
}

/// A challenge token not of the documented shape (a forged delivery body,
/// with or without a signature scheme prefix, too long, markup, empty, or
/// none) is refused with [`ErrorKind::InvalidSignature`] and answered with nothing.
pub async fn webhook_challenge_refuses_forged_tokens(s: &Subject<'_>) -> Outcome {
    const RULE: &str =
        "webhooks: the challenge refuses a token that is not of the documented shape";
    if let Some(skip) = no_challenge(s) {
        return skip;
    }
    if s.fake.challenge_token().is_empty() {
        return Outcome::Skipped(
            "the platform's validation request carries no token: its answer echoes nothing to forge"
                .into(),
        );
    }
    let forged = String::from_utf8_lossy(&deliveries(s, RULE)[0]).into_owned();
    let long = "a".repeat(postd_core::webhook::CHALLENGE_TOKEN_MAX + 1);
    let tokens: Vec<Option<String>> = vec![
        Some(forged.clone()),
        Some(format!("hmacsha256={forged}")),
        Some(format!("sha256={forged}")),
        Some(long),
        Some("<script>alert(1)</script>".into()),
        Some("with space inside".into()),
        Some(String::new()),
        None,
    ];
    for token in tokens {
        s.expect_kind(
            RULE,
            &format!("challenge token {token:?}"),
            s.connector
                .webhook_challenge(&s.fake.challenge_request(token.as_deref())),
            ErrorKind::InvalidSignature,
        );
    }
    Outcome::Passed
}

/// Mutated deliveries (2,500 from each documented shape) never panic:
/// signed garbage parses or is [`ErrorKind::InvalidContent`], random signature bytes are
/// [`ErrorKind::InvalidSignature`], random challenge queries answer or refuse.
pub async fn webhook_hostile_deliveries_are_typed_errors(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "webhooks: hostile deliveries are typed errors, never panics";
    const SEED: u64 = 0x636f_6e66_6f72_6d73;
    if let Some(skip) = not_authenticated(s) {
        return skip;
    }
    let seeds = deliveries(s, RULE);
    let names: Vec<HeaderName> = s
        .fake
        .signed_delivery(&seeds[0])
        .headers
        .keys()
        .cloned()
        .collect();
    let challenge = webhook_caps(s).webhook_challenge;
    let mut rng = Rng::new(SEED);
    for i in 0..2_500 * seeds.len() {
        let body = rng.mutate(&seeds[i % seeds.len()]);
        match s.connector.verify_webhook(&s.fake.signed_delivery(&body)) {
            Ok(_) => {}
            Err(e) => ensure!(
                s,
                RULE,
                e.kind() == ErrorKind::InvalidContent,
                "iteration {i} (seed {SEED:#x}): a signed mutated body gave {e}"
            ),
        }
        let mut headers = HeaderMap::new();
        for name in &names {
            if let Ok(v) = HeaderValue::from_bytes(&rng.bytes(80)) {
                headers.insert(name.clone(), v);
            }
        }
        s.expect_kind(
            RULE,
            &format!("iteration {i} (seed {SEED:#x}): random signature bytes"),
            s.connector.verify_webhook(&with_headers(headers, &body)),
            ErrorKind::InvalidSignature,
        );
        if challenge {
            let q = String::from_utf8_lossy(&rng.bytes(60)).into_owned();
            let _ = s
                .connector
                .webhook_challenge(&WebhookRequest::get_from_query_string(&q));
        }
    }
    Outcome::Passed
}
