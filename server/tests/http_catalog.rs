//! The real server on a free port, fetched over HTTP: catalog, product page, errors, and the
//! pool-exhaustion answer.

mod common;

use common::{spawn_app, spawn_app_without_data, test_pool};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, Instant};

#[sqlx::test(migrations = "../migrations")]
async fn catalog_page_lists_published_products_from_the_database(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let response = app.client.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    let html = response.text().await.expect("body");
    assert!(
        html.contains("<h1 id=\"catalog-heading\">Everything to rent</h1>"),
        "{html}"
    );
    assert_eq!(html.matches("class=\"product-card\"").count(), 24);

    // The first product by name is on page one, linked by its slug.
    let (slug, name): (String, String) =
        sqlx::query_as("SELECT slug, name FROM products WHERE published ORDER BY name, id LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("a product");
    assert!(html.contains(&format!("href=\"/rentals/{slug}\"")));

    let product = app
        .client
        .get(app.url(&format!("/rentals/{slug}")))
        .send()
        .await
        .expect("GET product");
    assert_eq!(product.status(), 200);
    let product_html = product.text().await.expect("body");
    assert!(
        product_html.contains(&format!("<h1>{}</h1>", name.replace('&', "&amp;"))),
        "{product_html}"
    );
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn unpublished_and_unknown_products_are_404(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let slug: String = sqlx::query_scalar("UPDATE products SET published = false WHERE id = (SELECT min(id) FROM products) RETURNING slug")
        .fetch_one(&pool)
        .await
        .expect("unpublish one");
    for path in [
        format!("/rentals/{slug}"),
        "/rentals/no-such-item".to_owned(),
        "/no/such/page".to_owned(),
    ] {
        let response = app.client.get(app.url(&path)).send().await.expect("GET");
        assert_eq!(response.status(), 404, "{path}");
    }
    let html = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("body");
    assert!(
        !html.contains(&format!("/rentals/{slug}\"")),
        "unpublished product still listed"
    );
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_query_parameters_get_a_clear_4xx(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool).await;
    for (path, status, sentence) in [
        (
            "/?page=abc",
            400,
            "The page number must be a whole number from 1 to 10000.",
        ),
        (
            "/?page=99999999999",
            400,
            "The page number must be a whole number from 1 to 10000.",
        ),
        (
            "/?category=no-such-category",
            404,
            "We have no category by that name.",
        ),
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), status, "{path}");
        assert!(
            response.text().await.expect("body").contains(sentence),
            "{path}"
        );
    }
    // Past the last page: an empty state, not an error.
    let response = app
        .client
        .get(app.url("/?page=500"))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("Nothing to show on this page."));
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn empty_catalog_says_so(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    let app = spawn_app_without_data(pool).await;
    let response = app.client.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    assert!(html.contains("0 items · page 1 of 1"), "{html}");
    assert!(html.contains("Nothing to show on this page."));
    app.finish().await;
}

/// With every connection taken, a page answers 503 + Retry-After as soon as the acquire timeout
/// passes, instead of queueing without bound.
#[sqlx::test(migrations = "../migrations")]
async fn pool_exhaustion_answers_503_with_retry_after(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_millis(300))
        .connect_with(connect)
        .await
        .expect("pool");
    let app = spawn_app(pool.clone()).await;
    let held = pool.acquire().await.expect("take the only connection");

    let started = Instant::now();
    let response = app.client.get(app.url("/")).send().await.expect("GET /");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    assert!(response
        .text()
        .await
        .expect("body")
        .contains("The shop is very busy right now"));
    // A guard against hanging, not a speed test: the timeout is 300 ms.
    assert!(started.elapsed() < Duration::from_secs(10));

    let api = app
        .client
        .post(app.url("/api/catalog"))
        .form(&[("page", "1")])
        .send()
        .await
        .expect("POST");
    assert_eq!(api.status(), 503);
    assert!(api.headers().contains_key("retry-after"));

    drop(held);
    let response = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .expect("GET / after release");
    assert_eq!(response.status(), 200);
    app.finish().await;
}

/// Rendered pages are reused until the catalog changes, then rendered afresh.
#[sqlx::test(migrations = "../migrations")]
async fn a_catalog_change_replaces_reused_pages(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let slug: String = sqlx::query_scalar("SELECT slug FROM products ORDER BY name, id LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("a product");
    let path = format!("/rentals/{slug}");
    for _ in 0..2 {
        let html = app
            .client
            .get(app.url(&path))
            .send()
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        assert!(!html.contains("Freshly renamed"));
    }
    sqlx::query("UPDATE products SET name = '000 Freshly renamed' WHERE slug = $1")
        .bind(&slug)
        .execute(&pool)
        .await
        .expect("rename");
    app.catalog
        .reload(&pool)
        .await
        .expect("reload, as the listener would");
    for page in [path.as_str(), "/"] {
        let response = app.client.get(app.url(page)).send().await.expect("GET");
        assert!(
            !response.headers().contains_key("x-rentwise-catalog-page"),
            "internal header leaked"
        );
        let html = response.text().await.expect("body");
        assert!(
            html.contains("Freshly renamed"),
            "{page} still shows the old name"
        );
    }
    app.finish().await;
}
