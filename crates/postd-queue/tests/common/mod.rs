//! Test harness: a fresh store per test, on a temporary SQLite file or in a
//! Postgres schema of its own, with a clock the test moves.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_queue::{Backoff, JobStore, ManualClock, SqliteJobStore};
use sqlx::AssertSqlSafe;

mod v1;

/// The backoff every test store uses: bound 2 s after attempt 1, at most 10 s.
pub const BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    max: Duration::from_secs(10),
};

/// Which database a harness runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Removes what a test created, even when the test panics.
enum Cleanup {
    File(PathBuf),
    #[cfg(feature = "postgres")]
    Schema(String),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            #[cfg(feature = "postgres")]
            Cleanup::Schema(schema) => {
                let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                // Drop may run on a runtime thread (or while unwinding), so
                // the cleanup gets a thread and a runtime of its own.
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    rt.block_on(async {
                        let pool = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
                        sqlx::raw_sql(AssertSqlSafe(sql))
                            .execute(&pool)
                            .await
                            .unwrap();
                        pool.close().await;
                    });
                })
                .join()
                .unwrap();
            }
        }
    }
}

pub struct Harness {
    pub store: Arc<dyn JobStore>,
    pub clock: Arc<ManualClock>,
    pub backend: Backend,
    raw: Raw,
    place: String,
    // Last: dropped after the pools above.
    _cleanup: Cleanup,
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

/// A clock at a whole millisecond, as the stores keep time.
fn start_clock() -> Arc<ManualClock> {
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    Arc::new(ManualClock::new(now))
}

pub fn postgres_url() -> String {
    std::env::var("POSTD_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl Harness {
    pub async fn sqlite() -> Harness {
        let path = std::env::temp_dir().join(format!("{}.db", unique("postd_queue_test")));
        let clock = start_clock();
        let store = SqliteJobStore::open(&path)
            .await
            .unwrap()
            .with_clock(clock.clone())
            .with_backoff(BACKOFF);
        Harness {
            raw: Raw::Sqlite(store.pool().clone()),
            store: Arc::new(store),
            clock,
            backend: Backend::Sqlite,
            place: path.to_string_lossy().into_owned(),
            _cleanup: Cleanup::File(path),
        }
    }

    #[cfg(feature = "postgres")]
    pub async fn postgres() -> Harness {
        let schema = unique("postd_queue_test");
        let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let cleanup = Cleanup::Schema(schema.clone());
        let clock = start_clock();
        let store = postgres_store(&schema, clock.clone()).await;
        Harness {
            raw: Raw::Postgres(store.pool().clone()),
            store: Arc::new(store),
            clock,
            backend: Backend::Postgres,
            place: schema,
            _cleanup: cleanup,
        }
    }

    /// A store opened on a database that version 1 of the schema created
    /// (its migration verbatim, its version recorded as a version-1 store
    /// records it) after `seed` ran against it: the upgrade happens as the
    /// store opens, as it would on a host running the new release.
    pub async fn upgraded_from_v1(backend: Backend, seed: &str) -> Harness {
        let clock = start_clock();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", unique("postd_queue_v1")));
                let cleanup = Cleanup::File(path.clone());
                let old = sqlx::sqlite::SqlitePool::connect_with(
                    sqlx::sqlite::SqliteConnectOptions::new()
                        .filename(&path)
                        .create_if_missing(true),
                )
                .await
                .unwrap();
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "CREATE TABLE IF NOT EXISTS postd_jobs_schema (version INTEGER PRIMARY KEY);
                     {}; INSERT INTO postd_jobs_schema (version) VALUES (1); {seed}",
                    v1::SQLITE
                )))
                .execute(&old)
                .await
                .unwrap();
                old.close().await;
                let store = SqliteJobStore::open(&path)
                    .await
                    .unwrap()
                    .with_clock(clock.clone())
                    .with_backoff(BACKOFF);
                Harness {
                    raw: Raw::Sqlite(store.pool().clone()),
                    store: Arc::new(store),
                    clock,
                    backend,
                    place: path.to_string_lossy().into_owned(),
                    _cleanup: cleanup,
                }
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                use std::str::FromStr;
                let schema = unique("postd_queue_v1");
                let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&admin)
                    .await
                    .unwrap();
                admin.close().await;
                let cleanup = Cleanup::Schema(schema.clone());
                let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_url())
                    .unwrap()
                    .options([("search_path", schema.as_str())]);
                let old = sqlx::PgPool::connect_with(options).await.unwrap();
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "CREATE TABLE IF NOT EXISTS postd_jobs_schema (version BIGINT PRIMARY KEY);
                     {}; INSERT INTO postd_jobs_schema (version) VALUES (1); {seed}",
                    v1::POSTGRES
                )))
                .execute(&old)
                .await
                .unwrap();
                old.close().await;
                let store = postgres_store(&schema, clock.clone()).await;
                Harness {
                    raw: Raw::Postgres(store.pool().clone()),
                    store: Arc::new(store),
                    clock,
                    backend,
                    place: schema,
                    _cleanup: cleanup,
                }
            }
            #[cfg(not(feature = "postgres"))]
            Backend::Postgres => unreachable!(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        use postd_queue::Clock;
        self.clock.now()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// A second, independent store instance (its own pool) on the same
    /// database, as another process would have.
    pub async fn another_store(&self) -> Arc<dyn JobStore> {
        match self.backend {
            Backend::Sqlite => Arc::new(
                SqliteJobStore::open(&self.place)
                    .await
                    .unwrap()
                    .with_clock(self.clock.clone())
                    .with_backoff(BACKOFF),
            ),
            #[cfg(feature = "postgres")]
            Backend::Postgres => Arc::new(postgres_store(&self.place, self.clock.clone()).await),
            #[cfg(not(feature = "postgres"))]
            Backend::Postgres => unreachable!(),
        }
    }

    /// Runs raw SQL against the store's tables (to corrupt rows, analyze).
    pub async fn exec(&self, sql: &str) {
        match &self.raw {
            Raw::Sqlite(pool) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(pool)
                    .await
                    .unwrap();
            }
            #[cfg(feature = "postgres")]
            Raw::Postgres(pool) => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }

    /// One text value from raw SQL.
    pub async fn text(&self, sql: &str) -> Option<String> {
        match &self.raw {
            Raw::Sqlite(pool) => sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
                .fetch_one(pool)
                .await
                .unwrap(),
            #[cfg(feature = "postgres")]
            Raw::Postgres(pool) => sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
                .fetch_one(pool)
                .await
                .unwrap(),
        }
    }
}

#[cfg(feature = "postgres")]
async fn postgres_store(schema: &str, clock: Arc<ManualClock>) -> postd_queue::PostgresJobStore {
    use std::str::FromStr;
    // The schema is every connection's search_path from the start, so the
    // store (and its LISTEN connection) never touch another test's tables.
    let options = sqlx::postgres::PgConnectOptions::from_str(&postgres_url())
        .unwrap()
        .options([("search_path", schema)]);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .unwrap();
    postd_queue::PostgresJobStore::from_pool(pool)
        .await
        .unwrap()
        .with_clock(clock)
        .with_backoff(BACKOFF)
}
