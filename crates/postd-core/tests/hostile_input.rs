//! Hostile input never panics: random and mutated bytes through every
//! parser in postd-core (redaction, snippets, OAuth errors, signatures,
//! timestamps, Retry-After, PKCE, client references).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::time::SystemTime;

use postd_core::error::{body_snippet, redact};
use postd_core::http::{generic_error, parse_retry_after};
use postd_core::oauth::{PkceVerifier, parse_oauth_error};
use postd_core::reqwest::StatusCode;
use postd_core::reqwest::header::HeaderMap;
use postd_core::webhook::{SignatureEncoding, parse_timestamp, verify_hmac_sha256};
use postd_core::{ClientRef, Platform};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = (self.next() as usize) % (max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Text mixing ASCII, secret-looking keys, quotes and multi-byte characters.
    fn text(&mut self, max: usize) -> String {
        const PIECES: &[&str] = &[
            "access_token",
            "=",
            "\"",
            ":",
            " ",
            "Bearer ",
            "é",
            "漢",
            "&",
            ",",
            "}",
            "{",
            "refresh_token",
            "client_secret",
            "a",
            "Z",
            "0",
            "\n",
            "\u{0}",
            "😀",
            "code",
            "token",
        ];
        let n = (self.next() as usize) % (max + 1);
        (0..n)
            .map(|_| PIECES[(self.next() as usize) % PIECES.len()])
            .collect()
    }
}

#[test]
fn redaction_and_snippets_never_panic_and_never_keep_a_known_secret() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for _ in 0..20_000 {
        let secret = format!("SECRET{}", rng.next() % 100_000);
        let text = format!("{}{}{}", rng.text(30), secret, rng.text(30));
        let clean = redact(&text, std::slice::from_ref(&secret));
        assert!(!clean.contains(&secret), "{text:?} -> {clean:?}");
        let raw = rng.bytes(200);
        let snippet = body_snippet(&raw, &[], 50);
        assert!(!snippet.contains('\n'));
    }
}

#[test]
fn error_parsers_never_panic() {
    let mut rng = Rng(0xdead_beef_0bad_f00d);
    let statuses = [
        200u16, 301, 400, 401, 403, 404, 408, 409, 422, 426, 429, 500, 502, 503, 504, 599,
    ];
    let seeds: &[&[u8]] = &[
        br#"{"error":"invalid_grant","error_description":"x"}"#,
        br#"{"error":{"code":190}}"#,
        b"<html>502</html>",
        b"",
    ];
    for i in 0..20_000 {
        let status = StatusCode::from_u16(statuses[i % statuses.len()]).unwrap();
        let mut body = seeds[i % seeds.len()].to_vec();
        // Mutate: flip, cut or extend.
        match rng.next() % 3 {
            0 if !body.is_empty() => {
                let at = (rng.next() as usize) % body.len();
                body[at] = rng.next() as u8;
            }
            1 => body.truncate((rng.next() as usize) % (body.len() + 1)),
            _ => body.extend(rng.bytes(20)),
        }
        let e = parse_oauth_error(Platform::Meta, status, &HeaderMap::new(), &body);
        assert_eq!(e.http_status(), Some(status.as_u16()));
        let e = generic_error(status, &body);
        assert!(!e.to_string().contains('\n'));
    }
}

#[test]
fn signatures_timestamps_and_headers_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..20_000 {
        let sig = rng.text(70);
        let body = rng.bytes(64);
        assert!(verify_hmac_sha256(b"k", &body, &sig, SignatureEncoding::Hex).is_err());
        assert!(verify_hmac_sha256(b"k", &body, &sig, SignatureEncoding::Base64).is_err());
        let _ = parse_timestamp(&sig);
        let _ = parse_retry_after(&sig, SystemTime::now());
        let _ = ClientRef::new(sig.clone());
        let _ = PkceVerifier::from_secret(sig.into());
    }
}
