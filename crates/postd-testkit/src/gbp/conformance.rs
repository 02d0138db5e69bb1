//! [`GbpFake`] as a [`PlatformFake`] for the behaviour suite: a user per seed who granted
//! `business.manage` with offline access, managing one account with one location that can
//! post; `POST .../localPosts` as the create; the per-minute quota's `429` as the platform's
//! own signal; and Pub/Sub push deliveries of Business Profile notifications.
//!
//! The target id is the v4 location name `accounts/{a}/locations/{l}`: the local-post
//! methods need the account, while the Business Information and Performance APIs name the
//! location `locations/{l}` alone (a connector derives that from the last two segments).
//! Post ids are the posts' resource names `accounts/{a}/locations/{l}/localPosts/{p}`, as the
//! create answers them in `name`.
//!
//! A new post is `PROCESSING` until its review ends ([`GbpFakeConfig::processing_secs`] of
//! fake time); a connector suite that settles pending posts by polling starts the fake with
//! [`GbpFakeConfig::processing_gets`] set (or a short review), since the suite's poll loop
//! does not move the clock.
//!
//! Google signs no webhook with the client secret: a push subscription with authentication
//! sends `Authorization: Bearer <OIDC JWT>`, signed with Google's RSA keys, which the fake
//! mints with its test keys and serves the JWK set of
//! ([`GbpFake::push_token`](super::GbpFake::push_token), [`JWKS_PATH`](super::JWKS_PATH));
//! [`signed_delivery`](PlatformFake::signed_delivery) carries a good token. The token
//! authenticates the sender, not the body: it signs its claims (audience, service account,
//! times) and nothing of the bytes pushed, so the same token verifies with any body, and a
//! body changed in transit cannot be told from the one Pub/Sub sent. The suite's signature
//! behaviours check a signature over the raw body (a body changed after signing, a
//! signature over other bytes must be refused), which a push cannot satisfy: a GBP connector
//! claims `signed_webhooks: false` for them, and its own tests check the JWT with the
//! fake's [`PushToken`](super::PushToken) variants. The deliveries are the documented
//! Pub/Sub bodies. Pub/Sub validates no push endpoint with a challenge either: a GBP
//! connector claims `webhook_challenge: false`, and the challenge methods answer the nothing
//! Google sends (as the TikTok fake's do).
//!
//! [`GbpFakeConfig::processing_secs`]: super::GbpFakeConfig::processing_secs
//! [`GbpFakeConfig::processing_gets`]: super::GbpFakeConfig::processing_gets

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use postd_core::secrecy::ExposeSecret;
use postd_core::{ChallengeResponse, Credentials, Target, TargetKind, TokenSet, WebhookRequest};

use super::GbpFake;
use super::errors::SCOPE;
use super::notifications::{notification_data, pubsub_push_body};
use crate::Faults;
use crate::conformance::{GrantEnd, PlatformFake, Received, Route, Seeded, received_by};

/// What a seeded user granted: everything a posting connector asks for.
const SCOPES: &[&str] = &[SCOPE];

fn refresh_token(seeded: &Seeded) -> Option<String> {
    match &seeded.credentials {
        Credentials::OAuth(t) => t
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        _ => None,
    }
}

#[async_trait]
impl PlatformFake for GbpFake {
    /// A new user (a numeric Google id) with `business.manage`, holding an access and a
    /// refresh token of one grant (with `canary`, every token of the grant starts with it),
    /// managing a new account with one location that can post.
    fn seed(&self, kind: TargetKind, canary: Option<&str>) -> Seeded {
        assert!(
            kind == TargetKind::GbpLocation,
            "GbpFake seeds Business Profile locations, not {kind:?}"
        );
        let n = self.st().next();
        let user = format!("1{n:020}");
        let account = format!("{}", 100_000_000_000_000_000u64 + n);
        let location = format!("{}", 9_000_000_000_000_000_000u64 + n);
        self.seed_account(&user, &account, &format!("POSTD conformance {n}"));
        self.seed_location(&account, &location, &format!("POSTD Cafe {n}"), true);
        let (access, refresh) = self.seed_grant(&user, SCOPES, canary);
        let credentials = Credentials::OAuth(
            TokenSet::new(access.as_str())
                .with_refresh_token(refresh.as_str())
                .with_scopes(SCOPES.iter().copied())
                .with_subject(user.as_str()),
        );
        let target = Target::new(kind, format!("accounts/{account}/locations/{location}"));
        Seeded::new(credentials, target, user)
    }

    /// A code whose exchange accepts any `code_verifier`: Google supports PKCE, but the fake
    /// cannot see the `code_challenge` of the authorization URL the connector built.
    fn authorization_code(&self, seeded: &Seeded, redirect_uri: &str) -> String {
        self.issue_code_any_verifier(&seeded.account, redirect_uri, SCOPES)
    }

    /// A dead refresh token answers `400 invalid_grant` "Token has been expired or revoked."
    /// (<https://developers.google.com/identity/protocols/oauth2#expiration>).
    fn end_refresh_grant(&self, seeded: &Seeded, how: GrantEnd) {
        let Some(token) = refresh_token(seeded) else {
            return;
        };
        match how {
            GrantEnd::Expired => self.expire_token(&token),
            GrantEnd::Revoked => self.revoke_token(&token),
        }
    }

    fn faults(&self) -> &Faults {
        self.server.faults()
    }

    async fn received(&self) -> Vec<Received> {
        received_by(&self.server).await
    }

    /// The names of the posts on the location that are not deleted, oldest first.
    fn post_ids(&self, target: &Target) -> Vec<String> {
        self.local_posts()
            .into_iter()
            .filter(|p| !p.deleted && p.location == target.id)
            .map(|p| p.name)
            .collect()
    }

    /// `POST /v4/accounts/{a}/locations/{l}/localPosts`
    /// (<https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts/create>).
    /// No other `POST` the fake serves has `/localPosts` in its path.
    fn create_route(&self, _target: &Target) -> Route {
        Route::new("POST", "/localPosts")
    }

    /// `GET`s of local posts: `localPosts.list` and `localPosts.get`.
    fn lookup_route(&self) -> Route {
        Route::new("GET", "/localPosts")
    }

    /// Every review under way ends.
    fn finish_processing(&self) {
        self.finish_reviews();
    }

    /// The posts scheduled up to `at` are due now (their review starts).
    fn reach_scheduled_time(&self, at: chrono::DateTime<chrono::Utc>) {
        self.make_due(at.timestamp());
    }

    /// `429 RESOURCE_EXHAUSTED` on every call about the location. The quota is per minute
    /// and Google sends no `Retry-After`, so a caller may wait up to 60 seconds
    /// (<https://developers.google.com/my-business/content/limits>).
    fn throttle_account(&self, seeded: &Seeded, on: bool) -> Option<Duration> {
        self.throttle_location(&seeded.target.id, on);
        Some(Duration::from_secs(60))
    }

    /// The OAuth client secret (Google signs no webhook with it).
    fn client_secret(&self) -> String {
        self.config.client_secret.clone()
    }

    /// Pub/Sub push bodies of a `NEW_REVIEW`, an `UPDATED_REVIEW`, a `NEW_CUSTOMER_MEDIA`, a
    /// `VOICE_OF_MERCHANT_UPDATED` and a type no client knows yet.
    fn webhook_deliveries(&self) -> Vec<Vec<u8>> {
        let loc = "accounts/1000000001/locations/9000000001";
        [
            ("NEW_REVIEW", Some(format!("{loc}/reviews/AbFvOqmPostd1"))),
            (
                "UPDATED_REVIEW",
                Some(format!("{loc}/reviews/AbFvOqmPostd1")),
            ),
            (
                "NEW_CUSTOMER_MEDIA",
                Some(format!("{loc}/media/AF1QipPostd1")),
            ),
            ("VOICE_OF_MERCHANT_UPDATED", None),
            ("X_UNKNOWN_NOTIFICATION", None),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (kind, resource))| {
            let data = notification_data(kind, loc, resource.as_deref()).to_string();
            pubsub_push_body(
                &self.config.subscription,
                &(12_000_000_000_000_000u64 + i as u64).to_string(),
                "2026-03-01T10:00:00.000Z",
                data.as_bytes(),
                &BTreeMap::new(),
            )
        })
        .collect()
    }

    /// The `POST` an authenticated push subscription makes, with `Authorization: Bearer` a
    /// good OIDC JWT (which signs no part of `body`) and without `Content-Type` (the suite
    /// alters every header it carries).
    fn signed_delivery(&self, body: &[u8]) -> WebhookRequest {
        let mut request = super::push_post(body, &self.push_token(super::PushToken::Good));
        request.headers.remove("content-type");
        request
    }

    /// Pub/Sub sends no challenge: there is no token of a documented shape.
    fn challenge_token(&self) -> String {
        String::new()
    }

    /// Pub/Sub sends no validation request; this is the bare `GET` a probe of the push
    /// endpoint would be, carrying `token` under no documented name.
    fn challenge_request(&self, token: Option<&str>) -> WebhookRequest {
        WebhookRequest::get(token.map(|t| ("challenge", t)))
    }

    /// Google expects no answer to a challenge it never sends: none is accepted.
    fn accepts_challenge_answer(&self, _token: &str, _answer: &ChallengeResponse) -> bool {
        false
    }
}
