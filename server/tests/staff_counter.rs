//! The counter against real PostgreSQL: handing units out by their label (another free unit of
//! the product may be handed out instead), taking them back late and damaged (the late fee as
//! shown, the unit blocked until released, its later bookings moved), and staff cancelling.

mod booking_fixtures;
mod common;

use app::admin::model::ReturnCondition;
use app::ssr::admin::counter::{self, CounterError, ReturnReport};
use app::ssr::admin::units;

use booking_fixtures::*;
use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use server::mail::QueuedOrderMail;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

async fn unit_of(pool: &PgPool, line: i64) -> String {
    sqlx::query_scalar(
        "SELECT u.label FROM reservations r JOIN units u ON u.id = r.unit_id WHERE r.id = $1",
    )
    .bind(line)
    .fetch_one(pool)
    .await
    .expect("the line's unit")
}

async fn text(pool: &PgPool, sql: &str, id: i64) -> String {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("a text")
}

#[sqlx::test(migrations = "../migrations")]
async fn the_scanned_unit_is_handed_out_and_recorded(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "tent", 3, 0, 60).await;
    let sam = staff(&pool).await;
    let ann = customer(&pool, "ann").await;
    let (number, line) = booked(&pool, &terms, days_ahead(1, 24), &ann).await;
    let booked_unit = unit_of(&pool, line).await;

    let handed = counter::pick_up(&pool, sam, line, &booked_unit.to_lowercase())
        .await
        .expect("pick up");
    assert_eq!(handed, booked_unit, "labels match whatever their case");
    assert_eq!(reservation_state(&pool, line).await, "picked_up");
    assert_eq!(text(&pool, "SELECT state FROM orders WHERE number = (SELECT number FROM orders o JOIN reservations r ON r.order_id = o.id WHERE r.id = $1)", line).await, "picked_up");
    let (actor, note): (String, String) = sqlx::query_as(
        "SELECT e.actor, e.note FROM order_events e JOIN orders o ON o.id = e.order_id
          WHERE o.number = $1 ORDER BY e.id DESC LIMIT 1",
    )
    .bind(&number)
    .fetch_one(&pool)
    .await
    .expect("the pickup event");
    assert_eq!(actor, "staff");
    assert!(note.contains(&booked_unit), "{note}");
    // Handed out early: the unit is claimed from now, so nobody can book it before the start.
    let claimed: bool =
        sqlx::query_scalar("SELECT lower(during) <= now() FROM reservations WHERE id = $1")
            .bind(line)
            .fetch_one(&pool)
            .await
            .expect("the line's range");
    assert!(claimed);

    let again = counter::pick_up(&pool, sam, line, &booked_unit).await;
    assert!(matches!(again, Err(CounterError::Refused(_))), "{again:?}");
}

#[sqlx::test(migrations = "../migrations")]
async fn another_free_unit_of_the_product_may_be_handed_out_instead(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "tent", 3, 0, 60).await;
    let other = rental_product(&pool, "drill", 1, 0, 60).await;
    let sam = staff(&pool).await;
    let (ann, bob) = (customer(&pool, "ann").await, customer(&pool, "bob").await);
    let when = days_ahead(2, 24);
    let (_, ann_line) = booked(&pool, &terms, when, &ann).await;
    let (_, bob_line) = booked(&pool, &terms, when, &bob).await;
    let (ann_unit, bob_unit) = (
        unit_of(&pool, ann_line).await,
        unit_of(&pool, bob_line).await,
    );
    assert_ne!(ann_unit, bob_unit);

    let refuse = |result: Result<String, CounterError>| match result {
        Err(CounterError::Field {
            field: "unit",
            message,
        }) => message,
        other => panic!("expected a refusal for the unit field, got {other:?}"),
    };
    assert!(refuse(counter::pick_up(&pool, sam, ann_line, "NOPE-1").await).contains("No unit"));
    let drill: String = sqlx::query_scalar("SELECT label FROM units WHERE product_id = $1")
        .bind(other.id)
        .fetch_one(&pool)
        .await
        .expect("the drill's unit");
    assert!(refuse(counter::pick_up(&pool, sam, ann_line, &drill).await).contains("not a tent"));
    assert!(
        refuse(counter::pick_up(&pool, sam, ann_line, &bob_unit).await)
            .contains("booked by someone else")
    );
    assert_eq!(
        reservation_state(&pool, ann_line).await,
        "confirmed",
        "a refusal changes nothing"
    );
    assert_eq!(unit_of(&pool, ann_line).await, ann_unit);

    let third: String = sqlx::query_scalar(
        "SELECT label FROM units WHERE product_id = $1 AND label <> ALL($2) ORDER BY label LIMIT 1",
    )
    .bind(terms.id)
    .bind(vec![ann_unit.clone(), bob_unit.clone()])
    .fetch_one(&pool)
    .await
    .expect("the third tent");
    counter::pick_up(&pool, sam, ann_line, &third)
        .await
        .expect("the third tent is handed out");
    assert_eq!(unit_of(&pool, ann_line).await, third);
    assert_eq!(reservation_state(&pool, bob_line).await, "confirmed");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_late_damaged_return_charges_the_fee_shown_and_blocks_the_unit(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "tent", 2, 0, 0).await;
    sqlx::query("UPDATE products SET late_grace_minutes = 30, late_fee_hourly = 5, late_fee_daily = 40 WHERE id = $1")
        .bind(terms.id)
        .execute(&pool)
        .await
        .expect("set the late fees");
    let sam = staff(&pool).await;
    let (ann, bob) = (customer(&pool, "ann").await, customer(&pool, "bob").await);
    // Ann's rental ended 2 h 10 min ago; Bob has the same unit booked next week.
    let now = Utc::now();
    let ended = now - Duration::minutes(130);
    let (ann_number, line) = booked(
        &pool,
        &terms,
        period(ended - Duration::hours(5), ended),
        &ann,
    )
    .await;
    let unit = unit_of(&pool, line).await;
    counter::pick_up(&pool, sam, line, &unit)
        .await
        .expect("pick up");
    let next_week = days_ahead(7, 24);
    let (_, bob_line) = booked(&pool, &terms, next_week, &bob).await;
    sqlx::query("UPDATE reservations SET unit_id = (SELECT unit_id FROM reservations WHERE id = $1) WHERE id = $2")
        .bind(line)
        .bind(bob_line)
        .execute(&pool)
        .await
        .expect("put Bob on the same unit");

    let preview = counter::preview_return(&pool, line, now, TZ, "EUR")
        .await
        .expect("the preview");
    assert_eq!(preview.fee, Decimal::from(15), "3 started hours at 5");
    assert!(
        preview.explanation.contains("3 started hours"),
        "{}",
        preview.explanation
    );

    let returned_at = chrono::DateTime::parse_from_rfc3339(&preview.returned_at)
        .expect("rfc 3339")
        .to_utc();
    let stale = ReturnReport {
        reservation_id: line,
        condition: ReturnCondition::Damaged,
        note: "torn flysheet",
        returned_at: returned_at - Duration::hours(1),
    };
    let refused = counter::take_back(&pool, sam, &stale, now, &shop()).await;
    assert!(
        matches!(refused, Err(CounterError::Refused(_))),
        "{refused:?}"
    );
    let no_note = ReturnReport {
        note: " ",
        returned_at,
        ..stale.clone()
    };
    let refused = counter::take_back(&pool, sam, &no_note, now, &shop()).await;
    assert!(
        matches!(refused, Err(CounterError::Field { field: "note", .. })),
        "{refused:?}"
    );
    assert_eq!(
        reservation_state(&pool, line).await,
        "picked_up",
        "refusals change nothing"
    );

    let report = ReturnReport {
        returned_at,
        ..stale
    };
    let fee = counter::take_back(&pool, sam, &report, now, &shop())
        .await
        .expect("the return");
    assert_eq!(fee, preview.fee, "the fee charged is the one shown");
    let (state, late_fee): (String, Decimal) =
        sqlx::query_as("SELECT state, late_fee FROM orders WHERE number = $1")
            .bind(&ann_number)
            .fetch_one(&pool)
            .await
            .expect("Ann's order");
    assert_eq!((state.as_str(), late_fee), ("returned", Decimal::from(15)));
    let status: String = sqlx::query_scalar("SELECT status FROM units WHERE label = $1")
        .bind(&unit)
        .fetch_one(&pool)
        .await
        .expect("the unit");
    assert_eq!(status, "maintenance");
    assert_ne!(
        unit_of(&pool, bob_line).await,
        unit,
        "Bob's booking moved to the other unit"
    );
    assert_eq!(
        free(&pool, &terms, &days_ahead(14, 24)).await,
        1,
        "the damaged unit is not free"
    );

    let unit_id: i64 = sqlx::query_scalar("SELECT id FROM units WHERE label = $1")
        .bind(&unit)
        .fetch_one(&pool)
        .await
        .expect("the unit's id");
    units::set_status(
        &pool,
        sam,
        terms.id,
        unit_id,
        "available",
        "repaired",
        Utc::now(),
    )
    .await
    .expect("release");
    assert_eq!(free(&pool, &terms, &days_ahead(14, 24)).await, 2);
    let history: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM staff_actions WHERE subject_type = 'product' AND subject_id = $1 ORDER BY id",
    )
    .bind(terms.id)
    .fetch_all(&pool)
    .await
    .expect("the product's history");
    assert_eq!(history.len(), 2, "{history:?}");
    assert!(
        history[0].contains("put in maintenance") && history[1].contains("released"),
        "{history:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn retiring_a_unit_with_a_booking_nowhere_else_to_go_is_refused(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "tent", 1, 0, 0).await;
    let sam = staff(&pool).await;
    let ann = customer(&pool, "ann").await;
    let (_, line) = booked(&pool, &terms, days_ahead(3, 24), &ann).await;
    let unit_id: i64 = sqlx::query_scalar("SELECT unit_id FROM reservations WHERE id = $1")
        .bind(line)
        .fetch_one(&pool)
        .await
        .expect("the unit");
    let refused = units::set_status(&pool, sam, terms.id, unit_id, "retired", "", Utc::now()).await;
    assert!(
        matches!(refused, Err(units::UnitError::Refused(_))),
        "{refused:?}"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM units WHERE id = $1")
        .bind(unit_id)
        .fetch_one(&pool)
        .await
        .expect("the unit");
    assert_eq!(status, "available", "nothing changed");
    let needs_note =
        units::set_status(&pool, sam, terms.id, unit_id, "maintenance", "", Utc::now()).await;
    assert!(
        matches!(needs_note, Err(units::UnitError::Invalid(_))),
        "{needs_note:?}"
    );
    let rebooked = units::set_status(
        &pool,
        sam,
        terms.id,
        unit_id,
        "maintenance",
        "wobbly pole",
        Utc::now(),
    )
    .await
    .expect("maintenance is allowed");
    assert_eq!(
        (rebooked.moved, rebooked.stuck),
        (0, 1),
        "the booking is flagged, not lost"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn staff_cancel_with_a_reason_and_the_customer_is_emailed(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "tent", 1, 0, 0).await;
    let sam = staff(&pool).await;
    let ann = customer(&pool, "ann").await;
    // Tomorrow: a customer could no longer cancel online, staff can.
    let soon = Utc::now() + Duration::hours(3);
    let (number, line) = booked(
        &pool,
        &terms,
        period(soon, soon + Duration::hours(24)),
        &ann,
    )
    .await;
    let no_reason =
        counter::cancel_by_staff(&pool, sam, &number, "  ", &shop(), &QueuedOrderMail).await;
    assert!(
        matches!(
            no_reason,
            Err(CounterError::Field {
                field: "reason",
                ..
            })
        ),
        "{no_reason:?}"
    );
    counter::cancel_by_staff(
        &pool,
        sam,
        &number,
        "Tent recalled by the maker",
        &shop(),
        &QueuedOrderMail,
    )
    .await
    .expect("the cancellation");
    assert_eq!(reservation_state(&pool, line).await, "cancelled");
    let cancellations = "SELECT count(*) FROM emails WHERE kind = 'cancellation'";
    assert_eq!(count(&pool, cancellations).await, 1);
    let (actor, note): (String, String) = sqlx::query_as(
        "SELECT e.actor, e.note FROM order_events e JOIN orders o ON o.id = e.order_id
          WHERE o.number = $1 AND e.to_state = 'cancelled'",
    )
    .bind(&number)
    .fetch_one(&pool)
    .await
    .expect("the cancel event");
    assert_eq!(
        (actor.as_str(), note.as_str()),
        ("staff", "Tent recalled by the maker")
    );
    let twice =
        counter::cancel_by_staff(&pool, sam, &number, "again", &shop(), &QueuedOrderMail).await;
    assert!(matches!(twice, Err(CounterError::Refused(_))), "{twice:?}");
}
