//! The pipeline against the Meta and LinkedIn fakes: a SQLite job store and
//! vault in a temp folder, connectors pointed at the fakes with short
//! timeouts, and accounts seeded on the fakes and stored in the vault.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use postd_core::config::Vars;
use postd_core::http::{HttpClient, RetryPolicy};
use postd_core::{ClientRef, Connector, Credentials, Platform, Post, Target, TargetKind, TokenSet};
use postd_engine::{Connectors, DeliveryTarget, Engine, EngineConfig};
use postd_queue::SqliteJobStore;
use postd_testkit::linkedin::LinkedInFake;
use postd_testkit::meta::MetaFake;
use postd_vault::{KeyRing, SqliteStore, TokenVault, VaultConfig};

pub const TENANT: &str = "acme";

pub struct Pipeline {
    pub engine: Engine,
    pub meta: MetaFake,
    pub linkedin: LinkedInFake,
    pub meta_connector: Arc<dyn Connector>,
    pub linkedin_connector: Arc<dyn Connector>,
    pub dir: TempDir,
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
    let dir = TempDir::new(name);
    let db = dir.0.join("postd.db");
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
    let jobs = Arc::new(SqliteJobStore::open(&db).await.unwrap().with_backoff(
        postd_queue::Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(200),
        },
    ));
    let store = Arc::new(SqliteStore::open(&db).await.unwrap());
    let vault = TokenVault::new(
        store,
        KeyRing::from_keys([(1, [7u8; 32])]).unwrap(),
        VaultConfig::default(),
    )
    .await
    .unwrap();
    let engine = Engine::new(jobs, vault, connectors, config);
    Pipeline {
        engine,
        meta,
        linkedin,
        meta_connector,
        linkedin_connector,
        dir,
    }
}

impl Pipeline {
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
