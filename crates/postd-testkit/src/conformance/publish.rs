//! Publishing behaviours: publish now, native scheduling, an unknown outcome
//! that is never re-posted, and validation before any call.

use std::time::Duration;

use chrono::{DateTime, Utc};
use postd_core::{ErrorKind, Media, MediaKind, Post, Retry};
use url::Url;

use super::{Outcome, Received, Route, Subject, ensure, sample_post};
use crate::{Fault, Timing};

fn creates(route: Route, seen: &[Received]) -> usize {
    seen.iter().filter(|r| route.matches(r)).count()
}

/// Publishing now makes exactly one post, through exactly one create call.
pub async fn publish_now_makes_exactly_one_post(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "publish: publishing now makes exactly one post";
    let seeded = s.seed();
    let route = s.fake.create_route(&seeded.target);
    let before = s.received_count().await;
    let post = sample_post(s, &seeded.target, "now");
    let published = s
        .publish_settled(RULE, &seeded.credentials, &seeded.target, &post)
        .await;
    let seen = s.received_since(before).await;
    let ids = s.fake.post_ids(&seeded.target);
    ensure!(
        s,
        RULE,
        ids == [published.id.clone()],
        "publish answered {published:?}; the platform holds {ids:?}"
    );
    ensure!(
        s,
        RULE,
        creates(route, &seen) == 1,
        "{} create calls ({route:?})",
        creates(route, &seen)
    );
    ensure!(
        s,
        RULE,
        published.scheduled_for.is_none(),
        "a post published now carries scheduled_for: {published:?}"
    );
    Outcome::Passed
}

/// Where the target schedules natively, a post scheduled inside the window
/// is one post on the platform and its outcome carries `scheduled_for`.
pub async fn publish_natively_scheduled(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "publish: a natively scheduled post carries scheduled_for";
    let seeded = s.seed();
    let Some(window) = s.caps(&seeded.target).native_scheduling else {
        return Outcome::Skipped(
            "the target does not schedule natively (native_scheduling: None)".into(),
        );
    };
    let ahead =
        window.min_ahead + (window.max_ahead - window.min_ahead).min(Duration::from_secs(7200)) / 2;
    // On a quarter hour: every scheduler takes one (Mailchimp's takes nothing else).
    let at = quarter_hour(Utc::now() + ahead);
    let post = sample_post(s, &seeded.target, "scheduled").with_schedule_at(at);
    let outcome = s.expect_ok(
        RULE,
        "publish",
        s.connector
            .publish(&seeded.credentials, &seeded.target, &post)
            .await,
    );
    // A platform that holds the post until its time (and reviews it then) is
    // followed past that time.
    if matches!(outcome, postd_core::PublishOutcome::Pending(_)) {
        s.fake.reach_scheduled_time(at);
    }
    let published = s.settle(RULE, &seeded.credentials, outcome).await;
    ensure!(
        s,
        RULE,
        published.scheduled_for == Some(at),
        "scheduled for {at}, the outcome says {:?}",
        published.scheduled_for
    );
    let ids = s.fake.post_ids(&seeded.target);
    ensure!(
        s,
        RULE,
        ids == [published.id.clone()],
        "publish answered {published:?}; the platform holds {ids:?}"
    );
    Outcome::Passed
}

/// The first quarter hour (UTC) at or after `at`.
fn quarter_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    let secs = at.timestamp();
    let up = secs + (900 - secs.rem_euclid(900)) % 900;
    DateTime::from_timestamp(up, 0).unwrap_or(at)
}

/// A create whose answer is lost after the post exists (a reset connection,
/// a 500, a timeout) is never sent again: publish answers
/// [`ErrorKind::UnknownOutcome`] (permanent) or the post the connector
/// found itself, the platform holds exactly one post, and `find_published`
/// finds it by its fingerprint (and finds nothing for a post never sent).
pub async fn publish_unknown_outcome_is_never_reposted(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "publish: an unknown outcome is never re-posted";
    let mut faults = vec![
        ("a reset connection", Fault::Reset),
        ("a 500", Fault::status(500)),
    ];
    if let Some(timeout) = s.request_timeout {
        faults.push(("a timeout", Fault::Delay(timeout + Duration::from_secs(1))));
    }
    for (what, fault) in faults {
        let seeded = s.seed();
        let route = s.fake.create_route(&seeded.target);
        let struck = s.fake.faults().injected();
        s.fake.faults().inject(
            route.method,
            route.path_contains,
            fault,
            1,
            Timing::AfterCommit,
        );
        let post = sample_post(s, &seeded.target, "unknown");
        let started = Utc::now() - chrono::Duration::seconds(2);
        let before = s.received_count().await;
        let result = s
            .connector
            .publish(&seeded.credentials, &seeded.target, &post)
            .await;
        let published = match result {
            Err(e) => {
                ensure!(
                    s,
                    RULE,
                    e.kind() == ErrorKind::UnknownOutcome && e.retry() == Retry::Permanent,
                    "{what} after commit: expected a permanent UnknownOutcome, got {e} ({:?})",
                    e.retry()
                );
                None
            }
            Ok(outcome) => Some(s.settle(RULE, &seeded.credentials, outcome).await),
        };
        ensure!(
            s,
            RULE,
            s.fake.faults().injected() == struck + 1,
            "{what}: the fault never struck {route:?}"
        );
        let seen = s.received_since(before).await;
        ensure!(
            s,
            RULE,
            creates(route, &seen) == 1,
            "{what}: the create was sent {} times",
            creates(route, &seen)
        );
        let ids = s.fake.post_ids(&seeded.target);
        ensure!(
            s,
            RULE,
            ids.len() == 1,
            "{what}: the platform holds {ids:?}"
        );
        // A platform that shows a post only once it has processed it may
        // answer "not yet" (a temporary unknown outcome): let it finish, ask again.
        let mut lookup = s
            .connector
            .find_published(
                &seeded.credentials,
                &seeded.target,
                &post.fingerprint(started),
            )
            .await;
        for _ in 0..3 {
            match &lookup {
                Err(e)
                    if e.kind() == ErrorKind::UnknownOutcome
                        && matches!(e.retry(), Retry::Temporary { .. }) =>
                {
                    s.fake.finish_processing();
                    lookup = s
                        .connector
                        .find_published(
                            &seeded.credentials,
                            &seeded.target,
                            &post.fingerprint(started),
                        )
                        .await;
                }
                _ => break,
            }
        }
        let found = s.expect_ok(RULE, "find_published", lookup);
        // What the platform holds now that it finished processing.
        let ids = s.fake.post_ids(&seeded.target);
        let Some(found) = found else {
            s.fail(
                RULE,
                format!("{what}: find_published did not find the post"),
            )
        };
        ensure!(
            s,
            RULE,
            found.id == ids[0],
            "{what}: find_published found {}, the platform holds {ids:?}",
            found.id
        );
        if let Some(p) = &published {
            ensure!(
                s,
                RULE,
                p.id == found.id,
                "{what}: publish answered {} but find_published found {}",
                p.id,
                found.id
            );
        }
        let never = sample_post(s, &seeded.target, "never-sent");
        // "Absent", or "cannot tell yet" where the platform cannot prove absence; never a post.
        let none = s.expect_lookup(
            RULE,
            "find_published of a post never sent",
            s.connector
                .find_published(
                    &seeded.credentials,
                    &seeded.target,
                    &never.fingerprint(started),
                )
                .await,
        );
        ensure!(
            s,
            RULE,
            none.is_none(),
            "{what}: find_published found {none:?} for a post never sent"
        );
    }
    Outcome::Passed
}

/// Posts the capabilities rule out are refused by `validate` and by
/// `publish` with the same kind, before any call.
pub async fn publish_validate_refuses_before_any_call(s: &Subject<'_>) -> Outcome {
    const RULE: &str = "publish: validate refuses a post the target cannot take, before any call";
    let seeded = s.seed();
    let target = &seeded.target;
    let caps = s.caps(target);
    let good = || sample_post(s, target, "invalid");
    let item = |kind: MediaKind| Media::bytes(kind, vec![0xffu8; 16]);
    let mut cases: Vec<(&str, Post, &[ErrorKind])> = Vec::new();
    const CONTENT: &[ErrorKind] = &[ErrorKind::InvalidContent];
    const MEDIA: &[ErrorKind] = &[ErrorKind::InvalidContent, ErrorKind::MediaRejected];
    if let Some(max) = caps.text_max_chars {
        cases.push((
            "text one character too long",
            good().with_text("a".repeat(max + 1)),
            CONTENT,
        ));
    }
    cases.push((
        "an empty post",
        Post::new(good().client_ref.clone()),
        CONTENT,
    ));
    let kind = caps
        .media
        .kinds
        .first()
        .copied()
        .unwrap_or(MediaKind::Image);
    let mut crowded = good();
    crowded.media.clear();
    for _ in 0..=caps.media.max_items {
        crowded = crowded.with_media(item(kind));
    }
    cases.push(("one media item too many", crowded, MEDIA));
    if !caps.media.kinds.contains(&MediaKind::Document) {
        let mut doc = good();
        doc.media.clear();
        cases.push((
            "a media kind the target does not take",
            doc.with_media(item(MediaKind::Document)),
            &[
                ErrorKind::InvalidContent,
                ErrorKind::MediaRejected,
                ErrorKind::Unsupported,
            ],
        ));
    }
    if !caps.links {
        let link =
            Url::parse("https://example.com/conformance").unwrap_or_else(|e| s.fail(RULE, e));
        cases.push((
            "a link the target cannot carry",
            good().with_link(link),
            CONTENT,
        ));
    }
    if !caps.text_only {
        let mut bare = good();
        bare.media.clear();
        cases.push(("text only where media is needed", bare, CONTENT));
    }
    if let Some(window) = caps.native_scheduling {
        let soon = Utc::now() + window.min_ahead / 2;
        let late = Utc::now() + window.max_ahead + Duration::from_secs(86_400);
        cases.push((
            "scheduled sooner than the window",
            good().with_schedule_at(soon),
            CONTENT,
        ));
        cases.push((
            "scheduled later than the window",
            good().with_schedule_at(late),
            CONTENT,
        ));
    }
    let before = s.received_count().await;
    for (what, post, kinds) in &cases {
        let checked = s.connector.validate(target, post);
        let Err(e) = checked else {
            s.fail(RULE, format!("{what}: validate accepted it"))
        };
        ensure!(
            s,
            RULE,
            kinds.contains(&e.kind()),
            "{what}: validate answered {e}, not one of {kinds:?}"
        );
        let published = s.connector.publish(&seeded.credentials, target, post).await;
        match published {
            Err(p) if p.kind() == e.kind() => {}
            other => s.fail(
                RULE,
                format!("{what}: validate said {e}, publish answered {other:?}"),
            ),
        }
    }
    let seen = s.received_since(before).await;
    ensure!(
        s,
        RULE,
        seen.is_empty(),
        "refused posts reached the platform: {seen:?}"
    );
    ensure!(
        s,
        RULE,
        s.fake.post_ids(target).is_empty(),
        "a refused post was created"
    );
    Outcome::Passed
}
