//! The job queue and the emails as staff watch them: how many jobs are in each state, the
//! queued, running and failed ones with their errors, the latest emails, and (without SMTP)
//! the outbox files. Retrying and discarding go through [`JobControl`], the server's queue.

use crate::admin::model::{EmailRow, JobRow};
use crate::domain::period::format_local;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{PgConnection, PgPool};
use std::future::Future;
use std::pin::Pin;

/// Rows shown per state.
pub const JOBS_SHOWN: i64 = 50;

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'a>>;

/// The server's job queue, as the staff pages may change it (inside the caller's transaction).
pub trait JobControl: Send + Sync {
    /// Puts a failed job back in its queue; false when there is no failed job with this id.
    fn retry<'a>(&'a self, conn: &'a mut PgConnection, id: i64) -> JobFuture<'a>;
    /// Deletes a failed or queued job; false when there is none with this id.
    fn discard<'a>(&'a self, conn: &'a mut PgConnection, id: i64) -> JobFuture<'a>;
}

/// Jobs per state, as (state, count), in the queue's order of life.
pub async fn counts(pool: &PgPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.state, count(j.id) FROM (VALUES (1, 'queued'), (2, 'running'), (3, 'failed'), (4, 'succeeded')) AS s (n, state)
           LEFT JOIN jobs j ON j.state = s.state GROUP BY s.n, s.state ORDER BY s.n",
    )
    .fetch_all(pool)
    .await
}

/// The latest jobs in `state` (queued ones soonest due first).
pub async fn in_state(pool: &PgPool, state: &str, tz: Tz) -> Result<Vec<JobRow>, sqlx::Error> {
    type Row = (
        i64,
        String,
        String,
        String,
        i32,
        i32,
        DateTime<Utc>,
        DateTime<Utc>,
        Option<String>,
    );
    let order = if state == "queued" {
        "run_at, id"
    } else {
        "updated_at DESC, id DESC"
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT id, kind, queue, state, attempts, max_attempts, run_at, updated_at, last_error
           FROM jobs WHERE state = $1 ORDER BY {order} LIMIT $2"
    ))
    .bind(state)
    .bind(JOBS_SHOWN)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, queue, state, attempts, max_attempts, run_at, updated, last_error)| {
                JobRow {
                    id,
                    kind,
                    queue,
                    state,
                    attempts,
                    max_attempts,
                    run_at: format_local(run_at, tz),
                    updated: format_local(updated, tz),
                    last_error,
                }
            },
        )
        .collect())
}

/// The latest emails, newest first.
pub async fn emails(pool: &PgPool, tz: Tz, limit: i64) -> Result<Vec<EmailRow>, sqlx::Error> {
    type Row = (
        i64,
        String,
        String,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.id, e.kind, e.recipient, e.subject, e.created_at, e.sent_at, j.state
           FROM emails e LEFT JOIN jobs j ON j.id = e.job_id
          ORDER BY e.created_at DESC, e.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, kind, recipient, subject, created, sent, job_state)| EmailRow {
                id,
                kind,
                recipient,
                subject,
                created: format_local(created, tz),
                sent: sent.map(|t| format_local(t, tz)),
                job_state,
            },
        )
        .collect())
}

/// One email's Message-ID and subject, for reading its outbox file.
pub async fn email_message_id(
    pool: &PgPool,
    id: i64,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT message_id, subject FROM emails WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}
