//! The database, the vault, the connectors and the engine, from the global
//! flags and the environment.
//!
//! - `--database URL` (env `POSTD_DATABASE_URL`, default `sqlite://postd.db`):
//!   the job queue, and the vault unless `POSTD_VAULT_DATABASE_URL` names
//!   another. `sqlite://PATH` (a bare path works too) or, when built with the
//!   `postgres` feature, `postgres://...`.
//! - `POSTD_VAULT_KEYS`: the vault's keys; without one nothing starts.
//! - Connectors: the default app's from the variables of `.env.example`
//!   (`ConnectorManager::from_env`); another app `NAME`'s from the same
//!   variables prefixed with `POSTD_APP_NAME_` (`POSTD_APP_STAGING_META_CLIENT_ID`, ...).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::ArgAction;
use postd_core::config::Vars;
use postd_engine::{Connectors, Engine, EngineConfig};
use postd_manager::ConnectorManager;
use postd_queue::{Backoff, JobStore};
use postd_vault::{DEFAULT_APP, KEYS_VAR, KeyRing, ListFilter, TokenVault, VaultConfig};

use crate::error::{CliError, Result};

/// The environment variable naming the vault's own database.
const VAULT_DATABASE_VAR: &str = "POSTD_VAULT_DATABASE_URL";

/// Flags every command takes.
#[derive(clap::Args, Debug)]
pub(crate) struct Global {
    /// The database of jobs and accounts: sqlite://PATH, or postgres://USER@HOST/DB when built
    /// with the `postgres` feature. The vault uses it too unless POSTD_VAULT_DATABASE_URL is set.
    #[arg(
        long,
        global = true,
        env = "POSTD_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://postd.db",
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub(crate) database: String,

    /// Print JSON on stdout instead of tables, for scripts.
    #[arg(long, global = true, help_heading = "Global options")]
    pub(crate) json: bool,

    /// Log what the engine and connectors do on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Global options")]
    pub(crate) verbose: u8,

    /// Threads the process runs on. One (the default) is the fastest for a
    /// worker on a small machine: its work is waiting on the network and the
    /// database, and hand-offs between threads cost more than they give
    /// (measured: twice the queue throughput on 2 cores). To use more cores,
    /// run more worker processes, or raise this.
    #[arg(
        long,
        global = true,
        env = "POSTD_THREADS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..=1024),
        value_name = "N",
        help_heading = "Global options"
    )]
    pub(crate) threads: u16,
}

/// Where the database is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Database {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A Postgres URL.
    Postgres(String),
}

impl Database {
    /// Reads `--database`.
    pub(crate) fn parse(url: &str) -> Result<Database> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_owned()));
        }
        let path = match url.strip_prefix("sqlite:") {
            Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
            None if url.contains("://") => {
                return Err(CliError::new(format!(
                    "--database must be sqlite://PATH or postgres://...; got a {} URL",
                    url.split("://").next().unwrap_or("")
                )));
            }
            None => url,
        };
        let path = path.split('?').next().unwrap_or("");
        if path.is_empty() || path == ":memory:" {
            return Err(CliError::new(
                "--database needs a SQLite file (sqlite://postd.db): an in-memory database would end with the command",
            ));
        }
        Ok(Database::Sqlite(PathBuf::from(path)))
    }
}

/// Whether a command may create the database, or needs one that exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Open {
    /// Create it if missing (connect, schedule, worker).
    Create,
    /// It must exist (the read and fix-up commands).
    Existing,
}

/// The opened stores.
#[derive(Debug)]
pub(crate) struct Stores {
    pub(crate) jobs: Arc<dyn JobStore>,
    pub(crate) vault: TokenVault,
}

impl Stores {
    /// The engine over these stores.
    pub(crate) fn engine(self, connectors: Connectors, config: EngineConfig) -> Engine {
        Engine::new(self.jobs, self.vault, connectors, config)
    }
}

/// The vault's keys, or the one-line error saying how to set them.
pub(crate) fn keys() -> Result<KeyRing> {
    match std::env::var_os(KEYS_VAR) {
        None => Err(CliError::new(format!(
            "{KEYS_VAR} is not set: the vault needs a key to open the stored tokens; \
             set it to id:base64key, e.g. export {KEYS_VAR}=1:$(openssl rand -base64 32), and keep it safe"
        ))),
        Some(_) => KeyRing::from_env().map_err(|e| {
            CliError::new(format!(
                "{}; set {KEYS_VAR} to id:base64key (32 random bytes), e.g. 1:$(openssl rand -base64 32)",
                e.message()
            ))
        }),
    }
}

/// Opens the vault (keys first: no key, no start).
pub(crate) async fn vault(global: &Global, open: Open) -> Result<TokenVault> {
    let keys = keys()?;
    let db = Database::parse(&global.database)?;
    #[cfg(not(feature = "postgres"))]
    if matches!(db, Database::Postgres(_)) {
        return Err(CliError::new(NO_POSTGRES));
    }
    let store = match std::env::var(VAULT_DATABASE_VAR) {
        Ok(url) if !url.trim().is_empty() => postd_vault::open_url(url.trim()).await,
        _ => match db {
            Database::Sqlite(path) => {
                require_file(&path, open)?;
                postd_vault::SqliteStore::open(&path)
                    .await
                    .map(|s| Arc::new(s) as Arc<dyn postd_vault::TokenStore>)
            }
            Database::Postgres(url) => postd_vault::open_url(&url).await,
        },
    }
    .map_err(|e| {
        CliError::from_postd(
            &e,
            Some(
                "check --database (or POSTD_VAULT_DATABASE_URL) and that the database is reachable",
            ),
        )
    })?;
    TokenVault::new(store, keys, VaultConfig::default())
        .await
        .map_err(|e| CliError::from_postd(&e, None))
}

/// Opens the job store and the vault.
pub(crate) async fn stores(
    global: &Global,
    open: Open,
    backoff: Option<Backoff>,
) -> Result<Stores> {
    let vault = vault(global, open).await?;
    let jobs = job_store(&Database::parse(&global.database)?, open, backoff).await?;
    Ok(Stores { jobs, vault })
}

#[cfg(not(feature = "postgres"))]
const NO_POSTGRES: &str = "this postd was built without Postgres; use sqlite://PATH or build postd-cli with --features postgres";

async fn job_store(
    db: &Database,
    open: Open,
    backoff: Option<Backoff>,
) -> Result<Arc<dyn JobStore>> {
    let unreachable = |e: postd_queue::QueueError| {
        CliError::new(format!(
            "cannot open the job database: {e}; check --database and that the database is reachable"
        ))
    };
    match db {
        Database::Sqlite(path) => {
            require_file(path, open)?;
            let store = postd_queue::SqliteJobStore::open(path)
                .await
                .map_err(unreachable)?;
            Ok(Arc::new(match backoff {
                Some(b) => store.with_backoff(b),
                None => store,
            }))
        }
        #[cfg(feature = "postgres")]
        Database::Postgres(url) => {
            let store = postd_queue::PostgresJobStore::connect(url)
                .await
                .map_err(unreachable)?;
            Ok(Arc::new(match backoff {
                Some(b) => store.with_backoff(b),
                None => store,
            }))
        }
        #[cfg(not(feature = "postgres"))]
        Database::Postgres(_) => Err(CliError::new(NO_POSTGRES)),
    }
}

fn require_file(path: &std::path::Path, open: Open) -> Result<()> {
    if open == Open::Existing && !path.exists() {
        return Err(CliError::new(format!(
            "no database at {}; pass --database (or set POSTD_DATABASE_URL) to the one postd connect and postd schedule use",
            path.display()
        )));
    }
    Ok(())
}

/// The environment prefix of an app's variables (`POSTD_APP_STAGING_` for `staging`).
pub(crate) fn app_prefix(app: &str) -> String {
    let name: String = app
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("POSTD_APP_{name}_")
}

/// The connector manager of `app`: the default app's from the plain variables,
/// another's from the variables with its prefix.
pub(crate) fn manager(app: &str) -> Result<ConnectorManager> {
    let built = if app == DEFAULT_APP {
        ConnectorManager::from_env()
    } else {
        let prefix = app_prefix(app);
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                let name = k.strip_prefix(&prefix)?.to_owned();
                Some((name, v.into_string().ok()?))
            })
            .collect();
        ConnectorManager::builder()
            .vars(Vars::from_pairs(vars))
            .build()
    };
    built.map_err(|e| CliError::from_postd(&e, None))
}

/// The connectors of every app in `apps` (the default app's always).
pub(crate) fn connectors<'a>(apps: impl IntoIterator<Item = &'a str>) -> Result<Connectors> {
    let mut wanted: BTreeSet<&str> = apps.into_iter().collect();
    wanted.insert(DEFAULT_APP);
    let mut connectors = Connectors::new();
    for app in wanted {
        connectors = connectors.with_manager(app, &manager(app)?);
    }
    Ok(connectors)
}

/// Every app an account in the vault belongs to.
pub(crate) async fn stored_apps(vault: &TokenVault) -> Result<BTreeSet<String>> {
    let records = vault
        .store_handle()
        .list(&ListFilter::default())
        .await
        .map_err(|e| CliError::from_postd(&e, None))?;
    Ok(records.into_iter().map(|r| r.app).collect())
}

/// How a command that says which platform app is missing its connector should put it.
pub(crate) fn missing_connector(platform: postd_core::Platform, app: &str) -> String {
    let prefix = if app == DEFAULT_APP {
        String::new()
    } else {
        app_prefix(app)
    };
    format!(
        "no ready {} connector for app {app}; set {prefix}{}_CLIENT_ID and the platform's other variables (see .env.example)",
        platform.display_name(),
        platform.env_prefix()
    )
}

/// Parses seconds, fractions allowed (`0.05`), as a duration.
pub(crate) fn parse_secs(text: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} is not a number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_and_bare_paths_name_a_file() {
        let file = |p: &str| Database::Sqlite(PathBuf::from(p));
        assert_eq!(
            Database::parse("sqlite://postd.db").ok(),
            Some(file("postd.db"))
        );
        assert_eq!(
            Database::parse("sqlite:///var/lib/postd.db").ok(),
            Some(file("/var/lib/postd.db"))
        );
        assert_eq!(
            Database::parse("sqlite:x.db?mode=rwc").ok(),
            Some(file("x.db"))
        );
        assert_eq!(Database::parse("./postd.db").ok(), Some(file("./postd.db")));
        assert!(Database::parse("sqlite::memory:").is_err());
        assert!(Database::parse("mysql://db").is_err());
        assert_eq!(
            Database::parse("postgres://u@h/db").ok(),
            Some(Database::Postgres("postgres://u@h/db".into()))
        );
    }

    #[test]
    fn an_apps_variables_carry_its_name_as_a_prefix() {
        assert_eq!(app_prefix("staging"), "POSTD_APP_STAGING_");
        assert_eq!(app_prefix("eu-west.2"), "POSTD_APP_EU_WEST_2_");
    }

    #[test]
    fn seconds_take_fractions_and_refuse_words() {
        assert_eq!(parse_secs("0.05"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_secs("120"), Ok(Duration::from_secs(120)));
        assert!(parse_secs("soon").is_err());
        assert!(parse_secs("-1").is_err());
    }
}
