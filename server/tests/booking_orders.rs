//! Confirming and cancelling against real PostgreSQL: the confirmation email is enqueued in
//! the booking's own transaction, and only an order's customer can cancel it.

mod booking_fixtures;
mod common;

use app::ssr::booking::{self, BookingError};
use app::ssr::outbox::{EnqueueError, EnqueueFuture, OrderEmail, OrderMail};
use booking_fixtures::*;
use chrono::{Duration, Utc};
use server::mail::QueuedOrderMail;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgConnection;
use uuid::Uuid;

/// Enqueues like the server does, then fails: the booking's transaction must roll back.
struct MailThatFailsAfterEnqueue;

impl OrderMail for MailThatFailsAfterEnqueue {
    fn enqueue<'a>(&'a self, conn: &'a mut PgConnection, email: OrderEmail) -> EnqueueFuture<'a> {
        Box::pin(async move {
            QueuedOrderMail.enqueue(conn, email).await?;
            Err(EnqueueError::Other(
                "the mail step failed after enqueueing".to_owned(),
            ))
        })
    }
}

/// Ann's cart holding the one unit of a tent for a day, ten days ahead.
async fn ann_holds_a_tent(pool: &sqlx::PgPool) -> (booking::Customer, Uuid, booking::Hold) {
    let terms = rental_product(pool, "tent", 1, 0, 60).await;
    let ann = customer(pool, "ann").await;
    let cart = Uuid::new_v4();
    let held = hold_in(
        pool,
        &terms,
        days_ahead(10, 24),
        cart,
        Duration::minutes(15),
    )
    .await
    .expect("the hold");
    (ann, cart, held)
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rolled_back_confirmation_leaves_no_email(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let (ann, cart, held) = ann_holds_a_tent(&pool).await;

    let failed =
        booking::confirm_cart(&pool, cart, &ann, &shop(), &MailThatFailsAfterEnqueue).await;
    assert!(matches!(failed, Err(BookingError::Mail(_))), "{failed:?}");
    let email_jobs = "SELECT count(*) FROM jobs WHERE kind = 'email'";
    assert_eq!(count(&pool, email_jobs).await, 0);
    assert_eq!(count(&pool, "SELECT count(*) FROM emails").await, 0);
    assert_eq!(reservation_state(&pool, held.reservation_id).await, "held");
    let order_state: String = sqlx::query_scalar("SELECT state FROM orders WHERE id = $1")
        .bind(held.order_id)
        .fetch_one(&pool)
        .await
        .expect("the order");
    assert_eq!(order_state, "held");
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_confirmation_enqueues_one_email(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = common::test_pool(connect).await;
    let (ann, cart, held) = ann_holds_a_tent(&pool).await;

    let number = booking::confirm_cart(&pool, cart, &ann, &shop(), &QueuedOrderMail)
        .await
        .expect("the confirmation");
    assert_eq!(
        reservation_state(&pool, held.reservation_id).await,
        "confirmed"
    );
    let emails: Vec<(String, String)> = sqlx::query_as(
        "SELECT payload->>'kind', payload->>'message_id' FROM jobs WHERE kind = 'email'",
    )
    .fetch_all(&pool)
    .await
    .expect("email jobs");
    assert_eq!(
        emails,
        [(
            "booking_confirmation".to_owned(),
            format!("<booking_confirmation-{number}@rentwise.local>")
        )]
    );
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_owner_cancels_and_cancelling_frees_the_unit(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let terms = rental_product(&pool, "kayak", 1, 0, 60).await;
    let (ann, bob) = (customer(&pool, "ann").await, customer(&pool, "bob").await);
    let wanted = days_ahead(10, 48);
    let cart = Uuid::new_v4();
    let held = hold_in(&pool, &terms, wanted, cart, Duration::minutes(15))
        .await
        .expect("the hold");
    let number = booking::confirm_cart(&pool, cart, &ann, &shop(), &QueuedOrderMail)
        .await
        .expect("the confirmation");

    let now = Utc::now();
    let by_bob =
        booking::cancel_by_customer(&pool, &number, &bob, &shop(), &QueuedOrderMail, now).await;
    assert!(
        matches!(by_bob, Err(BookingError::UnknownOrder)),
        "{by_bob:?}"
    );
    assert_eq!(
        reservation_state(&pool, held.reservation_id).await,
        "confirmed"
    );
    assert_eq!(free(&pool, &terms, &wanted).await, 0);

    booking::cancel_by_customer(&pool, &number, &ann, &shop(), &QueuedOrderMail, now)
        .await
        .expect("ann cancels her own order");
    assert_eq!(
        reservation_state(&pool, held.reservation_id).await,
        "cancelled"
    );
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT payload->>'kind' FROM jobs WHERE kind = 'email' ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("email jobs");
    assert_eq!(kinds, ["booking_confirmation", "cancellation"]);
    assert_eq!(free(&pool, &terms, &wanted).await, 1);
    let again = hold(&pool, &terms, wanted).await.expect("the freed unit");
    assert_eq!(again.unit_id, held.unit_id);
    pool.close().await;
}
