//! The connector conformance checks and the behaviour suite every POSTD connector runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::TargetKind;
use postd_testkit::conformance::{self, Subject};
use postd_testkit::x::XFake;

#[tokio::test]
async fn x_passes_the_conformance_checks() {
    let e = env().await;
    conformance::check_identity(&e.x);
    conformance::check_validate_rejects_bad_posts(&e.x, &e.target);
    conformance::check_debug_hides(&e.x, &e.fake.config().client_secret);
    conformance::check_debug_hides(&e.x, &e.fake.config().consumer_secret);
    conformance::check_debug_hides(&e.creds, &access(&e.creds));
}

/// X has no native scheduling and signs no timestamp (replays are told apart
/// by `event_uuid`); nothing else may be skipped or apply only in part.
const SKIPPED: [&str; 2] = [
    "publish_natively_scheduled",
    "webhook_stale_signature_is_refused",
];

#[tokio::test]
async fn a_user_passes_the_behaviour_suite() {
    let fake = XFake::start().await;
    let x = connector(&fake, &[]);
    let subject = Subject::new(&x, &fake, TargetKind::TwitterAccount)
        .with_retry(retry_policy())
        .with_request_timeout(REQUEST_TIMEOUT);
    let report = conformance::check_connector(&subject).await;
    assert_eq!(report.skipped(), SKIPPED, "{report}");
    assert!(report.partial().is_empty(), "{report}");
}
