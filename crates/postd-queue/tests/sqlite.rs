//! SQLite-only behaviour: text columns that can hold anything, and a file
//! shared with the application's own tables.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::Harness;
use postd_queue::{ClaimRequest, JobState, JobStore, NewJob, QueueError, SqliteJobStore};
use serde_json::json;

#[tokio::test]
async fn a_payload_that_is_not_json_is_reported_as_corrupt_naming_the_job() {
    let h = Harness::sqlite().await;
    let bad = h
        .store
        .enqueue(NewJob::new("q", json!(1)))
        .await
        .unwrap()
        .id;
    let good = h
        .store
        .enqueue(NewJob::new("q", json!(2)))
        .await
        .unwrap()
        .id;
    h.exec(&format!(
        "UPDATE postd_jobs SET payload = 'not json {{' WHERE id = {bad}"
    ))
    .await;

    let got = h.store.get(bad).await;
    assert!(
        matches!(got, Err(QueueError::Corrupt { id, field: "payload" }) if id == bad),
        "{got:?}"
    );
    let claimed = h
        .store
        .claim(&ClaimRequest::new(["q"], "w").with_limit(5))
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|c| c.id).collect::<Vec<_>>(), [good]);
    let reason = h
        .text(&format!(
            "SELECT dead_reason FROM postd_jobs WHERE id = {bad}"
        ))
        .await;
    assert_eq!(
        reason.as_deref(),
        Some("corrupt row: column `payload` does not decode")
    );
}

#[tokio::test]
async fn a_column_of_the_wrong_type_is_reported_as_corrupt_naming_it() {
    let h = Harness::sqlite().await;
    let id = h
        .store
        .enqueue(NewJob::new("q", json!(1)))
        .await
        .unwrap()
        .id;
    h.exec(&format!(
        "UPDATE postd_jobs SET fence = 'seven' WHERE id = {id}"
    ))
    .await;
    let got = h.store.get(id).await;
    assert!(
        matches!(got, Err(QueueError::Corrupt { field: "fence", .. })),
        "{got:?}"
    );
}

#[tokio::test]
async fn the_store_shares_a_file_with_the_applications_own_tables() {
    let path = std::env::temp_dir().join(format!(
        "postd_queue_shared_{}_{:016x}.db",
        std::process::id(),
        rand::random::<u64>()
    ));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true),
        )
        .await
        .unwrap();
    sqlx::query("CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO jobs (name) VALUES ('the application''s own')")
        .execute(&pool)
        .await
        .unwrap();

    let store = SqliteJobStore::from_pool(pool.clone()).await.unwrap();
    let id = store.enqueue(NewJob::new("q", json!({}))).await.unwrap().id;
    assert_eq!(
        store.get(id).await.unwrap().unwrap().state,
        JobState::Pending
    );

    let mine: String = sqlx::query_scalar("SELECT name FROM jobs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mine, "the application's own");
    let ours: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('jobs', 'sqlite_sequence') ORDER BY name",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        ours,
        [
            "postd_jobs",
            "postd_jobs_budgets",
            "postd_jobs_holds",
            "postd_jobs_schema"
        ]
    );
    pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[tokio::test]
async fn the_in_memory_store_keeps_its_jobs_across_calls() {
    let store = SqliteJobStore::memory().await.unwrap();
    let id = store
        .enqueue(NewJob::new("q", json!("x")))
        .await
        .unwrap()
        .id;
    store.migrate().await.unwrap();
    let c = store.claim(&ClaimRequest::new(["q"], "w")).await.unwrap();
    assert_eq!(c[0].id, id);
    store.complete(id, c[0].fence, None).await.unwrap();
    assert_eq!(
        store.get(id).await.unwrap().unwrap().state,
        JobState::Completed
    );
}
