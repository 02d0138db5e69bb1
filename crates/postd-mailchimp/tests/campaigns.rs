//! Campaigns against the fake: created, checked, sent or scheduled exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use postd_core::{Connector, ErrorKind, PublishOutcome, PublishStatus, PublishedPost, Retry};
use postd_testkit::{Fault, Timing};

async fn settle(e: &Env, outcome: PublishOutcome) -> Result<PublishedPost, PublishStatus> {
    let mut handle = match outcome {
        PublishOutcome::Published(p) => return Ok(p),
        PublishOutcome::Pending(h) => h,
        other => panic!("{other:?}"),
    };
    for _ in 0..20 {
        match e.mc.publish_status(&e.creds, &handle).await.unwrap() {
            PublishStatus::Published(p) => return Ok(p),
            PublishStatus::Processing { next, .. } => {
                e.fake.finish_sending();
                handle = next;
            }
            failed => return Err(failed),
        }
    }
    panic!("never settled")
}

#[tokio::test]
async fn a_campaign_is_created_filled_checked_and_sent_once() {
    let e = env().await;
    let outcome =
        e.mc.publish(&e.creds, &e.target, &post("spring", "Spring news"))
            .await
            .unwrap();
    let PublishOutcome::Pending(h) = outcome.clone() else {
        panic!("{outcome:?}")
    };
    assert_eq!(e.fake.sends(&h.id), 1);
    let c = e.fake.campaign(&h.id).unwrap();
    assert!(
        c.settings["title"].as_str().unwrap().contains("[postd:"),
        "{c:?}"
    );
    assert!(c.html.as_deref().unwrap().contains("See you soon"), "{c:?}");
    let published = settle(&e, outcome).await.unwrap();
    assert_eq!(published.id, h.id);
    assert!(published.url.is_some());
    assert_eq!(e.fake.campaign(&h.id).unwrap().status, "sent");
    // Publishing the same post again sends nothing: it is found, as it is.
    let again =
        e.mc.publish(&e.creds, &e.target, &post("spring", "Spring news"))
            .await
            .unwrap();
    assert!(
        matches!(again, PublishOutcome::Published(ref p) if p.id == h.id),
        "{again:?}"
    );
    assert_eq!(e.fake.sends(&h.id), 1);
    assert_eq!(e.fake.campaigns().len(), 1);
}

#[tokio::test]
async fn a_lost_send_answer_retried_sends_exactly_once() {
    let e = env().await;
    e.fake.server().faults().inject(
        "POST",
        "/actions/send",
        Fault::Reset,
        1,
        Timing::AfterCommit,
    );
    let p = post("lost-send", "Lost answer");
    let started = chrono::Utc::now();
    let err = e.mc.publish(&e.creds, &e.target, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
    assert_eq!(err.retry(), Retry::Permanent);
    // The job is retried: the campaign is found by its marker, not sent again.
    let retried = e.mc.publish(&e.creds, &e.target, &p).await.unwrap();
    let id = match &retried {
        PublishOutcome::Pending(h) => h.id.clone(),
        PublishOutcome::Published(p) => p.id.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(e.fake.sends(&id), 1, "exactly one send");
    assert_eq!(e.fake.campaigns().len(), 1);
    let found =
        e.mc.find_published(&e.creds, &e.target, &p.fingerprint(started))
            .await
            .unwrap()
            .expect("found");
    assert_eq!(found.id, id);
    let never = post("never", "Never sent");
    assert_eq!(
        e.mc.find_published(&e.creds, &e.target, &never.fingerprint(started))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_lost_create_answer_leaves_a_draft_the_next_publish_reuses() {
    let e = env().await;
    e.fake.server().faults().inject(
        "POST",
        "/3.0/campaigns",
        Fault::status(500),
        1,
        Timing::AfterCommit,
    );
    let p = post("lost-create", "Draft kept");
    let err = e.mc.publish(&e.creds, &e.target, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownOutcome, "{err}");
    assert_eq!(e.fake.campaigns().len(), 1, "the draft exists");
    // Reconciliation: a draft was never sent.
    assert_eq!(
        e.mc.find_published(&e.creds, &e.target, &p.fingerprint(chrono::Utc::now()))
            .await
            .unwrap(),
        None
    );
    let outcome = e.mc.publish(&e.creds, &e.target, &p).await.unwrap();
    let PublishOutcome::Pending(h) = outcome else {
        panic!()
    };
    assert_eq!(e.fake.campaigns().len(), 1, "the draft was reused");
    assert_eq!(e.fake.sends(&h.id), 1);
}

#[tokio::test]
async fn a_failed_checklist_returns_its_items_and_keeps_the_draft() {
    let e = env().await;
    e.fake.set_domain_verified(&e.account, "acme.com", false);
    let p = post("unverified", "Hello");
    let err = e.mc.publish(&e.creds, &e.target, &p).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    assert!(!err.is_temporary());
    assert!(err.message().contains("send checklist"), "{err}");
    assert_eq!(e.fake.campaigns().len(), 1);
    assert_eq!(e.fake.campaigns()[0].status, "save");
    assert!(e.fake.campaigns().iter().all(|c| e.fake.sends(&c.id) == 0));
    // Fixed: the same draft is filled and sent.
    e.fake.set_domain_verified(&e.account, "acme.com", true);
    let outcome = e.mc.publish(&e.creds, &e.target, &p).await.unwrap();
    assert!(matches!(outcome, PublishOutcome::Pending(_)));
    assert_eq!(e.fake.campaigns().len(), 1);
}

#[tokio::test]
async fn keys_are_checked_before_any_request_and_refusals_told_apart() {
    let e = env().await;
    let before = e.fake.requests().len();
    let bad =
        postd_core::Credentials::ApiKey("0123456789abcdef0123456789abcdef-evil.example".into());
    let err =
        e.mc.publish(&bad, &e.target, &post("x", "Hello"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert_eq!(e.fake.requests().len(), before, "no request");
    let other_dc = e.fake.seed_api_key_for_dc(&e.account, "us9");
    let err =
        e.mc.targets(&postd_core::Credentials::ApiKey(other_dc.into()))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReauthRequired, "{err}");
    assert!(err.message().contains("data center"), "{err}");
    e.fake.revoke_key(&e.key);
    let h = e.mc.health_check(&e.creds).await.unwrap();
    assert!(!h.token_valid);
}

#[tokio::test]
async fn a_segment_still_processing_is_checked_once_more() {
    let e = env().await;
    let seg = e
        .fake
        .seed_segment(&e.target.id, "New", &["ada@example.com"]);
    e.fake.set_segment_processing(seg, true);
    let with_segment = |r: &str| {
        let mut p = post(r, "Segmented");
        let o = p.options.mailchimp.take().unwrap().with_segment(seg);
        p.with_mailchimp(o)
    };
    // Still processing after the recheck: "later", not "never".
    let err =
        e.mc.publish(&e.creds, &e.target, &with_segment("seg-1"))
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent, "{err}");
    assert!(err.is_temporary(), "{err}");
    // Done processing during the wait: sent on the recheck.
    let fake = &e.fake;
    let second = with_segment("seg-1");
    let (outcome, ()) = tokio::join!(e.mc.publish(&e.creds, &e.target, &second), async {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        fake.set_segment_processing(seg, false);
    });
    let PublishOutcome::Pending(h) = outcome.unwrap() else {
        panic!()
    };
    assert_eq!(e.fake.sends(&h.id), 1);
    assert_eq!(e.fake.campaign(&h.id).unwrap().segment_id, Some(seg));
    assert_eq!(e.fake.campaigns().len(), 1, "the draft was reused");
}

#[tokio::test]
async fn scheduling_needs_a_paid_plan_and_a_scheduled_campaign_can_be_unscheduled() {
    let e = env().await;
    let at = postd_mailchimp::next_slot(chrono::Utc::now() + chrono::Duration::hours(2));
    let scheduled = post("later", "Later").with_schedule_at(at);
    let outcome = e.mc.publish(&e.creds, &e.target, &scheduled).await.unwrap();
    let PublishOutcome::Pending(h) = outcome else {
        panic!()
    };
    assert_eq!(e.fake.campaign(&h.id).unwrap().status, "schedule");
    let PublishStatus::Processing {
        state, retry_after, ..
    } = e.mc.publish_status(&e.creds, &h).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(state, "schedule");
    assert!(
        retry_after >= std::time::Duration::from_secs(3600),
        "{retry_after:?}"
    );
    e.mc.unschedule(&e.creds, &h.id).await.unwrap();
    let status = e.mc.publish_status(&e.creds, &h).await.unwrap();
    assert!(
        matches!(status, PublishStatus::Failed { ref code, .. } if code == "campaign_back_to_draft"),
        "{status:?}"
    );

    e.fake.set_paid_plan(&e.account, false);
    let free = post("free", "Free plan").with_schedule_at(at);
    let err = e.mc.publish(&e.creds, &e.target, &free).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.message().contains("paid plan"), "{err}");
    let h = e.mc.health_check(&e.creds).await.unwrap();
    assert!(
        h.notes.iter().any(|n| n.contains("free plan")),
        "{:?}",
        h.notes
    );
}

#[tokio::test]
async fn a_send_refused_as_a_repeat_is_recognised_and_test_emails_go_first() {
    let e = env().await;
    // Mailchimp took the send but answered 400 (as a repeat is answered).
    e.fake.server().faults().inject(
        "POST",
        "/actions/send",
        Fault::status_with_body(
            400,
            r#"{"type":"https://mailchimp.com/developer/marketing/docs/errors/","title":"Bad Request","status":400,"detail":"Your Campaign is not ready to send."}"#,
        ),
        1,
        Timing::AfterCommit,
    );
    let mut p = post("repeat", "Repeat");
    let o = p
        .options
        .mailchimp
        .take()
        .unwrap()
        .with_test_emails(["qa@acme.com"]);
    let p = p.with_mailchimp(o);
    let outcome = e.mc.publish(&e.creds, &e.target, &p).await.unwrap();
    let id = match outcome {
        PublishOutcome::Pending(h) => h.id,
        PublishOutcome::Published(p) => p.id,
        other => panic!("{other:?}"),
    };
    assert_eq!(e.fake.sends(&id), 1);
    let c = e.fake.campaign(&id).unwrap();
    assert_eq!(c.tests.len(), 1, "{c:?}");
    assert_eq!(c.tests[0].0, ["qa@acme.com"]);
}

#[tokio::test]
async fn requests_stay_under_the_connection_limit() {
    let e = env_with(postd_testkit::mailchimp::MailchimpFakeConfig {
        response_delay: std::time::Duration::from_millis(100),
        ..postd_testkit::mailchimp::MailchimpFakeConfig::default()
    })
    .await;
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let (mc, creds) = (e.mc.clone(), e.creds.clone());
            tokio::spawn(async move { mc.targets(&creds).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let most = e.fake.max_in_flight(&e.key);
    assert!(
        most > 1 && most <= postd_mailchimp::DEFAULT_MAX_CONCURRENCY,
        "{most}"
    );
}

#[tokio::test]
async fn a_template_campaign_sends_its_sections() {
    let e = env().await;
    let p = postd_core::Post::new(postd_core::ClientRef::new("tpl").unwrap()).with_mailchimp(
        postd_core::MailchimpOptions::new()
            .with_subject_line("From the template")
            .with_template(42)
            .with_template_section("body", "<p>Spring is here.</p>"),
    );
    let outcome = e.mc.publish(&e.creds, &e.target, &p).await.unwrap();
    let PublishOutcome::Pending(h) = outcome else {
        panic!()
    };
    assert_eq!(e.fake.sends(&h.id), 1);
    let both = postd_core::Post::new(postd_core::ClientRef::new("tpl2").unwrap()).with_mailchimp(
        postd_core::MailchimpOptions::new()
            .with_subject_line("x")
            .with_template(42)
            .with_html("<p>own</p>"),
    );
    assert_eq!(
        e.mc.validate(&e.target, &both).unwrap_err().kind(),
        ErrorKind::InvalidContent
    );
}
