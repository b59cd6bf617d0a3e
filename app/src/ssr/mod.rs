//! Server-only parts of the app: the context the server provides to every render and server
//! function, the catalog queries, and the mapping of server failures to `AppError`.

pub mod accounts;
pub mod admin;
pub mod availability;
pub mod booking;
pub mod catalog_cache;
pub mod orders;
pub mod outbox;
pub mod search;
pub mod sign_in_limits;
pub mod terms;

use crate::error::AppError;
use axum::http::{header, HeaderValue, StatusCode};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use sqlx::PgPool;

/// Shop-wide settings and handles, provided by the server to every request's reactive owner.
#[derive(Clone, Debug)]
pub struct ShopContext {
    pub pool: PgPool,
    pub catalog: std::sync::Arc<catalog_cache::CatalogCache>,
    pub currency: String,
    pub time_zone: chrono_tz::Tz,
    pub mail: std::sync::Arc<dyn outbox::OrderMail>,
    pub pickup_address: String,
    pub opening_hours: String,
    /// How long "Reserve" keeps a unit during checkout.
    pub hold_minutes: i64,
    /// The job queue, as staff may retry and discard its jobs.
    pub jobs: std::sync::Arc<dyn admin::jobs::JobControl>,
    /// Where emails are written when no SMTP server is configured.
    pub outbox_dir: Option<std::path::PathBuf>,
    /// The largest photo staff may upload, in MB.
    pub upload_limit_mb: usize,
    /// Sign-in attempts allowed per client address and per account.
    pub sign_in_limits: std::sync::Arc<sign_in_limits::SignInLimits>,
}

impl std::fmt::Debug for dyn admin::jobs::JobControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobControl")
    }
}

impl std::fmt::Debug for dyn outbox::OrderMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OrderMail")
    }
}

impl ShopContext {
    pub fn details(&self) -> booking::ShopDetails {
        booking::ShopDetails {
            tz: self.time_zone,
            currency: self.currency.clone(),
            pickup_address: self.pickup_address.clone(),
            opening_hours: self.opening_hours.clone(),
        }
    }
}

/// This request's session (the server's session layer provides it).
pub async fn session() -> Result<tower_sessions::Session, AppError> {
    leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|err| {
            tracing::error!(request_id = %request_id(), error = ?err, "no session on the request");
            internal()
        })
}

/// The signed-in user, if any.
pub async fn current_user(
    shop: &ShopContext,
) -> Result<Option<crate::model::CurrentUser>, AppError> {
    let session = session().await?;
    accounts::session_user(&session, &shop.pool)
        .await
        .map_err(account_error)
}

/// Maps an account failure we caused to a logged internal error; user errors keep their text.
pub fn account_error(err: accounts::AccountError) -> AppError {
    match err {
        accounts::AccountError::EmailTaken => invalid_field("email", err.to_string()),
        accounts::AccountError::Database(err) => db_error(err),
        // The session store is the database: when it fails, so does everything else for now.
        accounts::AccountError::Session(cause) => {
            tracing::warn!(request_id = %request_id(), %cause, "the session store failed; answering 503");
            unavailable()
        }
        other => {
            tracing::error!(request_id = %request_id(), error = %other, "account error");
            internal()
        }
    }
}

/// Maps a booking failure: conflicts are a 409 with a sentence, user errors a 400.
pub fn booking_error(err: booking::BookingError) -> AppError {
    use booking::BookingError as E;
    match err {
        E::Unavailable => {
            set_status(StatusCode::CONFLICT);
            AppError::Conflict(err.to_string())
        }
        E::Pricing(_) | E::EmptyCart | E::Refused(_) => invalid(err.to_string()),
        E::UnknownOrder => not_found(err.to_string()),
        E::Database(err) => db_error(err),
        E::Mail(_) => {
            tracing::error!(request_id = %request_id(), error = %err, "booking failed");
            internal()
        }
    }
}

/// A 400 whose message belongs next to one form field.
pub fn invalid_field(field: &str, message: impl Into<String>) -> AppError {
    set_status(StatusCode::BAD_REQUEST);
    AppError::Field {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A 429: too many sign-in attempts or sign-ups; `Retry-After` says when the next may come.
pub fn too_many_attempts(refused: sign_in_limits::Refused) -> AppError {
    let seconds = refused.retry_after_secs();
    tracing::info!(request_id = %request_id(), seconds, "sign-in or sign-up refused by a rate limit");
    set_status(StatusCode::TOO_MANY_REQUESTS);
    set_retry_after(seconds);
    AppError::TooManyAttempts { seconds }
}

/// The address this request came from, as the sign-in limits may believe it.
pub fn client_address(shop: &ShopContext) -> Option<std::net::IpAddr> {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| shop.sign_in_limits.client_address(&parts))
}

/// A 401 asking the person to sign in.
pub fn sign_in_required() -> AppError {
    set_status(StatusCode::UNAUTHORIZED);
    AppError::SignInRequired
}

/// The server context; its absence is a wiring bug in the server, reported as an internal error.
pub fn shop() -> Result<ShopContext, AppError> {
    use_context::<ShopContext>().ok_or_else(|| {
        tracing::error!(request_id = %request_id(), "ShopContext was not provided to the app");
        internal()
    })
}

/// The id that `SetRequestIdLayer` gave this request, for logs and apology messages.
pub fn request_id() -> String {
    use_context::<axum::http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The header by which a page tells the server's page cache that its HTML depends on nothing
/// but the URL and the catalog snapshot (value `catalog`: reuse until the catalog changes), or
/// also on availability (value `ttl=N`: reuse for at most N seconds). The server strips it
/// before the response leaves. Pages are only cached for requests without cookies, so nothing
/// a signed-in person sees is ever stored.
pub const CACHEABLE_PAGE_HEADER: &str = "x-rentwise-catalog-page";

/// Marks the page being rendered as cacheable until the catalog changes.
pub fn mark_page_cacheable() {
    mark_cacheable(None);
}

/// Marks the page being rendered as cacheable for at most `seconds` (it shows availability,
/// which bookings change; PostgreSQL still decides every booking).
pub fn mark_page_fresh_for(seconds: u32) {
    mark_cacheable(Some(seconds));
}

/// Several resources of one page may mark it; the shortest freshness wins.
fn mark_cacheable(ttl: Option<u32>) {
    let Some(response) = use_context::<ResponseOptions>() else {
        return;
    };
    let name = axum::http::HeaderName::from_static(CACHEABLE_PAGE_HEADER);
    let earlier = response
        .0
        .read()
        .ok()
        .and_then(|parts| parts.headers.get(&name).cloned())
        .and_then(|v| v.to_str().ok().map(parse_page_ttl));
    let ttl = match (earlier, ttl) {
        (Some(Some(a)), Some(b)) => Some(a.min(b)),
        (Some(Some(a)), None) => Some(a),
        (_, ttl) => ttl,
    };
    let value = match ttl {
        Some(seconds) => format!("ttl={seconds}"),
        None => "catalog".to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.insert_header(name, value);
    }
}

/// Reads a [`CACHEABLE_PAGE_HEADER`] value: `None` for "until the catalog changes", else the
/// freshness in seconds (an unreadable value counts as zero: not reusable).
pub fn parse_page_ttl(value: &str) -> Option<u32> {
    match value {
        "catalog" | "1" => None,
        other => Some(
            other
                .strip_prefix("ttl=")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        ),
    }
}

/// True while answering a plain HTML form post (a browser without JavaScript): the answer
/// must then be a redirect, so no other status may be set.
fn is_plain_form_post() -> bool {
    use_context::<axum::http::request::Parts>().is_some_and(|parts| {
        parts.method == axum::http::Method::POST
            && parts
                .headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    })
}

fn set_status(status: StatusCode) {
    if is_plain_form_post() {
        return;
    }
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status);
    }
}

fn internal() -> AppError {
    set_status(StatusCode::INTERNAL_SERVER_ERROR);
    AppError::Internal {
        request_id: request_id(),
    }
}

/// A 404 with a sentence for the customer.
pub fn not_found(message: impl Into<String>) -> AppError {
    set_status(StatusCode::NOT_FOUND);
    AppError::NotFound(message.into())
}

/// A 400 with a sentence for the customer.
pub fn invalid(message: impl Into<String>) -> AppError {
    set_status(StatusCode::BAD_REQUEST);
    AppError::Invalid(message.into())
}

/// A 503 + Retry-After: a retry in a few seconds may work.
fn unavailable() -> AppError {
    set_status(StatusCode::SERVICE_UNAVAILABLE);
    set_retry_after(2);
    AppError::Busy
}

/// `Retry-After: seconds`, except on a plain form post (answered with a redirect).
fn set_retry_after(seconds: u64) {
    if let Some(response) = use_context::<ResponseOptions>().filter(|_| !is_plain_form_post()) {
        response.insert_header(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
}

/// True when `err` says the database could not be reached or dropped the connection (a restart,
/// a failover, a killed backend): nothing the request did is at fault, and a retry may work.
pub fn is_database_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exceptions; 57P01-57P03: the server shut down or restarts.
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Maps a database failure: pool exhaustion and an unreachable database become 503 +
/// Retry-After at once (the client may retry), anything else is logged with its cause and
/// request id and becomes a 500.
pub fn db_error(err: sqlx::Error) -> AppError {
    let request_id = request_id();
    match err {
        err if is_database_unavailable(&err) => {
            if matches!(err, sqlx::Error::PoolTimedOut) {
                tracing::warn!(%request_id, "no database connection free in time; answering 503");
            } else {
                tracing::warn!(%request_id, error = %err, "the database is unavailable; answering 503");
            }
            unavailable()
        }
        other => {
            tracing::error!(%request_id, error = %other, cause = ?other, "database error");
            internal()
        }
    }
}
