//! The pipeline end to end against the Meta and LinkedIn fakes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use postd_core::ErrorKind;
use postd_engine::DeliveryState;
use postd_testkit::{Fault, Timing};

const SETTLE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_post_to_several_accounts_is_published_once_each_with_its_platform_id() {
    let p = pipeline("now").await;
    let (page, _ig) = p.meta_account("meta-1", 1).await;
    let member = p.linkedin_account("li-1", 1).await;
    let scheduled = p
        .engine
        .schedule_now(
            post("launch-1", "We shipped"),
            vec![to("meta-1", &page), to("li-1", &member)],
        )
        .await
        .unwrap();
    assert_eq!(scheduled.deliveries.len(), 2);
    let report = p.engine.run_until_idle(SETTLE).await.unwrap();
    assert_eq!(report.published, 2, "{report:?}");
    let status = p.engine.post_status("launch-1").await.unwrap();
    assert!(status.is_settled());
    let fb = p.meta.facebook_posts(&page.id);
    assert_eq!(fb.len(), 1);
    assert_eq!(p.linkedin.post_creates(), 1);
    for d in &status.deliveries {
        assert_eq!(d.state, DeliveryState::Published, "{d:?}");
        assert_eq!(d.attempts, 1);
    }
    let ids: Vec<String> = status
        .deliveries
        .iter()
        .map(|d| d.published.as_ref().unwrap().id.clone())
        .collect();
    assert!(ids.contains(&fb[0].id), "{ids:?}");
    assert!(ids.contains(&p.linkedin.posts()[0].urn), "{ids:?}");
}

#[tokio::test]
async fn scheduling_the_same_post_again_queues_nothing_new() {
    let p = pipeline("dup").await;
    let (page, _) = p.meta_account("meta-1", 1).await;
    for round in 0..2 {
        let s = p
            .engine
            .schedule_now(post("once", "only once"), vec![to("meta-1", &page)])
            .await
            .unwrap();
        assert_eq!(s.deliveries[0].duplicate, round == 1);
        p.engine.run_until_idle(SETTLE).await.unwrap();
    }
    assert_eq!(p.meta.facebook_posts(&page.id).len(), 1);
}

#[tokio::test]
async fn a_post_no_target_can_take_is_refused_with_every_reason() {
    let p = pipeline("refuse").await;
    let (page, ig) = p.meta_account("meta-1", 1).await;
    let member = p.linkedin_account("li-1", 1).await;
    // Instagram needs media; LinkedIn takes 3,000 characters; the third account is unknown.
    let long = "x".repeat(3_100);
    let err = p
        .engine
        .schedule_now(
            post("bad", &long),
            vec![to("meta-1", &ig), to("li-1", &member), to("nobody", &page)],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidContent);
    let text = err.to_string();
    assert!(text.contains("3 of 3"), "{text}");
    assert!(
        text.contains(&ig.id) && text.contains(&member.id) && text.contains("nobody"),
        "{text}"
    );
    assert!(
        p.engine.post_status("bad").await.is_err(),
        "nothing was queued"
    );
    assert!(p.meta.requests().is_empty() && p.linkedin.requests().is_empty());
}

#[tokio::test]
async fn a_held_post_waits_for_its_time_and_a_native_one_is_handed_over_at_once() {
    let p = pipeline("later").await;
    let (page, ig) = p.meta_account("meta-1", 1).await;
    let member = p.linkedin_account("li-1", 1).await;
    // An hour ahead: the Facebook Page schedules it itself, now.
    let in_an_hour = Utc::now() + chrono::Duration::hours(1);
    p.engine
        .schedule(
            post("native", "tonight"),
            vec![to("meta-1", &page)],
            in_an_hour,
        )
        .await
        .unwrap();
    // Two posts due at the same instant, two seconds ahead: held in the queue.
    let soon = Utc::now() + chrono::Duration::seconds(2);
    for r in ["same-1", "same-2"] {
        // Instagram fetches the image from its URL; LinkedIn takes the text.
        let image = post(r, r).with_media(postd_core::Media::url(
            postd_core::MediaKind::Image,
            url::Url::parse(&format!("https://cdn.example/{r}.jpg")).unwrap(),
        ));
        p.engine
            .schedule(image, vec![to("meta-1", &ig)], soon)
            .await
            .unwrap();
        p.engine
            .schedule(post(&format!("{r}-li"), r), vec![to("li-1", &member)], soon)
            .await
            .unwrap();
    }
    let report = p.engine.run_until_idle(SETTLE).await.unwrap();
    let finished = Utc::now();
    assert_eq!(report.published, 5, "{report:?}");
    let fb = p.meta.facebook_posts(&page.id);
    assert_eq!(fb.len(), 1);
    assert!(!fb[0].published, "natively scheduled, not live");
    assert_eq!(fb[0].scheduled_publish_time, Some(in_an_hour.timestamp()));
    let native = p.engine.post_status("native").await.unwrap();
    assert_eq!(
        native.deliveries[0]
            .published
            .as_ref()
            .unwrap()
            .scheduled_for
            .map(|t| t.timestamp()),
        Some(in_an_hour.timestamp())
    );
    for r in ["same-1", "same-2", "same-1-li", "same-2-li"] {
        let s = p.engine.post_status(r).await.unwrap();
        for d in s.deliveries {
            assert_eq!(d.state, DeliveryState::Published, "{r}: {d:?}");
            // None ran early.
            assert!(
                d.published_at.unwrap() >= soon,
                "{r} went out before its time"
            );
            assert!(d.published_at.unwrap() <= finished);
        }
    }
    assert_eq!(p.meta.instagram_media(&ig.id).len(), 2);
    assert_eq!(p.linkedin.post_creates(), 2);
}

#[tokio::test]
async fn a_lost_answer_is_reconciled_and_never_posted_twice() {
    let p = pipeline("lost").await;
    let (page, _) = p.meta_account("meta-1", 1).await;
    // The platform creates the post, and the answer is lost.
    p.meta
        .server()
        .faults()
        .inject("POST", "/feed", Fault::status(500), 1, Timing::AfterCommit);
    p.engine
        .schedule_now(post("lost-1", "did it go?"), vec![to("meta-1", &page)])
        .await
        .unwrap();
    let report = p.engine.run_until_idle(SETTLE).await.unwrap();
    assert_eq!(report.published, 1, "{report:?}");
    assert_eq!(
        p.meta.facebook_posts(&page.id).len(),
        1,
        "posted exactly once"
    );
    let d = &p.engine.post_status("lost-1").await.unwrap().deliveries[0];
    assert_eq!(d.state, DeliveryState::Published);
    assert!(d.reconciled, "found by reconciliation, not by re-posting");
    assert_eq!(d.errors.len(), 1);
    assert_eq!(d.errors[0].kind, "unknown_outcome");
}

#[tokio::test]
async fn a_post_that_cannot_be_reconciled_goes_to_a_person_as_unconfirmed() {
    let p = pipeline("unconfirmed").await;
    let (page, _) = p.meta_account("meta-1", 1).await;
    p.meta.server().faults().inject(
        "POST",
        "/photos",
        Fault::status(500),
        1,
        Timing::AfterCommit,
    );
    // A photo without text: Facebook's posts cannot be matched by content.
    let photo = postd_core::Media::url(
        postd_core::MediaKind::Image,
        url::Url::parse("https://cdn.example/p.jpg").unwrap(),
    );
    p.engine
        .schedule_now(
            postd_core::Post::new(postd_core::ClientRef::new("photo-1").unwrap()).with_media(photo),
            vec![to("meta-1", &page)],
        )
        .await
        .unwrap();
    p.engine.run_until_idle(SETTLE).await.unwrap();
    assert_eq!(
        p.meta.photos(&page.id).len(),
        1,
        "never posted a second time"
    );
    let dead = p.engine.dead(10, 0).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].state, DeliveryState::Unconfirmed);
    assert!(
        dead[0]
            .dead_reason
            .as_deref()
            .unwrap()
            .contains("unconfirmed"),
        "{:?}",
        dead[0].dead_reason
    );
    // A person checked the page: it is there. Purging ends it without a second post.
    assert!(p.engine.purge(dead[0].id).await.unwrap());
    assert!(p.engine.dead(10, 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_permanent_refusal_goes_dead_with_its_reason_and_can_be_replayed() {
    let p = pipeline("dead").await;
    let (page, _) = p.meta_account("meta-1", 1).await;
    p.meta.server().faults().inject(
        "POST",
        "/feed",
        Fault::status_with_body(
            400,
            r#"{"error":{"message":"(#200) The user hasn't authorized the application to perform this action","type":"OAuthException","code":200}}"#,
        ),
        1,
        Timing::BeforeCommit,
    );
    p.engine
        .schedule_now(post("denied", "hello"), vec![to("meta-1", &page)])
        .await
        .unwrap();
    let report = p.engine.run_until_idle(SETTLE).await.unwrap();
    assert_eq!(report.dead, 1, "{report:?}");
    let dead = p.engine.dead(10, 0).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].state, DeliveryState::Dead);
    assert_eq!(dead[0].errors[0].kind, "permission_denied");
    assert_eq!(dead[0].attempts, 1, "a permanent error is not retried");
    // The permission was granted meanwhile: a replay publishes it.
    let replayed = p.engine.replay(dead[0].id).await.unwrap();
    assert_eq!(replayed.state, DeliveryState::Failed);
    p.engine.run_until_idle(SETTLE).await.unwrap();
    assert_eq!(
        p.engine.delivery(dead[0].id).await.unwrap().state,
        DeliveryState::Published
    );
    assert_eq!(p.meta.facebook_posts(&page.id).len(), 1);
}

#[tokio::test]
async fn temporary_failures_are_retried_and_a_rate_limit_spends_no_attempt() {
    let p = pipeline("retry").await;
    let member = p.linkedin_account("li-1", 1).await;
    p.linkedin.server().faults().inject(
        "POST",
        "/rest/posts",
        Fault::status_with_body(429, r#"{"status":429,"message":"throttled"}"#),
        1,
        Timing::BeforeCommit,
    );
    p.linkedin.server().faults().inject(
        "GET",
        "/v2/userinfo",
        Fault::status(503),
        0,
        Timing::BeforeCommit,
    );
    p.engine
        .schedule_now(post("limited", "slow down"), vec![to("li-1", &member)])
        .await
        .unwrap();
    // LinkedIn's 429 asks for a quarter of an hour: the account is held that long.
    let report = p
        .engine
        .run_until_idle(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(report.waiting, 1, "{report:?}");
    let d = &p.engine.post_status("limited").await.unwrap().deliveries[0];
    assert_eq!(d.state, DeliveryState::Scheduled);
    assert_eq!(
        d.attempts, 0,
        "a rate limit is a wait, not a failed attempt"
    );
    assert!(d.next_run_at.unwrap() > Utc::now() + chrono::Duration::minutes(10));
    assert_eq!(p.linkedin.post_creates(), 0);
}

#[tokio::test]
async fn a_corrupt_payload_goes_dead_without_stopping_the_worker() {
    let p = pipeline("corrupt").await;
    let (page, _) = p.meta_account("meta-1", 1).await;
    p.engine
        .jobs()
        .enqueue(postd_queue::NewJob::new(
            "postd.publish",
            serde_json::json!({"v": 99, "garbage": true}),
        ))
        .await
        .unwrap();
    p.engine
        .schedule_now(post("fine", "still goes"), vec![to("meta-1", &page)])
        .await
        .unwrap();
    let report = p.engine.run_until_idle(SETTLE).await.unwrap();
    assert_eq!((report.published, report.dead), (1, 1), "{report:?}");
    let dead = p.engine.dead(10, 0).await.unwrap();
    assert!(
        dead[0]
            .dead_reason
            .as_deref()
            .unwrap()
            .contains("corrupt delivery payload")
    );
}

#[tokio::test]
async fn a_worker_paused_past_its_lease_cannot_complete_and_its_publish_is_not_repeated() {
    let p = pipeline("paused").await;
    let (page, _) = p.meta_account("meta-1", 1).await;
    let scheduled = p
        .engine
        .schedule_now(
            post("paused-1", "sent by a worker that froze"),
            vec![to("meta-1", &page)],
        )
        .await
        .unwrap();
    let id = scheduled.deliveries[0].id;
    // Worker A claims with a short lease, publishes, and freezes before completing.
    let a = postd_queue::ClaimRequest::new(["postd.publish"], "worker-a")
        .with_lease(Duration::from_millis(200));
    let claimed = p.engine.jobs().claim(&a).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let creds = p
        .engine
        .vault()
        .credentials(TENANT, "meta-1")
        .await
        .unwrap();
    let sent: postd_core::Post =
        serde_json::from_value(claimed[0].payload["post"].clone()).unwrap();
    p.meta_connector
        .publish(&creds, &page, &sent)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Worker B (the engine) takes the expired lease over and asks the platform first.
    let report = p.engine.run_until_idle(SETTLE).await.unwrap();
    assert_eq!(report.published, 1, "{report:?}");
    let d = p.engine.delivery(id).await.unwrap();
    assert_eq!(d.state, DeliveryState::Published);
    assert!(d.reconciled, "found on the platform, not posted again");
    assert_eq!(d.stalls, 1);
    assert_eq!(p.meta.facebook_posts(&page.id).len(), 1);
    // Worker A wakes up: its completion is refused by the fence.
    let late = p
        .engine
        .jobs()
        .complete(claimed[0].id, claimed[0].fence, None)
        .await
        .unwrap_err();
    assert!(
        matches!(late, postd_queue::QueueError::LeaseLost { .. }),
        "{late:?}"
    );
}
