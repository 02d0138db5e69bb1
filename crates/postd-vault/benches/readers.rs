//! Reading a fresh token from the SQLite vault under 8 concurrent readers:
//! p50 and p95 latency of `fresh_credentials` (a read, an open, a refresh-plan
//! check; no refresh is due).
//!
//! ```text
//! cargo bench -p postd-vault --bench readers
//! ```
#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly on bad setup

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use postd_core::refresh::{RefreshPlan, RefreshPolicy};
use postd_core::{
    Capabilities, Connector, Credentials, Platform, RefreshModel, Result, TokenSet, async_trait,
};
use postd_vault::{KeyRing, SqliteStore, TokenVault, VaultConfig};

#[derive(Debug)]
struct PlanOnly;

#[async_trait]
impl Connector for PlanOnly {
    fn platform(&self) -> Platform {
        Platform::LinkedIn
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            implemented: true,
            refresh: RefreshModel::RefreshToken { rotates: false },
            text_only: true,
            links: true,
            ..Capabilities::none(Platform::LinkedIn)
        }
    }
    fn refresh_plan(
        &self,
        credentials: &Credentials,
        _now: chrono::DateTime<Utc>,
    ) -> Result<RefreshPlan> {
        Ok(RefreshPlan::for_credentials(
            credentials,
            RefreshModel::RefreshToken { rotates: false },
            &RefreshPolicy::default(),
        ))
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("postd-vault-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(SqliteStore::open(dir.join("vault.db")).await.unwrap());
        let vault = TokenVault::new(
            store,
            KeyRing::from_keys([(1, [3u8; 32])]).unwrap(),
            VaultConfig::default(),
        )
        .await
        .unwrap();
        let now = Utc::now();
        for i in 0..1000 {
            let creds = Credentials::OAuth(
                TokenSet::new(format!("AQV{}", "t".repeat(400)))
                    .with_refresh_token(format!("AQX{}", "r".repeat(400)))
                    .with_obtained_at(now)
                    .with_expires_at(now + chrono::Duration::days(60))
                    .with_refresh_expires_at(now + chrono::Duration::days(365)),
            );
            vault
                .store(
                    "bench",
                    &format!("acct-{i}"),
                    Platform::LinkedIn,
                    &creds,
                    vec![],
                )
                .await
                .unwrap();
        }
        let connector = Arc::new(PlanOnly);
        let run_for = Duration::from_secs(5);
        let mut tasks = Vec::new();
        for reader in 0..8 {
            let vault = vault.clone();
            let connector = connector.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let deadline = Instant::now() + run_for;
                let mut i = reader;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    vault
                        .fresh_credentials(
                            "bench",
                            &format!("acct-{}", i % 1000),
                            connector.clone(),
                        )
                        .await
                        .unwrap();
                    latencies.push(t.elapsed());
                    i += 8;
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all.sort();
        let pct = |p: f64| all[((all.len() as f64 - 1.0) * p) as usize];
        println!(
            "8 concurrent readers, {} reads in {}s ({:.0} reads/s): p50 {:?}, p95 {:?}, p99 {:?}",
            all.len(),
            run_for.as_secs(),
            all.len() as f64 / run_for.as_secs_f64(),
            pct(0.50),
            pct(0.95),
            pct(0.99)
        );
        std::fs::remove_dir_all(&dir).ok();
    });
}
