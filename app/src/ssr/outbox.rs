//! The seam through which booking code enqueues an email in its own transaction. The server
//! implements it with its mail templates and job queue; the app only says what to send.

use sqlx::PgConnection;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// An email about an order: at most one per (kind, entity) is ever sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderEmail {
    /// A template kind, e.g. `booking_confirmation`.
    pub kind: String,
    /// The order number.
    pub entity: String,
    pub to: String,
    pub values: BTreeMap<String, String>,
}

/// Why an email could not be enqueued. A database failure keeps its type, so that a dropped
/// connection is answered like every other (503), not as a bug of ours.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

pub type EnqueueFuture<'a> = Pin<Box<dyn Future<Output = Result<(), EnqueueError>> + Send + 'a>>;

/// Enqueues an email inside the caller's transaction, so a rollback sends nothing.
pub trait OrderMail: Send + Sync {
    fn enqueue<'a>(&'a self, conn: &'a mut PgConnection, email: OrderEmail) -> EnqueueFuture<'a>;
}

/// The outbox file of the message with this Message-ID: its safe characters and `.eml`.
pub fn outbox_file_name(message_id: &str) -> String {
    let name: String = message_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        .collect();
    format!("{name}.eml")
}
