//! Test harness: starts the real router on a free port against the test's own database.

use server::config::Config;
use sqlx::PgPool;
use std::net::SocketAddr;

pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }
}

/// Migrations are applied by `#[sqlx::test]`; this loads the demo catalog and serves.
pub async fn spawn_app(pool: PgPool) -> TestApp {
    server::demo::seed_if_empty(&pool)
        .await
        .expect("demo data loads into a fresh database");
    spawn_app_without_data(pool).await
}

pub async fn spawn_app_without_data(pool: PgPool) -> TestApp {
    let config =
        Config::from_lookup(|name| (name == "RENTWISE_LISTEN").then(|| "127.0.0.1:0".to_owned()))
            .expect("test configuration is valid");
    let router = server::http::router(server::http::AppState {
        leptos_options: server::leptos_options(&config),
        pool,
        currency: config.currency.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free port");
    let address = listener.local_addr().expect("bound address");
    tokio::spawn(async move {
        axum::serve(listener, router)
            .await
            .expect("test server runs");
    });
    TestApp {
        address,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client"),
    }
}
