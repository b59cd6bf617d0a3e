//! The axum router: Leptos pages and server functions, static files, and the tower layers
//! every response passes through, outermost first: request id → trace → security headers →
//! cross-site guard → compression → load shedding (in-flight limit, timeout) → routes.

use crate::{assets, page_cache::PageCache, security};
use app::ssr::{catalog_cache::CatalogCache, ShopContext};
use axum::{
    body::Body,
    error_handling::HandleErrorLayer,
    extract::FromRef,
    http::{header, HeaderName, HeaderValue, Request, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    BoxError, Router,
};
use leptos::{nonce::Nonce, prelude::*};
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::{path::PathBuf, sync::Arc, time::Duration};
use tower::ServiceBuilder;
use tower_http::{
    compression::{
        predicate::{NotForContentType, Predicate, SizeAbove},
        CompressionLayer, CompressionLevel,
    },
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The seed system's threshold: smaller bodies are not worth a compression frame.
pub const COMPRESS_ABOVE_BYTES: u16 = 500;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub catalog: Arc<CatalogCache>,
    pub currency: String,
}

/// How the HTTP layer behaves (from `Config`; tests use `Default`).
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub site_root: PathBuf,
    pub hsts: security::Hsts,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            site_root: PathBuf::from("target/site"),
            hsts: security::Hsts::Auto,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 4096,
        }
    }
}

/// Builds the whole application router.
pub fn router(state: AppState, settings: &HttpSettings) -> Router {
    let site_assets = assets::site_assets();
    let hashed = assets::is_hashed(&site_assets);
    let routes = generate_route_list(app::App);
    let shop = ShopContext {
        pool: state.pool.clone(),
        catalog: state.catalog.clone(),
        currency: state.currency.clone(),
    };
    let pages = PageCache::new(state.catalog.clone());
    let leptos_options = state.leptos_options.clone();
    let page_assets = site_assets.clone();
    let shell = move |options: LeptosOptions| app::shell(options, site_assets.clone());
    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(shop.clone());
                provide_request_nonce();
            },
            move || app::shell(leptos_options.clone(), page_assets.clone()),
        )
        .merge(assets::pkg_router(&settings.site_root, hashed))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            provide_request_nonce,
            shell,
        ))
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id)
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(middleware::from_fn_with_state(settings.hsts, security::security_headers))
                .layer(middleware::from_fn(security::csrf_guard))
                .layer(compression())
                .layer(middleware::from_fn_with_state(pages, crate::page_cache::serve_cached))
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(settings.max_in_flight)
                .timeout(settings.request_timeout),
        )
}

/// Hands the nonce the security layer put on the request to Leptos, which adds it to the
/// scripts it renders, so the CSP header and the page agree.
fn provide_request_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}

/// Negotiated br/zstd/gzip at a fast level for dynamic bodies of 500 bytes or more; never for
/// images (already compressed). Precompressed static files carry Content-Encoding already and
/// are passed through untouched.
fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = SizeAbove::new(COMPRESS_ABOVE_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::const_new("application/wasm"));
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(1))
        .compress_when(predicate)
}

/// The answer when the server sheds load or a request runs out of time: 503 + Retry-After,
/// never a dropped connection.
async fn overloaded(err: BoxError) -> Response {
    let (message, log) = if err.is::<tower::timeout::error::Elapsed>() {
        (
            "That took too long on our side. Please try again in a moment.",
            "request timed out",
        )
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        (
            "The shop is very busy right now. Please try again in a few seconds.",
            "shed load: too many requests in flight",
        )
    } else {
        (
            "Sorry, something went wrong on our side.",
            "unexpected middleware error",
        )
    };
    tracing::warn!(error = %err, "{log}");
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    response
}
