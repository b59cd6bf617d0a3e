//! `GET /performance/health` for load balancers: the database answers `SELECT 1` within 1 s and
//! the data directory takes a file, or 503 with the reasons. Public, cheap and never cached.

use super::access::private;
use super::source::Warning;
use super::ObservabilityState;
use axum::{extract::State, http::StatusCode, response::IntoResponse, response::Response, Json};
use serde::Serialize;
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The longest a check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// The health report.
#[derive(Debug, Serialize)]
pub struct HealthReport {
    /// "ok", "degraded" (a source check failed or a warning holds; still 200) or "unavailable"
    /// (the database or the data directory failed; 503).
    pub status: &'static str,
    pub checks: BTreeMap<String, HealthCheck>,
    pub warnings: Vec<Warning>,
}

/// One line of the report. Errors are short and name no host, path or credential.
#[derive(Debug, Serialize)]
pub struct HealthCheck {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the last report said, so a failure is logged when it starts, not on every probe.
#[derive(Debug, Default)]
pub(crate) struct LastOutcome {
    database_failed: AtomicBool,
    data_dir_failed: AtomicBool,
}

pub(crate) async fn respond(State(state): State<ObservabilityState>) -> Response {
    let report = check(&state).await;
    let status = match report.status {
        "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    private((status, Json(report)).into_response())
}

/// Runs the checks (database and data directory at the same time) and gathers the sources'.
pub async fn check(state: &ObservabilityState) -> HealthReport {
    let (database, data_dir) = tokio::join!(
        check_database(&state.pool),
        check_data_dir(state.data_dir.to_path_buf())
    );
    let (database, cause) = database;
    let last = &state.last_health;
    note_change("database", &database, cause.as_ref(), &last.database_failed);
    note_change("data directory", &data_dir, None, &last.data_dir_failed);
    let unavailable = !(database.ok && data_dir.ok);

    let mut checks = BTreeMap::new();
    let mut sources_ok = true;
    for source in state.metrics.sources() {
        if let Some(source_check) = source.health() {
            sources_ok &= source_check.ok;
            let line = HealthCheck {
                ok: source_check.ok,
                latency_ms: None,
                error: source_check.error,
            };
            checks.insert(source.name().to_owned(), line);
        }
    }
    checks.insert("database".into(), database);
    checks.insert("data_dir".into(), data_dir);
    let warnings = state.metrics.warnings();
    let status = if unavailable {
        "unavailable"
    } else if !sources_ok || !warnings.is_empty() {
        "degraded"
    } else {
        "ok"
    };
    HealthReport {
        status,
        checks,
        warnings,
    }
}

/// Logs a check's failure (with its full cause) when it starts, and its recovery.
fn note_change(what: &str, check: &HealthCheck, cause: Option<&sqlx::Error>, failed: &AtomicBool) {
    let now_failed = !check.ok;
    if failed.swap(now_failed, Relaxed) == now_failed {
        return;
    }
    if now_failed {
        let cause = cause
            .map(ToString::to_string)
            .or_else(|| check.error.clone())
            .unwrap_or_default();
        tracing::warn!(%cause, "health check: {what} failing");
    } else {
        tracing::info!("health check: {what} recovered");
    }
}

async fn check_database(pool: &PgPool) -> (HealthCheck, Option<sqlx::Error>) {
    let started = Instant::now();
    let answer = tokio::time::timeout(
        CHECK_TIMEOUT,
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(pool),
    )
    .await;
    let latency_ms = Some(round_ms(started.elapsed()));
    let (error, cause) = match answer {
        Ok(Ok(1)) => (None, None),
        Ok(Ok(other)) => (Some(format!("SELECT 1 returned {other}")), None),
        Ok(Err(cause)) => (Some(describe(&cause)), Some(cause)),
        Err(_) => (Some("no answer within 1 s".to_owned()), None),
    };
    let check = HealthCheck {
        ok: error.is_none(),
        latency_ms,
        error,
    };
    (check, cause)
}

/// A short public reason for a database error (the full error goes to the log).
fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::PoolTimedOut => "no connection available within the pool's timeout".into(),
        sqlx::Error::PoolClosed => "the connection pool is closed".into(),
        sqlx::Error::Io(_) => "cannot reach the database server".into(),
        sqlx::Error::Tls(_) => "TLS failure talking to the database".into(),
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("the database refused (SQLSTATE {code})"),
            None => "the database refused".into(),
        },
        _ => "database error".into(),
    }
}

static PROBE_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Creates, writes and removes a small file in `dir`, off the async threads, within 1 s.
async fn check_data_dir(dir: PathBuf) -> HealthCheck {
    let probe = dir.join(format!(
        ".health-{}-{}",
        std::process::id(),
        PROBE_SEQUENCE.fetch_add(1, Relaxed)
    ));
    let work = tokio::task::spawn_blocking(move || write_and_remove(&probe));
    let error = match tokio::time::timeout(CHECK_TIMEOUT, work).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(error))) => Some(error),
        Ok(Err(_)) => Some("the check did not finish".to_owned()),
        Err(_) => Some("no answer within 1 s".to_owned()),
    };
    HealthCheck {
        ok: error.is_none(),
        latency_ms: None,
        error,
    }
}

fn write_and_remove(probe: &Path) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(probe)
        .map_err(|e| format!("cannot create a file: {}", e.kind()))?;
    let written = file.write_all(b"ok");
    drop(file);
    let removed = std::fs::remove_file(probe);
    written.map_err(|e| format!("cannot write a file: {}", e.kind()))?;
    removed.map_err(|e| format!("cannot remove a file: {}", e.kind()))
}

fn round_ms(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e6).round() / 1e3
}
