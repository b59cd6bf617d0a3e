//! The SQL of a job's life after enqueue: claim, lease renewal, success, failure with backoff,
//! reaping expired leases and releasing a stopping worker's jobs.

use super::Job;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    queue: String,
    kind: String,
    payload: String,
    attempts: i32,
    max_attempts: i32,
    run_at: DateTime<Utc>,
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Claims the next due job of `queue` for `worker`, holding it for `lease`.
pub(super) async fn claim(
    pool: &PgPool,
    queue: &str,
    worker: &str,
    lease: Duration,
) -> Result<Option<Job>, sqlx::Error> {
    let row: Option<JobRow> = sqlx::query_as(
        "UPDATE jobs SET state = 'running', locked_by = $2,
                lease_until = now() + $3 * interval '1 millisecond',
                attempts = attempts + 1, updated_at = now()
         WHERE id = (
             SELECT id FROM jobs
             WHERE state = 'queued' AND run_at <= now() AND queue = $1
             ORDER BY run_at, id
             FOR UPDATE SKIP LOCKED
             LIMIT 1)
         RETURNING id, queue, kind, payload::text AS payload, attempts, max_attempts, run_at",
    )
    .bind(queue)
    .bind(worker)
    .bind(millis(lease))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| Job {
        id: row.id,
        queue: row.queue,
        kind: row.kind,
        // The column is jsonb, so its text always parses.
        payload: serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null),
        attempts: row.attempts,
        max_attempts: row.max_attempts,
        run_at: row.run_at,
    }))
}

/// Moves `running` jobs whose lease expired (their worker died) back to `queued`, or to
/// `failed` when that was their last attempt. Returns how many were reaped.
pub(super) async fn reap_expired(pool: &PgPool, queue: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET
             state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
             last_error = 'lease expired: the worker ' || coalesce(locked_by, '?') || ' was lost',
             locked_by = NULL, lease_until = NULL, run_at = now(), updated_at = now()
         WHERE queue = $1 AND state = 'running' AND lease_until < now()",
    )
    .bind(queue)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Extends the lease of a job this worker still holds. False when it no longer holds it.
pub(super) async fn renew(
    pool: &PgPool,
    id: i64,
    worker: &str,
    lease: Duration,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
         WHERE id = $1 AND locked_by = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(millis(lease))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks the job succeeded, on any connection (a handler's own transaction included).
pub(super) async fn succeed(
    conn: &mut PgConnection,
    id: i64,
    worker: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE jobs SET state = 'succeeded', finished_at = now(), updated_at = now(),
                lease_until = NULL, last_error = NULL
         WHERE id = $1 AND locked_by = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed run: queued again after `retry_in`, or failed for good when `retry_in` is
/// `None` or the attempts are used up.
pub(super) async fn fail(
    pool: &PgPool,
    id: i64,
    worker: &str,
    error: &str,
    retry_in: Option<Duration>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jobs SET
             state = CASE WHEN $4::bigint IS NULL OR attempts >= max_attempts
                          THEN 'failed' ELSE 'queued' END,
             finished_at = CASE WHEN $4::bigint IS NULL OR attempts >= max_attempts
                                THEN now() END,
             run_at = now() + coalesce($4::bigint, 0) * interval '1 millisecond',
             last_error = $3, locked_by = NULL, lease_until = NULL, updated_at = now()
         WHERE id = $1 AND locked_by = $2 AND state = 'running'",
    )
    .bind(id)
    .bind(worker)
    .bind(error)
    .bind(retry_in.map(millis))
    .execute(pool)
    .await?;
    Ok(())
}

/// Hands back every job `worker` still holds, as if never started (shutdown past its deadline).
pub(super) async fn release_all(pool: &PgPool, worker: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "WITH released AS (
             UPDATE jobs SET state = 'queued', locked_by = NULL, lease_until = NULL,
                    attempts = greatest(attempts - 1, 0), updated_at = now()
             WHERE locked_by = $1 AND state = 'running'
             RETURNING queue)
         SELECT pg_notify('jobs_ready', queue) FROM released",
    )
    .bind(worker)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
