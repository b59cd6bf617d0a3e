//! The one error type the pages and server functions share. Its messages are written for the
//! customer; the cause of an internal error is logged on the server with the request id, and
//! only the id travels to the browser.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Something the customer asked for does not exist (or is not theirs to see).
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong in a way the customer can fix.
    #[error("{0}")]
    Invalid(String),
    /// The request is wrong in one form field; the page shows the message next to it.
    #[error("{message}")]
    Field { field: String, message: String },
    /// What was asked for was taken meanwhile (a booking conflict).
    #[error("{0}")]
    Conflict(String),
    /// The page or action needs a signed-in account.
    #[error("Please sign in to continue.")]
    SignInRequired,
    /// Too many sign-in attempts (for this address or account) or sign-ups (from this address);
    /// the next may come in `seconds`.
    #[error("Too many attempts. Please wait {seconds} seconds and try again.")]
    TooManyAttempts { seconds: u64 },
    /// We are overloaded (no database connection free in time); retrying shortly will work.
    #[error("The shop is very busy right now. Please try again in a few seconds.")]
    Busy,
    /// Our fault. The details are in the server log under this request id.
    #[error("Sorry, something went wrong on our side. If it keeps happening, please quote reference {request_id}.")]
    Internal { request_id: String },
    /// The browser could not reach the server or understand its answer.
    #[error("We couldn't reach the shop. Please check your connection and try again.")]
    Network,
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::Response(_) => AppError::Network,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                let message =
                    "That request was not understood. Please reload the page and try again.";
                // On the server this is the caller's mistake: a 400, not the default 500.
                #[cfg(feature = "ssr")]
                return crate::ssr::invalid(message);
                #[cfg(not(feature = "ssr"))]
                AppError::Invalid(message.into())
            }
            _ => AppError::Internal {
                request_id: "unknown".into(),
            },
        }
    }
}

impl AppError {
    /// The message for form field `name`, when this error is about it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Field { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "Not found",
            AppError::Invalid(_) | AppError::Field { .. } => "Please check your request",
            AppError::Conflict(_) => "No longer available",
            AppError::SignInRequired => "Please sign in",
            AppError::TooManyAttempts { .. } => "Please wait a moment",
            AppError::Busy => "Busy",
            AppError::Internal { .. } => "Something went wrong",
            AppError::Network => "Connection problem",
        }
    }
}
