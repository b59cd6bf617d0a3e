//! The in-memory catalog follows the database: a committed change reaches every server
//! process through LISTEN/NOTIFY.

mod common;

use app::ssr::catalog_cache::CatalogCache;
use common::test_pool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::time::{Duration, Instant};

#[sqlx::test(migrations = "../migrations")]
async fn a_committed_change_reaches_every_instance_within_a_second(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect.clone()).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    // Two "instances": separate pools and caches on one database.
    let other_pool = test_pool(connect).await;
    let instances = [
        (CatalogCache::empty(), pool.clone()),
        (CatalogCache::empty(), other_pool.clone()),
    ];
    let mut listeners = Vec::new();
    for (cache, pool) in &instances {
        cache.reload(pool).await.expect("initial load");
        listeners.push(cache.clone().spawn_listener(pool.clone()));
    }
    // Let both listeners subscribe before the change.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let slug: String = sqlx::query_scalar("SELECT slug FROM products ORDER BY id LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("a product");
    sqlx::query("UPDATE products SET name = 'Renamed by staff' WHERE slug = $1")
        .bind(&slug)
        .execute(&pool)
        .await
        .expect("rename");

    let started = Instant::now();
    for (cache, pool) in &instances {
        loop {
            let snapshot = cache.snapshot(pool).await.expect("snapshot");
            if snapshot.product(&slug, "EUR").map(|p| p.name) == Some("Renamed by staff".into()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "change not seen within a second"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // Unpublishing removes it from every instance too.
    sqlx::query("UPDATE products SET published = false WHERE slug = $1")
        .bind(&slug)
        .execute(&pool)
        .await
        .expect("unpublish");
    let started = Instant::now();
    for (cache, pool) in &instances {
        while cache
            .snapshot(pool)
            .await
            .expect("snapshot")
            .product(&slug, "EUR")
            .is_some()
        {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "unpublish not seen within a second"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    for listener in listeners {
        listener.abort();
    }
    pool.close().await;
    other_pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rolled_back_change_is_never_seen(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("seed");
    let cache = CatalogCache::empty();
    cache.reload(&pool).await.expect("load");
    let listener = cache.clone().spawn_listener(pool.clone());
    let before = cache
        .snapshot(&pool)
        .await
        .expect("snapshot")
        .product_count();
    let mut tx = pool.begin().await.expect("begin");
    sqlx::query("UPDATE products SET published = false")
        .execute(&mut *tx)
        .await
        .expect("update");
    tx.rollback().await.expect("rollback");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cache
            .snapshot(&pool)
            .await
            .expect("snapshot")
            .product_count(),
        before
    );
    listener.abort();
    pool.close().await;
}
