//! The axum router: Leptos pages and server functions, static files, and the tower layers
//! every response passes through, outermost first: request id → trace → security headers →
//! cross-site guard → compression → load shedding (in-flight limit, timeout) → routing →
//! sessions → metrics (by route template) → staff guard → page cache → handlers.

use crate::{assets, observability, page_cache::PageCache, security};
use app::ssr::{catalog_cache::CatalogCache, ShopContext};
use axum::{
    body::Body,
    error_handling::HandleErrorLayer,
    extract::{FromRef, State},
    http::{header, HeaderName, HeaderValue, Request, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    BoxError, Router,
};
use leptos::{nonce::Nonce, prelude::*};
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::{path::PathBuf, sync::Arc, time::Duration};
use tokio::sync::Semaphore;
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
    pub shop: ShopContext,
    pub images: Arc<crate::images::ImageCache>,
}

impl FromRef<AppState> for PgPool {
    fn from_ref(state: &AppState) -> PgPool {
        state.shop.pool.clone()
    }
}

impl FromRef<AppState> for Arc<CatalogCache> {
    fn from_ref(state: &AppState) -> Arc<CatalogCache> {
        state.shop.catalog.clone()
    }
}

/// How the HTTP layer behaves (from `Config`; tests use `Default`).
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub site_root: PathBuf,
    pub hsts: security::Hsts,
    pub request_timeout: Duration,
    pub max_in_flight: usize,
    /// Mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookies: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            site_root: PathBuf::from("target/site"),
            hsts: security::Hsts::Auto,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 4096,
            secure_cookies: false,
        }
    }
}

/// Builds the whole application router.
pub fn router(
    state: AppState,
    settings: &HttpSettings,
    observability: observability::ObservabilityState,
) -> Router {
    let metrics = observability.metrics().clone();
    let site_assets = assets::site_assets();
    let hashed = assets::is_hashed(&site_assets);
    let route_list = generate_route_list(app::App);
    let shop = state.shop.clone();
    let pages = PageCache::new(state.shop.catalog.clone());
    let sessions = sessions(state.shop.pool.clone(), settings.secure_cookies);
    let leptos_options = state.leptos_options.clone();
    let page_assets = site_assets.clone();
    let shell = move |options: LeptosOptions| app::shell(options, site_assets.clone());
    let not_found = Router::new()
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_request_nonce, shell.clone()))
        .with_state(state.clone());
    let guard = crate::staff::StaffGuard {
        pool: state.shop.pool.clone(),
        not_found,
    };
    let routes = Router::new()
        .leptos_routes_with_context(
            &state,
            route_list,
            move || {
                provide_context(shop.clone());
                provide_request_nonce();
            },
            move || app::shell(leptos_options.clone(), page_assets.clone()),
        )
        .merge(assets::pkg_router(&settings.site_root, hashed))
        .merge(observability::routes(observability))
        .merge(crate::images::routes(state.images.clone()))
        .merge(crate::images::upload_routes(
            state.shop.pool.clone(),
            state.images.clone(),
        ))
        .merge(crate::staff::report_routes(
            state.shop.pool.clone(),
            state.shop.time_zone,
            state.shop.currency.clone(),
        ))
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_request_nonce, shell))
        .with_state(state)
        .layer(middleware::from_fn_with_state(
            pages,
            crate::page_cache::serve_cached,
        ))
        // Inside the sessions layer (it reads who is signed in), before any staff handler.
        .layer(middleware::from_fn_with_state(
            guard,
            crate::staff::staff_only,
        ))
        // After every route and the fallback, so it labels requests by their route template,
        // and outside the page cache, so reused pages are counted too.
        .layer(middleware::from_fn_with_state(
            metrics,
            observability::track,
        ))
        .layer(sessions);
    with_layers(routes, settings)
}

/// Sessions live in PostgreSQL (tower-sessions' store), so any instance serves any request.
/// The cookie is HttpOnly and SameSite=Lax; it is only set once something is stored (a cart
/// or a sign-in), so anonymous browsing stays cookie-free and page-cacheable.
fn sessions(
    pool: PgPool,
    secure: bool,
) -> tower_sessions::SessionManagerLayer<tower_sessions_sqlx_store::PostgresStore> {
    use tower_sessions::{cookie::time, cookie::SameSite, Expiry, SessionManagerLayer};
    SessionManagerLayer::new(tower_sessions_sqlx_store::PostgresStore::new(pool))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(SESSION_DAYS)))
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "rentwise_session";
/// A session unused this long ends by itself.
pub const SESSION_DAYS: i64 = 14;

/// Wraps `routes` in the layers every response passes through (see the module docs).
pub fn with_layers(routes: Router, settings: &HttpSettings) -> Router {
    routes.layer(
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
            .layer(middleware::from_fn_with_state(
                Arc::new(Semaphore::new(settings.max_in_flight)),
                shed_load,
            ))
            .layer(HandleErrorLayer::new(overloaded))
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

/// Negotiated br/zstd/gzip at the fastest level for dynamic bodies of 500 bytes or more (the
/// 20 KB catalog page, `wrk -c64`, 2 shared cores: brotli 4 → 4,305 B; brotli 1 → 4,702 B at
/// 8,279 req/s; fastest → 5,026 B at 14,340 req/s, still 75% smaller than plain); never for
/// images (already compressed). Precompressed static files carry Content-Encoding already and
/// are passed through untouched.
fn compression() -> CompressionLayer<impl Predicate> {
    let predicate = SizeAbove::new(COMPRESS_ABOVE_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
        .and(NotForContentType::const_new("application/wasm"));
    CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(predicate)
}

/// Serves at most the semaphore's size of requests at once; the next one is answered 503 +
/// Retry-After at once instead of queueing. (A plain semaphore, not tower's load-shed +
/// concurrency-limit pair: axum's middleware calls services without polling readiness first,
/// which made those queue instead of shed.)
async fn shed_load(
    State(in_flight): State<Arc<Semaphore>>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    match in_flight.try_acquire() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            tracing::warn!("shed load: too many requests in flight");
            unavailable("The shop is very busy right now. Please try again in a few seconds.")
        }
    }
}

/// The answer when a request runs out of time: 503 + Retry-After, never a dropped connection.
async fn overloaded(err: BoxError) -> Response {
    if err.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request timed out");
        unavailable("That took too long on our side. Please try again in a moment.")
    } else {
        tracing::error!(error = %err, "unexpected middleware error");
        unavailable("Sorry, something went wrong on our side. Please try again in a moment.")
    }
}

fn unavailable(message: &'static str) -> Response {
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, message).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use std::time::Instant;

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        "done"
    }

    fn app(max_in_flight: usize, request_timeout: Duration) -> Router {
        let settings = HttpSettings {
            max_in_flight,
            request_timeout,
            ..HttpSettings::default()
        };
        let routes = Router::new().route("/slow", get(slow));
        with_layers(routes, &settings)
    }

    async fn call(app: Router) -> Response {
        use tower::ServiceExt;
        let request = Request::builder()
            .uri("/slow")
            .body(Body::empty())
            .expect("request");
        app.oneshot(request).await.expect("infallible")
    }

    #[tokio::test]
    async fn a_request_past_the_timeout_gets_503_with_retry_after() {
        let started = Instant::now();
        let response = call(app(16, Duration::from_millis(200))).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert!(response.headers().contains_key("content-security-policy"));
        assert!(
            started.elapsed() < Duration::from_millis(1400),
            "answered before the handler finished"
        );
    }

    #[tokio::test]
    async fn requests_beyond_the_in_flight_limit_are_shed_at_once() {
        let app = app(1, Duration::from_secs(30));
        let started = Instant::now();
        let first = tokio::spawn(call(app.clone()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let shed = call(app).await;
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "shed at once, not queued"
        );
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(shed.headers()[header::RETRY_AFTER], "2");
        let first = first.await.expect("first request");
        assert_eq!(
            first.status(),
            StatusCode::OK,
            "the request in flight is served"
        );
    }
}
