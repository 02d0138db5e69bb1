//! # postd
//!
//! Publish to social and marketing platforms from Rust services: one
//! connector contract ([`Connector`]), one connector crate per platform, and a
//! [`ConnectorManager`] that picks platforms by cargo feature (`meta`,
//! `linkedin`, `tiktok`, `gbp`, `mailchimp`, `twitter`; all on by default).
//!
//! This facade re-exports [`postd_core`] (the contract, errors, HTTP, OAuth,
//! webhook crypto and refresh planning), [`postd_manager`], the token vault
//! as `vault`, and the pipeline as `engine` and `queue` (cargo features
//! `vault` and `engine`, on by default, and `postgres`).
//!
//! ```
//! use postd::{ConnectorManager, ConnectorStatus, Platform};
//!
//! // With no credentials in the environment, every platform that needs an
//! // app's credentials reports why it is not ready; Mailchimp is ready (its
//! // API keys come with each account, from the vault).
//! let manager = ConnectorManager::builder().build()?;
//! for platform in Platform::ALL {
//!     let status = manager.status(platform);
//!     if platform == Platform::Mailchimp {
//!         assert_eq!(status, ConnectorStatus::Ready);
//!     } else {
//!         assert_ne!(status, ConnectorStatus::Ready);
//!     }
//! }
//! # Ok::<(), postd::Error>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub use postd_core::*;
pub use postd_manager::{ConnectorManager, ConnectorStatus, ManagerBuilder, connectors};

/// The TokenVault (cargo feature `vault`, on by default; `postgres` adds the Postgres store).
#[cfg(feature = "vault")]
pub use postd_vault as vault;

/// The durable job store (cargo feature `engine`, on by default; `postgres` adds the Postgres store).
#[cfg(feature = "engine")]
pub use postd_queue as queue;

/// The publishing pipeline: schedule, workers, reconciliation, dead letters (cargo feature `engine`).
#[cfg(feature = "engine")]
pub use postd_engine as engine;
