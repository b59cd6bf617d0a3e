//! Hostile and careless input over HTTP against the real router and PostgreSQL: script payloads
//! in every text a customer or staff member can enter come back escaped on every page that
//! shows them; SQL metacharacters search harmlessly; sign-in guessing is rate-limited per
//! address and per account, sign-ups per address; a retried booking submit books once.

mod common;

use common::{
    booking_fields, borrowed, get_page, post_form, session_cookie, signed_in, spawn_app, test_pool,
    url_encode,
};
use reqwest::header::RETRY_AFTER;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// Ends a title or a textarea, starts a script, breaks out of an attribute, adds a handler.
const PAYLOAD: &str =
    r#"</title></textarea><script>alert(1)</script>"><img src=x onerror=alert(2)>"#;

async fn first_slug(pool: &PgPool) -> (i64, String) {
    sqlx::query_as("SELECT id, slug FROM products WHERE published ORDER BY id LIMIT 1")
        .fetch_one(pool)
        .await
        .expect("a product")
}

#[sqlx::test(migrations = "../migrations")]
async fn script_payloads_in_every_text_field_render_escaped(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let (product_id, slug) = first_slug(&pool).await;

    // Staff-entered texts, written as staff forms store them (the pages must escape, whatever
    // the forms let through): product name, summary, description, a unit's label, a photo's
    // alternative text, a category's name.
    sqlx::query(
        "UPDATE products SET name = 'Tent ' || $2, summary = $2, description = $2 WHERE id = $1",
    )
    .bind(product_id)
    .bind(PAYLOAD)
    .execute(&pool)
    .await
    .expect("product texts");
    sqlx::query("UPDATE units SET label = left($2, 30) || id WHERE product_id = $1")
        .bind(product_id)
        .bind(PAYLOAD)
        .execute(&pool)
        .await
        .expect("unit label");
    sqlx::query(
        "UPDATE categories SET name = 'Camping ' || $1
          WHERE id = (SELECT category_id FROM products WHERE id = $2)",
    )
    .bind(PAYLOAD)
    .bind(product_id)
    .execute(&pool)
    .await
    .expect("category name");
    app.catalog.reload(&pool).await.expect("catalog reload");

    // A customer's own texts: the name at sign-up, entered through the real form.
    let response = post_form(
        &app,
        "/api/sign-up",
        &[
            ("name", PAYLOAD),
            ("email", "mallory@example.com"),
            ("password", "a long enough password"),
        ],
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let customer = session_cookie(response.headers()).expect("session");
    let fields = booking_fields(&slug, 30);
    let reserved = post_form(&app, "/api/reserve", &borrowed(&fields), Some(&customer)).await;
    assert_eq!(
        reserved.status(),
        200,
        "{}",
        reserved.text().await.unwrap_or_default()
    );
    let confirmed = post_form(&app, "/api/confirm", &[], Some(&customer)).await;
    assert_eq!(confirmed.status(), 200);
    let (number, customer_id): (String, i64) =
        sqlx::query_as("SELECT number, customer_id FROM orders WHERE state = 'confirmed'")
            .fetch_one(&pool)
            .await
            .expect("the order");
    let staff = signed_in(&app, &pool, "sam@shop.test", true).await;

    let searched = format!("/?q={}", url_encode(PAYLOAD));
    let pages: Vec<(String, Option<&str>)> = vec![
        ("/".to_owned(), None),
        (searched, None),
        (format!("/rentals/{slug}"), None),
        ("/account/rentals".to_owned(), Some(&customer)),
        (format!("/orders/{number}"), Some(&customer)),
        ("/admin".to_owned(), Some(&staff)),
        ("/admin/customers".to_owned(), Some(&staff)),
        (format!("/admin/customers/{customer_id}"), Some(&staff)),
        ("/admin/orders".to_owned(), Some(&staff)),
        (format!("/admin/orders/{number}"), Some(&staff)),
        ("/admin/products".to_owned(), Some(&staff)),
        (format!("/admin/products/{slug}"), Some(&staff)),
    ];
    for (path, cookie) in &pages {
        let (status, body) = get_page(&app, path, *cookie).await;
        assert_eq!(status, 200, "{path}");
        for raw in ["<script>alert(1)", "\"><img src=x", "<img src=x onerror"] {
            assert!(
                !body.contains(raw),
                "{path} carries {raw:?} unescaped:\n{}",
                context(&body, raw)
            );
        }
        assert!(
            body.contains("&lt;script&gt;alert(1)") || body.contains("\\u003cscript"),
            "{path} shows the payload, escaped"
        );
    }
    app.finish().await;
}

fn context(body: &str, needle: &str) -> String {
    let at = body.find(needle).unwrap_or(0);
    body.chars()
        .skip(body[..at].chars().count().saturating_sub(120))
        .take(240)
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn sql_metacharacters_search_harmlessly_and_unknown_parameters_are_ignored(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let products: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&pool)
        .await
        .expect("count");
    for q in [
        "'; DROP TABLE products; --",
        "' OR '1'='1",
        "%",
        "_",
        "\\",
        "tent' UNION SELECT password_hash FROM users --",
        "\u{0}",
        "((((",
        ":*",
        "!",
        "&|<->",
    ] {
        let (status, body) = get_page(&app, &format!("/?q={}", url_encode(q)), None).await;
        let expected = if q.contains('\u{0}') { 400 } else { 200 };
        assert_eq!(status, expected, "{q:?}");
        assert!(!body.contains("$argon2"), "{q:?} leaks nothing");
        assert!(
            !body.contains("Sorry, something went wrong"),
            "{q:?} is no error of ours"
        );
    }
    // A NUL byte, which PostgreSQL refuses in text, is the person's error wherever it is typed.
    for (endpoint, fields) in [
        (
            "/api/sign-up",
            [
                ("name", "Nul\u{0}l"),
                ("email", "nul@example.com"),
                ("password", "a long enough password"),
            ],
        ),
        (
            "/api/sign-up",
            [
                ("name", "Nul"),
                ("email", "nul\u{0}@example.com"),
                ("password", "a long enough password"),
            ],
        ),
        (
            "/api/sign-in",
            [
                ("email", "nul\u{0}@example.com"),
                ("password", "a long enough password"),
                ("next", "/"),
            ],
        ),
    ] {
        let response = post_form(&app, endpoint, &fields, None).await;
        assert_eq!(response.status(), 400, "{endpoint} {fields:?}");
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(after, products);

    // Parameters the catalog does not know (a campaign's utm_source, a typo) change nothing.
    let (_, plain) = get_page(&app, "/?q=tent", None).await;
    let (status, tagged) = get_page(&app, "/?q=tent&utm_source=news&zzz=%3Cscript%3E", None).await;
    assert_eq!(status, 200);
    let strip = |html: &str| {
        html.split("nonce=\"")
            .map(|part| part.split_once('"').map_or(part, |(_, rest)| rest))
            .collect::<String>()
    };
    assert_eq!(strip(&plain), strip(&tagged));
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn sign_in_guessing_is_limited_per_account_and_per_address(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    app::ssr::accounts::create_user(&pool, "ann@example.com", "Ann", "the right password", false)
        .await
        .expect("account");
    let served = &app;
    let attempt = |email: String, password: &'static str| async move {
        post_form(
            served,
            "/api/sign-in",
            &[("email", &email), ("password", password)],
            None,
        )
        .await
    };
    // Five wrong guesses a minute for one account (the default) are answered as wrong...
    for _ in 0..5 {
        let response = attempt("ann@example.com".into(), "a wrong guess").await;
        assert_eq!(response.status(), 400);
    }
    // ...the sixth, even with the right password, waits: 429 with Retry-After, in seconds,
    // and no session.
    let response = attempt("ANN@example.com".into(), "the right password").await;
    assert_eq!(response.status(), 429);
    assert_eq!(session_cookie(response.headers()), None);
    let retry: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (1..=12).contains(&retry),
        "one attempt back within 12 s: {retry}"
    );
    let body = response.text().await.expect("body");
    assert!(body.contains("TooManyAttempts"), "{body}");

    // Other accounts from the same address go on, up to the address's 20 a minute: Ann's six
    // attempts were counted for it, so it runs out after 14 more (15 if the test was slow
    // enough for one attempt to come back: one does every 3 s).
    let mut statuses = Vec::new();
    for n in 0..17 {
        let response = attempt(format!("someone{n}@example.com"), "guess").await;
        statuses.push(response.status().as_u16());
    }
    let refused_from = statuses.iter().position(|s| *s == 429);
    assert!(
        matches!(refused_from, Some(14 | 15)),
        "the address runs out after 20: {statuses:?}"
    );
    let refused_from = refused_from.unwrap_or_default();
    assert!(
        statuses[..refused_from].iter().all(|s| *s == 400),
        "{statuses:?}"
    );

    // New accounts from one address: 20 a minute too, counted apart from sign-ins (21 if the
    // test was slow enough for one to come back: one does every 3 s).
    let mut statuses = Vec::new();
    for n in 0..23 {
        let email = format!("new{n}@example.com");
        let fields = [
            ("name", "New Customer"),
            ("email", email.as_str()),
            ("password", "a long enough password"),
        ];
        statuses.push(
            post_form(&app, "/api/sign-up", &fields, None)
                .await
                .status()
                .as_u16(),
        );
    }
    let refused_from = statuses.iter().position(|s| *s == 429);
    assert!(matches!(refused_from, Some(20 | 21)), "{statuses:?}");
    let refused_from = refused_from.unwrap_or_default();
    assert!(
        statuses[..refused_from].iter().all(|s| *s == 200),
        "{statuses:?}"
    );
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE email LIKE 'new%'")
        .fetch_one(&pool)
        .await
        .expect("count");
    let made = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(accounts, made as i64, "refused sign-ups made no account");
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_retried_booking_submit_books_once(_: PgPoolOptions, connect: PgConnectOptions) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let (_, slug) = first_slug(&pool).await;
    let ann = signed_in(&app, &pool, "ann@example.com", false).await;
    let mut fields = booking_fields(&slug, 30);
    fields.push(("request_key", uuid::Uuid::new_v4().to_string()));
    fields.push(("quantity", "2".to_owned()));
    for _ in 0..3 {
        let response = post_form(&app, "/api/reserve", &borrowed(&fields), Some(&ann)).await;
        assert_eq!(response.status(), 200);
    }
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations WHERE state = 'held'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(
        held, 2,
        "three submits of one request hold its two units once"
    );

    // Someone else replaying the key gets no view of Ann's holds.
    let bob = signed_in(&app, &pool, "bob@example.com", false).await;
    let replayed = post_form(&app, "/api/reserve", &borrowed(&fields), Some(&bob)).await;
    assert_eq!(replayed.status(), 400);
    let bad_key = [("request_key", "not-a-uuid".to_owned())];
    let mut bad = booking_fields(&slug, 40);
    bad.extend(bad_key);
    assert_eq!(
        post_form(&app, "/api/reserve", &borrowed(&bad), Some(&bob))
            .await
            .status(),
        400
    );

    // Confirm submitted twice at once, then once more: one order, one email.
    let number: String = sqlx::query_scalar("SELECT number FROM orders WHERE state = 'held'")
        .fetch_one(&pool)
        .await
        .expect("the cart");
    let order = [("order", number.as_str())];
    let (first, second) = tokio::join!(
        post_form(&app, "/api/confirm", &order, Some(&ann)),
        post_form(&app, "/api/confirm", &order, Some(&ann)),
    );
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    assert_eq!(
        post_form(&app, "/api/confirm", &[("order", &number)], Some(&ann))
            .await
            .status(),
        200
    );
    let (orders, lines, emails): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM orders WHERE state = 'confirmed'),
                (SELECT count(*) FROM reservations WHERE state = 'confirmed'),
                (SELECT count(*) FROM jobs WHERE kind = 'email')",
    )
    .fetch_one(&pool)
    .await
    .expect("counts");
    assert_eq!((orders, lines, emails), (1, 2, 1));
    // Bob cannot confirm Ann's order by naming it.
    let response = post_form(&app, "/api/confirm", &[("order", &number)], Some(&bob)).await;
    assert_eq!(response.status(), 400);
    app.finish().await;
}
