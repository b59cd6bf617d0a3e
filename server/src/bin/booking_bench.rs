//! Booking benchmark (not a timed test): in a throw-away database, the month calendar query
//! (`daily_free_units`) over 10,000 confirmed reservations, then `place_hold` latency with 32
//! concurrent bookers. Run with `--release`; DATABASE_URL names the server (any database on it);
//! `--plan` also prints the calendar query's plan.

use app::domain::period::RentalPeriod;
use app::ssr::availability::daily_free_units;
use app::ssr::booking::{place_hold, BookingError, Holder, DEFAULT_HOLD_MINUTES};
use app::ssr::terms::ProductTerms;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Row};
use std::sync::Arc;
use std::time::Instant;

mod bench_support;

use bench_support::{percentile, BenchResult};

const TZ: Tz = chrono_tz::Europe::Brussels;
const CALENDAR_UNITS: i64 = 20;
const RESERVATIONS: i64 = 10_000;
const CALENDAR_WARM_UP: usize = 20;
const CALENDAR_RUNS: usize = 200;
const BOOKERS: usize = 32;
const HOLDS_PER_BOOKER: usize = 50;
const BOOKING_UNITS: i64 = 16;
/// Bookers ask for random periods within this many days: most fit, some find no unit.
const BOOKING_WINDOW_DAYS: u32 = 240;

#[tokio::main]
async fn main() -> BenchResult<()> {
    bench_support::in_throwaway_database("rentwise_bench", run).await
}

async fn run(options: PgConnectOptions) -> BenchResult<()> {
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(BOOKERS)? + 4)
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect_with(options)
        .await?;
    server::database::migrate(&pool).await?;
    let category: i64 = sqlx::query_scalar(
        "INSERT INTO categories (slug, name) VALUES ('bench', 'Bench') RETURNING id",
    )
    .fetch_one(&pool)
    .await?;
    calendar(&pool, category).await?;
    println!();
    let errors = bookings(&pool, category).await?;
    pool.close().await;
    if errors > 0 {
        return Err(format!("{errors} bookings failed with an error").into());
    }
    Ok(())
}

/// A published product with the standard tiers and `units` units; returns its terms.
async fn product(
    pool: &PgPool,
    category: i64,
    slug: &str,
    units: i64,
) -> BenchResult<ProductTerms> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO products (category_id, slug, name, daily_price, published)
         VALUES ($1, $2, $2, 20, true) RETURNING id",
    )
    .bind(category)
    .bind(slug)
    .fetch_one(pool)
    .await?;
    sqlx::query(
        "INSERT INTO price_tiers (product_id, label, unit, length, price)
         VALUES ($1, 'Per hour', 'hour', 1, 5), ($1, 'Per day', 'day', 1, 20),
                ($1, 'Per week', 'week', 1, 100)",
    )
    .bind(id)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO units (product_id, label)
         SELECT $1, $2 || '-' || n FROM generate_series(1, $3) AS n",
    )
    .bind(id)
    .bind(slug)
    .bind(units)
    .execute(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    ProductTerms::by_id(&mut conn, id)
        .await?
        .ok_or_else(|| "the product just inserted is missing".into())
}

/// 10,000 confirmed rentals of 1 or 2 days, one every 3 days per unit from 2026-01-01 (about
/// four years), each in its own order, with the product's one-hour buffer after.
async fn insert_reservations(pool: &PgPool, terms: &ProductTerms) -> BenchResult<()> {
    let customer: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash)
         VALUES ('bench@example.com', 'Bench', 'not-a-hash') RETURNING id",
    )
    .fetch_one(pool)
    .await?;
    let first_start = Utc
        .with_ymd_and_hms(2026, 1, 1, 8, 0, 0)
        .single()
        .ok_or("a valid first start")?;
    sqlx::query(
        "WITH new_orders AS (
             INSERT INTO orders (customer_id, state, confirmed_at)
             SELECT $2, 'confirmed', now() FROM generate_series(1, $3)
             RETURNING id),
         numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM new_orders),
         unit_list AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k
                         FROM units WHERE product_id = $1),
         spans AS (
             SELECT o.id AS order_id, u.id AS unit_id, 1 + o.n % 2 AS days,
                    $5 + (o.n / $4) * interval '3 days' + (u.k % 3) * interval '1 day'
                       + (o.n % 7) * interval '1 hour' AS starts_at
               FROM numbered o JOIN unit_list u ON u.k = o.n % $4)
         INSERT INTO reservations (order_id, product_id, unit_id, starts_at, ends_at, during,
                                   state, rental_total, deposit)
         SELECT order_id, $1, unit_id, starts_at, starts_at + days * interval '1 day',
                tstzrange(starts_at, starts_at + days * interval '1 day'
                                     + make_interval(mins => $6)),
                'confirmed', 20 * days, 0
           FROM spans",
    )
    .bind(terms.id)
    .bind(customer)
    .bind(RESERVATIONS)
    .bind(CALENDAR_UNITS)
    .bind(first_start)
    .bind(terms.buffer_after_minutes)
    .execute(pool)
    .await?;
    sqlx::raw_sql("ANALYZE").execute(pool).await?;
    Ok(())
}

/// Times the month calendar of a product with 20 units and 10,000 reservations.
async fn calendar(pool: &PgPool, category: i64) -> BenchResult<()> {
    let terms = product(pool, category, "calendar", CALENDAR_UNITS).await?;
    let started = Instant::now();
    insert_reservations(pool, &terms).await?;
    eprintln!(
        "[booking_bench] inserted {RESERVATIONS} reservations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let first = NaiveDate::from_ymd_opt(2027, 6, 1).ok_or("a valid date")?;
    let last = NaiveDate::from_ymd_opt(2027, 6, 30).ok_or("a valid date")?;
    let mut conn = pool.acquire().await?;
    let mut days = Vec::new();
    for _ in 0..CALENDAR_WARM_UP {
        days = daily_free_units(&mut conn, terms.id, first, last, TZ).await?;
    }
    let mut timings = Vec::with_capacity(CALENDAR_RUNS);
    for _ in 0..CALENDAR_RUNS {
        let started = Instant::now();
        daily_free_units(&mut conn, terms.id, first, last, TZ).await?;
        timings.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let explained = explain_execution(&mut conn, terms.id, first, last).await?;
    let fully_free = days.iter().filter(|(_, n)| *n == CALENDAR_UNITS).count();
    println!(
        "## daily_free_units: {} days of June 2027, {CALENDAR_UNITS} units, {RESERVATIONS} reservations",
        days.len()
    );
    println!("(days with all units free: {fully_free}; {CALENDAR_WARM_UP} warm-up runs, then {CALENDAR_RUNS} timed on one connection)");
    println!();
    println!("| p50 ms | p99 ms | mean ms | EXPLAIN ANALYZE execution ms |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {:.2} | {:.2} | {:.2} | {} |",
        percentile(&mut timings, 0.50),
        percentile(&mut timings, 0.99),
        timings.iter().sum::<f64>() / timings.len().max(1) as f64,
        explained
    );
    Ok(())
}

/// EXPLAIN ANALYZE of the very statement `daily_free_units` prepared on this connection (found
/// in pg_prepared_statements), so the figure is for its SQL and plan, not a copy of it.
async fn explain_execution(
    conn: &mut PgConnection,
    product_id: i64,
    first: NaiveDate,
    last: NaiveDate,
) -> BenchResult<String> {
    let name: Option<String> = sqlx::query_scalar(
        "SELECT name FROM pg_prepared_statements
          WHERE statement LIKE '%WITH days AS%' AND statement NOT LIKE '%pg_prepared_statements%'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(name) = name else {
        return Ok("n/a (statement not found)".to_owned());
    };
    let rows = sqlx::raw_sql(&format!(
        "EXPLAIN ANALYZE EXECUTE {name}({product_id}, '{first}', '{last}', '{}')",
        TZ.name()
    ))
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        let line: String = row.try_get(0)?;
        if show_plan() {
            eprintln!("{line}");
        }
        if let Some(ms) = line.trim().strip_prefix("Execution Time: ") {
            return Ok(ms.trim_end_matches(" ms").to_owned());
        }
    }
    Ok("n/a (no Execution Time line)".to_owned())
}

#[derive(Default)]
struct BookerTally {
    latencies_ms: Vec<f64>,
    held: usize,
    unavailable: usize,
    errors: Vec<String>,
}

/// 32 bookers, each placing 50 holds one after another for random periods of 4 to 72 hours in
/// the 240 days from 2027-01-01, each hold in a fresh cart. Returns the number of errors.
async fn bookings(pool: &PgPool, category: i64) -> BenchResult<usize> {
    let terms = Arc::new(product(pool, category, "booking", BOOKING_UNITS).await?);
    // One open connection per booker, so the first calls do not pay for connecting.
    let mut warm = Vec::new();
    for _ in 0..BOOKERS {
        warm.push(pool.acquire().await?);
    }
    drop(warm);
    let base = Utc
        .with_ymd_and_hms(2027, 1, 1, 0, 0, 0)
        .single()
        .ok_or("a valid start")?;
    let barrier = Arc::new(tokio::sync::Barrier::new(BOOKERS));
    let started = Instant::now();
    let tasks: Vec<_> = (0..BOOKERS)
        .map(|booker| {
            let (pool, terms, barrier) = (pool.clone(), terms.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                book_many(&pool, &terms, base, booker as u64).await
            })
        })
        .collect();
    let mut all = BookerTally::default();
    for task in tasks {
        let tally = task.await?;
        all.latencies_ms.extend(tally.latencies_ms);
        all.held += tally.held;
        all.unavailable += tally.unavailable;
        all.errors.extend(tally.errors);
    }
    let seconds = started.elapsed().as_secs_f64();
    let calls = all.latencies_ms.len();
    println!("## place_hold: {BOOKERS} concurrent bookers × {HOLDS_PER_BOOKER} holds, {BOOKING_UNITS} units");
    println!();
    println!(
        "| calls | held | unavailable | errors | p50 ms | p99 ms | max ms | calls/s | holds/s |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {calls} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |",
        all.held,
        all.unavailable,
        all.errors.len(),
        percentile(&mut all.latencies_ms, 0.50),
        percentile(&mut all.latencies_ms, 0.99),
        percentile(&mut all.latencies_ms, 1.0),
        calls as f64 / seconds,
        all.held as f64 / seconds
    );
    for error in all.errors.iter().take(5) {
        println!("error: {error}");
    }
    Ok(all.errors.len())
}

async fn book_many(
    pool: &PgPool,
    terms: &ProductTerms,
    base: DateTime<Utc>,
    seed: u64,
) -> BookerTally {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut tally = BookerTally::default();
    for _ in 0..HOLDS_PER_BOOKER {
        let start = base + Duration::hours(i64::from(rng.u32(0..BOOKING_WINDOW_DAYS * 24)));
        let period = RentalPeriod {
            start,
            end: start + Duration::hours(i64::from(rng.u32(4..=72))),
        };
        let holder = Holder {
            cart_token: uuid::Uuid::new_v4(),
            customer_id: None,
        };
        let hold = Duration::minutes(DEFAULT_HOLD_MINUTES);
        let called = Instant::now();
        let outcome = place_hold(pool, TZ, terms, period, holder, hold, None).await;
        tally
            .latencies_ms
            .push(called.elapsed().as_secs_f64() * 1e3);
        match outcome {
            Ok(_) => tally.held += 1,
            Err(BookingError::Unavailable) => tally.unavailable += 1,
            Err(err) => tally.errors.push(err.to_string()),
        }
    }
    tally
}

/// `--plan` prints the calendar query's EXPLAIN ANALYZE to stderr.
fn show_plan() -> bool {
    std::env::args().any(|arg| arg == "--plan")
}
