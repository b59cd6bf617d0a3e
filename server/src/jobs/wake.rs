//! What wakes the runner: `LISTEN jobs_ready` (with reconnects; the poll covers the gaps) and
//! the periodic schedulers, which enqueue one run per period whatever the number of instances.

use super::NewJob;
use sqlx::{postgres::PgListener, PgPool};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::{watch, Notify};

pub(super) async fn listen(
    pool: PgPool,
    wakers: HashMap<String, Arc<Notify>>,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        let listener = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen("jobs_ready").await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = match listener.await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "LISTEN jobs_ready failed; polling meanwhile");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        loop {
            tokio::select! {
                received = listener.recv() => match received {
                    Ok(note) => {
                        if let Some(waker) = wakers.get(note.payload()) {
                            waker.notify_one();
                        }
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "LISTEN jobs_ready lost; reconnecting");
                        break;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }
}

pub(super) async fn schedule(
    pool: PgPool,
    kind: String,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let period_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    while !*stop.borrow() {
        let now = chrono::Utc::now().timestamp_millis();
        let start_ms = now - now.rem_euclid(period_ms);
        if let Some(start) = chrono::DateTime::from_timestamp_millis(start_ms) {
            let job = NewJob {
                dedupe_key: Some(format!("{kind}@{}", start.to_rfc3339())),
                // Due now, not at the period's start: a run enqueued mid-period has not waited.
                run_at: None,
                ..NewJob::new(kind.clone(), serde_json::json!({ "period_start": start }))
            };
            let enqueued = match pool.acquire().await {
                Ok(mut conn) => super::enqueue(&mut conn, job).await,
                Err(err) => Err(err),
            };
            if let Err(err) = enqueued {
                tracing::warn!(error = %err, kind = %kind, "enqueueing a periodic job failed");
            }
        }
        let next_ms = u64::try_from(start_ms + period_ms - now).unwrap_or(1000);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(next_ms)) => {}
            _ = stop.changed() => return,
        }
    }
}
