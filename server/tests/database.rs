//! Migrations and demo data against a real PostgreSQL: repeatable, and nothing is lost.

use app::model::CatalogSort;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

mod common;
use common::test_pool;

#[sqlx::test(migrations = false)]
async fn migrations_and_demo_data_are_idempotent(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    server::database::migrate(&pool)
        .await
        .expect("first migration");
    assert!(server::demo::seed_if_empty(&pool).await.expect("seed"));
    let count = |pool: PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM products")
            .fetch_one(&pool)
            .await
            .expect("count")
    };
    let before = count(pool.clone()).await;
    assert!(
        before >= 60,
        "demo catalog has at least 60 products, got {before}"
    );

    server::database::migrate(&pool)
        .await
        .expect("second migration applies nothing");
    assert!(!server::demo::seed_if_empty(&pool)
        .await
        .expect("second seed"));
    assert_eq!(count(pool.clone()).await, before);
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn demo_catalog_reads_like_a_shop(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    let catalog = app::ssr::catalog_cache::CatalogSnapshot::load(&pool)
        .await
        .expect("load the catalog");
    let categories = catalog.categories();
    assert!(categories.len() >= 6);
    assert!(categories.iter().all(|c| c.product_count >= 8));
    let (page, total) = catalog.page(None, CatalogSort::Name, 1, 24);
    assert_eq!(page.len(), 24);
    assert!(total >= 60);
    // Sorted by name, so page two starts after page one ends.
    let (page2, _) = catalog.page(None, CatalogSort::Name, 2, 24);
    assert!(page[23].name <= page2[0].name);
    let (beyond, total_beyond) = catalog.page(None, CatalogSort::Name, 100, 24);
    assert!(beyond.is_empty());
    assert_eq!(
        total_beyond, total,
        "the total is known even past the last page"
    );
    // A category page holds only that category's products.
    let first = &categories[0];
    let (in_category, count) = catalog.page(Some(&first.slug), CatalogSort::Name, 1, 100);
    assert_eq!(count, first.product_count);
    assert!(in_category.iter().all(|p| p.category_name == first.name));
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn connecting_to_a_missing_database_creates_it(
    _: sqlx::postgres::PgPoolOptions,
    connect: sqlx::postgres::PgConnectOptions,
) {
    let name = format!("rentwise_create_{}", std::process::id());
    let url = format!(
        "postgres://{}@{}:{}/{}",
        connect.get_username(),
        connect.get_host(),
        connect.get_port(),
        name
    );
    let config = server::config::PoolConfig {
        min_connections: 0,
        max_connections: 2,
        acquire_timeout: std::time::Duration::from_secs(5),
        max_lifetime: std::time::Duration::from_secs(60),
        stale_after: std::time::Duration::from_secs(1),
    };
    let pool = server::database::connect(&server::config::Secret::new(url.clone()), &config)
        .await
        .expect("connect creates the database");
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .expect("query");
    assert_eq!(one, 1);
    pool.close().await;
    use sqlx::migrate::MigrateDatabase;
    sqlx::Postgres::drop_database(&url).await.expect("clean up");
}

#[tokio::test]
async fn an_unreachable_database_is_one_clear_error() {
    let config = server::config::PoolConfig {
        min_connections: 0,
        max_connections: 1,
        acquire_timeout: std::time::Duration::from_secs(2),
        max_lifetime: std::time::Duration::from_secs(60),
        stale_after: std::time::Duration::from_secs(1),
    };
    // Port 9 (discard) has no PostgreSQL on it.
    let url = server::config::Secret::new("postgres://someone:secret@127.0.0.1:9/shop");
    let err = server::database::connect(&url, &config)
        .await
        .expect_err("nothing listens there");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot reach PostgreSQL at someone@127.0.0.1:9/shop"),
        "{message}"
    );
    assert!(message.contains("Check DATABASE_URL"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    assert!(!message.contains('\n'), "{message}");
}
