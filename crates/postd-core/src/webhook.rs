//! Webhook requests and the crypto to verify them: HMAC-SHA256 over the raw
//! body bytes, hex and base64 forms, constant-time comparison, timestamp
//! tolerance with checked arithmetic, and the one rule every challenge
//! responder follows ([`challenge_token`]).
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

/// Longest challenge token a responder signs.
pub const CHALLENGE_TOKEN_MAX: usize = 128;
/// Shortest challenge token a responder signs.
pub const CHALLENGE_TOKEN_MIN: usize = 8;

/// An incoming webhook HTTP request, as the service's web framework received it.
///
/// `body` must be the exact bytes received: signatures are computed over
/// them, and a parsed-then-reserialized body will not verify.
///
/// Build it from an `http::Request` (what axum and hyper hand a handler),
/// from `http` parts, or from plain `(name, value)` pairs:
///
/// ```
/// use postd_core::webhook::WebhookRequest;
///
/// let request = http::Request::post("/webhooks/meta?from=test")
///     .header("x-hub-signature-256", "sha256=00")
///     .body(bytes::Bytes::from_static(br#"{"object":"page"}"#))?;
/// let webhook = WebhookRequest::from_http(request);
/// assert_eq!(webhook.method, "POST");
/// assert_eq!(webhook.query_param("from"), Some("test"));
///
/// let same = WebhookRequest::from_pairs(
///     "POST",
///     "from=test",
///     [("X-Hub-Signature-256", "sha256=00")],
///     &br#"{"object":"page"}"#[..],
/// )?;
/// assert_eq!(same.headers, webhook.headers);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// In an axum handler (axum is not a dependency of POSTD, so this sketch is
/// not compiled here), take the raw body as `Bytes` and the `http` parts:
///
/// ```text
/// async fn meta_webhook(
///     State(meta): State<Arc<dyn Connector>>,
///     method: Method,
///     uri: Uri,
///     headers: HeaderMap,
///     body: Bytes,
/// ) -> StatusCode {
///     let request = WebhookRequest::from_parts(&method, &uri, headers, body);
///     if method == Method::GET {
///         return match meta.webhook_challenge(&request) {
///             Ok(_) => StatusCode::OK, // send the ChallengeResponse body back
///             Err(_) => StatusCode::FORBIDDEN,
///         };
///     }
///     match meta.verify_webhook(&request) {
///         Ok(events) => { /* hand events to a queue; answer fast */ StatusCode::OK }
///         Err(e) if e.kind() == ErrorKind::InvalidSignature => StatusCode::UNAUTHORIZED,
///         Err(_) => StatusCode::BAD_REQUEST,
///     }
/// }
/// ```
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
    /// The request's path (`/webhooks/mailchimp/{secret}`), for platforms
    /// that authenticate a delivery by a secret in its URL; empty when not
    /// given. Not shown by `Debug`.
    pub path: String,
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
            path: String::new(),
        }
    }

    /// Sets the request's path (see [`path`](Self::path)).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
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
            path: String::new(),
        }
    }

    /// A `GET` whose query is parsed from a raw query string (`a=1&b=2`).
    pub fn get_from_query_string(query: &str) -> Self {
        WebhookRequest::get(url::form_urlencoded::parse(query.as_bytes()).into_owned())
    }

    /// The request an `http` server (axum, hyper) received, with its body already read.
    pub fn from_http<B: Into<Bytes>>(request: ::http::Request<B>) -> Self {
        let (parts, body) = request.into_parts();
        WebhookRequest::from_parts(&parts.method, &parts.uri, parts.headers, body)
    }

    /// A request from `http` parts: the method, the URI (its path and
    /// query), the headers and the raw body.
    pub fn from_parts(
        method: &::http::Method,
        uri: &::http::Uri,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Self {
        WebhookRequest {
            method: method.as_str().to_owned(),
            query: parse_query(uri.query().unwrap_or("")),
            headers,
            body: body.into(),
            path: uri.path().to_owned(),
        }
    }

    /// A request from plain values: the method, the raw query string (`a=1&b=2`,
    /// without `?`), `(name, value)` header pairs and the raw body.
    ///
    /// A header name or value that HTTP cannot carry is an
    /// [`ErrorKind::InvalidSignature`] error: such a request cannot have come
    /// from the platform.
    pub fn from_pairs<N, V>(
        method: &str,
        query: &str,
        headers: impl IntoIterator<Item = (N, V)>,
        body: impl Into<Bytes>,
    ) -> Result<Self>
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name =
                ::http::header::HeaderName::from_bytes(name.as_ref().as_bytes()).map_err(|_| {
                    Error::new(ErrorKind::InvalidSignature, "a header name is not valid")
                })?;
            let value = ::http::header::HeaderValue::from_bytes(value.as_ref()).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidSignature,
                    format!("header {name} has a value HTTP cannot carry"),
                )
            })?;
            map.append(name, value);
        }
        Ok(WebhookRequest {
            method: method.to_ascii_uppercase(),
            query: parse_query(query.strip_prefix('?').unwrap_or(query)),
            headers: map,
            body: body.into(),
            path: String::new(),
        })
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

fn parse_query(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The challenge token of a validation request, checked before a responder signs it.
///
/// LinkedIn's `challengeCode` and X's `crc_token` are answered with an
/// HMAC-SHA256 of the token under the same key (client or consumer secret)
/// that signs event deliveries. A responder that signs whatever it is sent is
/// a **signing oracle**: an attacker sends a forged delivery body as the token,
/// reads the signature from the answer, and posts the body with that
/// signature, which then verifies. So a responder signs only tokens of the
/// documented shape, which no delivery can have: [`CHALLENGE_TOKEN_MIN`] to
/// [`CHALLENGE_TOKEN_MAX`] characters of `[A-Za-z0-9_-]` (a UUID fits), and
/// not a JSON value (a bare number would be a JSON body). Anything else is an
/// [`ErrorKind::InvalidSignature`] error, and no HMAC is computed.
///
/// `name` is the parameter's name, for the error message.
///
/// ```
/// use postd_core::webhook::challenge_token;
/// use postd_core::{ErrorKind, Platform};
///
/// let ok = challenge_token(Platform::LinkedIn, "challengeCode", Some("f0a6f3d8-4a5c-4b5e-9d3b-2b1f3c4d5e6f"));
/// assert!(ok.is_ok());
/// let forged = challenge_token(Platform::LinkedIn, "challengeCode", Some(r#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS"}"#));
/// assert_eq!(forged.unwrap_err().kind(), ErrorKind::InvalidSignature);
/// ```
pub fn challenge_token<'a>(
    platform: Platform,
    name: &str,
    token: Option<&'a str>,
) -> Result<&'a str> {
    let refuse = |why: &str| {
        Err(Error::new(
            ErrorKind::InvalidSignature,
            format!("the validation request's {name} {why}; nothing was signed"),
        )
        .with_platform(platform)
        .with_operation("webhook_challenge"))
    };
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return refuse("is missing");
    };
    if !(CHALLENGE_TOKEN_MIN..=CHALLENGE_TOKEN_MAX).contains(&token.len()) {
        return refuse(&format!(
            "is {} bytes long; a challenge token has {CHALLENGE_TOKEN_MIN} to {CHALLENGE_TOKEN_MAX}",
            token.len()
        ));
    }
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
    {
        return refuse(
            "has characters a challenge token does not have (only A-Z, a-z, 0-9, '-' and '_')",
        );
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(token).is_ok() {
        return refuse("is a JSON value, which a delivery body could be");
    }
    Ok(token)
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
    /// The user removed the app's access (TikTok's `authorization.removed`):
    /// the account's tokens no longer work. Mark the account with
    /// `TokenVault::revoke` and ask the user to connect again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub revokes_access: bool,
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
            revokes_access: false,
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

/// Compares two secrets in time that does not depend on where they differ
/// or, beyond their HMACs, on their lengths: both sides are MACed under a
/// fresh random key and the MACs compared byte by byte without an early exit.
/// Use it for every comparison of a secret with received input (verify
/// tokens, OAuth `state`).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let key: [u8; 32] = rand::random();
    let ma = hmac_sha256(&key, a);
    let mb = hmac_sha256(&key, b);
    ma.iter()
        .zip(mb.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
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
    fn constant_time_comparison_is_equality() {
        assert!(constant_time_eq(b"verify-me", b"verify-me"));
        assert!(!constant_time_eq(b"verify-me", b"verify-mE"));
        assert!(!constant_time_eq(b"verify-me", b"verify-me-longer"));
        assert!(constant_time_eq(b"", b""));
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
    fn challenge_tokens_of_the_documented_shape_pass_and_nothing_else() {
        for ok in [
            "f0a6f3d8-4a5c-4b5e-9d3b-2b1f3c4d5e6f",
            "9b4507b3-9040-4669-9ca3-6b94edb50553",
            "abcDEF12_-xyz",
        ] {
            assert_eq!(
                challenge_token(Platform::LinkedIn, "challengeCode", Some(ok)).unwrap(),
                ok
            );
        }
        let long = "a".repeat(CHALLENGE_TOKEN_MAX + 1);
        for bad in [
            None,
            Some(""),
            Some("short"),
            Some(long.as_str()),
            Some(r#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[]}"#),
            Some("[1,2,3,4,5,6,7,8]"),
            Some("\"quoted-string\""),
            Some("1234567890123456"), // a JSON number: a body a delivery could have
            Some("1e100000000000"),   // a JSON number too
            Some("hmacsha256=abcdef0123"),
            Some("with space inside"),
            Some("ünïcödé-token-1234"),
        ] {
            let err = challenge_token(Platform::Twitter, "crc_token", bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{bad:?}");
            assert_eq!(err.platform(), Some(Platform::Twitter));
            assert!(err.message().contains("crc_token"), "{err}");
        }
    }

    #[test]
    fn requests_build_from_http_types_and_plain_pairs() {
        let request = ::http::Request::post("/hook?hub.mode=subscribe&x=a%20b")
            .header("X-Hub-Signature-256", "sha256=00")
            .header("x-multi", "1")
            .header("x-multi", "2")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        let w = WebhookRequest::from_http(request);
        assert_eq!(w.method, "POST");
        assert_eq!(w.query_param("x"), Some("a b"));
        assert_eq!(
            w.required_header("x-hub-signature-256").unwrap(),
            "sha256=00"
        );
        assert_eq!(w.headers.get_all("x-multi").iter().count(), 2);
        assert_eq!(&w.body[..], b"{}");

        let p = WebhookRequest::from_pairs(
            "get",
            "?challengeCode=abc",
            [("X-Thing", "v")],
            Bytes::new(),
        )
        .unwrap();
        assert_eq!(p.method, "GET");
        assert_eq!(p.query_param("challengeCode"), Some("abc"));
        assert_eq!(p.required_header("x-thing").unwrap(), "v");
        for (name, value) in [("bad name", "v"), ("x-ok", "line\nbreak")] {
            let err =
                WebhookRequest::from_pairs("POST", "", [(name, value)], Bytes::new()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSignature, "{name}");
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
