//! `postd status REF`: where each delivery of a post stands.

use postd_engine::{Connectors, DeliveryView, EngineConfig};

use crate::error::{CliError, Result};
use crate::output::{self, Table};
use crate::schedule::no_such_post;
use crate::setup::{self, Global, Open};

/// `postd status REF`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// The post's reference (the --ref given to postd schedule).
    #[arg(value_name = "REF")]
    client_ref: String,
}

/// Runs `postd status`.
pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let engine = setup::stores(global, Open::Existing, None)
        .await?
        .engine(Connectors::new(), EngineConfig::default());
    let status = engine
        .post_status(&args.client_ref)
        .await
        .map_err(|e| CliError::or_not_found(e, || no_such_post(&args.client_ref)))?;
    if global.json {
        return output::json(&status);
    }
    let mut table = Table::new(&[
        "ID",
        "TARGET",
        "STATE",
        "ATTEMPTS",
        "PUBLISHED",
        "NEXT RUN",
        "LAST ERROR",
    ]);
    for d in &status.deliveries {
        table.row(vec![
            d.id.to_string(),
            output::delivery_label(d.to.as_ref()),
            d.state.as_str().to_owned(),
            d.attempts.to_string(),
            published(d),
            output::time(d.next_run_at),
            last_error(d),
        ]);
    }
    output::print(&format!("post {}\n{}", status.post, table.render()))
}

/// The platform's id and link of a published delivery.
pub(crate) fn published(d: &DeliveryView) -> String {
    match &d.published {
        Some(p) => match &p.url {
            Some(url) => format!("{} {url}", p.id),
            None => p.id.clone(),
        },
        None => "-".to_owned(),
    }
}

/// The latest attempt's classified error, `kind: message`.
pub(crate) fn last_error(d: &DeliveryView) -> String {
    d.errors
        .last()
        .map_or_else(|| "-".to_owned(), |e| format!("{}: {}", e.kind, e.message))
}
