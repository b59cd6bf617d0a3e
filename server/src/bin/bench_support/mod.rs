//! What the database benchmarks share: a throw-away database on DATABASE_URL's server, and
//! percentiles. (A folder without `main.rs`, so Cargo does not take it for a binary.)

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::future::Future;
use std::str::FromStr;

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Runs `bench` against a new database named `{prefix}_{pid}` on DATABASE_URL's server (or the
/// local one), and drops the database afterwards, whatever the outcome.
pub async fn in_throwaway_database<F, Fut>(prefix: &str, bench: F) -> BenchResult<()>
where
    F: FnOnce(PgConnectOptions) -> Fut,
    Fut: Future<Output = BenchResult<()>>,
{
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    // CREATE/DROP DATABASE from the maintenance database, which every server has.
    let server = PgConnectOptions::from_str(&url)?;
    let mut admin = PgConnection::connect_with(&server.clone().database("postgres")).await?;
    let name = format!("{prefix}_{}", std::process::id());
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    eprintln!("[{prefix}] created database {name}");
    let outcome = bench(server.database(&name)).await;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    eprintln!("[{prefix}] dropped database {name}");
    outcome
}

/// The `q` quantile (nearest rank) of `values`; sorts them.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 * q).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}
