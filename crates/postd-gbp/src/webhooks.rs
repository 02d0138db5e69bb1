//! Business Profile notifications, pushed by Pub/Sub with an OIDC token
//! (<https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions>,
//! <https://cloud.google.com/pubsub/docs/push>,
//! <https://developers.google.com/my-business/reference/notifications/rest/v1/NotificationSetting>).
//!
//! An authenticated push subscription sends `Authorization: Bearer <JWT>`:
//! RS256, signed by one of Google's keys (the JWKS at
//! [`GbpConfig::jwks_url`](crate::GbpConfig::jwks_url), cached for its
//! `Cache-Control: max-age`; a key past it still verifies while the set is
//! fetched again, and an unknown `kid` is fetched for at most once per
//! [`GbpConfig::push_key_refetch_interval`](crate::GbpConfig::push_key_refetch_interval)),
//! `iss` one of [`PUSH_ISSUERS`], `aud` the subscription's audience, `email`
//! its service account with `email_verified`, an `iat` not in the future,
//! and not expired (a minute of leeway). The token
//! authenticates the sender; it does not sign the body. Every check comes
//! before the body is read; a failed one is [`ErrorKind::InvalidSignature`].
//!
//! The body is `{"message": {"data", "messageId", "publishTime", ...},
//! "subscription"}`, `data` the base64 of the notification
//! `{"type", "location" | "locationName" | "location_name", ...}`. A body
//! that does not read after a good token is [`ErrorKind::InvalidContent`]
//! (answer it 2xx all the same: Pub/Sub would deliver it again as is). The
//! event's id is the Pub/Sub `messageId`: Pub/Sub delivers at least once
//! and again until acknowledged (any of 102, 200, 201, 202, 204), so
//! de-duplicate on it for at least the subscription's retention (7 days by
//! default).

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use postd_core::http::{HttpClient, RequestContext};
use postd_core::reqwest::Method;
use postd_core::{Error, ErrorKind, Platform, Result, Retry, WebhookEvent, WebhookRequest};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::api::Api;

/// The issuers Google's OIDC tokens carry.
pub const PUSH_ISSUERS: &[&str] = &["accounts.google.com", "https://accounts.google.com"];

/// The largest push body read (a notification is a few hundred bytes).
pub const MAX_PUSH_BYTES: usize = 256 * 1024;

/// How long keys are kept when the answer gives no `max-age`, and the bounds on one.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);
const MAX_AGE_RANGE: (Duration, Duration) = (Duration::from_secs(60), Duration::from_secs(86_400));

/// The longest JWT taken (Google's are about 1 KiB).
const MAX_TOKEN_BYTES: usize = 8 * 1024;

fn refuse(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidSignature, message.into())
        .with_platform(Platform::Gbp)
        .with_operation("verify_webhook")
}

/// Google's signing keys, by `kid`.
pub(crate) struct PushKeys {
    url: Url,
    refetch_every: Duration,
    state: RwLock<KeyState>,
}

#[derive(Default)]
struct KeyState {
    keys: HashMap<String, DecodingKey>,
    fresh_until: Option<Instant>,
    last_fetch: Option<Instant>,
}

impl fmt::Debug for PushKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.read();
        let mut kids: Vec<&String> = st.keys.keys().collect();
        kids.sort();
        f.debug_struct("PushKeys")
            .field("url", &self.url.as_str())
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: String,
    #[serde(default)]
    kty: String,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    n: String,
    #[serde(default)]
    e: String,
}

fn max_age(cache_control: Option<&str>) -> Duration {
    let secs = cache_control.and_then(|v| {
        v.split(',')
            .filter_map(|d| d.trim().strip_prefix("max-age="))
            .find_map(|s| s.trim().parse::<u64>().ok())
    });
    secs.map_or(DEFAULT_MAX_AGE, |s| {
        Duration::from_secs(s).clamp(MAX_AGE_RANGE.0, MAX_AGE_RANGE.1)
    })
}

impl PushKeys {
    pub(crate) fn new(url: Url, refetch_every: Duration) -> Self {
        PushKeys {
            url,
            refetch_every,
            state: RwLock::new(KeyState::default()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeyState> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeyState> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key `kid`, and whether the set is past its `max-age`. A stale key
    /// still verifies while the set is fetched again (Google publishes keys
    /// before it signs with them and keeps old ones a while), so a failed
    /// fetch does not take the webhook down.
    fn key(&self, kid: &str, now: Instant) -> (Option<DecodingKey>, bool) {
        let st = self.read();
        let stale = st.fresh_until.is_none_or(|t| now >= t);
        (st.keys.get(kid).cloned(), stale)
    }

    /// Whether a fetch may be made now (the keys are stale, or `kid` is
    /// unknown and the last fetch was over a minute ago), and if so marks one
    /// as made: an attacker sending made-up `kid`s causes one fetch a minute.
    fn claim_fetch(&self, kid: Option<&str>, now: Instant) -> bool {
        let mut st = self.write();
        let stale = st.fresh_until.is_none_or(|t| now >= t);
        let unknown = kid.is_some_and(|k| !st.keys.contains_key(k));
        let recent = st
            .last_fetch
            .is_some_and(|t| now.duration_since(t) < self.refetch_every);
        if (stale || unknown) && !recent {
            st.last_fetch = Some(now);
            true
        } else {
            false
        }
    }

    /// `GET` the key set and replace the cache.
    pub(crate) async fn fetch(&self, http: &HttpClient) -> Result<()> {
        let request = http
            .request(Method::GET, self.url.clone())
            .build()
            .map_err(|e| {
                Error::config("could not build the JWKS request").with_source(e.without_url())
            })?;
        let ctx = RequestContext::idempotent(Platform::Gbp, "oidc.jwks");
        let response = http
            .execute(ctx, request, &|status, _h, body| {
                postd_core::http::generic_error(status, body).with_platform(Platform::Gbp)
            })
            .await?;
        let jwks: Jwks = response.json(&ctx)?;
        let mut keys = HashMap::new();
        for k in jwks.keys {
            let rsa = k.kty == "RSA" && k.alg.as_deref().is_none_or(|a| a == "RS256");
            if !rsa || k.kid.is_empty() || k.kid.len() > 128 {
                continue;
            }
            if let Ok(key) = DecodingKey::from_rsa_components(&k.n, &k.e) {
                keys.insert(k.kid, key);
            }
        }
        if keys.is_empty() {
            return Err(
                Error::unexpected("Google's JWKS answer holds no usable RS256 key")
                    .with_platform(Platform::Gbp),
            );
        }
        let age = max_age(response.header("cache-control"));
        let now = Instant::now();
        let mut st = self.write();
        st.keys = keys;
        st.fresh_until = Some(now + age);
        st.last_fetch = Some(now);
        Ok(())
    }
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    iat: Option<i64>,
}

/// The bearer token of `request`, or a refusal.
fn bearer(request: &WebhookRequest) -> Result<&str> {
    let value = request
        .headers
        .get("authorization")
        .ok_or_else(|| refuse("the push carries no Authorization header (is the push subscription authenticated?)"))?
        .to_str()
        .map_err(|_| refuse("the Authorization header is not text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .ok_or_else(|| refuse("the Authorization header is not a Bearer token"))?;
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES || token.split('.').count() != 3 {
        return Err(refuse("the bearer token is not a JWT"));
    }
    Ok(token)
}

/// What a push's token needs: the expected audience and service account.
fn expected(api: &Api) -> Result<(&str, &str)> {
    match (&api.cfg.push_audience, &api.cfg.push_service_account) {
        (Some(a), Some(e)) => Ok((a.as_str(), e.as_str())),
        _ => Err(refuse(
            "no push identity is configured (GBP_PUSH_AUDIENCE and GBP_PUSH_SERVICE_ACCOUNT): every push is refused",
        )),
    }
}

/// Checks the token with `key`.
fn check_token(api: &Api, token: &str, key: &DecodingKey, now: DateTime<Utc>) -> Result<()> {
    let (audience, email) = expected(api)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(PUSH_ISSUERS);
    validation.leeway = 60;
    // Every claim checked is required: jsonwebtoken 9 counts a claim of the
    // wrong JSON type as absent (GHSA-h395-gr6q-cpjc), and required it is refused.
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as J;
        let why = match e.kind() {
            J::InvalidSignature => "its signature does not verify",
            J::ExpiredSignature => "it has expired",
            J::InvalidAudience => "it is for another audience",
            J::InvalidIssuer => "it was not issued by Google",
            J::InvalidAlgorithm => "it is not RS256",
            J::MissingRequiredClaim(_) => "it lacks a required claim",
            J::ImmatureSignature => "it is not valid yet",
            _ => "it does not decode",
        };
        refuse(format!("the push's OIDC token was refused: {why}"))
    })?;
    let claims = data.claims;
    if claims.email.as_deref() != Some(email) {
        return Err(refuse(
            "the push's OIDC token names another service account",
        ));
    }
    let verified = matches!(&claims.email_verified, Some(Value::Bool(true)))
        || matches!(&claims.email_verified, Some(Value::String(s)) if s == "true");
    if !verified {
        return Err(refuse("the push's OIDC token has no verified email"));
    }
    // jsonwebtoken does not check `iat`: Google's tokens carry it.
    match claims.iat {
        None => return Err(refuse("the push's OIDC token has no issue time")),
        Some(iat) if iat > now.timestamp().saturating_add(60) => {
            return Err(refuse("the push's OIDC token was issued in the future"));
        }
        Some(_) => {}
    }
    Ok(())
}

/// The `kid` of an RS256 token, or a refusal.
fn kid_of(token: &str) -> Result<String> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| refuse("the bearer token's header does not decode"))?;
    if header.alg != Algorithm::RS256 {
        return Err(refuse("the push's OIDC token is not RS256"));
    }
    header
        .kid
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .ok_or_else(|| refuse("the push's OIDC token names no key"))
}

enum Check {
    Verified,
    /// Verified with a key of a set past its `max-age`.
    VerifiedStale,
    KeyMissing(String),
}

fn check(
    api: &Api,
    keys: &PushKeys,
    request: &WebhookRequest,
    now: DateTime<Utc>,
) -> Result<Check> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(refuse("a push is a POST"));
    }
    expected(api)?;
    let token = bearer(request)?;
    let kid = kid_of(token)?;
    match keys.key(&kid, Instant::now()) {
        (Some(key), stale) => {
            check_token(api, token, &key, now)?;
            Ok(if stale {
                Check::VerifiedStale
            } else {
                Check::Verified
            })
        }
        (None, _) => Ok(Check::KeyMissing(kid)),
    }
}

/// Fetches the keys in the background when there is a runtime to do it on
/// (the synchronous path cannot wait for them).
fn refresh_in_background(api: &Api, keys: &std::sync::Arc<PushKeys>, kid: Option<&str>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    if !keys.claim_fetch(kid, Instant::now()) {
        return;
    }
    let keys = keys.clone();
    let http = api.http.clone();
    rt.spawn(async move {
        if let Err(e) = keys.fetch(&http).await {
            tracing::warn!(platform = "gbp", kind = %e.kind(), "could not fetch Google's push signing keys");
        }
    });
}

pub(crate) fn verify(
    api: &Api,
    keys: &std::sync::Arc<PushKeys>,
    request: &WebhookRequest,
    now: DateTime<Utc>,
) -> Result<Vec<WebhookEvent>> {
    match check(api, keys, request, now)? {
        Check::Verified => events(api, request),
        Check::VerifiedStale => {
            refresh_in_background(api, keys, None);
            events(api, request)
        }
        Check::KeyMissing(kid) => {
            refresh_in_background(api, keys, Some(&kid));
            Err(Error::new(
                ErrorKind::Unavailable,
                "the push names a signing key not loaded yet; the keys are being fetched: answer 503 and Pub/Sub delivers it again",
            )
            .with_retry(Retry::Temporary {
                after: Some(Duration::from_secs(10)),
            })
            .with_platform(Platform::Gbp)
            .with_operation("verify_webhook"))
        }
    }
}

pub(crate) async fn verify_push(
    api: &Api,
    keys: &PushKeys,
    request: &WebhookRequest,
) -> Result<Vec<WebhookEvent>> {
    match check(api, keys, request, Utc::now())? {
        Check::Verified => events(api, request),
        Check::VerifiedStale => {
            // A failed fetch keeps the stale keys: this push is verified.
            if keys.claim_fetch(None, Instant::now())
                && let Err(e) = keys.fetch(&api.http).await
            {
                tracing::warn!(platform = "gbp", kind = %e.kind(), "could not fetch Google's push signing keys");
            }
            events(api, request)
        }
        Check::KeyMissing(kid) => {
            if keys.claim_fetch(Some(&kid), Instant::now()) {
                keys.fetch(&api.http).await?;
            }
            let token = bearer(request)?;
            let key = keys.key(&kid, Instant::now()).0.ok_or_else(|| {
                refuse("the push's OIDC token names a key Google does not publish")
            })?;
            check_token(api, token, &key, Utc::now())?;
            events(api, request)
        }
    }
}

#[derive(Deserialize)]
struct Push {
    message: Message,
    #[serde(default)]
    subscription: Option<String>,
}

/// A push message. Pub/Sub sends the id and the time in both spellings
/// (`messageId` and `message_id`), so each is its own field.
#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    data: Option<String>,
    #[serde(default, rename = "messageId")]
    message_id: Option<String>,
    #[serde(default, rename = "message_id")]
    message_id_snake: Option<String>,
    #[serde(default, rename = "publishTime")]
    publish_time: Option<String>,
    #[serde(default, rename = "publish_time")]
    publish_time_snake: Option<String>,
}

fn unreadable(message: impl Into<String>) -> Error {
    Error::invalid_content(message)
        .with_platform(Platform::Gbp)
        .with_operation("verify_webhook")
}

/// The events of a verified push: one per message.
fn events(api: &Api, request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    if request.body.len() > MAX_PUSH_BYTES {
        return Err(unreadable(format!(
            "the push body is {} bytes; at most {MAX_PUSH_BYTES} are read",
            request.body.len()
        )));
    }
    let push: Push = serde_json::from_slice(&request.body)
        .map_err(|_| unreadable("the push body is not a Pub/Sub push message"))?;
    // With the subscription configured, a push names it (a token for this
    // audience cannot carry another subscription's messages).
    if let Some(expected) = &api.cfg.push_subscription
        && push.subscription.as_deref() != Some(expected.as_str())
    {
        return Err(refuse("the push names another Pub/Sub subscription"));
    }
    let message = push.message;
    let publish_time = message.publish_time.or(message.publish_time_snake);
    let id = message
        .message_id
        .or(message.message_id_snake)
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or_else(|| unreadable("the push message has no messageId"))?;
    let data = message
        .data
        .ok_or_else(|| unreadable("the push message carries no data"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| unreadable("the push message's data is not base64"))?;
    let notification: Value = serde_json::from_slice(&decoded)
        .map_err(|_| unreadable("the push message's data is not a notification"))?;
    let Some(fields) = notification.as_object() else {
        return Err(unreadable("the push message's data is not a JSON object"));
    };
    let kind = fields
        .get("type")
        .or_else(|| fields.get("notificationType"))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unreadable("the notification has no type"))?;
    let location = ["location", "locationName", "location_name"]
        .iter()
        .find_map(|k| fields.get(*k).and_then(Value::as_str))
        .and_then(|l| l.parse::<crate::LocationName>().ok())
        .map(|l| l.v4());
    let mut event = WebhookEvent::new(
        Platform::Gbp,
        kind.chars().take(64).collect::<String>(),
        serde_json::json!({
            "notification": notification,
            "subscription": push.subscription,
            "publish_time": publish_time,
        }),
    );
    event.id = Some(id);
    event.target_id = location;
    event.occurred_at = publish_time
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(vec![event])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age_is_bounded() {
        assert_eq!(
            max_age(Some("public, max-age=19845, must-revalidate, no-transform")),
            Duration::from_secs(19_845)
        );
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(max_age(Some("max-age=1")), MAX_AGE_RANGE.0);
        assert_eq!(max_age(Some("max-age=99999999999")), MAX_AGE_RANGE.1);
    }

    #[test]
    fn an_unknown_kid_fetches_at_most_once_a_minute() {
        let keys = PushKeys::new(
            Url::parse("https://www.googleapis.com/oauth2/v3/certs").unwrap(),
            Duration::from_secs(60),
        );
        let now = Instant::now();
        assert!(keys.claim_fetch(Some("a"), now));
        assert!(!keys.claim_fetch(Some("b"), now + Duration::from_secs(30)));
        assert!(keys.claim_fetch(Some("c"), now + Duration::from_secs(61)));
    }
}
