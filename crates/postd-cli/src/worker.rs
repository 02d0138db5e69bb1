//! `postd worker`: publish due deliveries until SIGINT or SIGTERM (or, with
//! `--until-idle`, until nothing is pending or running), then stop
//! gracefully: no new claims, running deliveries get the grace period to
//! finish, and the report of what the worker did is printed.

use std::time::Duration;

use postd_engine::{Engine, EngineConfig, WorkerReport};
use postd_queue::Backoff;

use crate::error::{CliError, Result};
use crate::output;
use crate::setup::{self, Global, Open};

/// `postd worker`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Deliveries run at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    concurrency: usize,

    /// How long a claimed delivery is leased, in seconds (renewed every third of it).
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = setup::parse_secs)]
    lease: Duration,

    /// How long after an unknown outcome the platform is asked whether the post is there, in seconds.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = setup::parse_secs)]
    settle: Duration,

    /// Longest wait between looks for new work, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    idle_poll_ms: u64,

    /// Retry backoff of failed attempts, BASE,MAX in milliseconds (default 5000,900000).
    #[arg(long, value_name = "BASE,MAX", value_parser = parse_backoff)]
    backoff_ms: Option<Backoff>,

    /// On shutdown, how long running deliveries may take to finish, in seconds.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = setup::parse_secs)]
    grace: Duration,

    /// This worker's name in leases (default worker-PID-RANDOM).
    #[arg(long, value_name = "ID")]
    worker_id: Option<String>,

    /// Stop once nothing is pending or running (every delivery queued so far has ended).
    #[arg(long)]
    until_idle: bool,

    /// Stop after this many seconds at the latest.
    #[arg(long, value_name = "SECS", value_parser = setup::parse_secs)]
    timeout: Option<Duration>,
}

/// `BASE,MAX` in milliseconds.
fn parse_backoff(text: &str) -> std::result::Result<Backoff, String> {
    let usage = || format!("{text:?} is not BASE,MAX in milliseconds (e.g. 500,60000)");
    let (base, max) = text.split_once(',').ok_or_else(usage)?;
    let base: u64 = base.trim().parse().map_err(|_| usage())?;
    let max: u64 = max.trim().parse().map_err(|_| usage())?;
    if base > max {
        return Err(format!("backoff base {base} ms is above its max {max} ms"));
    }
    Ok(Backoff {
        base: Duration::from_millis(base),
        max: Duration::from_millis(max),
    })
}

impl Args {
    fn config(&self) -> Result<EngineConfig> {
        if self.lease < Duration::from_secs(1) {
            return Err(CliError::new(
                "--lease must be at least 1 second (it is renewed every third of it)",
            ));
        }
        let mut config = EngineConfig::default()
            .with_concurrency(self.concurrency)
            .with_lease(self.lease)
            .with_settle_wait(self.settle)
            .with_idle_poll(Duration::from_millis(self.idle_poll_ms.max(1)))
            .with_shutdown_grace(self.grace);
        if let Some(b) = self.backoff_ms {
            config = config.with_retry_backoff(b.base, b.max);
        }
        if let Some(id) = &self.worker_id {
            config = config.with_worker_id(id.clone());
        }
        Ok(config)
    }
}

/// Runs `postd worker`.
pub(crate) async fn run(global: &Global, args: Args) -> Result<()> {
    let config = args.config()?;
    let stores = setup::stores(global, Open::Create, args.backoff_ms).await?;
    let apps = setup::stored_apps(&stores.vault).await?;
    let connectors = setup::connectors(apps.iter().map(String::as_str))?;
    let ready: Vec<String> = connectors
        .apps()
        .map(|(p, app)| format!("{p}/{app}"))
        .collect();
    let engine = stores.engine(connectors, config);
    let signals = Signals::listen();
    eprintln!(
        "postd: worker {} running (concurrency {}, connectors: {}); stop it with Ctrl-C or SIGTERM",
        engine.config().worker_id,
        engine.config().concurrency,
        if ready.is_empty() {
            "none".to_owned()
        } else {
            ready.join(", ")
        }
    );
    let stop = stop_when(signals, engine.clone(), args.until_idle, args.timeout);
    let report = engine
        .run_worker(stop)
        .await
        .map_err(|e| CliError::from_postd(&e, None))?;
    if global.json {
        return output::json(&report);
    }
    output::print(&render(&report))
}

fn render(r: &WorkerReport) -> String {
    let mut text = String::from("worker stopped\n");
    text.push_str(&output::fields(&[
        ("published", r.published.to_string()),
        ("pending", r.pending.to_string()),
        ("waiting", r.waiting.to_string()),
        ("retrying", r.retrying.to_string()),
        ("dead", r.dead.to_string()),
        ("lease lost", r.lease_lost.to_string()),
        ("maintenance", r.maintenance.to_string()),
        ("abandoned", r.abandoned.to_string()),
    ]));
    if r.dead > 0 {
        text.push_str("see the dead deliveries with postd dead list\n");
    }
    text
}

/// Resolves on SIGINT or SIGTERM, when idle (with `until_idle`), or at the timeout.
async fn stop_when(signals: Signals, engine: Engine, until_idle: bool, timeout: Option<Duration>) {
    let idle = async {
        if until_idle {
            wait_idle(&engine).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = signals.recv() => eprintln!("postd: stopping: finishing the running deliveries"),
        () = idle => {}
        () = deadline => eprintln!("postd: stopping: the --timeout passed"),
    }
}

/// Nothing pending or running in the publish queue.
async fn wait_idle(engine: &Engine) {
    let every = engine
        .config()
        .idle_poll
        .clamp(Duration::from_millis(20), Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        let stats = engine.jobs().stats(&engine.config().publish_queue).await;
        if let Ok(s) = stats
            && s.pending == 0
            && s.running == 0
        {
            return;
        }
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, listened to from the moment it is made (so a
/// signal that comes while the worker starts is not lost).
struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Signals { streams }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Resolves at the first signal.
    async fn recv(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.streams {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_base_comma_max_in_milliseconds() {
        assert_eq!(
            parse_backoff("10,50"),
            Ok(Backoff {
                base: Duration::from_millis(10),
                max: Duration::from_millis(50)
            })
        );
        assert!(parse_backoff("50").is_err());
        assert!(parse_backoff("60,50").is_err());
    }
}
