//! Outgoing email: [`Mailer`] sends through SMTP (lettre, async, rustls) when `SMTP_URL` is set,
//! otherwise writes each message as an `.eml` file into an outbox folder under the data directory.
//!
//! Emails are only sent by the `email` job ([`EmailJob`]); request handlers call
//! [`enqueue_email`] in their transaction. Delivery is at least once: a message that the SMTP
//! server accepted is recorded (`emails.sent_at`) in the transaction that marks its job done, and
//! a retry that finds `sent_at` set sends nothing. The one duplicate window: the server accepted
//! the message and the process died (or the database failed) before that commit. The job then
//! runs again after its lease and sends the same message once more, with the same Message-ID
//! (`<{kind}-{entity}@rentwise.local>`), which lets receiving systems drop the copy.

mod job;
mod order_mail;
mod reminders;
mod template;

pub use job::{enqueue_email, EmailJob, EmailRequest, EnqueueEmailError, OutgoingEmail, EMAIL_JOB};
pub use order_mail::QueuedOrderMail;
pub use reminders::{
    sweep as sweep_reminders, ExpireHoldsJob, Reminded, ReminderJob, EXPIRE_HOLDS_JOB,
    REMINDERS_JOB, REMIND_AHEAD,
};
pub use template::{render, RenderedEmail, KINDS};

use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("SMTP_URL is not usable: {0}")]
    BadUrl(String),
    #[error("{0:?} is not an email address")]
    Address(String),
    #[error("email template {kind}: {problem}")]
    Template { kind: String, problem: String },
    #[error("building the message failed: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("writing to the outbox failed: {0}")]
    Outbox(#[from] std::io::Error),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// Sends [`OutgoingEmail`]s from one sender address through the configured transport.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

/// The domain of every Message-ID we make.
pub const MESSAGE_ID_DOMAIN: &str = "rentwise.local";

/// The deterministic Message-ID of the `kind` email about `entity` (an order number, say).
pub fn message_id(kind: &str, entity: &str) -> String {
    format!("<{kind}-{entity}@{MESSAGE_ID_DOMAIN}>")
}

/// Where messages are written without an SMTP server.
pub fn outbox_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("outbox")
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .parse()
        .map_err(|_| MailError::Address(address.to_owned()))
}

impl Mailer {
    /// SMTP when `smtp_url` is set, else the `outbox` folder under `data_dir`.
    pub fn from_config(
        smtp_url: Option<&crate::config::Secret>,
        data_dir: &Path,
        from: &str,
    ) -> Result<Self, MailError> {
        match smtp_url {
            Some(url) => Mailer::smtp(url.expose(), from),
            None => Mailer::outbox(outbox_dir(data_dir), from),
        }
    }

    /// `smtp://host:port` is plain (loopback only), `smtps://` is TLS from the first byte, and
    /// `smtp://…?tls=starttls` upgrades with STARTTLS. User and password go in the URL.
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let url = url.replace("tls=starttls", "tls=required");
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            // lettre's message may contain the URL, and so the password: never show it.
            .map_err(|_| MailError::BadUrl("expected smtp:// or smtps:// with a host".into()))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Mailer {
            from: mailbox(from)?,
            transport: Transport::Smtp(transport),
        })
    }

    /// Writes messages as `{message-id}.eml` files into `dir` (created when missing).
    pub fn outbox(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        std::fs::create_dir_all(&dir)?;
        Ok(Mailer {
            from: mailbox(from)?,
            transport: Transport::Outbox(dir),
        })
    }

    /// Builds the MIME message: plain text and HTML alternatives, our Message-ID.
    pub fn message(&self, email: &OutgoingEmail) -> Result<Message, MailError> {
        let body = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(email.html.clone()),
            );
        Ok(Message::builder()
            .message_id(Some(email.message_id.clone()))
            .from(self.from.clone())
            .to(mailbox(&email.to)?)
            .subject(email.subject.clone())
            .multipart(body)?)
    }

    /// Sends one message; `Ok` means the SMTP server accepted it (or the file is written).
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = self.message(email)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Outbox(dir) => {
                let name = app::ssr::outbox::outbox_file_name(&email.message_id);
                let path = dir.join(&name);
                let partial = dir.join(format!(".{name}.partial"));
                tokio::fs::write(&partial, message.formatted()).await?;
                tokio::fs::rename(&partial, &path).await?;
            }
        }
        Ok(())
    }
}
