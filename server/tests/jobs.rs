//! The job runner against real PostgreSQL: transactional enqueue, dedupe, retries to `failed`,
//! two runners sharing 1,000 jobs, periodic jobs once per period, release at shutdown.

mod common;

use server::jobs::{
    self, Job, JobContext, JobError, JobFuture, JobHandler, NewJob, RetryPolicy, Runner,
    RunnerConfig,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn fast_config(name: &str, concurrency: usize) -> RunnerConfig {
    RunnerConfig {
        worker_id: format!("{name}-{}", uuid::Uuid::new_v4()),
        queues: vec![("default".to_owned(), concurrency)],
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        shutdown_deadline: Duration::from_secs(5),
    }
}

const FAST_RETRY: RetryPolicy = RetryPolicy {
    first_retry: Duration::from_millis(50),
    max_delay: Duration::from_millis(200),
};

async fn wait_for(pool: &PgPool, sql: &str, what: &str) {
    for _ in 0..300 {
        let done: bool = sqlx::query_scalar(sql)
            .fetch_one(pool)
            .await
            .expect("poll query");
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count query")
}

async fn enqueue(pool: &PgPool, job: NewJob) -> Option<i64> {
    let mut conn = pool.acquire().await.expect("connection");
    jobs::enqueue(&mut conn, job).await.expect("enqueue")
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rolled_back_transaction_enqueues_nothing(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let mut tx = pool.begin().await.expect("begin");
    let id = jobs::enqueue(&mut tx, NewJob::new("noop", serde_json::json!({})))
        .await
        .expect("enqueue");
    assert!(id.is_some());
    tx.rollback().await.expect("rollback");
    assert_eq!(count(&pool, "SELECT count(*) FROM jobs").await, 0);

    let mut tx = pool.begin().await.expect("begin");
    jobs::enqueue(&mut tx, NewJob::new("noop", serde_json::json!({})))
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");
    assert_eq!(count(&pool, "SELECT count(*) FROM jobs").await, 1);
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_dedupe_key_enqueues_once(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let job = NewJob {
        dedupe_key: Some("order-42-confirmation".into()),
        ..NewJob::new("noop", serde_json::json!({"order": 42}))
    };
    assert!(enqueue(&pool, job.clone()).await.is_some());
    assert_eq!(enqueue(&pool, job).await, None);
    assert_eq!(count(&pool, "SELECT count(*) FROM jobs").await, 1);
    pool.close().await;
}

struct AlwaysFails(Arc<AtomicUsize>);

impl JobHandler for AlwaysFails {
    fn run<'a>(&'a self, job: &'a Job, _: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(JobError::Retry(format!(
                "printer on fire (attempt {})",
                job.attempts
            )))
        })
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_job_that_always_fails_ends_failed_after_its_attempts(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let runner = Runner::new(pool.clone(), fast_config("a", 2))
        .register_with("doomed", AlwaysFails(runs.clone()), FAST_RETRY)
        .start();
    let id = enqueue(&pool, NewJob::new("doomed", serde_json::json!({})))
        .await
        .expect("new job");
    wait_for(
        &pool,
        "SELECT EXISTS (SELECT 1 FROM jobs WHERE state = 'failed')",
        "the job to fail",
    )
    .await;
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("job row");
    assert_eq!(attempts, 3);
    assert_eq!(error.as_deref(), Some("printer on fire (attempt 3)"));
    runner.shutdown().await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);

    assert!(jobs::retry(&pool, id).await.expect("retry"));
    let state: String = sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("job row");
    assert_eq!(state, "queued");
    assert!(jobs::discard(&pool, id).await.expect("discard"));
    pool.close().await;
}

struct RecordsRun;

impl JobHandler for RecordsRun {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            sqlx::query("INSERT INTO test_runs (job_id) VALUES ($1)")
                .bind(job.id)
                .execute(&ctx.pool)
                .await?;
            Ok(())
        })
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn two_runners_run_each_of_1000_jobs_exactly_once(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect.clone()).await;
    sqlx::query("CREATE TABLE test_runs (job_id bigint NOT NULL)")
        .execute(&pool)
        .await
        .expect("create table");
    let mut tx = pool.begin().await.expect("begin");
    for n in 0..1000 {
        jobs::enqueue(
            &mut tx,
            NewJob::new("record", serde_json::json!({ "n": n })),
        )
        .await
        .expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let pools = [
        common::test_pool(connect.clone()).await,
        common::test_pool(connect).await,
    ];
    let runners: Vec<_> = pools
        .iter()
        .enumerate()
        .map(|(n, p)| {
            Runner::new(p.clone(), fast_config(&format!("instance{n}"), 3))
                .register("record", RecordsRun)
                .start()
        })
        .collect();
    wait_for(
        &pool,
        "SELECT count(*) = 1000 FROM jobs WHERE state = 'succeeded'",
        "all jobs to succeed",
    )
    .await;
    for runner in runners {
        runner.shutdown().await;
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM test_runs").await, 1000);
    assert_eq!(
        count(&pool, "SELECT count(DISTINCT job_id) FROM test_runs").await,
        1000
    );
    let workers = count(&pool, "SELECT count(DISTINCT locked_by) FROM jobs").await;
    assert_eq!(workers, 2, "both instances took part");
    for p in pools {
        p.close().await;
    }
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_periodic_job_is_enqueued_once_per_period_across_instances(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let runners: Vec<_> = (0..2)
        .map(|n| {
            Runner::new(pool.clone(), fast_config(&format!("p{n}"), 1))
                .register("sweep", Counts(runs.clone()))
                .every("sweep", Duration::from_secs(1))
                .start()
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for runner in runners {
        runner.shutdown().await;
    }
    let jobs = count(&pool, "SELECT count(*) FROM jobs WHERE kind = 'sweep'").await;
    assert!((2..=4).contains(&jobs), "{jobs} sweeps in 2.5 s");
    assert_eq!(
        count(
            &pool,
            "SELECT count(DISTINCT payload->>'period_start') FROM jobs"
        )
        .await,
        jobs
    );
    pool.close().await;
}

struct Counts(Arc<AtomicUsize>);

impl JobHandler for Counts {
    fn run<'a>(&'a self, _: &'a Job, _: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }
}

struct Slow(Duration);

impl JobHandler for Slow {
    fn run<'a>(&'a self, _: &'a Job, _: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            tokio::time::sleep(self.0).await;
            Ok(())
        })
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_long_job_renews_its_lease_and_shutdown_releases_what_is_unfinished(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let config = RunnerConfig {
        lease: Duration::from_millis(600),
        shutdown_deadline: Duration::from_millis(300),
        ..fast_config("slow", 1)
    };
    let runner = Runner::new(pool.clone(), config)
        .register("slow", Slow(Duration::from_secs(60)))
        .start();
    let id = enqueue(&pool, NewJob::new("slow", serde_json::json!({})))
        .await
        .expect("new job");
    // Three lease lengths later the job is still held: its lease was renewed.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let (state, attempts): (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("job row");
    assert_eq!((state.as_str(), attempts), ("running", 1));
    runner.shutdown().await;
    let (state, attempts, lease): (String, i32, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT state, attempts, lease_until FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("job row");
    assert_eq!((state.as_str(), attempts, lease), ("queued", 0, None));
    pool.close().await;
}
