//! Test harness: starts the real router on a free port against the test's own database.
//!
//! Tests take `PgConnectOptions` from `#[sqlx::test]` and build their own pool: pools that
//! `#[sqlx::test]` injects borrow permits from one process-wide master pool, which deadlocks
//! when a test's server holds connections while another test waits (sqlx issue 2567).

// Each test binary uses a different part of the harness.
#![allow(dead_code)]

pub mod process;
pub mod smtp;

use server::config::Config;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::time::Duration;

/// The bearer token test servers accept for /performance/stats and /metrics.
pub const METRICS_TOKEN: &str = "test-token-0123456789";

/// A pool of the test's own database, sized like a small production pool.
pub async fn test_pool(connect: PgConnectOptions) -> PgPool {
    PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(connect)
        .await
        .expect("connect to the test database")
}
use std::net::SocketAddr;

pub struct TestApp {
    pub address: SocketAddr,
    pub catalog: std::sync::Arc<app::ssr::catalog_cache::CatalogCache>,
    pub client: reqwest::Client,
    pool: PgPool,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Stops the server and closes its pool, so the test database can be dropped at once
    /// (PostgreSQL waits 5 s for open sessions before refusing a DROP DATABASE).
    pub async fn finish(self) {
        drop(self.client);
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        self.pool.close().await;
    }
}

/// Migrations are applied by `#[sqlx::test]`; this loads the demo catalog and serves.
pub async fn spawn_app(pool: PgPool) -> TestApp {
    server::demo::seed_if_empty(&pool)
        .await
        .expect("demo data loads into a fresh database");
    spawn_app_without_data(pool).await
}

pub async fn spawn_app_without_data(pool: PgPool) -> TestApp {
    spawn_app_with(pool, server::http::HttpSettings::default()).await
}

/// Serves with the given HTTP settings. The catalog cache starts empty and loads on the first
/// request that needs it (no listener: each test sees the database as it was then).
pub async fn spawn_app_with(pool: PgPool, settings: server::http::HttpSettings) -> TestApp {
    // Warnings and errors of the server (timeouts, shed load, database errors) show up in the
    // output of a failing test.
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
    let config =
        Config::from_lookup(|name| (name == "RENTWISE_LISTEN").then(|| "127.0.0.1:0".to_owned()))
            .expect("test configuration is valid");
    let catalog = app::ssr::catalog_cache::CatalogCache::empty();
    let mut leptos_options = server::leptos_options(&config);
    leptos_options.site_root = settings.site_root.to_string_lossy().into_owned().into();
    let router = server::http::router(
        server::http::AppState {
            leptos_options,
            shop: server::shop_context(&config, pool.clone(), catalog.clone()),
            images: server::images::ImageCache::open(
                std::env::temp_dir().join(format!("rentwise-images-{}", address_suffix())),
                server::images::ImageSettings::default(),
            )
            .expect("image cache"),
        },
        &settings,
        server::observability::ObservabilityState::new(
            server::observability::Metrics::started_at(std::time::Instant::now()),
            pool.clone(),
            std::env::temp_dir(),
        )
        .with_token(Some(METRICS_TOKEN.to_owned())),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let address = listener.local_addr().expect("bound address");
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.await;
        })
        .await
        .expect("test server runs");
    });
    TestApp {
        address,
        catalog,
        pool,
        shutdown,
        server,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
    }
}

fn address_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// The `rentwise_session=…` pair a response's Set-Cookie headers carry, if any.
pub fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rentwise_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The password of accounts made by [`signed_in`].
pub const PASSWORD: &str = "a long enough password";

/// Makes an account (staff or customer) and signs it in over HTTP; returns its session cookie.
pub async fn signed_in(app: &TestApp, pool: &PgPool, email: &str, staff: bool) -> String {
    app::ssr::accounts::create_user(pool, email, "Test person", PASSWORD, staff)
        .await
        .expect("create the account");
    let response = app
        .client
        .post(app.url("/api/sign-in"))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(format!(
            "email={}&password={}",
            email.replace('@', "%40"),
            PASSWORD.replace(' ', "+")
        ))
        .send()
        .await
        .expect("sign in");
    session_cookie(response.headers()).expect("signing in sets the session cookie")
}

/// Every file below `dir`, sorted.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out.sort();
    out
}

/// The date `days` from today, as the booking form writes it.
pub fn day(days: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(days)).to_string()
}

/// `value` percent-encoded for a query string or a form body.
pub fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Form fields, `application/x-www-form-urlencoded`.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The booking form's fields for `slug`: two days from `start` days ahead, 10:00 to 10:00.
pub fn booking_fields(slug: &str, start: i64) -> Vec<(&'static str, String)> {
    vec![
        ("slug", slug.to_owned()),
        ("start_date", day(start)),
        ("start_time", "10:00".to_owned()),
        ("end_date", day(start + 2)),
        ("end_time", "10:00".to_owned()),
    ]
}

/// Owned form fields as the borrowed pairs [`form_body`] and [`post_form`] take.
pub fn borrowed<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// POSTs form fields to `path` (a server function's URL, say), with the session cookie if any.
pub async fn post_form(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(form_body(fields));
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    request.send().await.expect("POST")
}

/// GETs `path` with the session cookie if any: the status and the body.
pub async fn get_page(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header(reqwest::header::COOKIE, cookie);
    }
    let response = request.send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}
