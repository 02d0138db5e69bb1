//! `postd dead`: the dead-letter queue. Deliveries that were refused for
//! good, or whose outcome could not be confirmed, wait here with every
//! attempt's error until a person replays or purges them.

use postd_engine::{Connectors, DeliveryView, Engine, EngineConfig};
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::output::{self, Table};
use crate::setup::{self, Global, Open};
use crate::status::{last_error, published};

/// `postd dead ...`.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum Command {
    /// List the dead deliveries, newest first.
    List {
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Skip this many (for paging).
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Show one delivery with every attempt's error.
    Show {
        /// The delivery's id (from postd dead list or postd status).
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Put a dead delivery back in the queue (attempts reset). An unconfirmed one asks the
    /// platform whether the post is there before publishing again.
    Replay {
        /// The delivery's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Delete a dead delivery for good; scheduling the same reference to that target again
    /// then queues a new delivery.
    Purge {
        /// The delivery's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// What `postd dead purge` did.
#[derive(Debug, Serialize)]
struct Purged {
    id: i64,
    purged: bool,
}

/// Runs `postd dead ...`.
pub(crate) async fn run(global: &Global, command: Command) -> Result<()> {
    let engine = setup::stores(global, Open::Existing, None)
        .await?
        .engine(Connectors::new(), EngineConfig::default());
    match command {
        Command::List { limit, offset } => list(global, &engine, limit, offset).await,
        Command::Show { id } => show(global, &engine, id).await,
        Command::Replay { id } => replay(global, &engine, id).await,
        Command::Purge { id } => purge(global, &engine, id).await,
    }
}

fn no_such_delivery(id: i64) -> String {
    format!("no such delivery {id}; list the dead ones with postd dead list")
}

fn not_dead(e: postd_core::Error, id: i64) -> CliError {
    match e.kind() {
        postd_core::ErrorKind::NotFound => CliError::new(no_such_delivery(id)),
        postd_core::ErrorKind::InvalidContent => CliError::new(format!(
            "{}; only deliveries in postd dead list can be replayed or purged",
            e.message()
        )),
        _ => CliError::from_postd(&e, None),
    }
}

async fn list(global: &Global, engine: &Engine, limit: u32, offset: u32) -> Result<()> {
    let dead = engine
        .dead(limit, offset)
        .await
        .map_err(|e| CliError::from_postd(&e, None))?;
    if global.json {
        return output::json(&dead);
    }
    if dead.is_empty() {
        return output::print(if offset == 0 {
            "the dead-letter queue is empty\n"
        } else {
            "no dead deliveries past that offset\n"
        });
    }
    let mut table = Table::new(&["ID", "POST", "TARGET", "STATE", "ATTEMPTS", "REASON"]);
    for d in &dead {
        table.row(vec![
            d.id.to_string(),
            output::or_dash(d.post.as_deref()),
            output::delivery_label(d.to.as_ref()),
            d.state.as_str().to_owned(),
            d.attempts.to_string(),
            output::or_dash(d.dead_reason.as_deref()),
        ]);
    }
    output::print(&table.render())
}

async fn show(global: &Global, engine: &Engine, id: i64) -> Result<()> {
    let d = engine
        .delivery(id)
        .await
        .map_err(|e| CliError::or_not_found(e, || no_such_delivery(id)))?;
    if global.json {
        return output::json(&d);
    }
    output::print(&render(&d))
}

/// A delivery as `key: value` lines and a table of its attempts' errors.
fn render(d: &DeliveryView) -> String {
    let mut text = output::fields(&[
        ("delivery", d.id.to_string()),
        ("post", output::or_dash(d.post.as_deref())),
        ("target", output::delivery_label(d.to.as_ref())),
        ("state", d.state.as_str().to_owned()),
        ("attempts", d.attempts.to_string()),
        ("stalls", d.stalls.to_string()),
        ("due", output::time(d.due_at)),
        ("next run", output::time(d.next_run_at)),
        ("published", published(d)),
        ("dead reason", output::or_dash(d.dead_reason.as_deref())),
        ("last error", last_error(d)),
    ]);
    if d.errors.is_empty() {
        text.push_str("no attempt failed\n");
        return text;
    }
    let mut table = Table::new(&["ATTEMPT", "AT", "KIND", "CODE", "HTTP", "MESSAGE"]);
    for e in &d.errors {
        table.row(vec![
            e.attempt.to_string(),
            output::time(Some(e.at)),
            e.kind.clone(),
            output::or_dash(e.code.as_deref()),
            e.status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            e.message.clone(),
        ]);
    }
    text.push('\n');
    text.push_str(&table.render());
    text
}

async fn replay(global: &Global, engine: &Engine, id: i64) -> Result<()> {
    let d = engine.replay(id).await.map_err(|e| not_dead(e, id))?;
    if global.json {
        return output::json(&d);
    }
    output::print(&format!(
        "delivery {id} is back in the queue ({}, next run {}); a running postd worker takes it up\n",
        d.state.as_str(),
        output::time(d.next_run_at)
    ))
}

async fn purge(global: &Global, engine: &Engine, id: i64) -> Result<()> {
    let purged = engine.purge(id).await.map_err(|e| not_dead(e, id))?;
    if !purged {
        return Err(CliError::new(no_such_delivery(id)));
    }
    if global.json {
        return output::json(&Purged { id, purged });
    }
    output::print(&format!("purged delivery {id}\n"))
}
