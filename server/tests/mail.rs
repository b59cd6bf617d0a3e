//! Email jobs against real PostgreSQL and a real SMTP server on loopback (a small sink below):
//! content and exactly-once delivery, SMTP down then back, a worker lost mid-job, the outbox.

mod common;

use common::smtp::SmtpSink;

use chrono::Datelike;
use server::jobs::{RetryPolicy, Runner, RunnerConfig, RunnerHandle};
use server::mail::{enqueue_email, EmailJob, EmailRequest, Mailer, EMAIL_JOB};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn confirmation(order: &str, name: &str) -> EmailRequest {
    let values = [
        ("customer_name", name),
        ("order_number", order),
        ("pickup_at", "Friday 5 December 2026, 09:00"),
        ("return_at", "Sunday 7 December 2026, 17:00"),
        ("items", "1 x Cargo bike"),
        ("price_breakdown", "2 days x EUR 40.00"),
        ("total", "EUR 80.00"),
        ("deposit", "EUR 200.00"),
        ("pickup_address", "Rue de la Loi 1, Brussels"),
        ("opening_hours", "Mon-Sat 09:00-18:00"),
    ];
    EmailRequest {
        kind: "booking_confirmation".into(),
        entity: order.into(),
        to: "ann@example.com".into(),
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn start_runner(pool: &PgPool, mailer: Mailer) -> RunnerHandle {
    start_runner_with(pool, mailer, 4)
}

fn start_runner_with(pool: &PgPool, mailer: Mailer, concurrency: usize) -> RunnerHandle {
    let config = RunnerConfig {
        queues: vec![("default".to_owned(), concurrency)],
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        shutdown_deadline: Duration::from_secs(5),
        ..RunnerConfig::default()
    };
    let retry = RetryPolicy {
        first_retry: Duration::from_millis(100),
        max_delay: Duration::from_millis(300),
    };
    let handler = EmailJob {
        mailer: Arc::new(mailer),
    };
    Runner::new(pool.clone(), config)
        .register_with(EMAIL_JOB, handler, retry)
        .start()
}

async fn enqueue(pool: &PgPool, request: EmailRequest, max_attempts: i32) -> Option<i64> {
    let mut tx = pool.begin().await.expect("begin");
    let id = enqueue_email(&mut tx, request)
        .await
        .expect("enqueue email");
    sqlx::query("UPDATE jobs SET max_attempts = $1 WHERE id = $2")
        .bind(max_attempts)
        .bind(id)
        .execute(&mut *tx)
        .await
        .expect("set attempts");
    tx.commit().await.expect("commit");
    id
}

async fn wait_until_sent(pool: &PgPool) {
    for _ in 0..300 {
        let sent: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM emails WHERE sent_at IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM jobs WHERE state <> 'succeeded')",
        )
        .fetch_one(pool)
        .await
        .expect("poll");
        if sent {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the email was not sent in time");
}

const FROM: &str = "Rentwise <shop@rentwise.local>";

#[sqlx::test(migrations = "../migrations")]
async fn a_confirmation_is_delivered_once_with_its_content(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let mut sink = SmtpSink::start().await;
    let runner = start_runner(&pool, Mailer::smtp(&sink.url(), FROM).expect("mailer"));
    assert!(enqueue(&pool, confirmation("R-1001", "Ann <Admin>"), 3)
        .await
        .is_some());
    assert_eq!(
        enqueue(&pool, confirmation("R-1001", "Ann <Admin>"), 3).await,
        None
    );
    wait_until_sent(&pool).await;
    runner.shutdown().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    // Undo quoted-printable soft line breaks, should the encoder have chosen it.
    let message = messages[0].replace("=\r\n", "");
    assert!(message.contains("Message-ID: <booking_confirmation-R-1001@rentwise.local>"));
    assert!(message.contains("Subject: Your rental R-1001 is confirmed"));
    assert!(message.contains("Ann &lt;Admin&gt;"), "escaped in HTML");
    assert!(message.contains("Ann <Admin>"), "as is in plain text");
    assert!(message.contains("Rue de la Loi 1, Brussels"));
    sink.stop();
    pool.close().await;
}

/// Undoes quoted-printable (soft line breaks and `=XX` bytes) so the test reads the text as
/// the recipient's mail program shows it.
fn quoted_printable_decoded(raw: &str) -> String {
    let raw = raw.replace("=\r\n", "");
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Brussels shop details, as the server would configure them.
fn shop_details() -> app::ssr::booking::ShopDetails {
    app::ssr::booking::ShopDetails {
        tz: chrono_tz::Europe::Brussels,
        currency: "EUR".into(),
        pickup_address: "Rue de la Loi 1, Brussels".into(),
        opening_hours: "Mon-Sat 08:00-18:00".into(),
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_confirmed_booking_sends_exactly_one_confirmation_with_its_content(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    use app::domain::period::{parse_local, BookingRules, RentalPeriod};
    use app::ssr::{accounts, booking, terms::ProductTerms};
    let pool = common::test_pool(connect).await;
    server::demo::seed_if_empty(&pool).await.expect("demo data");
    let user = accounts::create_user(&pool, "cleo@example.com", "Cleo", "a long password", false)
        .await
        .expect("user");
    let mut conn = pool.acquire().await.expect("connection");
    let terms = ProductTerms::published(&mut conn, "vango-odyssey-air-500-family-tent")
        .await
        .expect("terms")
        .expect("the tent is published");
    drop(conn);
    let tz = chrono_tz::Europe::Brussels;
    let next_year = chrono::Utc::now().date_naive().year_ce().1 + 1;
    let start = parse_local(&format!("{next_year}-06-12"), "09:30", tz).expect("start");
    let end = parse_local(&format!("{next_year}-06-14"), "09:30", tz).expect("end");
    let rules = BookingRules {
        min_duration: chrono::Duration::hours(1),
        horizon: chrono::Duration::days(800),
    };
    let period = RentalPeriod::new(start, end, &rules, chrono::Utc::now()).expect("period");
    let holder = booking::Holder {
        cart_token: uuid::Uuid::new_v4(),
        customer_id: Some(user.id),
    };
    let hold = booking::place_hold(
        &pool,
        tz,
        &terms,
        period,
        holder,
        chrono::Duration::minutes(15),
        None,
    )
    .await
    .expect("hold");
    let customer = booking::Customer {
        id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
    };
    let number = booking::confirm_cart(
        &pool,
        holder.cart_token,
        &customer,
        &shop_details(),
        &server::mail::QueuedOrderMail,
    )
    .await
    .expect("confirm");
    let unit: String = sqlx::query_scalar("SELECT label FROM units WHERE id = $1")
        .bind(hold.unit_id)
        .fetch_one(&pool)
        .await
        .expect("unit label");

    let mut sink = SmtpSink::start().await;
    let runner = start_runner(&pool, Mailer::smtp(&sink.url(), FROM).expect("mailer"));
    wait_until_sent(&pool).await;
    runner.shutdown().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "exactly one email");
    let message = quoted_printable_decoded(&messages[0]);
    assert!(
        message.contains(&format!(
            "Message-ID: <booking_confirmation-{number}@rentwise.local>"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("Subject: Your rental {number} is confirmed")),
        "{message}"
    );
    assert!(message.contains("To: cleo@example.com"), "{message}");
    assert!(
        message.contains("Vango Odyssey Air 500 family tent"),
        "{message}"
    );
    assert!(message.contains(&unit), "the unit label: {message}");
    // Shop-local times (09:30 in Brussels is 07:30 UTC in summer).
    assert!(
        message.contains(&format!("12 Jun {next_year}, 09:30")),
        "{message}"
    );
    assert!(
        message.contains(&format!("14 Jun {next_year}, 09:30")),
        "{message}"
    );
    assert!(
        message.contains("2 × Per day = €"),
        "the price breakdown: {message}"
    );
    assert!(message.contains("Rue de la Loi 1, Brussels"), "{message}");
    let deposit = app::money::format_money(terms.deposit, "EUR");
    assert!(
        message.contains(&deposit),
        "the deposit {deposit}: {message}"
    );
    sink.stop();
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn with_smtp_down_the_job_retries_and_delivers_once_smtp_is_back(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let mut sink = SmtpSink::start().await;
    sink.stop();
    let runner = start_runner(&pool, Mailer::smtp(&sink.url(), FROM).expect("mailer"));
    enqueue(&pool, confirmation("R-2002", "Bob"), 50).await;
    for _ in 0..100 {
        let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM jobs")
            .fetch_one(&pool)
            .await
            .expect("job row");
        if attempts >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM jobs")
        .fetch_one(&pool)
        .await
        .expect("job row");
    assert!(error.is_some_and(|e| e.contains("SMTP")));
    assert!(sink.messages().is_empty());
    sink.restart().await;
    wait_until_sent(&pool).await;
    runner.shutdown().await;
    assert_eq!(sink.messages().len(), 1);
    sink.stop();
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_job_whose_worker_died_is_picked_up_after_its_lease_and_sent_once(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let mut sink = SmtpSink::start().await;
    enqueue(&pool, confirmation("R-3003", "Cleo"), 3).await;
    // A worker claims the job with a short lease and dies without finishing it.
    sqlx::query(
        "UPDATE jobs SET state = 'running', locked_by = 'killed-worker', attempts = 1,
                lease_until = now() + interval '500 milliseconds'",
    )
    .execute(&pool)
    .await
    .expect("claim as the dead worker");
    let runner = start_runner(&pool, Mailer::smtp(&sink.url(), FROM).expect("mailer"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        sink.messages().is_empty(),
        "not taken while the lease holds"
    );
    wait_until_sent(&pool).await;
    runner.shutdown().await;
    assert_eq!(sink.messages().len(), 1);
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM jobs")
        .fetch_one(&pool)
        .await
        .expect("job row");
    assert_eq!(attempts, 2);
    sink.stop();
    pool.close().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn without_smtp_messages_go_to_the_outbox_folder(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let dir = std::env::temp_dir().join(format!("rentwise-outbox-{}", uuid::Uuid::new_v4()));
    let runner = start_runner(&pool, Mailer::outbox(dir.clone(), FROM).expect("outbox"));
    enqueue(&pool, confirmation("R-4004", "Dee"), 3).await;
    wait_until_sent(&pool).await;
    runner.shutdown().await;
    let file = dir.join("booking_confirmation-R-4004@rentwise.local.eml");
    let eml = std::fs::read_to_string(&file).expect("the .eml file");
    assert!(eml.contains("Message-ID: <booking_confirmation-R-4004@rentwise.local>"));
    let _ = std::fs::remove_dir_all(&dir);
    pool.close().await;
}

/// Benchmark, not a timed test: `cargo test -p server --test mail -- --ignored --nocapture`.
/// Enqueues 5,000 confirmations one transaction each while one runner sends them to the sink.
#[sqlx::test(migrations = "../migrations")]
#[ignore = "benchmark: run by hand"]
async fn benchmark_5000_confirmations(_: PgPoolOptions, connect: PgConnectOptions) {
    const EMAILS: usize = 5000;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(connect)
        .await
        .expect("bench pool");
    let mut sink = SmtpSink::start().await;
    let runner = start_runner_with(&pool, Mailer::smtp(&sink.url(), FROM).expect("mailer"), 8);
    let started = Instant::now();
    let mut enqueued = std::collections::HashMap::new();
    for n in 0..EMAILS {
        let order = format!("B-{n}");
        enqueue(&pool, confirmation(&order, "Bench"), 3).await;
        enqueued.insert(
            format!("<booking_confirmation-{order}@rentwise.local>"),
            Instant::now(),
        );
    }
    let enqueue_done = started.elapsed();
    while sink.count() < EMAILS {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = started.elapsed();
    runner.shutdown().await;
    let mut latencies: Vec<Duration> = sink
        .timed_messages()
        .iter()
        .filter_map(|(data, accepted)| {
            let id = data.lines().find_map(|l| l.strip_prefix("Message-ID: "))?;
            Some(accepted.saturating_duration_since(*enqueued.get(id.trim())?))
        })
        .collect();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "{EMAILS} confirmations: enqueued in {enqueue_done:?}, all accepted after {total:?} \
         ({:.0}/s); enqueue -> accepted p50 {:?}, p99 {:?} ({} measured)",
        EMAILS as f64 / total.as_secs_f64(),
        at(0.5),
        at(0.99),
        latencies.len()
    );
    sink.stop();
    pool.close().await;
}
