//! The server's side of the app's [`OrderMail`] seam: an order email becomes an `email` job in
//! the booking's own transaction (rendered from the templates now, sent by the job runner).

use super::{enqueue_email, EmailRequest};
use app::ssr::outbox::{EnqueueError, EnqueueFuture, OrderEmail, OrderMail};
use sqlx::PgConnection;

/// Enqueues order emails as `email` jobs.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueuedOrderMail;

impl OrderMail for QueuedOrderMail {
    fn enqueue<'a>(&'a self, conn: &'a mut PgConnection, email: OrderEmail) -> EnqueueFuture<'a> {
        Box::pin(async move {
            let request = EmailRequest {
                kind: email.kind,
                entity: email.entity,
                to: email.to,
                values: email.values,
            };
            match enqueue_email(conn, request).await {
                Ok(_) => Ok(()),
                Err(super::EnqueueEmailError::Database(err)) => Err(EnqueueError::Database(err)),
                Err(other) => Err(EnqueueError::Other(other.to_string())),
            }
        })
    }
}
