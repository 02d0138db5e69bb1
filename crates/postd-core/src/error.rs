//! The one public error type of POSTD.
//!
//! An [`Error`] is a closed [`ErrorKind`] (what went wrong, in terms a caller
//! can act on), a [`Retry`] disposition (may the same call be tried again, and
//! when), and context: the [`Platform`], the operation, the HTTP status, the
//! platform's own error code and a source chain.
//!
//! `Display` is one line. Neither `Display` nor `Debug` ever contains a token,
//! a secret, a URL query string or an authorization header: messages are
//! built from parsed fields, and text that came from a platform passes through
//! [`redact`] before it is stored.
//!
//! # Branching on an error
//!
//! The kind says what happened, the retry disposition whether the same call
//! may be made again. A queue decides from those two alone:
//!
//! ```
//! use std::time::Duration;
//! use postd_core::{Error, ErrorKind, Retry};
//!
//! #[derive(Debug, PartialEq)]
//! enum Next {
//!     RetryIn(Duration),
//!     Reconcile,
//!     AskUserToReconnect,
//!     DeadLetter,
//! }
//!
//! fn next_step(err: &Error, backoff: Duration) -> Next {
//!     match (err.kind(), err.retry()) {
//!         // The create may have happened: look for the post before anything else.
//!         (ErrorKind::UnknownOutcome, _) => Next::Reconcile,
//!         // A person must act; retrying cannot fix it.
//!         (ErrorKind::ReauthRequired, _) => Next::AskUserToReconnect,
//!         // Temporary: wait at least what the platform asked (never more than a day).
//!         (_, Retry::Temporary { after }) => Next::RetryIn(after.unwrap_or(backoff).max(backoff)),
//!         // Permanent, or temporary with the retries spent.
//!         (_, Retry::Permanent | Retry::Exhausted) | (_, _) => Next::DeadLetter,
//!     }
//! }
//!
//! let limited = Error::new(ErrorKind::RateLimited, "slow down").temporary(Some(Duration::from_secs(900)));
//! assert_eq!(next_step(&limited, Duration::from_secs(5)), Next::RetryIn(Duration::from_secs(900)));
//! let lost = Error::new(ErrorKind::UnknownOutcome, "timed out after sending");
//! assert_eq!(next_step(&lost, Duration::from_secs(5)), Next::Reconcile);
//! let bad = Error::new(ErrorKind::InvalidContent, "too long");
//! assert_eq!(next_step(&bad, Duration::from_secs(5)), Next::DeadLetter);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::platform::Platform;

/// `Result` with POSTD's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a closed set a caller can match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The credentials were rejected (expired or invalid access token) but a refresh may fix it.
    Auth,
    /// The user must authorize again: the refresh token is dead, the grant was revoked, or consent lapsed.
    ReauthRequired,
    /// The credentials are valid but lack a permission, scope or role for this operation.
    PermissionDenied,
    /// A rate limit or quota was hit.
    RateLimited,
    /// The post itself is unacceptable (too long, missing fields, bad schedule time, ...).
    InvalidContent,
    /// The platform rejected a media item (format, size, duration, aspect ratio, processing failure).
    MediaRejected,
    /// The object (post, page, container, account) does not exist or is not visible.
    NotFound,
    /// The platform says this post already exists.
    Duplicate,
    /// The platform is unavailable or answered with a server error.
    Unavailable,
    /// The request timed out before it could have been applied (safe to retry).
    Timeout,
    /// A non-idempotent request may or may not have been applied: reconcile before any retry.
    UnknownOutcome,
    /// A webhook signature (or challenge) did not verify.
    InvalidSignature,
    /// POSTD is misconfigured: missing variable, bad URL, disabled feature.
    Config,
    /// The connector does not implement this operation yet.
    NotImplemented,
    /// The platform does not support this operation or content at all.
    Unsupported,
    /// Anything else: an answer POSTD could not understand, a local I/O failure.
    Unexpected,
}

impl ErrorKind {
    /// A stable snake_case name, used in logs and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::ReauthRequired => "reauth_required",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::InvalidContent => "invalid_content",
            ErrorKind::MediaRejected => "media_rejected",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::UnknownOutcome => "unknown_outcome",
            ErrorKind::InvalidSignature => "invalid_signature",
            ErrorKind::Config => "config",
            ErrorKind::NotImplemented => "not_implemented",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unexpected => "unexpected",
        }
    }

    /// The retry disposition an error of this kind gets unless the platform says otherwise.
    pub const fn default_retry(self) -> Retry {
        match self {
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout => {
                Retry::Temporary { after: None }
            }
            _ => Retry::Permanent,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<crate::platform::ParsePlatformError> for Error {
    fn from(e: crate::platform::ParsePlatformError) -> Self {
        Error::new(ErrorKind::Config, e.to_string())
    }
}

/// The longest wait an error carries: one day.
///
/// Platforms' hints (`Retry-After`, usage headers) can say anything, up to
/// `2^64 - 1` seconds; a caller adding such a wait to an `Instant` would
/// panic. Every wait set on an [`Error`] is clamped to this, so
/// [`Error::retry_after`] is always safe to add to a clock reading.
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Whether the same call may be made again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retry {
    /// Retrying the same call will fail the same way.
    Permanent,
    /// The call may succeed later; `after` is the platform's own hint, if it gave one.
    Temporary {
        /// How long the platform asked us to wait (`Retry-After`, a usage header, ...).
        after: Option<Duration>,
    },
    /// It was temporary, but the retries POSTD was allowed to make are spent.
    Exhausted,
}

/// POSTD's error: a kind, a retry disposition and context. See the [module docs](self).
#[derive(thiserror::Error)]
#[error("{}", self.render())]
pub struct Error {
    kind: ErrorKind,
    retry: Retry,
    message: String,
    platform: Option<Platform>,
    operation: Option<&'static str>,
    http_status: Option<u16>,
    platform_code: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind`, with the kind's default retry disposition.
    ///
    /// `message` must not contain secrets; text that came from a platform
    /// should go through [`redact`] first.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            retry: kind.default_retry(),
            message: message.into(),
            platform: None,
            operation: None,
            http_status: None,
            platform_code: None,
            source: None,
        }
    }

    /// A [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// An [`ErrorKind::InvalidContent`] error.
    pub fn invalid_content(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidContent, message)
    }

    /// An [`ErrorKind::Unexpected`] error.
    pub fn unexpected(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unexpected, message)
    }

    /// The [`ErrorKind::NotImplemented`] error a connector returns for an operation it lacks.
    ///
    /// The message names the platform's scaffold status and its spec document.
    pub fn not_implemented(platform: Platform, operation: &'static str) -> Self {
        Error::new(ErrorKind::NotImplemented, platform.scaffold_message())
            .with_platform(platform)
            .with_operation(operation)
    }

    /// Sets the platform.
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Sets the operation (`"publish"`, `"exchange_code"`, `"graph.media_publish"`, ...).
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Sets the operation only if none is set yet.
    pub fn or_operation(mut self, operation: &'static str) -> Self {
        self.operation.get_or_insert(operation);
        self
    }

    /// Sets the HTTP status of the response that caused this error.
    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Sets the platform's own error code (`"190/463"`, `"DUPLICATE_POST"`, ...).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.platform_code = Some(code.into());
        self
    }

    /// Sets the retry disposition; a wait longer than [`MAX_RETRY_WAIT`] is clamped to it.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = match retry {
            Retry::Temporary { after } => Retry::Temporary {
                after: after.map(|a| a.min(MAX_RETRY_WAIT)),
            },
            other => other,
        };
        self
    }

    /// Marks the error temporary, with an optional wait hint.
    pub fn temporary(self, after: Option<Duration>) -> Self {
        self.with_retry(Retry::Temporary { after })
    }

    /// Marks the error permanent.
    pub fn permanent(self) -> Self {
        self.with_retry(Retry::Permanent)
    }

    /// Replaces the message, keeping everything else (the same rule: no secrets).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Changes the kind, keeping everything else.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// Attaches a source error. Its `Display` must not contain secrets
    /// (convert `reqwest::Error` with `without_url()` first).
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether (and when) the same call may be made again.
    pub fn retry(&self) -> Retry {
        self.retry
    }

    /// True when the error is [`Retry::Temporary`].
    pub fn is_temporary(&self) -> bool {
        matches!(self.retry, Retry::Temporary { .. })
    }

    /// The wait the platform asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.retry {
            Retry::Temporary { after } => after,
            _ => None,
        }
    }

    /// The human-readable message (no secrets).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The platform, when known.
    pub fn platform(&self) -> Option<Platform> {
        self.platform
    }

    /// The operation, when known.
    pub fn operation(&self) -> Option<&'static str> {
        self.operation
    }

    /// The HTTP status, when the error came from a response.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The platform's own error code, when it gave one.
    pub fn platform_code(&self) -> Option<&str> {
        self.platform_code.as_deref()
    }

    /// Replaces every occurrence of each secret in the message and code with `[REDACTED]`.
    pub(crate) fn redact_secrets(mut self, secrets: &[String]) -> Self {
        self.message = redact(&self.message, secrets);
        if let Some(code) = self.platform_code.take() {
            self.platform_code = Some(redact(&code, secrets));
        }
        self
    }

    fn render(&self) -> String {
        let mut out = String::new();
        if let Some(p) = self.platform {
            out.push_str(p.as_str());
            if let Some(op) = self.operation {
                out.push(' ');
                out.push_str(op);
            }
            out.push_str(": ");
        } else if let Some(op) = self.operation {
            out.push_str(op);
            out.push_str(": ");
        }
        out.push_str(self.kind.as_str());
        if !self.message.is_empty() {
            out.push_str(": ");
            // One line, whatever the platform sent.
            out.extend(self.message.chars().map(one_line));
        }
        let mut extra = Vec::new();
        if let Some(s) = self.http_status {
            extra.push(format!("HTTP {s}"));
        }
        if let Some(c) = &self.platform_code {
            extra.push(format!(
                "code {}",
                c.chars().map(one_line).collect::<String>()
            ));
        }
        match self.retry {
            Retry::Temporary { after: Some(d) } => {
                extra.push(format!("retry after {}s", d.as_secs()))
            }
            Retry::Temporary { after: None } => extra.push("temporary".to_owned()),
            Retry::Exhausted => extra.push("retries exhausted".to_owned()),
            Retry::Permanent => {}
        }
        if !extra.is_empty() {
            out.push_str(" (");
            out.push_str(&extra.join(", "));
            out.push(')');
        }
        out
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("retry", &self.retry)
            .field("message", &self.message);
        if let Some(p) = self.platform {
            d.field("platform", &p);
        }
        if let Some(op) = self.operation {
            d.field("operation", &op);
        }
        if let Some(s) = self.http_status {
            d.field("http_status", &s);
        }
        if let Some(c) = &self.platform_code {
            d.field("platform_code", c);
        }
        if let Some(s) = &self.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

/// Field names whose values are always secret, in `key=value` and `"key": "value"` forms.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "fb_exchange_token",
    "input_token",
    "appsecret_proof",
    "apikey",
    "api_key",
    "password",
    "authorization",
];

/// Removes secrets from text that will end up in an error, a log or a metric.
///
/// Every occurrence of each string in `secrets` (of at least 4 bytes) becomes
/// `[REDACTED]`, and so does the value after any well-known secret field name
/// (`access_token=...`, `"refresh_token": "..."`, `Bearer ...`).
///
/// ```
/// let clean = postd_core::error::redact(
///     r#"{"error":"bad token tok_123456","access_token":"abc"}"#,
///     &["tok_123456".to_owned()],
/// );
/// assert!(!clean.contains("tok_123456"));
/// assert!(!clean.contains("abc"));
/// ```
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = match replace_secrets(text.as_bytes(), secrets) {
        Cow::Borrowed(_) => text.to_owned(),
        // A UTF-8 secret matches only whole characters, so this stays UTF-8.
        Cow::Owned(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    };
    // Authorization schemes first, so `Authorization: Bearer x` loses the token, not just the word.
    for scheme in ["bearer ", "basic ", "oauth "] {
        out = redact_after_scheme(&out, scheme);
    }
    for key in SECRET_KEYS {
        out = redact_field(&out, key);
    }
    out
}

/// `text` with every known secret replaced by `[REDACTED]`, longest first
/// (so a secret inside a longer one leaves nothing behind). Strings shorter
/// than 4 bytes are too short to tell from ordinary text and are left alone.
/// Borrowed when no secret occurs.
///
/// For a connector whose request carries a secret the HTTP client cannot
/// see (in a JSON body), to remove it from an answer before a parser cuts
/// the answer short.
///
/// ```
/// let clean = postd_core::error::replace_secrets(b"url /hook/s3cr3t-tag", &["s3cr3t-tag".into()]);
/// assert_eq!(&*clean, b"url /hook/[REDACTED]");
/// ```
pub fn replace_secrets<'a>(text: &'a [u8], secrets: &[String]) -> Cow<'a, [u8]> {
    let mut ordered: Vec<&[u8]> = secrets
        .iter()
        .map(String::as_bytes)
        .filter(|s| s.len() >= 4)
        .collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = Cow::Borrowed(text);
    for needle in ordered {
        if !out.windows(needle.len()).any(|w| w == needle) {
            continue;
        }
        let mut replaced = Vec::with_capacity(out.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(needle) {
                replaced.extend_from_slice(b"[REDACTED]");
                i += needle.len();
            } else {
                replaced.push(out[i]);
                i += 1;
            }
        }
        out = Cow::Owned(replaced);
    }
    out
}

/// Redacts the value after `key=`, `key":"` and `key": "` (case-insensitive on the key).
fn redact_field(text: &str, key: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let bytes = text.as_bytes();
    while let Some(pos) = lower[i..].find(key) {
        let start = i + pos;
        let mut j = start + key.len();
        // The key must stand alone: not the tail of a longer word.
        let standalone = start == 0 || !is_word_byte(bytes[start - 1]);
        // Skip `"`, spaces and one `:` or `=`.
        let mut k = j;
        if k < bytes.len() && bytes[k] == b'"' {
            k += 1;
        }
        while k < bytes.len() && bytes[k] == b' ' {
            k += 1;
        }
        let has_sep = k < bytes.len() && (bytes[k] == b'=' || bytes[k] == b':');
        if standalone && has_sep {
            k += 1;
            while k < bytes.len() && bytes[k] == b' ' {
                k += 1;
            }
            let quoted = k < bytes.len() && bytes[k] == b'"';
            if quoted {
                k += 1;
            }
            let value_start = k;
            while k < bytes.len() {
                let b = bytes[k];
                let end = if quoted {
                    b == b'"'
                } else {
                    matches!(b, b'&' | b',' | b'}' | b' ' | b'"' | b'\n' | b'\r' | b';')
                };
                if end {
                    break;
                }
                k += 1;
            }
            out.push_str(&text[i..value_start]);
            if k > value_start {
                out.push_str("[REDACTED]");
            }
            i = k;
        } else {
            j = j.min(text.len());
            out.push_str(&text[i..j]);
            i = j;
        }
    }
    out.push_str(&text[i..]);
    out
}

fn redact_after_scheme(text: &str, scheme: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(scheme) {
        let start = i + pos + scheme.len();
        let bytes = text.as_bytes();
        let mut k = start;
        while k < bytes.len() && !matches!(bytes[k], b' ' | b'"' | b',' | b'\n' | b'\r') {
            k += 1;
        }
        out.push_str(&text[i..start]);
        if k > start {
            out.push_str("[REDACTED]");
        }
        i = k;
    }
    out.push_str(&text[i..]);
    out
}

/// A key stands alone unless a letter or digit touches it (`page_access_token` still counts).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Control characters and line/paragraph separators become spaces.
fn one_line(c: char) -> char {
    if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
        ' '
    } else {
        c
    }
}

/// A short, single-line, redacted excerpt of a response body, for error messages.
///
/// At most `max_chars` characters are kept; control characters become spaces.
pub fn body_snippet(body: &[u8], secrets: &[String], max_chars: usize) -> String {
    // Only a window is redacted (long enough that a secret cut by the window is
    // still whole inside it), so a 16 MiB body costs no more than a short one.
    let longest = secrets.iter().map(String::len).max().unwrap_or(0);
    let window = (max_chars.saturating_mul(4))
        .saturating_add(longest)
        .saturating_add(64);
    let text = String::from_utf8_lossy(&body[..body.len().min(window)]);
    let clean = redact(&text, secrets);
    let mut out: String = clean.chars().take(max_chars).map(one_line).collect();
    if clean.chars().count() > max_chars {
        out.push('…');
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_line_with_context() {
        let err = Error::new(ErrorKind::RateLimited, "too many calls\nslow down")
            .with_platform(Platform::Meta)
            .with_operation("publish")
            .with_status(429)
            .with_code("4")
            .temporary(Some(Duration::from_secs(30)));
        let text = err.to_string();
        assert_eq!(
            text,
            "meta publish: rate_limited: too many calls slow down (HTTP 429, code 4, retry after 30s)"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn kinds_have_sensible_default_retry() {
        assert!(Error::new(ErrorKind::Unavailable, "").is_temporary());
        assert!(Error::new(ErrorKind::Timeout, "").is_temporary());
        assert!(!Error::new(ErrorKind::UnknownOutcome, "").is_temporary());
        assert!(!Error::new(ErrorKind::InvalidContent, "").is_temporary());
        assert_eq!(
            Error::new(ErrorKind::RateLimited, "")
                .temporary(Some(Duration::from_secs(3)))
                .retry_after(),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn not_implemented_points_to_the_spec() {
        let err = Error::not_implemented(Platform::TikTok, "publish");
        assert_eq!(err.kind(), ErrorKind::NotImplemented);
        assert_eq!(err.platform(), Some(Platform::TikTok));
        assert_eq!(err.operation(), Some("publish"));
        assert!(err.to_string().contains("CONNECTOR_SPECS_TIKTOK.md"));
    }

    #[test]
    fn replace_secrets_works_on_bytes_longest_first() {
        let secrets = vec!["tok".to_owned(), "abcd".to_owned(), "abcdefgh".to_owned()];
        let body = br#"{"a":"abcdefgh","b":"abcd","c":"tok"}"#;
        let out = replace_secrets(body, &secrets);
        // The longer secret goes first, so no tail of it survives; three-byte
        // strings are too short to be told from ordinary text.
        assert_eq!(
            &*out,
            br#"{"a":"[REDACTED]","b":"[REDACTED]","c":"tok"}"#.as_slice()
        );
        assert!(matches!(
            replace_secrets(b"nothing here", &secrets),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn redact_removes_known_secrets_and_secret_fields() {
        let secrets = vec!["CANARY_token_1234".to_owned()];
        let cases = [
            "token CANARY_token_1234 is bad",
            "https://x/y?access_token=abcdef&foo=1",
            r#"{"refresh_token":"r3fr3sh","ok":1}"#,
            r#"{"client_secret" : "s3cr3t"}"#,
            "Authorization: Bearer b3ar3r",
            "x&fb_exchange_token=sh0rt",
        ];
        let leaked = [
            "CANARY_token_1234",
            "abcdef",
            "r3fr3sh",
            "s3cr3t",
            "b3ar3r",
            "sh0rt",
        ];
        for (case, secret) in cases.iter().zip(leaked) {
            let clean = redact(case, &secrets);
            assert!(!clean.contains(secret), "{clean}");
            assert!(clean.contains("[REDACTED]"), "{clean}");
        }
        // Words that merely contain a key are left alone.
        assert_eq!(
            redact("error_code=5 zipcode=9", &[]),
            "error_code=5 zipcode=9"
        );
        assert_eq!(redact("no secrets here", &[]), "no secrets here");
    }

    #[test]
    fn redact_handles_multibyte_text_and_trailing_keys() {
        let text = "é access_token=ü€ 漢字 access_token";
        let clean = redact(text, &[]);
        assert!(!clean.contains("ü€"));
        assert!(clean.ends_with("access_token"));
    }

    #[test]
    fn snippet_is_short_single_line_and_redacted() {
        let body = b"<html>\n<body>502 Bad Gateway access_token=zzz</body></html>";
        let s = body_snippet(body, &[], 40);
        assert!(!s.contains('\n'));
        assert!(!s.contains("zzz"));
        assert!(s.chars().count() <= 41);
        let invalid_utf8 = [0xff, 0xfe, b'o', b'k'];
        assert!(body_snippet(&invalid_utf8, &[], 10).contains("ok"));
    }

    #[test]
    fn debug_shows_source_as_text() {
        let io = std::io::Error::other("disk on fire");
        let err = Error::unexpected("reading media").with_source(io);
        let dbg = format!("{err:?}");
        assert!(dbg.contains("disk on fire"));
        assert!(std::error::Error::source(&err).is_some());
    }
}
