//! The registry in Prometheus text exposition format 0.0.4: HELP and TYPE for every family,
//! histograms as cumulative `_bucket{le}` with `_sum` and `_count`, label values escaped.

use super::metrics::Metrics;
use super::pool::PoolGauges;
use super::process::ProcessUsage;
use std::fmt::Write;

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every metric: HTTP, pool, process, uptime and the registered sources.
pub fn render(metrics: &Metrics, pool: &PoolGauges, process: &ProcessUsage) -> String {
    let mut out = Exposition(String::with_capacity(16 * 1024));
    render_http(&mut out, metrics);

    let pool_gauges = [
        (
            "size",
            "Open database connections, idle or in use.",
            pool.size,
        ),
        ("idle", "Idle database connections.", pool.idle),
        ("in_use", "Database connections in use.", pool.in_use),
        ("max", "Most connections the pool may open.", pool.max),
    ];
    for (name, help, value) in pool_gauges {
        let name = format!("rentwise_db_pool_{name}");
        out.family(&name, help, "gauge");
        out.sample(&name, &[], f64::from(value));
    }
    out.family(
        "rentwise_db_pool_utilisation_ratio",
        "Connections in use divided by the pool's maximum.",
        "gauge",
    );
    out.sample("rentwise_db_pool_utilisation_ratio", &[], pool.utilisation);

    if let Some(rss) = process.rss_bytes {
        out.family(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            "gauge",
        );
        out.sample("process_resident_memory_bytes", &[], rss as f64);
    }
    if let Some(cpu) = process.cpu_seconds {
        out.family(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            "counter",
        );
        out.sample("process_cpu_seconds_total", &[], cpu);
    }
    out.family(
        "rentwise_uptime_seconds",
        "Seconds since the server began starting.",
        "gauge",
    );
    out.sample(
        "rentwise_uptime_seconds",
        &[],
        metrics.uptime().as_secs_f64(),
    );
    if let Some(startup) = metrics.startup_duration() {
        out.family(
            "rentwise_startup_duration_seconds",
            "Seconds startup took, until the server was ready to serve.",
            "gauge",
        );
        out.sample(
            "rentwise_startup_duration_seconds",
            &[],
            startup.as_secs_f64(),
        );
    }

    for source in metrics.sources() {
        for metric in source.metrics() {
            let name = metric_name(&format!("rentwise_{}_{}", source.name(), metric.name));
            out.family(&name, &metric.help, metric.kind.as_str());
            out.sample(&name, &[], metric.value);
        }
    }
    out.0
}

fn render_http(out: &mut Exposition, metrics: &Metrics) {
    out.family(
        "rentwise_http_requests_total",
        "Requests answered since the start.",
        "counter",
    );
    out.sample(
        "rentwise_http_requests_total",
        &[],
        metrics.total_requests() as f64,
    );
    out.family(
        "rentwise_http_requests_in_flight",
        "Requests being handled now.",
        "gauge",
    );
    out.sample(
        "rentwise_http_requests_in_flight",
        &[],
        metrics.in_flight() as f64,
    );

    let routes = metrics.routes();
    out.family(
        "rentwise_http_responses_total",
        "Responses by method, route template and status class.",
        "counter",
    );
    for route in &routes {
        for (class, count) in route.statuses.by_class() {
            let labels = [
                ("method", route.method),
                ("route", &route.route),
                ("class", class),
            ];
            out.sample("rentwise_http_responses_total", &labels, count as f64);
        }
    }

    let histogram = "rentwise_http_request_duration_seconds";
    out.family(
        histogram,
        "Time from a request's arrival to its response head, by method and route template.",
        "histogram",
    );
    for route in &routes {
        let labels = [("method", route.method), ("route", route.route.as_str())];
        for (le, count) in route.latency.prometheus_buckets() {
            let le = format_value(le);
            let with_le = [labels[0], labels[1], ("le", &le)];
            out.sample(&format!("{histogram}_bucket"), &with_le, count as f64);
        }
        let sum = route.latency.sum_seconds;
        out.sample(&format!("{histogram}_sum"), &labels, sum);
        let count = route.latency.count() as f64;
        out.sample(&format!("{histogram}_count"), &labels, count);
    }
}

struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, help: &str, kind: &str) {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (label, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{label}=\"{}\"", escape_label(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {}", format_value(value));
    }
}

/// Label values escape backslash, double quote and line feed.
fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Numbers as Go's ParseFloat reads them, with Prometheus's spelling of the infinities.
fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        value.to_string()
    }
}

/// A valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, other characters replaced by `_`.
fn metric_name(raw: &str) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::source::{MetricSource, SourceMetric};
    use axum::http::{Method, StatusCode};
    use std::{sync::Arc, time::Duration};

    fn idle_pool() -> PoolGauges {
        PoolGauges {
            size: 4,
            idle: 3,
            in_use: 1,
            max: 10,
            utilisation: 0.1,
        }
    }

    struct Cache;
    impl MetricSource for Cache {
        fn name(&self) -> &str {
            "image-cache"
        }
        fn metrics(&self) -> Vec<SourceMetric> {
            vec![SourceMetric::counter("hits_total", "Cache hits.", 7.0)]
        }
    }

    #[test]
    fn histograms_carry_method_route_and_cumulative_buckets() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis;
        metrics.record(&Method::GET, "/rentals/{slug}", StatusCode::OK, ms(3));
        metrics.record(&Method::GET, "/rentals/{slug}", StatusCode::OK, ms(300));
        metrics.register_source(Arc::new(Cache));
        let text = render(&metrics, &idle_pool(), &ProcessUsage::default());

        let bucket = |le: &str| {
            format!("rentwise_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/rentals/{{slug}}\",le=\"{le}\"}}")
        };
        assert!(
            text.contains(&format!("{} 1\n", bucket("0.00390625"))),
            "{text}"
        );
        assert!(text.contains(&format!("{} 2\n", bucket("0.5"))));
        assert!(text.contains(&format!("{} 2\n", bucket("+Inf"))));
        assert!(text.contains(
            "rentwise_http_request_duration_seconds_count{method=\"GET\",route=\"/rentals/{slug}\"} 2\n"
        ));
        assert!(text.contains("rentwise_http_responses_total{method=\"GET\",route=\"/rentals/{slug}\",class=\"2xx\"} 2\n"));
        assert!(text.contains("# TYPE rentwise_http_request_duration_seconds histogram\n"));
        assert!(text.contains("rentwise_db_pool_in_use 1\n"));
        assert!(text.contains(
            "# TYPE rentwise_image_cache_hits_total counter\nrentwise_image_cache_hits_total 7\n"
        ));
        assert!(
            !text.contains("process_resident_memory_bytes"),
            "unknown values are left out"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        let route = "/odd/\"quoted\"\\back\nline";
        metrics.record(
            &Method::GET,
            route,
            StatusCode::OK,
            Duration::from_millis(1),
        );
        let text = render(&metrics, &idle_pool(), &ProcessUsage::default());
        assert!(
            text.contains(r#"route="/odd/\"quoted\"\\back\nline""#),
            "{text}"
        );
        assert!(!text.contains("back\nline"));
    }

    #[test]
    fn values_and_names_follow_the_format() {
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(3.0), "3");
        assert_eq!(
            metric_name("rentwise_9jobs.queued-now"),
            "rentwise_9jobs_queued_now"
        );
        assert_eq!(metric_name("9lives"), "_9lives");
    }
}
