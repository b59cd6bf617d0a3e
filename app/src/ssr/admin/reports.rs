//! The orders report: every booked order whose first pickup falls in a period of shop-local
//! days, with its amounts, as rows for the page's totals and for the CSV download.

use crate::admin::csv::CsvTable;
use crate::admin::model::ReportTotals;
use crate::domain::order_state::OrderState;
use crate::domain::period::format_local;
use crate::domain::utilisation::midnight;
use crate::money::format_money;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
struct Row {
    number: String,
    state: String,
    customer_name: Option<String>,
    customer_email: Option<String>,
    items: String,
    units: String,
    first_pickup: DateTime<Utc>,
    last_return: DateTime<Utc>,
    rental_total: Decimal,
    deposit: Decimal,
    late_fee: Decimal,
}

async fn rows(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> Result<Vec<Row>, sqlx::Error> {
    let start = midnight(from, tz);
    let end = to.succ_opt().and_then(|d| midnight(d, tz));
    sqlx::query_as(
        "SELECT o.number, o.state, u.name AS customer_name, u.email AS customer_email,
                string_agg(p.name, '; ' ORDER BY r.starts_at, r.id) AS items,
                string_agg(un.label, '; ' ORDER BY r.starts_at, r.id) AS units,
                min(r.starts_at) AS first_pickup, max(r.ends_at) AS last_return,
                o.rental_total, o.deposit, o.late_fee
           FROM orders o LEFT JOIN users u ON u.id = o.customer_id
           JOIN reservations r ON r.order_id = o.id AND r.state <> 'expired'
           JOIN products p ON p.id = r.product_id JOIN units un ON un.id = r.unit_id
          WHERE o.state <> 'held'
          GROUP BY o.id, u.id
         HAVING min(r.starts_at) >= $1 AND min(r.starts_at) < $2
          ORDER BY min(r.starts_at), o.id",
    )
    .bind(start)
    .bind(end)
    .fetch_all(pool)
    .await
}

/// The period's totals.
pub async fn totals(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
) -> Result<ReportTotals, sqlx::Error> {
    let rows = rows(pool, from, to, tz).await?;
    let booked = rows.iter().filter(|r| r.state != "cancelled");
    let rental: Decimal = booked.clone().map(|r| r.rental_total).sum();
    let late_fees: Decimal = booked.map(|r| r.late_fee).sum();
    Ok(ReportTotals {
        orders: i64::try_from(rows.len()).unwrap_or(i64::MAX),
        cancelled: i64::try_from(rows.iter().filter(|r| r.state == "cancelled").count())
            .unwrap_or(0),
        rental,
        late_fees,
        revenue: rental + late_fees,
    })
}

/// The period's orders as CSV (RFC 4180), one row per order and a total row.
pub async fn orders_csv(
    pool: &PgPool,
    from: NaiveDate,
    to: NaiveDate,
    tz: Tz,
    currency: &str,
) -> Result<String, sqlx::Error> {
    let rows = rows(pool, from, to, tz).await?;
    let mut table = CsvTable::new(&[
        "order",
        "state",
        "customer",
        "email",
        "items",
        "units",
        "first pickup",
        "last return",
        "currency",
        "rental",
        "deposit",
        "late fee",
        "revenue",
    ]);
    let mut revenue_total = Decimal::ZERO;
    for r in &rows {
        let cancelled = r.state == "cancelled";
        let revenue = if cancelled {
            Decimal::ZERO
        } else {
            r.rental_total + r.late_fee
        };
        revenue_total += revenue;
        table.row(&[
            r.number.clone(),
            OrderState::parse(&r.state)
                .map_or("?", OrderState::label)
                .to_owned(),
            r.customer_name.clone().unwrap_or_default(),
            r.customer_email.clone().unwrap_or_default(),
            r.items.clone(),
            r.units.clone(),
            format_local(r.first_pickup, tz),
            format_local(r.last_return, tz),
            currency.to_owned(),
            r.rental_total.round_dp(2).to_string(),
            r.deposit.round_dp(2).to_string(),
            r.late_fee.round_dp(2).to_string(),
            revenue.round_dp(2).to_string(),
        ]);
    }
    let label = format!(
        "Total {} to {} ({})",
        from,
        to,
        format_money(revenue_total, currency)
    );
    let mut total = vec![String::new(); 13];
    total[0] = label;
    total[8] = currency.to_owned();
    total[12] = revenue_total.round_dp(2).to_string();
    table.row(&total);
    Ok(table.finish())
}
