//! Column encodings shared by the SQL backends.

use chrono::{DateTime, Utc};
use postd_core::{Error, Health, Platform, Result, Target};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::record::{AccountRecord, AccountStatus};

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
    Ok(s.parse()?)
}

pub(crate) fn db_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(
        postd_core::ErrorKind::Unavailable,
        format!("vault storage: {what} failed"),
    )
    .with_operation("vault.store")
    .with_source(e)
}

/// Decodes an account row; the same columns on SQLite and Postgres.
///
/// The row is already read, so a column that does not decode (text where a
/// number belongs, an unknown status, a negative key id) is corrupt data:
/// [`ErrorKind::Unexpected`](postd_core::ErrorKind::Unexpected), permanent,
/// naming the account and the column. It is never reported as the temporary
/// "storage unavailable" a database that is down gets, which would be retried
/// forever.
pub(crate) fn decode<'r, R>(row: &'r R) -> Result<AccountRecord>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    // Who the row is about comes first, so every later error can name it.
    let tenant = row
        .try_get::<String, _>("tenant")
        .map_err(|e| corrupt("an account row", "tenant", e))?;
    let account = row
        .try_get::<String, _>("account")
        .map_err(|e| corrupt(&format!("tenant {tenant:?}"), "account", e))?;
    let who = format!("account {account:?} of tenant {tenant:?}");
    let bad = |field: &str| {
        Error::unexpected(format!("stored {field} of {who} is corrupt"))
            .with_operation("vault.store")
    };
    let get_i64 = |c: &'static str| {
        row.try_get::<Option<i64>, _>(c)
            .map_err(|e| corrupt(&who, c, e))
    };
    let get_str = |c: &'static str| row.try_get::<String, _>(c).map_err(|e| corrupt(&who, c, e));
    let get_u32 = |c: &'static str| -> Result<u32> {
        u32::try_from(get_i64(c)?.unwrap_or(0)).map_err(|_| bad(c))
    };
    let platform = platform_from(&get_str("platform")?).map_err(|_| bad("platform"))?;
    let status = AccountStatus::parse(&get_str("status")?).ok_or_else(|| bad("status"))?;
    let mut r = AccountRecord::new(&tenant, &account, platform, Utc::now());
    r.app = get_str("app")?;
    r.sealed_credentials = row
        .try_get("sealed_credentials")
        .map_err(|e| corrupt(&who, "sealed_credentials", e))?;
    r.key_id = get_u32("key_id")?;
    r.targets = targets_from(&get_str("targets")?).map_err(|_| bad("targets"))?;
    r.scopes = scopes_from(&get_str("scopes")?).map_err(|_| bad("scopes"))?;
    r.expires_at = time(get_i64("expires_at")?);
    r.refresh_expires_at = time(get_i64("refresh_expires_at")?);
    r.consent_expires_at = time(get_i64("consent_expires_at")?);
    r.status = status;
    r.status_reason = row
        .try_get("status_reason")
        .map_err(|e| corrupt(&who, "status_reason", e))?;
    r.health = health_from(
        row.try_get("health")
            .map_err(|e| corrupt(&who, "health", e))?,
    );
    r.last_health_at = time(get_i64("last_health_at")?);
    r.refresh_failure_days = get_u32("refresh_failure_days")?;
    r.refresh_failures = get_u32("refresh_failures")?;
    r.last_refresh_failure_at = time(get_i64("last_refresh_failure_at")?);
    r.next_refresh_at = time(get_i64("next_refresh_at")?);
    r.warned_days_before = get_i64("warned_days_before")?;
    r.version = get_i64("version")?.ok_or_else(|| bad("version"))?;
    r.created_at = time(get_i64("created_at")?).unwrap_or_else(Utc::now);
    r.updated_at = time(get_i64("updated_at")?).unwrap_or_else(Utc::now);
    Ok(r)
}

/// A column of a row already read that does not decode: corrupt data, permanent.
fn corrupt(who: &str, field: &str, e: sqlx::Error) -> Error {
    Error::unexpected(format!("stored {field} of {who} is corrupt"))
        .with_operation("vault.store")
        .with_source(e)
}

/// Binds a record's columns, in the order the INSERT and UPDATE statements list them.
macro_rules! bind_record {
    ($q:expr, $r:expr) => {{
        let r = $r;
        $q.bind(r.platform.as_str())
            .bind(r.app.clone())
            .bind(r.sealed_credentials.clone())
            .bind(i64::from(r.key_id))
            .bind(targets_json(&r.targets)?)
            .bind(scopes_json(&r.scopes)?)
            .bind(millis(r.expires_at))
            .bind(millis(r.refresh_expires_at))
            .bind(millis(r.consent_expires_at))
            .bind(r.status.as_str())
            .bind(r.status_reason.clone())
            .bind(health_json(&r.health)?)
            .bind(millis(r.last_health_at))
            .bind(i64::from(r.refresh_failure_days))
            .bind(i64::from(r.refresh_failures))
            .bind(millis(r.last_refresh_failure_at))
            .bind(millis(r.next_refresh_at))
            .bind(r.warned_days_before)
            .bind(r.created_at.timestamp_millis())
            .bind(r.updated_at.timestamp_millis())
    }};
}

pub(crate) use bind_record;
