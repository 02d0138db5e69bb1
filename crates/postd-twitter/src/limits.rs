//! X's rate limits, kept on this side so a call that would be refused is not
//! made (<https://docs.x.com/x-api/fundamentals/rate-limits>).
//!
//! - Every answer's `x-rate-limit-remaining: 0` (or an exhausted 24-hour
//!   limit, or a `429`) blocks that endpoint for that user until its reset.
//! - Creating Posts is also counted here, because a refused create is still a
//!   billed, logged attempt: 100 per 15 minutes per user, the older ceiling of
//!   300 per 3 hours per user (kept until X removes it from its
//!   manage-Posts migration page), and 10,000 per 24 hours per app.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::reqwest::Method;
use postd_core::reqwest::header::HeaderMap;
use postd_core::{Error, ErrorKind, Platform, Result, Retry};

use crate::api::Caller;

/// The label of `POST /2/tweets`.
pub(crate) const CREATE: &str = "POST /2/tweets";

/// Per-user create windows: (length, most creates in it).
pub const USER_CREATE_WINDOWS: &[(Duration, usize)] = &[
    (Duration::from_secs(15 * 60), 100),
    (Duration::from_secs(3 * 3600), 300),
];

/// The caller an app-wide block is kept under.
fn app() -> Caller {
    Caller("*app*".to_owned())
}

/// The endpoint an app-wide block of every endpoint is kept under.
const EVERY_ENDPOINT: &str = "*";

/// Most blocks kept; expired ones are dropped when there are more.
const MAX_BLOCKS: usize = 10_000;

/// The per-app create window: 10,000 per 24 hours.
pub const APP_CREATE_WINDOW: (Duration, usize) = (Duration::from_secs(24 * 3600), 10_000);

/// The endpoint label of a request: its method and path with ids as `:id`
/// (`GET /2/users/:id/tweets`), as X's rate-limit table names them.
pub(crate) fn endpoint_of(method: &Method, path: &str) -> String {
    let mut out = format!("{method} ");
    let start = path.find("/2/").unwrap_or(0);
    for (i, seg) in path[start..].split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let id = !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit());
        out.push_str(if id && i > 1 { ":id" } else { seg });
    }
    out
}

impl State {
    /// Drops expired blocks once there are many (every distinct caller adds one).
    fn prune(&mut self, t: i64) {
        if self.blocked.len() > MAX_BLOCKS {
            self.blocked.retain(|_, &mut until| until > t);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// (endpoint, caller) -> blocked until (unix seconds).
    blocked: HashMap<(String, Caller), i64>,
    /// Creates per caller, newest last, within the longest user window.
    creates: HashMap<Caller, VecDeque<i64>>,
    /// Creates of the whole app within 24 hours.
    app_creates: VecDeque<i64>,
}

/// The ledger of one connector (one app).
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    state: Mutex<State>,
}

fn limited(message: String, wait: Duration) -> Error {
    Error::new(ErrorKind::RateLimited, message)
        .with_retry(Retry::Temporary {
            after: Some(wait.max(Duration::from_secs(1))),
        })
        .with_platform(Platform::Twitter)
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refuses a call X would refuse now.
    #[cfg(test)]
    pub(crate) fn check(
        &self,
        endpoint: &str,
        caller: &Caller,
        is_create: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        Self::check_locked(&mut self.lock(), endpoint, caller, is_create, now)
    }

    fn check_locked(
        st: &mut State,
        endpoint: &str,
        caller: &Caller,
        is_create: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let t = now.timestamp();
        // Nearly always nothing is blocked: no keys to build for every call.
        let keys = if st.blocked.is_empty() {
            Vec::new()
        } else {
            vec![
                ((endpoint.to_owned(), caller.clone()), "this account"),
                ((endpoint.to_owned(), app()), "the app"),
                (
                    (EVERY_ENDPOINT.to_owned(), app()),
                    "the app (credits or cap)",
                ),
            ]
        };
        for (key, whose) in keys {
            if let Some(&until) = st.blocked.get(&key) {
                if until > t {
                    return Err(limited(
                        format!(
                            "X's limit of {endpoint} is exhausted for {whose} until it resets in {} s; not calling",
                            until - t
                        ),
                        Duration::from_secs((until - t) as u64),
                    ));
                }
                st.blocked.remove(&key);
            }
        }
        if !is_create {
            return Ok(());
        }
        let longest = USER_CREATE_WINDOWS
            .iter()
            .map(|(d, _)| d.as_secs() as i64)
            .max()
            .unwrap_or(0);
        if let Some(q) = st.creates.get_mut(caller) {
            while q.front().is_some_and(|&c| c <= t - longest) {
                q.pop_front();
            }
            for (window, most) in USER_CREATE_WINDOWS {
                let w = window.as_secs() as i64;
                let inside: Vec<i64> = q.iter().copied().filter(|&c| c > t - w).collect();
                if inside.len() >= *most {
                    let wait = inside[inside.len() - most] + w - t;
                    return Err(limited(
                        format!(
                            "this account created {most} Posts in {} minutes, X's limit; the next can go in {wait} s",
                            w / 60
                        ),
                        Duration::from_secs(wait.max(1) as u64),
                    ));
                }
            }
        }
        let (window, most) = APP_CREATE_WINDOW;
        let w = window.as_secs() as i64;
        while st.app_creates.front().is_some_and(|&c| c <= t - w) {
            st.app_creates.pop_front();
        }
        if st.app_creates.len() >= most {
            let wait = st.app_creates[st.app_creates.len() - most] + w - t;
            return Err(limited(
                format!(
                    "the app created {most} Posts in 24 hours, X's per-app limit; the next can go in {wait} s"
                ),
                Duration::from_secs(wait.max(1) as u64),
            ));
        }
        Ok(())
    }

    /// [`check`](Self::check), then (for a create that may go) its count, under one lock.
    pub(crate) fn check_and_count(
        &self,
        endpoint: &str,
        caller: &Caller,
        is_create: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut st = self.lock();
        Self::check_locked(&mut st, endpoint, caller, is_create, now)?;
        if is_create {
            Self::count_locked(&mut st, caller, now);
        }
        Ok(())
    }

    /// Counts a create that is about to be sent.
    #[cfg(test)]
    pub(crate) fn count_create(&self, caller: &Caller, now: DateTime<Utc>) {
        Self::count_locked(&mut self.lock(), caller, now);
    }

    fn count_locked(st: &mut State, caller: &Caller, now: DateTime<Utc>) {
        let t = now.timestamp();
        if st.creates.len() > MAX_BLOCKS {
            let longest = USER_CREATE_WINDOWS
                .iter()
                .map(|(d, _)| d.as_secs() as i64)
                .max()
                .unwrap_or(0);
            st.creates
                .retain(|_, q| q.back().is_some_and(|&c| c > t - longest));
        }
        st.creates.entry(caller.clone()).or_default().push_back(t);
        st.app_creates.push_back(t);
    }

    /// Keeps what an answer's headers say: an exhausted limit blocks the endpoint until its reset.
    pub(crate) fn observe(
        &self,
        endpoint: &str,
        caller: &Caller,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) {
        let num = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let t = now.timestamp();
        let until = |remaining: &str, reset: &str| {
            (num(remaining) == Some(0))
                .then(|| num(reset))
                .flatten()
                .map(|r| r.min(t + 86_400))
                .filter(|&r| r > t)
        };
        let user = [
            until("x-rate-limit-remaining", "x-rate-limit-reset"),
            until("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
        ]
        .into_iter()
        .flatten()
        .max();
        // The app's 24-hour limit holds for every account of the app.
        let whole_app = until("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset");
        if user.is_none() && whole_app.is_none() {
            return;
        }
        let mut st = self.lock();
        st.prune(t);
        if let Some(u) = user {
            st.blocked.insert((endpoint.to_owned(), caller.clone()), u);
        }
        if let Some(u) = whole_app {
            st.blocked.insert((endpoint.to_owned(), app()), u);
        }
    }

    /// A `429` blocks the endpoint for the wait it carries.
    pub(crate) fn observe_error(
        &self,
        endpoint: &str,
        caller: &Caller,
        e: &Error,
        now: DateTime<Utc>,
    ) {
        let Some(wait) = e.retry_after() else {
            return;
        };
        let until = now.timestamp() + wait.as_secs().min(86_400) as i64;
        let key = match e.platform_code() {
            // Spent credits stop every call of the app; a usage cap every call of that kind.
            Some(crate::error::CREDITS_DEPLETED) => (EVERY_ENDPOINT.to_owned(), app()),
            Some(crate::error::USAGE_CAPPED) => (endpoint.to_owned(), app()),
            _ if e.http_status() == Some(429) => (endpoint.to_owned(), caller.clone()),
            _ => return,
        };
        let mut st = self.lock();
        st.prune(now.timestamp());
        st.blocked.insert(key, until);
    }

    /// How much of each create window `caller` has used at `now`: (window
    /// length, creates in it, the window's most, when the oldest leaves it).
    pub(crate) fn create_usage(
        &self,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Vec<(Duration, usize, usize, Option<Duration>)> {
        let t = now.timestamp();
        let st = self.lock();
        let q = st.creates.get(caller);
        USER_CREATE_WINDOWS
            .iter()
            .map(|&(window, most)| {
                let w = window.as_secs() as i64;
                let inside: Vec<i64> = q
                    .map(|q| q.iter().copied().filter(|&c| c > t - w).collect())
                    .unwrap_or_default();
                let frees = inside
                    .first()
                    .map(|&c| Duration::from_secs((c + w - t).max(0) as u64));
                (window, inside.len(), most, frees)
            })
            .collect()
    }

    /// Whether `endpoint` is blocked for `caller` now, and for how long.
    pub(crate) fn blocked_for(
        &self,
        endpoint: &str,
        caller: &Caller,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        let st = self.lock();
        st.blocked
            .get(&(endpoint.to_owned(), caller.clone()))
            .filter(|&&u| u > now.timestamp())
            .map(|&u| Duration::from_secs((u - now.timestamp()) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postd_core::reqwest::header::HeaderValue;

    #[test]
    fn endpoints_are_named_as_x_names_them() {
        assert_eq!(endpoint_of(&Method::POST, "/2/tweets"), "POST /2/tweets");
        assert_eq!(
            endpoint_of(&Method::GET, "/2/users/2244994945/tweets"),
            "GET /2/users/:id/tweets"
        );
        assert_eq!(
            endpoint_of(&Method::POST, "/base/2/media/upload/123/append"),
            "POST /2/media/upload/:id/append"
        );
    }

    #[test]
    fn the_fifteen_minute_window_refuses_the_hundred_and_first_create() {
        let ledger = Ledger::default();
        let me = Caller::user("1");
        let now = Utc::now();
        for _ in 0..100 {
            ledger.check(CREATE, &me, true, now).unwrap();
            ledger.count_create(&me, now);
        }
        let e = ledger.check(CREATE, &me, true, now).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(900)));
        // Another user is not held back; fifteen minutes later this one is not either.
        ledger.check(CREATE, &Caller::user("2"), true, now).unwrap();
        let later = now + chrono::Duration::seconds(901);
        ledger.check(CREATE, &me, true, later).unwrap();
    }

    #[test]
    fn the_three_hour_ceiling_holds_even_when_paced() {
        let ledger = Ledger::default();
        let me = Caller::user("1");
        let start = Utc::now();
        for i in 0..300 {
            let at = start + chrono::Duration::seconds(i * 30);
            ledger.check(CREATE, &me, true, at).unwrap();
            ledger.count_create(&me, at);
        }
        let at = start + chrono::Duration::seconds(300 * 30);
        let e = ledger.check(CREATE, &me, true, at).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.to_string().contains("180 minutes"), "{e}");
    }

    #[test]
    fn app_wide_limits_and_spent_credits_hold_every_account_back() {
        let ledger = Ledger::default();
        let now = Utc::now();
        let mut h = HeaderMap::new();
        h.insert(
            "x-app-limit-24hour-remaining",
            HeaderValue::from_static("0"),
        );
        h.insert(
            "x-app-limit-24hour-reset",
            HeaderValue::from_str(&(now.timestamp() + 3600).to_string()).unwrap(),
        );
        ledger.observe(CREATE, &Caller::user("1"), &h, now);
        let e = ledger
            .check(CREATE, &Caller::user("2"), true, now)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(e.to_string().contains("the app"), "{e}");
        let credits = crate::error::parse_error(
            postd_core::reqwest::StatusCode::PAYMENT_REQUIRED,
            &HeaderMap::new(),
            br#"{"title":"CreditsDepleted","detail":"none"}"#,
            now,
        );
        let ledger = Ledger::default();
        ledger.observe_error("GET /2/users/me", &Caller::user("1"), &credits, now);
        for endpoint in [CREATE, "GET /2/users/:id/tweets"] {
            assert!(
                ledger
                    .check(endpoint, &Caller::user("3"), false, now)
                    .is_err()
            );
        }
    }

    #[test]
    fn an_exhausted_header_blocks_until_reset_and_absurd_resets_are_bounded() {
        let ledger = Ledger::default();
        let me = Caller::user("1");
        let now = Utc::now();
        let mut h = HeaderMap::new();
        h.insert("x-rate-limit-remaining", HeaderValue::from_static("0"));
        h.insert(
            "x-rate-limit-reset",
            HeaderValue::from_str(&(now.timestamp() + 60).to_string()).unwrap(),
        );
        ledger.observe("GET /2/users/me", &me, &h, now);
        let e = ledger
            .check("GET /2/users/me", &me, false, now)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert!(ledger.check(CREATE, &me, false, now).is_ok());
        assert!(
            ledger
                .check(
                    "GET /2/users/me",
                    &me,
                    false,
                    now + chrono::Duration::seconds(61)
                )
                .is_ok()
        );
        h.insert(
            "x-rate-limit-reset",
            HeaderValue::from_static("9999999999999"),
        );
        ledger.observe("GET /2/users/me", &me, &h, now);
        let wait = ledger.blocked_for("GET /2/users/me", &me, now).unwrap();
        assert!(wait <= Duration::from_secs(86_400));
    }
}
