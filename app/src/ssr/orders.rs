//! Reading orders for their customer: the cart, one order with its lines and history, and
//! "My rentals". Times are formatted here, in the shop's zone, never in the browser.

use crate::domain::order_state::{customer_cancel_refusal, is_late, OrderState};
use crate::domain::period::format_local;
use crate::domain::pricing::QuoteLine;
use crate::model::{MyRentals, OrderEventView, OrderLineView, OrderSummary, OrderView};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    number: String,
    state: String,
    rental_total: Decimal,
    deposit: Decimal,
    late_fee: Decimal,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    product_slug: String,
    product_name: String,
    unit_label: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    state: String,
    held_until: Option<DateTime<Utc>>,
    price_lines: serde_json::Value,
    rental_total: Decimal,
    deposit: Decimal,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    at: DateTime<Utc>,
    actor: String,
    from_state: Option<String>,
    to_state: String,
    note: String,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    number: String,
    state: String,
    items: String,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    total_due: Decimal,
}

/// Which lines of an order to show: a cart shows its expired holds too (they are booked
/// again at confirmation); other orders show what was booked.
const LINES: &str =
    "SELECT r.id, p.slug AS product_slug, p.name AS product_name, u.label AS unit_label,
        r.starts_at, r.ends_at, r.state, r.held_until, r.price_lines, r.rental_total, r.deposit
   FROM reservations r JOIN products p ON p.id = r.product_id JOIN units u ON u.id = r.unit_id
  WHERE r.order_id = $1 AND (r.state <> 'expired' OR $2) AND (r.state <> 'cancelled' OR NOT $2)
  ORDER BY r.starts_at, r.id";

/// The cart of this browser, if it holds anything.
pub async fn cart(
    pool: &PgPool,
    token: Uuid,
    tz: Tz,
    currency: &str,
) -> Result<Option<OrderView>, sqlx::Error> {
    let row: Option<OrderRow> = sqlx::query_as(
        "SELECT id, number, state, rental_total, deposit, late_fee FROM orders
          WHERE cart_token = $1 AND state = 'held'",
    )
    .bind(token)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let view = order_view(pool, row, tz, currency, true).await?;
    Ok(Some(view).filter(|v| !v.lines.is_empty()))
}

/// An order of `customer_id` by number; `None` for anyone else's (a 404 that leaks nothing).
pub async fn customer_order(
    pool: &PgPool,
    number: &str,
    customer_id: i64,
    tz: Tz,
    currency: &str,
) -> Result<Option<OrderView>, sqlx::Error> {
    let row: Option<OrderRow> = sqlx::query_as(
        "SELECT id, number, state, rental_total, deposit, late_fee FROM orders
          WHERE number = $1 AND customer_id = $2 AND state <> 'held'",
    )
    .bind(number)
    .bind(customer_id)
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(Some(order_view(pool, row, tz, currency, false).await?)),
        None => Ok(None),
    }
}

async fn order_view(
    pool: &PgPool,
    row: OrderRow,
    tz: Tz,
    currency: &str,
    is_cart: bool,
) -> Result<OrderView, sqlx::Error> {
    let now = Utc::now();
    let lines: Vec<LineRow> = sqlx::query_as(LINES)
        .bind(row.id)
        .bind(is_cart)
        .fetch_all(pool)
        .await?;
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT at, actor, from_state, to_state, note FROM order_events WHERE order_id = $1 ORDER BY at, id",
    )
    .bind(row.id)
    .fetch_all(pool)
    .await?;
    let state = OrderState::parse(&row.state).unwrap_or(OrderState::Held);
    let first_start = lines.iter().map(|l| l.starts_at).min().unwrap_or(now);
    let last_end = lines.iter().map(|l| l.ends_at).max().unwrap_or(now);
    let earliest_hold = lines
        .iter()
        .filter(|l| l.state == "held")
        .filter_map(|l| l.held_until)
        .min();
    let label = |s: &str| {
        OrderState::parse(s)
            .map_or("Hold expired", OrderState::label)
            .to_owned()
    };
    Ok(OrderView {
        number: row.number,
        state: row.state.clone(),
        state_label: state.label().to_owned(),
        lines: lines
            .into_iter()
            .map(|l| OrderLineView {
                reservation_id: l.id,
                product_slug: l.product_slug,
                product_name: l.product_name,
                unit_label: l.unit_label,
                starts: format_local(l.starts_at, tz),
                ends: format_local(l.ends_at, tz),
                state: label(&l.state),
                price_lines: serde_json::from_value::<Vec<QuoteLine>>(l.price_lines)
                    .unwrap_or_default(),
                rental_total: l.rental_total,
                deposit: l.deposit,
            })
            .collect(),
        rental_total: row.rental_total,
        deposit: row.deposit,
        late_fee: row.late_fee,
        total_due: row.rental_total + row.deposit + row.late_fee,
        currency: currency.to_owned(),
        hold_expires: is_cart
            .then(|| earliest_hold.map(|t| format_local(t, tz)))
            .flatten(),
        hold_seconds_left: is_cart
            .then(|| earliest_hold.map(|t| (t - now).num_seconds().max(0)))
            .flatten(),
        is_late: is_late(state, last_end, now),
        cancel_refusal: customer_cancel_refusal(state, first_start, now),
        events: events
            .into_iter()
            .map(|e| OrderEventView {
                at: format_local(e.at, tz),
                actor: e.actor,
                from_state: e.from_state.map(|s| label(&s)),
                to_state: label(&e.to_state),
                note: e.note,
            })
            .collect(),
    })
}

/// The customer's orders, split into upcoming, active (picked up) and past.
pub async fn my_rentals(
    pool: &PgPool,
    customer_id: i64,
    tz: Tz,
    currency: &str,
) -> Result<MyRentals, sqlx::Error> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT o.number, o.state, string_agg(p.name, ', ' ORDER BY r.starts_at) AS items,
                min(r.starts_at) AS starts, max(r.ends_at) AS ends,
                o.rental_total + o.deposit + o.late_fee AS total_due
           FROM orders o JOIN reservations r ON r.order_id = o.id AND r.state <> 'expired'
           JOIN products p ON p.id = r.product_id
          WHERE o.customer_id = $1 AND o.state <> 'held'
          GROUP BY o.id ORDER BY min(r.starts_at) DESC
          LIMIT 500",
    )
    .bind(customer_id)
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    let mut rentals = MyRentals {
        upcoming: Vec::new(),
        active: Vec::new(),
        past: Vec::new(),
        currency: currency.to_owned(),
    };
    for row in rows {
        let state = OrderState::parse(&row.state).unwrap_or(OrderState::Cancelled);
        let summary = OrderSummary {
            number: row.number,
            state_label: state.label().to_owned(),
            items: row.items,
            starts: format_local(row.starts, tz),
            ends: format_local(row.ends, tz),
            total_due: row.total_due,
            is_late: is_late(state, row.ends, now),
        };
        match state {
            OrderState::Confirmed | OrderState::Held => rentals.upcoming.push(summary),
            OrderState::PickedUp => rentals.active.push(summary),
            OrderState::Returned | OrderState::Cancelled => rentals.past.push(summary),
        }
    }
    // Upcoming reads soonest first.
    rentals.upcoming.reverse();
    Ok(rentals)
}
