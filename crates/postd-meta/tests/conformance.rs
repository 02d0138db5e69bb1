//! The connector conformance checks and the behaviour suite every POSTD
//! connector runs, for a Facebook Page and for an Instagram account.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::TargetKind;
use postd_testkit::conformance::{self, Subject};
use postd_testkit::meta::MetaFake;

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

async fn run(kind: TargetKind) -> conformance::Report {
    let fake = MetaFake::start().await;
    let meta = connector(&fake, |c| c);
    let subject = Subject::new(&meta, &fake, kind)
        .with_retry(retry_policy())
        .with_request_timeout(REQUEST_TIMEOUT);
    conformance::check_connector(&subject).await
}

#[tokio::test]
async fn a_facebook_page_passes_the_behaviour_suite() {
    let report = run(TargetKind::FacebookPage).await;
    // Meta has no PKCE and signs no timestamp; nothing else may be skipped.
    assert_eq!(
        report.skipped(),
        [
            "oauth_authorization_url_carries_pkce",
            "webhook_stale_signature_is_refused"
        ],
        "{report}"
    );
    // debug_token takes the token to inspect in its query, as Meta documents.
    assert_eq!(report.partial(), ["secrets_canary_never_leaks"], "{report}");
}

#[tokio::test]
async fn an_instagram_account_passes_the_behaviour_suite() {
    let report = run(TargetKind::InstagramAccount).await;
    // Instagram does not schedule natively either.
    assert_eq!(
        report.skipped(),
        [
            "oauth_authorization_url_carries_pkce",
            "publish_natively_scheduled",
            "webhook_stale_signature_is_refused"
        ],
        "{report}"
    );
    // Instagram fetches images from public URLs, never from a local file.
    assert_eq!(
        report.partial(),
        [
            "secrets_canary_never_leaks",
            "media_unusable_is_refused_before_any_call"
        ],
        "{report}"
    );
}
