//! TikTok's per-minute limits, kept on this side so a burst waits here
//! instead of spending calls on `429`s
//! (<https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit>).
//!
//! Each endpoint has its own sliding one-minute window ("limits for each API
//! are set and enforced separately"). The posting endpoints count per access
//! token: each init (`video/init`, `inbox/video/init`, `content/init`) 6 a
//! minute, `status/fetch` 30, `creator_info` 20. The Display API endpoints
//! (`user/info`, `video/query`, `video/list`) allow 600 a minute each, and
//! the page does not say per what, so each keeps one window for the whole
//! app until TikTok says otherwise. POSTD keeps to 90% of each limit
//! (rounded down), leaving room for calls made elsewhere with the same
//! token.
//!
//! Not counted: the attempts the HTTP layer repeats by itself (an
//! idempotent call after a `5xx` or a timeout), and calls made by other
//! processes; a `429` from TikTok then makes the job wait 61 s.
//!
//! A call that would go over waits when a slot frees within
//! [`INLINE_WAIT`]; otherwise it is refused before it is sent, with a
//! [`ErrorKind::RateLimited`] that says when to try again (the queue waits,
//! not a worker). Tokens are kept as a hash, never as text.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use postd_core::secrecy::{ExposeSecret, SecretString};
use postd_core::{Error, ErrorKind, Platform, Result, Retry};
use sha2::{Digest, Sha256};

/// The window every limit counts over.
const WINDOW: Duration = Duration::from_secs(60);

/// The longest wait taken inline before a call; a longer one is refused.
pub(crate) const INLINE_WAIT: Duration = Duration::from_secs(2);

/// Every this many calls, windows with no call in the last minute are
/// forgotten, so memory follows the tokens in use.
const SWEEP_EVERY: usize = 256;

/// An endpoint with a limit of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Endpoint {
    /// `video/init` (Direct Post): 6 a minute per token.
    VideoInit,
    /// `inbox/video/init`: 6 a minute per token.
    InboxInit,
    /// `content/init` (photos): 6 a minute per token.
    ContentInit,
    /// `status/fetch`: 30 a minute per token.
    Status,
    /// `creator_info/query`: 20 a minute per token.
    CreatorInfo,
    /// `user/info`: 600 a minute, app-wide here.
    UserInfo,
    /// `video/query`: 600 a minute, app-wide here.
    VideoQuery,
    /// `video/list`: 600 a minute, app-wide here.
    VideoList,
}

impl Endpoint {
    /// The endpoint a request goes to, by its URL path (what TikTok counts),
    /// if it has a limit.
    pub(crate) fn of(path: &str) -> Option<Endpoint> {
        const PATHS: [(&str, Endpoint); 8] = [
            ("/v2/post/publish/video/init/", Endpoint::VideoInit),
            ("/v2/post/publish/inbox/video/init/", Endpoint::InboxInit),
            ("/v2/post/publish/content/init/", Endpoint::ContentInit),
            ("/v2/post/publish/status/fetch/", Endpoint::Status),
            (
                "/v2/post/publish/creator_info/query/",
                Endpoint::CreatorInfo,
            ),
            ("/v2/user/info/", Endpoint::UserInfo),
            ("/v2/video/query/", Endpoint::VideoQuery),
            ("/v2/video/list/", Endpoint::VideoList),
        ];
        PATHS
            .iter()
            .find(|(p, _)| path.ends_with(p))
            .map(|(_, e)| *e)
    }

    /// TikTok's documented calls per minute.
    pub(crate) const fn documented(self) -> u32 {
        match self {
            Endpoint::VideoInit | Endpoint::InboxInit | Endpoint::ContentInit => 6,
            Endpoint::Status => 30,
            Endpoint::CreatorInfo => 20,
            Endpoint::UserInfo | Endpoint::VideoQuery | Endpoint::VideoList => 600,
        }
    }

    /// The calls per minute POSTD allows itself: 90% of the documented limit.
    pub(crate) const fn allowed(self) -> u32 {
        self.documented() * 9 / 10
    }

    const fn per_token(self) -> bool {
        !matches!(
            self,
            Endpoint::UserInfo | Endpoint::VideoQuery | Endpoint::VideoList
        )
    }

    const fn name(self) -> &'static str {
        match self {
            Endpoint::VideoInit => "video/init",
            Endpoint::InboxInit => "inbox/video/init",
            Endpoint::ContentInit => "content/init",
            Endpoint::Status => "status/fetch",
            Endpoint::CreatorInfo => "creator_info",
            Endpoint::UserInfo => "user/info (app-wide)",
            Endpoint::VideoQuery => "video/query (app-wide)",
            Endpoint::VideoList => "video/list (app-wide)",
        }
    }
}

type Key = (Endpoint, Option<[u8; 16]>);

/// The windows of one connector (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    windows: HashMap<Key, VecDeque<Instant>>,
    calls: usize,
}

impl Limiter {
    /// Takes a slot for a call to `endpoint` with `token`, waiting up to
    /// [`INLINE_WAIT`] for one; refuses the call when the wait would be longer.
    pub(crate) async fn acquire(&self, endpoint: Endpoint, token: &SecretString) -> Result<()> {
        let key = (endpoint, endpoint.per_token().then(|| token_key(token)));
        // However often the slot is lost to another caller, the wait stays bounded.
        let deadline = Instant::now() + INLINE_WAIT;
        loop {
            let now = Instant::now();
            let Some(wait) = self.try_take(key, now) else {
                return Ok(());
            };
            if now + wait <= deadline {
                tokio::time::sleep(wait).await;
                continue;
            }
            let secs = wait.as_secs() + 1;
            return Err(Error::new(
                ErrorKind::RateLimited,
                format!(
                    "POSTD keeps to {} calls a minute to {} (TikTok allows {}{}); the next slot frees in {secs} s",
                    endpoint.allowed(),
                    endpoint.name(),
                    endpoint.documented(),
                    if endpoint.per_token() {
                        " per access token"
                    } else {
                        ""
                    },
                ),
            )
            .with_retry(Retry::Temporary {
                after: Some(Duration::from_secs(secs)),
            })
            .with_platform(Platform::TikTok)
            .with_code("client_rate_limit"));
        }
    }

    /// Takes a slot now, or answers how long until one frees.
    fn try_take(&self, key: Key, now: Instant) -> Option<Duration> {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.calls += 1;
        if st.calls.is_multiple_of(SWEEP_EVERY) {
            st.windows.retain(|_, w| {
                w.back()
                    .is_some_and(|last| now.duration_since(*last) < WINDOW)
            });
        }
        let window = st.windows.entry(key).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() < key.0.allowed() as usize {
            window.push_back(now);
            return None;
        }
        let oldest = window.front().copied().unwrap_or(now);
        Some((oldest + WINDOW).saturating_duration_since(now))
    }

    /// How many windows are held (for tests).
    #[cfg(test)]
    fn windows(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .windows
            .len()
    }
}

/// A token's key: 16 bytes of its SHA-256, so the token itself is never kept.
fn token_key(token: &SecretString) -> [u8; 16] {
    let digest = Sha256::digest(token.expose_secret().as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn each_window_keeps_to_ninety_percent_and_frees_after_a_minute() {
        assert_eq!(Endpoint::VideoInit.allowed(), 5);
        assert_eq!(Endpoint::Status.allowed(), 27);
        assert_eq!(Endpoint::CreatorInfo.allowed(), 18);
        assert_eq!(Endpoint::UserInfo.allowed(), 540);
        let limiter = Limiter::default();
        let key = (Endpoint::VideoInit, Some(token_key(&token("a"))));
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(limiter.try_take(key, t0 + Duration::from_secs(i)), None);
        }
        // The sixth waits for the first to leave the window.
        let wait = limiter.try_take(key, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(limiter.try_take(key, t0 + Duration::from_secs(60)), None);
        // Another token has its own window, and so has another endpoint.
        let other = (Endpoint::VideoInit, Some(token_key(&token("b"))));
        assert_eq!(limiter.try_take(other, t0 + Duration::from_secs(10)), None);
        let inbox = (Endpoint::InboxInit, Some(token_key(&token("a"))));
        assert_eq!(limiter.try_take(inbox, t0 + Duration::from_secs(10)), None);
    }

    /// A slot that frees within two seconds is waited for; a later one is refused.
    #[tokio::test]
    async fn a_short_wait_is_taken_inline_and_a_long_one_refused() {
        let limiter = Limiter::default();
        let t = token("inline");
        let key = (Endpoint::VideoInit, Some(token_key(&t)));
        let now = Instant::now();
        let Some(almost_a_minute_ago) = now.checked_sub(Duration::from_millis(59_300)) else {
            return; // a machine up for less than a minute cannot hold this window
        };
        assert_eq!(limiter.try_take(key, almost_a_minute_ago), None);
        for _ in 1..5 {
            assert_eq!(limiter.try_take(key, now), None);
        }
        let started = Instant::now();
        limiter.acquire(Endpoint::VideoInit, &t).await.unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(500) && waited < INLINE_WAIT,
            "{waited:?}"
        );
        let err = limiter.acquire(Endpoint::VideoInit, &t).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.is_temporary());
    }

    #[test]
    fn idle_windows_are_forgotten() {
        let limiter = Limiter::default();
        let t0 = Instant::now();
        for i in 0..SWEEP_EVERY {
            let key = (Endpoint::Status, Some(token_key(&token(&i.to_string()))));
            limiter.try_take(key, t0);
        }
        assert!(limiter.windows() <= SWEEP_EVERY);
        let later = t0 + WINDOW + Duration::from_secs(1);
        for i in 0..SWEEP_EVERY {
            let key = (
                Endpoint::Status,
                Some(token_key(&token(&format!("new{i}")))),
            );
            limiter.try_take(key, later);
        }
        assert!(
            limiter.windows() <= SWEEP_EVERY + 1,
            "{} windows",
            limiter.windows()
        );
    }

    #[test]
    fn every_limited_endpoint_is_found_by_its_path() {
        for (path, e) in [
            ("/v2/post/publish/video/init/", Endpoint::VideoInit),
            ("/v2/post/publish/inbox/video/init/", Endpoint::InboxInit),
            ("/v2/post/publish/content/init/", Endpoint::ContentInit),
            ("/v2/post/publish/status/fetch/", Endpoint::Status),
            (
                "/v2/post/publish/creator_info/query/",
                Endpoint::CreatorInfo,
            ),
            ("/v2/user/info/", Endpoint::UserInfo),
            ("/v2/video/query/", Endpoint::VideoQuery),
            ("/v2/video/list/", Endpoint::VideoList),
            // A base URL with a path of its own (a sandbox, a proxy).
            ("/tiktok/v2/video/list/", Endpoint::VideoList),
        ] {
            assert_eq!(Endpoint::of(path), Some(e), "{path}");
        }
        assert_eq!(Endpoint::of("/video/"), None, "an upload URL");
        assert_eq!(Endpoint::of("/v2/oauth/token/"), None);
    }
}
