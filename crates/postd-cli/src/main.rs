//! # postd
//!
//! The operator's command line of POSTD: connect accounts, schedule posts,
//! run workers, and look after what did not go out. No Rust needed.
//!
//! ```text
//! postd connect meta --tenant acme --account main        # authorize in a browser, seal the tokens
//! postd accounts                                          # what is connected, when it needs re-authorizing
//! postd schedule --ref launch-1 --text "We shipped" --to acme/main/facebook_page:1234
//! postd worker                                            # publish until Ctrl-C / SIGTERM
//! postd status launch-1                                   # where each delivery stands
//! postd dead list | show ID | replay ID | purge ID        # the dead-letter queue
//! postd cancel launch-1 ; postd reschedule launch-1 --at 2026-05-01T09:00:00Z
//! ```
//!
//! Configuration comes from flags and the environment: `--database URL`
//! (`POSTD_DATABASE_URL`, default `sqlite://postd.db`; `postgres://...` when
//! built with the `postgres` feature), `POSTD_VAULT_DATABASE_URL` for a
//! separate vault database, `POSTD_VAULT_KEYS` for the vault's keys
//! (required), and the platforms' variables of `.env.example`.
//!
//! Every read command takes `--json` for scripts. Every error is one line on
//! stderr saying what to do, with exit code 1; usage errors exit with 2.
//! Nothing `postd` prints holds a token or a secret.

mod accounts;
mod connect;
mod dead;
mod error;
mod output;
mod schedule;
mod setup;
mod status;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{CliError, Result};

/// Publish posts to social platforms: connect accounts, schedule posts, run workers,
/// and look after the dead-letter queue.
#[derive(Parser, Debug)]
#[command(
    name = "postd",
    version,
    after_help = "Environment: POSTD_DATABASE_URL, POSTD_VAULT_DATABASE_URL, POSTD_VAULT_KEYS (required: \
                  id:base64key), and the platforms' variables of .env.example (META_CLIENT_ID, ...)."
)]
struct Cli {
    #[command(flatten)]
    global: setup::Global,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Authorize an account in the browser (or with an API key on stdin) and seal its tokens
    /// in the vault; lists the targets it can publish to.
    Connect(connect::Args),
    /// Publish due deliveries until SIGINT/SIGTERM (or --until-idle), then print what it did.
    Worker(worker::Args),
    /// Queue a post for one or more targets, now or at a time.
    Schedule(schedule::Args),
    /// Show where each delivery of a post stands: state, attempts, published id, last error.
    Status(status::Args),
    /// Withdraw the deliveries of a post that have not started.
    Cancel(schedule::CancelArgs),
    /// Move the deliveries of a post that are still waiting to another time.
    Reschedule(schedule::RescheduleArgs),
    /// The dead-letter queue: list, show, replay or purge deliveries that did not go out.
    #[command(subcommand)]
    Dead(dead::Command),
    /// List the stored accounts: platform, app, status, expiry, re-authorization deadline, health.
    Accounts(accounts::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging(cli.global.verbose);
    let runtime = match cli.global.threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(n))
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => return fail(&CliError::new(format!("cannot start the runtime: {e}"))),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &CliError) -> ExitCode {
    eprintln!("postd: {e}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    match cli.command {
        Command::Connect(args) => connect::run(global, args).await,
        Command::Worker(args) => worker::run(global, args).await,
        Command::Schedule(args) => schedule::run(global, args).await,
        Command::Status(args) => status::run(global, args).await,
        Command::Cancel(args) => schedule::cancel(global, args).await,
        Command::Reschedule(args) => schedule::reschedule(global, args).await,
        Command::Dead(command) => dead::run(global, command).await,
        Command::Accounts(args) => accounts::run(global, args).await,
    }
}

/// Logs on stderr with `-v` (info) or `-vv` (debug); silent otherwise.
fn logging(verbose: u8) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match verbose {
        0 => return,
        1 => LevelFilter::INFO,
        _ => LevelFilter::DEBUG,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
