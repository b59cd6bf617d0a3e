//! The rentwise server: configuration, database, HTTP router and startup, as a library so the
//! integration tests start exactly what `main` starts.

pub mod assets;
pub mod config;
pub mod database;
pub mod demo;
pub mod http;
pub mod observability;
pub mod page_cache;
pub mod security;

use app::ssr::catalog_cache::CatalogCache;
use config::Config;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use std::{net::SocketAddr, time::Instant};
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] database::DatabaseError),
    #[error("loading demo data failed: {0}")]
    Demo(sqlx::Error),
    #[error("loading the catalog failed: {0}")]
    Catalog(sqlx::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// The Leptos options for this deployment (no Cargo.toml or cargo-leptos needed at run time).
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("rentwise")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(if cfg!(debug_assertions) {
            leptos::config::Env::DEV
        } else {
            leptos::config::Env::PROD
        })
        .build()
}

/// A server that is listening and ready, not yet serving.
pub struct Ready {
    pub metrics: observability::Metrics,
    pub listener: TcpListener,
    pub router: axum::Router,
    pub pool: PgPool,
    pub started: Instant,
}

/// Everything startup does: data directory, pool, migrations, demo data, router, listener.
pub async fn prepare(config: &Config) -> Result<Ready, StartupError> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let (pool, listener) = tokio::join!(
        database::connect(&config.database_url, &config.pool),
        TcpListener::bind(config.listen)
    );
    let pool = pool?;
    let listener = listener.map_err(|source| StartupError::Listen {
        addr: config.listen,
        source,
    })?;
    database::migrate(&pool).await?;
    if config.demo_data
        && demo::seed_if_empty(&pool)
            .await
            .map_err(StartupError::Demo)?
    {
        tracing::info!("loaded the demo catalog into the empty database");
    }
    let catalog = CatalogCache::empty();
    catalog.reload(&pool).await.map_err(StartupError::Catalog)?;
    catalog.clone().spawn_listener(pool.clone());
    let metrics = observability::Metrics::started_at(started);
    observability::spawn_sampler(metrics.clone(), pool.clone());
    let observability =
        observability::ObservabilityState::new(metrics.clone(), pool.clone(), &config.data_dir)
            .with_token(config.metrics_token.as_ref().map(|t| t.expose().to_owned()));
    let router = http::router(
        http::AppState {
            leptos_options: leptos_options(config),
            pool: pool.clone(),
            catalog,
            currency: config.currency.clone(),
        },
        &http::HttpSettings {
            site_root: config.site_root.clone(),
            hsts: config.hsts,
            request_timeout: config.request_timeout,
            max_in_flight: config.max_in_flight,
        },
        observability,
    );
    metrics.set_startup_duration(started.elapsed());
    Ok(Ready {
        metrics,
        listener,
        router,
        pool,
        started,
    })
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    ready: Ready,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY a response written in two parts (headers, then a small body) waits
    // ~40 ms for the client's delayed ACK (Nagle's algorithm); measured on static files.
    let listener = ready.listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, ready.router)
        .with_graceful_shutdown(shutdown)
        .await
}
