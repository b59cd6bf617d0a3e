//! Durable background jobs in PostgreSQL: enqueued inside the caller's transaction, claimed by
//! [`Runner`]s with `FOR UPDATE SKIP LOCKED`, retried with backoff, kept as `failed` at the end.
//!
//! Written here rather than taken from a crate: the candidates (underway, apalis-postgres,
//! graphile_worker) each bring their own schema, job model and connection handling; we need
//! `enqueue` on the caller's `&mut PgConnection`, a dedupe key, and the email job marking itself
//! done in the same transaction that records `sent_at`. That is a few hundred lines on sqlx 0.8.

mod metrics;
mod runner;
mod store;
mod wake;

pub use metrics::JobQueueMetrics;
pub use runner::{
    JobContext, JobFuture, JobHandler, RetryPolicy, Runner, RunnerConfig, RunnerHandle,
};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// The queue a job goes to when [`NewJob::queue`] is not set.
pub const DEFAULT_QUEUE: &str = "default";
/// Attempts a job gets when [`NewJob::max_attempts`] is not set (the seed system's figure).
pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;

/// A job to enqueue.
#[derive(Clone, Debug, Default)]
pub struct NewJob {
    /// Empty means [`DEFAULT_QUEUE`].
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Not before this time; `None` means now.
    pub run_at: Option<DateTime<Utc>>,
    /// A second job with the same key is not enqueued, whatever the state of the first.
    pub dedupe_key: Option<String>,
    pub max_attempts: Option<i32>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        NewJob {
            kind: kind.into(),
            payload,
            ..NewJob::default()
        }
    }
}

/// A claimed job as its handler sees it.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub payload: serde_json::Value,
    /// This run's number, starting at 1.
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
}

/// Why a job's run did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (network down, database busy).
    #[error("{0}")]
    Retry(String),
    /// Another attempt would fail the same way (bad payload): the job fails at once.
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        JobError::Retry(format!("database: {err}"))
    }
}

/// Enqueues `job` in the caller's transaction: a rollback leaves no job, a commit wakes the
/// runners. Returns the new id, or `None` when a job with the same dedupe key exists.
pub async fn enqueue(conn: &mut PgConnection, job: NewJob) -> Result<Option<i64>, sqlx::Error> {
    let queue = if job.queue.is_empty() {
        DEFAULT_QUEUE.to_owned()
    } else {
        job.queue
    };
    sqlx::query_scalar(
        "INSERT INTO jobs (queue, kind, payload, run_at, dedupe_key, max_attempts)
         VALUES ($1, $2, $3::jsonb, coalesce($4, now()), $5, $6)
         ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
         RETURNING id",
    )
    .bind(queue)
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.run_at)
    .bind(job.dedupe_key)
    .bind(job.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1))
    .fetch_optional(conn)
    .await
}

/// Puts a failed job back in its queue with a fresh set of attempts (the admin's "retry").
/// Returns false when there is no failed job with this id.
pub async fn retry(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let done = retry_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(done)
}

/// [`retry`] inside the caller's transaction (runners are woken when it commits).
pub async fn retry_in(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let queue: Option<String> = sqlx::query_scalar(
        "UPDATE jobs SET state = 'queued', attempts = 0, run_at = now(), finished_at = NULL,
                updated_at = now()
         WHERE id = $1 AND state = 'failed'
         RETURNING queue",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(queue) = queue else {
        return Ok(false);
    };
    sqlx::query("SELECT pg_notify('jobs_ready', $1)")
        .bind(queue)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Deletes a failed (or not yet started) job for good (the admin's "discard").
pub async fn discard(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    discard_in(&mut conn, id).await
}

/// [`discard`] inside the caller's transaction.
pub async fn discard_in(conn: &mut PgConnection, id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM jobs WHERE id = $1 AND state IN ('failed', 'queued')")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The staff pages' handle on the queue.
#[derive(Clone, Copy, Debug, Default)]
pub struct StaffJobControl;

impl app::ssr::admin::jobs::JobControl for StaffJobControl {
    fn retry<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        id: i64,
    ) -> app::ssr::admin::jobs::JobFuture<'a> {
        Box::pin(retry_in(conn, id))
    }

    fn discard<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        id: i64,
    ) -> app::ssr::admin::jobs::JobFuture<'a> {
        Box::pin(discard_in(conn, id))
    }
}
