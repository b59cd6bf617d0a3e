//! `GET /performance/stats`: a JSON summary for people — per-route percentiles and error rates,
//! request rate, pool, process, uptime, sources and warnings. Staff or bearer token only.

use super::access::private;
use super::metrics::{Metrics, StatusCounts};
use super::pool::PoolGauges;
use super::process::ProcessUsage;
use super::prometheus;
use super::source::Warning;
use super::ObservabilityState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// The whole summary.
#[derive(Debug, Serialize)]
pub struct StatsReport {
    pub uptime_seconds: f64,
    /// `None` until startup reports its duration.
    pub startup_seconds: Option<f64>,
    pub requests: RequestTotals,
    pub routes: Vec<RouteSummary>,
    pub pool: PoolGauges,
    pub process: ProcessUsage,
    /// Each registered source's `stats()`, by name.
    pub sources: serde_json::Map<String, serde_json::Value>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Serialize)]
pub struct RequestTotals {
    pub total: u64,
    pub in_flight: u64,
    pub last_minute: u64,
    pub server_errors_last_minute: u64,
    /// Requests per second over the last 60 s (or since the start, if sooner).
    pub per_second: f64,
}

/// One method and route template. Latencies are in milliseconds, `None` before any request.
#[derive(Debug, Serialize)]
pub struct RouteSummary {
    pub method: &'static str,
    pub route: String,
    pub count: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// Share of responses that were 5xx, 0.0 to 1.0.
    pub error_rate: f64,
    pub statuses: StatusCounts,
}

/// Gathers the summary from the registry and the current pool and process readings.
pub fn summarise(metrics: &Metrics, pool: PoolGauges, process: ProcessUsage) -> StatsReport {
    let recent = metrics.recent();
    let routes = metrics
        .routes()
        .into_iter()
        .map(|route| {
            let latency = &route.latency;
            let ms = |q: f64| latency.quantile(q).map(seconds_to_ms);
            let count = latency.count();
            let answered = route.statuses.total();
            RouteSummary {
                method: route.method,
                count,
                p50_ms: ms(0.50),
                p95_ms: ms(0.95),
                p99_ms: ms(0.99),
                max_ms: (count > 0).then(|| seconds_to_ms(latency.max_seconds)),
                error_rate: if answered == 0 {
                    0.0
                } else {
                    route.statuses.server_error as f64 / answered as f64
                },
                statuses: route.statuses,
                route: route.route,
            }
        })
        .collect();
    let sources = metrics
        .sources()
        .iter()
        .map(|source| (source.name().to_owned(), source.stats()))
        .collect();
    StatsReport {
        uptime_seconds: metrics.uptime().as_secs_f64(),
        startup_seconds: metrics.startup_duration().map(|d| d.as_secs_f64()),
        requests: RequestTotals {
            total: metrics.total_requests(),
            in_flight: metrics.in_flight(),
            last_minute: recent.requests,
            server_errors_last_minute: recent.server_errors,
            per_second: recent.per_second,
        },
        routes,
        pool,
        process,
        sources,
        warnings: metrics.warnings(),
    }
}

fn seconds_to_ms(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e3
}

pub(crate) async fn respond_json(
    State(state): State<ObservabilityState>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(refused) = state.access.refusal(&parts) {
        return refused;
    }
    let pool = PoolGauges::read(&state.pool);
    let report = summarise(&state.metrics, pool, ProcessUsage::read());
    private(Json(report).into_response())
}

pub(crate) async fn respond_prometheus(
    State(state): State<ObservabilityState>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(refused) = state.access.refusal(&parts) {
        return refused;
    }
    let pool = PoolGauges::read(&state.pool);
    let text = prometheus::render(&state.metrics, &pool, &ProcessUsage::read());
    let content_type = HeaderValue::from_static(prometheus::CONTENT_TYPE);
    private(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::source::{MetricSource, SourceMetric};
    use axum::http::{Method, StatusCode};
    use std::{sync::Arc, time::Duration};

    struct Jobs;
    impl MetricSource for Jobs {
        fn name(&self) -> &str {
            "jobs"
        }
        fn metrics(&self) -> Vec<SourceMetric> {
            vec![SourceMetric::gauge("queued", "Jobs waiting.", 3.0)]
        }
    }

    #[test]
    fn the_summary_has_percentiles_error_rates_rates_and_sources() {
        let metrics = Metrics::new();
        metrics.set_startup_duration(Duration::from_millis(1500));
        metrics.register_source(Arc::new(Jobs));
        for ms in 1..=100 {
            let status = if ms > 96 {
                StatusCode::BAD_GATEWAY
            } else {
                StatusCode::OK
            };
            let elapsed = Duration::from_millis(ms);
            metrics.record(&Method::GET, "/rentals/{slug}", status, elapsed);
        }
        let pool = PoolGauges {
            size: 5,
            idle: 1,
            in_use: 4,
            max: 5,
            utilisation: 0.8,
        };
        let process = ProcessUsage {
            rss_bytes: Some(1 << 20),
            cpu_seconds: Some(0.5),
        };
        let report = summarise(&metrics, pool, process);
        let route = &report.routes[0];
        assert_eq!(
            (route.method, route.route.as_str()),
            ("GET", "/rentals/{slug}")
        );
        assert_eq!(route.count, 100);
        let near =
            |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < want * 0.05);
        assert!(near(route.p50_ms, 50.0), "{:?}", route.p50_ms);
        assert!(near(route.p95_ms, 95.0), "{:?}", route.p95_ms);
        assert!(near(route.p99_ms, 99.0), "{:?}", route.p99_ms);
        assert_eq!(route.max_ms, Some(100.0));
        assert_eq!(route.error_rate, 0.04);
        assert_eq!(route.statuses.server_error, 4);
        assert_eq!(report.requests.last_minute, 100);
        assert_eq!(report.requests.server_errors_last_minute, 4);
        assert!(report.requests.per_second > 0.0);
        assert_eq!(report.startup_seconds, Some(1.5));
        assert_eq!(report.pool, pool);
        assert_eq!(report.process, process);
        assert_eq!(report.sources["jobs"]["queued"], 3.0);
        let codes: Vec<_> = report.warnings.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["error_rate"]);
    }
}
