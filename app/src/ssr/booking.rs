//! Holding, confirming and cancelling rentals. PostgreSQL guarantees that no unit is promised
//! twice (the `reservations_no_overlap` exclusion constraint); this module picks a free unit,
//! inserts, and on a conflict (SQLSTATE 23P01) tries the next free unit before giving up.

use super::outbox::{OrderEmail, OrderMail};
use super::terms::ProductTerms;
use crate::domain::order_state::{customer_cancel_refusal, OrderState};
use crate::domain::period::{format_local, RentalPeriod};
use crate::domain::pricing::{quote, PricingError, Quote, QuoteLine};
use crate::money::format_money;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::postgres::types::PgRange;
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeMap;
use uuid::Uuid;

/// How long "Reserve" keeps a unit for a customer who is checking out, unless configured.
pub const DEFAULT_HOLD_MINUTES: i64 = 15;
pub(crate) const EXCLUSION_VIOLATION: &str = "23P01";
/// First key of the advisory locks that admit one inserter per unit (the second is the unit).
const UNIT_LOCK_NAMESPACE: i32 = 0x756e_6974;
pub(crate) const ACTIVE_STATES: &str = "('held', 'confirmed', 'picked_up')";

#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    #[error("Sorry, this item is no longer available for these dates.")]
    Unavailable,
    #[error("{0}")]
    Pricing(#[from] PricingError),
    #[error("Your cart is empty or has expired. Please choose your dates again.")]
    EmptyCart,
    #[error("We couldn't find that order.")]
    UnknownOrder,
    #[error("{0}")]
    Refused(String),
    #[error("the confirmation email could not be queued: {0}")]
    Mail(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Who is holding: the cart token from their session, and their account once signed in.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    pub cart_token: Uuid,
    pub customer_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub order_id: i64,
    pub reservation_id: i64,
    pub unit_id: i64,
}

/// The range a booking of `period` blocks: the period widened by the product's buffers.
pub fn blocked_range(terms: &ProductTerms, period: &RentalPeriod) -> PgRange<DateTime<Utc>> {
    let (from, to) = period.with_buffers(
        Duration::minutes(i64::from(terms.buffer_before_minutes)),
        Duration::minutes(i64::from(terms.buffer_after_minutes)),
    );
    PgRange::from(from..to)
}

/// Holds a free unit of `terms`' product for `period` for `hold` from now, in the holder's
/// cart (created if needed). A repeated `request_key` returns the first result.
pub async fn place_hold(
    pool: &PgPool,
    tz: Tz,
    terms: &ProductTerms,
    period: RentalPeriod,
    holder: Holder,
    hold: Duration,
    request_key: Option<Uuid>,
) -> Result<Hold, BookingError> {
    let priced = quote(&terms.tiers, period.local_span(tz))?;
    if let Some(key) = request_key {
        if let Some(earlier) = earlier_hold(pool, key, holder).await? {
            return Ok(earlier);
        }
    }
    let held = hold_in_transaction(pool, terms, period, holder, hold, request_key, &priced).await;
    match (held, request_key) {
        // The same key raced in twice: the other request won; answer with its hold.
        (Err(BookingError::Database(err)), Some(key))
            if err
                .as_database_error()
                .is_some_and(|e| e.is_unique_violation()) =>
        {
            earlier_hold(pool, key, holder)
                .await?
                .ok_or(BookingError::Database(err))
        }
        (other, _) => other,
    }
}

/// The hold an earlier request with `key` made for this same holder. A key of someone else's
/// request is refused rather than answered with their hold.
pub async fn earlier_hold(
    pool: &PgPool,
    key: Uuid,
    holder: Holder,
) -> Result<Option<Hold>, BookingError> {
    // order, reservation, unit, the order's cart token and customer
    type Row = (i64, i64, i64, Option<Uuid>, Option<i64>);
    let earlier: Option<Row> = sqlx::query_as(
        "SELECT r.order_id, r.id, r.unit_id, o.cart_token, o.customer_id
           FROM reservations r JOIN orders o ON o.id = r.order_id
          WHERE r.request_key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let Some((order_id, reservation_id, unit_id, cart_token, customer_id)) = earlier else {
        return Ok(None);
    };
    let same_holder = cart_token == Some(holder.cart_token)
        || (customer_id.is_some() && customer_id == holder.customer_id);
    if !same_holder {
        return Err(BookingError::Refused(
            "This booking request was already used. Please reload the page and try again."
                .to_owned(),
        ));
    }
    Ok(Some(Hold {
        order_id,
        reservation_id,
        unit_id,
    }))
}

fn mail_error(err: super::outbox::EnqueueError) -> BookingError {
    match err {
        super::outbox::EnqueueError::Database(err) => BookingError::Database(err),
        super::outbox::EnqueueError::Other(message) => BookingError::Mail(message),
    }
}

async fn hold_in_transaction(
    pool: &PgPool,
    terms: &ProductTerms,
    period: RentalPeriod,
    holder: Holder,
    hold: Duration,
    request_key: Option<Uuid>,
    priced: &Quote,
) -> Result<Hold, BookingError> {
    let mut tx = pool.begin().await?;
    let (order_id, created): (i64, bool) = sqlx::query_as(
        "INSERT INTO orders (cart_token, customer_id) VALUES ($1, $2)
         ON CONFLICT (cart_token) DO UPDATE
            SET updated_at = now(), customer_id = COALESCE(EXCLUDED.customer_id, orders.customer_id)
         RETURNING id, (xmax = 0)",
    )
    .bind(holder.cart_token)
    .bind(holder.customer_id)
    .fetch_one(&mut *tx)
    .await?;
    if created {
        record_event(
            &mut tx,
            order_id,
            holder.customer_id,
            "customer",
            None,
            OrderState::Held,
            "",
        )
        .await?;
    }
    let during = blocked_range(terms, &period);
    let price_lines = serde_json::to_value(&priced.lines)
        .map_err(|err| BookingError::Refused(err.to_string()))?;
    let held_until = Utc::now() + hold;
    let line = NewLine {
        order_id,
        terms,
        period,
        during: &during,
        state: "held",
        held_until: Some(held_until),
        request_key,
        price_lines: &price_lines,
        rental_total: priced.rental_total,
    };
    let (reservation_id, unit_id) = insert_on_free_unit(&mut tx, &line).await?;
    update_totals(&mut tx, order_id).await?;
    tx.commit().await?;
    Ok(Hold {
        order_id,
        reservation_id,
        unit_id,
    })
}

struct NewLine<'a> {
    order_id: i64,
    terms: &'a ProductTerms,
    period: RentalPeriod,
    during: &'a PgRange<DateTime<Utc>>,
    state: &'static str,
    held_until: Option<DateTime<Utc>>,
    request_key: Option<Uuid>,
    price_lines: &'a serde_json::Value,
    rental_total: Decimal,
}

/// Tries each free unit in turn inside a savepoint; a unit taken meanwhile by another
/// transaction raises 23P01 and the next one is tried.
async fn insert_on_free_unit(
    tx: &mut PgConnection,
    line: &NewLine<'_>,
) -> Result<(i64, i64), BookingError> {
    // Holds that ran out still sit in the constraint until swept; free the ones in our way.
    // SKIP LOCKED: a row another booking is expiring right now is left to it (no deadlock
    // between bookings that expire the same rows in different orders).
    sqlx::query(
        "UPDATE reservations SET state = 'expired'
          WHERE id IN (SELECT id FROM reservations
                        WHERE product_id = $1 AND state = 'held' AND held_until <= now()
                          AND during && $2
                        ORDER BY id FOR UPDATE SKIP LOCKED)",
    )
    .bind(line.terms.id)
    .bind(line.during)
    .execute(&mut *tx)
    .await?;
    let candidates: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT u.id FROM units u
          WHERE u.product_id = $1 AND u.status = 'available'
            AND NOT EXISTS (SELECT 1 FROM reservations r
                             WHERE r.unit_id = u.id AND r.state IN {ACTIVE_STATES}
                               AND r.during && $2)
          ORDER BY u.id"
    ))
    .bind(line.terms.id)
    .bind(line.during)
    .fetch_all(&mut *tx)
    .await?;
    for unit_id in candidates {
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        // Two transactions inserting overlapping rows at the same moment would each wait in
        // the exclusion check for the other: a deadlock, broken by PostgreSQL after a second
        // with an error. One inserter per unit at a time avoids it; the lock goes with the
        // savepoint on a conflict, else with the transaction.
        lock_unit(&mut savepoint, unit_id).await?;
        match insert_line(&mut savepoint, line, unit_id).await {
            Ok(id) => {
                savepoint.commit().await?;
                return Ok((id, unit_id));
            }
            Err(err) if is_overlap(&err) => savepoint.rollback().await?,
            Err(err) => return Err(err.into()),
        }
    }
    Err(BookingError::Unavailable)
}

async fn insert_line(
    conn: &mut PgConnection,
    line: &NewLine<'_>,
    unit_id: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO reservations
            (order_id, product_id, unit_id, starts_at, ends_at, during, state, held_until,
             request_key, price_lines, rental_total, deposit)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         RETURNING id",
    )
    .bind(line.order_id)
    .bind(line.terms.id)
    .bind(unit_id)
    .bind(line.period.start)
    .bind(line.period.end)
    .bind(line.during)
    .bind(line.state)
    .bind(line.held_until)
    .bind(line.request_key)
    .bind(line.price_lines)
    .bind(line.rental_total)
    .bind(line.terms.deposit)
    .fetch_one(&mut *conn)
    .await
}

/// Admits one writer of `unit_id`'s reservations at a time, until the (sub)transaction ends:
/// two overlapping inserts checked by the exclusion constraint at once would deadlock.
pub(crate) async fn lock_unit(conn: &mut PgConnection, unit_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int4)")
        .bind(UNIT_LOCK_NAMESPACE)
        .bind(unit_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) fn is_overlap(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == EXCLUSION_VIOLATION)
}

/// Sums the order's live lines: held, confirmed, out or back, and, while it is still a cart,
/// lines whose hold ran out (they are booked again at confirmation).
pub(crate) async fn update_totals(tx: &mut PgConnection, order_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE orders o SET updated_at = now(), rental_total = t.rental, deposit = t.deposit
           FROM (SELECT COALESCE(sum(r.rental_total), 0) AS rental,
                        COALESCE(sum(r.deposit), 0) AS deposit
                   FROM reservations r JOIN orders o2 ON o2.id = r.order_id
                  WHERE r.order_id = $1
                    AND (r.state IN ('held', 'confirmed', 'picked_up', 'returned')
                         OR (r.state = 'expired' AND o2.state = 'held'))) t
          WHERE o.id = $1",
    )
    .bind(order_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub(crate) async fn record_event(
    tx: &mut PgConnection,
    order_id: i64,
    actor_id: Option<i64>,
    actor: &str,
    from: Option<OrderState>,
    to: OrderState,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_events (order_id, actor_id, actor, from_state, to_state, note)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(order_id)
    .bind(actor_id)
    .bind(actor)
    .bind(from.map(OrderState::as_str))
    .bind(to.as_str())
    .bind(note)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The customer a confirmation is for.
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// Shop details the confirmation email carries.
#[derive(Debug, Clone)]
pub struct ShopDetails {
    pub tz: Tz,
    pub currency: String,
    pub pickup_address: String,
    pub opening_hours: String,
}

#[derive(sqlx::FromRow)]
struct CartLine {
    id: i64,
    product_id: i64,
    product_name: String,
    unit_label: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    during: PgRange<DateTime<Utc>>,
    state: String,
    price_lines: serde_json::Value,
    rental_total: Decimal,
    deposit: Decimal,
}

/// Confirms the holder's cart for `customer`: every held line becomes a confirmed rental (a
/// line whose hold ran out is booked again if a unit is still free), and the confirmation
/// email is enqueued in the same transaction. Returns the order number. Confirming an order
/// that is already confirmed for this customer returns its number again (a retried submit).
pub async fn confirm_cart(
    pool: &PgPool,
    cart_token: Uuid,
    customer: &Customer,
    shop: &ShopDetails,
    mail: &dyn OrderMail,
) -> Result<String, BookingError> {
    let by = Actor::Customer(customer.id);
    confirm_cart_by(pool, cart_token, customer, by, shop, mail).await
}

/// [`confirm_cart`] of the cart the customer saw as order `number`, idempotently: a repeated
/// submit (a retry after a lost answer, a double click) answers with the same order number and
/// books nothing more. A cart that became another order meanwhile is refused, not confirmed.
pub async fn confirm_cart_once(
    pool: &PgPool,
    cart_token: Uuid,
    customer: &Customer,
    number: &str,
    shop: &ShopDetails,
    mail: &dyn OrderMail,
) -> Result<String, BookingError> {
    if let Some(done) = confirmed_number(pool, number, customer.id).await? {
        return Ok(done);
    }
    let current: Option<String> =
        sqlx::query_scalar("SELECT number FROM orders WHERE cart_token = $1 AND state = 'held'")
            .bind(cart_token)
            .fetch_optional(pool)
            .await?;
    if current.as_deref().is_some_and(|current| current != number) {
        return Err(BookingError::Refused(
            "Your cart has changed since this page was shown. Please check it and confirm again."
                .to_owned(),
        ));
    }
    match confirm_cart(pool, cart_token, customer, shop, mail).await {
        // A concurrent submit of the same cart won the race: answer with its result.
        Err(BookingError::EmptyCart) => confirmed_number(pool, number, customer.id)
            .await?
            .ok_or(BookingError::EmptyCart),
        other => other,
    }
}

async fn confirmed_number(
    pool: &PgPool,
    number: &str,
    customer_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT number FROM orders
          WHERE number = $1 AND customer_id = $2 AND confirmed_at IS NOT NULL",
    )
    .bind(number)
    .bind(customer_id)
    .fetch_optional(pool)
    .await
}

/// [`confirm_cart`], recorded as done `by` someone (staff confirming a customer's cart).
pub async fn confirm_cart_by(
    pool: &PgPool,
    cart_token: Uuid,
    customer: &Customer,
    by: Actor,
    shop: &ShopDetails,
    mail: &dyn OrderMail,
) -> Result<String, BookingError> {
    let mut tx = pool.begin().await?;
    let order: Option<(i64, String, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, number, state, customer_id FROM orders WHERE cart_token = $1 FOR UPDATE",
    )
    .bind(cart_token)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((order_id, number, state, owner)) = order else {
        return Err(BookingError::EmptyCart);
    };
    if owner.is_some_and(|owner| owner != customer.id) || state != "held" {
        return Err(BookingError::EmptyCart);
    }
    let lines: Vec<CartLine> = sqlx::query_as(
        "SELECT r.id, r.product_id, p.name AS product_name, u.label AS unit_label, r.starts_at,
                r.ends_at, r.during, r.state, r.price_lines, r.rental_total, r.deposit
           FROM reservations r JOIN products p ON p.id = r.product_id JOIN units u ON u.id = r.unit_id
          WHERE r.order_id = $1 AND r.state IN ('held', 'expired')
          ORDER BY r.starts_at, r.id",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?;
    if lines.is_empty() {
        return Err(BookingError::EmptyCart);
    }
    for line in &lines {
        confirm_line(&mut tx, order_id, line).await?;
    }
    sqlx::query(
        "UPDATE orders SET state = 'confirmed', customer_id = $2, confirmed_at = now(),
                           cart_token = NULL, updated_at = now()
          WHERE id = $1",
    )
    .bind(order_id)
    .bind(customer.id)
    .execute(&mut *tx)
    .await?;
    update_totals(&mut tx, order_id).await?;
    record_event(
        &mut tx,
        order_id,
        Some(by.id()),
        by.kind(),
        Some(OrderState::Held),
        OrderState::Confirmed,
        "",
    )
    .await?;
    let email = confirmation_email(&number, customer, shop, &lines);
    mail.enqueue(&mut tx, email).await.map_err(mail_error)?;
    tx.commit().await?;
    Ok(number)
}

async fn confirm_line(
    tx: &mut PgConnection,
    order_id: i64,
    line: &CartLine,
) -> Result<(), BookingError> {
    if line.state == "held" {
        sqlx::query("UPDATE reservations SET state = 'confirmed', held_until = NULL WHERE id = $1")
            .bind(line.id)
            .execute(&mut *tx)
            .await?;
        return Ok(());
    }
    // The hold ran out and was released: book the same period again on any free unit.
    let terms = ProductTerms::by_id(&mut *tx, line.product_id)
        .await?
        .ok_or(BookingError::Unavailable)?;
    let period = RentalPeriod {
        start: line.starts_at,
        end: line.ends_at,
    };
    let new_line = NewLine {
        order_id,
        terms: &terms,
        period,
        during: &line.during,
        state: "confirmed",
        held_until: None,
        request_key: None,
        price_lines: &line.price_lines,
        rental_total: line.rental_total,
    };
    insert_on_free_unit(tx, &new_line).await?;
    Ok(())
}

fn confirmation_email(
    number: &str,
    customer: &Customer,
    shop: &ShopDetails,
    lines: &[CartLine],
) -> OrderEmail {
    let money = |amount: Decimal| format_money(amount, &shop.currency);
    let items = lines
        .iter()
        .map(|l| {
            format!(
                "- {} (unit {}), {} to {}",
                l.product_name,
                l.unit_label,
                format_local(l.starts_at, shop.tz),
                format_local(l.ends_at, shop.tz)
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let breakdown = lines
        .iter()
        .flat_map(|l| {
            let priced: Vec<QuoteLine> =
                serde_json::from_value(l.price_lines.clone()).unwrap_or_default();
            priced.into_iter().map(move |q| {
                format!(
                    "- {}: {} × {} = {}",
                    l.product_name,
                    q.count,
                    q.label,
                    money(q.amount)
                )
            })
        })
        .collect::<Vec<_>>()
        .join("\n");
    let rental: Decimal = lines.iter().map(|l| l.rental_total).sum();
    let deposit: Decimal = lines.iter().map(|l| l.deposit).sum();
    let first = lines
        .iter()
        .map(|l| l.starts_at)
        .min()
        .unwrap_or_else(Utc::now);
    let last = lines
        .iter()
        .map(|l| l.ends_at)
        .max()
        .unwrap_or_else(Utc::now);
    let values = BTreeMap::from([
        ("customer_name".to_owned(), customer.name.clone()),
        ("order_number".to_owned(), number.to_owned()),
        ("pickup_at".to_owned(), format_local(first, shop.tz)),
        ("return_at".to_owned(), format_local(last, shop.tz)),
        ("items".to_owned(), items),
        ("price_breakdown".to_owned(), breakdown),
        ("total".to_owned(), money(rental)),
        ("deposit".to_owned(), money(deposit)),
        ("pickup_address".to_owned(), shop.pickup_address.clone()),
        ("opening_hours".to_owned(), shop.opening_hours.clone()),
    ]);
    OrderEmail {
        kind: "booking_confirmation".to_owned(),
        entity: number.to_owned(),
        to: customer.email.clone(),
        values,
    }
}

/// Cancels `number` for its customer when the policy allows it; staff use their own path.
pub async fn cancel_by_customer(
    pool: &PgPool,
    number: &str,
    customer: &Customer,
    shop: &ShopDetails,
    mail: &dyn OrderMail,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    let mut tx = pool.begin().await?;
    let order: Option<(i64, String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT o.id, o.state, (SELECT min(starts_at) FROM reservations r
                                 WHERE r.order_id = o.id AND r.state <> 'expired')
           FROM orders o WHERE o.number = $1 AND o.customer_id = $2 FOR UPDATE",
    )
    .bind(number)
    .bind(customer.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((order_id, state, first_start)) = order else {
        return Err(BookingError::UnknownOrder);
    };
    let state = OrderState::parse(&state).ok_or(BookingError::UnknownOrder)?;
    let first_start = first_start.unwrap_or(now);
    if let Some(reason) = customer_cancel_refusal(state, first_start, now) {
        return Err(BookingError::Refused(reason));
    }
    let cancelled = Cancelled {
        order_id,
        number,
        state,
        first_start,
    };
    let by = Actor::Customer(customer.id);
    cancel_locked(&mut tx, &cancelled, by, Some(customer), "", shop, mail).await?;
    tx.commit().await?;
    Ok(())
}

/// Who changed an order, as its history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Customer(i64),
    Staff(i64),
}

impl Actor {
    pub fn id(self) -> i64 {
        match self {
            Actor::Customer(id) | Actor::Staff(id) => id,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Actor::Customer(_) => "customer",
            Actor::Staff(_) => "staff",
        }
    }
}

/// An order being cancelled, locked by the caller's transaction.
pub(crate) struct Cancelled<'a> {
    pub order_id: i64,
    pub number: &'a str,
    pub state: OrderState,
    pub first_start: DateTime<Utc>,
}

/// Cancels the order's active lines and the order, records who did it (and why), and, when a
/// confirmed booking is cancelled, enqueues the cancellation email in the same transaction.
pub(crate) async fn cancel_locked(
    tx: &mut PgConnection,
    order: &Cancelled<'_>,
    by: Actor,
    customer: Option<&Customer>,
    note: &str,
    shop: &ShopDetails,
    mail: &dyn OrderMail,
) -> Result<(), BookingError> {
    sqlx::query(&format!(
        "UPDATE reservations SET state = 'cancelled', held_until = NULL
          WHERE order_id = $1 AND state IN {ACTIVE_STATES}"
    ))
    .bind(order.order_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE orders SET state = 'cancelled', cart_token = NULL, updated_at = now() WHERE id = $1")
        .bind(order.order_id)
        .execute(&mut *tx)
        .await?;
    record_event(
        tx,
        order.order_id,
        Some(by.id()),
        by.kind(),
        Some(order.state),
        OrderState::Cancelled,
        note,
    )
    .await?;
    let Some(customer) = customer.filter(|_| order.state == OrderState::Confirmed) else {
        return Ok(());
    };
    let values = BTreeMap::from([
        ("customer_name".to_owned(), customer.name.clone()),
        ("order_number".to_owned(), order.number.to_owned()),
        (
            "pickup_at".to_owned(),
            format_local(order.first_start, shop.tz),
        ),
        (
            "refund_note".to_owned(),
            "Nothing was charged, so there is nothing to refund.".to_owned(),
        ),
        ("pickup_address".to_owned(), shop.pickup_address.clone()),
        ("opening_hours".to_owned(), shop.opening_hours.clone()),
    ]);
    let email = OrderEmail {
        kind: "cancellation".to_owned(),
        entity: order.number.to_owned(),
        to: customer.email.clone(),
        values,
    };
    mail.enqueue(tx, email).await.map_err(mail_error)
}

/// Removes one line from the holder's cart.
pub async fn remove_cart_line(
    pool: &PgPool,
    cart_token: Uuid,
    reservation_id: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let order_id: Option<i64> = sqlx::query_scalar(
        "UPDATE reservations r SET state = 'cancelled', held_until = NULL, request_key = NULL
           FROM orders o
          WHERE r.id = $2 AND r.order_id = o.id AND o.cart_token = $1 AND o.state = 'held'
            AND r.state IN ('held', 'expired')
         RETURNING o.id",
    )
    .bind(cart_token)
    .bind(reservation_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(order_id) = order_id {
        update_totals(&mut tx, order_id).await?;
    }
    tx.commit().await?;
    Ok(order_id.is_some())
}

/// The periodic sweep: marks holds whose time has run out as expired. Returns how many.
pub async fn expire_holds(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reservations SET state = 'expired' WHERE state = 'held' AND held_until <= now()",
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
