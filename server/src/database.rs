//! The PostgreSQL connection pool: created (with its database, if missing) and migrated at
//! startup, sized and timed like the seed system, checking only stale connections before use.

use crate::config::{PoolConfig, Secret};
use sqlx::{
    migrate::MigrateDatabase,
    postgres::{PgConnectOptions, PgPoolOptions},
    Connection, PgPool, Postgres,
};
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot reach PostgreSQL at {target}: {source}. Check DATABASE_URL and that the server is running.")]
    Unreachable { target: String, source: sqlx::Error },
    #[error("cannot create database {name} at {target}: {source}")]
    Create {
        name: String,
        target: String,
        source: sqlx::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// `user@host:port/database`, without the password, for messages.
pub fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)")
    )
}

/// Connects the pool, creating the database first when the server answers but it is missing.
pub async fn connect(url: &Secret, pool: &PoolConfig) -> Result<PgPool, DatabaseError> {
    let options = PgConnectOptions::from_str(url.expose()).map_err(DatabaseError::BadUrl)?;
    let target = describe(&options);
    let exists = Postgres::database_exists(url.expose())
        .await
        .map_err(|source| DatabaseError::Unreachable {
            target: target.clone(),
            source,
        })?;
    if !exists {
        tracing::info!(database = %target, "creating database");
        if let Err(source) = Postgres::create_database(url.expose()).await {
            // Another instance may have created it a moment ago.
            if !Postgres::database_exists(url.expose())
                .await
                .unwrap_or(false)
            {
                return Err(DatabaseError::Create {
                    name: options.get_database().unwrap_or_default().to_owned(),
                    target,
                    source,
                });
            }
        }
    }
    let stale_after = pool.stale_after;
    PgPoolOptions::new()
        .min_connections(pool.min_connections)
        .max_connections(pool.max_connections)
        .acquire_timeout(pool.acquire_timeout)
        .max_lifetime(pool.max_lifetime)
        .idle_timeout(Some(std::time::Duration::from_secs(600)))
        // A ping on every acquire doubles the round trips of a cheap query; only a connection
        // that sat idle long enough to have been cut (by a restart or a firewall) is checked.
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= stale_after {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(|source| DatabaseError::Unreachable { target, source })
}

/// Applies the migrations in `migrations/`; a second run applies nothing and loses nothing.
pub async fn migrate(pool: &PgPool) -> Result<(), DatabaseError> {
    sqlx::migrate!("../migrations").run(pool).await?;
    Ok(())
}
