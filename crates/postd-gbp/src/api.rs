//! The API client: one base URL per Google host, the bearer token, JSON
//! bodies, `google.rpc.Status` errors, and the budgets every call spends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use postd_core::http::{HttpClient, HttpResponse, RequestContext, bearer};
use postd_core::reqwest::{Method, RequestBuilder};
use postd_core::secrecy::SecretString;
use postd_core::{Error, ErrorKind, Platform, Result, Retry};
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::GbpConfig;
use crate::error::parse_error;

/// Requests per minute per API per Google Cloud project: the default quota
/// (<https://developers.google.com/my-business/content/limits>).
pub const PROJECT_REQUESTS_PER_MINUTE: usize = 300;

/// Local-post writes per minute per location. The limits page states "10
/// edits per minute per Business Profile" for the Business Information API
/// and lists no v4 quota; POSTD applies it to local posts too.
pub const EDITS_PER_MINUTE_PER_LOCATION: usize = 10;

const MINUTE: Duration = Duration::from_secs(60);

/// Which Google host a call goes to (each is a separate API with its own
/// enablement and quota).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Host {
    Accounts,
    Locations,
    Posts,
    Performance,
}

impl Host {
    pub(crate) fn service(self) -> &'static str {
        match self {
            Host::Accounts => "mybusinessaccountmanagement.googleapis.com",
            Host::Locations => "mybusinessbusinessinformation.googleapis.com",
            Host::Posts => "mybusiness.googleapis.com",
            Host::Performance => "businessprofileperformance.googleapis.com",
        }
    }
}

/// Sliding one-minute windows: the project's requests per API, and each
/// location's post writes. A call that would go over waits its turn as a
/// [`ErrorKind::RateLimited`] error, without a request Google would refuse.
#[derive(Debug, Default)]
pub(crate) struct Budgets {
    windows: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Budgets {
    /// The wait before `key`'s window has room, or `None` when it has.
    fn full(w: &mut VecDeque<Instant>, limit: usize, now: Instant) -> Option<Duration> {
        while w.front().is_some_and(|t| now.duration_since(*t) >= MINUTE) {
            w.pop_front();
        }
        (w.len() >= limit).then(|| {
            let oldest = w.front().copied().unwrap_or(now);
            MINUTE.saturating_sub(now.duration_since(oldest)) + Duration::from_millis(50)
        })
    }

    /// Takes one request of `host`'s project budget and, for a write, one of
    /// `location`'s edit budget: both or neither.
    pub(crate) fn take_call(&self, host: Host, edit_of: Option<&str>) -> Result<()> {
        let now = Instant::now();
        let refused = |wait: Duration, what: String| {
            Error::new(
                ErrorKind::RateLimited,
                format!(
                    "{what}; POSTD holds the call back {} s rather than have Google refuse it",
                    wait.as_secs().max(1)
                ),
            )
            .with_retry(Retry::Temporary { after: Some(wait) })
            .with_platform(Platform::Gbp)
        };
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Windows of locations no longer written to are dropped now and then.
        if windows.len() > 4_096 {
            windows.retain(|_, w| w.back().is_some_and(|t| now.duration_since(*t) < MINUTE));
        }
        let edit_key = edit_of.map(|l| format!("edit:{l}"));
        if let Some(key) = &edit_key
            && let Some(wait) = Budgets::full(
                windows.entry(key.clone()).or_default(),
                EDITS_PER_MINUTE_PER_LOCATION,
                now,
            )
        {
            return Err(refused(
                wait,
                format!(
                    "the location had {EDITS_PER_MINUTE_PER_LOCATION} post writes in the last minute (Google allows 10 per minute per profile)"
                ),
            ));
        }
        let project = windows.entry(host.service().to_owned()).or_default();
        if let Some(wait) = Budgets::full(project, PROJECT_REQUESTS_PER_MINUTE, now) {
            return Err(refused(
                wait,
                format!(
                    "{} had {PROJECT_REQUESTS_PER_MINUTE} requests in the last minute (the project's quota)",
                    host.service()
                ),
            ));
        }
        project.push_back(now);
        if let Some(key) = edit_key {
            windows.entry(key).or_default().push_back(now);
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Api {
    pub(crate) cfg: Arc<GbpConfig>,
    pub(crate) http: HttpClient,
    pub(crate) budgets: Arc<Budgets>,
}

impl Api {
    pub(crate) fn new(cfg: GbpConfig, http: HttpClient) -> Self {
        Api {
            cfg: Arc::new(cfg),
            http,
            budgets: Arc::new(Budgets::default()),
        }
    }

    fn base(&self, host: Host) -> &Url {
        match host {
            Host::Accounts => &self.cfg.accounts_base_url,
            Host::Locations => &self.cfg.locations_base_url,
            Host::Posts => &self.cfg.posts_base_url,
            Host::Performance => &self.cfg.performance_base_url,
        }
    }

    /// `{host}/{path}` (segments already checked by the typed names) with a query.
    pub(crate) fn url(&self, host: Host, path: &str, query: &[(&str, &str)]) -> Url {
        let base = self.base(host);
        let mut url = base.clone();
        url.set_path(&format!("{}/{path}", base.path().trim_end_matches('/')));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// A request with the user's bearer token.
    pub(crate) fn request(&self, method: Method, url: Url, token: &SecretString) -> RequestBuilder {
        bearer(self.http.request(method, url), token)
    }

    /// Sends a request through the budgets (`edit_of`: the location a post write spends).
    pub(crate) async fn send(
        &self,
        ctx: RequestContext,
        host: Host,
        edit_of: Option<&str>,
        builder: RequestBuilder,
    ) -> Result<HttpResponse> {
        let request = builder.build().map_err(|e| {
            Error::config("could not build the Google request")
                .with_source(e.without_url())
                .with_platform(Platform::Gbp)
        })?;
        self.budgets
            .take_call(host, edit_of)
            .map_err(|e| e.with_operation(ctx.operation))?;
        self.http
            .execute(ctx, request, &parse_error)
            .await
            .map_err(|e| self.scrub(e))
    }

    /// `e` without the client secret in its message (an answer echoing it
    /// must not put it in an error, a log line or the dead-letter queue).
    pub(crate) fn scrub(&self, e: Error) -> Error {
        use postd_core::secrecy::ExposeSecret;
        let secret = self.cfg.client_secret.expose_secret();
        if !secret.is_empty() && e.message().contains(secret) {
            let clean = postd_core::error::redact(e.message(), &[secret.to_owned()]);
            e.with_message(clean)
        } else {
            e
        }
    }

    /// A `GET`, decoded.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        ctx: RequestContext,
        host: Host,
        url: Url,
        token: &SecretString,
    ) -> Result<T> {
        let response = self
            .send(ctx, host, None, self.request(Method::GET, url, token))
            .await?;
        response.json(&ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_takes_ten_writes_a_minute_and_the_refusal_says_how_long() {
        let b = Budgets::default();
        for _ in 0..EDITS_PER_MINUTE_PER_LOCATION {
            b.take_call(Host::Posts, Some("accounts/1/locations/2"))
                .unwrap();
        }
        let e = b
            .take_call(Host::Posts, Some("accounts/1/locations/2"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(
            matches!(e.retry(), Retry::Temporary { after: Some(w) } if w <= MINUTE + Duration::from_secs(1) && w >= Duration::from_secs(59))
        );
        // Another location, and reads, still go.
        b.take_call(Host::Posts, Some("accounts/1/locations/3"))
            .unwrap();
        b.take_call(Host::Posts, None).unwrap();
    }
}
