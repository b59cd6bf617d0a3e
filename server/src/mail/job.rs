//! The `email` job: [`enqueue_email`] renders and records a message in the caller's transaction;
//! [`EmailJob`] sends it once and records `sent_at` in the transaction that ends the job.

use super::{message_id, render, MailError, Mailer};
use crate::jobs::{self, Job, JobContext, JobError, JobFuture, JobHandler, NewJob};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The job kind that sends emails.
pub const EMAIL_JOB: &str = "email";

/// Runs an email gets: with the default retry policy (1 min doubling, at most 6 h apart) an SMTP
/// outage of about a day loses nothing; after that the job is kept as failed for staff to retry.
pub const EMAIL_MAX_ATTEMPTS: i32 = 12;

/// An email to send about one entity (an order): at most one per (kind, entity).
#[derive(Clone, Debug)]
pub struct EmailRequest {
    /// A template kind, one of [`super::KINDS`].
    pub kind: String,
    /// The order number (or other id) the email is about; part of the Message-ID.
    pub entity: String,
    pub to: String,
    pub values: BTreeMap<String, String>,
}

/// A rendered message, as the job's payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub message_id: String,
    pub kind: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders `request` and enqueues its `email` job in the caller's transaction. Returns the job
/// id, or `None` when this (kind, entity) email was enqueued before.
pub async fn enqueue_email(
    conn: &mut PgConnection,
    request: EmailRequest,
) -> Result<Option<i64>, EnqueueEmailError> {
    request
        .to
        .parse::<lettre::message::Mailbox>()
        .map_err(|_| MailError::Address(request.to.clone()))?;
    let rendered = render(&request.kind, &request.values)?;
    let email = OutgoingEmail {
        message_id: message_id(&request.kind, &request.entity),
        kind: request.kind,
        to: request.to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    };
    sqlx::query(
        "INSERT INTO emails (kind, message_id, recipient, subject) VALUES ($1, $2, $3, $4)
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(&email.kind)
    .bind(&email.message_id)
    .bind(&email.to)
    .bind(&email.subject)
    .execute(&mut *conn)
    .await?;
    let payload =
        serde_json::to_value(&email).map_err(|err| EnqueueEmailError::Payload(err.to_string()))?;
    let job = NewJob {
        dedupe_key: Some(format!("{EMAIL_JOB}:{}", email.message_id)),
        max_attempts: Some(EMAIL_MAX_ATTEMPTS),
        ..NewJob::new(EMAIL_JOB, payload)
    };
    Ok(jobs::enqueue(conn, job).await?)
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueEmailError {
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the email cannot be stored as a job: {0}")]
    Payload(String),
}

/// Runs `email` jobs with a [`Mailer`].
#[derive(Clone)]
pub struct EmailJob {
    pub mailer: Arc<Mailer>,
}

impl JobHandler for EmailJob {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(self.deliver(job, ctx))
    }
}

impl EmailJob {
    async fn deliver(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        let email: OutgoingEmail = serde_json::from_value(job.payload.clone())
            .map_err(|err| JobError::Permanent(format!("bad email payload: {err}")))?;
        let sent: Option<Option<chrono::DateTime<chrono::Utc>>> =
            sqlx::query_scalar("SELECT sent_at FROM emails WHERE message_id = $1")
                .bind(&email.message_id)
                .fetch_optional(&ctx.pool)
                .await?;
        if matches!(sent, Some(Some(_))) {
            tracing::info!(message_id = %email.message_id, "already sent; not sending again");
            return Ok(());
        }
        self.mailer.send(&email).await.map_err(|err| match err {
            MailError::Address(_) | MailError::Build(_) | MailError::Template { .. } => {
                JobError::Permanent(err.to_string())
            }
            _ => JobError::Retry(err.to_string()),
        })?;
        // Duplicate window: the message is accepted but not yet recorded (see the module docs).
        let mut tx = ctx.pool.begin().await?;
        sqlx::query(
            "INSERT INTO emails (job_id, kind, message_id, recipient, subject, sent_at)
             VALUES ($1, $2, $3, $4, $5, now())
             ON CONFLICT (message_id) DO UPDATE SET sent_at = now(), job_id = $1",
        )
        .bind(job.id)
        .bind(&email.kind)
        .bind(&email.message_id)
        .bind(&email.to)
        .bind(&email.subject)
        .execute(&mut *tx)
        .await?;
        ctx.complete_in(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
