//! `postd accounts`: every stored account, its lifecycle and its health.

use chrono::{DateTime, Utc};
use postd_core::{HealthStatus, Platform, Target};
use postd_vault::{AccountRecord, ListFilter};
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::output::{self, Table};
use crate::setup::{self, Global, Open};

/// `postd accounts [--tenant T]`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Only this tenant's accounts.
    #[arg(long)]
    tenant: Option<String>,
}

/// One account as `postd accounts` shows it (no secret in it).
#[derive(Debug, Serialize)]
struct Account {
    tenant: String,
    account: String,
    platform: Platform,
    app: String,
    status: &'static str,
    status_reason: Option<String>,
    /// Access token expiry.
    expires_at: Option<DateTime<Utc>>,
    refresh_expires_at: Option<DateTime<Utc>>,
    consent_expires_at: Option<DateTime<Utc>>,
    /// The earliest of the refresh token's and the consent's expiry: re-authorize before it.
    reauth_deadline: Option<DateTime<Utc>>,
    health: Option<HealthStatus>,
    last_health_at: Option<DateTime<Utc>>,
    scopes: Vec<String>,
    targets: Vec<Target>,
}

impl From<AccountRecord> for Account {
    fn from(r: AccountRecord) -> Self {
        let reauth_deadline = [r.refresh_expires_at, r.consent_expires_at]
            .into_iter()
            .flatten()
            .min();
        Account {
            status: r.status.as_str(),
            status_reason: r.status_reason,
            expires_at: r.expires_at,
            refresh_expires_at: r.refresh_expires_at,
            consent_expires_at: r.consent_expires_at,
            reauth_deadline,
            health: r.health.as_ref().map(|h| h.status),
            last_health_at: r.last_health_at,
            scopes: r.scopes,
            targets: r.targets,
            tenant: r.tenant,
            account: r.account,
            platform: r.platform,
            app: r.app,
        }
    }
}

/// Runs `postd accounts`.
pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let vault = setup::vault(global, Open::Existing).await?;
    let mut filter = ListFilter::default();
    if let Some(t) = &args.tenant {
        filter = filter.with_tenant(t.clone());
    }
    let records = vault
        .store_handle()
        .list(&filter)
        .await
        .map_err(|e| CliError::from_postd(&e, None))?;
    let accounts: Vec<Account> = records.into_iter().map(Account::from).collect();
    if global.json {
        return output::json(&accounts);
    }
    if accounts.is_empty() {
        return output::print("no accounts; add one with postd connect\n");
    }
    let mut table = Table::new(&[
        "TENANT",
        "ACCOUNT",
        "PLATFORM",
        "APP",
        "STATUS",
        "TARGETS",
        "EXPIRES",
        "RE-AUTH BY",
        "HEALTH",
        "CHECKED",
    ]);
    for a in &accounts {
        let status = match &a.status_reason {
            Some(why) => format!("{} ({why})", a.status),
            None => a.status.to_owned(),
        };
        table.row(vec![
            a.tenant.clone(),
            a.account.clone(),
            a.platform.to_string(),
            a.app.clone(),
            status,
            a.targets.len().to_string(),
            output::time(a.expires_at),
            output::time(a.reauth_deadline),
            a.health.map_or_else(|| "-".to_owned(), health_name),
            output::time(a.last_health_at),
        ]);
    }
    output::print(&table.render())
}

fn health_name(h: HealthStatus) -> String {
    match serde_json::to_value(h) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{h:?}"),
    }
}
