//! The rentwise server: configuration, database, HTTP router and startup, as a library so the
//! integration tests start exactly what `main` starts.

pub mod assets;
pub mod config;
pub mod database;
pub mod demo;
pub mod http;
pub mod images;
pub mod jobs;
pub mod mail;
pub mod observability;
pub mod page_cache;
pub mod security;
pub mod staff;

use app::ssr::{catalog_cache::CatalogCache, sign_in_limits::SignInLimits, ShopContext};
use config::Config;
use leptos::prelude::LeptosOptions;
use sqlx::PgPool;
use std::{net::SocketAddr, num::NonZeroU32, time::Instant};
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
    #[error("cannot open the image cache: {0}")]
    Images(#[from] images::ImageError),
    #[error("cannot set up email: {0}")]
    Mail(#[from] mail::MailError),
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

/// What pages and server functions reach: the pool, the catalog, the shop's settings and the
/// way order emails are enqueued.
pub fn shop_context(
    config: &Config,
    pool: PgPool,
    catalog: std::sync::Arc<CatalogCache>,
) -> ShopContext {
    ShopContext {
        pool,
        catalog,
        currency: config.currency.clone(),
        time_zone: config.time_zone,
        mail: std::sync::Arc::new(mail::QueuedOrderMail),
        pickup_address: config.pickup_address.clone(),
        opening_hours: config.opening_hours.clone(),
        hold_minutes: config.hold_minutes,
        jobs: std::sync::Arc::new(jobs::StaffJobControl),
        outbox_dir: config
            .smtp_url
            .is_none()
            .then(|| mail::outbox_dir(&config.data_dir)),
        upload_limit_mb: config.upload_max_bytes / (1024 * 1024),
        sign_in_limits: std::sync::Arc::new(SignInLimits::new(
            NonZeroU32::new(config.sign_in_per_address).unwrap_or(NonZeroU32::MIN),
            NonZeroU32::new(config.sign_in_per_account).unwrap_or(NonZeroU32::MIN),
            config.trust_forwarded_for,
        )),
    }
}

/// A server that is listening and ready, not yet serving.
pub struct Ready {
    pub metrics: observability::Metrics,
    pub jobs: jobs::RunnerHandle,
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
    let staff: Result<i64, _> =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'staff'")
            .fetch_one(&pool)
            .await;
    if staff.is_ok_and(|n| n == 0) {
        tracing::warn!("no staff account yet: make one with `server create-staff --email you@example.com`, then sign in at /admin");
    }
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
    let mailer = std::sync::Arc::new(mail::Mailer::from_config(
        config.smtp_url.as_ref(),
        &config.data_dir,
        &config.mail_from,
    )?);
    let retry = jobs::RetryPolicy {
        first_retry: config.job_first_retry,
        ..jobs::RetryPolicy::default()
    };
    let job_runner = jobs::Runner::new(
        pool.clone(),
        jobs::RunnerConfig {
            lease: config.job_lease,
            ..jobs::RunnerConfig::default()
        },
    )
    .register_with(mail::EMAIL_JOB, mail::EmailJob { mailer }, retry)
    .register_with(
        mail::REMINDERS_JOB,
        mail::ReminderJob {
            shop: app::ssr::booking::ShopDetails {
                tz: config.time_zone,
                currency: config.currency.clone(),
                pickup_address: config.pickup_address.clone(),
                opening_hours: config.opening_hours.clone(),
            },
        },
        retry,
    )
    .every(mail::REMINDERS_JOB, std::time::Duration::from_secs(15 * 60))
    .register_with(mail::EXPIRE_HOLDS_JOB, mail::ExpireHoldsJob, retry)
    .every(mail::EXPIRE_HOLDS_JOB, std::time::Duration::from_secs(60))
    .start();
    let image_cache = images::ImageCache::open(
        images::cache_dir(&config.data_dir),
        images::ImageSettings::from_config(config),
    )?;
    // Photos another instance stored come from the database when this disk lacks them.
    image_cache.set_origin(std::sync::Arc::new(images::PgOriginals::new(pool.clone())));
    {
        let (pool, cache) = (pool.clone(), image_cache.clone());
        tokio::spawn(async move {
            match images::backfill_originals(&pool, &cache).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(originals = n, "copied photo originals into the database"),
                Err(err) => {
                    tracing::warn!(error = %err, "copying photo originals into the database failed")
                }
            }
        });
    }
    if config.demo_data {
        // In the background: startup does not wait for a few seconds of drawing and encoding.
        let (pool, cache) = (pool.clone(), image_cache.clone());
        tokio::spawn(async move {
            match demo::photos::seed(&pool, &cache).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(products = n, "gave the demo products their photos"),
                Err(err) => tracing::warn!(error = %err, "making the demo photos failed"),
            }
        });
    }
    metrics.register_source(std::sync::Arc::new(images::ImageCacheMetrics::new(
        image_cache.clone(),
    )));
    let job_metrics = std::sync::Arc::new(jobs::JobQueueMetrics::new());
    job_metrics.spawn_sampler(pool.clone(), std::time::Duration::from_secs(5));
    metrics.register_source(job_metrics);
    let observability =
        observability::ObservabilityState::new(metrics.clone(), pool.clone(), &config.data_dir)
            .with_token(config.metrics_token.as_ref().map(|t| t.expose().to_owned()));
    let router = http::router(
        http::AppState {
            leptos_options: leptos_options(config),
            shop: shop_context(config, pool.clone(), catalog),
            images: image_cache,
        },
        &http::HttpSettings {
            site_root: config.site_root.clone(),
            hsts: config.hsts,
            request_timeout: config.request_timeout,
            max_in_flight: config.max_in_flight,
            secure_cookies: config.session_secure,
        },
        observability,
    );
    metrics.set_startup_duration(started.elapsed());
    Ok(Ready {
        metrics,
        jobs: job_runner,
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
    // With the peer's address on each request: the sign-in limits count per client address.
    let served = axum::serve(
        listener,
        ready
            .router
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    // Requests are drained; now stop claiming jobs and let the running ones finish.
    ready.jobs.shutdown().await;
    served
}
