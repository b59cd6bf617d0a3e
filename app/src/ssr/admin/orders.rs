//! Orders as staff read them: the filtered, paginated list, and one order with every line,
//! what may be done with each, the customer and the whole history (who did what, when).

use super::offset;
use crate::admin::model::{
    AdminLine, AdminOrderRow, AdminOrderView, CustomerRef, ReturnCondition, ADMIN_PAGE_SIZE,
};
use crate::admin::query::CheckedOrderFilter;
use crate::domain::order_state::OrderState;
use crate::domain::period::{format_local, human_duration};
use crate::model::OrderEventView;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
struct ListRow {
    number: String,
    state: String,
    customer_name: String,
    customer_email: String,
    items: String,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    total: Decimal,
    is_late: bool,
    total_count: i64,
}

/// Midnight at the start of shop-local `day`.
fn day_start(day: chrono::NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    crate::domain::period::parse_local(&day.to_string(), "00:00", tz).ok()
}

/// The orders that match `filter` (carts included when asked for by state), newest pickup
/// first, one page of them, and how many match in all. `customer_id` narrows to one customer.
pub async fn list(
    pool: &PgPool,
    filter: &CheckedOrderFilter,
    customer_id: Option<i64>,
    tz: Tz,
) -> Result<(Vec<AdminOrderRow>, i64), sqlx::Error> {
    let from = filter.from.and_then(|d| day_start(d, tz));
    let to = filter.to.and_then(|d| day_start(d.succ_opt()?, tz));
    let rows: Vec<ListRow> = sqlx::query_as(
        "SELECT o.number, o.state, COALESCE(u.name, '') AS customer_name,
                COALESCE(u.email, '') AS customer_email,
                string_agg(p.name, ', ' ORDER BY r.starts_at, r.id) AS items,
                min(r.starts_at) AS starts, max(r.ends_at) AS ends,
                o.rental_total + o.deposit + o.late_fee AS total,
                bool_or(r.state = 'picked_up' AND r.ends_at < now()) AS is_late,
                count(*) OVER () AS total_count
           FROM orders o LEFT JOIN users u ON u.id = o.customer_id
           JOIN reservations r ON r.order_id = o.id AND (r.state <> 'expired' OR o.state = 'held')
           JOIN products p ON p.id = r.product_id
          WHERE ($1::text IS NULL OR o.state = $1)
            AND ($4::text IS NULL OR u.name ILIKE $4 OR u.email ILIKE $4 OR o.number ILIKE $4)
            AND ($8::bigint IS NULL OR o.customer_id = $8)
          GROUP BY o.id, u.id
         HAVING ($2::timestamptz IS NULL OR min(r.starts_at) >= $2)
            AND ($3::timestamptz IS NULL OR min(r.starts_at) < $3)
            AND (NOT $5 OR bool_or(r.state = 'picked_up' AND r.ends_at < now()))
          ORDER BY min(r.starts_at) DESC, o.id DESC
          LIMIT $6 OFFSET $7",
    )
    .bind(filter.state.map(OrderState::as_str))
    .bind(from)
    .bind(to)
    .bind(filter.customer.as_deref().map(super::like_pattern))
    .bind(filter.late)
    .bind(i64::from(ADMIN_PAGE_SIZE))
    .bind(offset(filter.page, ADMIN_PAGE_SIZE))
    .bind(customer_id)
    .fetch_all(pool)
    .await?;
    let total = rows.first().map_or(0, |r| r.total_count);
    let rows = rows
        .into_iter()
        .map(|r| AdminOrderRow {
            number: r.number,
            state_label: OrderState::parse(&r.state)
                .map_or("?", OrderState::label)
                .to_owned(),
            customer_name: r.customer_name,
            customer_email: r.customer_email,
            items: r.items,
            starts: format_local(r.starts, tz),
            ends: format_local(r.ends, tz),
            total: r.total,
            is_late: r.is_late,
        })
        .collect();
    Ok((rows, total))
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: i64,
    number: String,
    state: String,
    rental_total: Decimal,
    deposit: Decimal,
    late_fee: Decimal,
    customer_id: Option<i64>,
    customer_name: Option<String>,
    customer_email: Option<String>,
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    product_name: String,
    product_slug: String,
    unit_label: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    state: String,
    picked_up_at: Option<DateTime<Utc>>,
    returned_at: Option<DateTime<Utc>>,
    return_condition: Option<String>,
    return_note: String,
    late_fee: Decimal,
    rental_total: Decimal,
    other_units: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    at: DateTime<Utc>,
    actor: String,
    actor_name: Option<String>,
    from_state: Option<String>,
    to_state: String,
    note: String,
}

fn line_label(state: &str) -> String {
    match state {
        "expired" => "Hold expired".to_owned(),
        other => OrderState::parse(other)
            .map_or("?", OrderState::label)
            .to_owned(),
    }
}

/// One order by number, for staff; `None` when there is none.
pub async fn order(
    pool: &PgPool,
    number: &str,
    tz: Tz,
    currency: &str,
) -> Result<Option<AdminOrderView>, sqlx::Error> {
    let row: Option<OrderRow> = sqlx::query_as(
        "SELECT o.id, o.number, o.state, o.rental_total, o.deposit, o.late_fee,
                u.id AS customer_id, u.name AS customer_name, u.email AS customer_email
           FROM orders o LEFT JOIN users u ON u.id = o.customer_id WHERE o.number = $1",
    )
    .bind(number)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let lines: Vec<LineRow> = sqlx::query_as(
        "SELECT r.id, p.name AS product_name, p.slug AS product_slug, u.label AS unit_label,
                r.starts_at, r.ends_at, r.state, r.picked_up_at, r.returned_at,
                r.return_condition, r.return_note, r.late_fee, r.rental_total,
                ARRAY(SELECT o.label FROM units o
                       WHERE r.state = 'confirmed' AND o.product_id = r.product_id
                         AND o.id <> r.unit_id AND o.status = 'available'
                         AND NOT EXISTS (SELECT 1 FROM reservations x
                                          WHERE x.unit_id = o.id AND x.during && r.during
                                            AND (x.state IN ('confirmed', 'picked_up')
                                                 OR (x.state = 'held' AND x.held_until > now())))
                       ORDER BY o.label LIMIT 20) AS other_units
           FROM reservations r JOIN products p ON p.id = r.product_id JOIN units u ON u.id = r.unit_id
          WHERE r.order_id = $1 AND (r.state <> 'expired' OR $2)
          ORDER BY r.starts_at, r.id",
    )
    .bind(row.id)
    .bind(row.state == "held")
    .fetch_all(pool)
    .await?;
    let events: Vec<EventRow> = sqlx::query_as(
        "SELECT e.at, e.actor, u.name AS actor_name, e.from_state, e.to_state, e.note
           FROM order_events e LEFT JOIN users u ON u.id = e.actor_id
          WHERE e.order_id = $1 ORDER BY e.at, e.id",
    )
    .bind(row.id)
    .fetch_all(pool)
    .await?;
    let now = Utc::now();
    let state = OrderState::parse(&row.state).unwrap_or(OrderState::Cancelled);
    let nothing_out = lines
        .iter()
        .all(|l| l.picked_up_at.is_none() && l.state != "picked_up");
    let lines: Vec<AdminLine> = lines
        .into_iter()
        .map(|l| AdminLine {
            reservation_id: l.id,
            late_by: (l.state == "picked_up" && now > l.ends_at)
                .then(|| human_duration(now - l.ends_at)),
            can_pick_up: l.state == "confirmed",
            can_return: l.state == "picked_up",
            state_label: line_label(&l.state),
            product_name: l.product_name,
            product_slug: l.product_slug,
            unit_label: l.unit_label,
            starts: format_local(l.starts_at, tz),
            ends: format_local(l.ends_at, tz),
            state: l.state,
            picked_up_at: l.picked_up_at.map(|t| format_local(t, tz)),
            returned_at: l.returned_at.map(|t| format_local(t, tz)),
            return_condition: l
                .return_condition
                .as_deref()
                .and_then(ReturnCondition::parse)
                .map(|c| c.label().to_owned()),
            return_note: l.return_note,
            late_fee: l.late_fee,
            rental_total: l.rental_total,
            other_units: l.other_units,
        })
        .collect();
    let customer = match (row.customer_id, row.customer_name, row.customer_email) {
        (Some(id), Some(name), Some(email)) => Some(CustomerRef { id, name, email }),
        _ => None,
    };
    Ok(Some(AdminOrderView {
        number: row.number,
        state: row.state.clone(),
        state_label: state.label().to_owned(),
        is_late: lines.iter().any(|l| l.late_by.is_some()),
        can_confirm: state == OrderState::Held && customer.is_some() && !lines.is_empty(),
        can_cancel: matches!(state, OrderState::Held | OrderState::Confirmed) && nothing_out,
        customer,
        lines,
        rental_total: row.rental_total,
        deposit: row.deposit,
        late_fee: row.late_fee,
        total_due: row.rental_total + row.deposit + row.late_fee,
        events: events
            .into_iter()
            .map(|e| OrderEventView {
                at: format_local(e.at, tz),
                actor: match e.actor_name {
                    Some(name) => format!("{} ({name})", e.actor),
                    None => e.actor,
                },
                from_state: e.from_state.map(|s| line_label(&s)),
                to_state: line_label(&e.to_state),
                note: e.note,
            })
            .collect(),
        currency: currency.to_owned(),
    }))
}
