//! The shared HTTP layer: one reqwest client (rustls), timeouts, safe retries
//! with full-jitter exponential backoff, `Retry-After`, a rate-limit observer,
//! and errors that never carry a query string or an authorization header.
//!
//! Connectors build a `reqwest::Request` (with [`HttpClient::request`]) and
//! hand it to [`HttpClient::execute`] with a [`RequestContext`] (platform,
//! operation, idempotency) and their `parse_error` function, which turns a
//! non-2xx answer into an [`Error`].
//!
//! What is retried:
//! - connection failures (the request never reached the platform);
//! - answers that say the request was refused: 408, 429, 503, and errors
//!   the platform's `parse_error` classifies as [`ErrorKind::RateLimited`];
//! - for idempotent requests only, any other temporary error, 5xx and timeouts.
//!
//! A non-idempotent request (a post create) that times out, gets any other
//! server error or temporary platform error, or whose 2xx answer does not
//! decode, may have been applied: it fails with [`ErrorKind::UnknownOutcome`]
//! and is never retried blindly.
//!
//! A `Retry-After` (seconds or HTTP-date) longer than
//! [`RetryPolicy::max_retry_after`] is not slept on: the error is returned
//! with [`Retry::Temporary`] carrying the wait, for the queue to reschedule.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, ErrorKind, Result, Retry, body_snippet};
use crate::platform::Platform;

/// The `User-Agent` POSTD sends.
pub const USER_AGENT: &str = concat!("postd/", env!("CARGO_PKG_VERSION"));

/// Largest response body POSTD reads into memory (platform answers are small JSON documents).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Names whose values in a query string or form body are secret.
const SENSITIVE_PARAMS: &[&str] = &[
    "access_token",
    "refresh_token",
    "client_secret",
    "code",
    "code_verifier",
    "fb_exchange_token",
    "input_token",
    "appsecret_proof",
    "id_token",
    "token",
    "apikey",
    "api_key",
];

/// Retry settings of the shared client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Backoff base: attempt `n` sleeps a random time in `[0, min(max_delay, base_delay * 2^n))`.
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
    /// Longest `Retry-After` POSTD sleeps on; longer waits are returned to the caller.
    pub max_retry_after: Duration,
    /// Time budget for one call, retries included.
    pub total_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            total_budget: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of retries.
    pub fn with_max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the backoff base and cap.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }

    /// Sets the longest `Retry-After` slept on.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The full-jitter backoff before retry number `attempt` (0-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(31)))
            .min(self.max_delay);
        let millis = u64::try_from(exp.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::random_range(0..=millis))
    }

    /// The wait before retry number `attempt`: the platform's hint when it
    /// asks for longer than the backoff, else the backoff. A hint of zero (or
    /// a date already past) still waits the backoff.
    pub fn delay(&self, attempt: u32, hint: Option<Duration>) -> Duration {
        let backoff = self.backoff(attempt);
        hint.map_or(backoff, |h| h.max(backoff))
    }
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
    secrets: Arc<[String]>,
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
            &self.secrets,
            parse_error,
        ))
    }
}

/// Describes a serde error by its category and position only (the message can quote input).
fn describe_serde_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "I/O error",
        Category::Syntax => "malformed JSON",
        Category::Data => "unexpected shape",
        Category::Eof => "truncated JSON",
    };
    // Data errors name a missing field or a type mismatch without quoting values.
    let detail = if e.classify() == Category::Data {
        let msg = e.to_string();
        // `unknown variant` quotes the platform's value in backticks: left out.
        if msg.starts_with("missing field") || msg.starts_with("invalid type") {
            let cut = msg.find(" at line").unwrap_or(msg.len());
            let head = &msg[..cut];
            // `invalid type: string "..."` quotes the value: keep only the part before it.
            let head = head.split(['"']).next().unwrap_or(head);
            format!(" ({})", head.trim_end_matches([' ', ',']))
        } else {
            String::new()
        }
    } else {
        String::new()
    };
    format!("{what}{detail} at line {} column {}", e.line(), e.column())
}

/// Builds an [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    observer: Option<Arc<dyn RateLimitObserver>>,
    max_response_bytes: usize,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        HttpClientBuilder {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            user_agent: USER_AGENT.to_owned(),
            retry: RetryPolicy::default(),
            observer: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl HttpClientBuilder {
    /// Sets the connect timeout (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Sets the per-request timeout (default 60 s). Uploads set their own.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// Sets the `User-Agent` (default `postd/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the rate-limit observer.
    pub fn observer(mut self, observer: Arc<dyn RateLimitObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Sets the largest response body read into memory.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient> {
        let client = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .user_agent(self.user_agent)
            // Platforms answer directly; a redirect on an API call is a surprise,
            // and following one could carry a token to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::config("could not build the HTTP client").with_source(e.without_url())
            })?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                retry: self.retry,
                observer: self.observer,
                max_response_bytes: self.max_response_bytes,
            }),
        })
    }
}

/// The one HTTP client every connector shares. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    retry: RetryPolicy,
    observer: Option<Arc<dyn RateLimitObserver>>,
    max_response_bytes: usize,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("retry", &self.inner.retry)
            .field("observer", &self.inner.observer)
            .finish_non_exhaustive()
    }
}

static SHARED: LazyLock<std::result::Result<HttpClient, String>> =
    LazyLock::new(|| HttpClient::builder().build().map_err(|e| e.to_string()));

impl HttpClient {
    /// A builder with the defaults.
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    /// The process-wide client with default settings.
    pub fn shared() -> Result<HttpClient> {
        SHARED.clone().map_err(Error::config)
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Starts a request on the underlying client.
    pub fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.inner.client.request(method, url)
    }

    /// Sends `request`, retrying where safe, and returns the 2xx response.
    ///
    /// `parse_error(status, headers, body)` classifies a non-2xx answer; the
    /// client fills in platform, operation and status where it left them out,
    /// applies `Retry-After`, and removes secrets from the message.
    pub async fn execute(
        &self,
        ctx: RequestContext,
        request: reqwest::Request,
        parse_error: &(dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> Result<HttpResponse> {
        let span = tracing::info_span!(
            "postd.http",
            platform = ctx.platform.as_str(),
            operation = ctx.operation,
            http.method = %request.method(),
            url.path = request.url().path(),
            http.status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        self.execute_inner(ctx, request, parse_error)
            .instrument(span)
            .await
    }

    async fn execute_inner(
        &self,
        ctx: RequestContext,
        request: reqwest::Request,
        parse_error: &(dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> Result<HttpResponse> {
        let policy = &self.inner.retry;
        let secrets: Arc<[String]> = request_secrets(&request).into();
        let started = Instant::now();
        let mut pending = Some(request);
        let mut attempt: u32 = 0;
        loop {
            let Some(current) = pending.take() else {
                return Err(Error::unexpected("request was consumed").with_platform(ctx.platform));
            };
            // Keep a copy for the next attempt; a streamed body cannot be copied and gets one attempt.
            pending = current.try_clone();
            let sent_at = Instant::now();
            let outcome = self.attempt(&ctx, current, &secrets, parse_error).await;
            let latency = sent_at.elapsed();
            record_metrics(&ctx, &outcome, latency);
            let span = tracing::Span::current();
            span.record("attempts", attempt + 1);
            span.record(
                "latency_ms",
                u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            );

            let err = match outcome {
                Ok(resp) => {
                    span.record("http.status", resp.status.as_u16());
                    tracing::debug!(status = resp.status.as_u16(), "platform call succeeded");
                    return Ok(resp);
                }
                Err(err) => err,
            };
            if let Some(s) = err.http_status() {
                span.record("http.status", s);
            }

            let hint = err.retry_after();
            let too_long = hint.is_some_and(|h| h > policy.max_retry_after);
            let can_retry = err.is_temporary()
                && pending.is_some()
                && attempt < policy.max_retries
                && !too_long;
            if !can_retry {
                let err = if err.is_temporary() && attempt > 0 && !too_long {
                    err.with_retry(Retry::Exhausted)
                } else {
                    err
                };
                tracing::info!(kind = err.kind().as_str(), status = ?err.http_status(), attempts = attempt + 1, "platform call failed");
                return Err(err);
            }
            let delay = policy.delay(attempt, hint);
            if started.elapsed().saturating_add(delay) > policy.total_budget {
                tracing::info!(kind = err.kind().as_str(), "retry budget spent");
                return Err(err.with_retry(Retry::Exhausted));
            }
            attempt += 1;
            let event = RetryEvent {
                platform: ctx.platform,
                operation: ctx.operation,
                attempt,
                delay,
                server_hint: hint.is_some(),
                reason: err.kind(),
                status: err.http_status(),
            };
            tracing::debug!(
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                kind = err.kind().as_str(),
                "retrying platform call"
            );
            metrics::counter!("postd_http_retries_total", "platform" => ctx.platform.as_str(), "operation" => ctx.operation).increment(1);
            if let Some(o) = &self.inner.observer {
                o.on_retry(&event);
            }
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt(
        &self,
        ctx: &RequestContext,
        request: reqwest::Request,
        secrets: &Arc<[String]>,
        parse_error: &(dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> Result<HttpResponse> {
        let response = match self.inner.client.execute(request).await {
            Ok(r) => r,
            Err(e) => return Err(transport_error(ctx, e)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(o) = &self.inner.observer {
            o.on_response(ctx, status.as_u16(), &headers);
        }
        let body = match read_body(response, self.inner.max_response_bytes).await {
            Ok(b) => b,
            Err(BodyError::TooLarge(max)) => {
                // Not something a retry changes; for a create, what it did is unknown.
                let kind = if ctx.idempotent {
                    ErrorKind::Unexpected
                } else {
                    ErrorKind::UnknownOutcome
                };
                return Err(
                    Error::new(kind, format!("response body is larger than {max} bytes"))
                        .permanent()
                        .with_platform(ctx.platform)
                        .with_operation(ctx.operation)
                        .with_status(status.as_u16()),
                );
            }
            Err(BodyError::CutOff(source)) => {
                if status.is_success() {
                    // The platform answered yes; only the body was lost on the way.
                    let kind = if ctx.idempotent {
                        ErrorKind::Unavailable
                    } else {
                        ErrorKind::UnknownOutcome
                    };
                    return Err(Error::new(kind, "the response body was cut off")
                        .with_retry(kind.default_retry())
                        .with_platform(ctx.platform)
                        .with_operation(ctx.operation)
                        .with_status(status.as_u16())
                        .with_source(source));
                }
                // An error answer with a broken body: classify by status alone, with the
                // same rules for creates as any other failure.
                return Err(classify_failure(
                    ctx,
                    status,
                    &headers,
                    &[],
                    secrets,
                    parse_error,
                ));
            }
        };
        if status.is_success() {
            return Ok(HttpResponse {
                status,
                headers,
                body,
                secrets: Arc::clone(secrets),
            });
        }
        Err(classify_failure(
            ctx,
            status,
            &headers,
            &body,
            secrets,
            parse_error,
        ))
    }
}

/// Applies POSTD's rules on top of the platform's classification of a non-2xx answer.
fn classify_failure(
    ctx: &RequestContext,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[String],
    parse_error: &(dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
) -> Error {
    // Before any parser sees it: a parser that cuts a message short must not
    // leave half a token behind for the later redaction to miss.
    let body = crate::error::replace_secrets(body, secrets);
    let mut err = parse_error(status, headers, &body)
        .redact_secrets(secrets)
        .or_operation(ctx.operation);
    if err.platform().is_none() {
        err = err.with_platform(ctx.platform);
    }
    if err.http_status().is_none() {
        err = err.with_status(status.as_u16());
    }
    // The server's explicit wait wins over any computed backoff.
    if let Some(wait) = retry_after(headers, SystemTime::now())
        && (err.is_temporary() || matches!(status.as_u16(), 429 | 503))
    {
        err = err.temporary(Some(wait));
    }
    // A create may have been applied unless the answer says it was refused:
    // only a rate limit, 408, 429 or 503 says so. Any other server error, and
    // any other "temporary" platform error, leaves the outcome unknown.
    if !ctx.idempotent && may_have_been_applied(ctx, status, &err) {
        err = err.with_kind(ErrorKind::UnknownOutcome).permanent();
    }
    err
}

fn may_have_been_applied(ctx: &RequestContext, status: StatusCode, err: &Error) -> bool {
    let refused = err.kind() == ErrorKind::RateLimited
        || status.as_u16() == 429
        || (ctx.status_means_refused && matches!(status.as_u16(), 408 | 503));
    if refused {
        return false;
    }
    status.is_server_error() || err.is_temporary()
}

enum BodyError {
    TooLarge(usize),
    CutOff(reqwest::Error),
}

async fn read_body(
    mut response: reqwest::Response,
    max: usize,
) -> std::result::Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge(max));
    }
    let mut buf = BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > max {
                    return Err(BodyError::TooLarge(max));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => return Err(BodyError::CutOff(e.without_url())),
        }
    }
}

fn transport_error(ctx: &RequestContext, e: reqwest::Error) -> Error {
    // A media file that failed while its bytes were read: the body broke off,
    // so the platform never received the request whole and cannot have
    // applied it. Local, permanent, never an unknown outcome.
    if let Some(media) = crate::content::MediaReadError::find(&e) {
        return Error::new(
            ErrorKind::MediaRejected,
            format!("{media}; the request was not sent in full, so nothing was applied"),
        )
        .permanent()
        .with_platform(ctx.platform)
        .with_operation(ctx.operation);
    }
    let (kind, retry, what) = if e.is_connect() {
        // The request never reached the platform: always safe to retry.
        (
            ErrorKind::Unavailable,
            Retry::Temporary { after: None },
            "could not connect",
        )
    } else if e.is_builder() {
        (
            ErrorKind::Config,
            Retry::Permanent,
            "could not build the request",
        )
    } else if ctx.idempotent {
        if e.is_timeout() {
            (
                ErrorKind::Timeout,
                Retry::Temporary { after: None },
                "the request timed out",
            )
        } else {
            (
                ErrorKind::Unavailable,
                Retry::Temporary { after: None },
                "the connection failed",
            )
        }
    } else if e.is_timeout() {
        (
            ErrorKind::UnknownOutcome,
            Retry::Permanent,
            "the request timed out after it was sent; it may have been applied",
        )
    } else {
        (
            ErrorKind::UnknownOutcome,
            Retry::Permanent,
            "the connection failed after the request was sent; it may have been applied",
        )
    };
    Error::new(kind, what)
        .with_retry(retry)
        .with_platform(ctx.platform)
        .with_operation(ctx.operation)
        .with_source(e.without_url())
}

fn record_metrics(ctx: &RequestContext, outcome: &Result<HttpResponse>, latency: Duration) {
    let status = match outcome {
        Ok(r) => status_label(r.status.as_u16()),
        Err(e) => e
            .http_status()
            .map(status_label)
            .unwrap_or("transport_error"),
    };
    metrics::counter!(
        "postd_http_requests_total",
        "platform" => ctx.platform.as_str(),
        "operation" => ctx.operation,
        "status" => status,
    )
    .increment(1);
    metrics::histogram!(
        "postd_http_request_duration_seconds",
        "platform" => ctx.platform.as_str(),
        "operation" => ctx.operation,
    )
    .record(latency.as_secs_f64());
}

fn status_label(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        408 => "408",
        409 => "409",
        422 => "422",
        429 => "429",
        s if s < 500 => "4xx",
        500 => "500",
        502 => "502",
        503 => "503",
        504 => "504",
        _ => "5xx",
    }
}

/// The wait a response asks for in its `Retry-After` header (delta-seconds or HTTP-date).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value (RFC 9110 section 10.2.3): delta-seconds, or
/// an HTTP-date in any of the three forms recipients must accept (section
/// 5.6.7): IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850
/// form (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
///
/// A date in the past means no wait. The result is at most
/// [`MAX_RETRY_WAIT`](crate::error::MAX_RETRY_WAIT) (one day): a number too
/// large for any clock is "a very long time", never "no wait" and never a panic.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    use crate::error::MAX_RETRY_WAIT;
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_WAIT));
    }
    let now: chrono::DateTime<chrono::Utc> = now.into();
    let date = http_date(value, now)?;
    let wait = date - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO).min(MAX_RETRY_WAIT))
}

/// An HTTP-date in any of its three forms, in UTC.
fn http_date(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{Datelike, NaiveDateTime};
    if let Ok(d) = chrono::DateTime::parse_from_rfc2822(value) {
        return Some(d.with_timezone(&chrono::Utc));
    }
    // asctime pads the day with a space (`Nov  6`): collapse runs of spaces first.
    let single_spaced = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Ok(d) = NaiveDateTime::parse_from_str(&single_spaced, "%a %b %d %H:%M:%S %Y") {
        return Some(d.and_utc());
    }
    // RFC 850: a two-digit year that would be more than 50 years ahead is the
    // most recent past year with those digits (RFC 9110 section 5.6.7).
    // The weekday is left out: parsing would check it against chrono's own century.
    let (_weekday, rest) = value.split_once(", ")?;
    let d = NaiveDateTime::parse_from_str(rest, "%d-%b-%y %H:%M:%S GMT").ok()?;
    let two_digits = d.year().rem_euclid(100);
    let mut year = now.year() - now.year().rem_euclid(100) + two_digits;
    if year > now.year() + 50 {
        year -= 100;
    }
    Some(d.with_year(year)?.and_utc())
}

/// A status error from `parse_error` helpers: the default classification of a status alone.
pub fn classify_status(status: StatusCode) -> (ErrorKind, Retry) {
    let temporary = Retry::Temporary { after: None };
    match status.as_u16() {
        400 | 413 | 422 => (ErrorKind::InvalidContent, Retry::Permanent),
        401 => (ErrorKind::Auth, Retry::Permanent),
        403 => (ErrorKind::PermissionDenied, Retry::Permanent),
        404 | 410 => (ErrorKind::NotFound, Retry::Permanent),
        408 => (ErrorKind::Timeout, temporary),
        409 => (ErrorKind::Duplicate, Retry::Permanent),
        429 => (ErrorKind::RateLimited, temporary),
        500..=599 => (ErrorKind::Unavailable, temporary),
        _ => (ErrorKind::Unexpected, Retry::Permanent),
    }
}

/// A generic `parse_error`: classify by status and keep a short, redacted body snippet.
///
/// Used for hosts without a structured error body (upload hosts) and as the
/// fallback of platform parsers when a body is not the platform's JSON.
pub fn generic_error(status: StatusCode, body: &[u8]) -> Error {
    let (kind, retry) = classify_status(status);
    let snippet = body_snippet(body, &[], 200);
    let message = if snippet.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        snippet
    };
    Error::new(kind, message)
        .with_retry(retry)
        .with_status(status.as_u16())
}

/// Sets `Authorization: Bearer <token>`, marked sensitive so it never shows in `Debug`.
pub fn bearer(builder: reqwest::RequestBuilder, token: &SecretString) -> reqwest::RequestBuilder {
    match HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())) {
        Ok(mut value) => {
            value.set_sensitive(true);
            builder.header(header::AUTHORIZATION, value)
        }
        // A token with characters a header cannot carry: send nothing rather than panic;
        // the platform answers 401 and the error says so.
        Err(_) => builder,
    }
}

/// Every secret a request carries: the authorization header and sensitive
/// query and form parameters, so that an echo in an error body can be removed.
fn request_secrets(request: &reqwest::Request) -> Vec<String> {
    let mut out = Vec::new();
    for value in request.headers().get_all(header::AUTHORIZATION) {
        if let Ok(v) = value.to_str() {
            let token = v.split_once(' ').map(|(_, t)| t).unwrap_or(v);
            out.push(token.trim().to_owned());
        }
    }
    let sensitive = |k: &str| SENSITIVE_PARAMS.contains(&k.to_ascii_lowercase().as_str());
    for (k, v) in request.url().query_pairs() {
        if sensitive(&k) {
            out.push(v.into_owned());
        }
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form && let Some(body) = request.body().and_then(|b| b.as_bytes()) {
        for (k, v) in url::form_urlencoded::parse(body) {
            if sensitive(&k) {
                out.push(v.into_owned());
            }
        }
    }
    out.retain(|s| s.len() >= 4);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:27 GMT", now),
            Some(Duration::ZERO)
        );
        // More digits than a u64 holds is a very long wait, never "no wait",
        // and never more than a day: callers add it to clocks.
        for huge in [
            "99999999999999999999999",
            "1000000000000000000000000000000",
            "18446744073709551615",
        ] {
            assert_eq!(
                parse_retry_after(huge, now),
                Some(crate::error::MAX_RETRY_WAIT),
                "{huge}"
            );
            let wait = parse_retry_after(huge, now).unwrap();
            let _ = Instant::now() + wait; // must not panic
        }
        assert_eq!(
            parse_retry_after("Sat, 06 Nov 2094 08:49:47 GMT", now),
            Some(crate::error::MAX_RETRY_WAIT)
        );
        for bad in ["", "-5", "1.5", "soon", "Sun, 99 Nov 1994 08:49:47 GMT"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_accepts_the_obsolete_date_forms() {
        // RFC 9110 section 5.6.7's own example instant, in its three forms.
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        for form in [
            "Sun, 06 Nov 1994 08:50:37 GMT",
            "Sunday, 06-Nov-94 08:50:37 GMT",
            "Sun Nov  6 08:50:37 1994",
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(60)),
                "{form}"
            );
        }
        // A two-digit year is read within 50 years of now, not as 19xx forever.
        let in_2026 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000); // 2026-11-30
        assert_eq!(
            parse_retry_after("Sunday, 29-Nov-26 08:00:00 GMT", in_2026),
            Some(Duration::ZERO),
            "a 2026 date already past means no wait"
        );
        assert!(
            parse_retry_after("Wednesday, 02-Dec-26 08:00:00 GMT", in_2026)
                .is_some_and(|d| d > Duration::from_secs(3600)),
            "26 is 2026, not 1926"
        );
    }

    #[test]
    fn a_zero_hint_still_backs_off_and_a_long_hint_wins() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(1_000));
        // "Retry now" from a platform under load is no reason to hammer it.
        assert!((0..50).any(|_| p.delay(2, Some(Duration::ZERO)) > Duration::ZERO));
        assert_eq!(
            p.delay(2, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        assert!(p.delay(2, None) <= Duration::from_millis(400));
    }

    #[test]
    fn backoff_is_full_jitter_under_the_cap() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(1_000));
        for attempt in 0..40 {
            let d = p.backoff(attempt);
            let cap = Duration::from_millis(100 * 2u64.pow(attempt.min(10)))
                .min(Duration::from_millis(1_000));
            assert!(d <= cap, "attempt {attempt}: {d:?} > {cap:?}");
        }
        // Full jitter: over many draws some are well below the cap.
        assert!((0..200).any(|_| p.backoff(5) < Duration::from_millis(500)));
        assert_eq!(
            RetryPolicy::default()
                .with_backoff(Duration::ZERO, Duration::ZERO)
                .backoff(3),
            Duration::ZERO
        );
    }

    #[test]
    fn status_classification() {
        assert_eq!(
            classify_status(StatusCode::TOO_MANY_REQUESTS).0,
            ErrorKind::RateLimited
        );
        assert_eq!(
            classify_status(StatusCode::BAD_GATEWAY).0,
            ErrorKind::Unavailable
        );
        assert_eq!(classify_status(StatusCode::UNAUTHORIZED).0, ErrorKind::Auth);
        let e = generic_error(StatusCode::BAD_GATEWAY, b"<html>Bad Gateway</html>");
        assert_eq!(e.http_status(), Some(502));
        assert!(e.is_temporary());
        assert!(e.message().contains("Bad Gateway"));
    }

    #[test]
    fn serde_errors_do_not_quote_values() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            id: u64,
        }
        let e = serde_json::from_str::<T>(r#"{"id":"SECRET_VALUE"}"#).unwrap_err();
        let text = describe_serde_error(&e);
        assert!(!text.contains("SECRET_VALUE"), "{text}");
        assert!(text.contains("invalid type"), "{text}");
        let e = serde_json::from_str::<T>(r#"{}"#).unwrap_err();
        assert!(describe_serde_error(&e).contains("missing field `id`"));
        let e = serde_json::from_str::<T>("<html>").unwrap_err();
        assert!(describe_serde_error(&e).starts_with("malformed JSON"));
    }

    #[test]
    fn secrets_are_collected_from_header_query_and_form() {
        let client = reqwest::Client::new();
        let req = client
            .post("http://localhost/x?access_token=QUERYTOKEN&fields=id")
            .header(header::AUTHORIZATION, "Bearer HEADERTOKEN")
            .form(&[
                ("client_secret", "FORMSECRET"),
                ("grant_type", "authorization_code"),
            ])
            .build()
            .unwrap();
        let s = request_secrets(&req);
        for want in ["QUERYTOKEN", "HEADERTOKEN", "FORMSECRET"] {
            assert!(s.iter().any(|x| x == want), "{want} missing from {s:?}");
        }
        assert!(!s.iter().any(|x| x == "authorization_code" || x == "id"));
    }
}
