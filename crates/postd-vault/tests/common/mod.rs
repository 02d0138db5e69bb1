//! Shared test support: stores of every kind, a key ring, and a connector
//! whose refresh calls a stateful OAuth token endpoint that rotates refresh tokens.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use postd_core::http::{HttpClient, RetryPolicy};
use postd_core::oauth::OAuthClient;
use postd_core::refresh::{RefreshPlan, RefreshPolicy};
use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{
    AuthKind, Capabilities, Connector, Credentials, Health, HealthStatus, Platform, RefreshModel,
    Result, TokenSet, async_trait,
};
use postd_vault::{KeyRing, MemoryStore, SqliteStore, TokenStore};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub fn keys(ids: &[u32]) -> KeyRing {
    KeyRing::from_keys(ids.iter().map(|id| (*id, [*id as u8; 32]))).unwrap()
}

pub fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("postd-vault-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}-{}.db", rand_suffix()))
}

pub fn rand_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:016x}", h.finish())
}

/// The Postgres URL tests use (`.ci/run` sets it; the machine's local server otherwise).
pub fn postgres_url() -> String {
    std::env::var("POSTD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A tenant name no other test run uses (Postgres is shared).
pub fn tenant(name: &str) -> String {
    format!("{name}-{}", rand_suffix())
}

pub async fn memory() -> Arc<dyn TokenStore> {
    Arc::new(MemoryStore::new())
}

pub async fn sqlite(path: &std::path::Path) -> Arc<dyn TokenStore> {
    Arc::new(SqliteStore::open(path).await.unwrap())
}

#[cfg(feature = "postgres")]
pub async fn postgres() -> Arc<dyn TokenStore> {
    Arc::new(
        postd_vault::PostgresStore::connect(&postgres_url())
            .await
            .unwrap(),
    )
}

/// The token endpoint: rotates refresh tokens; an old one gets `invalid_grant`.
#[derive(Clone, Default)]
pub struct TokenEndpoint {
    pub calls: Arc<AtomicUsize>,
    pub current_refresh: Arc<Mutex<String>>,
    /// Apply the next refresh, then answer too late (the answer is lost).
    pub lose_next_answer: Arc<AtomicBool>,
    /// Answer the next refresh with a 503 (nothing applied).
    pub fail_next: Arc<AtomicUsize>,
    /// Answer every refresh `200` with `{"error":"invalid_grant"}`, as some platforms do.
    pub invalid_grant_with_200: Arc<AtomicBool>,
    pub issued: Arc<AtomicUsize>,
    /// Apply every refresh at once but answer this late, as a slow platform does.
    pub answer_delay: Arc<Mutex<Duration>>,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.invalid_grant_with_200.load(Ordering::SeqCst) {
            return ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"error": "invalid_grant", "error_description": "refresh token revoked"}));
        }
        if self.fail_next.load(Ordering::SeqCst) > 0 {
            self.fail_next.fetch_sub(1, Ordering::SeqCst);
            return ResponseTemplate::new(503)
                .set_body_json(serde_json::json!({"error": "temporarily_unavailable"}));
        }
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        let mut current = self.current_refresh.lock().unwrap();
        if form.get("refresh_token") != Some(&*current) {
            return ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_grant", "error_description": "refresh token is not valid"}));
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        *current = format!("refresh-{n}");
        let body = serde_json::json!({
            "access_token": format!("access-{n}"),
            "token_type": "bearer",
            "expires_in": 3600,
            "refresh_token": format!("refresh-{n}"),
            "refresh_token_expires_in": 86400 * 180,
        });
        let t = ResponseTemplate::new(200).set_body_json(body);
        let delay = *self.answer_delay.lock().unwrap();
        if self.lose_next_answer.swap(false, Ordering::SeqCst) {
            t.set_delay(Duration::from_secs(3))
        } else if !delay.is_zero() {
            t.set_delay(delay)
        } else {
            t
        }
    }
}

pub async fn token_endpoint(first_refresh: &str) -> (MockServer, TokenEndpoint) {
    let server = MockServer::start().await;
    let endpoint = TokenEndpoint::default();
    *endpoint.current_refresh.lock().unwrap() = first_refresh.to_owned();
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(endpoint.clone())
        .mount(&server)
        .await;
    (server, endpoint)
}

/// A connector with a real OAuth refresh against the endpoint above.
#[derive(Debug)]
pub struct TestConnector {
    pub oauth: OAuthClient,
    pub http: HttpClient,
    pub healthy: Arc<AtomicBool>,
    /// Say a refresh is due however fresh the token is.
    pub always_due: Arc<AtomicBool>,
}

impl TestConnector {
    pub fn new(server: &MockServer) -> Self {
        let token_url = url::Url::parse(&format!("{}/token", server.uri())).unwrap();
        TestConnector {
            oauth: OAuthClient::new(Platform::TikTok, token_url.clone(), token_url, "client")
                .with_client_secret(SecretString::from("client-secret")),
            http: HttpClient::builder()
                .request_timeout(Duration::from_millis(800))
                .retry(RetryPolicy::none())
                .build()
                .unwrap(),
            healthy: Arc::new(AtomicBool::new(true)),
            always_due: Arc::new(AtomicBool::new(false)),
        }
    }
}

#[async_trait]
impl Connector for TestConnector {
    fn platform(&self) -> Platform {
        Platform::TikTok
    }

    fn capabilities(&self) -> Capabilities {
        test_capabilities()
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        let t = credentials.token_set(Platform::TikTok)?;
        let refresh = t.refresh_token.clone().ok_or_else(|| {
            postd_core::Error::new(postd_core::ErrorKind::ReauthRequired, "no refresh token")
        })?;
        let fresh = self
            .oauth
            .refresh(&self.http, &refresh)
            .await?
            .into_token_set(Utc::now());
        Ok(Credentials::OAuth(t.merge_refreshed(fresh)))
    }

    fn refresh_plan(
        &self,
        credentials: &Credentials,
        now: chrono::DateTime<Utc>,
    ) -> Result<RefreshPlan> {
        let mut plan = rotating_plan(credentials);
        if self.always_due.load(Ordering::SeqCst) {
            plan.refresh_at = Some(now);
        }
        Ok(plan)
    }

    async fn health_check(&self, credentials: &Credentials) -> Result<Health> {
        let t = credentials.token_set(Platform::TikTok)?;
        let mut h = Health::healthy(Utc::now());
        h.expires_at = t.expires_at;
        if !self.healthy.load(Ordering::SeqCst) {
            h.status = HealthStatus::Unhealthy;
            h.token_valid = false;
        }
        Ok(h)
    }
}

/// Credentials whose access token expired a minute ago.
pub fn expired(access: &str, refresh: &str) -> Credentials {
    let now = Utc::now();
    Credentials::OAuth(
        TokenSet::new(access)
            .with_refresh_token(refresh)
            .with_obtained_at(now - chrono::Duration::hours(2))
            .with_expires_at(now - chrono::Duration::minutes(1))
            .with_refresh_expires_at(now + chrono::Duration::days(100)),
    )
}

pub fn access_of(c: &Credentials) -> String {
    match c {
        Credentials::OAuth(t) => t.access_token.expose_secret().to_owned(),
        _ => panic!("not OAuth"),
    }
}

pub fn refresh_of(c: &Credentials) -> Option<String> {
    match c {
        Credentials::OAuth(t) => t
            .refresh_token
            .as_ref()
            .map(|r| r.expose_secret().to_owned()),
        _ => panic!("not OAuth"),
    }
}

/// What the test connectors say they can do: a TikTok-like OAuth platform with rotating refresh tokens.
pub fn test_capabilities() -> Capabilities {
    Capabilities {
        implemented: true,
        auth: AuthKind::OAuth2 { pkce: true },
        refresh: RefreshModel::RefreshToken { rotates: true },
        text_max_chars: Some(100),
        text_only: true,
        links: true,
        ..Capabilities::none(Platform::TikTok)
    }
}

/// A connector whose refresh is scripted: it can be slow, fail with a kind,
/// and otherwise issues `access-N`/`refresh-N`, keeping the refresh token's
/// deadline (as LinkedIn does).
#[derive(Debug, Default)]
pub struct ScriptConnector {
    pub calls: AtomicUsize,
    pub delay: Mutex<Duration>,
    pub fail_with: Mutex<Option<postd_core::ErrorKind>>,
}

impl ScriptConnector {
    pub fn slow(delay: Duration) -> Self {
        let c = ScriptConnector::default();
        *c.delay.lock().unwrap() = delay;
        c
    }
}

#[async_trait]
impl Connector for ScriptConnector {
    fn platform(&self) -> Platform {
        Platform::TikTok
    }

    fn capabilities(&self) -> Capabilities {
        test_capabilities()
    }

    async fn refresh(&self, credentials: &Credentials) -> Result<Credentials> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let delay = *self.delay.lock().unwrap();
        tokio::time::sleep(delay).await;
        if let Some(kind) = *self.fail_with.lock().unwrap() {
            return Err(postd_core::Error::new(kind, "scripted failure"));
        }
        let t = credentials.token_set(Platform::TikTok)?;
        let now = Utc::now();
        let fresh = TokenSet::new(format!("access-{n}"))
            .with_refresh_token(format!("refresh-{n}"))
            .with_obtained_at(now)
            .with_expires_at(now + chrono::Duration::hours(1));
        Ok(Credentials::OAuth(t.merge_refreshed(fresh)))
    }

    fn refresh_plan(
        &self,
        credentials: &Credentials,
        _now: chrono::DateTime<Utc>,
    ) -> Result<RefreshPlan> {
        Ok(rotating_plan(credentials))
    }
}

/// The plan of a platform with rotating refresh tokens and default margins.
pub fn rotating_plan(credentials: &Credentials) -> RefreshPlan {
    RefreshPlan::for_credentials(
        credentials,
        RefreshModel::RefreshToken { rotates: true },
        &RefreshPolicy::default(),
    )
}

/// Account `t`/`a` with an expired access token and refresh token `refresh-0`.
pub async fn store_expired(v: &postd_vault::TokenVault) {
    v.store(
        "t",
        "a",
        Platform::TikTok,
        &expired("access-0", "refresh-0"),
        vec![],
    )
    .await
    .unwrap();
}

/// The kinds of the events received so far.
pub fn drain(
    rx: &mut tokio::sync::broadcast::Receiver<postd_vault::VaultEvent>,
) -> Vec<postd_vault::VaultEventKind> {
    let mut out = Vec::new();
    while let Ok(e) = rx.try_recv() {
        out.push(e.kind);
    }
    out
}
