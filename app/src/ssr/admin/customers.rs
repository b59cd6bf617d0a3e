//! Customers as staff look them up: the searchable, paginated list with their order counts,
//! and one customer with every order (through the orders list, narrowed to them).

use super::offset;
use crate::admin::model::CustomerRow;
use crate::admin::model::ADMIN_PAGE_SIZE;
use crate::domain::period::format_local;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

/// One page of customers (a search matches name or email), newest first, and how many match.
pub async fn list(
    pool: &PgPool,
    search: Option<&str>,
    page: u32,
    tz: Tz,
) -> Result<(Vec<CustomerRow>, i64), sqlx::Error> {
    type Row = (i64, String, String, DateTime<Utc>, i64, Option<String>, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.created_at,
                (SELECT count(*) FROM orders o WHERE o.customer_id = u.id AND o.state <> 'held'),
                (SELECT o.number FROM orders o WHERE o.customer_id = u.id AND o.state <> 'held'
                  ORDER BY o.created_at DESC LIMIT 1),
                count(*) OVER ()
           FROM users u
          WHERE u.role = 'customer' AND ($1::text IS NULL OR u.name ILIKE $1 OR u.email ILIKE $1)
          ORDER BY u.created_at DESC, u.id DESC LIMIT $2 OFFSET $3",
    )
    .bind(search.map(super::like_pattern))
    .bind(i64::from(ADMIN_PAGE_SIZE))
    .bind(offset(page, ADMIN_PAGE_SIZE))
    .fetch_all(pool)
    .await?;
    let total = rows.first().map_or(0, |r| r.6);
    let rows = rows
        .into_iter()
        .map(
            |(id, name, email, joined, orders, last_order, _)| CustomerRow {
                id,
                name,
                email,
                joined: format_local(joined, tz),
                orders,
                last_order,
            },
        )
        .collect();
    Ok((rows, total))
}

/// A customer account by id (staff accounts are not customers).
pub async fn customer(pool: &PgPool, id: i64, tz: Tz) -> Result<Option<CustomerRow>, sqlx::Error> {
    let row: Option<(i64, String, String, DateTime<Utc>, i64)> = sqlx::query_as(
        "SELECT u.id, u.name, u.email, u.created_at,
                (SELECT count(*) FROM orders o WHERE o.customer_id = u.id AND o.state <> 'held')
           FROM users u WHERE u.id = $1 AND u.role = 'customer'",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(id, name, email, joined, orders)| CustomerRow {
        id,
        name,
        email,
        joined: format_local(joined, tz),
        orders,
        last_order: None,
    }))
}
