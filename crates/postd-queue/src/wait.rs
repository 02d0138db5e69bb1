//! The waiting loop both backends share: wake on a signal, on the next due
//! time the database reports, or at the timeout, whichever is first.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::backoff::MAX_DELAY;
use crate::clock::Clock;
use crate::error::Result;
use crate::job::Wake;

/// Waits for work. `probe` returns the earliest instant (ms) at which a job
/// in the caller's queues is or becomes claimable, or `None` if none will
/// without another write.
pub(crate) async fn wait_loop<F, Fut>(
    signal: &Notify,
    clock: &dyn Clock,
    timeout: Duration,
    mut probe: F,
) -> Result<Wake>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<i64>>>,
{
    let deadline = Instant::now() + timeout.min(MAX_DELAY);
    loop {
        // Registered before the probe: a write between the probe and the
        // sleep still wakes us.
        let notified = signal.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();

        let next = probe().await?;
        let now_ms = clock.now().timestamp_millis();
        if next.is_some_and(|at| at <= now_ms) {
            return Ok(Wake::Work);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(Wake::TimedOut);
        }
        let until = next.map_or(deadline, |at| {
            let wait = u64::try_from(at.saturating_sub(now_ms)).unwrap_or(0);
            deadline.min(now + Duration::from_millis(wait))
        });
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep_until(until) => {}
        }
    }
}
