//! Booking against real PostgreSQL: the exclusion constraint under concurrent holds, holds
//! that run out, buffers, prices on DST days, the confirmation email inside the booking's own
//! transaction, and cancelling.

mod common;

use app::domain::period::{parse_local, RentalPeriod};
use app::ssr::availability::free_units;
use app::ssr::booking::{self, blocked_range, BookingError, Customer, Hold, Holder, ShopDetails};
use app::ssr::outbox::{EnqueueFuture, OrderEmail, OrderMail};
use app::ssr::terms::ProductTerms;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use server::mail::QueuedOrderMail;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

const TZ: Tz = chrono_tz::Europe::Brussels;
const DAY_PRICE: i64 = 20;

/// A published product with tiers of 5 an hour, 20 a day and 100 a week, a deposit of 50 and
/// `units` bookable units.
async fn rental_product(
    pool: &PgPool,
    slug: &str,
    units: i64,
    buffer_before_minutes: i32,
    buffer_after_minutes: i32,
) -> ProductTerms {
    let category: i64 = sqlx::query_scalar(
        "INSERT INTO categories (slug, name) VALUES ('tools', 'Tools')
         ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .fetch_one(pool)
    .await
    .expect("insert the category");
    let product: i64 = sqlx::query_scalar(
        "INSERT INTO products (category_id, slug, name, daily_price, deposit, published,
                               min_rental_minutes, buffer_before_minutes, buffer_after_minutes)
         VALUES ($1, $2, $2, $3, 50, true, 60, $4, $5) RETURNING id",
    )
    .bind(category)
    .bind(slug)
    .bind(Decimal::from(DAY_PRICE))
    .bind(buffer_before_minutes)
    .bind(buffer_after_minutes)
    .fetch_one(pool)
    .await
    .expect("insert the product");
    sqlx::query(
        "INSERT INTO price_tiers (product_id, label, unit, length, price)
         VALUES ($1, 'Per hour', 'hour', 1, 5), ($1, 'Per day', 'day', 1, $2),
                ($1, 'Per week', 'week', 1, 100)",
    )
    .bind(product)
    .bind(Decimal::from(DAY_PRICE))
    .execute(pool)
    .await
    .expect("insert the price tiers");
    sqlx::query(
        "INSERT INTO units (product_id, label)
         SELECT $1, $2 || '-' || n FROM generate_series(1, $3) AS n",
    )
    .bind(product)
    .bind(slug)
    .bind(units)
    .execute(pool)
    .await
    .expect("insert the units");
    let mut conn = pool.acquire().await.expect("a connection");
    ProductTerms::by_id(&mut conn, product)
        .await
        .expect("read the terms")
        .expect("the product was just inserted")
}

async fn customer(pool: &PgPool, name: &str) -> Customer {
    let email = format!("{name}@example.com");
    let id = sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash) VALUES ($1, $2, 'not-a-hash') RETURNING id",
    )
    .bind(&email)
    .bind(name)
    .fetch_one(pool)
    .await
    .expect("insert the customer");
    Customer {
        id,
        name: name.to_owned(),
        email,
    }
}

fn shop() -> ShopDetails {
    ShopDetails {
        tz: TZ,
        currency: "EUR".to_owned(),
        pickup_address: "Rue de la Loi 1, Brussels".to_owned(),
        opening_hours: "Mon–Sat 9:00–18:00".to_owned(),
    }
}

/// Shop-local wall time, e.g. `local("2027-05-10", "10:00")`.
fn local(date: &str, time: &str) -> DateTime<Utc> {
    parse_local(date, time, TZ).expect("a valid local date and time")
}

fn period(start: DateTime<Utc>, end: DateTime<Utc>) -> RentalPeriod {
    RentalPeriod { start, end }
}

/// A period starting on the hour `days` from now, lasting `hours`.
fn days_ahead(days: i64, hours: i64) -> RentalPeriod {
    let now = Utc::now().timestamp();
    let start = DateTime::from_timestamp(now - now % 3600, 0).expect("now is representable")
        + Duration::days(days);
    period(start, start + Duration::hours(hours))
}

/// Holds `period` in the cart `cart` for `hold`.
async fn hold_in(
    pool: &PgPool,
    terms: &ProductTerms,
    period: RentalPeriod,
    cart: Uuid,
    hold: Duration,
) -> Result<Hold, BookingError> {
    let holder = Holder {
        cart_token: cart,
        customer_id: None,
    };
    booking::place_hold(pool, TZ, terms, period, holder, hold, None).await
}

async fn hold(
    pool: &PgPool,
    terms: &ProductTerms,
    period: RentalPeriod,
) -> Result<Hold, BookingError> {
    hold_in(pool, terms, period, Uuid::new_v4(), Duration::minutes(15)).await
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count query")
}

async fn count_for(pool: &PgPool, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count query")
}

async fn reservation_state(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM reservations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("the reservation exists")
}

async fn free(pool: &PgPool, terms: &ProductTerms, period: &RentalPeriod) -> i64 {
    let mut conn = pool.acquire().await.expect("a connection");
    free_units(&mut conn, terms.id, &blocked_range(terms, period))
        .await
        .expect("count free units")
}

/// `n` holds of the same period, each in its own cart, released together by a barrier on a
/// pool with a warm connection for each.
async fn concurrent_holds(
    connect: PgConnectOptions,
    units: i64,
    n: usize,
) -> (PgPool, ProductTerms, Vec<Result<Hold, BookingError>>) {
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(n).expect("a small number of bookers"))
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect_with(connect)
        .await
        .expect("connect to the test database");
    let terms = rental_product(&pool, "ladder", units, 0, 60).await;
    let mut warm = Vec::new();
    for _ in 0..n {
        warm.push(pool.acquire().await.expect("a connection"));
    }
    drop(warm);
    let wanted = period(local("2027-05-10", "10:00"), local("2027-05-12", "10:00"));
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (pool, terms, barrier) = (pool.clone(), terms.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                hold(&pool, &terms, wanted).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("the booking task does not panic"));
    }
    (pool, terms, results)
}

/// Winning holds; panics on any outcome other than a hold or `Unavailable`.
fn winners(results: Vec<Result<Hold, BookingError>>) -> Vec<Hold> {
    let mut won = Vec::new();
    for result in results {
        match result {
            Ok(hold) => won.push(hold),
            Err(BookingError::Unavailable) => {}
            Err(other) => {
                panic!("a booking failed with something other than Unavailable: {other:?}")
            }
        }
    }
    won
}

const ACTIVE_ON_PRODUCT: &str = "SELECT count(*) FROM reservations
    WHERE product_id = $1 AND state IN ('held', 'confirmed', 'picked_up')";

#[sqlx::test(migrations = "../migrations")]
async fn fifty_bookers_of_the_last_unit_one_wins(_: PgPoolOptions, connect: PgConnectOptions) {
    let (pool, terms, results) = concurrent_holds(connect, 1, 50).await;
    assert_eq!(results.len(), 50);
    let won = winners(results);
    assert_eq!(won.len(), 1, "exactly one of 50 bookers gets the only unit");
    assert_eq!(count_for(&pool, ACTIVE_ON_PRODUCT, terms.id).await, 1);
    let on_unit = count_for(
        &pool,
        "SELECT count(*) FROM reservations WHERE unit_id = $1 AND state = 'held'",
        won[0].unit_id,
    )
    .await;
    assert_eq!(on_unit, 1);
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn twenty_bookers_of_three_units_three_win_on_distinct_units(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let (pool, terms, results) = concurrent_holds(connect, 3, 20).await;
    let won = winners(results);
    assert_eq!(
        won.len(),
        3,
        "exactly as many bookers win as there are units"
    );
    let units: BTreeSet<i64> = won.iter().map(|h| h.unit_id).collect();
    assert_eq!(
        units.len(),
        3,
        "each winner has a unit of their own: {won:?}"
    );
    assert_eq!(count_for(&pool, ACTIVE_ON_PRODUCT, terms.id).await, 3);
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_hold_that_ran_out_frees_its_unit_before_the_sweep(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "drill", 1, 0, 60).await;
    let wanted = period(local("2027-05-10", "10:00"), local("2027-05-10", "16:00"));
    let first = hold_in(
        &pool,
        &terms,
        wanted,
        Uuid::new_v4(),
        Duration::milliseconds(1),
    )
    .await
    .expect("the first hold");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(reservation_state(&pool, first.reservation_id).await, "held");
    assert_eq!(
        free(&pool, &terms, &wanted).await,
        1,
        "a hold that ran out blocks nothing"
    );

    let second = hold(&pool, &terms, wanted)
        .await
        .expect("the unit is free again");
    assert_eq!(second.unit_id, first.unit_id);
    assert_eq!(
        reservation_state(&pool, first.reservation_id).await,
        "expired"
    );
    assert_eq!(
        free(&pool, &terms, &wanted).await,
        0,
        "the new hold blocks the unit"
    );
    assert_eq!(booking::expire_holds(&pool).await.expect("sweep"), 0);
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn the_sweep_expires_only_holds_that_ran_out(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "saw", 2, 0, 60).await;
    let wanted = period(local("2027-05-10", "10:00"), local("2027-05-10", "16:00"));
    // The long hold first: a booking itself expires the holds that ran out in its way.
    let long = hold(&pool, &terms, wanted).await.expect("the long hold");
    let short = hold_in(
        &pool,
        &terms,
        wanted,
        Uuid::new_v4(),
        Duration::milliseconds(1),
    )
    .await
    .expect("the short hold");
    assert_ne!(short.unit_id, long.unit_id);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;

    assert_eq!(booking::expire_holds(&pool).await.expect("sweep"), 1);
    assert_eq!(
        reservation_state(&pool, short.reservation_id).await,
        "expired"
    );
    assert_eq!(reservation_state(&pool, long.reservation_id).await, "held");
    let again = hold(&pool, &terms, wanted).await.expect("the swept unit");
    assert_eq!(again.unit_id, short.unit_id);
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn the_buffer_after_blocks_the_next_hour(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "trailer", 1, 0, 60).await;
    let morning = period(local("2027-05-10", "10:00"), local("2027-05-10", "12:00"));
    hold(&pool, &terms, morning)
        .await
        .expect("the morning rental");

    let too_soon = period(local("2027-05-10", "12:30"), local("2027-05-10", "14:00"));
    assert!(matches!(
        hold(&pool, &terms, too_soon).await,
        Err(BookingError::Unavailable)
    ));
    assert_eq!(free(&pool, &terms, &too_soon).await, 0);

    let after_buffer = period(local("2027-05-10", "13:00"), local("2027-05-10", "15:00"));
    assert_eq!(free(&pool, &terms, &after_buffer).await, 1);
    hold(&pool, &terms, after_buffer)
        .await
        .expect("a rental starting when the buffer ends");
    assert_eq!(count_for(&pool, ACTIVE_ON_PRODUCT, terms.id).await, 2);
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_dst_day_costs_one_day(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "camera", 1, 0, 0).await;
    for (from, to, hours) in [
        ("2027-03-28", "2027-03-29", 23),
        ("2027-10-31", "2027-11-01", 25),
    ] {
        let day = period(local(from, "00:00"), local(to, "00:00"));
        assert_eq!(
            day.duration(),
            Duration::hours(hours),
            "{from} is a DST day"
        );
        let held = hold(&pool, &terms, day).await.expect("the DST day");
        let total: Decimal =
            sqlx::query_scalar("SELECT rental_total FROM reservations WHERE id = $1")
                .bind(held.reservation_id)
                .fetch_one(&pool)
                .await
                .expect("the reservation");
        assert_eq!(total, Decimal::from(DAY_PRICE), "{from} costs one day");
    }
    pool.close().await;
}

/// Enqueues like the server does, then fails: the booking's transaction must roll back.
struct MailThatFailsAfterEnqueue;

impl OrderMail for MailThatFailsAfterEnqueue {
    fn enqueue<'a>(&'a self, conn: &'a mut PgConnection, email: OrderEmail) -> EnqueueFuture<'a> {
        Box::pin(async move {
            QueuedOrderMail.enqueue(conn, email).await?;
            Err("the mail step failed after enqueueing".to_owned())
        })
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rolled_back_confirmation_leaves_no_email(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "tent", 1, 0, 60).await;
    let ann = customer(&pool, "ann").await;
    let cart = Uuid::new_v4();
    let held = hold_in(
        &pool,
        &terms,
        days_ahead(10, 24),
        cart,
        Duration::minutes(15),
    )
    .await
    .expect("the hold");

    let failed =
        booking::confirm_cart(&pool, cart, &ann, &shop(), &MailThatFailsAfterEnqueue).await;
    assert!(matches!(failed, Err(BookingError::Mail(_))), "{failed:?}");
    let email_jobs = "SELECT count(*) FROM jobs WHERE kind = 'email'";
    assert_eq!(count(&pool, email_jobs).await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM emails").await, 0);
    assert_eq!(reservation_state(&pool, held.reservation_id).await, "held");
    let order_state: String = sqlx::query_scalar("SELECT state FROM orders WHERE id = $1")
        .bind(held.order_id)
        .fetch_one(&pool)
        .await
        .expect("the order");
    assert_eq!(order_state, "held");
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_confirmation_enqueues_one_email(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "tent", 1, 0, 60).await;
    let ann = customer(&pool, "ann").await;
    let cart = Uuid::new_v4();
    let held = hold_in(
        &pool,
        &terms,
        days_ahead(10, 24),
        cart,
        Duration::minutes(15),
    )
    .await
    .expect("the hold");

    let number = booking::confirm_cart(&pool, cart, &ann, &shop(), &QueuedOrderMail)
        .await
        .expect("the confirmation");
    assert_eq!(
        reservation_state(&pool, held.reservation_id).await,
        "confirmed"
    );
    let emails: Vec<(String, String)> = sqlx::query_as(
        "SELECT payload->>'kind', payload->>'message_id' FROM jobs WHERE kind = 'email'",
    )
    .fetch_all(&pool)
    .await
    .expect("email jobs");
    assert_eq!(
        emails,
        [(
            "booking_confirmation".to_owned(),
            format!("<booking_confirmation-{number}@rentwise.local>")
        )]
    );
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_owner_cancels_and_cancelling_frees_the_unit(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "kayak", 1, 0, 60).await;
    let (ann, bob) = (customer(&pool, "ann").await, customer(&pool, "bob").await);
    let wanted = days_ahead(10, 48);
    let cart = Uuid::new_v4();
    let held = hold_in(&pool, &terms, wanted, cart, Duration::minutes(15))
        .await
        .expect("the hold");
    let number = booking::confirm_cart(&pool, cart, &ann, &shop(), &QueuedOrderMail)
        .await
        .expect("the confirmation");

    let now = Utc::now();
    let by_bob =
        booking::cancel_by_customer(&pool, &number, &bob, &shop(), &QueuedOrderMail, now).await;
    assert!(
        matches!(by_bob, Err(BookingError::UnknownOrder)),
        "{by_bob:?}"
    );
    assert_eq!(
        reservation_state(&pool, held.reservation_id).await,
        "confirmed"
    );
    assert_eq!(free(&pool, &terms, &wanted).await, 0);

    booking::cancel_by_customer(&pool, &number, &ann, &shop(), &QueuedOrderMail, now)
        .await
        .expect("ann cancels her own order");
    assert_eq!(
        reservation_state(&pool, held.reservation_id).await,
        "cancelled"
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT payload->>'kind' FROM jobs WHERE kind = 'email' ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("email jobs");
    assert_eq!(kinds, ["booking_confirmation", "cancellation"]);
    assert_eq!(free(&pool, &terms, &wanted).await, 1);
    let again = hold(&pool, &terms, wanted).await.expect("the freed unit");
    assert_eq!(again.unit_id, held.unit_id);
    pool.close().await;
}
