//! The connector conformance checks and the behaviour suite every POSTD connector runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::TargetKind;
use postd_testkit::conformance::{self, Subject};
use postd_testkit::tiktok::TikTokFake;

#[tokio::test]
async fn tiktok_passes_the_conformance_checks() {
    let e = env().await;
    conformance::check_identity(&e.tt);
    conformance::check_validate_rejects_bad_posts(&e.tt, &e.target);
    conformance::check_debug_hides(&e.tt, e.fake.client_secret());
    conformance::check_debug_hides(&e.creds, &e.token);
}

/// TikTok has no native scheduling and no endpoint challenge; nothing else
/// may be skipped or apply only in part.
const SKIPPED: [&str; 3] = [
    "publish_natively_scheduled",
    "webhook_challenge_answers_its_documented_form",
    "webhook_challenge_refuses_forged_tokens",
];

#[tokio::test]
async fn a_creator_passes_the_behaviour_suite() {
    let fake = TikTokFake::start().await;
    let tt = connector(&fake, &[]);
    let subject = Subject::new(&tt, &fake, TargetKind::TikTokAccount)
        .with_retry(retry_policy())
        .with_request_timeout(REQUEST_TIMEOUT);
    let report = conformance::check_connector(&subject).await;
    assert_eq!(report.skipped(), SKIPPED, "{report}");
    // TikTok takes photos only by URL: unusable local files are checked with videos only.
    assert_eq!(
        report.partial(),
        ["media_unusable_is_refused_before_any_call"],
        "{report}"
    );
}
