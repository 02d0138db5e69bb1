//! The pipeline against the Meta and LinkedIn fakes: a job store and vault
//! (SQLite in a temp folder, or a Postgres schema of its own), connectors
//! pointed at the fakes with short timeouts, and accounts seeded on the fakes
//! and stored in the vault.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::{HttpClient, RetryPolicy};
use postd_core::{ClientRef, Connector, Credentials, Platform, Post, Target, TargetKind, TokenSet};
use postd_engine::{Connectors, DeliveryTarget, Engine, EngineConfig};
use postd_queue::{JobStore, SqliteJobStore};
use postd_testkit::linkedin::LinkedInFake;
use postd_testkit::meta::MetaFake;
use postd_vault::{KeyRing, SqliteStore, TokenStore, TokenVault, VaultConfig};

pub const TENANT: &str = "acme";

pub struct Pipeline {
    pub engine: Engine,
    pub meta: MetaFake,
    pub linkedin: LinkedInFake,
    pub meta_connector: Arc<dyn Connector>,
    pub linkedin_connector: Arc<dyn Connector>,
    pub dir: TempDir,
    backend: Backend,
    connectors: Connectors,
    config: EngineConfig,
}

/// Where the jobs and the vault live.
pub enum Backend {
    /// One SQLite file in the pipeline's temp folder.
    Sqlite,
    /// A fresh schema in `POSTD_TEST_DATABASE_URL`, dropped at the end.
    #[cfg(feature = "postgres")]
    Postgres(PgSchema),
}

/// A Postgres schema made for one test; dropped (with everything in it) on drop.
#[cfg(feature = "postgres")]
pub struct PgSchema {
    pub url: String,
    admin_url: String,
    name: String,
}

#[cfg(feature = "postgres")]
impl PgSchema {
    pub async fn create(prefix: &str) -> PgSchema {
        let admin_url = std::env::var("POSTD_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let name = format!("postd_{prefix}_{:08x}", rand::random::<u32>());
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{sep}options=-c%20search_path%3D{name}");
        PgSchema {
            url,
            admin_url,
            name,
        }
    }
}

#[cfg(feature = "postgres")]
impl Drop for PgSchema {
    fn drop(&mut self) {
        // Drop runs outside any runtime guarantee: a blocking thread of its own.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP SCHEMA IF EXISTS {name} CASCADE"
                    )))
                    .execute(&admin)
                    .await;
                }
            });
        })
        .join();
    }
}

pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "postd-engine-{name}-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn http() -> HttpClient {
    HttpClient::builder()
        .request_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_secs(2))
        .retry(
            RetryPolicy::default()
                .with_max_retries(1)
                .with_backoff(Duration::from_millis(5), Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

pub fn fast_config() -> EngineConfig {
    EngineConfig::default()
        .with_concurrency(8)
        .with_lease(Duration::from_secs(5))
        .with_idle_poll(Duration::from_millis(20))
        .with_settle_wait(Duration::from_millis(50))
        .with_retry_backoff(Duration::from_millis(10), Duration::from_millis(50))
        .with_shutdown_grace(Duration::from_secs(5))
}

pub async fn pipeline(name: &str) -> Pipeline {
    pipeline_with(name, fast_config(), |c| c).await
}

pub async fn pipeline_with(
    name: &str,
    config: EngineConfig,
    wrap: impl Fn(Arc<dyn Connector>) -> Arc<dyn Connector>,
) -> Pipeline {
    pipeline_on(name, Backend::Sqlite, config, wrap).await
}

pub async fn pipeline_on(
    name: &str,
    backend: Backend,
    config: EngineConfig,
    wrap: impl Fn(Arc<dyn Connector>) -> Arc<dyn Connector>,
) -> Pipeline {
    let dir = TempDir::new(name);
    let meta = MetaFake::start().await;
    let linkedin = LinkedInFake::start().await;
    let meta_cfg = postd_meta::MetaConfig::from_vars(&Vars::from_pairs([
        ("META_CLIENT_ID", meta.app_id()),
        ("META_CLIENT_SECRET", meta.app_secret()),
    ]))
    .unwrap()
    .with_base_url(meta.url())
    .with_polling(
        Duration::from_millis(200),
        Duration::from_millis(10),
        Duration::from_millis(40),
    );
    let li_cfg = postd_linkedin::LinkedInConfig::from_vars(&Vars::from_pairs([
        ("LINKEDIN_CLIENT_ID", linkedin.client_id()),
        ("LINKEDIN_CLIENT_SECRET", linkedin.client_secret()),
    ]))
    .unwrap()
    .with_base_url(linkedin.url())
    .with_polling(
        Duration::from_millis(200),
        Duration::from_millis(10),
        Duration::from_millis(40),
    );
    let meta_connector = wrap(Arc::new(postd_core::telemetry::Instrumented::new(
        meta_cfg.build(http()),
    )));
    let linkedin_connector = wrap(Arc::new(postd_core::telemetry::Instrumented::new(
        li_cfg.build(http()),
    )));
    let connectors = Connectors::new()
        .with(Platform::Meta, "default", Arc::clone(&meta_connector))
        .with(
            Platform::LinkedIn,
            "default",
            Arc::clone(&linkedin_connector),
        );
    let engine = open_engine(&dir, &backend, connectors.clone(), config.clone()).await;
    Pipeline {
        engine,
        meta,
        linkedin,
        meta_connector,
        linkedin_connector,
        dir,
        backend,
        connectors,
        config,
    }
}

/// An engine with its own connections to the pipeline's database: what a
/// second worker process sees.
async fn open_engine(
    dir: &TempDir,
    backend: &Backend,
    connectors: Connectors,
    config: EngineConfig,
) -> Engine {
    let backoff = postd_queue::Backoff {
        base: Duration::from_millis(10),
        max: Duration::from_millis(200),
    };
    let (jobs, store): (Arc<dyn JobStore>, Arc<dyn TokenStore>) = match backend {
        Backend::Sqlite => {
            let db = dir.0.join("postd.db");
            (
                Arc::new(
                    SqliteJobStore::open(&db)
                        .await
                        .unwrap()
                        .with_backoff(backoff),
                ),
                Arc::new(SqliteStore::open(&db).await.unwrap()),
            )
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres(schema) => (
            Arc::new(
                postd_queue::PostgresJobStore::connect(&schema.url)
                    .await
                    .unwrap()
                    .with_backoff(backoff),
            ),
            postd_vault::open_url(&schema.url).await.unwrap(),
        ),
    };
    let vault = TokenVault::new(
        store,
        KeyRing::from_keys([(1, [7u8; 32])]).unwrap(),
        VaultConfig::default(),
    )
    .await
    .unwrap();
    Engine::new(jobs, vault, connectors, config)
}

impl Pipeline {
    /// Another engine on the same database, fakes and connectors.
    pub async fn another_engine(&self) -> Engine {
        open_engine(
            &self.dir,
            &self.backend,
            self.connectors.clone(),
            self.config.clone(),
        )
        .await
    }

    /// A Facebook Page (with its Instagram account) stored as `account`.
    pub async fn meta_account(&self, account: &str, n: u32) -> (Target, Target) {
        let user = format!("{}", 10_000 + n);
        let page = format!("{}", 20_000 + n);
        let ig = format!("{}", 17_841_400_000_000_000u64 + u64::from(n));
        let user_token = self.meta.seed_user(
            &user,
            "Ada",
            &[
                "pages_show_list",
                "pages_read_engagement",
                "pages_manage_posts",
                "instagram_basic",
                "instagram_content_publish",
            ],
        );
        let page_token = self.meta.seed_page(&user, &page, "Bakery", Some(&ig));
        let creds = Credentials::OAuth(
            TokenSet::new(user_token.as_str())
                .with_derived(page.as_str(), page_token.as_str())
                .with_derived(ig.as_str(), page_token.as_str())
                .with_expires_at(chrono::Utc::now() + chrono::Duration::days(50)),
        );
        let page_t = Target::new(TargetKind::FacebookPage, &page);
        let ig_t = Target::new(TargetKind::InstagramAccount, &ig).with_parent(&page);
        self.engine
            .vault()
            .store(
                TENANT,
                account,
                Platform::Meta,
                &creds,
                vec![page_t.clone(), ig_t.clone()],
            )
            .await
            .unwrap();
        (page_t, ig_t)
    }

    /// A LinkedIn member stored as `account`.
    pub async fn linkedin_account(&self, account: &str, n: u32) -> Target {
        let sub = format!("member{n}");
        let token = self.linkedin.seed_member(
            &sub,
            "Ada",
            &["openid", "profile", "w_member_social", "r_member_social"],
        );
        let creds = Credentials::OAuth(
            TokenSet::new(token.as_str())
                .with_scopes(["openid", "profile", "w_member_social", "r_member_social"])
                .with_expires_at(chrono::Utc::now() + chrono::Duration::days(50)),
        );
        let target = Target::new(TargetKind::LinkedInPerson, format!("urn:li:person:{sub}"));
        self.engine
            .vault()
            .store(
                TENANT,
                account,
                Platform::LinkedIn,
                &creds,
                vec![target.clone()],
            )
            .await
            .unwrap();
        target
    }
}

pub fn post(r: &str, text: &str) -> Post {
    Post::new(ClientRef::new(r).unwrap()).with_text(text)
}

pub fn to(account: &str, target: &Target) -> DeliveryTarget {
    DeliveryTarget::new(TENANT, account, target.clone())
}
