//! The dashboard's figures: today's pickups and returns, late rentals, holds about to run out,
//! and the KPIs with their charts (revenue per day this month, utilisation per category this
//! week). Days, weeks and months are the shop's, in its time zone.

use crate::admin::model::{ChartPoint, CounterLine, DashboardView, ExpiringHold};
use crate::domain::period::{format_local, human_duration};
use crate::domain::utilisation::{midnight, month_of, utilisation_percent, week_of};
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;

/// Holds that run out within this many minutes are shown.
pub const EXPIRING_WITHIN_MINUTES: i64 = 10;
/// Longest list shown per counter section.
const LIST_LIMIT: i64 = 100;

#[derive(sqlx::FromRow)]
struct LineRow {
    order_number: String,
    customer_name: String,
    product_name: String,
    unit_label: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

const LINES: &str = "SELECT o.number AS order_number, COALESCE(c.name, '') AS customer_name,
        p.name AS product_name, u.label AS unit_label, r.starts_at, r.ends_at
   FROM reservations r JOIN orders o ON o.id = r.order_id LEFT JOIN users c ON c.id = o.customer_id
   JOIN products p ON p.id = r.product_id JOIN units u ON u.id = r.unit_id";

async fn lines(
    pool: &PgPool,
    condition: &str,
    order: &str,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{LINES} WHERE {condition} ORDER BY {order}, r.id LIMIT {LIST_LIMIT}"
    ))
    .bind(a)
    .bind(b)
    .fetch_all(pool)
    .await
}

fn counter_lines(rows: Vec<LineRow>, now: DateTime<Utc>, tz: Tz) -> Vec<CounterLine> {
    rows.into_iter()
        .map(|r| CounterLine {
            late_by: (now > r.ends_at).then(|| human_duration(now - r.ends_at)),
            order_number: r.order_number,
            customer_name: r.customer_name,
            product_name: r.product_name,
            unit_label: r.unit_label,
            starts: format_local(r.starts_at, tz),
            ends: format_local(r.ends_at, tz),
        })
        .collect()
}

/// Everything the dashboard shows, as of `now`.
pub async fn dashboard(
    pool: &PgPool,
    now: DateTime<Utc>,
    tz: Tz,
    currency: &str,
) -> Result<DashboardView, sqlx::Error> {
    let today = now.with_timezone(&tz).date_naive();
    let tomorrow = today.checked_add_days(Days::new(1)).unwrap_or(today);
    let end_of_today = midnight(tomorrow, tz).unwrap_or(now);
    let pickups = lines(
        pool,
        "r.state = 'confirmed' AND r.starts_at < $2 AND r.ends_at > $1",
        "r.starts_at",
        now,
        end_of_today,
    )
    .await?;
    let returns = lines(
        pool,
        "r.state = 'picked_up' AND r.ends_at >= $1 AND r.ends_at < $2",
        "r.ends_at",
        now,
        end_of_today,
    )
    .await?;
    let late = lines(
        pool,
        "r.state = 'picked_up' AND r.ends_at < least($1, $2)",
        "r.ends_at",
        now,
        now,
    )
    .await?;
    let holds: Vec<(String, String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT o.number, COALESCE(c.name, 'a visitor'), p.name, u.label, r.held_until
           FROM reservations r JOIN orders o ON o.id = r.order_id LEFT JOIN users c ON c.id = o.customer_id
           JOIN products p ON p.id = r.product_id JOIN units u ON u.id = r.unit_id
          WHERE r.state = 'held' AND r.held_until > $1
            AND r.held_until <= $1 + make_interval(mins => $2)
          ORDER BY r.held_until, r.id LIMIT 100",
    )
    .bind(now)
    .bind(i32::try_from(EXPIRING_WITHIN_MINUTES).unwrap_or(10))
    .fetch_all(pool)
    .await?;
    let (active_rentals, units_in_maintenance, bookings_on_blocked_units): (i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM reservations WHERE state = 'picked_up'),
                    (SELECT count(*) FROM units WHERE status = 'maintenance'),
                    (SELECT count(*) FROM reservations r JOIN units u ON u.id = r.unit_id
                      WHERE r.state = 'confirmed' AND u.status <> 'available'
                        AND upper(r.during) > $1)",
        )
        .bind(now)
        .fetch_one(pool)
        .await?;
    let (revenue_by_day, revenue_month) = revenue(pool, today, tz).await?;
    let (utilisation_by_category, utilisation_week) = utilisation(pool, today, tz).await?;
    let month_title = today.format("%B %Y").to_string();
    Ok(DashboardView {
        today: today.format("%A %-d %B %Y").to_string(),
        pickups: counter_lines(pickups, now, tz),
        returns: counter_lines(returns, now, tz),
        late: counter_lines(late, now, tz),
        expiring_holds: holds
            .into_iter()
            .map(|(number, customer, product, unit, until)| ExpiringHold {
                order_number: number,
                customer_name: customer,
                product_name: product,
                unit_label: unit,
                minutes_left: ((until - now).num_seconds() + 59) / 60,
            })
            .collect(),
        active_rentals,
        utilisation_week,
        revenue_month,
        units_in_maintenance,
        bookings_on_blocked_units,
        revenue_by_day,
        utilisation_by_category,
        month_title,
        currency: currency.to_owned(),
    })
}

/// Revenue per shop-local day of `today`'s month: the rental of lines handed out that day plus
/// late fees of lines taken back that day; and the month's total.
async fn revenue(
    pool: &PgPool,
    today: NaiveDate,
    tz: Tz,
) -> Result<(Vec<ChartPoint>, Decimal), sqlx::Error> {
    let Some((first, next)) = month_of(today) else {
        return Ok((Vec::new(), Decimal::ZERO));
    };
    let last = next.pred_opt().unwrap_or(first);
    let rows: Vec<(NaiveDate, Decimal)> = sqlx::query_as(
        "SELECT d::date,
                COALESCE((SELECT sum(rental_total) FROM reservations
                           WHERE picked_up_at >= (d::date)::timestamp AT TIME ZONE $3
                             AND picked_up_at < (d::date + 1)::timestamp AT TIME ZONE $3), 0)
              + COALESCE((SELECT sum(late_fee) FROM reservations
                           WHERE returned_at >= (d::date)::timestamp AT TIME ZONE $3
                             AND returned_at < (d::date + 1)::timestamp AT TIME ZONE $3), 0)
           FROM generate_series($1::date, $2::date, interval '1 day') AS d
          ORDER BY 1",
    )
    .bind(first)
    .bind(last)
    .bind(tz.name())
    .fetch_all(pool)
    .await?;
    let total = rows.iter().map(|(_, v)| *v).sum();
    let points = rows
        .into_iter()
        .map(|(day, value)| ChartPoint {
            label: day.format("%-d").to_string(),
            value,
        })
        .collect();
    Ok((points, total))
}

/// Booked share of each category's units (not retired) over `today`'s Monday-to-Sunday week,
/// and of all units together.
async fn utilisation(
    pool: &PgPool,
    today: NaiveDate,
    tz: Tz,
) -> Result<(Vec<ChartPoint>, Decimal), sqlx::Error> {
    let Some((start, end)) = week_of(today, tz) else {
        return Ok((Vec::new(), Decimal::ZERO));
    };
    let window = (end - start).num_seconds();
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "WITH fleet AS (
             SELECT p.category_id, count(*) AS units FROM units u JOIN products p ON p.id = u.product_id
              WHERE u.status <> 'retired' GROUP BY p.category_id),
         booked AS (
             SELECT p.category_id,
                    sum(extract(epoch FROM least(r.ends_at, $2) - greatest(r.starts_at, $1)))::bigint AS secs
               FROM reservations r JOIN products p ON p.id = r.product_id
              WHERE r.state IN ('confirmed', 'picked_up', 'returned')
                AND r.starts_at < $2 AND r.ends_at > $1
              GROUP BY p.category_id)
         SELECT c.name, COALESCE(f.units, 0), COALESCE(b.secs, 0)
           FROM categories c LEFT JOIN fleet f ON f.category_id = c.id
           LEFT JOIN booked b ON b.category_id = c.id
          WHERE COALESCE(f.units, 0) > 0
          ORDER BY c.position, c.name",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await?;
    let (units, secs) = rows
        .iter()
        .fold((0, 0), |(u, s), (_, units, secs)| (u + units, s + secs));
    let points = rows
        .into_iter()
        .map(|(name, units, secs)| ChartPoint {
            label: name,
            value: utilisation_percent(secs, units, window),
        })
        .collect();
    Ok((points, utilisation_percent(secs, units, window)))
}
