//! The reminder sweep against real PostgreSQL: a pickup reminder the day before, a return
//! reminder the day before the end, an overdue notice at most once a shop-local day, and
//! nothing twice however often (or on however many instances) the sweep runs.

mod common;

use chrono::{DateTime, Duration, Utc};
use server::mail::{sweep_reminders, Reminded};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

fn shop() -> app::ssr::booking::ShopDetails {
    app::ssr::booking::ShopDetails {
        tz: chrono_tz::Europe::Brussels,
        currency: "EUR".into(),
        pickup_address: "Rue de la Loi 1, Brussels".into(),
        opening_hours: "Mon-Sat 08:00-18:00".into(),
    }
}

/// An order in `state` for one unit of the first demo product, from `starts` to `ends`.
async fn order(
    pool: &PgPool,
    email: &str,
    state: &str,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) -> String {
    let user: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, name, password_hash) VALUES ($1, 'Dee', 'x') RETURNING id",
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .expect("user");
    let (order_id, number): (i64, String) = sqlx::query_as(
        "INSERT INTO orders (customer_id, state) VALUES ($1, $2) RETURNING id, number",
    )
    .bind(user)
    .bind(state)
    .fetch_one(pool)
    .await
    .expect("order");
    let line_state = if state == "picked_up" {
        "picked_up"
    } else {
        "confirmed"
    };
    sqlx::query(
        "INSERT INTO reservations (order_id, product_id, unit_id, starts_at, ends_at, during, state,
                                   price_lines, rental_total, deposit, picked_up_at)
         SELECT $1, u.product_id, u.id, $2, $3, tstzrange($2, $3), $4, '[]'::jsonb, 10, 50,
                CASE WHEN $4 = 'picked_up' THEN $2 END
           FROM units u
          WHERE NOT EXISTS (SELECT 1 FROM reservations r WHERE r.unit_id = u.id)
          ORDER BY u.id LIMIT 1",
    )
    .bind(order_id)
    .bind(starts)
    .bind(ends)
    .bind(line_state)
    .execute(pool)
    .await
    .expect("reservation");
    number
}

async fn emails(pool: &PgPool, kind: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT payload->>'message_id' FROM jobs WHERE kind = 'email' AND payload->>'kind' = $1 ORDER BY id")
        .bind(kind)
        .fetch_all(pool)
        .await
        .expect("email jobs")
}

#[sqlx::test(migrations = "../migrations")]
async fn reminders_and_overdue_notices_are_enqueued_once(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("demo data");
    let now = Utc::now();
    let soon = order(
        &pool,
        "soon@example.com",
        "confirmed",
        now + Duration::hours(12),
        now + Duration::days(2),
    )
    .await;
    let _later = order(
        &pool,
        "later@example.com",
        "confirmed",
        now + Duration::days(3),
        now + Duration::days(4),
    )
    .await;
    let ending = order(
        &pool,
        "ending@example.com",
        "picked_up",
        now - Duration::days(1),
        now + Duration::hours(6),
    )
    .await;
    let late = order(
        &pool,
        "late@example.com",
        "picked_up",
        now - Duration::days(3),
        now - Duration::hours(3),
    )
    .await;
    let _cancelled = order(
        &pool,
        "gone@example.com",
        "cancelled",
        now + Duration::hours(5),
        now + Duration::days(1),
    )
    .await;

    let first = sweep_reminders(&pool, &shop(), now).await.expect("sweep");
    assert_eq!(
        first,
        Reminded {
            pickup: 1,
            returns: 1,
            overdue: 1
        }
    );
    assert_eq!(
        emails(&pool, "pickup_reminder").await,
        vec![format!("<pickup_reminder-{soon}@rentwise.local>")]
    );
    assert_eq!(
        emails(&pool, "return_reminder").await,
        vec![format!("<return_reminder-{ending}@rentwise.local>")]
    );
    assert_eq!(emails(&pool, "overdue_notice").await.len(), 1);
    let body: String = sqlx::query_scalar(
        "SELECT payload->>'text' FROM jobs WHERE payload->>'kind' = 'overdue_notice'",
    )
    .fetch_one(&pool)
    .await
    .expect("overdue text");
    assert!(body.contains(&late), "{body}");
    assert!(body.contains("a day applies"), "{body}");

    // Again the same hour, and from a second instance at once: nothing new.
    let details = shop();
    let (a, b) = tokio::join!(
        sweep_reminders(&pool, &details, now + Duration::minutes(15)),
        sweep_reminders(&pool, &details, now + Duration::minutes(15)),
    );
    let total = |r: Reminded| r.pickup + r.returns + r.overdue;
    assert_eq!(total(a.expect("sweep a")) + total(b.expect("sweep b")), 0);

    // A day later the late rental gets its second notice, and only that.
    let next_day = sweep_reminders(&pool, &shop(), now + Duration::days(1))
        .await
        .expect("sweep");
    assert_eq!(
        next_day.overdue, 2,
        "the late order and the one that ended meanwhile"
    );
    assert_eq!(next_day.returns, 0);
    assert_eq!(emails(&pool, "overdue_notice").await.len(), 3);
    pool.close().await;
}
