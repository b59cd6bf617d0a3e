//! How many units are free: for one period, for each day of a month (one query), and which
//! products have a unit free for a period (the catalog's date filter). Holds count until
//! their time runs out, whether or not the sweep has marked them expired yet.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::postgres::types::PgRange;
use sqlx::PgConnection;

/// A reservation that still blocks its unit.
const BLOCKING: &str =
    "r.state IN ('confirmed', 'picked_up') OR (r.state = 'held' AND r.held_until > now())";

/// Units of `product_id` that are bookable and free throughout `during` (buffers included).
pub async fn free_units(
    conn: &mut PgConnection,
    product_id: i64,
    during: &PgRange<DateTime<Utc>>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM units u
          WHERE u.product_id = $1 AND u.status = 'available'
            AND NOT EXISTS (SELECT 1 FROM reservations r
                             WHERE r.unit_id = u.id AND ({BLOCKING}) AND r.during && $2)"
    ))
    .bind(product_id)
    .bind(during)
    .fetch_one(&mut *conn)
    .await
}

/// Free units of a product on each shop-local day from `first` to `last` inclusive: a unit is
/// free on a day when nothing blocks it at any moment of that day. One query for the month;
/// only reservations that touch the month are read (the index of `reservations_no_overlap`),
/// so the cost does not grow with the product's history.
pub async fn daily_free_units(
    conn: &mut PgConnection,
    product_id: i64,
    first: NaiveDate,
    last: NaiveDate,
    tz: Tz,
) -> Result<Vec<(NaiveDate, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "WITH days AS (
             SELECT d::date AS day,
                    tstzrange((d::date)::timestamp AT TIME ZONE $4,
                              (d::date + 1)::timestamp AT TIME ZONE $4) AS span
               FROM generate_series($2::date, $3::date, interval '1 day') AS d),
         units_of AS (
             SELECT id FROM units WHERE product_id = $1 AND status = 'available'),
         busy AS (
             SELECT days.day, count(DISTINCT r.unit_id) AS units
               FROM days JOIN reservations r
                 ON r.during && days.span AND r.product_id = $1
                AND r.unit_id IN (SELECT id FROM units_of) AND ({BLOCKING})
                AND r.during && tstzrange($2::date::timestamp AT TIME ZONE $4,
                                          ($3::date + 1)::timestamp AT TIME ZONE $4)
              GROUP BY days.day)
         SELECT days.day, (SELECT count(*) FROM units_of) - COALESCE(busy.units, 0)
           FROM days LEFT JOIN busy USING (day)
          ORDER BY days.day"
    ))
    .bind(product_id)
    .bind(first)
    .bind(last)
    .bind(tz.name())
    .fetch_all(&mut *conn)
    .await
}

/// Bookable units of a product (for "n of m free").
pub async fn bookable_units(conn: &mut PgConnection, product_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM units WHERE product_id = $1 AND status = 'available'")
        .bind(product_id)
        .fetch_one(&mut *conn)
        .await
}

/// Slugs of published products with a unit free from `start` to `end`, each product's own
/// buffers included.
pub async fn products_free_between(
    conn: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT p.slug FROM products p
          WHERE p.published AND EXISTS (
                SELECT 1 FROM units u
                 WHERE u.product_id = p.id AND u.status = 'available'
                   AND NOT EXISTS (
                       SELECT 1 FROM reservations r
                        WHERE r.unit_id = u.id AND ({BLOCKING})
                          AND r.during && tstzrange($1 - make_interval(mins => p.buffer_before_minutes),
                                                    $2 + make_interval(mins => p.buffer_after_minutes))))"
    ))
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await
}
