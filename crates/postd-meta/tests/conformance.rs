//! The connector conformance checks every POSTD connector runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_testkit::conformance;

#[tokio::test]
async fn meta_passes_the_conformance_checks() {
    let e = env().await;
    conformance::check_identity(&e.meta);
    conformance::check_validate_rejects_bad_posts(&e.meta, &e.page);
    conformance::check_validate_rejects_bad_posts(&e.meta, &e.ig);
    conformance::check_debug_hides(&e.meta, e.fake.app_secret());
    conformance::check_debug_hides(&e.creds, &e.user_token);
    assert!(
        e.fake.requests().is_empty(),
        "validation made calls: {:?}",
        e.fake.requests()
    );
}
