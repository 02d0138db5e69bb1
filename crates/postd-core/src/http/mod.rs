//! The shared HTTP layer: one reqwest client (rustls), timeouts, safe retries
//! with full-jitter exponential backoff, `Retry-After`, a rate-limit observer,
//! and errors that never carry a query string or an authorization header.
//!
//! Connectors build a `reqwest::Request` (with [`HttpClient::request`]) and
//! hand it to [`HttpClient::execute`] with a [`RequestContext`] (platform,
//! operation, idempotency) and their `parse_error` function, which turns a
//! non-2xx answer into an [`Error`]. [`HttpClient::execute_with`] takes a
//! closure that makes the request instead, and calls it again only for a
//! retry; `execute` copies every request before it is sent, for a retry that
//! seldom comes.
//!
//! A failure is first classified (`classify.rs`): the platform's
//! `parse_error` names the kind, then POSTD's rules apply. A connection that
//! never reached the platform, and an answer that says the request was refused
//! (408, 429, 503, or an error `parse_error` calls
//! [`ErrorKind::RateLimited`]), is temporary. For an idempotent request any
//! other temporary error, 5xx or timeout is temporary too. A non-idempotent
//! request (a post create) that times out, gets any other server error or
//! temporary platform error, or whose 2xx answer does not decode, may have
//! been applied: it is [`ErrorKind::UnknownOutcome`], permanent, and never
//! retried blindly. A local media file that fails mid-body is a permanent
//! [`ErrorKind::MediaRejected`]: the request never arrived whole.
//!
//! What is retried is then one pure function, [`decide`], in this order:
//! 1. a permanent error stops;
//! 2. a server wait (`Retry-After`, seconds or any HTTP-date form) longer than
//!    [`RetryPolicy::max_retry_after`] stops, handed back with
//!    [`Retry::Temporary`](crate::Retry::Temporary) carrying the wait for the
//!    queue to reschedule;
//! 3. a streamed body that is spent stops (a request `execute_with` makes
//!    again is never spent);
//! 4. [`RetryPolicy::max_retries`] retries made stops;
//! 5. otherwise the client waits `max(server hint, full-jitter backoff)` and
//!    tries again, unless that would end past [`RetryPolicy::total_budget`].
//!
//! Every wait is at most [`MAX_RETRY_WAIT`](crate::error::MAX_RETRY_WAIT).

mod classify;
mod client;
mod retry;
mod secrets;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};
use crate::platform::Platform;
use classify::{classify_failure, describe_serde_error};

pub use classify::{classify_status, generic_error};
pub use client::{
    DEFAULT_MAX_CONNECTIONS_PER_HOST, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_POOL_IDLE_TIMEOUT,
    HttpClient, HttpClientBuilder, USER_AGENT, bearer, install_crypto_provider,
};
pub use retry::{Decision, RetryPolicy, Stop, decide, parse_retry_after, retry_after};

/// The time allowed for one request that sends `bytes` of media: 60 s plus
/// 2 s for each MiB after the first, so a slow but steady link (512 KiB/s)
/// still finishes, where the client's request timeout would cut a large part
/// off. Set it with `RequestBuilder::timeout` on each upload request.
///
/// Up to 1 MiB this is the client's default request timeout (60 s, at
/// 512 KiB/s two seconds' work): a deadline later than the next call's would
/// also cost the runtime's timer a wake-up (an `eventfd` write and a return
/// from `epoll_wait`) when that call's earlier deadline is set.
///
/// ```
/// use std::time::Duration;
/// use postd_core::http::transfer_timeout;
///
/// assert_eq!(transfer_timeout(0), Duration::from_secs(60));
/// assert_eq!(transfer_timeout(64 * 1024), Duration::from_secs(60));
/// assert_eq!(transfer_timeout(1024 * 1024), Duration::from_secs(60));
/// assert_eq!(transfer_timeout(8 * 1024 * 1024), Duration::from_secs(74));
/// ```
pub fn transfer_timeout(bytes: u64) -> Duration {
    const MIB: u64 = 1024 * 1024;
    Duration::from_secs(60).saturating_add(Duration::from_secs(
        bytes.saturating_sub(MIB).div_ceil(MIB).saturating_mul(2),
    ))
}

/// Who is calling, for retries, tracing, metrics and errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestContext {
    /// The platform being called.
    pub platform: Platform,
    /// The operation, a static name such as `"graph.feed"`.
    pub operation: &'static str,
    /// Whether repeating the request cannot cause a second visible effect.
    pub idempotent: bool,
    /// Whether a 408 or 503 on this request means the platform refused it
    /// (nothing applied). True unless the platform does not promise that.
    pub status_means_refused: bool,
}

impl RequestContext {
    /// A read or otherwise repeatable call.
    pub const fn idempotent(platform: Platform, operation: &'static str) -> Self {
        RequestContext {
            platform,
            operation,
            idempotent: true,
            status_means_refused: true,
        }
    }

    /// A call that creates something visible (a post): never retried after it may have been applied.
    pub const fn non_idempotent(platform: Platform, operation: &'static str) -> Self {
        RequestContext {
            platform,
            operation,
            idempotent: false,
            status_means_refused: true,
        }
    }

    /// Treats 408 and 503 on this (non-idempotent) call as "may have been
    /// applied": only a rate limit then counts as a refusal. For platforms
    /// that do not document what a 503 on a create means.
    pub const fn distrusting_unavailable(mut self) -> Self {
        self.status_means_refused = false;
        self
    }
}

/// A retry the client is about to make, reported to the [`RateLimitObserver`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryEvent {
    /// The platform.
    pub platform: Platform,
    /// The operation.
    pub operation: &'static str,
    /// The retry number (1 for the first retry).
    pub attempt: u32,
    /// How long the client sleeps first.
    pub delay: Duration,
    /// Whether the delay came from the platform (`Retry-After` or a usage header).
    pub server_hint: bool,
    /// The kind of the error being retried.
    pub reason: ErrorKind,
    /// The HTTP status being retried, if there was a response.
    pub status: Option<u16>,
}

/// Sees every response's status and headers (to read rate-limit usage) and
/// every retry decision. Implementations must be cheap and must not block.
pub trait RateLimitObserver: Send + Sync + fmt::Debug {
    /// Called for every response, before it is classified.
    fn on_response(&self, ctx: &RequestContext, status: u16, headers: &HeaderMap) {
        let _ = (ctx, status, headers);
    }

    /// Called before the client sleeps and retries.
    fn on_retry(&self, event: &RetryEvent) {
        let _ = event;
    }
}

/// A response with its body read.
#[derive(Clone)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The secrets the request carried, to remove from an error read from this body.
    secrets: secrets::Secrets,
}

/// A platform's `parse_error`: classifies an error answer from its status, headers and (redacted) body.
pub type ParseError = dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync;

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl HttpResponse {
    /// Decodes the body as JSON; a body that does not decode is an [`ErrorKind::Unexpected`]
    /// error that keeps the status and names the field serde complained about.
    ///
    /// For a non-idempotent request the kind is [`ErrorKind::UnknownOutcome`]:
    /// the platform answered 2xx, so whatever it created may exist.
    pub fn json<T: DeserializeOwned>(&self, ctx: &RequestContext) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let kind = if ctx.idempotent || !self.status.is_success() {
                ErrorKind::Unexpected
            } else {
                ErrorKind::UnknownOutcome
            };
            Error::new(
                kind,
                format!(
                    "could not decode the response: {}",
                    describe_serde_error(&e)
                ),
            )
            .with_platform(ctx.platform)
            .with_operation(ctx.operation)
            .with_status(self.status.as_u16())
        })
    }

    /// The value of a header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// An error document in a 2xx answer, classified as a failure would be.
    ///
    /// Some endpoints answer `200` with an error body (token endpoints with
    /// `{"error":"invalid_grant"}`, Graph with `{"error":{...}}`). Decoding
    /// such a body as the success type would report a missing field, and for a
    /// create an unknown outcome; the body says what happened, whatever the
    /// status. When `is_error(body)` says the body is an error document, it is
    /// redacted and handed to `parse_error` with the same rules as a non-2xx
    /// answer; otherwise `None`.
    pub fn error_in_body(
        &self,
        ctx: &RequestContext,
        is_error: impl Fn(&[u8]) -> bool,
        parse_error: &ParseError,
    ) -> Option<Error> {
        if !is_error(&self.body) {
            return None;
        }
        Some(classify_failure(
            ctx,
            self.status,
            &self.headers,
            &self.body,
            self.secrets.values(),
            parse_error,
        ))
    }
}
