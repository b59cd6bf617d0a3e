//! Server-only parts of the app: the context the server provides to every render and server
//! function, the catalog queries, and the mapping of server failures to `AppError`.

pub mod catalog_cache;

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
/// but the URL and the catalog snapshot (so it may be reused until the catalog changes). The
/// server strips it before the response leaves.
pub const CACHEABLE_PAGE_HEADER: &str = "x-rentwise-catalog-page";

/// Marks the page being rendered as cacheable (see [`CACHEABLE_PAGE_HEADER`]).
pub fn mark_page_cacheable() {
    if let Some(response) = use_context::<ResponseOptions>() {
        response.insert_header(
            axum::http::HeaderName::from_static(CACHEABLE_PAGE_HEADER),
            HeaderValue::from_static("1"),
        );
    }
}

fn set_status(status: StatusCode) {
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

/// Maps a database failure: pool exhaustion becomes 503 + Retry-After at once (the client may
/// retry), anything else is logged with its cause and request id and becomes a 500.
pub fn db_error(err: sqlx::Error) -> AppError {
    let request_id = request_id();
    match err {
        sqlx::Error::PoolTimedOut => {
            tracing::warn!(%request_id, "no database connection free in time; answering 503");
            set_status(StatusCode::SERVICE_UNAVAILABLE);
            if let Some(response) = use_context::<ResponseOptions>() {
                response.insert_header(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            AppError::Busy
        }
        other => {
            tracing::error!(%request_id, error = %other, cause = ?other, "database error");
            internal()
        }
    }
}
