//! # postd-testkit
//!
//! The base for POSTD's stateful platform fakes and the connector conformance suite.
//!
//! - [`FakeServer`] wraps a wiremock [`MockServer`] with a catch-all route
//!   that answers any request no fake route matched with `421 Misdirected
//!   Request` and records it; a test fails loudly (the server panics on drop,
//!   and [`FakeServer::assert_all_matched`] panics at once) when any request
//!   went unmatched.
//! - [`Faults`] is the fault-injection knob every fake shares: the next N
//!   requests matching a method and path answer with a status, a 429 with
//!   `Retry-After`, a delay (a timeout), a malformed body, or a reset
//!   connection. Faults marked [`Timing::AfterCommit`] are applied by the
//!   stateful fakes after they have performed the request's effect, which is
//!   how "the platform did it but the answer was lost" is modelled.
//! - [`FakeServer::mount_stateful`] mounts a stateful fake's router: it
//!   answers each request from the fake's state and says whether the request
//!   committed; after-commit faults and resets are applied there, once, for
//!   every fake.
//! - [`meta`] and [`linkedin`] are stateful fakes of Meta's Graph API and
//!   LinkedIn's REST API, built on [`FakeServer`].
//! - [`tiktok`] is a stateful fake of TikTok's v2 APIs (OAuth, the Content Posting
//!   API with chunked uploads and post status, the Display API, signed webhooks).
//! - [`mailchimp`] is a stateful fake of the Mailchimp Marketing API (API keys and data
//!   centers, OAuth 2, audiences, members, campaigns, batches, reports, list webhooks).
//! - [`conformance`] is the behaviour suite every connector runs, written
//!   once over [`conformance::PlatformFake`] (which both fakes implement) and
//!   gated on each connector's capabilities, plus the checks scaffolds run.
//!
//! ```
//! use postd_testkit::{Fault, FakeServer, Timing};
//! use wiremock::{Mock, ResponseTemplate, matchers::path};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = FakeServer::start().await;
//! fake.mount(Mock::given(path("/ok")).respond_with(ResponseTemplate::new(200))).await;
//! fake.faults().inject("GET", "/ok", Fault::status(503), 1, Timing::BeforeCommit);
//!
//! let client = postd_core::reqwest::Client::new();
//! assert_eq!(client.get(format!("{}/ok", fake.uri())).send().await.unwrap().status(), 503);
//! assert_eq!(client.get(format!("{}/ok", fake.uri())).send().await.unwrap().status(), 200);
//! fake.assert_all_matched();
//! # });
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a poisoned lock is a failed test

pub mod client;
pub mod conformance;
pub mod fuzz;
pub mod gbp;
pub mod linkedin;
pub mod mailchimp;
pub mod meta;
mod reply;
pub mod tiktok;
mod util;
pub mod x;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;
use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

/// When a fault strikes relative to the fake applying the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Timing {
    /// Before the platform does anything: the request has no effect.
    BeforeCommit,
    /// After the platform applied the request: the effect happened, the answer is lost or wrong.
    AfterCommit,
}

/// What a fault does to the response.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status, headers and body.
    Status {
        /// The status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: String,
    },
    /// Answer 200 only after this long (longer than the client's timeout: a timeout).
    Delay(Duration),
    /// Answer 200 with a body that is not JSON.
    MalformedBody,
    /// Reset the connection without an answer.
    Reset,
}

impl Fault {
    /// A bare status.
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A status with a body.
    pub fn status_with_body(status: u16, body: impl Into<String>) -> Fault {
        Fault::Status {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.into(),
        }
    }

    /// A 429 with `Retry-After: {retry_after}`.
    pub fn rate_limited(retry_after: &str) -> Fault {
        Fault::Status {
            status: 429,
            headers: vec![("retry-after".to_owned(), retry_after.to_owned())],
            body: String::new(),
        }
    }

    /// The response this fault answers with (`Reset` has none; see [`Fault::is_reset`]).
    pub fn response(&self) -> ResponseTemplate {
        match self {
            Fault::Status {
                status,
                headers,
                body,
            } => {
                let mut t = ResponseTemplate::new(*status).set_body_string(body.clone());
                for (k, v) in headers {
                    t = t.insert_header(k.as_str(), v.as_str());
                }
                t
            }
            Fault::Delay(d) => ResponseTemplate::new(200)
                .set_body_string("{}")
                .set_delay(*d),
            Fault::MalformedBody => ResponseTemplate::new(200).set_body_string("<html>not json"),
            Fault::Reset => ResponseTemplate::new(599),
        }
    }

    /// True for [`Fault::Reset`].
    pub fn is_reset(&self) -> bool {
        matches!(self, Fault::Reset)
    }
}

#[derive(Debug, Clone)]
struct Rule {
    method: String,
    path_contains: String,
    fault: Fault,
    remaining: usize,
    timing: Timing,
}

impl Rule {
    fn matches(&self, req: &Request, timing: Timing) -> bool {
        self.remaining > 0
            && self.timing == timing
            && (self.method == "*" || req.method.as_str().eq_ignore_ascii_case(&self.method))
            && req.url.path().contains(&self.path_contains)
    }
}

/// Random faults for a battery: each request a stateful fake handles is hit
/// with probability `rate` by one of `faults`, picked at random, before or
/// after the platform applied it as its [`Timing`] says. Seeded, so a run can
/// be repeated.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Chaos {
    /// Share of requests hit, 0.0 to 1.0.
    pub rate: f64,
    /// The faults to pick from, each with when it strikes.
    pub faults: Vec<(Fault, Timing)>,
    /// The random seed.
    pub seed: u64,
}

impl Chaos {
    /// A chaos setting.
    pub fn new(rate: f64, faults: Vec<(Fault, Timing)>, seed: u64) -> Self {
        Chaos { rate, faults, seed }
    }

    /// The usual battery mix: 500/502/503, 429 with `Retry-After`, timeouts
    /// before and after the platform commits, connection resets before and
    /// after, and malformed JSON after commit. `timeout` must exceed the
    /// client's request timeout.
    pub fn battery(rate: f64, timeout: Duration, seed: u64) -> Self {
        use Timing::{AfterCommit, BeforeCommit};
        Chaos::new(
            rate,
            vec![
                (Fault::status(500), BeforeCommit),
                (Fault::status(502), BeforeCommit),
                (Fault::status(503), BeforeCommit),
                (Fault::rate_limited("1"), BeforeCommit),
                (Fault::Delay(timeout), BeforeCommit),
                (Fault::Reset, BeforeCommit),
                (Fault::status(500), AfterCommit),
                (Fault::status(502), AfterCommit),
                (Fault::Delay(timeout), AfterCommit),
                (Fault::Reset, AfterCommit),
                (Fault::MalformedBody, AfterCommit),
            ],
            seed,
        )
    }
}

#[derive(Debug)]
struct ChaosState {
    chaos: Chaos,
    rng: fuzz::Rng,
    /// The after-commit fault rolled for the request being handled.
    armed: Option<Fault>,
}

/// Fault rules shared by a fake's routes. Cheap to clone.
#[derive(Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Rule>>>,
    injected: Arc<Mutex<usize>>,
    chaos: Arc<Mutex<Option<ChaosState>>>,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field(
                "pending",
                &self
                    .rules
                    .lock()
                    .unwrap()
                    .iter()
                    .map(|r| r.remaining)
                    .sum::<usize>(),
            )
            .finish()
    }
}

impl Faults {
    /// The next `times` requests with `method` (`"*"` for any) whose path contains
    /// `path_contains` get `fault`, at `timing`.
    pub fn inject(
        &self,
        method: &str,
        path_contains: &str,
        fault: Fault,
        times: usize,
        timing: Timing,
    ) {
        self.rules.lock().unwrap().push(Rule {
            method: method.to_owned(),
            path_contains: path_contains.to_owned(),
            fault,
            remaining: times,
            timing,
        });
    }

    /// Takes the fault for `req` at `timing`, if a rule matches (stateful fakes call this).
    pub fn take(&self, req: &Request, timing: Timing) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap();
        let rule = rules.iter_mut().find(|r| r.matches(req, timing))?;
        rule.remaining -= 1;
        *self.injected.lock().unwrap() += 1;
        Some(rule.fault.clone())
    }

    fn peek(&self, req: &Request, timing: Timing) -> Option<Fault> {
        let rules = self.rules.lock().unwrap();
        rules
            .iter()
            .find(|r| r.matches(req, timing))
            .map(|r| r.fault.clone())
    }

    /// How many faults have struck so far.
    pub fn injected(&self) -> usize {
        *self.injected.lock().unwrap()
    }

    /// Turns random faults on (`Some`) or off (`None`) for every request the
    /// fake's stateful router handles.
    pub fn set_chaos(&self, chaos: Option<Chaos>) {
        *self.chaos.lock().unwrap() = chaos.map(|c| ChaosState {
            rng: fuzz::Rng::new(c.seed),
            chaos: c,
            armed: None,
        });
    }

    /// Rolls the dice for a request about to be handled: a before-commit
    /// fault is returned now; an after-commit one is kept for
    /// [`Faults::after_commit`]. Requests are handled one at a time.
    fn roll(&self) -> Option<Fault> {
        let mut guard = self.chaos.lock().unwrap();
        let state = guard.as_mut()?;
        state.armed = None;
        let draw = (state.rng.next_u64() % 1_000_000) as f64 / 1_000_000.0;
        if draw >= state.chaos.rate || state.chaos.faults.is_empty() {
            return None;
        }
        let (fault, timing) = state.chaos.faults[state.rng.below(state.chaos.faults.len())].clone();
        *self.injected.lock().unwrap() += 1;
        match timing {
            Timing::BeforeCommit => Some(fault),
            Timing::AfterCommit => {
                state.armed = Some(fault);
                None
            }
        }
    }

    /// The after-commit fault for the request just applied: a rule's, or the one chaos armed.
    fn after_commit(&self, request: &Request) -> Option<Fault> {
        self.take(request, Timing::AfterCommit).or_else(|| {
            self.chaos
                .lock()
                .unwrap()
                .as_mut()
                .and_then(|s| s.armed.take())
        })
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }
}

struct BeforeCommitMatcher {
    faults: Faults,
    reset: bool,
}

impl Match for BeforeCommitMatcher {
    fn matches(&self, request: &Request) -> bool {
        self.faults
            .peek(request, Timing::BeforeCommit)
            .is_some_and(|f| f.is_reset() == self.reset)
    }
}

struct BeforeCommitResponder(Faults);

impl Respond for BeforeCommitResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        match self.0.take(request, Timing::BeforeCommit) {
            Some(f) => f.response(),
            None => ResponseTemplate::new(500).set_body_string("postd-testkit: fault vanished"),
        }
    }
}

/// The record of requests no fake route matched. Stateful fakes that route
/// requests themselves call [`UnmatchedLog::record`] for a request their
/// router does not know, so it fails the test as loudly as the catch-all does.
#[derive(Clone, Default)]
pub struct UnmatchedLog(Arc<Mutex<Vec<String>>>);

impl fmt::Debug for UnmatchedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UnmatchedLog")
            .field(&self.0.lock().unwrap())
            .finish()
    }
}

impl UnmatchedLog {
    /// Records `request` and returns the loud `421` answer.
    pub fn record(&self, request: &Request) -> ResponseTemplate {
        let line = format!("{} {}", request.method, request.url.path());
        self.0.lock().unwrap().push(line.clone());
        ResponseTemplate::new(421).set_body_string(format!(
            "postd-testkit: no fake route matches {line}; the connector sent a request the platform does not have"
        ))
    }
}

struct Unmatched(UnmatchedLog);

impl Respond for Unmatched {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.record(request)
    }
}

/// What a stateful fake's handler made of one request.
#[derive(Debug)]
#[non_exhaustive]
pub enum Handled {
    /// Not this fake's host or path: other routes (and the catch-all) see it.
    NotMine,
    /// The platform's answer, and whether it applied the request's effect.
    /// [`Timing::AfterCommit`] faults strike only committed requests.
    Answer {
        /// The answer to send.
        response: ResponseTemplate,
        /// True when the platform's state changed (or the request was served)
        /// before the answer left.
        committed: bool,
    },
}

/// A stateful route: the handler runs exactly once per request, in the
/// matcher, so it can decide on a connection reset (which wiremock can only
/// give from a matched route); any other answer is parked for the responder.
/// wiremock serialises request handling, so the slot never holds two answers.
struct StatefulRoute {
    handler: Box<dyn Fn(&Request) -> Handled + Send + Sync>,
    faults: Faults,
    slot: Mutex<Option<ResponseTemplate>>,
}

struct StatefulGate(Arc<StatefulRoute>);

impl Match for StatefulGate {
    fn matches(&self, request: &Request) -> bool {
        let route = &self.0;
        // Chaos strikes before the platform sees the request, or arms a fault for after.
        if let Some(fault) = route.faults.roll() {
            if fault.is_reset() {
                return true;
            }
            *route.slot.lock().unwrap() = Some(fault.response());
            return false;
        }
        let answer = match (route.handler)(request) {
            Handled::NotMine => return false,
            Handled::Answer {
                response,
                committed: true,
            } => match route.faults.after_commit(request) {
                // The effect happened; the connection dies before the answer.
                Some(fault) if fault.is_reset() => return true,
                Some(fault) => fault.response(),
                None => response,
            },
            Handled::Answer { response, .. } => response,
        };
        *route.slot.lock().unwrap() = Some(answer);
        false
    }
}

struct StatefulAnswer(Arc<StatefulRoute>);

impl Match for StatefulAnswer {
    fn matches(&self, _request: &Request) -> bool {
        self.0.slot.lock().unwrap().is_some()
    }
}

impl Respond for StatefulAnswer {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        self.0.slot.lock().unwrap().take().unwrap_or_else(|| {
            ResponseTemplate::new(500).set_body_string("postd-testkit: answer vanished")
        })
    }
}

/// A wiremock server with a loud catch-all and fault injection.
pub struct FakeServer {
    server: MockServer,
    unmatched: UnmatchedLog,
    faults: Faults,
}

impl fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeServer")
            .field("uri", &self.server.uri())
            .field("unmatched", &self.unmatched)
            .finish_non_exhaustive()
    }
}

impl FakeServer {
    /// Starts a server that records requests.
    pub async fn start() -> Self {
        FakeServer::with_server(MockServer::start().await).await
    }

    /// [`start`](Self::start) when `record`, else
    /// [`start_without_recording`](Self::start_without_recording): what a
    /// stateful fake's `record_requests` setting asks for.
    pub async fn start_recording(record: bool) -> Self {
        if record {
            FakeServer::start().await
        } else {
            FakeServer::start_without_recording().await
        }
    }

    /// Starts a server that keeps no request bodies (for large uploads and benchmarks).
    pub async fn start_without_recording() -> Self {
        FakeServer::with_server(
            MockServer::builder()
                .disable_request_recording()
                .start()
                .await,
        )
        .await
    }

    async fn with_server(server: MockServer) -> Self {
        // Tests talk to fakes with plain reqwest clients too: give them the one TLS provider.
        postd_core::http::install_crypto_provider();
        let unmatched = UnmatchedLog::default();
        let faults = Faults::default();
        Mock::given(any())
            .respond_with(Unmatched(unmatched.clone()))
            .with_priority(u8::MAX)
            .named("postd-testkit catch-all")
            .mount(&server)
            .await;
        Mock::given(BeforeCommitMatcher {
            faults: faults.clone(),
            reset: false,
        })
        .respond_with(BeforeCommitResponder(faults.clone()))
        .with_priority(1)
        .named("postd-testkit fault injection")
        .mount(&server)
        .await;
        let reset_faults = faults.clone();
        Mock::given(BeforeCommitMatcher {
            faults: faults.clone(),
            reset: true,
        })
        .respond_with_err(move |req: &Request| {
            reset_faults.take(req, Timing::BeforeCommit);
            std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "postd-testkit: injected reset",
            )
        })
        .with_priority(1)
        .named("postd-testkit reset injection")
        .mount(&server)
        .await;
        FakeServer {
            server,
            unmatched,
            faults,
        }
    }

    /// The base URI, `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL with a trailing `/`.
    pub fn url(&self) -> Url {
        Url::parse(&format!("{}/", self.server.uri())).expect("wiremock URIs parse")
    }

    /// The wiremock server, to mount routes and read recorded requests.
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// The fault knobs.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Mounts a route.
    pub async fn mount(&self, mock: Mock) {
        mock.mount(&self.server).await;
    }

    /// Mounts a stateful fake's router. `handler` sees every request not
    /// taken by a [`Timing::BeforeCommit`] fault, once, and answers
    /// [`Handled::NotMine`] for what is not its platform's. After-commit
    /// faults (statuses, bodies, connection resets) are applied here, to
    /// committed requests only, so every fake models "the platform did it but
    /// the answer was lost" the same way.
    pub async fn mount_stateful(
        &self,
        name: &str,
        handler: impl Fn(&Request) -> Handled + Send + Sync + 'static,
    ) {
        let route = Arc::new(StatefulRoute {
            handler: Box::new(handler),
            faults: self.faults.clone(),
            slot: Mutex::new(None),
        });
        self.mount(
            Mock::given(StatefulGate(route.clone()))
                .respond_with_err(|_: &Request| {
                    std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "postd-testkit: injected reset after commit",
                    )
                })
                .with_priority(2)
                .named(format!("{name} router")),
        )
        .await;
        self.mount(
            Mock::given(StatefulAnswer(route.clone()))
                .respond_with(StatefulAnswer(route))
                .with_priority(3)
                .named(format!("{name} answer")),
        )
        .await;
    }

    /// Requests no route matched, as `METHOD /path`.
    pub fn unmatched(&self) -> Vec<String> {
        self.unmatched.0.lock().unwrap().clone()
    }

    /// The unmatched-request log, for fakes that route requests themselves.
    pub fn unmatched_log(&self) -> UnmatchedLog {
        self.unmatched.clone()
    }

    /// Panics if any request went unmatched.
    pub fn assert_all_matched(&self) {
        let u = self.unmatched();
        assert!(
            u.is_empty(),
            "postd-testkit: requests matched no fake route: {u:?}"
        );
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let u = self
            .unmatched
            .0
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default();
        if !u.is_empty() {
            panic!("postd-testkit: requests matched no fake route: {u:?}");
        }
    }
}
