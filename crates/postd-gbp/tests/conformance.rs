//! The connector conformance checks and the behaviour suite every POSTD connector runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::TargetKind;
use postd_testkit::conformance::{self, Subject};
use postd_testkit::gbp::{GbpFake, GbpFakeConfig};

#[tokio::test]
async fn gbp_passes_the_conformance_checks() {
    let e = env().await;
    conformance::check_identity(&e.gbp);
    conformance::check_validate_rejects_bad_posts(&e.gbp, &e.target);
    conformance::check_debug_hides(&e.gbp, e.fake.client_secret());
    conformance::check_debug_hides(&e.creds, &access(&e.creds));
}

/// Pub/Sub authenticates the sender with an OIDC token but signs no body
/// (so no tampered body can break a signature, and there is no timestamp
/// to go stale), and validates no endpoint with a challenge; the token's
/// checks are GBP's own tests (`tests/webhooks.rs`).
const SKIPPED: [&str; 4] = [
    "webhook_bad_signatures_are_refused",
    "webhook_stale_signature_is_refused",
    "webhook_challenge_answers_its_documented_form",
    "webhook_challenge_refuses_forged_tokens",
];

#[tokio::test]
async fn a_location_passes_the_behaviour_suite() {
    // The suite polls pending posts without moving the fake's clock: a
    // review ends after one GET answered PROCESSING.
    let fake = GbpFake::start_with(GbpFakeConfig {
        processing_gets: Some(1),
        ..GbpFakeConfig::default()
    })
    .await;
    let gbp = connector(&fake);
    // The synchronous verify_webhook uses the keys loaded beforehand.
    gbp.load_push_keys().await.unwrap();
    let subject = Subject::new(&gbp, &fake, TargetKind::GbpLocation)
        .with_retry(retry_policy())
        .with_request_timeout(REQUEST_TIMEOUT);
    let report = conformance::check_connector(&subject).await;
    assert_eq!(report.skipped(), SKIPPED, "{report}");
    // Local posts take a photo only by URL: no local file to check.
    assert_eq!(
        report.partial(),
        ["media_unusable_is_refused_before_any_call"],
        "{report}"
    );
}
