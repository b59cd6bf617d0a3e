//! Booking against real PostgreSQL: the exclusion constraint under concurrent holds, holds
//! that run out, buffers, prices on DST days and the month calendar.

mod booking_fixtures;
mod common;

use app::ssr::availability::daily_free_units;
use app::ssr::booking::{self, BookingError, Hold};
use app::ssr::terms::ProductTerms;
use booking_fixtures::*;
use chrono::Duration;
use rust_decimal::Decimal;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::Barrier;
use uuid::Uuid;

/// Admits one many-connection test at a time: together the 50-, 24- and 20-booker tests would
/// pass PostgreSQL's default limit of 100 connections on a busy CI machine.
static MANY_CONNECTIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

type Turn = tokio::sync::MutexGuard<'static, ()>;

/// A pool with a warm connection for each of `n` bookers, and this test's turn to hold them
/// (keep it until the pool is closed).
async fn bookers_pool(connect: PgConnectOptions, n: usize) -> (PgPool, Turn) {
    let turn = MANY_CONNECTIONS.lock().await;
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(n).expect("a small number of bookers"))
        .acquire_timeout(std::time::Duration::from_secs(30))
        .connect_with(connect)
        .await
        .expect("connect to the test database");
    let mut warm = Vec::new();
    for _ in 0..n {
        warm.push(pool.acquire().await.expect("a connection"));
    }
    drop(warm);
    (pool, turn)
}

/// `n` holds of the same period, each in its own cart, released together by a barrier.
async fn concurrent_holds(
    connect: PgConnectOptions,
    units: i64,
    n: usize,
) -> (PgPool, ProductTerms, Vec<Result<Hold, BookingError>>, Turn) {
    let (pool, turn) = bookers_pool(connect, n).await;
    let terms = rental_product(&pool, "ladder", units, 0, 60).await;
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
    (pool, terms, results, turn)
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

#[sqlx::test(migrations = "../migrations")]
async fn fifty_bookers_of_the_last_unit_one_wins(_: PgPoolOptions, connect: PgConnectOptions) {
    let (pool, terms, results, _turn) = concurrent_holds(connect, 1, 50).await;
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
    let (pool, terms, results, _turn) = concurrent_holds(connect, 3, 20).await;
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

/// Bookers whose periods overlap in many ways: two inserts of overlapping rows at the same
/// moment deadlock in the exclusion check, which must end as a hold or `Unavailable`.
#[sqlx::test(migrations = "../migrations")]
async fn bookers_of_overlapping_periods_get_a_hold_or_unavailable(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    const BOOKERS: usize = 24;
    let (pool, _turn) = bookers_pool(connect, BOOKERS).await;
    let terms = rental_product(&pool, "scaffold", 4, 0, 60).await;
    let base = local("2027-05-10", "00:00");
    let barrier = Arc::new(Barrier::new(BOOKERS));
    let tasks: Vec<_> = (0..BOOKERS)
        .map(|booker| {
            let (pool, terms, barrier) = (pool.clone(), terms.clone(), barrier.clone());
            tokio::spawn(async move {
                let mut rng = fastrand::Rng::with_seed(booker as u64);
                barrier.wait().await;
                let mut results = Vec::new();
                for _ in 0..20 {
                    let start = base + Duration::hours(rng.i64(0..14 * 24));
                    let wanted = period(start, start + Duration::hours(rng.i64(4..48)));
                    results.push(hold(&pool, &terms, wanted).await);
                }
                results
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.extend(task.await.expect("the booking task does not panic"));
    }
    let won = winners(results).len();
    assert!(
        won > 0 && won < BOOKERS * 20,
        "some holds win, some find no unit: {won}"
    );
    assert_eq!(
        count_for(&pool, ACTIVE_ON_PRODUCT, terms.id).await,
        won as i64
    );
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

#[sqlx::test(migrations = "../migrations")]
async fn the_month_calendar_counts_rentals_across_its_edges(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "canoe", 2, 0, 0).await;
    for (from, to) in [
        (("2027-05-31", "20:00"), ("2027-06-01", "00:00")), // ends as June begins
        (("2027-05-30", "10:00"), ("2027-06-02", "10:00")), // from May into June
        (("2027-06-30", "22:00"), ("2027-07-01", "02:00")), // from June into July
        (("2027-07-01", "00:00"), ("2027-07-01", "02:00")), // after June
    ] {
        let rental = period(local(from.0, from.1), local(to.0, to.1));
        hold(&pool, &terms, rental).await.expect("a free unit");
    }
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2027, 6, d).expect("a June day");
    let mut conn = pool.acquire().await.expect("a connection");
    let days = daily_free_units(&mut conn, terms.id, day(1), day(30), TZ)
        .await
        .expect("the calendar");
    assert_eq!(days.len(), 30);
    let free_on = |d: u32| days[d as usize - 1];
    assert_eq!(free_on(1), (day(1), 1));
    assert_eq!(free_on(2), (day(2), 1));
    assert_eq!(free_on(3), (day(3), 2));
    assert_eq!(free_on(29), (day(29), 2));
    assert_eq!(free_on(30), (day(30), 1));
    drop(conn);
    pool.close().await;
}
