//! The job queue as an observability source: jobs by state, failures and the age of the oldest
//! due job, sampled from PostgreSQL in the background so `/performance/*` never waits on it.

use crate::observability::{MetricSource, SourceCheck, SourceMetric, Warning};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A queued job older than this makes a warning: the runners are stuck or too few.
pub const STALE_QUEUE_SECS: f64 = 300.0;

#[derive(Clone, Debug, Default)]
struct Snapshot {
    queued: f64,
    running: f64,
    succeeded: f64,
    failed: f64,
    oldest_queued_secs: f64,
    error: Option<String>,
}

/// Cheap to clone; [`JobQueueMetrics::spawn_sampler`] keeps it current.
#[derive(Clone, Default)]
pub struct JobQueueMetrics {
    snapshot: Arc<Mutex<Snapshot>>,
}

impl JobQueueMetrics {
    pub fn new() -> Self {
        JobQueueMetrics::default()
    }

    /// Reads the queue's figures from the database once.
    pub async fn refresh(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let read = async {
            let by_state: Vec<(String, i64)> =
                sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
                    .fetch_all(pool)
                    .await?;
            let oldest: Option<f64> = sqlx::query_scalar(
                "SELECT extract(epoch FROM now() - min(run_at))::float8 FROM jobs
                 WHERE state = 'queued' AND run_at <= now()",
            )
            .fetch_one(pool)
            .await?;
            Ok::<_, sqlx::Error>((by_state, oldest))
        };
        let result = read.await;
        let mut snapshot = self
            .snapshot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match result {
            Ok((by_state, oldest)) => {
                let count = |name: &str| {
                    by_state
                        .iter()
                        .find(|(state, _)| state == name)
                        .map_or(0.0, |(_, n)| *n as f64)
                };
                *snapshot = Snapshot {
                    queued: count("queued"),
                    running: count("running"),
                    succeeded: count("succeeded"),
                    failed: count("failed"),
                    oldest_queued_secs: oldest.unwrap_or(0.0).max(0.0),
                    error: None,
                };
                Ok(())
            }
            Err(err) => {
                snapshot.error = Some(err.to_string());
                Err(err)
            }
        }
    }

    /// Refreshes every `every` until the task is aborted.
    pub fn spawn_sampler(&self, pool: PgPool, every: Duration) -> tokio::task::JoinHandle<()> {
        let metrics = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(err) = metrics.refresh(&pool).await {
                    tracing::debug!(error = %err, "sampling the job queue failed");
                }
            }
        })
    }

    fn read(&self) -> Snapshot {
        self.snapshot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

impl MetricSource for JobQueueMetrics {
    fn name(&self) -> &str {
        "jobs"
    }

    fn metrics(&self) -> Vec<SourceMetric> {
        let s = self.read();
        vec![
            SourceMetric::gauge("queued", "Jobs waiting to run (due or scheduled)", s.queued),
            SourceMetric::gauge("running", "Jobs claimed by a worker", s.running),
            SourceMetric::gauge("succeeded", "Finished jobs kept in the table", s.succeeded),
            SourceMetric::gauge("failed", "Jobs that used all their attempts", s.failed),
            SourceMetric::gauge(
                "oldest_queued_seconds",
                "Age of the oldest due job still queued, in seconds",
                s.oldest_queued_secs,
            ),
        ]
    }

    fn health(&self) -> Option<SourceCheck> {
        let s = self.read();
        Some(SourceCheck {
            ok: s.error.is_none(),
            error: s.error,
        })
    }

    fn warnings(&self) -> Vec<Warning> {
        let s = self.read();
        let mut warnings = Vec::new();
        if s.oldest_queued_secs > STALE_QUEUE_SECS {
            warnings.push(Warning {
                code: "queue_stale".into(),
                message: format!(
                    "the oldest due job has waited {:.0} s (more than 5 minutes): are the runners up?",
                    s.oldest_queued_secs
                ),
            });
        }
        if s.failed > 0.0 {
            warnings.push(Warning {
                code: "failed_jobs".into(),
                message: format!("{} jobs failed after their last attempt", s.failed),
            });
        }
        warnings
    }
}
