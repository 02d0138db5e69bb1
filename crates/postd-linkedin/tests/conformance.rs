//! The connector conformance checks and the behaviour suite every POSTD
//! connector runs, for a member and for an organization.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::TargetKind;
use postd_testkit::conformance::{self, Subject};
use postd_testkit::linkedin::LinkedInFake;

#[tokio::test]
async fn linkedin_passes_the_conformance_checks() {
    let e = env().await;
    conformance::check_identity(&e.li);
    conformance::check_validate_rejects_bad_posts(&e.li, &e.person);
    conformance::check_validate_rejects_bad_posts(&e.li, &e.org);
    conformance::check_debug_hides(&e.li, e.fake.client_secret());
    conformance::check_debug_hides(&e.creds, &e.token);
    assert!(e.fake.requests().is_empty());
}

async fn run(kind: TargetKind) -> conformance::Report {
    let fake = LinkedInFake::start().await;
    let li = connector(&fake, &[]);
    let subject = Subject::new(&li, &fake, kind)
        .with_retry(retry_policy())
        .with_request_timeout(REQUEST_TIMEOUT);
    conformance::check_connector(&subject).await
}

/// LinkedIn has no PKCE, no native scheduling and no signed timestamp;
/// nothing else may be skipped or apply only in part.
const SKIPPED: [&str; 3] = [
    "oauth_authorization_url_carries_pkce",
    "publish_natively_scheduled",
    "webhook_stale_signature_is_refused",
];

#[tokio::test]
async fn a_member_passes_the_behaviour_suite() {
    let report = run(TargetKind::LinkedInPerson).await;
    assert_eq!(report.skipped(), SKIPPED, "{report}");
    assert!(report.partial().is_empty(), "{report}");
}

#[tokio::test]
async fn an_organization_passes_the_behaviour_suite() {
    let report = run(TargetKind::LinkedInOrganization).await;
    assert_eq!(report.skipped(), SKIPPED, "{report}");
    assert!(report.partial().is_empty(), "{report}");
}
