//! The HTTP client connector tests point at a fake: the default retry
//! policy with millisecond backoff and a two-second request timeout, so a
//! test of retries or timeouts takes milliseconds, not the minutes a
//! production policy would wait.
//!
//! ```
//! let http = postd_testkit::client::http();
//! assert_eq!(http.retry_policy(), &postd_testkit::client::retry_policy());
//! ```

use std::time::Duration;

use postd_core::http::{HttpClient, RetryPolicy};

/// The request timeout of [`http`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// The retry policy of [`http`]: the default, with millisecond backoff.
pub fn retry_policy() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(20))
}

/// A client with [`REQUEST_TIMEOUT`] and [`retry_policy`].
pub fn http() -> HttpClient {
    HttpClient::builder()
        .request_timeout(REQUEST_TIMEOUT)
        .retry(retry_policy())
        .build()
        .expect("an HTTP client with the test settings builds")
}
