//! Hostile input: mutated webhook deliveries and random text never panic and
//! get typed answers; garbage and absurd numbers from "X" are typed errors
//! with bounded waits; an answer that looks fine but is not decodable after a
//! create is an unknown outcome, never a success or a retry.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use common::*;
use postd_core::error::MAX_RETRY_WAIT;
use postd_core::reqwest::header::{HeaderMap, HeaderValue};
use postd_core::{Connector, ErrorKind, WebhookRequest};
use postd_testkit::fuzz::Rng;
use postd_testkit::{Fault, Timing};

#[tokio::test]
async fn mutated_deliveries_are_refused_and_nothing_panics() {
    let e = env().await;
    e.fake.subscribe("post.create", None, None);
    e.x.publish(&e.creds, &e.target, &post("h1").with_text("seed delivery"))
        .await
        .unwrap();
    let d = e.fake.deliveries().remove(0);
    let mut rng = Rng::new(0x5eed);
    for _ in 0..2_000 {
        let body = rng.mutate(&d.body);
        let mut headers = HeaderMap::new();
        let sig = if rng.below(4) == 0 {
            String::from_utf8_lossy(&rng.mutate(d.signature.as_bytes())).into_owned()
        } else {
            d.signature.clone()
        };
        if let Ok(v) = HeaderValue::from_str(&sig) {
            headers.insert(postd_twitter::SIGNATURE_HEADER, v);
        }
        // Sometimes an OAuth2 header too, signed by nobody: it must verify as well.
        if rng.below(3) == 0 {
            let forged = String::from_utf8_lossy(&rng.bytes(60)).into_owned();
            if let Ok(v) = HeaderValue::from_str(&format!("sha256={forged}")) {
                headers.insert(postd_twitter::OAUTH2_SIGNATURE_HEADER, v);
            }
        }
        let oauth2 = headers.contains_key(postd_twitter::OAUTH2_SIGNATURE_HEADER);
        match e
            .x
            .verify_webhook(&WebhookRequest::post(headers, body.clone()))
        {
            Ok(events) => {
                assert_eq!(body, d.body, "only the signed bytes verify");
                assert!(!oauth2, "a forged OAuth2 header is never ignored");
                assert_eq!(events.len(), 1);
            }
            Err(err) => assert!(
                matches!(
                    err.kind(),
                    ErrorKind::InvalidSignature | ErrorKind::InvalidContent
                ),
                "{err}"
            ),
        }
        // The CRC never signs what is not a token.
        let token = String::from_utf8_lossy(&rng.bytes(80)).into_owned();
        if let Err(err) =
            e.x.webhook_challenge(&WebhookRequest::get([("crc_token", token)]))
        {
            assert_eq!(err.kind(), ErrorKind::InvalidSignature);
        }
    }
}

#[test]
fn random_text_is_counted_without_panicking() {
    // Pieces that exercise every rule: URLs, CJK, emoji and their modifiers,
    // joiners, flags, keycaps, combining marks, punctuation around links.
    const PIECES: &[&str] = &[
        "a",
        "字",
        "😀",
        "\u{200d}",
        "\u{fe0f}",
        "🇫",
        "🇷",
        "https://",
        "http://",
        "example.com",
        "/path",
        " ",
        "\u{301}",
        "#",
        "1",
        "\u{20e3}",
        "t.co/x",
        "é",
        "(",
        ").",
        "\u{1f3fd}",
        "\u{e0067}",
        "\u{e007f}",
        "\u{2014}",
        "&amp;",
        "\n",
    ];
    let mut rng = Rng::new(99);
    for _ in 0..20_000 {
        let n = rng.below(40);
        let text: String = (0..n).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        let weight = postd_twitter::weighted_length(&text);
        let words = text.split_whitespace().count();
        // Nothing weighs more than 2 a code point, plus 23 for each word that is a URL.
        assert!(
            weight <= 2 * text.chars().count() + 23 * words,
            "{text:?} weighs {weight}"
        );
    }
}

#[tokio::test]
async fn absurd_rate_limit_numbers_give_bounded_waits() {
    let e = env().await;
    for reset in [
        "-99999999999999999999",
        "18446744073709551616",
        "1e308",
        "",
        "9999999999",
    ] {
        e.fake.server().faults().inject(
            "POST",
            "/2/tweets",
            Fault::Status {
                status: 429,
                headers: vec![
                    ("x-rate-limit-remaining".to_owned(), "0".to_owned()),
                    ("x-rate-limit-reset".to_owned(), reset.to_owned()),
                    ("retry-after".to_owned(), reset.to_owned()),
                ],
                body: r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#.to_owned(),
            },
            1,
            Timing::BeforeCommit,
        );
        // Waits past a second go back to the caller (the queue), not a sleep here.
        let http = postd_core::http::HttpClient::builder()
            .request_timeout(REQUEST_TIMEOUT)
            .retry(retry_policy().with_max_retry_after(Duration::from_secs(1)))
            .build()
            .unwrap();
        let x = postd_twitter::XConfig::clone(e.x.config()).build(http);
        let err = x
            .publish(
                &e.creds,
                &e.target,
                &post("h2").with_text(format!("limited {reset}")),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited, "{reset}: {err}");
        let wait = err.retry_after().unwrap_or(Duration::ZERO);
        assert!(
            wait <= MAX_RETRY_WAIT + Duration::from_secs(1),
            "{reset}: {wait:?}"
        );
    }
}

#[tokio::test]
async fn a_create_answered_with_garbage_is_an_unknown_outcome() {
    let e = env().await;
    for body in ["not json", "{\"data\":", "{\"data\":{\"id\":12}}", "[]"] {
        e.fake.server().faults().inject(
            "POST",
            "/2/tweets",
            Fault::status_with_body(201, body),
            1,
            Timing::AfterCommit,
        );
        let x = connector(&e.fake, &[]);
        let err = x
            .publish(
                &e.creds,
                &e.target,
                &post("h3").with_text(format!("garbage {body}")),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{body}: {err}");
    }
    let made = e.fake.posts().len();
    assert_eq!(made, 4, "each create was sent once");
}
