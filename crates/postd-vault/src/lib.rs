//! # postd-vault
//!
//! The TokenVault: credentials sealed with XChaCha20-Poly1305 under keys from
//! `POSTD_VAULT_KEYS` (the newest seals, every key opens, [`TokenVault::rotate`]
//! re-seals online), bound by associated data to their tenant, account,
//! platform and field; stored in memory, SQLite (the embedded default, one
//! file, WAL) or Postgres (cargo feature `postgres`); refreshed single-flight
//! (one refresh per account, in process and across processes); with a
//! lifecycle policy (refresh ahead, `reauth_required` at once on a dead
//! grant, backoff and a day count for transient failures, T-7d/T-1d
//! warnings) and health checks every 6 hours. Every transition is an event.
//!
//! A refresh, once it holds the account's locks, runs in a task of its own:
//! the platform call (bounded by [`VaultConfig::refresh_timeout`]), storing
//! its answer, releasing the locks. A caller that gives up meanwhile (a
//! cancelled request, a timeout) does not stop it, so a refresh token the
//! platform rotated is stored, not lost (on TikTok and X the old one stops
//! working once a new one is issued). That is why
//! [`TokenVault::fresh_credentials`] takes the connector as an
//! `Arc<dyn Connector>`, and why it must be called inside a Tokio runtime.
//!
//! ```no_run
//! use std::sync::Arc;
//! use postd_core::{Credentials, Platform, TokenSet};
//! use postd_vault::{KeyRing, SqliteStore, TokenVault, VaultConfig};
//!
//! # async fn run(connector: Arc<dyn postd_core::Connector>) -> Result<(), postd_core::Error> {
//! let keys = KeyRing::from_env()?; // POSTD_VAULT_KEYS=1:<base64 of 32 random bytes>
//! let store = Arc::new(SqliteStore::open("postd-vault.db").await?);
//! let vault = TokenVault::new(store, keys, VaultConfig::default()).await?;
//! let mut events = vault.subscribe();
//! vault.store("tenant-1", "acct-1", Platform::LinkedIn, &Credentials::OAuth(TokenSet::new("token")), vec![]).await?;
//! // The connector is shared: the refresh may outlive this call.
//! let fresh = vault.fresh_credentials("tenant-1", "acct-1", connector.clone()).await?;
//! # let _ = (fresh, events.try_recv()); Ok(()) }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod events;
pub mod keys;
mod payload;
pub mod record;
pub mod seal;
pub mod store;
mod vault;

pub use events::{VaultEvent, VaultEventKind};
pub use keys::{KEYS_VAR, KeyRing};
pub use record::{AccountRecord, AccountStatus, DEFAULT_APP};
pub use store::open_url;
#[cfg(feature = "postgres")]
pub use store::postgres::PostgresStore;
pub use store::{
    ListFilter, StoreLock, TokenStore, Write, memory::MemoryStore, sqlite::SqliteStore,
};
pub use vault::{ConnectorLookup, TokenVault, VaultConfig};
