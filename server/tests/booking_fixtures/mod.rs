//! Test data and small helpers for the booking tests: a product with tiers and units, a
//! customer, the shop, shop-local times and holds.

// Each booking test binary uses a different part of these helpers.
#![allow(dead_code)]

use app::domain::period::{parse_local, RentalPeriod};
use app::ssr::availability::free_units;
use app::ssr::booking::{self, blocked_range, BookingError, Customer, Hold, Holder, ShopDetails};
use app::ssr::terms::ProductTerms;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

pub const TZ: Tz = chrono_tz::Europe::Brussels;
pub const DAY_PRICE: i64 = 20;

/// A published product with tiers of 5 an hour, 20 a day and 100 a week, a deposit of 50 and
/// `units` bookable units.
pub async fn rental_product(
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

pub async fn customer(pool: &PgPool, name: &str) -> Customer {
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

pub fn shop() -> ShopDetails {
    ShopDetails {
        tz: TZ,
        currency: "EUR".to_owned(),
        pickup_address: "Rue de la Loi 1, Brussels".to_owned(),
        opening_hours: "Mon–Sat 9:00–18:00".to_owned(),
    }
}

/// Shop-local wall time, e.g. `local("2027-05-10", "10:00")`.
pub fn local(date: &str, time: &str) -> DateTime<Utc> {
    parse_local(date, time, TZ).expect("a valid local date and time")
}

pub fn period(start: DateTime<Utc>, end: DateTime<Utc>) -> RentalPeriod {
    RentalPeriod { start, end }
}

/// A period starting on the hour `days` from now, lasting `hours`.
pub fn days_ahead(days: i64, hours: i64) -> RentalPeriod {
    let now = Utc::now().timestamp();
    let start = DateTime::from_timestamp(now - now % 3600, 0).expect("now is representable")
        + Duration::days(days);
    period(start, start + Duration::hours(hours))
}

/// Holds `period` in the cart `cart` for `hold`.
pub async fn hold_in(
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

pub async fn hold(
    pool: &PgPool,
    terms: &ProductTerms,
    period: RentalPeriod,
) -> Result<Hold, BookingError> {
    hold_in(pool, terms, period, Uuid::new_v4(), Duration::minutes(15)).await
}

pub async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count query")
}

pub async fn count_for(pool: &PgPool, sql: &str, id: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("count query")
}

pub async fn reservation_state(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM reservations WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("the reservation exists")
}

pub async fn free(pool: &PgPool, terms: &ProductTerms, period: &RentalPeriod) -> i64 {
    let mut conn = pool.acquire().await.expect("a connection");
    free_units(&mut conn, terms.id, &blocked_range(terms, period))
        .await
        .expect("count free units")
}

pub const ACTIVE_ON_PRODUCT: &str = "SELECT count(*) FROM reservations
    WHERE product_id = $1 AND state IN ('held', 'confirmed', 'picked_up')";

/// A staff member; returns the id.
pub async fn staff(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash, role) VALUES ('sam@shop.test', 'Sam', 'x', 'staff') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .expect("insert the staff member")
}

/// A confirmed booking of `period` on the product's first free unit; returns (number, line id).
pub async fn booked(
    pool: &PgPool,
    terms: &ProductTerms,
    period: RentalPeriod,
    who: &Customer,
) -> (String, i64) {
    let cart = Uuid::new_v4();
    let holder = Holder {
        cart_token: cart,
        customer_id: Some(who.id),
    };
    let held = booking::place_hold(pool, TZ, terms, period, holder, Duration::minutes(15), None)
        .await
        .expect("the hold");
    let number = booking::confirm_cart(pool, cart, who, &shop(), &server::mail::QueuedOrderMail)
        .await
        .expect("the confirmation");
    (number, held.reservation_id)
}
