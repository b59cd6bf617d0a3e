//! The `/performance/*` endpoints against a real PostgreSQL: health follows the database down and
//! back up, stats and metrics stay hidden without a token, and the Prometheus text parses.

use axum::body::Body;
use axum::http::{header, request::Parts, HeaderMap, Method, Request, StatusCode};
use axum::{middleware::from_fn_with_state, routing::get, Router};
use serde_json::Value;
use server::observability::{self as obs, Metrics, ObservabilityState, SourceCheck, SourceMetric};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap};
use std::{sync::Arc, time::Duration};
use tower::ServiceExt;

const TOKEN: &str = "observability-test-token";
const BEARER: (&str, &str) = ("authorization", "Bearer observability-test-token");
const GET: Method = Method::GET;
const OK: StatusCode = StatusCode::OK;
const NOT_FOUND: StatusCode = StatusCode::NOT_FOUND;
const UNAVAILABLE: StatusCode = StatusCode::SERVICE_UNAVAILABLE;
type Headers<'a> = &'a [(&'a str, &'a str)];

/// A small pool that gives up quickly, so a dead database shows within the 1 s check.
async fn small_pool(connect: PgConnectOptions) -> PgPool {
    let options = PgPoolOptions::new().max_connections(2);
    let options = options.acquire_timeout(Duration::from_millis(500));
    let pool = options.connect_with(connect).await;
    pool.expect("connect to the test database")
}

fn state_for(metrics: &Metrics, pool: &PgPool) -> ObservabilityState {
    ObservabilityState::new(metrics.clone(), pool.clone(), std::env::temp_dir())
}

/// Two routes, a fallback, the observability routes, all tracked the way the server mounts it.
fn shop(metrics: &Metrics, state: ObservabilityState) -> Router {
    let broken = get(|| async { StatusCode::INTERNAL_SERVER_ERROR });
    Router::new()
        .route("/rentals/{slug}", get(|| async { "a rental" }))
        .route("/broken", broken)
        .merge(obs::routes(state))
        .fallback(|| async { NOT_FOUND })
        .layer(from_fn_with_state(metrics.clone(), obs::track))
}

type Reply = (StatusCode, HeaderMap, String);

async fn send(app: &Router, method: Method, path: &str, headers: Headers<'_>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("a body");
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    (parts.status, parts.headers, text)
}

async fn expect(app: &Router, method: Method, path: &str, headers: Headers<'_>, want: StatusCode) {
    let (status, _, body) = send(app, method, path, headers).await;
    assert_eq!(status, want, "{path} with {headers:?}: {body}");
}

async fn health(app: &Router) -> (StatusCode, Value) {
    let (status, headers, body) = send(app, GET, "/performance/health", &[]).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    (status, serde_json::from_str(&body).expect("health is JSON"))
}

/// Asks for health until it answers `wanted` (a terminated backend takes a moment to go).
async fn health_until(app: &Router, wanted: StatusCode) -> Value {
    for _ in 0..50 {
        let (status, report) = health(app).await;
        if status == wanted {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("health never answered {wanted}");
}

async fn run(admin: &mut PgConnection, sql: &str) {
    let done = admin.execute(sql).await;
    done.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[sqlx::test(migrations = false)]
async fn health_follows_the_database_down_and_up(_: PgPoolOptions, connect: PgConnectOptions) {
    let name = connect.get_database().expect("a test database").to_owned();
    let admin_options = connect.clone().database("postgres");
    let admin = PgConnection::connect_with(&admin_options).await;
    let mut admin = admin.expect("an admin connection");
    let pool = small_pool(connect).await;
    let metrics = Metrics::new();
    let app = shop(&metrics, state_for(&metrics, &pool));

    let report = health_until(&app, OK).await;
    assert_eq!(report["status"], "ok");
    assert_eq!(report["checks"]["database"]["ok"], true);
    assert!(report["checks"]["database"]["latency_ms"].is_f64());
    assert_eq!(report["checks"]["data_dir"]["ok"], true);

    let allow = |yes: bool| format!(r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS {yes}"#);
    run(&mut admin, &allow(false)).await;
    let kill = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ";
    run(&mut admin, &format!("{kill}'{name}'")).await;
    let report = health_until(&app, UNAVAILABLE).await;
    assert_eq!(report["status"], "unavailable");
    assert_eq!(report["checks"]["database"]["ok"], false);
    let reason = report["checks"]["database"]["error"].as_str().unwrap_or("");
    assert!(reason.contains("refused"), "{reason}");
    assert!(
        !reason.contains(&name),
        "no database name in public: {reason}"
    );
    assert_eq!(report["checks"]["data_dir"]["ok"], true);

    run(&mut admin, &allow(true)).await;
    let report = health_until(&app, OK).await;
    assert_eq!(report["checks"]["database"]["ok"], true);
    pool.close().await;
    admin.close().await.expect("close the admin connection");
}

#[tokio::test]
async fn health_503_without_database_or_data_dir() {
    let nowhere = PgConnectOptions::new().host("127.0.0.1").port(9);
    let dead = PgPoolOptions::new().acquire_timeout(Duration::from_millis(500));
    let dead = dead.connect_lazy_with(nowhere.username("postgres"));
    let missing_dir = std::env::temp_dir().join("rentwise-no-such-dir/deeper");
    let metrics = Metrics::new();
    let state = ObservabilityState::new(metrics.clone(), dead, &missing_dir);
    let (status, report) = health(&shop(&metrics, state)).await;
    assert_eq!(status, UNAVAILABLE);
    assert_eq!(report["status"], "unavailable");
    assert_eq!(report["checks"]["database"]["ok"], false);
    assert!(report["checks"]["database"]["error"].is_string());
    assert_eq!(report["checks"]["data_dir"]["ok"], false);
    let reason = report["checks"]["data_dir"]["error"].as_str().unwrap_or("");
    assert!(reason.starts_with("cannot create a file"), "{reason}");
}

#[sqlx::test(migrations = false)]
async fn private_endpoints_need_token_or_staff(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = small_pool(connect).await;
    let metrics = Metrics::new();
    let private = ["/performance/stats", "/performance/metrics"];

    let no_token = shop(&metrics, state_for(&metrics, &pool));
    let attempts: [Headers; 3] = [&[], &[BEARER], &[("authorization", "Bearer ")]];
    for (path, headers) in private.iter().flat_map(|p| attempts.map(|h| (p, h))) {
        let (status, _, body) = send(&no_token, GET, path, headers).await;
        assert_eq!(status, NOT_FOUND, "{path} {headers:?}");
        assert!(body.is_empty());
    }

    let with_token = shop_with_token(&metrics, &pool);
    let wrong = ("authorization", "Bearer observability-test-tokeN");
    for path in private {
        expect(&with_token, GET, path, &[], NOT_FOUND).await;
        expect(&with_token, GET, path, &[wrong], NOT_FOUND).await;
        expect(&with_token, Method::POST, path, &[], NOT_FOUND).await;
        let (status, headers, _) = send(&with_token, GET, path, &[BEARER]).await;
        assert_eq!(status, OK, "{path}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
    assert_eq!(health(&with_token).await.0, OK, "health stays public");

    let is_staff = |parts: &Parts| parts.headers.contains_key("x-staff");
    let staff = state_for(&metrics, &pool).with_staff_check(is_staff);
    let for_staff = shop(&metrics, staff);
    expect(&for_staff, GET, private[0], &[("x-staff", "1")], OK).await;
    expect(&for_staff, GET, private[0], &[], NOT_FOUND).await;
    pool.close().await;
}

/// A stand-in for the image cache, which arrives later.
struct ImageCache;

impl obs::MetricSource for ImageCache {
    fn name(&self) -> &str {
        "image_cache"
    }
    fn metrics(&self) -> Vec<SourceMetric> {
        let hits = SourceMetric::counter("hits_total", "Cache hits.", 12.0);
        vec![SourceMetric::gauge("bytes", "Bytes held.", 4096.0), hits]
    }
    fn health(&self) -> Option<SourceCheck> {
        let error = Some("disk full".to_owned());
        Some(SourceCheck { ok: false, error })
    }
}

/// A tracked shop whose private endpoints take [`TOKEN`], with the image cache registered.
fn shop_with_token(metrics: &Metrics, pool: &PgPool) -> Router {
    metrics.register_source(Arc::new(ImageCache));
    let state = state_for(metrics, pool).with_token(Some(TOKEN.into()));
    shop(metrics, state)
}

#[sqlx::test(migrations = false)]
async fn stats_show_routes_pool_sources_warnings(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = small_pool(connect).await;
    let metrics = Metrics::new();
    let app = shop_with_token(&metrics, &pool);
    for i in 0..98 {
        expect(&app, GET, &format!("/rentals/item-{i}"), &[], OK).await;
    }
    for _ in 0..2 {
        expect(&app, GET, "/broken", &[], StatusCode::INTERNAL_SERVER_ERROR).await;
    }

    let (status, _, body) = send(&app, GET, "/performance/stats", &[BEARER]).await;
    assert_eq!(status, OK);
    assert!(!body.contains("item-1"), "raw paths never become labels");
    let stats: Value = serde_json::from_str(&body).expect("stats are JSON");
    let rentals = &stats["routes"][1];
    assert_eq!(rentals["route"], "/rentals/{slug}");
    assert_eq!(rentals["count"], 98);
    assert!(rentals["p99_ms"].as_f64() >= rentals["p50_ms"].as_f64());
    assert_eq!(stats["routes"][0]["error_rate"], 1.0, "/broken sorts first");
    assert_eq!(stats["requests"]["total"], 100);
    assert_eq!(stats["pool"]["max"], 2);
    assert!(stats["pool"]["size"].as_u64().is_some_and(|size| size >= 1));
    if cfg!(target_os = "linux") {
        assert!(stats["process"]["rss_bytes"].as_u64() > Some(0));
    }
    assert_eq!(stats["sources"]["image_cache"]["bytes"], 4096.0);
    assert_eq!(stats["warnings"][0]["code"], "error_rate");

    let (status, report) = health(&app).await;
    assert_eq!((status, &report["status"]), (OK, &"degraded".into()));
    assert_eq!(report["checks"]["image_cache"]["error"], "disk full");
    assert_eq!(report["warnings"][0]["code"], "error_rate");

    let sampler = obs::spawn_sampler(metrics.clone(), pool.clone());
    pool.close().await;
    let stopped = tokio::time::timeout(Duration::from_secs(3), sampler).await;
    assert!(stopped.is_ok_and(|ended| ended.is_ok()));
}

#[sqlx::test(migrations = false)]
async fn metrics_parse_and_label_route_templates(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = small_pool(connect).await;
    let metrics = Metrics::new();
    let app = shop_with_token(&metrics, &pool);
    for path in ["/rentals/drill", "/rentals/tent", "/broken", "/nope"] {
        send(&app, GET, path, &[]).await;
    }
    let (status, headers, text) = send(&app, GET, "/performance/metrics", &[BEARER]).await;
    assert_eq!(status, OK);
    let content_type = &headers[header::CONTENT_TYPE];
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let samples = exposition::check(&text);

    let find = |name: &str, labels: Headers| {
        let has = |s: &&exposition::Sample| {
            let label = |k: &str| s.1.get(k).map(String::as_str);
            s.0 == name && labels.iter().all(|(k, v)| label(k) == Some(*v))
        };
        samples.iter().find(has).map(|s| s.2)
    };
    let rentals = [("method", "GET"), ("route", "/rentals/{slug}")];
    let duration_count = "rentwise_http_request_duration_seconds_count";
    assert_eq!(find(duration_count, &rentals), Some(2.0));
    let responses = "rentwise_http_responses_total";
    let fallback_404 = [("route", "fallback"), ("class", "4xx")];
    assert_eq!(find(responses, &fallback_404), Some(1.0));
    let broken_5xx = [("route", "/broken"), ("class", "5xx")];
    assert_eq!(find(responses, &broken_5xx), Some(1.0));
    assert_eq!(find("rentwise_db_pool_max", &[]), Some(2.0));
    assert_eq!(find("rentwise_image_cache_hits_total", &[]), Some(12.0));
    assert!(find("rentwise_http_requests_total", &[]).is_some_and(|n| n >= 4.0));
    assert!(!text.contains("drill"), "raw paths never become labels");
    pool.close().await;
}

/// A strict enough reader of the text format to catch mistakes in the output.
mod exposition {
    use super::*;

    /// One sample line: metric name, labels, value.
    pub struct Sample(pub String, pub BTreeMap<String, String>, pub f64);

    /// Parses every line; checks each sample's family has HELP and TYPE before it, and each
    /// histogram's buckets are cumulative and end with le="+Inf" equal to its `_count`.
    pub fn check(text: &str) -> Vec<Sample> {
        let (mut helps, mut kinds, mut samples) = (Vec::new(), HashMap::new(), Vec::new());
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split_once(' ').expect("HELP name text").0;
                assert!(!helps.contains(&name), "two HELPs for {name}");
                helps.push(name);
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                assert!(kinds.insert(name, kind).is_none(), "two TYPEs for {name}");
            } else {
                let sample = parse_sample(line);
                let histogram = ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
                    let base = sample.0.strip_suffix(suffix)?;
                    (kinds.get(base) == Some(&"histogram")).then_some(base)
                });
                let family = histogram.unwrap_or(&sample.0);
                let declared = helps.contains(&family) && kinds.contains_key(family);
                assert!(declared, "no HELP or TYPE before {line}");
                samples.push(sample);
            }
        }
        for (family, _) in kinds.iter().filter(|(_, kind)| **kind == "histogram") {
            check_histogram(family, &samples);
        }
        samples
    }

    fn check_histogram(family: &str, samples: &[Sample]) {
        let named = |suffix: &str| {
            let name = format!("{family}_{suffix}");
            samples.iter().filter(move |s| s.0 == name)
        };
        let mut series: BTreeMap<_, Vec<(f64, f64)>> = BTreeMap::new();
        for bucket in named("bucket") {
            let mut labels = bucket.1.clone();
            let le = labels.remove("le").expect("every bucket has le");
            let le = number(&le, &le);
            series.entry(labels).or_default().push((le, bucket.2));
        }
        assert!(!series.is_empty(), "{family} has buckets");
        for (labels, buckets) in series {
            let rising = |w: &[(f64, f64)]| w[0].0 < w[1].0 && w[0].1 <= w[1].1;
            assert!(buckets.windows(2).all(rising), "{labels:?}: {buckets:?}");
            let last = buckets.last().expect("a bucket");
            let count = named("count").find(|s| s.1 == labels).map(|c| c.2);
            assert_eq!((last.0, Some(last.1)), (f64::INFINITY, count), "{labels:?}");
            assert!(named("sum").any(|s| s.1 == labels), "{labels:?}");
        }
    }

    fn parse_sample(line: &str) -> Sample {
        let name_end = line.find(['{', ' ']).expect("a name");
        let (name, mut rest) = line.split_at(name_end);
        assert!(is_name(name), "bad metric name in {line:?}");
        let mut labels = BTreeMap::new();
        if let Some(mut inside) = rest.strip_prefix('{') {
            while !inside.starts_with('}') {
                let (key, quoted) = inside.split_once("=\"").expect("label=\"value\"");
                assert!(is_name(key) && !key.contains(':'), "label {key:?}: {line}");
                let (value, after) = read_quoted(quoted, line);
                let repeated = labels.insert(key.to_owned(), value).is_some();
                assert!(!repeated, "repeated label in {line}");
                assert!(after.starts_with([',', '}']), "expected , or }} in {line}");
                inside = after.strip_prefix(',').unwrap_or(after);
            }
            rest = &inside[1..];
        }
        let value = rest.strip_prefix(' ').expect("one space before the value");
        Sample(name.to_owned(), labels, number(value, line))
    }

    /// A float as Go's ParseFloat reads it, with Prometheus's infinities.
    fn number(text: &str, line: &str) -> f64 {
        match text {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("{v:?}: {line}")),
        }
    }

    fn is_name(name: &str) -> bool {
        let allowed = |c: char| c.is_ascii_alphanumeric() || "_:".contains(c);
        name.starts_with(|c: char| !c.is_ascii_digit()) && name.chars().all(allowed)
    }

    /// A label value up to its closing quote, unescaped, and what follows the quote.
    fn read_quoted<'a>(text: &'a str, line: &str) -> (String, &'a str) {
        let mut value = String::new();
        let mut chars = text.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return (value, &text[i + 1..]),
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?} in {line}"),
                },
                c => value.push(c),
            }
        }
        panic!("unterminated label value in {line}");
    }
}
