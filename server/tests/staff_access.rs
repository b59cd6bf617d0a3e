//! Who may use the staff side, over HTTP. Every staff page and every staff server function —
//! listed from the app's own route list and server-function registry, so a new one cannot be
//! forgotten — is refused to someone signed out (401) and to a customer (byte for byte the
//! 404 of a page that does not exist, nonce aside), and served to staff.

mod common;

use common::{signed_in, spawn_app, test_pool, TestApp};
use reqwest::header::{CONTENT_TYPE, COOKIE};
use reqwest::Method;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Every staff page of the app's router, with its parameters filled in.
fn staff_pages() -> Vec<String> {
    let pages: Vec<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|route| route.path().to_owned())
        .filter(|path| server::staff::is_staff_path(path))
        // The catch-all of unknown staff addresses is asked for by name below.
        .filter(|path| !path.contains('*'))
        .map(|path| {
            path.split('/')
                .map(
                    |part| match part.trim_start_matches(':').trim_matches(['{', '}']) {
                        _ if !part.starts_with(':') && !part.starts_with('{') => part.to_owned(),
                        "number" => "R10001".to_owned(),
                        "slug" => "vango-odyssey-air-500-family-tent".to_owned(),
                        _ => "1".to_owned(),
                    },
                )
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    assert!(pages.len() >= 12, "the staff pages were found: {pages:?}");
    pages
}

/// Every staff server function: everything under /api/admin.
fn staff_functions() -> Vec<(&'static str, Method)> {
    let functions: Vec<_> = leptos::server_fn::axum::server_fn_paths()
        .filter(|(path, _)| server::staff::is_staff_path(path))
        .map(|(path, method)| {
            (
                path,
                Method::from_bytes(method.as_str().as_bytes()).expect("an HTTP method"),
            )
        })
        .collect();
    assert!(
        functions.len() >= 25,
        "the staff functions were found: {functions:?}"
    );
    functions
}

/// The server's other staff endpoints (plain axum routes).
const STAFF_ENDPOINTS: [(&str, &str); 2] = [
    (
        "POST",
        "/admin/products/vango-odyssey-air-500-family-tent/images",
    ),
    (
        "GET",
        "/admin/reports/orders.csv?from=2027-01-01&to=2027-01-31",
    ),
];

async fn send(app: &TestApp, method: Method, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.client.request(method.clone(), app.url(path));
    if method == Method::POST {
        request = request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body("");
    }
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.expect("the request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("the body"))
}

/// A page with its per-response nonce blanked out.
fn without_nonce(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("nonce=\"") {
        out.push_str(&rest[..at + 7]);
        rest = &rest[at + 7..];
        rest = rest.find('"').map_or("", |end| &rest[end..]);
    }
    out.push_str(rest);
    out
}

#[sqlx::test(migrations = "../migrations")]
async fn only_staff_reach_the_staff_side_and_others_learn_nothing(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = test_pool(connect).await;
    let app = spawn_app(pool.clone()).await;
    let customer = signed_in(&app, &pool, "ann@example.com", false).await;
    let staff = signed_in(&app, &pool, "sam@example.com", true).await;
    let (status, nowhere) = send(&app, Method::GET, "/no-such-page", Some(&customer)).await;
    assert_eq!(status, 404);
    let nowhere = without_nonce(&nowhere);

    let mut requests: Vec<(Method, String, bool)> = staff_pages()
        .into_iter()
        .map(|path| (Method::GET, path, true))
        .collect();
    requests.extend(
        staff_functions()
            .into_iter()
            .map(|(path, method)| (method, path.to_owned(), false)),
    );
    requests.extend(STAFF_ENDPOINTS.iter().map(|(m, p)| {
        (
            Method::from_bytes(m.as_bytes()).expect("method"),
            (*p).to_owned(),
            false,
        )
    }));
    requests.push((Method::GET, "/admin/not-a-page".to_owned(), true));

    for (method, path, is_page) in &requests {
        let (status, body) = send(&app, method.clone(), path, None).await;
        assert_eq!(status, 401, "signed out: {method} {path}");
        if *is_page {
            assert!(
                body.contains("Please sign in with your staff account"),
                "{path} asks to sign in"
            );
            assert!(
                !body.contains("admin-nav"),
                "{path} shows no staff navigation"
            );
        }

        let (status, body) = send(&app, method.clone(), path, Some(&customer)).await;
        assert_eq!(status, 404, "customer: {method} {path}");
        assert_eq!(
            without_nonce(&body),
            nowhere,
            "customer: {method} {path} is the 404 of nothing"
        );

        let (status, body) = send(&app, method.clone(), path, Some(&staff)).await;
        assert_ne!(without_nonce(&body), nowhere, "staff: {method} {path}");
        if path == "/admin/not-a-page" {
            assert_eq!(status, 404);
        } else if *is_page
            && !path.contains("R10001")
            && !path.contains("/emails/")
            && !path.ends_with("/1")
        {
            assert_eq!(status, 200, "staff: {method} {path}");
        } else {
            // Without their arguments, functions answer 400; pages of things that do not exist, 404.
            assert!(
                matches!(status, 200 | 201 | 303 | 400 | 404),
                "staff: {method} {path} answered {status}"
            );
        }
        if status == 404 {
            assert!(
                !body.contains("Page not found"),
                "staff see what is missing: {path}"
            );
        }
    }
    app.finish().await;
}
