//! What the staff pages read, against real PostgreSQL: the dashboard's lists and figures, the
//! schedule's bars, the orders filter and the CSV report.

mod booking_fixtures;
mod common;

use app::admin::query::CheckedOrderFilter;
use app::domain::order_state::OrderState;
use app::ssr::admin::{counter, dashboard, orders, reports, schedule};

use booking_fixtures::*;
use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

async fn label_of(pool: &PgPool, line: i64) -> String {
    sqlx::query_scalar(
        "SELECT u.label FROM reservations r JOIN units u ON u.id = r.unit_id WHERE r.id = $1",
    )
    .bind(line)
    .fetch_one(pool)
    .await
    .expect("the unit")
}

/// Ann has a tent out that was due back an hour ago; Bob picks one up later today.
async fn a_busy_day(pool: &PgPool) -> (i64, String, String) {
    let terms = rental_product(pool, "tent", 3, 0, 0).await;
    let sam = staff(pool).await;
    let (ann, bob) = (customer(pool, "ann").await, customer(pool, "bob").await);
    let now = Utc::now();
    let (late_number, late_line) = booked(
        pool,
        &terms,
        period(now - Duration::hours(5), now - Duration::hours(1)),
        &ann,
    )
    .await;
    counter::pick_up(pool, sam, late_line, &label_of(pool, late_line).await)
        .await
        .expect("Ann's pickup");
    let later = now + Duration::minutes(5);
    let (pickup_number, _) =
        booked(pool, &terms, period(later, later + Duration::days(2)), &bob).await;
    (terms.id, late_number, pickup_number)
}

#[sqlx::test(migrations = "../migrations")]
async fn the_dashboard_lists_todays_work_and_counts_it(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let (_, late_number, pickup_number) = a_busy_day(&pool).await;
    let view = dashboard::dashboard(&pool, Utc::now(), TZ, "EUR")
        .await
        .expect("the dashboard");
    assert_eq!(view.late.len(), 1);
    assert_eq!(view.late[0].order_number, late_number);
    assert!(view.late[0].late_by.is_some());
    assert_eq!(view.active_rentals, 1);
    // A pickup later today is listed unless the test runs in the last minutes of the day.
    let end_of_day_soon = (Utc::now() + Duration::minutes(6))
        .with_timezone(&TZ)
        .date_naive()
        != Utc::now().with_timezone(&TZ).date_naive();
    if !end_of_day_soon {
        assert_eq!(
            view.pickups
                .iter()
                .map(|l| l.order_number.as_str())
                .collect::<Vec<_>>(),
            [pickup_number.as_str()]
        );
    }
    // Ann's tent was handed out today: its rental (4 started hours at 5) is this month's revenue.
    assert_eq!(view.revenue_month, Decimal::from(20));
    assert_eq!(
        view.revenue_by_day.iter().map(|p| p.value).sum::<Decimal>(),
        Decimal::from(20)
    );
    assert!(view.utilisation_week > Decimal::ZERO);
    assert_eq!(view.utilisation_by_category.len(), 1);
    assert!(view.expiring_holds.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_schedule_draws_every_booking_of_the_window_on_its_unit(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let (_, late_number, pickup_number) = a_busy_day(&pool).await;
    let today = Utc::now().with_timezone(&TZ).date_naive() - Duration::days(1);
    let view = schedule::schedule(&pool, today, 7, None, Utc::now(), TZ)
        .await
        .expect("the schedule");
    assert_eq!(view.rows.len(), 3, "one lane per unit");
    assert_eq!(view.columns.len(), 7);
    assert_eq!(view.bookings, 2);
    let bars: Vec<_> = view.rows.iter().flat_map(|r| r.bars.iter()).collect();
    let late = bars
        .iter()
        .find(|b| b.order_number == late_number)
        .expect("Ann's bar");
    assert!(
        late.late && late.overdue_end > late.end,
        "a late rental is drawn to now"
    );
    let next = bars
        .iter()
        .find(|b| b.order_number == pickup_number)
        .expect("Bob's bar");
    assert_eq!(next.state, "confirmed");
    assert!(next.start < next.end && next.end <= view.width);
    let none = schedule::schedule(&pool, today, 7, Some("no-such-category"), Utc::now(), TZ)
        .await
        .expect("an empty schedule");
    assert!(none.rows.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_orders_list_filters_by_state_lateness_and_customer(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let (_, late_number, pickup_number) = a_busy_day(&pool).await;
    let filter = |state, late, customer: Option<&str>| CheckedOrderFilter {
        state,
        from: None,
        to: None,
        customer: customer.map(str::to_owned),
        late,
        page: 1,
    };
    let numbers = |rows: Vec<app::admin::model::AdminOrderRow>| {
        rows.into_iter().map(|r| r.number).collect::<Vec<_>>()
    };
    let (rows, total) = orders::list(&pool, &filter(None, false, None), None, TZ)
        .await
        .expect("all");
    assert_eq!(total, 2);
    assert_eq!(
        numbers(rows),
        [pickup_number.clone(), late_number.clone()],
        "newest pickup first"
    );
    let (rows, _) = orders::list(&pool, &filter(None, true, None), None, TZ)
        .await
        .expect("late");
    assert_eq!(numbers(rows), std::slice::from_ref(&late_number));
    let (rows, _) = orders::list(
        &pool,
        &filter(Some(OrderState::Confirmed), false, None),
        None,
        TZ,
    )
    .await
    .expect("confirmed");
    assert_eq!(numbers(rows), std::slice::from_ref(&pickup_number));
    let (rows, _) = orders::list(&pool, &filter(None, false, Some("BOB@")), None, TZ)
        .await
        .expect("by customer");
    assert_eq!(numbers(rows), [pickup_number]);
    let (rows, total) = orders::list(&pool, &filter(None, false, Some("%")), None, TZ)
        .await
        .expect("a literal %");
    assert_eq!(
        (rows.len(), total),
        (0, 0),
        "% is searched for, not a wildcard"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_csv_report_lists_the_periods_orders_with_formulas_defused(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let (_, late_number, _) = a_busy_day(&pool).await;
    sqlx::query("UPDATE users SET name = '=HYPERLINK(\"http://evil.example\")' WHERE email = 'ann@example.com'")
        .execute(&pool)
        .await
        .expect("a hostile name");
    let today = Utc::now().with_timezone(&TZ).date_naive();
    let csv = reports::orders_csv(
        &pool,
        today - Duration::days(1),
        today + Duration::days(1),
        TZ,
        "EUR",
    )
    .await
    .expect("the report");
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("order,state,customer"), "{csv}");
    let ann = lines
        .iter()
        .find(|l| l.starts_with(&late_number))
        .expect("Ann's order");
    assert!(
        ann.contains("\"'=HYPERLINK(\"\"http://evil.example\"\")\""),
        "{ann}"
    );
    assert!(ann.contains(",Picked up,"), "{ann}");
    assert!(
        lines.last().is_some_and(|l| l.starts_with("Total ")),
        "{csv}"
    );
    let totals = reports::totals(
        &pool,
        today - Duration::days(1),
        today + Duration::days(1),
        TZ,
    )
    .await
    .expect("the totals");
    assert_eq!(
        totals.orders,
        i64::try_from(lines.len() - 2).expect("a count")
    );
}
