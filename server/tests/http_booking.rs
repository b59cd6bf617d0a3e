//! The booking journey over HTTP against the real router and PostgreSQL: bad input is a clear
//! 4xx that writes nothing, a taken unit is a 409, the session id changes at sign-in, and
//! someone else's order is a 404.

mod common;

use common::{borrowed, day, post_form, session_cookie, spawn_app, test_pool, TestApp};
use reqwest::header::{ACCEPT, CONTENT_TYPE, COOKIE, LOCATION, REFERER};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

const SLUG: &str = "vango-odyssey-air-500-family-tent";

/// Posts a server function's form fields; returns status, session cookie (if set) and body.
async fn call(
    app: &TestApp,
    endpoint: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> (u16, Option<String>, String) {
    let response = post_form(app, &format!("/api/{endpoint}"), fields, cookie).await;
    let status = response.status().as_u16();
    let cookie = session_cookie(response.headers());
    (status, cookie, response.text().await.expect("body"))
}

fn dates(start: &str, end: &str) -> Vec<(&'static str, String)> {
    vec![
        ("slug", SLUG.to_owned()),
        ("start_date", start.to_owned()),
        ("start_time", "10:00".to_owned()),
        ("end_date", end.to_owned()),
        ("end_time", "10:00".to_owned()),
    ]
}

async fn written_rows(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM reservations), (SELECT count(*) FROM orders)")
        .fetch_one(pool)
        .await
        .expect("count rows")
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_dates_are_a_400_naming_the_field_and_write_nothing(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let cases = [
        (
            day(10),
            day(9),
            "end_date",
            "The end must be after the start.",
        ),
        (
            day(-3),
            day(2),
            "start_date",
            "Rentals can't start in the past.",
        ),
        (
            day(500),
            day(502),
            "start_date",
            "We take bookings up to 365 days ahead.",
        ),
        ("2027-02-30".to_owned(), day(20), "start_date", "2027-03-14"),
        ("tomorrow".to_owned(), day(20), "start_date", "2027-03-14"),
        (
            String::new(),
            day(20),
            "start_date",
            "Please choose a start date.",
        ),
    ];
    for (start, end, field, message) in cases {
        for endpoint in ["quote", "reserve"] {
            let (status, _, body) =
                call(&app, endpoint, &borrowed(&dates(&start, &end)), None).await;
            assert_eq!(status, 400, "{endpoint} {start}..{end}: {body}");
            assert!(
                body.contains(&format!("\"field\":\"{field}\"")),
                "{endpoint} {start}: {body}"
            );
            assert!(body.contains(message), "{endpoint} {start}: {body}");
        }
    }
    // A too-short rental (the tent's minimum is an hour).
    let mut short = dates(&day(10), &day(10));
    short[4].1 = "10:30".to_owned();
    let (status, _, body) = call(&app, "reserve", &borrowed(&short), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("The minimum rental for this item is 1 hour."),
        "{body}"
    );
    // A bad quantity, and an unknown product.
    let mut many = dates(&day(10), &day(12));
    many.push(("quantity", "11".to_owned()));
    let (status, _, body) = call(&app, "reserve", &borrowed(&many), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"field\":\"quantity\""), "{body}");
    let mut unknown = dates(&day(10), &day(12));
    unknown[0].1 = "no-such-thing".to_owned();
    let (status, _, _) = call(&app, "reserve", &borrowed(&unknown), None).await;
    assert_eq!(status, 404);
    assert_eq!(written_rows(&pool).await, (0, 0));
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_plain_form_post_with_bad_dates_redirects_back_with_the_error(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let referer = app.url(&format!("/rentals/{SLUG}?start_date={}", day(10)));
    let response = app
        .client
        .post(app.url("/api/reserve"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ACCEPT, "text/html")
        .header(REFERER, &referer)
        .header("origin", app.url(""))
        .body(format!(
            "slug={SLUG}&start_date={}&start_time=&end_date={}&end_time=",
            day(10),
            day(9)
        ))
        .send()
        .await
        .expect("form post");
    assert_eq!(response.status(), 302);
    let location = response.headers()[LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(location.starts_with(&referer), "{location}");
    assert!(location.contains("__err="), "{location}");
    // The page the browser lands on shows the message next to the field.
    let page = app
        .client
        .get(&location)
        .send()
        .await
        .expect("GET the page with the error")
        .text()
        .await
        .expect("body");
    assert!(page.contains("The end must be after the start."), "{page}");
    assert_eq!(written_rows(&pool).await, (0, 0));
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn booking_signing_up_and_privacy_over_http(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let units: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM units u JOIN products p ON p.id = u.product_id WHERE p.slug = $1",
    )
    .bind(SLUG)
    .fetch_one(&pool)
    .await
    .expect("units");
    assert!(units >= 1);

    // Reserve every unit for the same dates: the last one fits, the next is a 409.
    let mut fields = dates(&day(20), &day(22));
    fields.push(("quantity", units.to_string()));
    let (status, cookie, body) = call(&app, "reserve", &borrowed(&fields), None).await;
    assert_eq!(status, 200, "{body}");
    let anonymous = cookie.expect("reserving starts a session");
    let (status, _, body) =
        call(&app, "reserve", &borrowed(&dates(&day(20), &day(22))), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("no longer available for these dates"),
        "{body}"
    );
    let quote = call(&app, "quote", &borrowed(&dates(&day(21), &day(23))), None).await;
    assert!(quote.2.contains("\"free_units\":0"), "{}", quote.2);

    // Confirming needs an account; signing up rotates the session id and keeps the cart.
    let (status, _, _) = call(&app, "confirm", &[], Some(&anonymous)).await;
    assert_eq!(status, 401);
    let sign_up = [
        ("name", "Ann Owner"),
        ("email", "ann@example.com"),
        ("password", "a long enough password"),
        ("next", "/cart"),
    ];
    let (status, cookie, body) = call(&app, "sign-up", &sign_up, Some(&anonymous)).await;
    assert_eq!(status, 200, "{body}");
    let ann = cookie.expect("a new session cookie at sign-up");
    assert_ne!(ann, anonymous, "the session id changes at sign-in");
    let (status, _, body) = call(&app, "sign-up", &sign_up, None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("exists already"), "{body}");

    let response = app
        .client
        .post(app.url("/api/confirm"))
        .header(COOKIE, &ann)
        .send()
        .await
        .expect("confirm");
    assert_eq!(response.status(), 200);
    let number: String = sqlx::query_scalar("SELECT number FROM orders WHERE state = 'confirmed'")
        .fetch_one(&pool)
        .await
        .expect("one confirmed order");
    let emails: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE kind = 'email'")
        .fetch_one(&pool)
        .await
        .expect("count email jobs");
    assert_eq!(emails, 1, "confirming enqueued the confirmation email");

    // The owner sees the order; another customer gets the same 404 as for no order at all.
    let page = |cookie: String, path: String| {
        let request = app.client.get(app.url(&path)).header(COOKIE, cookie);
        async move { request.send().await.expect("GET order page") }
    };
    let own = page(ann.clone(), format!("/orders/{number}")).await;
    assert_eq!(own.status(), 200);
    assert!(own.text().await.expect("body").contains(&number));
    let (_, bob, _) = call(
        &app,
        "sign-up",
        &[
            ("name", "Bob"),
            ("email", "bob@example.com"),
            ("password", "another long password"),
        ],
        None,
    )
    .await;
    let bob = bob.expect("Bob's session");
    let theirs = page(bob.clone(), format!("/orders/{number}")).await;
    assert_eq!(theirs.status(), 404);
    let none = page(bob.clone(), "/orders/R99999".to_owned()).await;
    assert_eq!(none.status(), 404);
    let (status, _, _) = call(&app, "cancel", &[("number", &number)], Some(&bob)).await;
    assert_eq!(status, 404);
    let state: String = sqlx::query_scalar("SELECT state FROM orders WHERE number = $1")
        .bind(&number)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "confirmed", "a stranger's cancel changed nothing");

    // The owner cancels; the units are free again.
    let (status, _, body) = call(&app, "cancel", &[("number", &number)], Some(&ann)).await;
    assert_eq!(status, 200, "{body}");
    let quote = call(&app, "quote", &borrowed(&dates(&day(21), &day(23))), None).await;
    assert!(
        quote.2.contains(&format!("\"free_units\":{units}")),
        "{}",
        quote.2
    );
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn signing_out_kills_the_session_and_signing_in_makes_a_new_one(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let account = [
        ("name", "Ann Owner"),
        ("email", "ann@example.com"),
        ("password", "a long enough password"),
        ("next", "/account/rentals"),
    ];
    let (status, cookie, body) = call(&app, "sign-up", &account, None).await;
    assert_eq!(status, 200, "{body}");
    let first = cookie.expect("a session cookie at sign-up");
    let (status, _, body) = call(&app, "my-rentals", &[], Some(&first)).await;
    assert_eq!(status, 200, "signed in: {body}");

    let (status, _, body) = call(&app, "sign-out", &[], Some(&first)).await;
    assert!(
        matches!(status, 200 | 302 | 303),
        "sign-out answered {status}: {body}"
    );
    // The old cookie, replayed after sign-out, is nobody's.
    let (status, _, body) = call(&app, "my-rentals", &[], Some(&first)).await;
    assert_eq!(status, 401, "the old session after sign-out: {body}");
    let (status, _, body) = call(&app, "me", &[], Some(&first)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body.trim(),
        "null",
        "nobody is signed in with the old cookie"
    );

    let sign_in = [
        ("email", "ann@example.com"),
        ("password", "a long enough password"),
        ("next", "/account/rentals"),
    ];
    let (status, cookie, body) = call(&app, "sign-in", &sign_in, Some(&first)).await;
    assert_eq!(status, 200, "{body}");
    let second = cookie.expect("a session cookie at sign-in");
    assert_ne!(second, first, "signing in again makes a new session id");
    let (status, _, body) = call(&app, "my-rentals", &[], Some(&second)).await;
    assert_eq!(status, 200, "signed in again: {body}");
    let (status, _, _) = call(&app, "my-rentals", &[], Some(&first)).await;
    assert_eq!(status, 401, "the old id stays dead");
    app.finish().await;
}
