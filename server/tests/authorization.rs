//! Who may see and do what on the customer side, over HTTP, for four people: someone signed
//! out, customer A (who owns an order), customer B, and staff. Every page of the app's route
//! list and every server function of its registry must have a line in the tables below, so a
//! new one cannot be forgotten; the staff side is covered the same way in staff_access.rs.

mod common;

use common::{
    booking_fields, borrowed, get_page, post_form, signed_in, spawn_app, test_pool, TestApp,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::collections::BTreeSet;

const SLUG: &str = "vango-odyssey-air-500-family-tent";

/// Who may call a customer-side server function.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    /// Anyone; what it answers may depend on who asks, but never shows another's data.
    Anyone,
    /// A signed-in person, about their own things only (401 signed out).
    SignedIn,
}

/// Every server function outside /api/admin, with who may call it.
const FUNCTIONS: [(&str, Access); 15] = [
    ("/api/me", Access::Anyone),
    ("/api/sign-in", Access::Anyone),
    ("/api/sign-up", Access::Anyone),
    ("/api/sign-out", Access::Anyone),
    ("/api/catalog", Access::Anyone),
    ("/api/product", Access::Anyone),
    ("/api/calendar", Access::Anyone),
    ("/api/quote", Access::Anyone),
    ("/api/reserve", Access::Anyone),
    ("/api/cart", Access::Anyone),
    ("/api/cart-remove", Access::Anyone),
    ("/api/my-rentals", Access::SignedIn),
    ("/api/confirm", Access::SignedIn),
    ("/api/order", Access::SignedIn),
    ("/api/cancel", Access::SignedIn),
];

/// Every page outside /admin: public, or needing an account (then the page asks to sign in).
const PAGES: [(&str, bool); 6] = [
    ("/", false),
    ("/rentals/{slug}", false),
    ("/cart", false),
    ("/orders/{number}", true),
    ("/account", false),
    ("/account/rentals", true),
];

fn registered_functions() -> BTreeSet<String> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .filter(|path| !server::staff::is_staff_path(path))
        .collect()
}

fn registered_pages() -> BTreeSet<String> {
    leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|route| route.path().to_owned())
        .filter(|path| !server::staff::is_staff_path(path))
        .collect()
}

#[test]
fn every_customer_route_and_function_has_a_line_here() {
    let listed: BTreeSet<String> = FUNCTIONS.iter().map(|(p, _)| (*p).to_owned()).collect();
    assert_eq!(registered_functions(), listed, "server functions");
    let listed: BTreeSet<String> = PAGES.iter().map(|(p, _)| (*p).to_owned()).collect();
    assert_eq!(registered_pages(), listed, "pages");
}

async fn post(
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
    cookie: Option<&str>,
) -> (u16, String) {
    let response = post_form(app, path, fields, cookie).await;
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

#[sqlx::test(migrations = "../migrations")]
async fn nobody_sees_or_changes_another_customers_orders(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let a = signed_in(&app, &pool, "ann@example.com", false).await;
    let b = signed_in(&app, &pool, "bob@example.com", false).await;
    let staff = signed_in(&app, &pool, "sam@example.com", true).await;
    let people = [
        ("signed out", None),
        ("A", Some(a.as_str())),
        ("B", Some(b.as_str())),
        ("staff", Some(staff.as_str())),
    ];

    // A books one thing and holds another in the cart.
    let (first, second) = (booking_fields(SLUG, 30), booking_fields(SLUG, 60));
    assert_eq!(
        post(&app, "/api/reserve", &borrowed(&first), Some(&a))
            .await
            .0,
        200
    );
    assert_eq!(post(&app, "/api/confirm", &[], Some(&a)).await.0, 200);
    assert_eq!(
        post(&app, "/api/reserve", &borrowed(&second), Some(&a))
            .await
            .0,
        200
    );
    let number: String = sqlx::query_scalar("SELECT number FROM orders WHERE state = 'confirmed'")
        .fetch_one(&pool)
        .await
        .expect("A's order");
    let (cart_number, line): (String, i64) = sqlx::query_as(
        "SELECT o.number, r.id FROM orders o JOIN reservations r ON r.order_id = o.id
          WHERE o.state = 'held'",
    )
    .fetch_one(&pool)
    .await
    .expect("A's cart");

    // Functions that need an account say so to someone signed out.
    for (path, access) in FUNCTIONS {
        if access == Access::SignedIn {
            let fields: &[(&str, &str)] = if path == "/api/my-rentals" || path == "/api/confirm" {
                &[]
            } else {
                &[("number", &number)]
            };
            let (status, _) = post(&app, path, fields, None).await;
            assert_eq!(status, 401, "signed out: {path}");
        }
    }
    // Pages that need an account ask for it; the others are there for everyone.
    for (pattern, needs_account) in PAGES {
        let path = pattern.replace("{slug}", SLUG).replace("{number}", &number);
        for (who, cookie) in people {
            let (status, body) = get_page(&app, &path, cookie).await;
            let expected = match (needs_account, who, pattern) {
                (true, "signed out", _) => 401,
                (_, "B" | "staff", "/orders/{number}") => 404,
                _ => 200,
            };
            assert_eq!(status, expected, "{who}: GET {path}");
            if who != "A" {
                assert!(
                    !body.contains(&cart_number),
                    "{who} sees no trace of A's cart on {path}"
                );
            }
            if pattern.starts_with("/orders") && who != "A" {
                assert!(
                    !body.contains("Vango"),
                    "{who} learns nothing of A's order on {path}"
                );
            }
        }
    }

    // Reading A's order: A yes; B and staff (on the customer side) get the 404 of no order.
    for (who, cookie) in people {
        let (status, body) = post(&app, "/api/order", &[("number", &number)], cookie).await;
        let expected = match who {
            "signed out" => 401,
            "A" => 200,
            _ => 404,
        };
        assert_eq!(status, expected, "{who}: order {body}");
        let (status, body) = post(&app, "/api/my-rentals", &[], cookie).await;
        if who == "signed out" {
            assert_eq!(status, 401);
        } else {
            assert_eq!(status, 200);
            assert_eq!(
                body.contains(&number),
                who == "A",
                "{who}: my rentals {body}"
            );
        }
        let (status, body) = post(&app, "/api/cart", &[], cookie).await;
        assert_eq!(status, 200);
        assert_eq!(
            body.contains(&cart_number),
            who == "A",
            "{who}: cart {body}"
        );
    }

    // Changing A's things: B's and staff's attempts change nothing; A's own work.
    for (who, cookie) in [people[0], people[2], people[3]] {
        post(&app, "/api/cancel", &[("number", &number)], cookie).await;
        let line_id = line.to_string();
        post(
            &app,
            "/api/cart-remove",
            &[("reservation_id", &line_id)],
            cookie,
        )
        .await;
        post(&app, "/api/confirm", &[("order", &cart_number)], cookie).await;
        let (order, held): (String, String) = sqlx::query_as(
            "SELECT (SELECT state FROM orders WHERE number = $1),
                    (SELECT state FROM reservations WHERE id = $2)",
        )
        .bind(&number)
        .bind(line)
        .fetch_one(&pool)
        .await
        .expect("states");
        assert_eq!(
            (order.as_str(), held.as_str()),
            ("confirmed", "held"),
            "after {who}"
        );
    }
    let (status, _) = post(&app, "/api/cancel", &[("number", &number)], Some(&a)).await;
    assert_eq!(status, 200);
    let state: String = sqlx::query_scalar("SELECT state FROM orders WHERE number = $1")
        .bind(&number)
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "cancelled");
    app.finish().await;
}
