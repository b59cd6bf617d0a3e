//! The registry every request writes to: latency and status counts per method and route
//! template, totals, in-flight requests, last-minute rates, pool samples and metric sources.

use super::histogram::{HistogramSnapshot, LatencyHistogram};
use super::source::{MetricSource, Warning};
use super::warnings::WarningLog;
use super::window::{covered_seconds, SecondRing, UtilisationWindow};
use axum::http::{Method, StatusCode};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// The route label of requests that matched no route (static files, 404s).
pub const FALLBACK_ROUTE: &str = "fallback";

/// Method labels. Anything else is "OTHER", so clients cannot grow the registry at will.
const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "OTHER",
];

fn method_index(method: &Method) -> usize {
    let label = method.as_str();
    METHODS[..METHODS.len() - 1]
        .iter()
        .position(|known| *known == label)
        .unwrap_or(METHODS.len() - 1)
}

/// Responses by status class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    #[serde(rename = "1xx")]
    pub informational: u64,
    #[serde(rename = "2xx")]
    pub success: u64,
    #[serde(rename = "3xx")]
    pub redirection: u64,
    #[serde(rename = "4xx")]
    pub client_error: u64,
    #[serde(rename = "5xx")]
    pub server_error: u64,
}

impl StatusCounts {
    pub fn total(&self) -> u64 {
        self.by_class().iter().map(|(_, count)| count).sum()
    }

    pub fn by_class(&self) -> [(&'static str, u64); 5] {
        [
            ("1xx", self.informational),
            ("2xx", self.success),
            ("3xx", self.redirection),
            ("4xx", self.client_error),
            ("5xx", self.server_error),
        ]
    }
}

struct RouteStats {
    latency: LatencyHistogram,
    /// Index 0 is 1xx … index 4 is 5xx.
    statuses: [AtomicU64; 5],
}

/// One route template's statistics, created per method on its first request.
#[derive(Default)]
struct RouteSlots([OnceLock<Box<RouteStats>>; METHODS.len()]);

impl RouteSlots {
    fn record(&self, method: usize, class: usize, elapsed: Duration) {
        let stats = self.0[method].get_or_init(|| {
            Box::new(RouteStats {
                latency: LatencyHistogram::new(),
                statuses: Default::default(),
            })
        });
        stats.latency.record(elapsed);
        stats.statuses[class].fetch_add(1, Relaxed);
    }
}

/// What one (method, route template) pair has seen since the start.
#[derive(Clone, Debug)]
pub struct RouteSnapshot {
    pub method: &'static str,
    pub route: String,
    pub latency: HistogramSnapshot,
    pub statuses: StatusCounts,
}

/// Requests and 5xx responses over the last minute.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct RecentTraffic {
    pub requests: u64,
    pub server_errors: u64,
    pub per_second: f64,
}

struct Registry {
    started: Instant,
    /// Startup duration in nanoseconds; 0 until set.
    startup_nanos: AtomicU64,
    /// Written only the first time a route template is seen; every other request reads.
    routes: RwLock<HashMap<Box<str>, RouteSlots>>,
    total: AtomicU64,
    in_flight: AtomicU64,
    requests: SecondRing,
    server_errors: SecondRing,
    utilisation: Mutex<UtilisationWindow>,
    sources: RwLock<Vec<Arc<dyn MetricSource>>>,
    warning_log: WarningLog,
}

/// The metrics registry. Cheap to clone (one `Arc`); recording a request takes a shared read
/// lock (a write lock only for a route template's first request) and a few relaxed atomics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts a request as in flight until dropped, even when its future is dropped half-way.
pub struct InFlightGuard<'a>(&'a Metrics);

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        self.0.inner.in_flight.fetch_sub(1, Relaxed);
    }
}

impl Metrics {
    /// A registry whose uptime counts from now.
    pub fn new() -> Self {
        Self::started_at(Instant::now())
    }

    /// A registry whose uptime counts from `start` (when the process began starting up).
    pub fn started_at(start: Instant) -> Self {
        Metrics {
            inner: Arc::new(Registry {
                started: start,
                startup_nanos: AtomicU64::new(0),
                routes: RwLock::default(),
                total: AtomicU64::new(0),
                in_flight: AtomicU64::new(0),
                requests: SecondRing::default(),
                server_errors: SecondRing::default(),
                utilisation: Mutex::default(),
                sources: RwLock::default(),
                warning_log: WarningLog::default(),
            }),
        }
    }

    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// How long startup took (configuration to listening), shown in stats and metrics.
    pub fn set_startup_duration(&self, duration: Duration) {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        self.inner.startup_nanos.store(nanos.max(1), Relaxed);
    }

    pub fn startup_duration(&self) -> Option<Duration> {
        match self.inner.startup_nanos.load(Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// Adds a source's numbers to stats, health and Prometheus; replaces one of the same name.
    pub fn register_source(&self, source: Arc<dyn MetricSource>) {
        let mut sources = self
            .inner
            .sources
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        sources.retain(|known| known.name() != source.name());
        sources.push(source);
    }

    pub fn sources(&self) -> Vec<Arc<dyn MetricSource>> {
        let sources = self
            .inner
            .sources
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        sources.clone()
    }

    pub fn total_requests(&self) -> u64 {
        self.inner.total.load(Relaxed)
    }

    pub fn in_flight(&self) -> u64 {
        self.inner.in_flight.load(Relaxed)
    }

    /// Counts one more request in flight until the guard is dropped.
    pub fn enter(&self) -> InFlightGuard<'_> {
        self.inner.in_flight.fetch_add(1, Relaxed);
        InFlightGuard(self)
    }

    /// Records a finished request under its route template ([`FALLBACK_ROUTE`] if none matched).
    pub fn record(&self, method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
        let method = method_index(method);
        let class = usize::from(status.as_u16() / 100).clamp(1, 5) - 1;
        let known = {
            let routes = self
                .inner
                .routes
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            match routes.get(route) {
                Some(slots) => {
                    slots.record(method, class, elapsed);
                    true
                }
                None => false,
            }
        };
        if !known {
            let mut routes = self
                .inner
                .routes
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            routes
                .entry(route.into())
                .or_default()
                .record(method, class, elapsed);
        }
        self.inner.total.fetch_add(1, Relaxed);
        let second = self.second_now();
        self.inner.requests.add(second);
        if class == 4 {
            self.inner.server_errors.add(second);
        }
    }

    fn second_now(&self) -> u32 {
        u32::try_from(self.uptime().as_secs()).unwrap_or(u32::MAX)
    }

    /// Every (method, route) seen so far, sorted by route then method.
    pub fn routes(&self) -> Vec<RouteSnapshot> {
        let routes = self
            .inner
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut snapshots: Vec<RouteSnapshot> = routes
            .iter()
            .flat_map(|(route, slots)| {
                slots.0.iter().zip(METHODS).filter_map(|(slot, method)| {
                    let stats = slot.get()?;
                    let [informational, success, redirection, client_error, server_error] =
                        stats.statuses.each_ref().map(|count| count.load(Relaxed));
                    Some(RouteSnapshot {
                        method,
                        route: route.to_string(),
                        latency: stats.latency.snapshot(),
                        statuses: StatusCounts {
                            informational,
                            success,
                            redirection,
                            client_error,
                            server_error,
                        },
                    })
                })
            })
            .collect();
        drop(routes);
        snapshots.sort_by(|a, b| (&a.route, a.method).cmp(&(&b.route, b.method)));
        snapshots
    }

    /// Requests and 5xx responses over the last minute, and requests per second over it.
    pub fn recent(&self) -> RecentTraffic {
        let uptime = self.uptime();
        let now = u32::try_from(uptime.as_secs()).unwrap_or(u32::MAX);
        let requests = self.inner.requests.last_minute(now);
        RecentTraffic {
            requests,
            server_errors: self.inner.server_errors.last_minute(now),
            per_second: requests as f64 / covered_seconds(uptime),
        }
    }

    /// Remembers a pool utilisation sample (0.0 to 1.0); the sampler calls this every second.
    pub fn record_pool_utilisation(&self, at: Instant, utilisation: f64) {
        let mut window = self
            .inner
            .utilisation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        window.push(at, utilisation);
    }

    pub(crate) fn pool_busy_for(&self, threshold: f64, period: Duration) -> bool {
        let window = self
            .inner
            .utilisation
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        window.sustained_above(threshold, period, Instant::now())
    }

    /// The warnings that hold now. Each is logged with `tracing::warn!` when it first appears
    /// and with `tracing::info!` when it clears.
    pub fn warnings(&self) -> Vec<Warning> {
        let current = super::warnings::evaluate(self);
        self.inner.warning_log.note(&current);
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_per_route_method_and_class() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis;
        metrics.record(&Method::GET, "/rentals/{slug}", StatusCode::OK, ms(3));
        metrics.record(
            &Method::GET,
            "/rentals/{slug}",
            StatusCode::NOT_FOUND,
            ms(5),
        );
        metrics.record(
            &Method::POST,
            "/rentals/{slug}",
            StatusCode::BAD_GATEWAY,
            ms(7),
        );
        let odd = Method::from_bytes(b"BREW").expect("a valid extension method");
        metrics.record(&odd, FALLBACK_ROUTE, StatusCode::SEE_OTHER, ms(1));
        let routes = metrics.routes();
        let labels: Vec<_> = routes
            .iter()
            .map(|r| (r.method, r.route.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("GET", "/rentals/{slug}"),
                ("POST", "/rentals/{slug}"),
                ("OTHER", "fallback")
            ]
        );
        assert_eq!(routes[0].statuses.success, 1);
        assert_eq!(routes[0].statuses.client_error, 1);
        assert_eq!(routes[0].latency.count(), 2);
        assert_eq!(routes[1].statuses.server_error, 1);
        assert_eq!(metrics.total_requests(), 4);
        let recent = metrics.recent();
        assert_eq!((recent.requests, recent.server_errors), (4, 1));
    }

    #[test]
    fn the_in_flight_guard_decrements_when_dropped() {
        let metrics = Metrics::new();
        let first = metrics.enter();
        let second = metrics.enter();
        assert_eq!(metrics.in_flight(), 2);
        drop(first);
        drop(second);
        assert_eq!(metrics.in_flight(), 0);
    }

    #[test]
    fn startup_duration_is_unset_until_told() {
        let metrics = Metrics::new();
        assert_eq!(metrics.startup_duration(), None);
        metrics.set_startup_duration(Duration::from_millis(1250));
        assert_eq!(
            metrics.startup_duration(),
            Some(Duration::from_millis(1250))
        );
    }
}
