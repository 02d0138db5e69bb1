//! Audiences, members, batches, webhooks registration, reports and OAuth against the fake.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use common::*;
use postd_core::oauth::{AuthorizationRequest, CodeExchange};
use postd_core::{Connector, Credentials, ErrorKind, TargetKind};
use postd_mailchimp::{MemberStatus, MemberUpdate};

#[tokio::test]
async fn audiences_are_targets() {
    let e = env().await;
    e.fake
        .seed_list(&e.account, "Customers", "Acme", "hello@acme.com");
    let targets = e.mc.targets(&e.creds).await.unwrap();
    assert_eq!(targets.len(), 2);
    assert!(
        targets
            .iter()
            .all(|t| t.kind == TargetKind::MailchimpAudience)
    );
    assert!(
        targets
            .iter()
            .any(|t| t.id == e.target.id && t.name.as_deref() == Some("Newsletter"))
    );
}

#[tokio::test]
async fn members_are_upserted_by_hash_and_compliance_is_respected() {
    let e = env().await;
    let list = &e.target.id;
    let update = MemberUpdate::new("New.Person@Example.com", MemberStatus::Subscribed)
        .with_merge_field("FNAME", "New");
    let first = e.mc.upsert_member(&e.creds, list, &update).await.unwrap();
    let again = e.mc.upsert_member(&e.creds, list, &update).await.unwrap();
    assert_eq!(
        first.id,
        postd_mailchimp::subscriber_hash("new.person@example.com")
    );
    assert_eq!(first.id, again.id, "a PUT again is the same member");
    assert_eq!(first.status, MemberStatus::Subscribed);
    let held = e.fake.member(list, "new.person@example.com").unwrap();
    assert_eq!(held.merge_fields["FNAME"], "New");

    e.mc.tag_member(&e.creds, list, "new.person@example.com", &["vip"], &[])
        .await
        .unwrap();
    assert!(
        e.fake
            .member(list, "new.person@example.com")
            .unwrap()
            .tags
            .contains(&"vip".to_owned())
    );

    // Unsubscribed: not silently subscribed again.
    e.mc.set_member_status(
        &e.creds,
        list,
        "new.person@example.com",
        MemberStatus::Unsubscribed,
    )
    .await
    .unwrap();
    let err =
        e.mc.set_member_status(
            &e.creds,
            list,
            "new.person@example.com",
            MemberStatus::Subscribed,
        )
        .await;
    // Mailchimp either refuses (compliance) or the connector's caller is told to use pending.
    if let Err(err) = &err {
        assert!(
            matches!(
                err.kind(),
                ErrorKind::PermissionDenied | ErrorKind::InvalidContent
            ),
            "{err}"
        );
    }
    // Pending (double opt-in) is the way back.
    e.mc.set_member_status(
        &e.creds,
        list,
        "new.person@example.com",
        MemberStatus::Pending,
    )
    .await
    .unwrap();

    let bad =
        e.mc.upsert_member(
            &e.creds,
            list,
            &MemberUpdate::new("not-an-address", MemberStatus::Subscribed),
        )
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidContent);

    e.mc.archive_member(&e.creds, list, "ada@example.com")
        .await
        .unwrap();
    e.mc.archive_member(&e.creds, list, "ada@example.com")
        .await
        .unwrap();
    e.mc.delete_member_permanently(&e.creds, list, "grace@example.com")
        .await
        .unwrap();
    assert!(e.fake.member(list, "grace@example.com").is_none());
}

#[tokio::test]
async fn a_bulk_import_runs_as_a_batch_until_finished() {
    let e = env().await;
    let updates: Vec<MemberUpdate> = (0..50)
        .map(|i| MemberUpdate::new(format!("bulk{i}@example.com"), MemberStatus::Subscribed))
        .collect();
    let batch =
        e.mc.import_members(&e.creds, &e.target.id, &updates)
            .await
            .unwrap();
    assert_eq!(batch.total_operations, 50);
    assert!(!batch.is_finished());
    e.fake.advance_time(3_600);
    let done = e.mc.batch_status(&e.creds, &batch.id).await.unwrap();
    assert!(done.is_finished(), "{done:?}");
    assert_eq!(done.finished_operations, 50);
    assert!(e.fake.member(&e.target.id, "bulk7@example.com").is_some());
}

#[tokio::test]
async fn the_webhook_is_registered_once_with_the_audiences_own_tag() {
    let e = env().await;
    let base = url::Url::parse("https://hooks.example.com/webhooks/mailchimp").unwrap();
    let first =
        e.mc.register_webhook(&e.creds, &e.target.id, &base)
            .await
            .unwrap();
    let again =
        e.mc.register_webhook(&e.creds, &e.target.id, &base)
            .await
            .unwrap();
    assert_eq!(first.id, again.id);
    assert!(
        !format!("{first:?}").contains("hooks.example.com"),
        "the URL's tag is not shown"
    );
    let held = e.fake.webhooks(&e.target.id);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].sources["api"], true);
    // Each audience has its own tag: one audience's URL says nothing of another's.
    let expected = e.mc.config().webhook_url(&base, &e.target.id).unwrap();
    assert_eq!(held[0].url, expected.as_str());
    let other = e
        .fake
        .seed_list(&e.account, "Other", "Acme", "news@acme.com");
    let other_url = e.mc.config().webhook_url(&base, &other).unwrap();
    assert_ne!(other_url.path(), expected.path());
    // Mailchimp's delivery to it verifies; the same body at the other audience's URL does not.
    let body = postd_testkit::mailchimp::webhook_form(
        "subscribe",
        "2026-03-01 10:00:00",
        &[
            ("list_id", e.target.id.as_str()),
            ("email", "ada@example.com"),
        ],
    );
    let ok = postd_testkit::mailchimp::webhook_request(&body).with_path(expected.path());
    assert_eq!(
        e.mc.verify_webhook(&ok).unwrap()[0].target_id.as_deref(),
        Some(e.target.id.as_str())
    );
    let forged = postd_testkit::mailchimp::webhook_request(&body).with_path(other_url.path());
    assert_eq!(
        e.mc.verify_webhook(&forged).unwrap_err().kind(),
        ErrorKind::InvalidContent
    );
}

#[tokio::test]
async fn reports_and_audience_stats_are_typed_metrics() {
    let e = env().await;
    let outcome =
        e.mc.publish(&e.creds, &e.target, &post("report", "Reported"))
            .await
            .unwrap();
    let postd_core::PublishOutcome::Pending(h) = outcome else {
        panic!()
    };
    e.fake.finish_sending();
    let m = e.mc.post_metrics(&e.creds, &e.target, &h.id).await.unwrap();
    assert!(m.get("emails_sent").is_some(), "{m:?}");
    assert!(m.get("unique_opens").is_some(), "{m:?}");
    let since = chrono::Utc::now() - chrono::Duration::days(30);
    let stats =
        e.mc.target_metrics(
            &e.creds,
            &e.target,
            postd_core::DateRange::new(since, chrono::Utc::now()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(stats.get("member_count").and_then(|s| s.total()), Some(2.0));
}

#[tokio::test]
async fn oauth_connects_without_scopes_or_pkce_and_keeps_the_data_center() {
    let e = env().await;
    let auth =
        e.mc.authorize_url(&AuthorizationRequest::new(
            url::Url::parse("https://app.example/cb/mc").unwrap(),
        ))
        .unwrap();
    let q: HashMap<String, String> = auth.url.query_pairs().into_owned().collect();
    assert!(!q.contains_key("scope") && !q.contains_key("code_challenge"));
    assert!(q["state"].len() >= 22);
    let code = e.fake.issue_code(&e.account, auth.redirect_uri.as_str());
    let state = auth.state.as_str().to_owned();
    let creds =
        e.mc.exchange_code(CodeExchange::new(
            code,
            state,
            auth.state,
            None,
            auth.redirect_uri,
        ))
        .await
        .unwrap();
    let Credentials::OAuth(t) = &creds else {
        panic!()
    };
    assert_eq!(t.expires_at, None, "Mailchimp tokens do not expire");
    assert!(t.refresh_token.is_none());
    let targets = e.mc.targets(&creds).await.unwrap();
    assert!(targets.iter().any(|t| t.id == e.target.id));
    assert_eq!(
        e.mc.refresh(&creds).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}
