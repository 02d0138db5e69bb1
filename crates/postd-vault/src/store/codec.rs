//! Column encodings shared by the SQL backends.

use chrono::{DateTime, Utc};
use postd_core::{Error, Health, Platform, Result, Target};

pub(crate) fn millis(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp_millis())
}

pub(crate) fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

pub(crate) fn targets_json(t: &[Target]) -> Result<String> {
    serde_json::to_string(t)
        .map_err(|e| Error::unexpected(format!("could not encode targets: {e}")))
}

pub(crate) fn targets_from(s: &str) -> Result<Vec<Target>> {
    serde_json::from_str(s).map_err(|_| Error::unexpected("stored targets do not decode"))
}

pub(crate) fn scopes_json(s: &[String]) -> Result<String> {
    serde_json::to_string(s).map_err(|e| Error::unexpected(format!("could not encode scopes: {e}")))
}

pub(crate) fn scopes_from(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|_| Error::unexpected("stored scopes do not decode"))
}

pub(crate) fn health_json(h: &Option<Health>) -> Result<Option<String>> {
    h.as_ref()
        .map(|h| {
            serde_json::to_string(h)
                .map_err(|e| Error::unexpected(format!("could not encode health: {e}")))
        })
        .transpose()
}

pub(crate) fn health_from(s: Option<String>) -> Option<Health> {
    s.and_then(|s| serde_json::from_str(&s).ok())
}

pub(crate) fn platform_from(s: &str) -> Result<Platform> {
    s.parse()
}

pub(crate) fn db_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(
        postd_core::ErrorKind::Unavailable,
        format!("vault storage: {what} failed"),
    )
    .with_operation("vault.store")
    .with_source(e)
}
