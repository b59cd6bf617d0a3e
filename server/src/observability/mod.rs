//! Observability: request metrics, database pool and process gauges, and the `/performance/*`
//! endpoints (public health check; stats JSON and Prometheus text for staff or a bearer token).

mod access;
mod health;
mod histogram;
mod metrics;
mod pool;
mod process;
mod prometheus;
mod request_tracking;
mod source;
mod stats;
mod warnings;
mod window;

pub use access::StaffCheck;
pub use health::{check as check_health, HealthCheck, HealthReport, CHECK_TIMEOUT};
pub use histogram::{HistogramSnapshot, LatencyHistogram};
pub use metrics::{
    InFlightGuard, Metrics, RecentTraffic, RouteSnapshot, StatusCounts, FALLBACK_ROUTE,
};
pub use pool::{spawn_sampler, PoolGauges, SAMPLE_EVERY};
pub use process::ProcessUsage;
pub use prometheus::{render as render_prometheus, CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE};
pub use request_tracking::track;
pub use source::{MetricKind, MetricSource, SourceCheck, SourceMetric, Warning};
pub use stats::{summarise, RequestTotals, RouteSummary, StatsReport};
pub use warnings::{ERROR_RATE_ABOVE, ERROR_RATE_MIN_REQUESTS, POOL_BUSY_ABOVE, POOL_BUSY_FOR};

use axum::http::request::Parts;
use axum::routing::{any, get};
use axum::Router;
use sqlx::PgPool;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What the `/performance/*` handlers need.
#[derive(Clone)]
pub struct ObservabilityState {
    metrics: Metrics,
    pool: PgPool,
    data_dir: Arc<Path>,
    access: access::Access,
    last_health: Arc<health::LastOutcome>,
}

impl ObservabilityState {
    /// Stats and metrics are hidden from everyone until a token or a staff check is given.
    pub fn new(metrics: Metrics, pool: PgPool, data_dir: impl Into<PathBuf>) -> Self {
        ObservabilityState {
            metrics,
            pool,
            data_dir: Arc::from(data_dir.into()),
            access: access::Access::default(),
            last_health: Arc::default(),
        }
    }

    /// Lets in requests with `Authorization: Bearer <token>`. `None` or a blank token: nobody.
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.access = self.access.with_token(token);
        self
    }

    /// Lets in requests `is_staff` accepts (a staff session), token or not.
    pub fn with_staff_check(
        mut self,
        is_staff: impl Fn(&Parts) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.access = self.access.with_staff_check(Arc::new(is_staff));
        self
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// `GET /performance/health`, `/performance/stats` and `/performance/metrics`, with their state
/// applied, ready to `merge` into a router of any state type. Refused requests to the private
/// two get an empty 404 with `Cache-Control: no-store`, whatever their method.
pub fn routes<S>(state: ObservabilityState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/performance/health", get(health::respond))
        .route("/performance/stats", any(stats::respond_json))
        .route("/performance/metrics", any(stats::respond_prometheus))
        .with_state(state)
}
