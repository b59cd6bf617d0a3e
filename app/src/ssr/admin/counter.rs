//! The counter: handing a unit out (by its scanned label, another free unit of the same product
//! if that is the one on the shelf), taking it back with its condition and the late fee, and
//! staff confirming or cancelling an order. Each change is one transaction with its history.

use super::units::{block_unit, UnitBlock, UnitError};
use crate::admin::model::{ReturnCondition, ReturnPreview};
use crate::domain::late_fee::{late_fee, LateFee, LateFeePolicy};
use crate::domain::order_state::OrderState;
use crate::domain::period::{format_local, human_duration};
use crate::money::format_money;
use crate::ssr::booking::{
    cancel_locked, is_overlap, lock_unit, record_event, Actor, BookingError, Cancelled, Customer,
    ShopDetails,
};
use crate::ssr::outbox::OrderMail;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};

/// A return is confirmed for the time its fee was shown at; a preview older than this must be
/// looked at again.
pub const RETURN_PREVIEW_MINUTES: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    /// The person must correct one form field.
    #[error("{message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error("We couldn't find that order line.")]
    UnknownLine,
    #[error(transparent)]
    Booking(#[from] BookingError),
    #[error(transparent)]
    Unit(#[from] UnitError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn field(field: &'static str, message: impl Into<String>) -> CounterError {
    CounterError::Field {
        field,
        message: message.into(),
    }
}

#[derive(sqlx::FromRow)]
struct LineRow {
    id: i64,
    order_id: i64,
    order_number: String,
    order_state: String,
    product_id: i64,
    product_name: String,
    unit_id: i64,
    unit_label: String,
    unit_status: String,
    state: String,
    ends_at: DateTime<Utc>,
    picked_up_at: Option<DateTime<Utc>>,
    late_grace_minutes: i32,
    late_fee_hourly: Option<Decimal>,
    late_fee_daily: Option<Decimal>,
}

/// Reads one line with its order, product and unit; `lock` locks the line and its order.
async fn line(conn: &mut PgConnection, id: i64, lock: bool) -> Result<LineRow, CounterError> {
    let sql = format!(
        "SELECT r.id, r.order_id, o.number AS order_number, o.state AS order_state, r.product_id,
                p.name AS product_name, r.unit_id, u.label AS unit_label, u.status AS unit_status,
                r.state, r.ends_at, r.picked_up_at, p.late_grace_minutes,
                p.late_fee_hourly, p.late_fee_daily
           FROM reservations r JOIN orders o ON o.id = r.order_id
           JOIN products p ON p.id = r.product_id JOIN units u ON u.id = r.unit_id
          WHERE r.id = $1 {}",
        if lock { "FOR UPDATE OF r, o" } else { "" }
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(CounterError::UnknownLine)
}

fn state_of(text: &str) -> OrderState {
    OrderState::parse(text).unwrap_or(OrderState::Cancelled)
}

/// Hands out the unit whose label staff scanned or typed for line `reservation_id`. A label of
/// another free, bookable unit of the same product moves the booking to that unit first (the
/// exclusion constraint still decides). Handing out early claims the unit from now on, which
/// PostgreSQL refuses when another booking has it until then.
pub async fn pick_up(
    pool: &PgPool,
    staff_id: i64,
    reservation_id: i64,
    scanned: &str,
) -> Result<String, CounterError> {
    let scanned = scanned.trim();
    if scanned.is_empty() {
        return Err(field(
            "unit",
            "Scan or type the label on the unit you hand out.",
        ));
    }
    let mut tx = pool.begin().await?;
    let row = line(&mut tx, reservation_id, true).await?;
    if row.state != "confirmed" {
        return Err(CounterError::Refused(format!(
            "This line is not waiting for pickup (it is {}).",
            state_of(&row.state).label().to_lowercase()
        )));
    }
    let unit_id = if row.unit_label.eq_ignore_ascii_case(scanned) {
        if row.unit_status != "available" {
            return Err(field(
                "unit",
                format!(
                    "Unit {} is {}: hand out another {} and scan its label.",
                    row.unit_label, row.unit_status, row.product_name
                ),
            ));
        }
        row.unit_id
    } else {
        switch_unit(&mut tx, &row, scanned).await?
    };
    lock_unit(&mut tx, unit_id).await?;
    let handed_out: Result<_, sqlx::Error> = sqlx::query(
        "UPDATE reservations SET state = 'picked_up', picked_up_at = now(), picked_up_by = $2,
                during = tstzrange(least(lower(during), now()), upper(during))
          WHERE id = $1",
    )
    .bind(row.id)
    .bind(staff_id)
    .execute(&mut *tx)
    .await;
    match handed_out {
        Err(err) if is_overlap(&err) => {
            return Err(field(
                "unit",
                "This unit is booked by someone else until the rental starts; hand it out at the booked time or choose another unit.",
            ))
        }
        other => other?,
    };
    let label: String = sqlx::query_scalar("SELECT label FROM units WHERE id = $1")
        .bind(unit_id)
        .fetch_one(&mut *tx)
        .await?;
    let from = state_of(&row.order_state);
    if from == OrderState::Confirmed {
        sqlx::query("UPDATE orders SET state = 'picked_up', updated_at = now() WHERE id = $1")
            .bind(row.order_id)
            .execute(&mut *tx)
            .await?;
    }
    let note = format!("{} unit {label} handed out", row.product_name);
    let to = OrderState::PickedUp;
    record_event(
        &mut tx,
        row.order_id,
        Some(staff_id),
        "staff",
        Some(from),
        to,
        &note,
    )
    .await?;
    tx.commit().await?;
    Ok(label)
}

/// Moves the locked line to the unit labelled `scanned`, when that is a bookable unit of the
/// same product that is free for the line. Returns the unit's id.
async fn switch_unit(
    tx: &mut PgConnection,
    row: &LineRow,
    scanned: &str,
) -> Result<i64, CounterError> {
    let unit: Option<(i64, i64, String, String, String)> = sqlx::query_as(
        "SELECT u.id, u.product_id, u.label, u.status, p.name FROM units u
           JOIN products p ON p.id = u.product_id WHERE lower(u.label) = lower($1)",
    )
    .bind(scanned)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((unit_id, product_id, label, status, product)) = unit else {
        return Err(field("unit", format!("No unit has the label {scanned}.")));
    };
    if product_id != row.product_id {
        return Err(field(
            "unit",
            format!("Unit {label} is a {product}, not a {}.", row.product_name),
        ));
    }
    if status != "available" {
        return Err(field("unit", format!("Unit {label} is {status}.")));
    }
    lock_unit(tx, unit_id).await?;
    let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
    let moved = sqlx::query("UPDATE reservations SET unit_id = $2 WHERE id = $1")
        .bind(row.id)
        .bind(unit_id)
        .execute(&mut *savepoint)
        .await;
    match moved {
        Ok(_) => savepoint.commit().await?,
        Err(err) if is_overlap(&err) => {
            savepoint.rollback().await?;
            return Err(field(
                "unit",
                format!("Unit {label} is booked by someone else for these dates."),
            ));
        }
        Err(err) => return Err(err.into()),
    }
    Ok(unit_id)
}

fn policy(row: &LineRow) -> LateFeePolicy {
    LateFeePolicy {
        grace: Duration::minutes(i64::from(row.late_grace_minutes)),
        hourly: row.late_fee_hourly,
        daily: row.late_fee_daily,
        cap: None,
    }
}

/// "3 started hours × €5.00" for a fee that charges something.
fn explain(fee: &LateFee, policy: &LateFeePolicy, currency: &str) -> String {
    let plural =
        |n: u32, unit: &str| format!("{n} started {unit}{}", if n == 1 { "" } else { "s" });
    match (fee.charged_hours, fee.charged_days) {
        (0, 0) => String::new(),
        (hours, 0) => format!(
            "{} × {}",
            plural(hours, "hour"),
            format_money(policy.hourly.unwrap_or_default(), currency)
        ),
        (_, days) => format!(
            "{} × {}",
            plural(days, "day"),
            format_money(policy.daily.unwrap_or_default(), currency)
        ),
    }
}

/// What returning line `reservation_id` at `at` would charge.
pub async fn preview_return(
    pool: &PgPool,
    reservation_id: i64,
    at: DateTime<Utc>,
    tz: Tz,
    currency: &str,
) -> Result<ReturnPreview, CounterError> {
    let mut conn = pool.acquire().await?;
    let row = line(&mut conn, reservation_id, false).await?;
    if row.state != "picked_up" {
        return Err(CounterError::Refused(
            "This line is not out with a customer.".to_owned(),
        ));
    }
    let policy = policy(&row);
    let fee = late_fee(&policy, row.ends_at, at, tz);
    Ok(ReturnPreview {
        reservation_id,
        product_name: row.product_name,
        unit_label: row.unit_label,
        returned_at: at.to_rfc3339(),
        returned_at_label: format_local(at, tz),
        due: format_local(row.ends_at, tz),
        late_by: (!fee.late_by.is_zero()).then(|| human_duration(fee.late_by)),
        explanation: explain(&fee, &policy, currency),
        fee: fee.amount,
    })
}

/// What staff record when a unit comes back.
#[derive(Debug, Clone)]
pub struct ReturnReport<'a> {
    pub reservation_id: i64,
    pub condition: ReturnCondition,
    pub note: &'a str,
    /// The time the fee was shown for (the preview's `returned_at`).
    pub returned_at: DateTime<Utc>,
}

/// Takes line `report.reservation_id` back at the previewed time, charges its late fee, and
/// puts a unit that came back dirty or damaged in maintenance (moving its later bookings to
/// other units where it can). Returns the fee.
pub async fn take_back(
    pool: &PgPool,
    staff_id: i64,
    report: &ReturnReport<'_>,
    now: DateTime<Utc>,
    shop: &ShopDetails,
) -> Result<Decimal, CounterError> {
    let at = report.returned_at;
    if at > now + Duration::minutes(1) || at < now - Duration::minutes(RETURN_PREVIEW_MINUTES) {
        return Err(CounterError::Refused(
            "The late fee shown is out of date. Please check the return again.".to_owned(),
        ));
    }
    if report.note.chars().count() > 1000 {
        return Err(field(
            "note",
            "Please keep the note under 1,000 characters.",
        ));
    }
    if report.condition.needs_maintenance() && report.note.trim().is_empty() {
        return Err(field(
            "note",
            "Please say what needs doing, so whoever repairs or cleans it knows.",
        ));
    }
    let mut tx = pool.begin().await?;
    let row = line(&mut tx, report.reservation_id, true).await?;
    if row.state != "picked_up" {
        return Err(CounterError::Refused(
            "This line is not out with a customer.".to_owned(),
        ));
    }
    let at = at.max(row.picked_up_at.unwrap_or(at));
    let fee = late_fee(&policy(&row), row.ends_at, at, shop.tz);
    sqlx::query(
        "UPDATE reservations SET state = 'returned', returned_at = $2, returned_by = $3,
                return_condition = $4, return_note = $5, late_fee = $6
          WHERE id = $1",
    )
    .bind(row.id)
    .bind(at)
    .bind(staff_id)
    .bind(report.condition.as_str())
    .bind(report.note.trim())
    .bind(fee.amount)
    .execute(&mut *tx)
    .await?;
    if report.condition.needs_maintenance() {
        let reason = format!(
            "{} on return of {}: {}",
            report.condition.label(),
            row.order_number,
            report.note.trim()
        );
        let block = UnitBlock {
            unit_id: row.unit_id,
            status: "maintenance",
            note: &reason,
            now,
        };
        block_unit(&mut tx, staff_id, &block).await?;
    }
    let still_out: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reservations WHERE order_id = $1 AND state IN ('confirmed', 'picked_up')",
    )
    .bind(row.order_id)
    .fetch_one(&mut *tx)
    .await?;
    let to = if still_out == 0 {
        OrderState::Returned
    } else {
        OrderState::PickedUp
    };
    sqlx::query(
        "UPDATE orders SET state = $2, updated_at = now(),
                late_fee = (SELECT COALESCE(sum(late_fee), 0) FROM reservations WHERE order_id = $1)
          WHERE id = $1",
    )
    .bind(row.order_id)
    .bind(to.as_str())
    .execute(&mut *tx)
    .await?;
    let mut note = format!(
        "{} unit {} returned: {}",
        row.product_name,
        row.unit_label,
        report.condition.label()
    );
    if !report.note.trim().is_empty() {
        note.push_str(&format!(" ({})", report.note.trim()));
    }
    if fee.amount > Decimal::ZERO {
        note.push_str(&format!(
            ". Late by {}: {}",
            human_duration(fee.late_by),
            format_money(fee.amount, &shop.currency)
        ));
    }
    let from = Some(state_of(&row.order_state));
    record_event(
        &mut tx,
        row.order_id,
        Some(staff_id),
        "staff",
        from,
        to,
        &note,
    )
    .await?;
    tx.commit().await?;
    Ok(fee.amount)
}

/// Staff confirm a customer's cart (a booking taken by phone, say).
pub async fn confirm_for_customer(
    pool: &PgPool,
    staff_id: i64,
    number: &str,
    shop: &ShopDetails,
    mail: &dyn OrderMail,
) -> Result<(), CounterError> {
    type CartRow = (
        Option<uuid::Uuid>,
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let found: Option<CartRow> = sqlx::query_as(
        "SELECT o.cart_token, o.state, u.id, u.name, u.email FROM orders o
               LEFT JOIN users u ON u.id = o.customer_id WHERE o.number = $1",
    )
    .bind(number)
    .fetch_optional(pool)
    .await?;
    let Some((token, state, id, name, email)) = found else {
        return Err(BookingError::UnknownOrder.into());
    };
    let (Some(token), Some(id), Some(name), Some(email)) = (token, id, name, email) else {
        return Err(CounterError::Refused(if state == "held" {
            "This cart has no customer account yet; the customer must sign in first.".to_owned()
        } else {
            "Only an order that is still a cart can be confirmed.".to_owned()
        }));
    };
    let customer = Customer { id, name, email };
    let by = Actor::Staff(staff_id);
    crate::ssr::booking::confirm_cart_by(pool, token, &customer, by, shop, mail).await?;
    Ok(())
}

/// Staff cancel an order that nothing has been handed out of yet, with a reason.
pub async fn cancel_by_staff(
    pool: &PgPool,
    staff_id: i64,
    number: &str,
    reason: &str,
    shop: &ShopDetails,
    mail: &dyn OrderMail,
) -> Result<(), CounterError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(field(
            "reason",
            "Please give the reason for cancelling (up to 500 characters); the customer is told.",
        ));
    }
    let mut tx = pool.begin().await?;
    type Row = (
        i64,
        String,
        Option<DateTime<Utc>>,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let found: Option<Row> = sqlx::query_as(
        "SELECT o.id, o.state, (SELECT min(starts_at) FROM reservations r
                                 WHERE r.order_id = o.id AND r.state <> 'expired'),
                u.id, u.name, u.email
           FROM orders o LEFT JOIN users u ON u.id = o.customer_id
          WHERE o.number = $1 FOR UPDATE OF o",
    )
    .bind(number)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((order_id, state, first_start, id, name, email)) = found else {
        return Err(BookingError::UnknownOrder.into());
    };
    let state = state_of(&state);
    if !matches!(state, OrderState::Held | OrderState::Confirmed) {
        return Err(CounterError::Refused(format!(
            "An order that is {} cannot be cancelled.",
            state.label().to_lowercase()
        )));
    }
    let customer = match (id, name, email) {
        (Some(id), Some(name), Some(email)) => Some(Customer { id, name, email }),
        _ => None,
    };
    let cancelled = Cancelled {
        order_id,
        number,
        state,
        first_start: first_start.unwrap_or_else(Utc::now),
    };
    let by = Actor::Staff(staff_id);
    cancel_locked(
        &mut tx,
        &cancelled,
        by,
        customer.as_ref(),
        reason,
        shop,
        mail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
