//! Webhook requests and the crypto to verify them: HMAC-SHA256 over the raw
//! body bytes, hex and base64 forms, constant-time comparison, and timestamp
//! tolerance with checked arithmetic.
//!
//! ```
//! use postd_core::webhook::{hmac_sha256_hex, verify_hmac_sha256, SignatureEncoding};
//!
//! let body = br#"{"object":"page"}"#;
//! let sig = hmac_sha256_hex(b"app-secret", body);
//! assert!(verify_hmac_sha256(b"app-secret", body, &sig, SignatureEncoding::Hex).is_ok());
//! assert!(verify_hmac_sha256(b"wrong", body, &sig, SignatureEncoding::Hex).is_err());
//! ```

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hmac::{KeyInit, Mac};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, ErrorKind, Result};
use crate::platform::Platform;

type HmacSha256 = hmac::Hmac<Sha256>;

/// An incoming webhook HTTP request, as the service's web framework received it.
///
/// `body` must be the exact bytes received: signatures are computed over
/// them, and a parsed-then-reserialized body will not verify.
///
/// Its `Debug` shows the method, the query keys, the header names and the
/// body's length: a query can carry a verify token and headers a signature.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct WebhookRequest {
    /// `GET` for challenges, `POST` for events.
    pub method: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The request headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
}

impl fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self.query.iter().map(|(k, _)| k.as_str()).collect();
        let headers: Vec<&str> = self.headers.keys().map(|k| k.as_str()).collect();
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("query_keys", &keys)
            .field("header_names", &headers)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl WebhookRequest {
    /// A `POST` with `headers` and `body`.
    pub fn post(headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        WebhookRequest {
            method: "POST".to_owned(),
            query: Vec::new(),
            headers,
            body: body.into(),
        }
    }

    /// A `GET` with query parameters.
    pub fn get<K: Into<String>, V: Into<String>>(query: impl IntoIterator<Item = (K, V)>) -> Self {
        WebhookRequest {
            method: "GET".to_owned(),
            query: query
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A `GET` whose query is parsed from a raw query string (`a=1&b=2`).
    pub fn get_from_query_string(query: &str) -> Self {
        WebhookRequest::get(url::form_urlencoded::parse(query.as_bytes()).into_owned())
    }

    /// The first value of query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of header `name` as text, or an [`ErrorKind::InvalidSignature`] error when it is missing or not text.
    pub fn required_header(&self, name: &str) -> Result<&str> {
        let value = self.headers.get(name).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidSignature,
                format!("missing {name} header"),
            )
        })?;
        value.to_str().map_err(|_| {
            Error::new(
                ErrorKind::InvalidSignature,
                format!("{name} header is not ASCII text"),
            )
        })
    }
}

/// The answer to a webhook challenge, to send back as the HTTP response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChallengeResponse {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl ChallengeResponse {
    /// A `200 text/plain` answer.
    pub fn text(body: impl Into<String>) -> Self {
        ChallengeResponse {
            status: 200,
            content_type: "text/plain",
            body: body.into(),
        }
    }

    /// A `200 application/json` answer.
    pub fn json(body: impl Into<String>) -> Self {
        ChallengeResponse {
            status: 200,
            content_type: "application/json",
            body: body.into(),
        }
    }
}

/// One event from a verified webhook delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The platform that sent it.
    pub platform: Platform,
    /// A stable id for deduplication (the platform's notification id, or one derived from the event).
    pub id: Option<String>,
    /// What happened, in the platform's words (`feed`, `comments`, `mentions`, `ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS`).
    pub kind: String,
    /// The page, account or organization the event concerns.
    pub target_id: Option<String>,
    /// When it happened, when the platform said.
    pub occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The event as the platform sent it; unknown fields are kept.
    pub payload: serde_json::Value,
}

impl WebhookEvent {
    /// A new event of `kind`.
    pub fn new(platform: Platform, kind: impl Into<String>, payload: serde_json::Value) -> Self {
        WebhookEvent {
            platform,
            id: None,
            kind: kind.into(),
            target_id: None,
            occurred_at: None,
            payload,
        }
    }
}

/// How a signature is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureEncoding {
    /// Lowercase or uppercase hexadecimal.
    Hex,
    /// Standard base64 (padding optional).
    Base64,
}

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = new_mac(key);
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `msg` under `key`, as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    hex_encode(&hmac_sha256(key, msg))
}

/// HMAC-SHA256 of `msg` under `key`, as standard padded base64.
pub fn hmac_sha256_base64(key: &[u8], msg: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key, msg))
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail; the fallback keeps it panic-free.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()))
}

/// Verifies that `signature` (in `encoding`) is the HMAC-SHA256 of `msg` under `key`.
///
/// The comparison is constant time. A signature that does not decode, or has
/// the wrong length, is an [`ErrorKind::InvalidSignature`] error, never a panic.
pub fn verify_hmac_sha256(
    key: &[u8],
    msg: &[u8],
    signature: &str,
    encoding: SignatureEncoding,
) -> Result<()> {
    check_key(key)?;
    let expected = decode_signature(signature, encoding)?;
    let mut mac = new_mac(key);
    mac.update(msg);
    mac.verify_slice(&expected)
        .map_err(|_| Error::new(ErrorKind::InvalidSignature, "signature does not match"))
}

/// Like [`verify_hmac_sha256`], over a message given in parts (`timestamp`, `.`, `body`) without copying them together.
pub fn verify_hmac_sha256_parts(
    key: &[u8],
    parts: &[&[u8]],
    signature: &str,
    encoding: SignatureEncoding,
) -> Result<()> {
    check_key(key)?;
    let expected = decode_signature(signature, encoding)?;
    let mut mac = new_mac(key);
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(&expected)
        .map_err(|_| Error::new(ErrorKind::InvalidSignature, "signature does not match"))
}

/// An empty key is a missing secret, and anyone can sign with it.
fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            "the webhook signing secret is empty; set the app secret before verifying",
        ));
    }
    Ok(())
}

fn decode_signature(signature: &str, encoding: SignatureEncoding) -> Result<Vec<u8>> {
    let bytes = match encoding {
        SignatureEncoding::Hex => hex_decode(signature),
        SignatureEncoding::Base64 => {
            let s = signature.trim_end_matches('=');
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(s)
                .ok()
        }
    };
    match bytes {
        Some(b) if b.len() == 32 => Ok(b),
        Some(_) => Err(Error::new(
            ErrorKind::InvalidSignature,
            "signature has the wrong length",
        )),
        None => Err(Error::new(
            ErrorKind::InvalidSignature,
            match encoding {
                SignatureEncoding::Hex => "signature is not valid hex",
                SignatureEncoding::Base64 => "signature is not valid base64",
            },
        )),
    }
}

/// Parses a Unix timestamp in seconds: ASCII digits only, no sign, no spaces, no fraction.
pub fn parse_timestamp(text: &str) -> Result<i64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::new(
            ErrorKind::InvalidSignature,
            "timestamp is not a plain integer",
        ));
    }
    text.parse::<i64>()
        .map_err(|_| Error::new(ErrorKind::InvalidSignature, "timestamp is out of range"))
}

/// Checks that `timestamp` (Unix seconds) is within `tolerance` of `now`, in the past or the future.
///
/// The arithmetic is checked: `i64::MIN`, `i64::MAX` and negative values are rejected cleanly.
pub fn check_timestamp(timestamp: i64, now: i64, tolerance: Duration) -> Result<()> {
    if timestamp < 0 {
        return Err(Error::new(
            ErrorKind::InvalidSignature,
            "timestamp is negative",
        ));
    }
    let diff = timestamp.abs_diff(now);
    if diff > tolerance.as_secs() {
        let which = if timestamp < now {
            "old"
        } else {
            "far in the future"
        };
        return Err(Error::new(
            ErrorKind::InvalidSignature,
            format!(
                "timestamp is too {which} ({diff}s away; tolerance {}s)",
                tolerance.as_secs()
            ),
        ));
    }
    Ok(())
}

/// Lowercase hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// Decodes hex (either case); `None` for odd length or a non-hex character.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    bytes
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex_decode(s).unwrap()
    }

    // RFC 4231 section 4, HMAC-SHA-256 outputs.
    #[test]
    fn rfc4231_vectors() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (
                vec![0x0b; 20],
                b"Hi There".to_vec(),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe".to_vec(),
                b"what do ya want for nothing?".to_vec(),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                vec![0xaa; 20],
                vec![0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                vec![0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                vec![0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, msg, want) in cases {
            assert_eq!(hmac_sha256_hex(&key, &msg), want);
            assert!(verify_hmac_sha256(&key, &msg, want, SignatureEncoding::Hex).is_ok());
            assert!(
                verify_hmac_sha256(&key, &msg, &want.to_uppercase(), SignatureEncoding::Hex)
                    .is_ok()
            );
        }
        // Test case 5 truncates to 128 bits; a truncated signature is refused, not compared as a prefix.
        let truncated = "a3b6167473100ee06e0c796c2955552b";
        let err = verify_hmac_sha256(
            &[0x0c; 20],
            b"Test With Truncation",
            truncated,
            SignatureEncoding::Hex,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSignature);
        assert!(hmac_sha256_hex(&[0x0c; 20], b"Test With Truncation").starts_with(truncated));
    }

    #[test]
    fn base64_form_matches_hex_and_accepts_missing_padding() {
        let b64 = hmac_sha256_base64(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(b64, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
        for sig in [b64.as_str(), b64.trim_end_matches('=')] {
            assert!(
                verify_hmac_sha256(
                    b"Jefe",
                    b"what do ya want for nothing?",
                    sig,
                    SignatureEncoding::Base64
                )
                .is_ok()
            );
        }
    }

    #[test]
    fn hostile_signatures_are_typed_errors() {
        let good = hmac_sha256_hex(b"k", b"body");
        let cases = [
            String::new(),
            good[..63].to_owned(),          // odd length
            format!("{}zz", &good[..62]),   // non-hex
            "é".repeat(32),                 // non-ASCII
            good[..32].to_owned(),          // half length
            format!("{good}00"),            // too long
            hmac_sha256_hex(b"k", b"bodY"), // tampered body
            hmac_sha256_hex(b"K", b"body"), // wrong secret
        ];
        for sig in cases {
            let err = verify_hmac_sha256(b"k", b"body", &sig, SignatureEncoding::Hex).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{sig}");
        }
        for sig in ["!!!!", "dGVzdA==", "", "=="] {
            let err =
                verify_hmac_sha256(b"k", b"body", sig, SignatureEncoding::Base64).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSignature);
        }
        // A correct signature under an empty key proves nothing: anyone can make one.
        let forged = hmac_sha256_hex(b"", b"body");
        let err = verify_hmac_sha256(b"", b"body", &forged, SignatureEncoding::Hex).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        let err =
            verify_hmac_sha256_parts(b"", &[b"body"], &forged, SignatureEncoding::Hex).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn request_debug_shows_no_values() {
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", "sha256=SIGVALUE".parse().unwrap());
        let mut req = WebhookRequest::post(headers, "BODYTEXT");
        req.query
            .push(("hub.verify_token".into(), "VERIFYTOKEN".into()));
        let dbg = format!("{req:?}");
        for leaked in ["SIGVALUE", "BODYTEXT", "VERIFYTOKEN"] {
            assert!(!dbg.contains(leaked), "{dbg}");
        }
        assert!(dbg.contains("x-hub-signature-256") && dbg.contains("hub.verify_token"));
    }

    #[test]
    fn parts_equal_the_joined_message() {
        let sig = hmac_sha256_hex(b"secret", b"1633174587.{\"a\":1}");
        assert!(
            verify_hmac_sha256_parts(
                b"secret",
                &[b"1633174587", b".", b"{\"a\":1}"],
                &sig,
                SignatureEncoding::Hex
            )
            .is_ok()
        );
    }

    #[test]
    fn timestamp_tolerance_edges() {
        let tol = Duration::from_secs(300);
        let now = 1_700_000_000;
        assert!(check_timestamp(now, now, tol).is_ok());
        assert!(check_timestamp(now - 300, now, tol).is_ok());
        assert!(check_timestamp(now + 300, now, tol).is_ok());
        assert!(check_timestamp(now - 301, now, tol).is_err());
        assert!(check_timestamp(now + 301, now, tol).is_err());
        for hostile in [i64::MIN, i64::MAX, -1, 0] {
            let err = check_timestamp(hostile, now, tol).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSignature);
        }
        assert!(check_timestamp(i64::MAX, i64::MAX, tol).is_ok());
    }

    #[test]
    fn timestamps_parse_strictly() {
        assert_eq!(parse_timestamp("1700000000").unwrap(), 1_700_000_000);
        for bad in [
            "",
            "hello",
            "1e9",
            "+1700000000",
            " 1700000000",
            "1700000000.5",
            "-5",
            "99999999999999999999",
        ] {
            assert_eq!(
                parse_timestamp(bad).unwrap_err().kind(),
                ErrorKind::InvalidSignature,
                "{bad}"
            );
        }
    }

    #[test]
    fn request_helpers() {
        let r = WebhookRequest::get_from_query_string("hub.mode=subscribe&hub.challenge=a%20b");
        assert_eq!(r.query_param("hub.challenge"), Some("a b"));
        assert_eq!(r.query_param("missing"), None);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-sig",
            reqwest::header::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        let post = WebhookRequest::post(headers, "{}");
        assert_eq!(
            post.required_header("x-sig").unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
        assert_eq!(
            post.required_header("x-none").unwrap_err().kind(),
            ErrorKind::InvalidSignature
        );
    }
}
