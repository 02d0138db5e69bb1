//! Queue throughput with a no-op handler, the same work as the BullMQ
//! baseline: N jobs with a de-duplication key and 3 attempts enqueued in
//! bulk (1,000 per call), then claimed and completed by C concurrent
//! handlers in P worker processes (C split between them), each process
//! claiming as many as it has free handlers. Prints one JSON line.
//!
//! A sixth argument first fills the queue with that many jobs due tomorrow,
//! to compare claiming the due ones from a big queue with an empty one.
//!
//! Throughput counts from starting the workers to the last completion; the claim
//! latency percentiles are over the claims that returned jobs.
//!
//! Each process runs a single-threaded Tokio runtime, as BullMQ's worker runs
//! on one Node thread; `POSTD_BENCH_THREADS=N` gives it a multi-threaded one
//! with N threads instead (on a 2-core machine shared with the database,
//! the extra threads' hand-offs cost more than they give).
//!
//! ```sh
//! cargo run --release -p postd-queue --example queue_throughput -- sqlite 20000 50 1
//! cargo run --release -p postd-queue --example queue_throughput -- sqlite 10000 50 1 100 1000000
//! cargo run --release -p postd-queue --features postgres --example queue_throughput -- \
//!     postgres://postgres@127.0.0.1:5432/test 20000 50 2
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use postd_queue::{ClaimRequest, JobStore, NewJob, SqliteJobStore};
use serde_json::json;

const QUEUE: &str = "bench";

/// What one worker did: when its last completion landed (Unix ms) and how
/// long each claim that returned jobs took.
#[derive(serde::Serialize, serde::Deserialize)]
struct Report {
    last_complete_ms: i64,
    claim_us: Vec<u64>,
}

fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn main() {
    let threads: usize = std::env::var("POSTD_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let runtime = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    runtime.unwrap().block_on(run(threads));
}

async fn run(threads: usize) {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--worker") {
        // A child process: work the queue until it is empty.
        let store = open(&args[2], false).await;
        let concurrency: usize = args[3].parse().unwrap();
        let batch: u32 = args[4].parse().unwrap();
        let report = work(store, concurrency, batch).await;
        println!("{}", serde_json::to_string(&report).unwrap());
        return;
    }
    let backend = args.get(1).cloned().unwrap_or_else(|| "sqlite".to_owned());
    let jobs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let concurrency: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(50);
    let processes: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(1);
    let batch: u32 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(100);
    let future: usize = args.get(6).and_then(|s| s.parse().ok()).unwrap_or(0);
    assert!(jobs > 0, "give a number of jobs above zero");
    let target = if backend == "sqlite" {
        let path =
            std::env::temp_dir().join(format!("postd-queue-bench-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        format!("sqlite:{}", path.display())
    } else {
        backend.clone()
    };
    let store = open(&target, true).await;

    // Jobs scheduled for tomorrow, which no claim may touch.
    let tomorrow = chrono::Utc::now() + chrono::Duration::days(1);
    for start in (0..future).step_by(5_000) {
        let later = (start..(start + 5_000).min(future))
            .map(|i| {
                NewJob::new(QUEUE, json!({ "i": i, "text": "later" }))
                    .with_idempotency_key(format!("f{i}"))
                    .with_run_at(tomorrow)
            })
            .collect();
        store.enqueue_many(later).await.unwrap();
    }
    if future > 0
        && let Some(path) = target.strip_prefix("sqlite:")
    {
        // A queue that filled up over days has long been checkpointed; a
        // million rows just written sit in the WAL, which every read consults.
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }

    let t0 = Instant::now();
    for chunk in (0..jobs).collect::<Vec<_>>().chunks(1_000) {
        let batch_jobs = chunk
            .iter()
            .map(|i| {
                NewJob::new(QUEUE, json!({ "i": i, "text": "hello world" }))
                    .with_idempotency_key(format!("p{i}"))
                    .with_max_attempts(3)
            })
            .collect();
        store.enqueue_many(batch_jobs).await.unwrap();
    }
    let enqueue_s = t0.elapsed().as_secs_f64();

    let t1 = wall_ms();
    let mut reports = Vec::new();
    if processes <= 1 {
        reports.push(work(store.clone(), concurrency, batch).await);
    } else {
        let exe = std::env::current_exe().unwrap();
        let per = concurrency.div_ceil(processes).max(1);
        let children: Vec<_> = (0..processes)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args(["--worker", &target, &per.to_string(), &batch.to_string()])
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            reports.push(serde_json::from_slice(&out.stdout).unwrap());
        }
    }
    // Until the last completion, as the BullMQ baseline counts: the check
    // that the queue is empty afterwards is not part of the work.
    let last = reports.iter().map(|r| r.last_complete_ms).max().unwrap();
    let process_s = (last - t1).max(1) as f64 / 1000.0;
    let mut claims: Vec<u64> = reports
        .iter()
        .flat_map(|r| r.claim_us.iter().copied())
        .collect();
    claims.sort_unstable();
    let pct = |p: f64| {
        claims
            .get(((claims.len() as f64 * p) as usize).min(claims.len().saturating_sub(1)))
            .copied()
    };
    let stats = store.stats(QUEUE).await.unwrap();
    assert_eq!(stats.completed as usize, jobs, "{stats:?}");
    assert_eq!(stats.pending as usize, future, "{stats:?}");
    let system = if target.starts_with("sqlite") {
        "postd-sqlite"
    } else {
        "postd-postgres"
    };
    println!(
        "{}",
        json!({
            "system": system, "jobs": jobs, "concurrency": concurrency, "processes": processes,
            "future_jobs": future,
            "runtime": if threads == 0 { "current_thread".to_owned() } else { format!("multi_thread({threads})") },
            "enqueue_per_s": (jobs as f64 / enqueue_s).round(),
            "process_per_s": (jobs as f64 / process_s).round(),
            "claims": claims.len(),
            "claim_p50_us": pct(0.50), "claim_p95_us": pct(0.95), "claim_p99_us": pct(0.99),
        })
    );
    if let Some(path) = target.strip_prefix("sqlite:")
        && std::env::var_os("POSTD_BENCH_KEEP").is_none()
    {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

async fn open(target: &str, fresh: bool) -> Arc<dyn JobStore> {
    if let Some(path) = target.strip_prefix("sqlite:") {
        return Arc::new(SqliteJobStore::open(path).await.unwrap());
    }
    postgres(target, fresh).await
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str, fresh: bool) -> Arc<dyn JobStore> {
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use std::str::FromStr;
    let schema = "postd_queue_bench";
    if fresh {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await
        .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
    }
    let options = PgConnectOptions::from_str(url)
        .unwrap()
        .options([("search_path", schema)]);
    // The same pool settings as `PostgresJobStore::connect`.
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .unwrap();
    Arc::new(
        postd_queue::PostgresJobStore::from_pool(pool)
            .await
            .unwrap(),
    )
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: &str, _: bool) -> Arc<dyn JobStore> {
    panic!("build with --features postgres for a postgres:// target")
}

/// Up to `concurrency` handlers at once, as the engine's worker runs them:
/// one loop claims for the free handlers (at most `batch` per claim) once a
/// quarter of them are free, so claims come in batches rather than one job
/// at a time; each job gets a handler task that runs the no-op and
/// completes it, until no job is left.
async fn work(store: Arc<dyn JobStore>, concurrency: usize, batch: u32) -> Report {
    let worker = format!("bench-{}", std::process::id());
    let last_complete = Arc::new(AtomicI64::new(0));
    let mut claim_us = Vec::new();
    let refill = (concurrency / 4).max(1);
    let mut running = tokio::task::JoinSet::new();
    loop {
        while let Some(done) = running.try_join_next() {
            done.unwrap();
        }
        let free = concurrency - running.len();
        if free < refill && !running.is_empty() {
            if let Some(done) = running.join_next().await {
                done.unwrap();
            }
            continue;
        }
        let request = ClaimRequest::new([QUEUE], worker.clone())
            .with_limit(u32::try_from(free).unwrap().min(batch))
            .with_lease(Duration::from_secs(60));
        let asked = Instant::now();
        let jobs = store.claim(&request).await.unwrap();
        if !jobs.is_empty() {
            claim_us.push(u64::try_from(asked.elapsed().as_micros()).unwrap());
        }
        if jobs.is_empty() {
            if running.is_empty() {
                let s = store.stats(QUEUE).await.unwrap();
                if s.due == 0 && s.running == 0 {
                    return Report {
                        last_complete_ms: last_complete.load(Ordering::SeqCst),
                        claim_us,
                    };
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            } else if let Some(done) = running.join_next().await {
                done.unwrap();
            }
            continue;
        }
        for job in jobs {
            let store = Arc::clone(&store);
            let last_complete = Arc::clone(&last_complete);
            running.spawn(async move {
                // The no-op handler.
                std::hint::black_box(&job.payload);
                store.complete(job.id, job.fence, None).await.unwrap();
                last_complete.fetch_max(wall_ms(), Ordering::SeqCst);
            });
        }
    }
}
