//! [`PlatformFake`]: what a behaviour needs from a platform's fake, and
//! nothing more. [`MetaFake`](crate::meta::MetaFake) and
//! [`LinkedInFake`](crate::linkedin::LinkedInFake) implement it.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use postd_core::{ChallengeResponse, Credentials, Target, TargetKind, WebhookRequest};
use url::Url;

use crate::Faults;

/// A fresh account on the fake, able to publish to one target.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Seeded {
    /// The account's credentials, as the connector's own code exchange would
    /// leave them (derived page tokens included).
    pub credentials: Credentials,
    /// The target the account publishes to.
    pub target: Target,
    /// The platform's id of the account (the Meta user id, the LinkedIn
    /// member's `sub`): whom authorization codes are issued for.
    pub account: String,
}

impl Seeded {
    /// An account with `credentials` that publishes to `target`.
    pub fn new(credentials: Credentials, target: Target, account: impl Into<String>) -> Self {
        Seeded {
            credentials,
            target,
            account: account.into(),
        }
    }
}

/// One request the fake received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// The HTTP method, upper case.
    pub method: String,
    /// The full URL, query string included.
    pub url: Url,
}

impl Received {
    /// `method` on `url`.
    pub fn new(method: impl Into<String>, url: Url) -> Self {
        Received {
            method: method.into(),
            url,
        }
    }
}

/// The request that creates a post, as [`Faults::inject`] matches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The method (`POST`).
    pub method: &'static str,
    /// A part of the path only that request has (`/feed`, `/media_publish`, `/rest/posts`).
    pub path_contains: &'static str,
}

impl Route {
    /// `method` on paths containing `path_contains`.
    pub const fn new(method: &'static str, path_contains: &'static str) -> Self {
        Route {
            method,
            path_contains,
        }
    }

    /// Whether `request` is this route.
    pub fn matches(&self, request: &Received) -> bool {
        request.method.eq_ignore_ascii_case(self.method)
            && request.url.path().contains(self.path_contains)
    }
}

/// How a refresh grant dies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantEnd {
    /// It ran past its expiry.
    Expired,
    /// The member revoked the app (or changed their password).
    Revoked,
}

/// What the behaviour suite needs from a platform's fake.
///
/// Each method is one fact or one knob of the platform as its documentation
/// describes it; the connector under test is pointed at the fake's URL by
/// the connector crate's tests.
#[async_trait]
pub trait PlatformFake: fmt::Debug + Send + Sync {
    /// Seeds a new account that can publish to a target of `kind`. With
    /// `canary`, every token the fake issues for the account (access,
    /// refresh, page tokens) starts with it, so a leak of any of them
    /// contains the canary. Panics for a kind the platform does not have.
    fn seed(&self, kind: TargetKind, canary: Option<&str>) -> Seeded;

    /// A one-time authorization code for `seeded`'s account, as the
    /// platform's consent screen redirects with to `redirect_uri`.
    fn authorization_code(&self, seeded: &Seeded, redirect_uri: &str) -> String;

    /// Kills the grant a refresh of `seeded`'s credentials presents (the
    /// refresh token, or the long-lived token a re-exchange sends), so the
    /// platform answers `invalid_grant` or its documented equivalent.
    fn end_refresh_grant(&self, seeded: &Seeded, how: GrantEnd);

    /// The fault knobs of the fake's server.
    fn faults(&self) -> &Faults;

    /// Every request the fake's server received, in order, whatever answered
    /// it (a route, a fault, the catch-all). Panics if the fake keeps no log.
    async fn received(&self) -> Vec<Received>;

    /// The ids of the posts the platform holds on `target`, oldest first
    /// (scheduled ones included), as the platform answers them to a create.
    fn post_ids(&self, target: &Target) -> Vec<String>;

    /// The request that creates a text post (or, where the post needs media,
    /// a post with one image by URL) on `target`.
    fn create_route(&self, target: &Target) -> Route;

    /// With `on`, makes the platform's own rate limit strike `seeded`'s
    /// account and returns the longest wait the platform's signal allows a
    /// caller to ask for; `None` when the fake models no such signal. Without
    /// `on`, lifts it.
    fn throttle_account(&self, seeded: &Seeded, on: bool) -> Option<Duration>;

    /// The app's client secret (it signs webhooks on both platforms).
    fn client_secret(&self) -> String;

    /// Query parameters the platform documents as carrying a token in a URL,
    /// as `(path suffix, parameter)`. The secrets behaviour allows a token
    /// there and nowhere else. None by default.
    fn url_token_exceptions(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Webhook delivery bodies in the platform's documented shapes; the
    /// first one holds at least one event.
    fn webhook_deliveries(&self) -> Vec<Vec<u8>>;

    /// `body` as the platform delivers it: a `POST` with its signature
    /// header(s) over those exact bytes.
    fn signed_delivery(&self, body: &[u8]) -> WebhookRequest;

    /// `body` signed as delivered at `unix` seconds, for platforms that sign
    /// a timestamp; `None` (the default) for platforms that do not.
    fn signed_delivery_at(&self, body: &[u8], unix: i64) -> Option<WebhookRequest> {
        let _ = (body, unix);
        None
    }

    /// The requests `find_published` reads the platform with, as
    /// [`Faults::inject`] matches them: any `GET` by default (TikTok lists
    /// videos with a `POST`).
    fn lookup_route(&self) -> Route {
        Route::new("GET", "")
    }

    /// Lets the platform finish whatever it is processing in its own time
    /// (a pulled video, moderation), as time passing would. The default does
    /// nothing: the platform applies creates at once.
    fn finish_processing(&self) {}

    /// Lets the time of the posts natively scheduled up to `at` come, as
    /// if the platform's clock had reached it: they go live (through any
    /// review the platform holds them in). The default does nothing: the
    /// platform answers a natively scheduled create as published.
    fn reach_scheduled_time(&self, at: chrono::DateTime<chrono::Utc>) {
        let _ = at;
    }

    /// A challenge token of the shape the platform documents; empty for a
    /// platform whose validation request carries none (Mailchimp's bare
    /// `GET`), which skips the forged-token behaviour.
    fn challenge_token(&self) -> String;

    /// The platform's endpoint validation request carrying `token` (or no
    /// token at all).
    fn challenge_request(&self, token: Option<&str>) -> WebhookRequest;

    /// Whether the platform accepts `answer` to the challenge `token`.
    fn accepts_challenge_answer(&self, token: &str, answer: &ChallengeResponse) -> bool;
}

/// What `server` received, for fakes built on [`FakeServer`](crate::FakeServer).
pub(crate) async fn received_by(server: &crate::FakeServer) -> Vec<Received> {
    let requests = server
        .server()
        .received_requests()
        .await
        .unwrap_or_else(|| {
            panic!("postd-testkit: the conformance suite needs a fake that records requests")
        });
    requests
        .into_iter()
        .map(|r| Received::new(r.method.as_str().to_ascii_uppercase(), r.url))
        .collect()
}
