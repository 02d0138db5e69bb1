//! One suite, every backend: each function below runs against SQLite (a temp
//! file) and, with the `postgres` feature, against Postgres (a schema of its own).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::{Backend, Harness};
use postd_queue::{
    AttemptError, Budget, ClaimRequest, ClaimedJob, Enqueued, FailOutcome, Failure, JobState,
    MAX_BUDGET_WINDOW, MAX_DELAY, NewJob, QueueError, Wake,
};
use serde_json::json;

const Q: &str = "publish";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn request(worker: &str, limit: u32, lease: Duration) -> ClaimRequest {
    ClaimRequest::new([Q], worker)
        .with_limit(limit)
        .with_lease(lease)
}

async fn claim(h: &Harness, worker: &str, limit: u32) -> Vec<ClaimedJob> {
    h.store
        .claim(&request(worker, limit, ms(100)))
        .await
        .unwrap()
}

async fn claim_one(h: &Harness, worker: &str) -> ClaimedJob {
    let mut got = claim(h, worker, 1).await;
    assert_eq!(got.len(), 1, "expected exactly one job for {worker}");
    got.remove(0)
}

async fn enqueue(h: &Harness, job: NewJob) -> i64 {
    let done = h.store.enqueue(job).await.unwrap();
    assert!(!done.duplicate);
    done.id
}

fn job(n: i64) -> NewJob {
    NewJob::new(Q, json!({ "n": n }))
}

fn err(message: &str) -> AttemptError {
    AttemptError::new("unavailable", message)
        .with_status(503)
        .with_code("E503")
}

fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap()
}

// ---------------------------------------------------------------------------
// Enqueue, claim, complete.

async fn an_enqueued_job_is_claimed_then_completed_with_its_outcome(h: &Harness) {
    let id = enqueue(h, job(1).with_priority(3).with_max_attempts(4)).await;
    let pending = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        (
            pending.state,
            pending.attempts,
            pending.fence,
            pending.run_at
        ),
        (JobState::Pending, 0, 0, h.now())
    );

    let c = claim_one(h, "w1").await;
    assert_eq!(c.id, id);
    assert_eq!(c.payload, json!({ "n": 1 }));
    assert_eq!((c.priority, c.attempt, c.max_attempts), (3, 1, 4));
    assert_eq!((c.fence, c.stalls, c.reclaimed), (1, 0, false));
    assert_eq!(c.lease_expires_at, after(h.now(), ms(100)));

    let running = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(running.state, JobState::Running);
    assert_eq!(running.lease_owner.as_deref(), Some("w1"));

    h.store
        .complete(id, c.fence, Some(json!({ "remote_id": "abc" })))
        .await
        .unwrap();
    let done = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Completed);
    assert_eq!(done.outcome, Some(json!({ "remote_id": "abc" })));
    assert_eq!(done.completed_at, Some(h.now()));
    assert_eq!((done.lease_owner, done.lease_expires_at), (None, None));
    assert!(done.errors.is_empty());
    assert!(
        claim(h, "w1", 10).await.is_empty(),
        "a completed job is never claimed again"
    );
}

async fn a_repeated_idempotency_key_returns_the_first_job(h: &Harness) {
    let first = h
        .store
        .enqueue(job(1).with_idempotency_key("post-1/acct-1"))
        .await
        .unwrap();
    let again = h
        .store
        .enqueue(job(2).with_idempotency_key("post-1/acct-1"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Enqueued {
            id: first.id,
            duplicate: true
        }
    );
    // Same key on another queue is another job.
    let elsewhere = h
        .store
        .enqueue(NewJob::new("other", json!({})).with_idempotency_key("post-1/acct-1"))
        .await
        .unwrap();
    assert!(!elsewhere.duplicate);
    assert_ne!(elsewhere.id, first.id);
    // The key stays taken after completion: a resubmitted delivery does not go out twice.
    let c = claim_one(h, "w").await;
    h.store.complete(c.id, c.fence, None).await.unwrap();
    let after_done = h
        .store
        .enqueue(job(3).with_idempotency_key("post-1/acct-1"))
        .await
        .unwrap();
    assert_eq!(after_done.id, first.id);
    assert!(after_done.duplicate);
    assert_eq!(
        h.store.get(first.id).await.unwrap().unwrap().payload,
        json!({ "n": 1 })
    );
}

async fn twenty_concurrent_enqueues_with_one_key_make_one_job(h: &Harness) {
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let store = h.store.clone();
            tokio::spawn(async move {
                store
                    .enqueue(job(n).with_idempotency_key("same"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let ids: HashSet<i64> = results.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 1, "every enqueue names the same job");
    assert_eq!(results.iter().filter(|r| !r.duplicate).count(), 1);
    assert_eq!(h.store.stats(Q).await.unwrap().pending, 1);
}

async fn enqueue_many_keeps_input_order_and_flags_duplicates_within_the_batch(h: &Harness) {
    let done = h
        .store
        .enqueue_many(vec![
            job(1).with_idempotency_key("a"),
            job(2),
            job(3).with_idempotency_key("a"),
        ])
        .await
        .unwrap();
    assert_eq!(done.len(), 3);
    assert_eq!(
        done.iter().map(|d| d.duplicate).collect::<Vec<_>>(),
        [false, false, true]
    );
    assert_eq!(done[2].id, done[0].id);
    assert!(done[1].id > done[0].id);

    // A bad job refuses the whole batch; nothing is inserted.
    let refused = h
        .store
        .enqueue_many(vec![job(4), NewJob::new("", json!({}))])
        .await;
    assert!(matches!(refused, Err(QueueError::Config(_))), "{refused:?}");
    assert_eq!(h.store.stats(Q).await.unwrap().pending, 2);
}

// ---------------------------------------------------------------------------
// Ordering and timing.

async fn due_jobs_are_claimed_by_priority_then_run_at_then_id(h: &Harness) {
    let t0 = h.now();
    let early_low = enqueue(h, job(1).with_run_at(t0 - chrono::Duration::seconds(10))).await;
    let late_high = enqueue(h, job(2).with_priority(5)).await;
    let early_high = enqueue(
        h,
        job(3)
            .with_priority(5)
            .with_run_at(t0 - chrono::Duration::seconds(5)),
    )
    .await;
    let tie_a = enqueue(h, job(4)).await;
    let tie_b = enqueue(h, job(5)).await;

    let got: Vec<i64> = claim(h, "w", 10).await.iter().map(|c| c.id).collect();
    assert_eq!(got, [early_high, late_high, early_low, tie_a, tie_b]);
}

async fn a_job_is_not_claimed_before_its_run_at(h: &Harness) {
    let id = enqueue(h, job(1).with_run_at(after(h.now(), ms(500)))).await;
    assert!(claim(h, "w", 10).await.is_empty());
    h.advance(ms(499));
    assert!(claim(h, "w", 10).await.is_empty());
    h.advance(ms(1));
    assert_eq!(claim_one(h, "w").await.id, id);
}

async fn two_jobs_with_the_same_run_at_are_both_claimed(h: &Harness) {
    let at = after(h.now(), ms(50));
    let a = enqueue(h, job(1).with_run_at(at)).await;
    let b = enqueue(h, job(2).with_run_at(at)).await;
    h.advance(ms(50));
    let got: Vec<i64> = claim(h, "w", 10).await.iter().map(|c| c.id).collect();
    assert_eq!(got, [a, b]);
}

async fn a_batched_claim_returns_at_most_its_limit(h: &Harness) {
    h.store
        .enqueue_many((0..7).map(job).collect())
        .await
        .unwrap();
    assert_eq!(claim(h, "w", 3).await.len(), 3);
    assert_eq!(claim(h, "w", 3).await.len(), 3);
    assert_eq!(claim(h, "w", 3).await.len(), 1);
    assert!(claim(h, "w", 3).await.is_empty());
    assert!(claim(h, "w", 0).await.is_empty());
}

async fn a_claim_over_several_queues_takes_them_in_the_order_asked(h: &Harness) {
    let in_queue = |queue: &str, n: i64| NewJob::new(queue, json!({ "n": n }));
    let mut a = Vec::new();
    let mut b = Vec::new();
    for n in 0..3 {
        a.push(enqueue(h, in_queue("a", n)).await);
    }
    for n in 0..3 {
        b.push(enqueue(h, in_queue("b", n)).await);
    }
    let other = enqueue(h, in_queue("c", 0)).await;
    let got: HashSet<i64> = h
        .store
        .claim(&ClaimRequest::new(["b", "a"], "w").with_limit(4))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    // All of the first queue asked for, then the best of the second.
    assert_eq!(got, HashSet::from([b[0], b[1], b[2], a[0]]));
    let rest: Vec<i64> = h
        .store
        .claim(&ClaimRequest::new(["a", "b"], "w").with_limit(10))
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(rest, [a[1], a[2]]);
    assert_eq!(
        h.store.get(other).await.unwrap().unwrap().state,
        JobState::Pending
    );
}

async fn eight_concurrent_claimers_share_500_jobs_without_overlap(h: &Harness) {
    let ids: HashSet<i64> = h
        .store
        .enqueue_many((0..500).map(job).collect())
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let store = h.store.clone();
            tokio::spawn(async move {
                let req = ClaimRequest::new([Q], format!("w{w}"))
                    .with_limit(7)
                    .with_lease(Duration::from_secs(60));
                let mut mine = Vec::new();
                loop {
                    let got = store.claim(&req).await.unwrap();
                    if got.is_empty() {
                        return mine;
                    }
                    mine.extend(got.into_iter().map(|c| (c.id, c.fence)));
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.extend(t.await.unwrap());
    }
    assert_eq!(seen.len(), 500, "no job handed out twice");
    let unique: HashSet<i64> = seen.iter().map(|(id, _)| *id).collect();
    assert_eq!(unique, ids, "together the claimers got every job");
    assert!(seen.iter().all(|(_, fence)| *fence == 1));
    let stats = h.store.stats(Q).await.unwrap();
    assert_eq!((stats.pending, stats.running), (0, 500));
}

// ---------------------------------------------------------------------------
// Leases, fences, stalls.

async fn an_expired_lease_is_reclaimed_by_another_worker_with_a_new_fence(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    let a = claim_one(h, "worker-a").await;
    h.advance(ms(99));
    assert!(claim(h, "worker-b", 1).await.is_empty(), "lease still live");
    h.advance(ms(1));
    let b = claim_one(h, "worker-b").await;
    assert_eq!(b.id, id);
    assert!(b.reclaimed);
    assert_eq!((b.stalls, b.attempt, b.fence), (1, 2, a.fence + 1));

    let stored = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(stored.lease_owner.as_deref(), Some("worker-b"));
    assert_eq!(stored.stalls, 1);
    assert_eq!(stored.errors.len(), 1);
    assert_eq!(stored.errors[0].kind, "stalled");
    assert_eq!(stored.errors[0].attempt, 1);
    assert_eq!(stored.errors[0].at, h.now());
    assert!(
        stored.errors[0].message.contains("worker-a"),
        "{}",
        stored.errors[0].message
    );
}

async fn a_worker_whose_lease_was_taken_cannot_complete_fail_or_heartbeat(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    let a = claim_one(h, "worker-a").await;
    h.advance(ms(150));
    let b = claim_one(h, "worker-b").await;
    let before = h.store.get(id).await.unwrap().unwrap();

    let completed = h.store.complete(id, a.fence, Some(json!("late"))).await;
    assert!(
        matches!(completed, Err(QueueError::LeaseLost { id: i }) if i == id),
        "{completed:?}"
    );
    let failed = h.store.fail(id, a.fence, Failure::retry(err("late"))).await;
    assert!(
        matches!(failed, Err(QueueError::LeaseLost { .. })),
        "{failed:?}"
    );
    let beat = h
        .store
        .heartbeat(id, a.fence, Duration::from_secs(60))
        .await;
    assert!(
        matches!(beat, Err(QueueError::LeaseLost { .. })),
        "{beat:?}"
    );
    let saved = h
        .store
        .save_progress(id, a.fence, json!({ "step": 9 }))
        .await;
    assert!(
        matches!(saved, Err(QueueError::LeaseLost { .. })),
        "{saved:?}"
    );
    let moved = h.store.reschedule(id, a.fence, h.now(), None, true).await;
    assert!(
        matches!(moved, Err(QueueError::LeaseLost { .. })),
        "{moved:?}"
    );

    assert_eq!(
        h.store.get(id).await.unwrap().unwrap(),
        before,
        "nothing changed"
    );
    h.store.complete(id, b.fence, None).await.unwrap();
    let after_b = h.store.complete(id, b.fence, None).await;
    assert!(
        matches!(after_b, Err(QueueError::LeaseLost { .. })),
        "completing twice: {after_b:?}"
    );
}

async fn calls_about_an_unknown_job_report_not_found(h: &Harness) {
    let missing = 987_654;
    let done = h.store.complete(missing, 1, None).await;
    assert!(
        matches!(done, Err(QueueError::NotFound { id }) if id == missing),
        "{done:?}"
    );
    let beat = h.store.heartbeat(missing, 1, ms(10)).await;
    assert!(matches!(beat, Err(QueueError::NotFound { .. })), "{beat:?}");
    assert!(h.store.get(missing).await.unwrap().is_none());
    assert!(!h.store.cancel(missing).await.unwrap());
    assert!(!h.store.purge(missing).await.unwrap());
    let replayed = h.store.replay(missing, None).await;
    assert!(
        matches!(replayed, Err(QueueError::NotFound { .. })),
        "{replayed:?}"
    );
}

async fn a_heartbeat_keeps_the_lease_from_being_reclaimed(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    let a = claim_one(h, "worker-a").await;
    h.advance(ms(80));
    let until = h.store.heartbeat(id, a.fence, ms(100)).await.unwrap();
    assert_eq!(until, after(h.now(), ms(100)));
    h.advance(ms(80)); // past the first lease, inside the renewed one
    assert!(claim(h, "worker-b", 1).await.is_empty());
    h.store.complete(id, a.fence, None).await.unwrap();
    h.advance(ms(500));
    assert!(claim(h, "worker-b", 1).await.is_empty());
    assert_eq!(h.store.get(id).await.unwrap().unwrap().stalls, 0);
}

async fn a_stall_on_the_last_attempt_moves_the_job_to_dead(h: &Harness) {
    let id = enqueue(h, job(1).with_max_attempts(1)).await;
    let _a = claim_one(h, "worker-a").await;
    h.advance(ms(200));
    assert!(
        claim(h, "worker-b", 5).await.is_empty(),
        "no attempt left to give"
    );
    let dead = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.stalls, 1);
    let reason = dead.dead_reason.unwrap();
    assert!(
        reason.contains("worker-a") && reason.contains("last attempt"),
        "{reason}"
    );
    assert_eq!(dead.errors.len(), 1);
    assert_eq!(dead.errors[0].kind, "stalled");
    assert_eq!(h.store.stats(Q).await.unwrap().dead, 1);
}

// ---------------------------------------------------------------------------
// Failure, backoff, dead letters.

async fn a_retry_waits_at_least_retry_after_and_within_the_backoff_bound(h: &Harness) {
    // retry_after above the backoff bound (2 s after attempt 1) wins exactly.
    let id = enqueue(h, job(1)).await;
    let c = claim_one(h, "w").await;
    let t = h.now();
    let out = h
        .store
        .fail(
            id,
            c.fence,
            Failure::retry_after(err("slow down"), ms(5_000)),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        FailOutcome::Retrying {
            run_at: after(t, ms(5_000))
        }
    );
    let stored = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.run_at, stored.attempts),
        (JobState::Pending, after(t, ms(5_000)), 1)
    );
    assert_eq!((stored.lease_owner, stored.lease_expires_at), (None, None));
    assert_eq!(stored.last_error.as_deref(), Some("unavailable: slow down"));
    h.advance(ms(4_999));
    assert!(claim(h, "w", 1).await.is_empty());
    h.advance(ms(1));
    assert_eq!(claim_one(h, "w").await.attempt, 2);

    // Without retry_after the draw stays inside [0, min(max, base * 2^attempt)].
    for n in 0..10 {
        let id = enqueue(h, job(100 + n)).await;
        let c = claim(h, "w", 10)
            .await
            .into_iter()
            .find(|c| c.id == id)
            .unwrap();
        let t = h.now();
        let FailOutcome::Retrying { run_at } = h
            .store
            .fail(id, c.fence, Failure::retry(err("x")))
            .await
            .unwrap()
        else {
            panic!("expected a retry")
        };
        let wait = (run_at - t).to_std().unwrap();
        assert!(wait <= common::BACKOFF.bound(1), "{wait:?}");
    }
}

async fn an_absurd_retry_after_is_cut_to_the_maximum_delay(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    let c = claim_one(h, "w").await;
    let t = h.now();
    let out = h
        .store
        .fail(
            id,
            c.fence,
            Failure::retry_after(err("forever"), Duration::MAX),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        FailOutcome::Retrying {
            run_at: after(t, MAX_DELAY)
        }
    );
    assert_eq!(
        h.store.get(id).await.unwrap().unwrap().run_at,
        after(t, MAX_DELAY)
    );
    // An absurd lease is cut the same way.
    let id2 = enqueue(h, job(2)).await;
    let got = h
        .store
        .claim(&request("w", 5, Duration::MAX))
        .await
        .unwrap();
    assert_eq!(got[0].id, id2);
    assert_eq!(got[0].lease_expires_at, after(h.now(), MAX_DELAY));
}

async fn exhausted_attempts_make_the_job_dead_with_every_error_in_history(h: &Harness) {
    let id = enqueue(h, job(1).with_max_attempts(3)).await;
    let mut outcomes = Vec::new();
    for attempt in 1..=3 {
        let c = claim_one(h, "w").await;
        assert_eq!(c.attempt, attempt);
        let e = err(&format!("try {attempt}"));
        outcomes.push(h.store.fail(id, c.fence, Failure::retry(e)).await.unwrap());
        h.advance(Duration::from_secs(11)); // past any backoff (max 10 s)
    }
    assert!(matches!(outcomes[0], FailOutcome::Retrying { .. }));
    assert!(matches!(outcomes[1], FailOutcome::Retrying { .. }));
    let FailOutcome::Dead { reason } = &outcomes[2] else {
        panic!("expected dead, got {:?}", outcomes[2])
    };
    assert!(
        reason.starts_with("attempts exhausted (3 of 3)"),
        "{reason}"
    );
    assert!(claim(h, "w", 5).await.is_empty());

    let dead = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Dead);
    assert_eq!(dead.dead_reason.as_deref(), Some(reason.as_str()));
    assert_eq!(dead.attempts, 3);
    assert_eq!(
        dead.errors
            .iter()
            .map(|e| (e.attempt, e.message.as_str(), e.status, e.code.as_deref()))
            .collect::<Vec<_>>(),
        [
            (1, "try 1", Some(503), Some("E503")),
            (2, "try 2", Some(503), Some("E503")),
            (3, "try 3", Some(503), Some("E503")),
        ]
    );
    assert!(dead.errors.windows(2).all(|w| w[0].at < w[1].at));
}

async fn a_dead_disposition_buries_the_job_at_once(h: &Harness) {
    let id = enqueue(h, job(1).with_max_attempts(5)).await;
    let c = claim_one(h, "w").await;
    let e = AttemptError::new("invalid_media", "video too long").with_status(400);
    let out = h
        .store
        .fail(
            id,
            c.fence,
            Failure::dead(e, "the platform rejects this video"),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        FailOutcome::Dead {
            reason: "the platform rejects this video".into()
        }
    );
    let dead = h.store.get(id).await.unwrap().unwrap();
    assert_eq!((dead.state, dead.attempts), (JobState::Dead, 1));
    assert_eq!(dead.errors.len(), 1);
    assert_eq!(dead.errors[0].kind, "invalid_media");
    assert_eq!(dead.errors[0].status, Some(400));
    let listed = h.store.list_dead(Some(Q), 10, 0).await.unwrap();
    assert_eq!(listed.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
}

async fn list_dead_filters_by_queue_and_pages_newest_first(h: &Harness) {
    let mut ids = Vec::new();
    for (n, queue) in ["a", "b", "a"].into_iter().enumerate() {
        let id = enqueue(h, NewJob::new(queue, json!(n))).await;
        let c = h
            .store
            .claim(&ClaimRequest::new([queue], "w"))
            .await
            .unwrap()
            .remove(0);
        h.store
            .fail(id, c.fence, Failure::dead(err("no"), "no"))
            .await
            .unwrap();
        ids.push(id);
        h.advance(ms(10));
    }
    let all: Vec<i64> = h
        .store
        .list_dead(None, 10, 0)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(all, [ids[2], ids[1], ids[0]]);
    let a: Vec<i64> = h
        .store
        .list_dead(Some("a"), 10, 0)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(a, [ids[2], ids[0]]);
    let page: Vec<i64> = h
        .store
        .list_dead(None, 1, 1)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(page, [ids[1]]);
}

async fn a_replayed_dead_job_is_pending_again_with_its_history(h: &Harness) {
    let id = enqueue(h, job(1).with_max_attempts(1)).await;
    let c = claim_one(h, "w").await;
    h.store
        .fail(id, c.fence, Failure::retry(err("boom")))
        .await
        .unwrap();
    let later = after(h.now(), ms(300));
    h.store.replay(id, Some(later)).await.unwrap();

    let stored = h.store.get(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.attempts, stored.run_at),
        (JobState::Pending, 0, later)
    );
    assert_eq!(stored.dead_reason, None);
    assert_eq!(stored.errors.len(), 1, "history kept");
    assert!(
        claim(h, "w", 1).await.is_empty(),
        "waits for its new run_at"
    );
    h.advance(ms(300));
    let again = claim_one(h, "w").await;
    assert_eq!((again.attempt, again.fence), (1, c.fence + 1));
}

async fn replaying_a_job_that_is_not_dead_is_refused(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    let r = h.store.replay(id, None).await;
    assert!(
        matches!(r, Err(QueueError::InvalidState { id: i, actual: JobState::Pending, .. }) if i == id),
        "{r:?}"
    );
    let c = claim_one(h, "w").await;
    let r = h.store.replay(id, None).await;
    assert!(
        matches!(
            r,
            Err(QueueError::InvalidState {
                actual: JobState::Running,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(h.store.get(id).await.unwrap().unwrap().fence, c.fence);
}

async fn purge_deletes_finished_jobs_and_refuses_live_ones(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    let r = h.store.purge(id).await;
    assert!(
        matches!(
            r,
            Err(QueueError::InvalidState {
                actual: JobState::Pending,
                ..
            })
        ),
        "{r:?}"
    );
    let c = claim_one(h, "w").await;
    let r = h.store.purge(id).await;
    assert!(
        matches!(
            r,
            Err(QueueError::InvalidState {
                actual: JobState::Running,
                ..
            })
        ),
        "{r:?}"
    );
    h.store
        .fail(id, c.fence, Failure::dead(err("x"), "permanent"))
        .await
        .unwrap();
    assert!(h.store.purge(id).await.unwrap());
    assert!(h.store.get(id).await.unwrap().is_none());
    assert!(!h.store.purge(id).await.unwrap(), "already gone");
}

async fn purge_dead_deletes_only_jobs_dead_before_the_cutoff(h: &Harness) {
    let old = enqueue(h, job(1)).await;
    let c = claim_one(h, "w").await;
    h.store
        .fail(old, c.fence, Failure::dead(err("x"), "x"))
        .await
        .unwrap();
    h.advance(Duration::from_secs(60));
    let cutoff = h.now();
    let young = enqueue(h, job(2)).await;
    let c = claim_one(h, "w").await;
    h.store
        .fail(young, c.fence, Failure::dead(err("y"), "y"))
        .await
        .unwrap();
    let alive = enqueue(h, job(3)).await;

    assert_eq!(h.store.purge_dead(cutoff).await.unwrap(), 1);
    assert!(h.store.get(old).await.unwrap().is_none());
    assert_eq!(
        h.store.get(young).await.unwrap().unwrap().state,
        JobState::Dead
    );
    assert_eq!(
        h.store.get(alive).await.unwrap().unwrap().state,
        JobState::Pending
    );
}

// ---------------------------------------------------------------------------
// Changes to waiting jobs.

async fn only_a_pending_job_can_be_cancelled(h: &Harness) {
    let waiting = enqueue(
        h,
        job(1).with_run_at(after(h.now(), Duration::from_secs(60))),
    )
    .await;
    let running = enqueue(h, job(2)).await;
    let c = claim_one(h, "w").await;
    assert_eq!(c.id, running);

    assert!(
        !h.store.cancel(running).await.unwrap(),
        "a running job is not cancelled"
    );
    assert_eq!(
        h.store.get(running).await.unwrap().unwrap().state,
        JobState::Running
    );
    assert!(h.store.cancel(waiting).await.unwrap());
    assert_eq!(
        h.store.get(waiting).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    assert!(
        !h.store.cancel(waiting).await.unwrap(),
        "cancelling twice does nothing"
    );
    h.store.complete(running, c.fence, None).await.unwrap();
    h.advance(Duration::from_secs(61));
    assert!(claim(h, "w2", 5).await.is_empty());
    assert_eq!(h.store.stats(Q).await.unwrap().cancelled, 1);
}

async fn set_run_at_moves_only_a_pending_job(h: &Harness) {
    let id = enqueue(
        h,
        job(1).with_run_at(after(h.now(), Duration::from_secs(3600))),
    )
    .await;
    assert!(claim(h, "w", 1).await.is_empty());
    assert!(h.store.set_run_at(id, h.now()).await.unwrap());
    let c = claim_one(h, "w").await;
    assert!(
        !h.store.set_run_at(id, h.now()).await.unwrap(),
        "running: not moved"
    );
    assert_eq!(h.store.get(id).await.unwrap().unwrap().fence, c.fence);
}

async fn a_reschedule_with_refund_does_not_count_an_attempt(h: &Harness) {
    let id = enqueue(h, job(1).with_max_attempts(2)).await;
    let c = claim_one(h, "w").await;
    h.store
        .save_progress(id, c.fence, json!({ "container": "c-1" }))
        .await
        .unwrap();
    // "Rate limited: wait without spending an attempt."
    h.store
        .reschedule(id, c.fence, after(h.now(), ms(200)), None, true)
        .await
        .unwrap();
    let stored = h.store.get(id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.attempts), (JobState::Pending, 0));
    assert_eq!(stored.run_at, after(h.now(), ms(200)));
    assert_eq!(
        stored.progress,
        Some(json!({ "container": "c-1" })),
        "kept when not replaced"
    );
    assert!(stored.errors.is_empty(), "a wait is not an error");
    assert!(claim(h, "w", 1).await.is_empty());

    h.advance(ms(200));
    let c = claim_one(h, "w").await;
    assert_eq!(c.attempt, 1, "the refunded attempt was not counted");
    assert_eq!(c.progress, Some(json!({ "container": "c-1" })));
    // "Still processing: poll again later" spends the attempt and replaces progress.
    h.store
        .reschedule(
            id,
            c.fence,
            h.now(),
            Some(json!({ "container": "c-1", "polls": 1 })),
            false,
        )
        .await
        .unwrap();
    let c = claim_one(h, "w").await;
    assert_eq!(c.attempt, 2);
    assert_eq!(c.progress, Some(json!({ "container": "c-1", "polls": 1 })));
}

async fn stats_count_jobs_per_state_and_the_oldest_lag(h: &Harness) {
    let t0 = h.now();
    enqueue(h, job(1)).await;
    enqueue(h, job(2)).await;
    enqueue(h, job(3).with_run_at(after(t0, Duration::from_secs(3600)))).await;
    enqueue(h, NewJob::new("other", json!({}))).await;
    let c = claim_one(h, "w").await;
    h.store.complete(c.id, c.fence, None).await.unwrap();
    h.advance(ms(1_500));

    let stats = h.store.stats(Q).await.unwrap();
    assert_eq!(
        (
            stats.pending,
            stats.due,
            stats.running,
            stats.completed,
            stats.dead,
            stats.cancelled
        ),
        (2, 1, 0, 1, 0, 0)
    );
    assert_eq!(stats.oldest_due_lag, Some(ms(1_500)));
    let empty = h.store.stats("nothing-here").await.unwrap();
    assert_eq!((empty.pending, empty.oldest_due_lag), (0, None));
}

// ---------------------------------------------------------------------------
// Rows that do not decode.

async fn a_corrupt_history_is_reported_as_corrupt_naming_the_job(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    h.exec(&format!(
        "UPDATE postd_jobs SET errors = '{{\"not\": \"a list\"}}' WHERE id = {id}"
    ))
    .await;
    let got = h.store.get(id).await;
    assert!(
        matches!(got, Err(QueueError::Corrupt { id: i, field: "errors" }) if i == id),
        "{got:?}"
    );
    assert!(!got.as_ref().unwrap_err().is_temporary());
    // The job still runs: a claim does not read the history, and a failure
    // leaves the unreadable history as it is rather than erasing it.
    let c = claim_one(h, "w").await;
    let out = h
        .store
        .fail(id, c.fence, Failure::retry(err("x")))
        .await
        .unwrap();
    assert!(matches!(out, FailOutcome::Retrying { .. }));
    assert!(matches!(
        h.store.get(id).await,
        Err(QueueError::Corrupt {
            field: "errors",
            ..
        })
    ));
}

async fn a_claimed_row_that_does_not_decode_goes_dead_instead_of_to_a_worker(h: &Harness) {
    let bad = enqueue(h, job(1)).await;
    let good = enqueue(h, job(2)).await;
    h.exec(&format!(
        "UPDATE postd_jobs SET attempts = -5 WHERE id = {bad}"
    ))
    .await;
    let got: Vec<i64> = claim(h, "w", 10).await.iter().map(|c| c.id).collect();
    assert_eq!(got, [good], "the good job is not held back by the bad one");
    let reason = h
        .text(&format!(
            "SELECT dead_reason FROM postd_jobs WHERE id = {bad}"
        ))
        .await;
    assert_eq!(
        reason.as_deref(),
        Some("corrupt row: column `attempts` does not decode")
    );
    assert_eq!(h.store.stats(Q).await.unwrap().dead, 1);
    let listed = h.store.list_dead(None, 10, 0).await;
    assert!(
        matches!(listed, Err(QueueError::Corrupt { id, field: "attempts" }) if id == bad),
        "{listed:?}"
    );
    assert!(
        h.store.purge(bad).await.unwrap(),
        "a person can still remove it"
    );
    assert!(h.store.list_dead(None, 10, 0).await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Waiting for work.

async fn a_waiting_worker_wakes_when_a_job_is_enqueued(h: &Harness) {
    let store = h.store.clone();
    let started = Instant::now();
    let waiter = tokio::spawn(async move {
        store
            .wait_for_work(&[Q.to_owned()], Duration::from_secs(10))
            .await
    });
    tokio::time::sleep(ms(100)).await;
    assert!(!waiter.is_finished(), "nothing to wake for yet");
    enqueue(h, job(1)).await;
    let woke = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("woken well before the timeout")
        .unwrap()
        .unwrap();
    assert_eq!(woke, Wake::Work);
    assert!(started.elapsed() < Duration::from_secs(2));
}

async fn a_waiting_worker_returns_at_once_if_work_is_due_and_times_out_if_none(h: &Harness) {
    let queues = [Q.to_owned()];
    let t = Instant::now();
    assert_eq!(
        h.store.wait_for_work(&queues, ms(150)).await.unwrap(),
        Wake::TimedOut
    );
    assert!(t.elapsed() >= ms(150));
    enqueue(h, job(1)).await;
    let t = Instant::now();
    assert_eq!(
        h.store
            .wait_for_work(&queues, Duration::from_secs(10))
            .await
            .unwrap(),
        Wake::Work
    );
    assert!(t.elapsed() < Duration::from_secs(1));
    // A job due only in an hour does not count as work now.
    let c = claim_one(h, "w").await;
    h.store
        .reschedule(
            c.id,
            c.fence,
            after(h.now(), Duration::from_secs(3600)),
            None,
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        h.store.wait_for_work(&queues, ms(100)).await.unwrap(),
        Wake::TimedOut
    );
    let none: &[String] = &[];
    assert!(matches!(
        h.store.wait_for_work(none, ms(10)).await,
        Err(QueueError::Config(_))
    ));
}

async fn a_waiting_worker_sees_a_job_enqueued_by_another_store_instance(h: &Harness) {
    let other = h.another_store().await;
    let store = h.store.clone();
    // On SQLite the other instance's write is seen at the next poll (the
    // timeout); on Postgres NOTIFY wakes the waiter long before it.
    let timeout = match h.backend {
        Backend::Sqlite => ms(400),
        Backend::Postgres => Duration::from_secs(10),
    };
    // A first, empty wait: on Postgres it opens the LISTEN connection, so
    // the real wait below can only end early through a notification.
    let queues = [Q.to_owned()];
    assert_eq!(
        h.store.wait_for_work(&queues, ms(10)).await.unwrap(),
        Wake::TimedOut
    );
    let started = Instant::now();
    let waiter = tokio::spawn(async move { store.wait_for_work(&queues, timeout).await });
    tokio::time::sleep(ms(100)).await;
    assert!(!waiter.is_finished(), "nothing to wake for yet");
    other.enqueue(job(1)).await.unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(3), waiter)
        .await
        .expect("the waiter returned")
        .unwrap()
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(woke, Wake::Work);
    match h.backend {
        Backend::Sqlite => assert!(elapsed >= ms(400), "seen by polling: {elapsed:?}"),
        Backend::Postgres => assert!(
            elapsed < Duration::from_secs(2),
            "woken by NOTIFY: {elapsed:?}"
        ),
    }
}

// ---------------------------------------------------------------------------
// Groups, holds and budgets.

async fn a_group_lists_its_jobs_in_id_order_and_cancels_only_the_pending_ones(h: &Harness) {
    let later = after(h.now(), Duration::from_secs(3600));
    let due = enqueue(h, job(1).with_group("post-1")).await;
    let scheduled = enqueue(h, job(2).with_group("post-1").with_run_at(later)).await;
    let running = enqueue(h, job(3).with_group("post-1").with_priority(10)).await;
    let retrying = enqueue(
        h,
        NewJob::new("other-queue", json!({ "n": 4 }))
            .with_group("post-1")
            .with_priority(20),
    )
    .await;
    let other_group = enqueue(h, job(5).with_group("post-2")).await;
    let no_group = enqueue(h, job(6)).await;

    // One job of the group failed once (pending again, with history), one is running.
    let first = h
        .store
        .claim(&ClaimRequest::new(["other-queue"], "w1").with_lease(ms(100)))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (first.id, first.group.as_deref()),
        (retrying, Some("post-1"))
    );
    let outcome = h
        .store
        .fail(first.id, first.fence, Failure::retry(err("first try")))
        .await
        .unwrap();
    assert!(
        matches!(outcome, FailOutcome::Retrying { .. }),
        "{outcome:?}"
    );
    let held = claim_one(h, "w2").await;
    assert_eq!((held.id, held.group.as_deref()), (running, Some("post-1")));

    let listed = h.store.list_group("post-1").await.unwrap();
    assert_eq!(
        listed.iter().map(|j| j.id).collect::<Vec<_>>(),
        [due, scheduled, running, retrying]
    );
    for j in &listed {
        assert_eq!(j.group.as_deref(), Some("post-1"));
        assert_eq!(
            Some(j),
            h.store.get(j.id).await.unwrap().as_ref(),
            "as get shows it"
        );
    }
    assert_eq!(
        listed.iter().map(|j| j.state).collect::<Vec<_>>(),
        [
            JobState::Pending,
            JobState::Pending,
            JobState::Running,
            JobState::Pending
        ]
    );
    assert_eq!(listed[3].errors.len(), 1);
    assert_eq!(listed[3].errors[0].message, "first try");
    assert_eq!(
        h.store.get(no_group).await.unwrap().unwrap().group,
        None,
        "a job enqueued without a group has none"
    );

    assert_eq!(h.store.cancel_group("post-1").await.unwrap(), 3);
    let states: Vec<(i64, JobState)> = h
        .store
        .list_group("post-1")
        .await
        .unwrap()
        .iter()
        .map(|j| (j.id, j.state))
        .collect();
    assert_eq!(
        states,
        [
            (due, JobState::Cancelled),
            (scheduled, JobState::Cancelled),
            (running, JobState::Running),
            (retrying, JobState::Cancelled),
        ]
    );
    let cancelled = h.store.get(retrying).await.unwrap().unwrap();
    assert_eq!(cancelled.errors.len(), 1, "cancelling keeps the history");
    assert_eq!(
        h.store.cancel_group("post-1").await.unwrap(),
        0,
        "nothing left to cancel"
    );

    // The running job's worker is untouched: its fence still holds.
    h.store.complete(running, held.fence, None).await.unwrap();
    assert_eq!(
        h.store.get(running).await.unwrap().unwrap().state,
        JobState::Completed
    );
    // Other groups and ungrouped jobs are untouched, and are what a claim now finds.
    let rest = h
        .store
        .list_group("post-2")
        .await
        .unwrap()
        .iter()
        .map(|j| (j.id, j.state))
        .collect::<Vec<_>>();
    assert_eq!(rest, [(other_group, JobState::Pending)]);
    h.advance(Duration::from_secs(3601));
    let mut left: Vec<i64> = claim(h, "w3", 10).await.iter().map(|c| c.id).collect();
    left.sort_unstable();
    assert_eq!(left, [other_group, no_group]);
    assert!(h.store.list_group("no-such-post").await.unwrap().is_empty());
    assert_eq!(h.store.cancel_group("no-such-post").await.unwrap(), 0);
}

async fn an_empty_group_name_is_refused_at_enqueue(h: &Harness) {
    let refused = h.store.enqueue(job(1).with_group("")).await;
    assert!(matches!(refused, Err(QueueError::Config(_))), "{refused:?}");
    assert_eq!(h.store.stats(Q).await.unwrap().pending, 0);
}

async fn a_hold_extends_never_shrinks_and_is_seen_by_another_store(h: &Harness) {
    let start = h.now();
    let at = |secs: u64| after(start, Duration::from_secs(secs));
    assert_eq!(h.store.hold_until("acct-1").await.unwrap(), None);

    h.store.set_hold("acct-1", at(60)).await.unwrap();
    assert_eq!(h.store.hold_until("acct-1").await.unwrap(), Some(at(60)));
    h.store.set_hold("acct-1", at(30)).await.unwrap();
    assert_eq!(
        h.store.hold_until("acct-1").await.unwrap(),
        Some(at(60)),
        "an earlier until does not shrink the hold"
    );
    h.store.set_hold("acct-1", at(120)).await.unwrap();
    assert_eq!(h.store.hold_until("acct-1").await.unwrap(), Some(at(120)));

    let other = h.another_store().await;
    assert_eq!(other.hold_until("acct-1").await.unwrap(), Some(at(120)));
    other.set_hold("acct-1", at(90)).await.unwrap();
    assert_eq!(
        h.store.hold_until("acct-1").await.unwrap(),
        Some(at(120)),
        "another process cannot shrink it either"
    );
    assert_eq!(
        h.store.hold_until("acct-2").await.unwrap(),
        None,
        "holds are per key"
    );

    let refused = h.store.set_hold("", at(60)).await;
    assert!(matches!(refused, Err(QueueError::Config(_))), "{refused:?}");
}

async fn a_hold_expires_by_the_stores_clock(h: &Harness) {
    let until = after(h.now(), Duration::from_secs(60));
    h.store.set_hold("app", until).await.unwrap();
    let other = h.another_store().await;

    h.advance(Duration::from_millis(59_999));
    assert_eq!(h.store.hold_until("app").await.unwrap(), Some(until));
    h.advance(ms(1));
    assert_eq!(
        h.store.hold_until("app").await.unwrap(),
        None,
        "over at its until"
    );
    assert_eq!(other.hold_until("app").await.unwrap(), None);

    // A hold in the past holds nothing; a later one starts a new hold.
    h.store
        .set_hold("app", after(h.now(), Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(h.store.hold_until("app").await.unwrap(), None);
    let again = after(h.now(), Duration::from_secs(10));
    other.set_hold("app", again).await.unwrap();
    assert_eq!(h.store.hold_until("app").await.unwrap(), Some(again));
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

const DAY: Duration = Duration::from_secs(86_400);

async fn a_budget_grants_its_limit_then_is_exhausted_until_the_next_window(h: &Harness) {
    h.clock.set(utc("2031-05-04T17:30:00Z"));
    let midnight = utc("2031-05-05T00:00:00Z");
    for remaining in [2, 1, 0] {
        assert_eq!(
            h.store.take_budget("acct-1", 3, DAY).await.unwrap(),
            Budget::Granted { remaining }
        );
    }
    assert_eq!(
        h.store.take_budget("acct-1", 3, DAY).await.unwrap(),
        Budget::Exhausted { retry_at: midnight }
    );
    // Other keys, and other windows on the same key, count on their own.
    assert_eq!(
        h.store.take_budget("acct-2", 3, DAY).await.unwrap(),
        Budget::Granted { remaining: 2 }
    );
    assert_eq!(
        h.store
            .take_budget("acct-1", 1, Duration::from_secs(3600))
            .await
            .unwrap(),
        Budget::Granted { remaining: 0 }
    );
    assert_eq!(
        h.store
            .take_budget("acct-1", 1, Duration::from_secs(3600))
            .await
            .unwrap(),
        Budget::Exhausted {
            retry_at: utc("2031-05-04T18:00:00Z")
        }
    );

    h.clock.set(utc("2031-05-04T23:59:59.999Z"));
    assert_eq!(
        h.store.take_budget("acct-1", 3, DAY).await.unwrap(),
        Budget::Exhausted { retry_at: midnight },
        "still the same window a millisecond before midnight"
    );
    h.advance(ms(1));
    assert_eq!(
        h.store.take_budget("acct-1", 3, DAY).await.unwrap(),
        Budget::Granted { remaining: 2 },
        "a new window at UTC midnight"
    );
    h.advance(Duration::from_secs(3 * 86_400 + 7));
    assert_eq!(
        h.store.take_budget("acct-1", 3, DAY).await.unwrap(),
        Budget::Granted { remaining: 2 },
        "a window days later starts from zero too"
    );
}

async fn a_budget_given_back_grants_one_more_but_never_goes_below_zero(h: &Harness) {
    h.clock.set(utc("2031-05-04T08:00:00Z"));
    let midnight = utc("2031-05-05T00:00:00Z");
    // Giving back to a budget never taken from changes nothing.
    h.store.give_back_budget("acct", DAY).await.unwrap();
    for remaining in [1, 0] {
        assert_eq!(
            h.store.take_budget("acct", 2, DAY).await.unwrap(),
            Budget::Granted { remaining }
        );
    }
    assert_eq!(
        h.store.take_budget("acct", 2, DAY).await.unwrap(),
        Budget::Exhausted { retry_at: midnight }
    );
    h.store.give_back_budget("acct", DAY).await.unwrap();
    assert_eq!(
        h.store.take_budget("acct", 2, DAY).await.unwrap(),
        Budget::Granted { remaining: 0 },
        "the unit given back is granted again"
    );
    assert_eq!(
        h.store.take_budget("acct", 2, DAY).await.unwrap(),
        Budget::Exhausted { retry_at: midnight }
    );
    // Five back with two used: the count stops at zero, so exactly two more.
    for _ in 0..5 {
        h.store.give_back_budget("acct", DAY).await.unwrap();
    }
    for remaining in [1, 0] {
        assert_eq!(
            h.store.take_budget("acct", 2, DAY).await.unwrap(),
            Budget::Granted { remaining }
        );
    }
    assert_eq!(
        h.store.take_budget("acct", 2, DAY).await.unwrap(),
        Budget::Exhausted { retry_at: midnight }
    );
    // A unit given back after midnight belongs to the new window, not the old one.
    h.clock.set(midnight);
    h.store.give_back_budget("acct", DAY).await.unwrap();
    for remaining in [1, 0] {
        assert_eq!(
            h.store.take_budget("acct", 2, DAY).await.unwrap(),
            Budget::Granted { remaining }
        );
    }
}

async fn a_zero_limit_is_exhausted_and_a_zero_or_absurd_window_is_refused(h: &Harness) {
    h.clock.set(utc("2031-05-04T08:00:00Z"));
    assert_eq!(
        h.store.take_budget("acct", 0, DAY).await.unwrap(),
        Budget::Exhausted {
            retry_at: utc("2031-05-05T00:00:00Z")
        }
    );
    for window in [
        Duration::ZERO,
        Duration::from_micros(999),
        MAX_BUDGET_WINDOW + ms(1),
        Duration::MAX,
    ] {
        let took = h.store.take_budget("acct", 10, window).await;
        assert!(
            matches!(took, Err(QueueError::Config(_))),
            "{window:?}: {took:?}"
        );
        let gave = h.store.give_back_budget("acct", window).await;
        assert!(
            matches!(gave, Err(QueueError::Config(_))),
            "{window:?}: {gave:?}"
        );
    }
    let empty = h.store.take_budget("", 10, DAY).await;
    assert!(matches!(empty, Err(QueueError::Config(_))), "{empty:?}");
    assert_eq!(
        h.store
            .take_budget("acct", 1, MAX_BUDGET_WINDOW)
            .await
            .unwrap(),
        Budget::Granted { remaining: 0 },
        "the longest window is accepted"
    );
}

async fn sixteen_concurrent_takes_from_four_stores_grant_exactly_the_limit_of_ten(h: &Harness) {
    h.clock.set(utc("2031-05-04T08:00:00Z"));
    let mut stores = vec![h.store.clone()];
    for _ in 0..3 {
        stores.push(h.another_store().await);
    }
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            let store = stores[n % stores.len()].clone();
            let start = start.clone();
            tokio::spawn(async move {
                start.wait().await;
                store.take_budget("acct", 10, DAY).await.unwrap()
            })
        })
        .collect();
    let mut remaining = Vec::new();
    let mut exhausted = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Budget::Granted { remaining: r } => remaining.push(r),
            Budget::Exhausted { retry_at } => exhausted.push(retry_at),
        }
    }
    remaining.sort_unstable();
    assert_eq!(
        remaining,
        (0..10).collect::<Vec<u32>>(),
        "each unit granted once"
    );
    assert_eq!(exhausted, vec![utc("2031-05-05T00:00:00Z"); 6]);
    assert_eq!(
        stores[3].take_budget("acct", 10, DAY).await.unwrap(),
        Budget::Exhausted {
            retry_at: utc("2031-05-05T00:00:00Z")
        }
    );
}

// ---------------------------------------------------------------------------
// Schema and plans.

async fn migrating_again_and_concurrently_is_harmless(h: &Harness) {
    let id = enqueue(h, job(1)).await;
    let other = h.another_store().await;
    let (a, b) = tokio::join!(h.store.migrate(), other.migrate());
    a.unwrap();
    b.unwrap();
    h.store.migrate().await.unwrap();
    assert_eq!(
        other.get(id).await.unwrap().unwrap().state,
        JobState::Pending
    );
}

/// Rows as a version-1 store wrote them: a pending job with a key, and a
/// dead one with its history.
const V1_JOBS: &str = r#"
    INSERT INTO postd_jobs
        (queue, payload, priority, run_at, state, max_attempts, idempotency_key, created_at, updated_at)
    VALUES ('publish', '{"n":1}', 0, 1000, 'pending', 5, 'post-1/acct-1', 1000, 1000);
    INSERT INTO postd_jobs
        (queue, payload, priority, run_at, state, attempts, max_attempts, fence, last_error, errors,
         created_at, updated_at, dead_reason)
    VALUES ('publish', '{"n":2}', 0, 2000, 'dead', 1, 1, 1, 'auth: token revoked',
        '[{"attempt":1,"at":"1970-01-01T00:00:03.000Z","kind":"auth","message":"token revoked","code":"190","status":401}]',
        2000, 3000, 'token revoked');
"#;

async fn a_version_1_database_upgrades_in_place_and_keeps_its_jobs(h: &Harness) {
    let old = Harness::upgraded_from_v1(h.backend, V1_JOBS).await;
    let versions = old
        .text(match old.backend {
            Backend::Sqlite => {
                "SELECT group_concat(version, ',') FROM (SELECT version FROM postd_jobs_schema ORDER BY version)"
            }
            Backend::Postgres => {
                "SELECT string_agg(version::text, ',' ORDER BY version) FROM postd_jobs_schema"
            }
        })
        .await;
    assert_eq!(versions.as_deref(), Some("1,2,3"));

    // The key still holds: the old pending job is found, not duplicated.
    let again = old
        .store
        .enqueue(job(9).with_idempotency_key("post-1/acct-1"))
        .await
        .unwrap();
    assert!(again.duplicate);
    let pending = old.store.get(again.id).await.unwrap().unwrap();
    assert_eq!(
        (
            pending.state,
            pending.payload,
            pending.group,
            pending.created_at
        ),
        (
            JobState::Pending,
            json!({ "n": 1 }),
            None,
            DateTime::from_timestamp_millis(1000).unwrap()
        )
    );
    let dead = old.store.list_dead(None, 10, 0).await.unwrap();
    assert_eq!(dead.len(), 1);
    let dead = &dead[0];
    assert_eq!(
        (
            dead.payload.clone(),
            dead.dead_reason.as_deref(),
            dead.group.as_deref()
        ),
        (json!({ "n": 2 }), Some("token revoked"), None)
    );
    assert_eq!(dead.errors.len(), 1);
    assert_eq!(
        (dead.errors[0].kind.as_str(), dead.errors[0].status),
        ("auth", Some(401))
    );

    // The old jobs run as before, and the new features work beside them.
    let c = claim_one(&old, "w").await;
    assert_eq!((c.id, c.group), (again.id, None));
    old.store.complete(c.id, c.fence, None).await.unwrap();
    old.store.replay(dead.id, None).await.unwrap();
    let replayed = claim_one(&old, "w").await;
    assert_eq!(
        (replayed.id, replayed.attempt, replayed.fence),
        (dead.id, 1, 2)
    );
    let grouped = enqueue(&old, job(3).with_group("post-3")).await;
    assert!(grouped > dead.id);
    assert_eq!(
        old.store
            .list_group("post-3")
            .await
            .unwrap()
            .iter()
            .map(|j| j.id)
            .collect::<Vec<_>>(),
        [grouped]
    );
    let until = after(old.now(), Duration::from_secs(5));
    old.store.set_hold("acct-1", until).await.unwrap();
    assert_eq!(old.store.hold_until("acct-1").await.unwrap(), Some(until));
    assert_eq!(
        old.store.take_budget("acct-1", 1, DAY).await.unwrap(),
        Budget::Granted { remaining: 0 }
    );
    // Opening it again (another process on the new release) changes nothing.
    let other = old.another_store().await;
    assert_eq!(
        other.get(grouped).await.unwrap().unwrap().group.as_deref(),
        Some("post-3")
    );
}

async fn the_claim_uses_indexes_not_a_table_scan(h: &Harness) {
    // As in a live publishing queue: finished jobs are the bulk of the
    // table, a few are due and more are scheduled ahead. Statistics are
    // gathered so the planner costs the real table.
    let now = h.now().timestamp_millis();
    let series = match h.backend {
        Backend::Sqlite => {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
        }
        Backend::Postgres => "WITH n(i) AS (SELECT generate_series(1, 20000))",
    };
    h.exec(&format!(
        "{series} INSERT INTO postd_jobs
            (queue, payload, priority, run_at, state, max_attempts, created_at, updated_at, completed_at)
         SELECT 'publish', '{{}}', 0, {now} - i, 'completed', 5, {now} - i, {now} - i, {now} - i FROM n"
    ))
    .await;
    h.store
        .enqueue_many((0..50).map(job).collect())
        .await
        .unwrap();
    let tomorrow = after(h.now(), Duration::from_secs(86_400));
    h.store
        .enqueue_many((0..100).map(|n| job(n).with_run_at(tomorrow)).collect())
        .await
        .unwrap();
    // VACUUM too on Postgres, as autovacuum would have in a live database.
    h.exec(match h.backend {
        Backend::Sqlite => "ANALYZE postd_jobs",
        Backend::Postgres => "VACUUM ANALYZE postd_jobs",
    })
    .await;
    let plan = h
        .store
        .explain_claim(&request("w", 10, ms(100)))
        .await
        .unwrap();
    assert!(
        plan.contains("postd_jobs_ready"),
        "pending arm walks the ready index in claim order:\n{plan}"
    );
    assert!(
        !plan.contains("TEMP B-TREE FOR ORDER BY") || plan.matches("TEMP B-TREE").count() == 1,
        "only the merge of the two arms may sort (at most twice the limit):\n{plan}"
    );
    // Once for the jobs stalled on their last attempt, once for the rest.
    assert!(
        plan.matches("postd_jobs_leases").count() >= 2,
        "the bury and the stalled arm both use the lease index:\n{plan}"
    );
    assert!(!plan.contains("Seq Scan on postd_jobs"), "{plan}");
    assert!(
        !plan
            .lines()
            .any(|l| l.trim_start().starts_with("SCAN postd_jobs")),
        "{plan}"
    );
    // The plan was only explained: nothing was claimed.
    assert_eq!(h.store.stats(Q).await.unwrap().running, 0);
    assert_eq!(claim(h, "w", 100).await.len(), 50);
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = super::Harness::sqlite().await;
                    super::$name(&h).await;
                }
            )*
        }

        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let h = super::Harness::postgres().await;
                    super::$name(&h).await;
                }
            )*
        }
    };
}

conformance!(
    an_enqueued_job_is_claimed_then_completed_with_its_outcome,
    a_repeated_idempotency_key_returns_the_first_job,
    twenty_concurrent_enqueues_with_one_key_make_one_job,
    enqueue_many_keeps_input_order_and_flags_duplicates_within_the_batch,
    due_jobs_are_claimed_by_priority_then_run_at_then_id,
    a_job_is_not_claimed_before_its_run_at,
    two_jobs_with_the_same_run_at_are_both_claimed,
    a_batched_claim_returns_at_most_its_limit,
    a_claim_over_several_queues_takes_them_in_the_order_asked,
    eight_concurrent_claimers_share_500_jobs_without_overlap,
    an_expired_lease_is_reclaimed_by_another_worker_with_a_new_fence,
    a_worker_whose_lease_was_taken_cannot_complete_fail_or_heartbeat,
    calls_about_an_unknown_job_report_not_found,
    a_heartbeat_keeps_the_lease_from_being_reclaimed,
    a_stall_on_the_last_attempt_moves_the_job_to_dead,
    a_retry_waits_at_least_retry_after_and_within_the_backoff_bound,
    an_absurd_retry_after_is_cut_to_the_maximum_delay,
    exhausted_attempts_make_the_job_dead_with_every_error_in_history,
    a_dead_disposition_buries_the_job_at_once,
    list_dead_filters_by_queue_and_pages_newest_first,
    a_replayed_dead_job_is_pending_again_with_its_history,
    replaying_a_job_that_is_not_dead_is_refused,
    purge_deletes_finished_jobs_and_refuses_live_ones,
    purge_dead_deletes_only_jobs_dead_before_the_cutoff,
    only_a_pending_job_can_be_cancelled,
    set_run_at_moves_only_a_pending_job,
    a_reschedule_with_refund_does_not_count_an_attempt,
    stats_count_jobs_per_state_and_the_oldest_lag,
    a_corrupt_history_is_reported_as_corrupt_naming_the_job,
    a_claimed_row_that_does_not_decode_goes_dead_instead_of_to_a_worker,
    a_waiting_worker_wakes_when_a_job_is_enqueued,
    a_waiting_worker_returns_at_once_if_work_is_due_and_times_out_if_none,
    a_waiting_worker_sees_a_job_enqueued_by_another_store_instance,
    a_group_lists_its_jobs_in_id_order_and_cancels_only_the_pending_ones,
    an_empty_group_name_is_refused_at_enqueue,
    a_hold_extends_never_shrinks_and_is_seen_by_another_store,
    a_hold_expires_by_the_stores_clock,
    a_budget_grants_its_limit_then_is_exhausted_until_the_next_window,
    a_budget_given_back_grants_one_more_but_never_goes_below_zero,
    a_zero_limit_is_exhausted_and_a_zero_or_absurd_window_is_refused,
    sixteen_concurrent_takes_from_four_stores_grant_exactly_the_limit_of_ten,
    migrating_again_and_concurrently_is_harmless,
    a_version_1_database_upgrades_in_place_and_keeps_its_jobs,
    the_claim_uses_indexes_not_a_table_scan,
);
