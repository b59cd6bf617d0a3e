//! The hook other parts of the server (image cache, job runner) implement to add their own
//! numbers, health check and warnings to the stats JSON, health report and Prometheus text.

use serde::Serialize;

/// Whether a number only goes up (a counter, named `…_total`) or can go down (a gauge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    Counter,
}

impl MetricKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Gauge => "gauge",
            MetricKind::Counter => "counter",
        }
    }
}

/// One number a source reports. Prometheus sees it as `rentwise_<source>_<name>`, with
/// characters outside `[a-zA-Z0-9_]` replaced by `_`.
#[derive(Clone, Debug)]
pub struct SourceMetric {
    pub name: String,
    pub help: String,
    pub kind: MetricKind,
    pub value: f64,
}

impl SourceMetric {
    pub fn gauge(name: impl Into<String>, help: impl Into<String>, value: f64) -> Self {
        SourceMetric {
            name: name.into(),
            help: help.into(),
            kind: MetricKind::Gauge,
            value,
        }
    }

    pub fn counter(name: impl Into<String>, help: impl Into<String>, value: f64) -> Self {
        SourceMetric {
            kind: MetricKind::Counter,
            ..SourceMetric::gauge(name, help, value)
        }
    }
}

/// A source's own line in the health report. A failing one makes the status "degraded" (still
/// 200): only the database and the data directory make the server unavailable.
#[derive(Clone, Debug, Serialize)]
pub struct SourceCheck {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Something worth a person's attention. `code` is stable (for alerts and for logging a warning
/// once when it appears); `message` says what is wrong in words.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

/// A part of the server with numbers of its own. Every method is called while answering
/// `/performance/*`, so each must be cheap and must not block (read atomics, not the database).
pub trait MetricSource: Send + Sync {
    /// Short snake_case name: the key in stats `sources` and health `checks`, and the metric
    /// prefix. Registering a second source with the same name replaces the first.
    fn name(&self) -> &str;

    /// The source's numbers, for Prometheus and (by default) for the stats JSON.
    fn metrics(&self) -> Vec<SourceMetric>;

    /// The source's entry in the stats JSON; by default an object of its metrics' values.
    fn stats(&self) -> serde_json::Value {
        let values = self
            .metrics()
            .into_iter()
            .map(|metric| (metric.name, serde_json::json!(metric.value)))
            .collect::<serde_json::Map<_, _>>();
        serde_json::Value::Object(values)
    }

    /// A line in the health report's `checks`, if this source has one.
    fn health(&self) -> Option<SourceCheck> {
        None
    }

    /// Current warnings; their codes are prefixed with the source's name.
    fn warnings(&self) -> Vec<Warning> {
        Vec::new()
    }
}
