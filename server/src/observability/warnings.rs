//! The conditions that raise a warning: the pool busy above 80 % for 30 s, more than 1 % of the
//! last minute's requests failing with 5xx (once there are 100), and the sources' own warnings.

use super::metrics::Metrics;
use super::source::Warning;
use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Pool utilisation (in use / max) above which the pool counts as busy.
pub const POOL_BUSY_ABOVE: f64 = 0.8;
/// How long the pool must stay busy before it is a warning.
pub const POOL_BUSY_FOR: Duration = Duration::from_secs(30);
/// Share of 5xx responses over the last minute above which it is a warning.
pub const ERROR_RATE_ABOVE: f64 = 0.01;
/// Fewer requests than this in the last minute are too few to judge an error rate.
pub const ERROR_RATE_MIN_REQUESTS: u64 = 100;

/// The warnings that hold now, without logging (see [`Metrics::warnings`]).
pub(crate) fn evaluate(metrics: &Metrics) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if metrics.pool_busy_for(POOL_BUSY_ABOVE, POOL_BUSY_FOR) {
        warnings.push(Warning {
            code: "pool_saturated".into(),
            message: format!(
                "database pool utilisation above {:.0}% for {} s",
                POOL_BUSY_ABOVE * 100.0,
                POOL_BUSY_FOR.as_secs()
            ),
        });
    }
    let recent = metrics.recent();
    if let Some(rate) = error_rate(recent.requests, recent.server_errors) {
        warnings.push(Warning {
            code: "error_rate".into(),
            message: format!(
                "{:.1}% of the last minute's {} requests failed with 5xx",
                rate * 100.0,
                recent.requests
            ),
        });
    }
    for source in metrics.sources() {
        for warning in source.warnings() {
            warnings.push(Warning {
                code: format!("{}.{}", source.name(), warning.code),
                message: warning.message,
            });
        }
    }
    warnings
}

/// Codes of the warnings last seen, so each is logged when it appears, not every time.
#[derive(Default)]
pub(crate) struct WarningLog(Mutex<BTreeSet<String>>);

impl WarningLog {
    /// Logs the warnings in `current` that are new, and those that have cleared.
    pub(crate) fn note(&self, current: &[Warning]) {
        let mut active = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for warning in current {
            if !active.contains(&warning.code) {
                tracing::warn!(code = %warning.code, "{}", warning.message);
            }
        }
        for code in active.iter() {
            if !current.iter().any(|warning| &warning.code == code) {
                tracing::info!(code = %code, "warning cleared");
            }
        }
        *active = current.iter().map(|warning| warning.code.clone()).collect();
    }
}

/// The 5xx share when it is high enough, over enough requests, to warn about.
fn error_rate(requests: u64, server_errors: u64) -> Option<f64> {
    if requests < ERROR_RATE_MIN_REQUESTS {
        return None;
    }
    let rate = server_errors as f64 / requests as f64;
    (rate > ERROR_RATE_ABOVE).then_some(rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::source::{MetricSource, SourceMetric};
    use axum::http::{Method, StatusCode};
    use std::sync::Arc;
    use std::time::Instant;

    fn codes(metrics: &Metrics) -> Vec<String> {
        metrics.warnings().into_iter().map(|w| w.code).collect()
    }

    #[test]
    fn error_rate_needs_enough_requests_and_more_than_one_percent() {
        assert_eq!(error_rate(99, 50), None);
        assert_eq!(error_rate(100, 1), None);
        assert_eq!(error_rate(100, 2), Some(0.02));
    }

    #[test]
    fn a_failing_minute_raises_the_error_rate_warning() {
        let metrics = Metrics::new();
        let record = |status| {
            metrics.record(&Method::GET, "/", status, Duration::from_millis(1));
        };
        (0..98).for_each(|_| record(StatusCode::OK));
        (0..2).for_each(|_| record(StatusCode::INTERNAL_SERVER_ERROR));
        assert_eq!(codes(&metrics), ["error_rate"]);
        (0..100).for_each(|_| record(StatusCode::OK));
        assert!(codes(&metrics).is_empty(), "2 in 200 is 1%, not above");
    }

    #[test]
    fn a_pool_busy_for_thirty_seconds_raises_the_pool_warning() {
        let metrics = Metrics::new();
        let now = Instant::now();
        let ago = |s: u64| {
            now.checked_sub(Duration::from_secs(s))
                .expect("a past instant")
        };
        for s in (1..=25).rev() {
            metrics.record_pool_utilisation(ago(s), 0.95);
        }
        assert!(codes(&metrics).is_empty(), "25 s is not sustained");
        let metrics = Metrics::new();
        for s in (0..=31).rev() {
            metrics.record_pool_utilisation(ago(s), 0.9);
        }
        assert_eq!(codes(&metrics), ["pool_saturated"]);
    }

    struct Backlog;
    impl MetricSource for Backlog {
        fn name(&self) -> &str {
            "jobs"
        }
        fn metrics(&self) -> Vec<SourceMetric> {
            vec![SourceMetric::gauge("queued", "Jobs waiting.", 500.0)]
        }
        fn warnings(&self) -> Vec<Warning> {
            vec![Warning {
                code: "backlog".into(),
                message: "500 jobs waiting".into(),
            }]
        }
    }

    #[test]
    fn source_warnings_carry_the_source_name() {
        let metrics = Metrics::new();
        metrics.register_source(Arc::new(Backlog));
        assert_eq!(codes(&metrics), ["jobs.backlog"]);
    }
}
