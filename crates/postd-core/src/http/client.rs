//! The shared client: one reqwest client (rustls), the call loop, body reading and metrics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;
use url::Url;

use super::classify::{classify_failure, transport_error};
use super::retry::{Decision, Stop, decide};
use super::secrets::Secrets;
use super::{HttpResponse, RateLimitObserver, RequestContext, RetryEvent, RetryPolicy};
use crate::Platform;
use crate::error::{Error, ErrorKind, Result, Retry};

/// The `User-Agent` POSTD sends.
pub const USER_AGENT: &str = concat!("postd/", env!("CARGO_PKG_VERSION"));

/// Largest response body POSTD reads into memory (platform answers are small JSON documents).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Most requests in flight to one host (scheme, host and port) at a time, by
/// default; see [`HttpClientBuilder::max_connections_per_host`].
pub const DEFAULT_MAX_CONNECTIONS_PER_HOST: usize = 64;

/// How long an idle pooled connection is kept, by default.
pub const DEFAULT_POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Builds an [`HttpClient`].
///
/// # Connections
///
/// One client keeps a pool of connections per host and shares it between
/// every connector and task that holds a clone. Three settings shape it:
///
/// - [`max_connections_per_host`](Self::max_connections_per_host) (default
///   [`DEFAULT_MAX_CONNECTIONS_PER_HOST`]): requests to one host beyond this
///   wait for a free slot, so a burst of a thousand publishes does not hold a
///   thousand connections to one API at once: over HTTP/1.1 a request holds
///   its connection until its body is read, so at most this many are in use.
///   It does not bound how many a burst opens over its course: a connection
///   goes back to the pool a moment after its answer is read, and a request
///   that finds none idle meanwhile gets a new one (the pool then keeps at
///   most `pool_max_idle_per_host`).
/// - [`pool_max_idle_per_host`](Self::pool_max_idle_per_host) (default: the
///   same number) and [`pool_idle_timeout`](Self::pool_idle_timeout)
///   (default [`DEFAULT_POOL_IDLE_TIMEOUT`]): how many finished connections
///   are kept for reuse, and for how long.
/// - [`http2`](Self::http2) (default on): over TLS the client offers HTTP/2
///   and uses it where the platform accepts it (one connection then carries
///   many requests at once); `false` keeps every call on HTTP/1.1. Plain
///   `http://` URLs (local fakes) always speak HTTP/1.1.
///
/// ```
/// use std::time::Duration;
/// use postd_core::http::HttpClient;
///
/// let client = HttpClient::builder()
///     .max_connections_per_host(16)
///     .pool_idle_timeout(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// # drop(client);
/// ```
#[derive(Debug, Clone)]
pub struct HttpClientBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: String,
    retry: RetryPolicy,
    observer: Option<Arc<dyn RateLimitObserver>>,
    max_response_bytes: usize,
    max_connections_per_host: usize,
    pool_max_idle_per_host: Option<usize>,
    pool_idle_timeout: Duration,
    http2: bool,
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
            max_connections_per_host: DEFAULT_MAX_CONNECTIONS_PER_HOST,
            pool_max_idle_per_host: None,
            pool_idle_timeout: DEFAULT_POOL_IDLE_TIMEOUT,
            http2: true,
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

    /// Sets the most requests in flight to one host at a time (default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_HOST`]; at least 1). Further requests
    /// wait for a slot, at most the request timeout (then the attempt fails
    /// as `Unavailable`, retried like any failure that sent nothing); a
    /// retry's backoff does not hold one, and the wait is not counted in the
    /// request-duration metric.
    pub fn max_connections_per_host(mut self, n: usize) -> Self {
        self.max_connections_per_host = n.clamp(1, Semaphore::MAX_PERMITS);
        self
    }

    /// Sets how many idle connections to one host are kept for reuse
    /// (default: the per-host maximum).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = Some(n);
        self
    }

    /// Sets how long an idle connection is kept (default
    /// [`DEFAULT_POOL_IDLE_TIMEOUT`]).
    pub fn pool_idle_timeout(mut self, d: Duration) -> Self {
        self.pool_idle_timeout = d;
        self
    }

    /// Offers HTTP/2 over TLS where the platform accepts it (default `true`);
    /// `false` keeps every call on HTTP/1.1.
    pub fn http2(mut self, enabled: bool) -> Self {
        self.http2 = enabled;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .user_agent(self.user_agent)
            .pool_max_idle_per_host(
                self.pool_max_idle_per_host
                    .unwrap_or(self.max_connections_per_host),
            )
            .pool_idle_timeout(self.pool_idle_timeout)
            // Platforms answer directly; a redirect on an API call is a surprise,
            // and following one could carry a token to another host.
            .redirect(reqwest::redirect::Policy::none());
        if !self.http2 {
            builder = builder.http1_only();
        }
        let client = builder.build().map_err(|e| {
            Error::config("could not build the HTTP client").with_source(e.without_url())
        })?;
        Ok(HttpClient {
            inner: Arc::new(Inner {
                client,
                retry: self.retry,
                observer: self.observer,
                max_response_bytes: self.max_response_bytes,
                request_timeout: self.request_timeout,
                hosts: HostSlots::new(self.max_connections_per_host),
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
    request_timeout: Duration,
    hosts: HostSlots,
}

/// Hosts tracked before idle ones are forgotten (media URLs can name many).
const TRACKED_HOSTS: usize = 256;

/// The per-host limit on requests in flight: one semaphore per
/// `scheme://host:port`, found by a hash of those three (every request
/// looks it up, so nothing is allocated for it; two hosts whose hashes
/// collided would only share one limit).
///
/// The hash is FNV-1a from a random seed drawn per client (a few
/// instructions per byte; SipHash, hashed twice, cost about 700 per
/// request), and the map mixes it once more with [`WordHasher`].
struct HostSlots {
    per_host: usize,
    seed: u64,
    hosts: Mutex<HashMap<u64, Arc<Semaphore>, BuildHasherDefault<WordHasher>>>,
}

impl HostSlots {
    fn new(per_host: usize) -> Self {
        HostSlots {
            per_host,
            seed: std::hash::RandomState::new().hash_one(0x5eed_u64),
            hosts: Mutex::new(HashMap::default()),
        }
    }

    /// FNV-1a of `scheme`, `host` and `port` from this client's seed.
    fn key(&self, url: &Url) -> u64 {
        let mut h = self.seed ^ 0xcbf2_9ce4_8422_2325;
        let port = url
            .port_or_known_default()
            .unwrap_or_default()
            .to_le_bytes();
        for part in [
            url.scheme().as_bytes(),
            url.host_str().unwrap_or_default().as_bytes(),
            &port[..],
        ] {
            for b in part {
                h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
            // A separator, so `ab`+`c` and `a`+`bc` differ.
            h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
        }
        h
    }

    /// Waits at most `limit` for a slot on `url`'s host; the slot is free
    /// again when the permit is dropped. `Err(limit)` when none came free in
    /// time (nothing was sent, so any request may try again).
    async fn acquire_within(
        &self,
        url: &Url,
        limit: Duration,
    ) -> std::result::Result<Option<OwnedSemaphorePermit>, Duration> {
        let semaphore = self.semaphore(url);
        // Most requests find a slot free: no timer for them.
        match Arc::clone(&semaphore).try_acquire_owned() {
            Ok(permit) => return Ok(Some(permit)),
            Err(tokio::sync::TryAcquireError::Closed) => return Ok(None),
            Err(tokio::sync::TryAcquireError::NoPermits) => {}
        }
        tokio::time::timeout(limit, semaphore.acquire_owned())
            .await
            .map(std::result::Result::ok)
            .map_err(|_| limit)
    }

    /// The semaphore of `url`'s host. Its permits are never closed.
    fn semaphore(&self, url: &Url) -> Arc<Semaphore> {
        let key = self.key(url);
        // A panic elsewhere cannot leave the map half-written: take it as it is.
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        match hosts.get(&key) {
            Some(s) => Arc::clone(s),
            None => {
                if hosts.len() >= TRACKED_HOSTS {
                    // Forget hosts with nothing in flight; one in use keeps its count.
                    hosts.retain(|_, s| Arc::strong_count(s) > 1);
                }
                let s = Arc::new(Semaphore::new(self.per_host));
                hosts.insert(key, Arc::clone(&s));
                s
            }
        }
    }
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
    ///
    /// The request is copied before each attempt, for the next one (a
    /// streamed body cannot be copied, so such a request gets one attempt).
    /// [`execute_with`](Self::execute_with) makes the request again instead,
    /// only when an attempt failed.
    pub fn execute<'a>(
        &'a self,
        ctx: RequestContext,
        request: reqwest::Request,
        parse_error: &'a (dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> impl Future<Output = Result<HttpResponse>> + Send + 'a {
        self.calls(ctx, Some(request), None, parse_error)
    }

    /// Sends the request `build` makes, retrying where safe, and returns the
    /// 2xx response; a retry sends what a new call of `build` makes.
    ///
    /// Otherwise the same as [`execute`](Self::execute), which copies the
    /// request before every attempt: its URL, header map and body, about
    /// 2,500 instructions a call that a request answered at once never
    /// uses. Here `build` runs once more only for each retry, so it must make
    /// the same request every time. A request `build` cannot make is a
    /// [`ErrorKind::Config`] error, and nothing is sent.
    ///
    /// ```no_run
    /// # async fn demo(http: postd_core::http::HttpClient, url: url::Url) -> postd_core::Result<()> {
    /// use postd_core::http::RequestContext;
    /// use postd_core::reqwest::Method;
    /// use postd_core::{Error, Platform};
    ///
    /// let body = serde_json::json!({"text": "hello"});
    /// let ctx = RequestContext::non_idempotent(Platform::LinkedIn, "posts.create");
    /// let response = http
    ///     .execute_with(
    ///         ctx,
    ///         &|| http.request(Method::POST, url.clone()).json(&body),
    ///         &|status, _headers, _body| Error::unexpected(format!("answered {status}")),
    ///     )
    ///     .await?;
    /// # drop(response);
    /// # Ok(())
    /// # }
    /// ```
    pub fn execute_with<'a>(
        &'a self,
        ctx: RequestContext,
        build: &'a (dyn Fn() -> reqwest::RequestBuilder + Send + Sync),
        parse_error: &'a (dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> impl Future<Output = Result<HttpResponse>> + Send + 'a {
        self.calls(ctx, None, Some(build), parse_error)
    }

    /// The retry loop inside its span.
    ///
    /// `execute` and `execute_with` return this future as it is, and each
    /// step below takes its request or response by value only where it must:
    /// every layer of `async fn` keeps its arguments whole for its whole
    /// life, and a future moved into its parent, or boxed by a connector, is
    /// copied whole too (a quarter of the instructions of a small call went
    /// to copying futures three times the size of this one).
    fn calls<'a>(
        &'a self,
        ctx: RequestContext,
        request: Option<reqwest::Request>,
        rebuild: Option<&'a (dyn Fn() -> reqwest::RequestBuilder + Send + Sync)>,
        parse_error: &'a (dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> impl Future<Output = Result<HttpResponse>> + Send + 'a {
        let span = tracing::info_span!(
            "postd.http",
            platform = ctx.platform.as_str(),
            operation = ctx.operation,
            http.method = tracing::field::Empty,
            url.path = tracing::field::Empty,
            http.status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        // Nobody listening: entering and leaving `Span::none()` on each poll,
        // and recording on it, cost nothing (a disabled span's records still
        // cost a call each, and go to the `log` bridge).
        let span = if span.is_disabled() {
            tracing::Span::none()
        } else {
            span
        };
        self.retry_loop(ctx, request, rebuild, parse_error, span.clone())
            .instrument(span)
    }

    /// Sends the request, and again while an answer says to and the policy
    /// allows; its fields are recorded on `span`, never on whatever span the
    /// caller is in. Each retry sends what `rebuild` makes or, without it, a
    /// copy of the request.
    // As an `async fn` it would keep `pending` twice (the argument, and the
    // local it is moved into): another 264 bytes in every call's future.
    #[allow(clippy::manual_async_fn)]
    fn retry_loop<'a>(
        &'a self,
        ctx: RequestContext,
        mut pending: Option<reqwest::Request>,
        rebuild: Option<&'a (dyn Fn() -> reqwest::RequestBuilder + Send + Sync)>,
        parse_error: &'a (dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
        span: tracing::Span,
    ) -> impl Future<Output = Result<HttpResponse>> + Send + 'a {
        async move {
            let policy = &self.inner.retry;
            let started = Instant::now();
            let mut secrets: Option<Secrets> = None;
            let mut attempt: u32 = 0;
            loop {
                // The first request, when `build` makes them (a retry's is
                // made before its wait, below).
                if pending.is_none()
                    && let Some(build) = rebuild
                {
                    pending = Some(build_request(&ctx, build)?);
                }
                let Some(request) = pending.as_ref() else {
                    return Err(
                        Error::unexpected("request was consumed").with_platform(ctx.platform)
                    );
                };
                let secrets = secrets.get_or_insert_with(|| {
                    span.record("http.method", tracing::field::display(request.method()));
                    span.record("url.path", request.url().path());
                    Secrets::of(request)
                });
                // A slot on the host first (held until the body is read: over
                // HTTP/1.1 that is when the connection goes back to the pool),
                // waited for at most the request timeout, and not counted in the
                // request's latency.
                let slot = self
                    .inner
                    .hosts
                    .acquire_within(request.url(), self.inner.request_timeout)
                    .await;
                let (outcome, repeatable) = match slot {
                    Ok(slot) => {
                        let sent_at = Instant::now();
                        let outcome = {
                            // Taken in this block, and moved into the attempt:
                            // a request in a local that lives across the await
                            // would be kept in this future a second time.
                            let Some(current) = pending.take() else {
                                return Err(Error::unexpected("request was consumed")
                                    .with_platform(ctx.platform));
                            };
                            if rebuild.is_none() {
                                // Keep a copy for the next attempt; a streamed body cannot be copied and gets one attempt.
                                pending = current.try_clone();
                            }
                            self.attempt(&ctx, current, secrets, parse_error)
                        }
                        .await;
                        let repeatable = rebuild.is_some() || pending.is_some();
                        drop(slot);
                        record_metrics(&ctx, &outcome, sent_at.elapsed());
                        (outcome, repeatable)
                    }
                    Err(waited) => {
                        // Nothing was sent: the same request may go again.
                        let err = Error::new(
                            ErrorKind::Unavailable,
                            format!(
                                "no free connection slot to this host within {} ms (max_connections_per_host)",
                                waited.as_millis()
                            ),
                        )
                        .with_retry(Retry::Temporary { after: None })
                        .with_platform(ctx.platform)
                        .with_operation(ctx.operation);
                        (Err(err), true)
                    }
                };
                if !span.is_none() {
                    // Nobody to read it, no clock to read for it.
                    span.record("attempts", attempt + 1);
                    span.record(
                        "latency_ms",
                        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    );
                }

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
                let delay = match decide(&err, attempt, repeatable, started.elapsed(), policy) {
                    Decision::Retry { delay } => delay,
                    Decision::Stop(why) => {
                        let err = match why {
                            Stop::Exhausted | Stop::BudgetSpent => err.with_retry(Retry::Exhausted),
                            Stop::Permanent | Stop::WaitTooLong | Stop::NotRepeatable => err,
                        };
                        tracing::info!(kind = err.kind().as_str(), status = ?err.http_status(), attempts = attempt + 1, stop = ?why, "platform call failed");
                        return Err(err);
                    }
                };
                if pending.is_none()
                    && let Some(build) = rebuild
                {
                    match build_request(&ctx, build) {
                        Ok(request) => pending = Some(request),
                        Err(_) => {
                            // `build` made the request once but not again: the
                            // answer that asked for the retry is what happened.
                            tracing::info!(kind = err.kind().as_str(), status = ?err.http_status(), attempts = attempt + 1, "platform call failed: the request could not be made again");
                            return Err(err);
                        }
                    }
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
    }

    /// One attempt: the request is handed to reqwest at once, so the future
    /// keeps reqwest's small handle, not the request.
    fn attempt<'a>(
        &'a self,
        ctx: &'a RequestContext,
        request: reqwest::Request,
        secrets: &'a Secrets,
        parse_error: &'a (dyn Fn(StatusCode, &HeaderMap, &[u8]) -> Error + Send + Sync),
    ) -> impl Future<Output = Result<HttpResponse>> + Send + 'a {
        let sent = self.inner.client.execute(request);
        async move {
            let mut response = match sent.await {
                Ok(r) => r,
                Err(e) => return Err(transport_error(ctx, e)),
            };
            let status = response.status();
            // Taken, not copied: the body is read from the response without them.
            let headers = std::mem::take(response.headers_mut());
            if let Some(o) = &self.inner.observer {
                o.on_response(ctx, status.as_u16(), &headers);
            }
            let body = match read_body(&mut response, self.inner.max_response_bytes).await {
                Ok(b) => b,
                Err(BodyError::TooLarge(max)) => {
                    // Not something a retry changes; for a create, what it did is unknown.
                    let kind = if ctx.idempotent {
                        ErrorKind::Unexpected
                    } else {
                        ErrorKind::UnknownOutcome
                    };
                    return Err(Error::new(
                        kind,
                        format!("response body is larger than {max} bytes"),
                    )
                    .permanent()
                    .with_platform(ctx.platform)
                    .with_operation(ctx.operation)
                    .with_status(status.as_u16()));
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
                        secrets.values(),
                        parse_error,
                    ));
                }
            };
            drop(response);
            if status.is_success() {
                return Ok(HttpResponse {
                    status,
                    headers,
                    body,
                    secrets: secrets.clone(),
                });
            }
            Err(classify_failure(
                ctx,
                status,
                &headers,
                &body,
                secrets.values(),
                parse_error,
            ))
        }
    }
}

/// The request `build` makes; one it cannot make is a configuration error.
fn build_request(
    ctx: &RequestContext,
    build: &(dyn Fn() -> reqwest::RequestBuilder + Send + Sync),
) -> Result<reqwest::Request> {
    build().build().map_err(|e| {
        Error::config("could not build the request")
            .with_platform(ctx.platform)
            .with_operation(ctx.operation)
            .with_source(e.without_url())
    })
}

enum BodyError {
    TooLarge(usize),
    CutOff(reqwest::Error),
}

async fn read_body(
    response: &mut reqwest::Response,
    max: usize,
) -> std::result::Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge(max));
    }
    // Most answers arrive in one chunk: keep it as it is, and copy only
    // when a second one comes.
    let mut first: Option<Bytes> = None;
    let mut buf = BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let held = first.as_ref().map_or(0, Bytes::len) + buf.len();
                if held + chunk.len() > max {
                    return Err(BodyError::TooLarge(max));
                }
                match first.take() {
                    None if buf.is_empty() => first = Some(chunk),
                    None => buf.extend_from_slice(&chunk),
                    Some(one) => {
                        buf.reserve(one.len() + chunk.len());
                        buf.extend_from_slice(&one);
                        buf.extend_from_slice(&chunk);
                    }
                }
            }
            Ok(None) => return Ok(first.unwrap_or_else(|| buf.freeze())),
            Err(e) => return Err(BodyError::CutOff(e.without_url())),
        }
    }
}

fn record_metrics(ctx: &RequestContext, outcome: &Result<HttpResponse>, latency: Duration) {
    static METADATA: metrics::Metadata<'static> =
        metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
    let status = match outcome {
        Ok(r) => status_label(r.status.as_u16()),
        Err(e) => e
            .http_status()
            .map(status_label)
            .unwrap_or("transport_error"),
    };
    let keys = metric_keys(ctx.platform, ctx.operation, status);
    let (requests, duration) = &*keys;
    metrics::with_recorder(|recorder| {
        recorder.register_counter(requests, &METADATA).increment(1);
        recorder
            .register_histogram(duration, &METADATA)
            .record(latency.as_secs_f64());
    });
}

/// Most key pairs [`metric_keys`] keeps; past it, keys are made per call.
const KEPT_KEYS: usize = 4096;

/// The keys of `postd_http_requests_total` (platform, operation, status)
/// and `postd_http_request_duration_seconds` (platform, operation).
///
/// The metrics macros build each key on every call: an allocated label
/// list and a hash of it all, about 500 instructions a metric. Here each
/// pair is made once and kept for the life of the process. Operations are
/// static names, so the pairs are few; the map is capped all the same.
fn metric_keys(
    platform: Platform,
    operation: &'static str,
    status: &'static str,
) -> Cow<'static, (metrics::Key, metrics::Key)> {
    type Kept = HashMap<
        (Platform, usize, usize, usize, usize),
        &'static (metrics::Key, metrics::Key),
        BuildHasherDefault<WordHasher>,
    >;
    static KEPT: LazyLock<Mutex<Kept>> = LazyLock::new(Mutex::default);

    let make = || {
        let label = metrics::Label::from_static_parts;
        let (p, o) = (
            label("platform", platform.as_str()),
            label("operation", operation),
        );
        (
            metrics::Key::from_parts(
                "postd_http_requests_total",
                vec![p.clone(), o.clone(), label("status", status)],
            ),
            metrics::Key::from_parts("postd_http_request_duration_seconds", vec![p, o]),
        )
    };
    // Static strings with the same text at two addresses make two entries
    // with equal keys: harmless.
    let id = (
        platform,
        operation.as_ptr() as usize,
        operation.len(),
        status.as_ptr() as usize,
        status.len(),
    );
    // A panic elsewhere cannot leave the map half-written: take it as it is.
    let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(keys) = kept.get(&id) {
        return Cow::Borrowed(*keys);
    }
    if kept.len() >= KEPT_KEYS {
        drop(kept);
        return Cow::Owned(make());
    }
    let keys: &'static (metrics::Key, metrics::Key) = Box::leak(Box::new(make()));
    kept.insert(id, keys);
    Cow::Borrowed(keys)
}

/// A hasher for keys made of a few machine words (pointers, lengths, a
/// small enum, a hash already made): one multiply per word, not SipHash's
/// rounds.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
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

/// Installs ring as the process's TLS crypto provider, unless one is
/// installed already (then it does nothing). POSTD builds reqwest with rustls
/// and no provider of its own, so the tree holds one crypto library;
/// [`HttpClientBuilder::build`] calls this, and so must code that builds a
/// `reqwest::Client` directly before POSTD has built one.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_host_and_port_has_its_own_slot_key() {
        let slots = HostSlots::new(1);
        let key = |u: &str| slots.key(&Url::parse(u).unwrap());
        let a = key("https://graph.facebook.com/v24.0/me");
        assert_eq!(
            a,
            key("https://graph.facebook.com/other?x=1"),
            "the path does not count"
        );
        assert_eq!(
            a,
            key("https://graph.facebook.com:443/"),
            "the default port is the port"
        );
        for other in [
            "http://graph.facebook.com/",
            "https://graph.facebook.com:8443/",
            "https://graph-video.facebook.com/",
            "https://graph.facebook.co/",
        ] {
            assert_ne!(a, key(other), "{other}");
        }
        // Another client has another seed.
        assert_ne!(
            a,
            HostSlots::new(1).key(&Url::parse("https://graph.facebook.com/").unwrap())
        );
    }
}
