//! Staff photo uploads over HTTP against the real router and PostgreSQL: a staff member's photo
//! is stored once, appended to the product, announced to the catalog and warmed; strangers,
//! customers and bad files are refused with the right status and leave nothing behind.

mod common;

use common::{files_under, test_pool};
use reqwest::header::{CONTENT_TYPE, COOKIE, ORIGIN};
use server::images::{samples, ImageCache, ImageSettings};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::PgPool;
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

const SLUG: &str = "vango-odyssey-air-500-family-tent";
const PASSWORD: &str = "correct horse battery staple";
/// Small, so the oversized bodies of these tests stay small too.
const MAX_UPLOAD_BYTES: usize = 512 * 1024;

/// The real router with an image cache in a folder this test can look into.
struct UploadApp {
    address: SocketAddr,
    client: reqwest::Client,
    cache: Arc<ImageCache>,
    pool: PgPool,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

impl UploadApp {
    async fn start(pool: PgPool) -> Self {
        server::demo::seed_if_empty(&pool)
            .await
            .expect("demo data loads into a fresh database");
        let config = server::config::Config::from_lookup(|_| None).expect("default config");
        let dir = std::env::temp_dir().join(format!(
            "rentwise-upload-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let cache = ImageCache::open(
            &dir,
            ImageSettings {
                max_upload_bytes: MAX_UPLOAD_BYTES,
                ..ImageSettings::default()
            },
        )
        .expect("image cache");
        let catalog = app::ssr::catalog_cache::CatalogCache::empty();
        let router = server::http::router(
            server::http::AppState {
                leptos_options: server::leptos_options(&config),
                shop: server::shop_context(&config, pool.clone(), catalog),
                images: cache.clone(),
            },
            &server::http::HttpSettings::default(),
            server::observability::ObservabilityState::new(
                server::observability::Metrics::started_at(std::time::Instant::now()),
                pool.clone(),
                std::env::temp_dir(),
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let address = listener.local_addr().expect("bound address");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await
                .expect("test server runs");
        });
        UploadApp {
            address,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            cache,
            pool,
            shutdown,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Creates an account and signs in through the sign-in form; returns the session cookie.
    async fn signed_in(&self, email: &str, staff: bool) -> String {
        app::ssr::accounts::create_user(&self.pool, email, "Test Person", PASSWORD, staff)
            .await
            .expect("account created");
        let body = format!(
            "email={}&password={}",
            email.replace('@', "%40"),
            PASSWORD.replace(' ', "+")
        );
        let response = self
            .client
            .post(self.url("/api/sign-in"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ORIGIN, self.url(""))
            .body(body)
            .send()
            .await
            .expect("sign-in answers");
        common::session_cookie(response.headers()).expect("signing in sets the session cookie")
    }

    /// Posts `body` as a same-origin multipart form; returns the status and the body text.
    async fn upload(&self, slug: &str, cookie: Option<&str>, body: Form) -> (u16, String) {
        let mut request = self
            .client
            .post(self.url(&format!("/admin/products/{slug}/images")))
            .header(ORIGIN, self.url(""))
            .header(CONTENT_TYPE, body.content_type)
            .body(body.bytes);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.expect("upload answers");
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    async fn finish(self) {
        drop(self.client);
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        self.pool.close().await;
        let _ = std::fs::remove_dir_all(self.cache.dir());
    }
}

struct Form {
    content_type: String,
    bytes: Vec<u8>,
}

/// A multipart/form-data body with the `file` field and, if given, `alt`.
fn form(file: &[u8], alt: Option<&str>) -> Form {
    let boundary = "rentwise-test-boundary-5f0c9a";
    let mut bytes = Vec::new();
    if let Some(alt) = alt {
        bytes.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"alt\"\r\n\r\n{alt}\r\n"
            )
            .as_bytes(),
        );
    }
    bytes.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(file);
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Form {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        bytes,
    }
}

async fn counts(pool: &PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM product_images)")
        .fetch_one(pool)
        .await
        .expect("count rows")
}

#[sqlx::test(migrations = "../migrations")]
async fn a_staff_upload_is_stored_once_appended_announced_and_warmed(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = UploadApp::start(test_pool(connect).await).await;
    let staff = app.signed_in("staff@rentwise.test", true).await;
    let product: i64 = sqlx::query_scalar("SELECT id FROM products WHERE slug = $1")
        .bind(SLUG)
        .fetch_one(&app.pool)
        .await
        .expect("the demo product exists");
    let photos_before: i64 =
        sqlx::query_scalar("SELECT count(*) FROM product_images WHERE product_id = $1")
            .bind(product)
            .fetch_one(&app.pool)
            .await
            .expect("count photos");
    let mut listener = PgListener::connect_with(&app.pool)
        .await
        .expect("listen connection");
    listener
        .listen("catalog_changed")
        .await
        .expect("listen to catalog changes");

    let photo = samples::jpeg(640, 480);
    let (status, body) = app
        .upload(SLUG, Some(&staff), form(&photo, Some("The tent, pitched")))
        .await;
    assert_eq!(status, 201, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("a JSON answer");
    let key = answer["key"].as_str().expect("a key").to_owned();
    assert!(server::images::is_valid_key(&key), "{key}");
    assert_eq!(answer["width"], 640);
    assert_eq!(answer["height"], 480);
    assert_eq!(answer["position"], photos_before);
    let (alt, position): (String, i32) = sqlx::query_as(
        "SELECT alt, position FROM product_images WHERE product_id = $1 AND image_key = $2",
    )
    .bind(product)
    .bind(&key)
    .fetch_one(&app.pool)
    .await
    .expect("the photo is attached to the product");
    assert_eq!(
        (alt.as_str(), i64::from(position)),
        ("The tent, pitched", photos_before)
    );
    let notice = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .expect("the catalog is told within 5 s")
        .expect("a notification");
    assert_eq!(notice.payload(), "product_images");

    // The same file again: one image, still one place on the product.
    let (status, body) = app.upload(SLUG, Some(&staff), form(&photo, None)).await;
    assert_eq!(status, 200, "{body}");
    let again: serde_json::Value = serde_json::from_str(&body).expect("a JSON answer");
    assert_eq!(again["key"], key.as_str());
    assert_eq!(again["position"], photos_before);
    let (images, attached): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM images WHERE key = $1),
                (SELECT count(*) FROM product_images WHERE image_key = $1)",
    )
    .bind(&key)
    .fetch_one(&app.pool)
    .await
    .expect("count rows");
    assert_eq!((images, attached), (1, 1));

    // A different photo goes after it.
    let (status, body) = app
        .upload(SLUG, Some(&staff), form(&samples::jpeg(320, 240), None))
        .await;
    assert_eq!(status, 201, "{body}");
    let second: serde_json::Value = serde_json::from_str(&body).expect("a JSON answer");
    assert_eq!(second["position"], photos_before + 1);

    // Warming makes every variant without anyone asking for it.
    let smallest = app.cache.dir().join(&key).join("150.webp");
    let largest = app.cache.dir().join(&key).join("800.webp");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !(smallest.is_file() && largest.is_file()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "variants were not warmed: {:?}",
            files_under(app.cache.dir())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.finish().await;
}

#[sqlx::test(migrations = "../migrations")]
async fn refused_uploads_answer_clearly_and_leave_nothing_behind(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let app = UploadApp::start(test_pool(connect).await).await;
    let staff = app.signed_in("staff@rentwise.test", true).await;
    let customer = app.signed_in("customer@rentwise.test", false).await;
    let before = counts(&app.pool).await;
    let photo = samples::jpeg(64, 48);
    let truncated = photo[..photo.len() / 2].to_vec();
    let just_too_big: Vec<u8> = photo
        .iter()
        .copied()
        .cycle()
        .take(MAX_UPLOAD_BYTES + 1)
        .collect();
    let far_too_big = vec![0u8; 3 * MAX_UPLOAD_BYTES];
    let staff = Some(staff.as_str());
    let cases = [
        ("anonymous", SLUG, None, photo.clone(), 401),
        (
            "customer",
            SLUG,
            Some(customer.as_str()),
            photo.clone(),
            404,
        ),
        ("unknown product", "no-such-tent", staff, photo.clone(), 404),
        (
            "text file",
            SLUG,
            staff,
            b"hello, not a photo".to_vec(),
            415,
        ),
        ("truncated JPEG", SLUG, staff, truncated, 422),
        ("file over the limit", SLUG, staff, just_too_big, 413),
        ("body far over the limit", SLUG, staff, far_too_big, 413),
        (
            "pixel flood",
            SLUG,
            staff,
            samples::png_pixel_flood(20_000, 20_000),
            413,
        ),
    ];
    for (name, slug, cookie, file, expected) in cases {
        let (status, body) = app.upload(slug, cookie, form(&file, None)).await;
        assert_eq!(status, expected, "{name}: {body}");
        if name == "customer" {
            // The staff guard answers a customer with the page of an address that does not exist.
            assert!(body.contains("<h1>Page not found</h1>"), "{name}: {body}");
        } else {
            assert!(
                body.trim_end().ends_with('.') && body.len() > 10,
                "{name} is answered with a sentence: {body:?}"
            );
        }
        assert_eq!(counts(&app.pool).await, before, "{name} wrote rows");
        assert_eq!(
            files_under(app.cache.dir()),
            Vec::<PathBuf>::new(),
            "{name} left files"
        );
    }
    app.finish().await;
}
