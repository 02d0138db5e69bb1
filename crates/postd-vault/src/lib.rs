//! # postd-vault (work in progress)
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod keys;
pub mod record;
pub mod seal;
pub mod store;
