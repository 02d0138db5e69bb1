//! The engine's settings, with the defaults a service gets.

use std::time::Duration;

use postd_core::Platform;

/// A documented cap a platform enforces (posts per window), checked in the
/// shared database before the platform would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Cap {
    /// The platform.
    pub platform: Platform,
    /// Whether the cap counts per account or per app.
    pub per: CapScope,
    /// Publishes allowed per window.
    pub limit: u32,
    /// The window (windows are aligned to the Unix epoch: a day resets at UTC midnight).
    pub window: Duration,
}

/// What a [`Cap`] counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapScope {
    /// Each account.
    Account,
    /// Each platform app (all its accounts together).
    App,
}

impl Cap {
    /// A cap of `limit` publishes per `window`, counted per `per`.
    pub fn new(platform: Platform, per: CapScope, limit: u32, window: Duration) -> Self {
        Cap {
            platform,
            per,
            limit,
            window,
        }
    }
}

/// The caps POSTD applies unless told otherwise.
///
/// LinkedIn's daily limits per member and per application reset at UTC
/// midnight and are shown only in the app's Developer Portal analytics
/// (<https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits>);
/// the figure here, 150 posts per member per day, is the one the older Share
/// API pages listed (they also listed 100,000 per app). Set your app's own
/// with [`EngineConfig::with_caps`].
/// Instagram's 24-hour publishing quota is read live from
/// `content_publishing_limit` by the connector before each publish, so it is not repeated here.
pub fn default_caps() -> Vec<Cap> {
    const DAY: Duration = Duration::from_secs(24 * 60 * 60);
    // The app-wide 100,000 is left out: each cap costs a write per publish,
    // and few apps come near it. Add it with `with_caps` if yours does.
    vec![Cap::new(Platform::LinkedIn, CapScope::Account, 150, DAY)]
}

/// How the engine runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EngineConfig {
    /// The queue deliveries go through.
    pub publish_queue: String,
    /// The queue of refresh, warning and health-check jobs.
    pub maintenance_queue: String,
    /// Deliveries a worker runs at once.
    pub concurrency: usize,
    /// How long a claimed job is leased; renewed every third of it while it runs.
    pub lease: Duration,
    /// Longest a worker waits for new work before looking again (other processes' jobs on SQLite).
    pub idle_poll: Duration,
    /// How long after an unknown outcome the platform is asked whether the post exists.
    pub settle_wait: Duration,
    /// Attempts before a delivery is dead (a stall counts as one).
    pub max_attempts: u32,
    /// Backoff of a failed attempt when the platform gives no wait: base.
    pub retry_base: Duration,
    /// Backoff cap.
    pub retry_max: Duration,
    /// On shutdown, how long in-flight deliveries may take to finish.
    pub shutdown_grace: Duration,
    /// How often each worker enqueues the maintenance jobs (one per slot across all processes).
    pub maintenance_every: Duration,
    /// The slot of health checks (one check job per slot).
    pub health_every: Duration,
    /// Documented caps checked before publishing.
    pub caps: Vec<Cap>,
    /// This worker's name in leases.
    pub worker_id: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            publish_queue: "postd.publish".to_owned(),
            maintenance_queue: "postd.maintenance".to_owned(),
            concurrency: 16,
            lease: Duration::from_secs(120),
            idle_poll: Duration::from_secs(1),
            settle_wait: Duration::from_secs(60),
            max_attempts: 6,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(15 * 60),
            shutdown_grace: Duration::from_secs(30),
            maintenance_every: Duration::from_secs(60),
            health_every: Duration::from_secs(6 * 60 * 60),
            caps: default_caps(),
            worker_id: default_worker_id(),
        }
    }
}

impl EngineConfig {
    /// Sets the concurrency (at least 1).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets the lease.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets the settle wait before reconciling an unknown outcome.
    pub fn with_settle_wait(mut self, wait: Duration) -> Self {
        self.settle_wait = wait;
        self
    }

    /// Sets the idle poll interval.
    pub fn with_idle_poll(mut self, every: Duration) -> Self {
        self.idle_poll = every;
        self
    }

    /// Sets the attempts before a delivery is dead.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// Sets the retry backoff.
    pub fn with_retry_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.retry_base = base;
        self.retry_max = max;
        self
    }

    /// Sets the shutdown grace.
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Replaces the documented caps.
    pub fn with_caps(mut self, caps: Vec<Cap>) -> Self {
        self.caps = caps;
        self
    }

    /// Sets this worker's name.
    pub fn with_worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = id.into();
        self
    }
}

fn default_worker_id() -> String {
    format!(
        "worker-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}
