//! Schedule benchmark (not a timed test): the staff schedule of 500 units × 30 days, in a
//! throw-away database. It times the schedule's query and layout alone, then the whole page as
//! the server renders it for a signed-in staff member — the real router with every layer,
//! called in-process (`tower::ServiceExt::oneshot`), so the figure is server time to the last
//! byte of the body, with no network or client in it. Run with `--release`; DATABASE_URL names
//! the server (any database on it).

use app::ssr::admin::schedule::schedule;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{Days, Utc};
use chrono_tz::Tz;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::time::Instant;
use tower::ServiceExt;

mod bench_support;

use bench_support::{percentile, BenchResult};

const TZ: Tz = chrono_tz::Europe::Brussels;
const PRODUCTS: i64 = 50;
const UNITS_PER_PRODUCT: i64 = 10;
const DAYS: u32 = 30;
/// Each unit is booked for 1–3 days every 4 days, from a year before the window to a year after.
const HISTORY_DAYS: i64 = 365;
const WARM_UP: usize = 10;
const RUNS: usize = 100;
const STAFF_EMAIL: &str = "bench-staff@example.com";
const STAFF_PASSWORD: &str = "a long enough bench password";

#[tokio::main]
async fn main() -> BenchResult<()> {
    bench_support::in_throwaway_database("rentwise_schedule_bench", run).await
}

async fn run(options: PgConnectOptions) -> BenchResult<()> {
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    server::database::migrate(&pool).await?;
    let started = Instant::now();
    let reservations = fill(&pool).await?;
    eprintln!(
        "[schedule_bench] {} units, {reservations} reservations in {:.1} s",
        PRODUCTS * UNITS_PER_PRODUCT,
        started.elapsed().as_secs_f64()
    );
    let from = Utc::now().with_timezone(&TZ).date_naive();

    // The query and its layout, as the page's server function runs them.
    let mut times = Vec::with_capacity(RUNS);
    let mut shown = (0, 0);
    for i in 0..WARM_UP + RUNS {
        let t = Instant::now();
        let view = schedule(&pool, from, DAYS, None, Utc::now(), TZ).await?;
        if i >= WARM_UP {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        shown = (view.rows.len(), view.bookings);
    }
    println!(
        "schedule data (one query + layout), {} units × {DAYS} days, {} bars:",
        shown.0, shown.1
    );
    print_times(&mut times);

    // The whole page, rendered by the server's router for a staff member.
    let router = router(&pool)?;
    let cookie = staff_cookie(&router, &pool).await?;
    let path = format!("/admin/schedule?from={from}&days={DAYS}");
    // As a browser asks (compressed), and without compression (the render alone).
    for encoding in ["br, gzip", "identity"] {
        let (mut times, size) = page_times(&router, &cookie, &path, encoding, shown.0).await?;
        println!();
        println!(
            "GET {path}, Accept-Encoding: {encoding} (whole server render, {} KB sent):",
            size / 1024
        );
        print_times(&mut times);
    }
    pool.close().await;
    Ok(())
}

/// Times `RUNS` renders of the page at `path` (after `WARM_UP`), each to the last byte of its
/// body, and checks each draws `lanes` unit lanes; returns the times and the body's size.
async fn page_times(
    router: &axum::Router,
    cookie: &str,
    path: &str,
    encoding: &str,
    lanes: usize,
) -> BenchResult<(Vec<f64>, usize)> {
    let mut times = Vec::with_capacity(RUNS);
    let mut size = 0;
    for i in 0..WARM_UP + RUNS {
        let request = Request::get(path)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "text/html")
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())?;
        let t = Instant::now();
        let response = router.clone().oneshot(request).await?;
        let status = response.status();
        let compressed = response.headers().contains_key(header::CONTENT_ENCODING);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        let elapsed = t.elapsed().as_secs_f64() * 1e3;
        if status != StatusCode::OK {
            return Err(format!("GET {path} answered {status}").into());
        }
        if i == 0 && !compressed {
            // Every unit has its lane: the page really holds the whole schedule.
            let drawn = String::from_utf8_lossy(&body)
                .matches("class=\"lane\"")
                .count();
            if drawn != lanes {
                return Err(format!("the page drew {drawn} lanes, not {lanes}").into());
            }
        }
        if i >= WARM_UP {
            times.push(elapsed);
        }
        size = body.len();
    }
    Ok((times, size))
}

/// 5 categories, 50 products of 10 units, and a booking every 4 days on every unit over two
/// years: in the past returned, around now out with the customer (some late), ahead confirmed.
async fn fill(pool: &PgPool) -> BenchResult<i64> {
    sqlx::raw_sql(
        "INSERT INTO categories (slug, name, position)
         SELECT 'cat-' || n, 'Category ' || n, n FROM generate_series(1, 5) AS n",
    )
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO products (category_id, slug, name, daily_price, published)
         SELECT (SELECT id FROM categories WHERE slug = 'cat-' || (1 + n % 5)),
                'product-' || n, 'Product ' || lpad(n::text, 3, '0'), 20, true
           FROM generate_series(1, $1) AS n",
    )
    .bind(PRODUCTS)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO units (product_id, label)
         SELECT p.id, upper(p.slug) || '-' || k FROM products p, generate_series(1, $1) AS k",
    )
    .bind(UNITS_PER_PRODUCT)
    .execute(pool)
    .await?;
    let customer: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash)
         VALUES ('bench@example.com', 'Bench Customer', 'not-a-hash') RETURNING id",
    )
    .fetch_one(pool)
    .await?;
    let now = Utc::now();
    let first = now
        .checked_sub_days(Days::new(HISTORY_DAYS as u64))
        .ok_or("a first day")?;
    let reservations: i64 = sqlx::query_scalar(
        "WITH spans AS (
             SELECT u.id AS unit_id, u.product_id,
                    $2 + (k * 4 + u.id % 3) * interval '1 day' + (u.id % 9) * interval '1 hour'
                       AS starts_at,
                    1 + (k + u.id) % 3 AS days
               FROM units u, generate_series(0, ($3 * 2) / 4) AS k),
         placed AS (
             SELECT *, starts_at + days * interval '1 day' AS ends_at,
                    CASE WHEN starts_at + days * interval '1 day' < $4 - interval '1 day' THEN 'returned'
                         WHEN starts_at <= $4 THEN 'picked_up'
                         ELSE 'confirmed' END AS state,
                    row_number() OVER () AS n
               FROM spans),
         new_orders AS (
             INSERT INTO orders (customer_id, state, confirmed_at)
             SELECT $1, 'confirmed', now() FROM placed
             RETURNING id),
         numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM new_orders),
         inserted AS (
             INSERT INTO reservations (order_id, product_id, unit_id, starts_at, ends_at, during,
                                       state, rental_total, deposit, picked_up_at, returned_at,
                                       return_condition)
             SELECT o.id, p.product_id, p.unit_id, p.starts_at, p.ends_at,
                    tstzrange(p.starts_at, p.ends_at), p.state, 20 * p.days, 0,
                    CASE WHEN p.state <> 'confirmed' THEN p.starts_at END,
                    CASE WHEN p.state = 'returned' THEN p.ends_at END,
                    CASE WHEN p.state = 'returned' THEN 'ok' END
               FROM placed p JOIN numbered o USING (n)
             RETURNING 1)
         SELECT count(*) FROM inserted",
    )
    .bind(customer)
    .bind(first)
    .bind(HISTORY_DAYS)
    .bind(now)
    .fetch_one(pool)
    .await?;
    sqlx::raw_sql("ANALYZE").execute(pool).await?;
    Ok(reservations)
}

/// The server's router with every layer, as `main` builds it (no listener).
fn router(pool: &PgPool) -> BenchResult<axum::Router> {
    let config = server::config::Config::from_lookup(|_| None)?;
    let catalog = app::ssr::catalog_cache::CatalogCache::empty();
    let cache_dir = std::env::temp_dir().join(format!("rentwise-bench-{}", std::process::id()));
    Ok(server::http::router(
        server::http::AppState {
            leptos_options: server::leptos_options(&config),
            shop: server::shop_context(&config, pool.clone(), catalog),
            images: server::images::ImageCache::open(
                cache_dir,
                server::images::ImageSettings::default(),
            )?,
        },
        &server::http::HttpSettings::default(),
        server::observability::ObservabilityState::new(
            server::observability::Metrics::started_at(Instant::now()),
            pool.clone(),
            std::env::temp_dir(),
        ),
    ))
}

/// A staff account, signed in through the real sign-in function; its session cookie.
async fn staff_cookie(router: &axum::Router, pool: &PgPool) -> BenchResult<String> {
    app::ssr::accounts::create_user(pool, STAFF_EMAIL, "Bench Staff", STAFF_PASSWORD, true)
        .await
        .map_err(|err| format!("create the staff account: {err:?}"))?;
    let body = format!(
        "email={}&password={}",
        STAFF_EMAIL.replace('@', "%40"),
        STAFF_PASSWORD.replace(' ', "+")
    );
    let request = Request::post("/api/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))?;
    let response = router.clone().oneshot(request).await?;
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("rentwise_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| format!("signing in answered {} with no session", response.status()).into())
}

fn print_times(times: &mut [f64]) {
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "  runs {}  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  mean {:.2} ms",
        times.len(),
        percentile(times, 0.50),
        percentile(times, 0.90),
        percentile(times, 0.99),
        percentile(times, 1.0),
        mean
    );
}
