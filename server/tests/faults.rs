//! Faults a real deployment meets, against the real `server` binary and real PostgreSQL:
//! PostgreSQL restarted under load, a backend killed mid-request, SMTP down while the server is
//! killed mid-delivery, and SIGKILL in the middle of image encodes. Each prints what it saw;
//! the figures go into the closing notes of #8.

mod common;

use common::process::{PrivatePostgres, ServerProcess};
use common::smtp::SmtpSink;
use common::{day, files_under, form_body, session_cookie, spawn_app, test_pool};
use reqwest::header::{CONTENT_TYPE, COOKIE};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// No request of a load generator may take longer than this: that would be a hang.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("http client")
}

/// What one request got: its status, or that it failed without one (a timeout, a reset).
#[derive(Debug, Clone)]
struct Outcome {
    started: Instant,
    finished: Instant,
    status: Option<u16>,
    timed_out: bool,
    body: String,
    cookie: Option<String>,
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    endpoint: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> Outcome {
    let started = Instant::now();
    let mut request = client
        .post(format!("{base}/api/{endpoint}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_body(fields));
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    Outcome::of(started, request.send().await).await
}

async fn get(client: &reqwest::Client, url: &str) -> Outcome {
    Outcome::of(Instant::now(), client.get(url).send().await).await
}

impl Outcome {
    /// What a request sent at `started` got: its status and body, or why it has none.
    async fn of(started: Instant, sent: reqwest::Result<reqwest::Response>) -> Outcome {
        let finished = Instant::now();
        match sent {
            Ok(response) => Outcome {
                started,
                finished,
                status: Some(response.status().as_u16()),
                timed_out: false,
                cookie: session_cookie(response.headers()),
                body: response.text().await.unwrap_or_default(),
            },
            Err(err) => Outcome {
                started,
                finished,
                status: None,
                timed_out: err.is_timeout(),
                body: err.to_string(),
                cookie: None,
            },
        }
    }
}

async fn sign_up(client: &reqwest::Client, base: &str, n: usize) -> String {
    let email = format!("load{n}@example.com");
    let outcome = post(
        client,
        base,
        "sign-up",
        &[
            ("name", &format!("Load Tester {n}")),
            ("email", &email),
            ("password", "a long enough password"),
        ],
        None,
    )
    .await;
    assert_eq!(outcome.status, Some(200), "sign-up: {}", outcome.body);
    outcome.cookie.expect("a session at sign-up")
}

/// A client's view of one booking: reserve (with an idempotency key) and confirm (naming the
/// order), each retried with the same key until it is answered, as a careful client would.
struct Booker {
    client: reqwest::Client,
    base: String,
    cookie: String,
    log: Arc<Mutex<Vec<Outcome>>>,
}

impl Booker {
    async fn call(&self, endpoint: &str, fields: &[(&str, &str)]) -> Outcome {
        let outcome = post(
            &self.client,
            &self.base,
            endpoint,
            fields,
            Some(&self.cookie),
        )
        .await;
        self.log.lock().expect("log").push(outcome.clone());
        outcome
    }

    /// Retries `endpoint` until it answers something other than a server-side failure, or
    /// `deadline` passes. Returns the last outcome.
    async fn until_answered(
        &self,
        endpoint: &str,
        fields: &[(&str, &str)],
        deadline: Instant,
    ) -> Outcome {
        loop {
            let outcome = self.call(endpoint, fields).await;
            let retry = match outcome.status {
                None => true,
                Some(status) => status >= 500,
            };
            if !retry || Instant::now() > deadline {
                return outcome;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Books `slug` for the two days from `start`; the confirmed order number when acknowledged.
    async fn book(&self, slug: &str, start: i64, deadline: Instant) -> Option<String> {
        let key = uuid::Uuid::new_v4().to_string();
        let (start_date, end_date) = (day(start), day(start + 2));
        let reserved = self
            .until_answered(
                "reserve",
                &[
                    ("slug", slug),
                    ("start_date", &start_date),
                    ("start_time", "10:00"),
                    ("end_date", &end_date),
                    ("end_time", "10:00"),
                    ("request_key", &key),
                ],
                deadline,
            )
            .await;
        if reserved.status != Some(200) {
            return None;
        }
        let cart = self.until_answered("cart", &[], deadline).await;
        let number = serde_json::from_str::<Value>(&cart.body)
            .ok()?
            .get("number")?
            .as_str()?
            .to_owned();
        let confirmed = self
            .until_answered("confirm", &[("order", &number)], deadline)
            .await;
        (confirmed.status == Some(200)).then_some(number)
    }
}

async fn published_slugs(pool: &PgPool) -> Vec<String> {
    let slugs: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM products WHERE published ORDER BY id")
            .fetch_all(pool)
            .await
            .expect("products");
    assert!(!slugs.is_empty(), "the demo catalog has products");
    slugs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_under_load() {
    let postgres = PrivatePostgres::start();
    let server = ServerProcess::start(
        &postgres.url("rentwise"),
        &[("RENTWISE_DB_ACQUIRE_TIMEOUT_MS", "1000")],
    )
    .await;
    let base = server.url("");
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&postgres.url("rentwise"))
        .await
        .expect("connect to the private cluster");
    let slugs = published_slugs(&pool).await;
    let bookers_count = 6;
    let log: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let mut bookers = Vec::new();
    for n in 0..bookers_count {
        bookers.push(Arc::new(Booker {
            client: client(),
            cookie: sign_up(&client(), &base, n).await,
            base: base.clone(),
            log: log.clone(),
        }));
    }

    let started = Instant::now();
    let load_for = Duration::from_secs(16);
    let deadline = started + load_for;
    // Bookers: each its own product (while there are enough), so few bookings conflict.
    let mut tasks = tokio::task::JoinSet::new();
    for (n, booker) in bookers.iter().enumerate() {
        let booker = booker.clone();
        let slug = slugs[n % slugs.len()].clone();
        tasks.spawn(async move {
            let mut acknowledged = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                // Within the 365-day booking horizon; a date reused once it wraps gets a 409
                // when the product's units are taken, which is a correct answer, not a failure.
                let start = 30 + (i % 110) * 3;
                if let Some(number) = booker.book(&slug, start, deadline).await {
                    acknowledged.push(number);
                }
                i += 1;
            }
            acknowledged
        });
    }
    // Browsers and a load balancer's health probe.
    let pages: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let health: Arc<Mutex<Vec<Outcome>>> = Arc::default();
    let mut watchers = tokio::task::JoinSet::new();
    for path in [
        "/".to_owned(),
        format!("/rentals/{}", slugs[0]),
        "/performance/health".to_owned(),
    ] {
        let (url, into) = (
            format!("{base}{path}"),
            if path.starts_with("/performance") {
                health.clone()
            } else {
                pages.clone()
            },
        );
        watchers.spawn(async move {
            let client = client();
            while Instant::now() < deadline {
                let outcome = get(&client, &url).await;
                into.lock().expect("log").push(outcome);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }

    tokio::time::sleep(Duration::from_secs(4)).await;
    let down_at = Instant::now();
    postgres.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    postgres.start_again();
    let up_at = Instant::now();

    let mut acknowledged: Vec<String> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        acknowledged.extend(done.expect("booker task"));
    }
    while watchers.join_next().await.is_some() {}

    // Every acknowledged booking exists exactly once, and nothing else was booked.
    let confirmed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT o.number, count(r.id) FROM orders o JOIN reservations r ON r.order_id = o.id
          WHERE o.state = 'confirmed' AND r.state = 'confirmed' GROUP BY o.number",
    )
    .fetch_all(&pool)
    .await
    .expect("confirmed orders");
    let confirmed: BTreeMap<String, i64> = confirmed.into_iter().collect();
    let unique: std::collections::BTreeSet<&String> = acknowledged.iter().collect();
    assert_eq!(
        unique.len(),
        acknowledged.len(),
        "an order acknowledged twice"
    );
    for number in &acknowledged {
        assert_eq!(
            confirmed.get(number),
            Some(&1),
            "acknowledged order {number} holds exactly one booking"
        );
    }
    let unacknowledged: Vec<&String> = confirmed.keys().filter(|n| !unique.contains(n)).collect();

    // Failures: only while PostgreSQL was away (and the moments the pool needs to notice it is
    // back); each a quick 503, never a hang.
    let log = log.lock().expect("log").clone();
    let pages = pages.lock().expect("log").clone();
    let health = health.lock().expect("log").clone();
    let all: Vec<&Outcome> = log.iter().chain(pages.iter()).collect();
    let failed: Vec<&&Outcome> = all
        .iter()
        .filter(|o| o.status.is_none_or(|s| s >= 500))
        .collect();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in &failed {
        *statuses
            .entry(outcome.status.map_or("none".into(), |s| s.to_string()))
            .or_default() += 1;
    }
    let first_ok_health_after = health
        .iter()
        .filter(|o| o.started >= up_at && o.status == Some(200))
        .map(|o| o.started.duration_since(up_at))
        .min();
    let last_failure_after_up = failed
        .iter()
        .filter(|o| o.started >= up_at)
        .map(|o| o.started.duration_since(up_at))
        .max();
    let conflicts = log.iter().filter(|o| o.status == Some(409)).count();
    println!(
        "postgres restart under load: {} requests ({} bookings acknowledged by {} bookers, {} \
         confirmed without an answer, {conflicts} answered 409 taken), outage {:?}; failed {} \
         ({statuses:?}), timed out {}; health 200 \
         again {:?} after PostgreSQL was back; last failure {:?} after it was back; \
         health answers during the outage: {:?}",
        all.len(),
        acknowledged.len(),
        bookers_count,
        unacknowledged.len(),
        up_at.duration_since(down_at),
        failed.len(),
        all.iter().filter(|o| o.timed_out).count(),
        first_ok_health_after,
        last_failure_after_up,
        health
            .iter()
            .filter(|o| o.started >= down_at && o.started < up_at)
            .filter_map(|o| o.status)
            .collect::<std::collections::BTreeSet<_>>(),
    );
    assert!(!acknowledged.is_empty(), "some bookings went through");
    assert!(
        all.iter().all(|o| !o.timed_out),
        "no request may hang for {CLIENT_TIMEOUT:?}"
    );
    let errors_logged: Vec<String> = server
        .log_text()
        .lines()
        .filter(|line| line.contains("ERROR"))
        .map(str::to_owned)
        .collect();
    for outcome in &failed {
        assert_eq!(
            outcome.status,
            Some(503),
            "a failure during the outage is a 503: {}\nserver errors:\n{}",
            outcome.body,
            errors_logged.join("\n")
        );
        // In flight at some moment of the outage (or of the 5 s after it).
        assert!(
            outcome.finished >= down_at && outcome.started < up_at + Duration::from_secs(5),
            "a request failed outside the outage (+5 s): from {:?} to {:?} after it began: {}",
            outcome.started.saturating_duration_since(down_at),
            outcome.finished.saturating_duration_since(down_at),
            outcome.body
        );
    }
    assert!(
        health
            .iter()
            .any(|o| o.started >= down_at && o.started < up_at && o.status == Some(503)),
        "health says 503 while PostgreSQL is down"
    );
    let recovered = first_ok_health_after.expect("health is 200 again after the restart");
    assert!(
        recovered < Duration::from_secs(5),
        "recovered in {recovered:?}"
    );
    pool.close().await;
}

/// A backend killed while a request waits in it: that request is a clean 503, nothing of it is
/// written, and the next request succeeds.
#[sqlx::test(migrations = "../migrations")]
async fn a_backend_killed_mid_request_fails_that_request_only(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let base = app.url("");
    let slug: String =
        sqlx::query_scalar("SELECT slug FROM products WHERE published ORDER BY id LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("a product");
    let fields = |start: i64| {
        vec![
            ("slug", slug.clone()),
            ("start_date", day(start)),
            ("start_time", "10:00".to_owned()),
            ("end_date", day(start + 2)),
            ("end_time", "10:00".to_owned()),
        ]
    };
    let borrowed = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };

    // Hold the reservations table so the next booking waits inside its backend.
    let mut blocker = pool.begin().await.expect("blocker transaction");
    sqlx::query("LOCK TABLE reservations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let request = {
        let (base, fields) = (base.clone(), borrowed(&fields(40)));
        tokio::spawn(async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(&client(), &base, "reserve", &fields, None).await
        })
    };
    let mut victim = None;
    for _ in 0..400 {
        victim = sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_optional(&mut *blocker)
        .await
        .expect("pg_stat_activity");
        if victim.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(victim) = victim else {
        let waiting: Vec<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT state, wait_event_type, left(query, 80) FROM pg_stat_activity
              WHERE datname = current_database()",
        )
        .fetch_all(&mut *blocker)
        .await
        .expect("pg_stat_activity");
        panic!(
            "the booking never waited on the lock; finished: {}; backends: {waiting:?}",
            request.is_finished()
        );
    };
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(victim)
        .fetch_one(&mut *blocker)
        .await
        .expect("terminate");
    assert!(killed);
    blocker.rollback().await.expect("release the lock");
    let outcome = request.await.expect("request task");
    println!(
        "backend killed mid-request: answered {:?} after {:?}: {}",
        outcome.status,
        outcome.started.elapsed(),
        outcome.body
    );
    assert_eq!(outcome.status, Some(503), "{}", outcome.body);
    // The JSON form of `AppError::Busy`, which the page shows as "… try again in a few seconds."
    assert_eq!(outcome.body, "\"Busy\"");
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(written, 0, "the killed request wrote nothing");

    let next_fields = borrowed(&fields(40));
    let next_fields: Vec<(&str, &str)> =
        next_fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let next = post(&client(), &base, "reserve", &next_fields, None).await;
    assert_eq!(next.status, Some(200), "{}", next.body);
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(written, 1);
    app.finish().await;
}

/// A fresh database on the shared test server for a server process of a test's own.
async fn fresh_database(name: &str) -> (String, PgPool) {
    let admin_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let database = format!("rentwise_fault_{name}_{nanos}");
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url)
        .await
        .expect("connect to the test server");
    sqlx::query(&format!("CREATE DATABASE \"{database}\""))
        .execute(&admin)
        .await
        .expect("create the test database");
    admin.close().await;
    let url = match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{database}"),
        None => panic!("DATABASE_URL ends in a database name"),
    };
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .expect("connect to the fresh database");
    (url, pool)
}

async fn drop_database(url: &str, pool: PgPool) {
    pool.close().await;
    if let Some((server, database)) = url.rsplit_once('/') {
        if let Ok(admin) = PgPoolOptions::new()
            .max_connections(1)
            .connect(&format!("{server}/postgres"))
            .await
        {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
            ))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn job_states(pool: &PgPool) -> HashMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>(
        "SELECT state, count(*) FROM jobs WHERE kind = 'email' GROUP BY state",
    )
    .fetch_all(pool)
    .await
    .expect("job states")
    .into_iter()
    .collect()
}

/// SMTP is down while customers book; the server is SIGKILLed while it is in the middle of
/// delivering; after a restart and SMTP's return every confirmation arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_and_the_server_killed_mid_delivery_lose_and_double_nothing() {
    let (url, pool) = fresh_database("smtp").await;
    let mut sink = SmtpSink::start().await;
    sink.stop();
    let mut server = ServerProcess::start(
        &url,
        &[
            ("SMTP_URL", &sink.url()),
            ("RENTWISE_JOB_LEASE_SECS", "3"),
            ("RENTWISE_JOB_FIRST_RETRY_SECS", "1"),
        ],
    )
    .await;
    let base = server.url("");
    let slugs = published_slugs(&pool).await;
    let bookings = 5;
    let mut numbers = Vec::new();
    for n in 0..bookings {
        let booker = Booker {
            client: client(),
            cookie: sign_up(&client(), &base, n).await,
            base: base.clone(),
            log: Arc::default(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        let number = booker
            .book(&slugs[n % slugs.len()], 30 + n as i64 * 5, deadline)
            .await
            .expect("booked while SMTP is down");
        numbers.push(number);
    }
    // The deliveries fail while SMTP is down, and are retried.
    wait_for(
        "failed delivery attempts",
        Duration::from_secs(30),
        || async {
            let failing: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE kind = 'email' AND attempts >= 1
                AND last_error IS NOT NULL",
            )
            .fetch_one(&pool)
            .await
            .expect("count");
            failing == bookings as i64
        },
    )
    .await;
    let smtp_down_for = Instant::now();

    // SMTP answers again but hangs at the end of DATA: kill the server mid-delivery.
    sink.set_stall(true);
    sink.restart().await;
    wait_for(
        "a delivery in progress",
        Duration::from_secs(30),
        || async { sink.stalled() >= 1 },
    )
    .await;
    server.kill();
    let running = job_states(&pool).await.get("running").copied().unwrap_or(0);
    assert!(
        running >= 1,
        "the kill left a job running: {:?}",
        job_states(&pool).await
    );
    assert_eq!(sink.count(), 0, "nothing was accepted yet");

    sink.set_stall(false);
    let restarted = Instant::now();
    server.start_again().await;
    wait_for("every email sent", Duration::from_secs(60), || async {
        job_states(&pool)
            .await
            .get("succeeded")
            .copied()
            .unwrap_or(0)
            == bookings as i64
    })
    .await;
    let delivered_after = restarted.elapsed();
    let mut ids = sink.message_ids();
    ids.sort();
    let mut expected: Vec<String> = numbers
        .iter()
        .map(|n| format!("<booking_confirmation-{n}@rentwise.local>"))
        .collect();
    expected.sort();
    let states = job_states(&pool).await;
    let attempts: Vec<i32> = sqlx::query_scalar("SELECT attempts FROM jobs WHERE kind = 'email'")
        .fetch_all(&pool)
        .await
        .expect("attempts");
    println!(
        "SMTP down {:?} then hanging, server SIGKILLed mid-delivery: all {} delivered {:?} after \
         the restart; accepted {} (lost 0, doubled {}); job states {states:?}; attempts {attempts:?}",
        smtp_down_for.elapsed(),
        bookings,
        delivered_after,
        ids.len(),
        ids.len().saturating_sub(expected.len()),
    );
    assert_eq!(ids, expected, "each confirmation accepted exactly once");
    assert_eq!(states.get("failed"), None);
    drop(server);
    sink.stop();
    drop_database(&url, pool).await;
}

fn run(command: &str, args: &[&str]) {
    let status = std::process::Command::new(command)
        .args(args)
        .status()
        .unwrap_or_else(|err| panic!("{command}: {err}"));
    assert!(status.success(), "{command} {args:?} failed");
}

/// Stores `bytes` as an original in the cache at `dir`, as an upload does; returns its key.
fn store_original(dir: &std::path::Path, bytes: &[u8]) -> String {
    use server::images::{self, ImageCache, ImageSettings};
    let cache = ImageCache::open(dir, ImageSettings::default()).expect("cache");
    let processed = images::process(bytes, cache.settings()).expect("valid image");
    cache
        .put_original(&processed.key, processed.format, &processed.original)
        .expect("original stored");
    processed.key
}

async fn fetch(url: &str) -> (u16, String, Vec<u8>) {
    let response = client().get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, kind, response.bytes().await.expect("body").to_vec())
}

async fn images_health(server: &ServerProcess) -> (u16, Value) {
    let (status, _, body) = fetch(&server.url("/performance/health")).await;
    let report: Value = serde_json::from_slice(&body).expect("health JSON");
    (status, report)
}

/// The image cache on a 1 MB disk of its own, then full, then mounted read-only: photos fall
/// back to their originals, pages keep working, and health says what is wrong (still 200:
/// "degraded", so a load balancer keeps the instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_or_read_only_image_cache_serves_originals_and_health_says_so() {
    if !common::process::is_root() {
        println!("SKIPPED: mounting a small disk for the image cache needs root");
        return;
    }
    let (url, pool) = fresh_database("cache").await;
    let mut server = ServerProcess::prepare(&url, &[("RENTWISE_DEMO_DATA", "false")]);
    let cache = server::images::cache_dir(&server.data_dir);
    std::fs::create_dir_all(&cache).expect("cache dir");
    let mount_point = cache.display().to_string();
    run(
        "mount",
        &["-t", "tmpfs", "-o", "size=1m", "tmpfs", &mount_point],
    );
    let key = store_original(&cache, &server::images::samples::jpeg(1000, 700));
    // Fill the disk.
    let filler = cache.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).and_then(|()| file.flush()).is_ok() {}
    }
    server.start_again().await;

    let (status, kind, _) = fetch(&server.url(&format!("/img/{key}/400.webp"))).await;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"), "the original");
    let (status, _, _) = fetch(&server.url("/")).await;
    assert_eq!(status, 200, "pages keep working");
    let (status, report) = images_health(&server).await;
    let full = report["checks"]["images"].clone();
    println!(
        "image cache full: health {status} {}: images {full}",
        report["status"]
    );
    assert_eq!(status, 200);
    assert_eq!(report["status"], "degraded");
    assert_eq!(full["ok"], false);
    assert!(
        full["error"]
            .as_str()
            .is_some_and(|e| e.contains("No space left on device")),
        "{full}"
    );

    // Space again: variants are made and stored, and health is clear.
    std::fs::remove_file(&filler).expect("free the space");
    let (status, kind, _) = fetch(&server.url(&format!("/img/{key}/400.webp"))).await;
    assert_eq!((status, kind.as_str()), (200, "image/webp"));
    let (_, report) = images_health(&server).await;
    assert_eq!(report["checks"]["images"]["ok"], true, "{report}");

    // Read-only: again the original, and health says why.
    run("mount", &["-o", "remount,ro", &mount_point]);
    let (status, kind, _) = fetch(&server.url(&format!("/img/{key}/150.webp"))).await;
    let (status_page, _, _) = fetch(&server.url("/")).await;
    let (health_status, report) = images_health(&server).await;
    run("mount", &["-o", "remount,rw", &mount_point]);
    let read_only = report["checks"]["images"].clone();
    println!(
        "image cache read-only: health {health_status} {}: images {read_only}",
        report["status"]
    );
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    assert_eq!(status_page, 200);
    assert_eq!(read_only["ok"], false, "{report}");
    assert!(
        read_only["error"]
            .as_str()
            .is_some_and(|e| e.contains("not writable") || e.contains("Read-only")),
        "{read_only}"
    );
    server.kill();
    run("umount", &[&mount_point]);
    drop(server);
    drop_database(&url, pool).await;
}

/// The files below `dir` whose names `wanted` accepts.
fn files_named(dir: &std::path::Path, wanted: impl Fn(&str) -> bool) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(&wanted)
        })
        .collect()
}

/// SIGKILL while the server encodes every width of a large photo: what the cache holds is whole
/// or absent (writes go to a temporary file, then a rename), temporary files are cleared at the
/// next start, and the variants are made then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_image_encode_leaves_no_partial_files() {
    let (url, pool) = fresh_database("encode").await;
    let mut server = ServerProcess::prepare(&url, &[("RENTWISE_DEMO_DATA", "false")]);
    let cache = server::images::cache_dir(&server.data_dir);
    let key = store_original(&cache, &server::images::samples::jpeg(4000, 3000));
    server.start_again().await;
    let widths = server::images::ImageSettings::default().widths;
    let mut requests = tokio::task::JoinSet::new();
    for width in &widths {
        let url = server.url(&format!("/img/{key}/{width}.webp"));
        requests.spawn(async move { get(&client(), &url).await });
    }
    // Kill as soon as the first variant is stored: the others are being encoded then.
    let deadline = Instant::now() + Duration::from_secs(60);
    while files_named(&cache, |n| n.ends_with(".webp") && !n.starts_with('.')).is_empty() {
        assert!(Instant::now() < deadline, "no variant was made within 60 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    while requests.join_next().await.is_some() {}
    let variants_at_kill = files_named(&cache, |n| n.ends_with(".webp") && !n.starts_with('.'));
    let temp_at_kill = files_named(&cache, |n| n.starts_with(".tmp"));
    assert!(
        variants_at_kill.len() < widths.len(),
        "the kill came before every variant was made: {variants_at_kill:?}"
    );
    for file in &variants_at_kill {
        let bytes = std::fs::read(file).expect("variant");
        image::load_from_memory_with_format(&bytes, image::ImageFormat::WebP)
            .unwrap_or_else(|err| panic!("{} is a whole WebP: {err}", file.display()));
    }

    server.start_again().await;
    let temp_after = files_named(&cache, |n| n.starts_with(".tmp"));
    assert!(
        temp_after.is_empty(),
        "temporary files cleared: {temp_after:?}"
    );
    for width in &widths {
        let (status, kind, body) = fetch(&server.url(&format!("/img/{key}/{width}.webp"))).await;
        assert_eq!((status, kind.as_str()), (200, "image/webp"), "{width}");
        let image = image::load_from_memory_with_format(&body, image::ImageFormat::WebP)
            .expect("a whole WebP");
        assert_eq!(image.width(), *width);
    }
    println!(
        "SIGKILL mid-encode: {} of {} variants whole at the kill, {} temporary files left by it, \
         0 after the restart; every variant made after it",
        variants_at_kill.len(),
        widths.len(),
        temp_at_kill.len()
    );
    drop(server);
    drop_database(&url, pool).await;
}
