//! A stateful fake of the Google Business Profile APIs: Google's OAuth 2.0 for web server
//! apps, the Account Management and Business Information APIs (accounts and locations), the
//! v4 API's local posts, the Business Profile Performance API's daily metrics, the project
//! switches (disabled APIs, quotas), and notifications as Pub/Sub push deliveries.
//!
//! [`GbpFake`] is also a [`PlatformFake`](crate::conformance::PlatformFake) for the behaviour
//! suite (`TargetKind::GbpLocation`, the target id the v4 location name
//! `accounts/{a}/locations/{l}`).
//!
//! [`GbpFake`] models the platform as Google documents it on developers.google.com and
//! cloud.google.com (each module cites its pages), not as any client uses it. One fake
//! server plays every Google host, told apart by path:
//!
//! | path | real host |
//! |---|---|
//! | `POST /token`, `POST /revoke` | `https://oauth2.googleapis.com` |
//! | `GET /v1/accounts` | `https://mybusinessaccountmanagement.googleapis.com` |
//! | `GET /v1/accounts/{a}/locations` | `https://mybusinessbusinessinformation.googleapis.com` |
//! | `/v4/accounts/{a}/locations/{l}/localPosts[/{p}]` | `https://mybusiness.googleapis.com` |
//! | `GET /v1/locations/{l}:fetchMultiDailyMetricsTimeSeries` | `https://businessprofileperformance.googleapis.com` |
//! | `GET /oauth2/v3/certs` ([`JWKS_PATH`]) | `https://www.googleapis.com` |
//!
//! The consent page (`https://accounts.google.com/o/oauth2/v2/auth`) is not served:
//! [`GbpFake::issue_code`] stands in for the user's consent.
//!
//! What it models:
//!
//! - **OAuth 2.0** (<https://developers.google.com/identity/protocols/oauth2/web-server>):
//!   single-use codes bound to their `redirect_uri` and, when issued with a
//!   `code_challenge`, to the S256 `code_verifier`; client authentication in the body or with HTTP Basic; one-hour access
//!   tokens; refresh tokens that do **not** rotate (a refresh answers no `refresh_token`, and
//!   the old one keeps working); `invalid_grant` "Token has been expired or revoked." for a
//!   dead one; Testing-mode refresh tokens that expire after 7 days
//!   ([`GbpFakeConfig::testing_mode`]); the 100-refresh-tokens-per-user limit; `POST /revoke`
//!   ending the whole grant; errors as `{"error", "error_description"}`.
//! - **The gate of every API call**, in order: a malformed resource name under a served
//!   collection answers Google's front end's **HTML** `404` (not JSON); a missing, unknown,
//!   expired or revoked token `401 UNAUTHENTICATED` (`CREDENTIALS_MISSING`,
//!   `ACCESS_TOKEN_TYPE_UNSUPPORTED`, `ACCESS_TOKEN_EXPIRED`) with `WWW-Authenticate`; an API
//!   the project has not enabled ([`GbpFake::disable_api`]) `403 PERMISSION_DENIED` with an
//!   `ErrorInfo` `SERVICE_DISABLED` carrying the `activationUrl`; a token without
//!   `https://www.googleapis.com/auth/business.manage` (or, for v4, the legacy
//!   `plus.business.manage`) `403 PERMISSION_DENIED` `ACCESS_TOKEN_SCOPE_INSUFFICIENT`; the
//!   per-minute project quota of each API (300 by default, [`GbpFake::set_quota`]; 0 refuses
//!   every call, like a project not yet approved) `429 RESOURCE_EXHAUSTED`
//!   `RATE_LIMIT_EXCEEDED` without `Retry-After`; a query parameter the method does not bind
//!   `400 INVALID_ARGUMENT`. A Google path the fake does not model is answered as unmatched
//!   (the loud `421` of every fake).
//! - **Accounts and locations** ([`seed_account`](GbpFake::seed_account),
//!   [`seed_location`](GbpFake::seed_location)): `accounts.list` (page size ≤ 20) and
//!   `accounts.locations.list` with its mandatory `readMask` (`400 INVALID_ARGUMENT`,
//!   `read_mask` "Field is required", without it), page size ≤ 100, page tokens; a location
//!   can sit in several accounts; `metadata.canOperateLocalPost` and
//!   `metadata.hasVoiceOfMerchant` decide whether it takes posts ([`GbpLocationMetadata`]).
//! - **Local posts**
//!   (<https://developers.google.com/my-business/reference/rest/v4/accounts.locations.localPosts>):
//!   create, get, list (newest first, paged), patch (`updateMask` required) and delete of `STANDARD`, `EVENT`, `OFFER` and `ALERT`
//!   posts with `languageCode`, `summary`, `callToAction`, `media`, `event`, `offer`,
//!   `alertType` and `scheduledTime`; binding errors as `BadRequest`, validation errors as the
//!   v4 `ValidationError`; `state` moving `SCHEDULED` → `PROCESSING` → `LIVE` (with
//!   `searchUrl`) or `REJECTED` over fake time ([`GbpFakeConfig::processing_secs`],
//!   [`GbpFake::reject_next_post`], phone numbers in the summary); `400 FAILED_PRECONDITION`
//!   for a location that cannot post; 10 writes per minute per location
//!   ([`GbpFakeConfig::edits_per_minute_per_location`]).
//! - **Performance metrics**
//!   (<https://developers.google.com/my-business/reference/performance/rest>):
//!   `fetchMultiDailyMetricsTimeSeries` over seeded values ([`GbpFake::set_daily_metric`]),
//!   int64 strings left out when zero, the latest days not available yet
//!   ([`GbpFakeConfig::metrics_delay_days`]).
//! - **Notifications** (<https://cloud.google.com/pubsub/docs/push>): [`GbpFake::push_delivery`]
//!   builds the Pub/Sub push body of a `NEW_REVIEW`, `UPDATED_REVIEW`, `NEW_CUSTOMER_MEDIA`,
//!   `NEW_QUESTION`, ... notification ([`notification_data`], [`pubsub_push_body`]), and
//!   [`GbpFake::push_request`] the `POST` of an **authenticated push subscription**
//!   (<https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions>): `Authorization:
//!   Bearer <OIDC JWT>`, RS256 with a `kid`, claims `aud`
//!   ([`GbpFakeConfig::push_audience`]), `email` ([`GbpFakeConfig::push_service_account`]),
//!   `email_verified`, `sub`, `azp`, `iss` [`PUSH_ISSUER`], `iat` and `exp` an hour apart on
//!   the fake clock. [`GbpFake::push_token`] also mints the tokens a verifier must refuse
//!   ([`PushToken`]: wrong audience, email or issuer, unverified email, expired, issued in
//!   the future, unknown `kid`, `alg: none`, tampered claims). The JWK set the tokens verify
//!   against is served at [`JWKS_PATH`] with Google's `Cache-Control: public, max-age=N,
//!   must-revalidate, no-transform` ([`GbpFakeConfig::jwks_max_age`]); the signing keys rotate
//!   ([`GbpFake::rotate_push_key`]) and the fetches are counted ([`GbpFake::jwks_fetches`]).
//!   The keys are test-only RSA keys committed with the fake (see `push_auth.rs`).
//!
//! Faults injected with [`Timing::AfterCommit`](crate::Timing::AfterCommit) strike the
//! requests that took effect (a created, patched or deleted post, a token exchange, refresh or
//! revoke, a `GET` that moved a review on) after the effect; [`GbpFake::local_posts`] shows
//! what Google holds.
//!
//! Choices where the docs are silent, each configurable or noted where it is made: the
//! 1,500-character summary (a Help Center figure), the 10-edits limit applied to v4 local
//! posts (the limits page states it for the Business Information API and lists no v4
//! quota), phone numbers causing `REJECTED` (publishers report it; Google's posts content
//! policy does not name them: [`GbpFakeConfig::reject_phone_numbers`]), the review time, the
//! metrics delay, the integer values of the v4 `ErrorCode` names, and the `ErrorInfo`
//! metadata names of the per-location limit; for push tokens, the JWK set listing the
//! signing key and the one before it, its `max-age`, and the service account's unique id.
//! The `LocalPost` resource has no field for why a post was rejected: `GET` answers `state:
//! REJECTED` only, and the reason stays on the fake's record
//! ([`GbpLocalPost::rejection_reason`]).
//!
//! Not modelled: the consent page and `include_granted_scopes`, `tokeninfo`, the OIDC
//! `id_token`, time-based access grants (`refresh_token_expires_in`), scope narrowing on
//! refresh; `accounts.get` and the other Account Management methods, `filter`, `orderBy`
//! and `parentAccount` (a list sending them is answered as unmatched, loudly), location
//! fields beyond `name`, `title`, `storeCode`, `languageCode` and `metadata`; recurring posts
//! (`event.recurrenceInfo`, state `RECURRING`: a write carrying it is unmatched), product
//! posts, `localPosts:reportInsights` (discontinued), media upload (`dataRef`); the
//! Performance API's sub-entity breakdowns, `getDailyMetricsTimeSeries` and search
//! keywords; the Notifications API itself (`/v1/accounts/{a}/notificationSetting`) and
//! delivery (the fake builds the requests, a test hands them to the connector); push
//! subscriptions without authentication, and the legacy `accounts.google.com` issuer (a
//! verifier accepts it; the fake sends `https://accounts.google.com`); the other key
//! formats of `www.googleapis.com` (`/oauth2/v1/certs`' PEM certificates); partial responses
//! (`fields`: a request naming it is unmatched); daily quotas.
//!
//! ```
//! use postd_testkit::gbp::{GbpFake, SCOPE};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let fake = GbpFake::start().await;
//! let token = fake.seed_user("user-1", &[SCOPE]);
//! fake.seed_account("user-1", "111", "Acme");
//! fake.seed_location("111", "222", "Acme Cafe", true);
//! let resp = postd_core::reqwest::Client::new()
//!     .post(format!("{}/v4/accounts/111/locations/222/localPosts", fake.uri()))
//!     .bearer_auth(&token)
//!     .json(&serde_json::json!({"topicType": "STANDARD", "summary": "Spring sale!"}))
//!     .send()
//!     .await
//!     .unwrap();
//! assert_eq!(resp.status(), 200);
//! let body: serde_json::Value = resp.json().await.unwrap();
//! assert_eq!(body["state"], "PROCESSING");
//! assert_eq!(fake.local_posts()[0].name, body["name"]);
//! # });
//! ```

mod accounts;
mod conformance;
mod errors;
mod notifications;
mod oauth;
mod performance;
mod posts;
mod push_auth;
mod records;
mod request;
mod routing;
mod state;
#[cfg(test)]
mod tests;

pub use self::errors::{
    BAD_REQUEST, ERROR_INFO, LEGACY_SCOPE, SCOPE, VALIDATION_ERROR, bad_request, error_info,
    http_status_of, not_found_html, oauth_error, status_error,
};
pub use self::notifications::{NOTIFICATION_TYPES, notification_data, pubsub_push_body};
pub use self::oauth::s256;
pub use self::performance::DAILY_METRICS;
pub use self::push_auth::{JWKS_PATH, PUSH_ISSUER, PUSH_TOKEN_TTL, PushToken};
pub use self::records::{GbpFakeConfig, GbpLocalPost, GbpLocationMetadata, GbpPushDelivery};

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use url::Url;

use self::routing::Router;
use self::state::{APIS, AccountRec, Challenge, CodeRec, LocationRec, State, TokenKind};
use crate::FakeServer;

/// The Account Management API's service name.
pub const ACCOUNT_MANAGEMENT: &str = "mybusinessaccountmanagement.googleapis.com";
/// The Business Information API's service name.
pub const BUSINESS_INFORMATION: &str = "mybusinessbusinessinformation.googleapis.com";
/// The v4 ("Google My Business") API's service name (local posts).
pub const MY_BUSINESS: &str = "mybusiness.googleapis.com";
/// The Business Profile Performance API's service name.
pub const PERFORMANCE: &str = "businessprofileperformance.googleapis.com";

/// The Google Business Profile fake. Start it, seed users, accounts and locations, point
/// the connector's Google base URLs (OAuth, Account Management, Business Information, v4,
/// Performance) at [`GbpFake::url`] and its JWK set URL at [`GbpFake::jwks_url`], and read
/// the platform's state back through the accessors.
pub struct GbpFake {
    server: FakeServer,
    state: Arc<Mutex<State>>,
    config: GbpFakeConfig,
}

impl fmt::Debug for GbpFake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.lock().unwrap();
        f.debug_struct("GbpFake")
            .field("uri", &self.server.uri())
            .field("users", &st.users.len())
            .field("accounts", &st.accounts.len())
            .field("locations", &st.locations.len())
            .field("local_posts", &st.posts.len())
            .finish_non_exhaustive()
    }
}

/// `accounts/1/locations/2`, `locations/2` or `2` → `2`.
fn location_id(name: &str) -> &str {
    name.rsplit_once("locations/").map_or(name, |(_, id)| id)
}

fn owned(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn known_service(service: &str) -> &'static str {
    match APIS.iter().find(|(s, _)| *s == service) {
        Some((s, _)) => s,
        None => panic!("GbpFake: {service} is not one of the APIs the fake serves"),
    }
}

impl GbpFake {
    /// Starts a fake with the default [`GbpFakeConfig`].
    pub async fn start() -> GbpFake {
        GbpFake::start_with(GbpFakeConfig::default()).await
    }

    /// Starts a fake with `config`.
    pub async fn start_with(config: GbpFakeConfig) -> GbpFake {
        let server = FakeServer::start_recording(config.record_requests).await;
        let state = Arc::new(Mutex::new(State::new(config.clone())));
        let router = Router {
            state: state.clone(),
            unmatched: server.unmatched_log(),
        };
        server
            .mount_stateful("postd-testkit gbp", move |req| router.handle(req))
            .await;
        GbpFake {
            server,
            state,
            config,
        }
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// The underlying [`FakeServer`] (fault injection, unmatched requests, wiremock).
    pub fn server(&self) -> &FakeServer {
        &self.server
    }

    /// The base URI, `http://127.0.0.1:PORT`, standing in for every Google host.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL with a trailing `/`.
    pub fn url(&self) -> Url {
        self.server.url()
    }

    /// The configuration the fake was started with.
    pub fn config(&self) -> &GbpFakeConfig {
        &self.config
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    /// The OAuth client secret.
    pub fn client_secret(&self) -> &str {
        &self.config.client_secret
    }

    /// Creates the user `user_id` who authorized the app for `scopes`, and returns a fresh
    /// access token (a grant of its own, without a refresh token).
    pub fn seed_user(&self, user_id: &str, scopes: &[&str]) -> String {
        let mut st = self.st();
        st.user(user_id);
        st.grant_seq += 1;
        let grant = st.grant_seq;
        st.issue(user_id, &owned(scopes), TokenKind::Access, grant)
    }

    /// Creates the user `user_id` who authorized the app for `scopes` with offline access,
    /// and returns the access token and the refresh token of one grant (what a code
    /// exchange answers).
    pub fn seed_user_with_refresh(&self, user_id: &str, scopes: &[&str]) -> (String, String) {
        self.seed_grant(user_id, scopes, None)
    }

    /// [`GbpFake::seed_user_with_refresh`], every token of the grant (those refreshes issue
    /// later included) starting with `canary` when given.
    fn seed_grant(&self, user_id: &str, scopes: &[&str], canary: Option<&str>) -> (String, String) {
        let mut st = self.st();
        st.user(user_id);
        st.grant_seq += 1;
        let grant = st.grant_seq;
        if let Some(canary) = canary {
            st.canaries.insert(grant, canary.to_owned());
        }
        let scopes = owned(scopes);
        let access = st.issue(user_id, &scopes, TokenKind::Access, grant);
        let refresh = st.issue(user_id, &scopes, TokenKind::Refresh, grant);
        (access, refresh)
    }

    fn code(
        &self,
        user_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
        challenge: Challenge,
    ) -> String {
        let mut st = self.st();
        st.user(user_id);
        let code = st.opaque("4/0A", 70);
        let rec = CodeRec {
            user_id: user_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: owned(scopes),
            challenge,
            issued_at: st.now(),
            used: false,
        };
        st.codes.insert(code.clone(), rec);
        code
    }

    /// A one-time authorization code, as if `user_id` approved `scopes` (with
    /// `access_type=offline`) and Google redirected to `redirect_uri`. With `code_challenge`
    /// (S256, see [`s256`]) the exchange must send the matching `code_verifier`; without,
    /// it must send none.
    pub fn issue_code(
        &self,
        user_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
        code_challenge: Option<&str>,
    ) -> String {
        let challenge = match code_challenge {
            Some(c) => Challenge::S256(c.to_owned()),
            None => Challenge::None,
        };
        self.code(user_id, redirect_uri, scopes, challenge)
    }

    /// A one-time authorization code like [`GbpFake::issue_code`] whose exchange accepts any
    /// `code_verifier`, or none: for a test that cannot see the `code_challenge` the client
    /// put in its authorization URL.
    pub fn issue_code_any_verifier(
        &self,
        user_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
    ) -> String {
        self.code(user_id, redirect_uri, scopes, Challenge::Any)
    }

    /// Whether `token` would still be accepted (an access token by the APIs, a refresh token
    /// by the token endpoint).
    pub fn token_is_live(&self, token: &str) -> bool {
        let st = self.st();
        st.tokens.get(token).is_some_and(|t| t.live(st.now()))
    }

    /// Makes a token expire now.
    pub fn expire_token(&self, token: &str) {
        let mut st = self.st();
        let now = st.now();
        if let Some(t) = st.tokens.get_mut(token) {
            t.expires_at = Some(now);
        }
    }

    /// Revokes the grant `token` belongs to, as `POST /revoke` or the user removing the app
    /// does: its access and refresh tokens all stop working.
    pub fn revoke_token(&self, token: &str) {
        let mut st = self.st();
        if let Some(grant) = st.tokens.get(token).map(|t| t.grant) {
            st.revoke_grant(grant);
        }
    }

    /// Creates the account `accounts/{account_id}` (a `PERSONAL` account named `name`) if
    /// it does not exist, and lets `user_id` manage it as `PRIMARY_OWNER` (`OWNER` when the
    /// account already had users).
    pub fn seed_account(&self, user_id: &str, account_id: &str, name: &str) {
        let mut st = self.st();
        st.user(user_id);
        if st.account(account_id).is_none() {
            st.accounts.push(AccountRec {
                id: account_id.to_owned(),
                account_name: name.to_owned(),
                kind: "PERSONAL".to_owned(),
                users: Vec::new(),
                roles: HashMap::new(),
            });
        }
        if let Some(a) = st.accounts.iter_mut().find(|a| a.id == account_id)
            && !a.users.iter().any(|u| u == user_id)
        {
            let role = if a.users.is_empty() {
                "PRIMARY_OWNER"
            } else {
                "OWNER"
            };
            a.users.push(user_id.to_owned());
            a.roles.insert(user_id.to_owned(), role.to_owned());
        }
    }

    /// Sets an account's `type` (`PERSONAL`, `LOCATION_GROUP`, `USER_GROUP`,
    /// `ORGANIZATION`). Panics for an account the fake does not hold.
    pub fn set_account_type(&self, account_id: &str, account_type: &str) {
        let mut st = self.st();
        let Some(a) = st.accounts.iter_mut().find(|a| a.id == account_id) else {
            panic!("GbpFake: no account {account_id}");
        };
        a.kind = account_type.to_owned();
    }

    /// Puts the location `locations/{location_id}` titled `title` in the account (a
    /// location already held is added to one more account, its title kept). With
    /// `can_post`, its metadata is [`GbpLocationMetadata::can_post`]; without,
    /// [`GbpLocationMetadata::cannot_post`] (unverified: local-post writes answer `400
    /// FAILED_PRECONDITION`). Panics for an account the fake does not hold.
    pub fn seed_location(&self, account_id: &str, location_id: &str, title: &str, can_post: bool) {
        let mut st = self.st();
        assert!(
            st.account(account_id).is_some(),
            "GbpFake: seed the account {account_id} before its locations"
        );
        if let Some(l) = st.location_mut(location_id) {
            if !l.accounts.iter().any(|a| a == account_id) {
                l.accounts.push(account_id.to_owned());
            }
            return;
        }
        let place_id = format!(
            "ChIJ{}",
            crate::util::base64url(
                &crate::util::fnv1a(crate::util::FNV_OFFSET, location_id.as_bytes()).to_be_bytes()
            )
        );
        st.locations.push(LocationRec {
            id: location_id.to_owned(),
            accounts: vec![account_id.to_owned()],
            title: title.to_owned(),
            store_code: None,
            language_code: "en".to_owned(),
            metadata: if can_post {
                GbpLocationMetadata::can_post()
            } else {
                GbpLocationMetadata::cannot_post()
            },
            place_id,
        });
    }

    /// Sets a location's `metadata` flags. Panics for a location the fake does not hold.
    pub fn set_location_metadata(&self, location: &str, metadata: GbpLocationMetadata) {
        let mut st = self.st();
        let Some(l) = st.location_mut(location_id(location)) else {
            panic!("GbpFake: no location {location}");
        };
        l.metadata = metadata;
    }

    /// Sets a location's `storeCode`. Panics for a location the fake does not hold.
    pub fn set_store_code(&self, location: &str, store_code: &str) {
        let mut st = self.st();
        let Some(l) = st.location_mut(location_id(location)) else {
            panic!("GbpFake: no location {location}");
        };
        l.store_code = Some(store_code.to_owned());
    }

    /// The next post created ends its review `REJECTED` ("This post was rejected due to
    /// content policy violation."); `reason` is kept on the fake's record only.
    pub fn reject_next_post(&self, reason: &str) {
        self.st().reject_next = Some(reason.to_owned());
    }

    /// Google cannot fetch `url`: a post carrying it as a `media[].sourceUrl` is refused
    /// `PHOTO_FETCH_FAILED`.
    pub fn fail_photo_fetch(&self, url: &str) {
        self.st().unfetchable.insert(url.to_owned());
    }

    /// Every review still under way ends now (`LIVE` or `REJECTED`), as time passing would;
    /// scheduled posts not yet due stay `SCHEDULED`.
    pub fn finish_reviews(&self) {
        let mut st = self.st();
        let now = st.now();
        for p in st.posts.iter_mut() {
            if p.scheduled_at.is_none_or(|t| t <= now) && p.review_ends > now {
                p.review_ends = now;
            }
        }
    }

    /// Makes every post scheduled for `until` (unix seconds) or earlier due now, as if the
    /// clock had reached its `scheduledTime`: it leaves `SCHEDULED` and its review starts
    /// ([`GbpFakeConfig::processing_secs`]). The clock itself does not move, so tokens stay
    /// live; the post keeps its `scheduledTime`.
    pub fn make_due(&self, until: i64) {
        let mut st = self.st();
        let now = st.now();
        let processing = st.config.processing_secs;
        for p in st.posts.iter_mut() {
            if p.scheduled_at.is_some_and(|t| t > now && t <= until) {
                p.scheduled_at = Some(now);
                p.review_ends = now + processing;
            }
        }
    }

    /// Every local post the platform holds (deleted ones flagged), in creation order.
    pub fn local_posts(&self) -> Vec<GbpLocalPost> {
        let st = self.st();
        (0..st.posts.len()).map(|i| view(&st, i)).collect()
    }

    /// The local post `name` (`accounts/{a}/locations/{l}/localPosts/{p}`).
    pub fn local_post(&self, name: &str) -> Option<GbpLocalPost> {
        self.local_posts().into_iter().find(|p| p.name == name)
    }

    /// Disables `service` (e.g. [`BUSINESS_INFORMATION`]) for the project: every call to it
    /// answers `403 SERVICE_DISABLED`. Panics for an API the fake does not serve.
    pub fn disable_api(&self, service: &str) {
        let s = known_service(service);
        self.st().disabled.insert(s);
    }

    /// Enables `service` again.
    pub fn enable_api(&self, service: &str) {
        let s = known_service(service);
        self.st().disabled.remove(s);
    }

    /// Sets the project's requests-per-minute quota of `service`; 0 refuses every call
    /// (`429 RESOURCE_EXHAUSTED`, as for a project not approved for the APIs). Panics for an
    /// API the fake does not serve.
    pub fn set_quota(&self, service: &str, per_minute: u32) {
        let s = known_service(service);
        self.st().quotas.insert(s, per_minute);
    }

    /// With `on`, every call about `location` (a local post of it, its metrics) answers `429
    /// RESOURCE_EXHAUSTED`, as if its quota were used up; without, lifts it. `location` is
    /// `accounts/{a}/locations/{l}`, `locations/{l}` or the id.
    pub fn throttle_location(&self, location: &str, on: bool) {
        let id = location_id(location).to_owned();
        let mut st = self.st();
        if on {
            st.throttled.insert(id);
        } else {
            st.throttled.remove(&id);
        }
    }

    /// Sets the value of `metric` (one of [`DAILY_METRICS`]) for `location` on `date`.
    /// Panics for another metric.
    pub fn set_daily_metric(&self, location: &str, metric: &str, date: NaiveDate, value: u64) {
        assert!(
            DAILY_METRICS.contains(&metric),
            "GbpFake: {metric} is not a DailyMetric"
        );
        self.st()
            .metrics
            .entry((location_id(location).to_owned(), metric.to_owned()))
            .or_default()
            .insert(date, value);
    }

    /// The Pub/Sub push delivery of a `notification_type` notification about
    /// `location_name` (`accounts/{a}/locations/{l}`) naming `resource` (a review, media
    /// item, question or answer), published now to [`GbpFakeConfig::subscription`]'s topic.
    pub fn push_delivery(
        &self,
        notification_type: &str,
        location_name: &str,
        resource: Option<&str>,
    ) -> GbpPushDelivery {
        let mut st = self.st();
        let message_id = (10_000_000_000_000_000u64 + st.next()).to_string();
        let publish_time = posts::rfc3339_ms(st.now_ms());
        drop(st);
        let data = notification_data(notification_type, location_name, resource).to_string();
        let body = pubsub_push_body(
            &self.config.subscription,
            &message_id,
            &publish_time,
            data.as_bytes(),
            &BTreeMap::new(),
        );
        GbpPushDelivery {
            body,
            message_id,
            publish_time,
            data,
        }
    }

    /// `delivery` as an authenticated push subscription pushes it: a `POST` with
    /// `Content-Type: application/json` and `Authorization: Bearer` a [`PushToken::Good`]
    /// token minted now.
    pub fn push_request(&self, delivery: &GbpPushDelivery) -> postd_core::WebhookRequest {
        self.push_request_with(delivery, PushToken::Good)
    }

    /// [`GbpFake::push_request`] carrying a `variant` token instead.
    pub fn push_request_with(
        &self,
        delivery: &GbpPushDelivery,
        variant: PushToken,
    ) -> postd_core::WebhookRequest {
        push_post(&delivery.body, &self.push_token(variant))
    }

    /// A push token of `variant` ([`PushToken::Good`] is what Pub/Sub sends), stamped by the
    /// fake clock: `iat` is [`GbpFake::now`], `exp` [`PUSH_TOKEN_TTL`] later. A verifier
    /// checks them against its own clock: after [`GbpFake::advance_time`] they are off by
    /// as much.
    pub fn push_token(&self, variant: PushToken) -> String {
        self.st().push_token(variant)
    }

    /// The `kid` of the key that signs push tokens now.
    pub fn push_key_id(&self) -> String {
        self.st().signing_key().kid.clone()
    }

    /// The unique id of [`GbpFakeConfig::push_service_account`]: the `sub` and `azp` of the
    /// push tokens (21 digits, derived from the email).
    pub fn push_service_account_id(&self) -> String {
        push_auth::service_account_id(&self.config.push_service_account)
    }

    /// Google rotates its signing keys: a new key (a new `kid`) signs from now on, and the
    /// JWK set lists it before the previous one, which still verifies the tokens it signed;
    /// the key before that leaves the set. The fake has three keys: panics on a third
    /// rotation.
    pub fn rotate_push_key(&self) {
        let mut st = self.st();
        assert!(
            st.push_key + 1 < push_auth::PUBLISHED.len(),
            "GbpFake: the fake has {} push signing keys; it cannot rotate past the last",
            push_auth::PUBLISHED.len()
        );
        st.push_key += 1;
    }

    /// The JWK set [`JWKS_PATH`] answers now, without counting a fetch.
    pub fn jwks(&self) -> serde_json::Value {
        self.st().jwks()
    }

    /// The URL of the JWK set: [`GbpFake::uri`] and [`JWKS_PATH`] (where a connector's
    /// `https://www.googleapis.com/oauth2/v3/certs` points in tests).
    pub fn jwks_url(&self) -> String {
        format!("{}{JWKS_PATH}", self.server.uri())
    }

    /// How many times the fake served the JWK set (a request a before-commit fault answered
    /// is not counted): for checking that a verifier caches it and re-fetches it for an
    /// unknown `kid`.
    pub fn jwks_fetches(&self) -> u64 {
        self.st().jwks_fetches
    }

    /// Moves the fake clock forward (or back) by `seconds`.
    pub fn advance_time(&self, seconds: i64) {
        self.st().clock_offset += seconds;
    }

    /// The fake clock, unix seconds.
    pub fn now(&self) -> i64 {
        self.st().now()
    }

    /// Every request the fake answered, as `METHOD /path[?query]`, in order.
    pub fn requests(&self) -> Vec<String> {
        self.st().requests.clone()
    }
}

/// A Pub/Sub push `POST` of `body` authenticated with `token`.
fn push_post(body: &[u8], token: &str) -> postd_core::WebhookRequest {
    use postd_core::reqwest::header::{HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    // A JWT is base64url and dots: always a valid header value.
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert("authorization", v);
    }
    postd_core::WebhookRequest::post(headers, body.to_vec())
}

fn view(st: &State, i: usize) -> GbpLocalPost {
    let p = &st.posts[i];
    GbpLocalPost {
        name: format!(
            "accounts/{}/locations/{}/localPosts/{}",
            p.account, p.location, p.id
        ),
        location: format!("accounts/{}/locations/{}", p.account, p.location),
        state: st.state_of(i).to_owned(),
        resource: if p.deleted {
            serde_json::Value::Null
        } else {
            st.post_json(i)
        },
        request: p.request.clone(),
        rejection_reason: p.rejection.clone(),
        created_at: p.create_ms / 1000,
        deleted: p.deleted,
    }
}
