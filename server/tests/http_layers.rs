//! The tower layers every response passes through: security headers on every kind of
//! response, a fresh CSP nonce per page, compression only where it pays, and the cross-site
//! request guard.

mod common;

use common::{spawn_app_with, test_pool};
use server::http::HttpSettings;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::path::PathBuf;

const SECURITY_HEADERS: &[&str] = &[
    "content-security-policy",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "permissions-policy",
    "x-xss-protection",
];

/// A site root with a few static files of known sizes and types.
fn site_root() -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "rentwise-site-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    let pkg = root.join("pkg");
    std::fs::create_dir_all(&pkg).expect("create site root");
    std::fs::write(
        pkg.join("big.css"),
        "body { color: #123456; }\n".repeat(100),
    )
    .expect("write css");
    std::fs::write(pkg.join("tiny.css"), "body{margin:0}").expect("write css");
    std::fs::write(pkg.join("photo.png"), vec![0u8; 4096]).expect("write png");
    std::fs::write(
        root.join("favicon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .expect("write svg");
    root
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn settings(root: PathBuf) -> HttpSettings {
    HttpSettings {
        site_root: root,
        ..HttpSettings::default()
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn every_kind_of_response_carries_the_security_headers(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    let app = spawn_app_with(pool, settings(site_root())).await;
    let requests = [
        ("GET", "/", 200),                     // page
        ("GET", "/rentals/no-such-item", 404), // error page
        ("GET", "/no/such/path", 404),         // unknown route
        ("GET", "/pkg/big.css", 200),          // static file
        ("GET", "/pkg/missing.js", 404),       // missing static file
        ("GET", "/favicon.svg", 200),          // public file
        ("POST", "/api/catalog", 200),         // server function
    ];
    for (method, path, status) in requests {
        let request = match method {
            "POST" => app.client.post(app.url(path)).form(&[("page", "1")]),
            _ => app.client.get(app.url(path)),
        };
        let response = request.send().await.expect("request");
        assert_eq!(response.status(), status, "{method} {path}");
        for name in SECURITY_HEADERS {
            assert!(
                response.headers().contains_key(*name),
                "{name} missing on {method} {path}"
            );
        }
        assert_eq!(response.headers()["x-xss-protection"], "0");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        assert!(
            !response.headers().contains_key("strict-transport-security"),
            "no HSTS over plain HTTP"
        );
    }
    // Behind a TLS-terminating proxy, HSTS is on.
    let response = app
        .client
        .get(app.url("/"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .expect("GET");
    assert!(response.headers().contains_key("strict-transport-security"));
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn each_page_gets_its_own_nonce_matching_its_scripts(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    let app = spawn_app_with(pool, settings(site_root())).await;
    let mut nonces = Vec::new();
    for _ in 0..3 {
        let response = app.client.get(app.url("/")).send().await.expect("GET /");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("CSP has a nonce")
            .to_owned();
        let html = response.text().await.expect("body");
        assert!(
            html.contains(&format!("<script type=\"module\" nonce=\"{nonce}\">")),
            "hydration script lacks the nonce"
        );
        assert!(!nonces.contains(&nonce), "nonce reused");
        nonces.push(nonce);
    }
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn compression_above_500_bytes_only_and_never_for_images(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    let app = spawn_app_with(pool, settings(site_root())).await;
    let encoding = |path: &'static str, accept: &'static str| {
        let request = app
            .client
            .get(app.url(path))
            .header("accept-encoding", accept);
        async move {
            let response = request.send().await.expect("GET");
            assert_eq!(response.status(), 200, "{path}");
            response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap_or("?").to_owned())
        }
    };
    assert_eq!(encoding("/", "br").await.as_deref(), Some("br"));
    assert_eq!(encoding("/", "gzip").await.as_deref(), Some("gzip"));
    assert_eq!(encoding("/", "zstd").await.as_deref(), Some("zstd"));
    assert_eq!(
        encoding("/pkg/big.css", "gzip").await.as_deref(),
        Some("gzip")
    );
    assert_eq!(
        encoding("/pkg/tiny.css", "gzip").await,
        None,
        "14 bytes is below the threshold"
    );
    assert_eq!(
        encoding("/pkg/photo.png", "gzip").await,
        None,
        "images are never recompressed"
    );
    assert_eq!(encoding("/", "identity").await, None);
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn cross_site_posts_are_refused_same_site_ones_pass(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    let app = spawn_app_with(pool, settings(site_root())).await;
    let host = app.address.to_string();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = app
            .client
            .post(app.url("/api/catalog"))
            .form(&[("page", "1")]);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("POST") }
    };
    let refused = post(vec![("origin", "https://evil.example".into())]).await;
    assert_eq!(refused.status(), 403);
    assert!(refused
        .text()
        .await
        .expect("body")
        .contains("came from another website"));
    assert_eq!(
        post(vec![("sec-fetch-site", "cross-site".into())])
            .await
            .status(),
        403
    );
    assert_eq!(
        post(vec![("sec-fetch-site", "same-origin".into())])
            .await
            .status(),
        200
    );
    assert_eq!(
        post(vec![("origin", format!("http://{host}"))])
            .await
            .status(),
        200
    );
    app.finish().await;
}

/// The observability endpoints are mounted in the real router: health is public, stats and
/// metrics need the token, and requests are labelled by their route template.
#[sqlx::test(migrations = "../migrations")]
async fn performance_endpoints_are_wired_into_the_app(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    let app = spawn_app_with(pool.clone(), settings(site_root())).await;
    let slug: String = sqlx::query_scalar("SELECT slug FROM products LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("slug");
    for _ in 0..3 {
        app.client
            .get(app.url(&format!("/rentals/{slug}")))
            .send()
            .await
            .expect("GET product");
    }
    let health = app
        .client
        .get(app.url("/performance/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("content-security-policy"));
    let body: serde_json::Value =
        serde_json::from_str(&health.text().await.expect("body")).expect("health is JSON");
    assert_eq!(body["checks"]["database"]["ok"], true, "{body}");

    for path in ["/performance/stats", "/performance/metrics"] {
        assert_eq!(
            app.client
                .get(app.url(path))
                .send()
                .await
                .expect("GET")
                .status(),
            404,
            "{path} is not public"
        );
        let wrong = app
            .client
            .get(app.url(path))
            .bearer_auth("wrong-token-0123456789")
            .send()
            .await
            .expect("GET");
        assert_eq!(wrong.status(), 404, "{path} with a wrong token");
    }
    let metrics = app
        .client
        .get(app.url("/performance/metrics"))
        .bearer_auth(common::METRICS_TOKEN)
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("body");
    assert!(
        text.lines()
            .any(|l| l.starts_with("rentwise_http_responses_total{")
                && l.contains("route=\"/rentals/{slug}\"")
                && l.contains("class=\"2xx\"")
                && l.ends_with(" 3")),
        "{text}"
    );
    let stats = app
        .client
        .get(app.url("/performance/stats"))
        .bearer_auth(common::METRICS_TOKEN)
        .send()
        .await
        .expect("stats");
    assert_eq!(stats.status(), 200);
    app.finish().await;
}
