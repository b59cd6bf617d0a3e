//! The in-process worker: one claiming loop per queue, woken by `LISTEN jobs_ready` or a poll,
//! handlers chosen by job kind, leases renewed while a job runs, and a graceful shutdown.

use super::{store, wake, Job, JobError, DEFAULT_QUEUE};
use sqlx::{PgConnection, PgPool};
use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc, time::Duration};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

/// What a handler returns: a boxed future, so handlers are plain trait objects.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

/// The code that runs the jobs of one kind. Runs at least once per job: make it idempotent.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(&'a self, job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a>;
}

/// What a running job may use besides its payload.
#[derive(Clone)]
pub struct JobContext {
    pub pool: PgPool,
    job_id: i64,
    worker: Arc<str>,
}

impl JobContext {
    /// Marks the job succeeded inside the handler's own transaction, so that its effect and the
    /// job's end commit together. The runner's own success update then changes nothing.
    pub async fn complete_in(&self, conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
        store::succeed(conn, self.job_id, &self.worker).await
    }
}

/// How a kind's failed runs are retried: `first_retry`, doubling up to `max_delay`, plus up to a
/// quarter of random jitter so that jobs failing together do not retry together.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub first_retry: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_retry: Duration::from_secs(60),
            max_delay: Duration::from_secs(6 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before the run after `attempt` (1-based).
    pub fn delay(&self, attempt: i32) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(0)
            .min(30);
        let base = self
            .first_retry
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        base + base.mul_f64(fastrand::f64() / 4.0)
    }
}

#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Unique per process: written into `locked_by` of the jobs it holds.
    pub worker_id: String,
    /// Queues this runner serves, with how many of each queue's jobs run at once.
    pub queues: Vec<(String, usize)>,
    /// How long a claimed job is held; renewed every third of it while the job runs.
    pub lease: Duration,
    /// Polling fallback when no notification arrives.
    pub poll_interval: Duration,
    /// On shutdown, in-flight jobs get this long before they are stopped and released.
    pub shutdown_deadline: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4()),
            queues: vec![(DEFAULT_QUEUE.to_owned(), 4)],
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            shutdown_deadline: Duration::from_secs(20),
        }
    }
}

struct Shared {
    pool: PgPool,
    config: RunnerConfig,
    worker: Arc<str>,
    handlers: HashMap<String, (Arc<dyn JobHandler>, RetryPolicy)>,
}

/// Built with [`Runner::new`], handlers added with [`Runner::register`], started with
/// [`Runner::start`].
pub struct Runner {
    shared: Shared,
    periodic: Vec<(String, Duration)>,
}

/// A started runner; [`RunnerHandle::shutdown`] stops it.
pub struct RunnerHandle {
    stop: watch::Sender<bool>,
    hard_stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    pool: PgPool,
    worker: Arc<str>,
    deadline: Duration,
}

impl Runner {
    pub fn new(pool: PgPool, config: RunnerConfig) -> Self {
        let worker = Arc::from(config.worker_id.as_str());
        Runner {
            shared: Shared {
                pool,
                config,
                worker,
                handlers: HashMap::new(),
            },
            periodic: Vec::new(),
        }
    }

    /// Runs jobs of `kind` with `handler`, retrying with the default policy.
    pub fn register(self, kind: impl Into<String>, handler: impl JobHandler) -> Self {
        self.register_with(kind, handler, RetryPolicy::default())
    }

    pub fn register_with(
        mut self,
        kind: impl Into<String>,
        handler: impl JobHandler,
        retry: RetryPolicy,
    ) -> Self {
        let handler: Arc<dyn JobHandler> = Arc::new(handler);
        self.shared.handlers.insert(kind.into(), (handler, retry));
        self
    }

    /// Enqueues a job of `kind` on the default queue once per `interval` (periods counted from
    /// the Unix epoch), however many instances run: the dedupe key is kind + period start.
    pub fn every(mut self, kind: impl Into<String>, interval: Duration) -> Self {
        self.periodic
            .push((kind.into(), interval.max(Duration::from_secs(1))));
        self
    }

    /// Spawns the listener, one claiming loop per queue and the periodic schedulers.
    pub fn start(self) -> RunnerHandle {
        let (stop, stop_rx) = watch::channel(false);
        let (hard_stop, hard_rx) = watch::channel(false);
        let shared = Arc::new(self.shared);
        let mut tasks = JoinSet::new();
        let mut wakers = HashMap::new();
        for (queue, concurrency) in &shared.config.queues {
            let notify = Arc::new(Notify::new());
            wakers.insert(queue.clone(), notify.clone());
            let limit = Arc::new(Semaphore::new((*concurrency).max(1)));
            tasks.spawn(queue_loop(
                shared.clone(),
                queue.clone(),
                limit,
                notify,
                stop_rx.clone(),
                hard_rx.clone(),
            ));
        }
        tasks.spawn(wake::listen(shared.pool.clone(), wakers, stop_rx.clone()));
        for (kind, interval) in self.periodic {
            tasks.spawn(wake::schedule(
                shared.pool.clone(),
                kind,
                interval,
                stop_rx.clone(),
            ));
        }
        RunnerHandle {
            stop,
            hard_stop,
            tasks,
            pool: shared.pool.clone(),
            worker: shared.worker.clone(),
            deadline: shared.config.shutdown_deadline,
        }
    }
}

impl RunnerHandle {
    /// Stops claiming, lets in-flight jobs finish within the deadline, then stops the rest and
    /// puts their jobs back in the queue.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let tasks = &mut self.tasks;
        let drained = tokio::time::timeout(self.deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            let _ = self.hard_stop.send(true);
            while self.tasks.join_next().await.is_some() {}
        }
        match store::release_all(&self.pool, &self.worker).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "released unfinished jobs at shutdown"),
            Err(err) => tracing::error!(error = %err, "could not release jobs at shutdown"),
        }
    }
}

async fn queue_loop(
    shared: Arc<Shared>,
    queue: String,
    limit: Arc<Semaphore>,
    notify: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    hard_stop: watch::Receiver<bool>,
) {
    let mut running = JoinSet::new();
    let mut last_reap: Option<tokio::time::Instant> = None;
    while !*stop.borrow() {
        if last_reap.is_none_or(|at| at.elapsed() >= shared.config.poll_interval) {
            last_reap = Some(tokio::time::Instant::now());
            if let Err(err) = store::reap_expired(&shared.pool, &queue).await {
                tracing::warn!(error = %err, queue = %queue, "reaping expired job leases failed");
            }
        }
        let permit = tokio::select! {
            permit = limit.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let claimed = store::claim(&shared.pool, &queue, &shared.worker, shared.config.lease);
        match claimed.await {
            Ok(Some(job)) => {
                let shared = shared.clone();
                let hard_stop = hard_stop.clone();
                running.spawn(async move {
                    execute(shared, job, hard_stop).await;
                    drop(permit);
                });
                while running.try_join_next().is_some() {}
                continue;
            }
            Ok(None) => drop(permit),
            Err(err) => {
                drop(permit);
                tracing::warn!(error = %err, queue = %queue, "claiming a job failed");
            }
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(shared.config.poll_interval) => {}
            _ = stop.changed() => break,
        }
    }
    while running.join_next().await.is_some() {}
}

async fn execute(shared: Arc<Shared>, job: Job, mut hard_stop: watch::Receiver<bool>) {
    let Some((handler, retry)) = shared.handlers.get(&job.kind).cloned() else {
        let error = format!("no handler registered for job kind {:?}", job.kind);
        finish(
            &shared,
            &job,
            Err(JobError::Permanent(error)),
            &retry_none(),
        )
        .await;
        return;
    };
    let ctx = JobContext {
        pool: shared.pool.clone(),
        job_id: job.id,
        worker: shared.worker.clone(),
    };
    let run = {
        let job = job.clone();
        tokio::spawn(async move { handler.run(&job, &ctx).await })
    };
    let renew_every = shared.config.lease / 3;
    tokio::pin!(run);
    let outcome = loop {
        tokio::select! {
            joined = &mut run => break match joined {
                Ok(result) => result,
                Err(err) => Err(JobError::Retry(format!("the handler panicked: {err}"))),
            },
            _ = tokio::time::sleep(renew_every) => {
                match store::renew(&shared.pool, job.id, &shared.worker, shared.config.lease).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(job = job.id, "lost the lease of a running job"),
                    Err(err) => tracing::warn!(job = job.id, error = %err, "renewing a lease failed"),
                }
            }
            _ = hard_stop.changed() => {
                run.abort();
                return;
            }
        }
    };
    finish(&shared, &job, outcome, &retry).await;
}

fn retry_none() -> RetryPolicy {
    RetryPolicy {
        first_retry: Duration::ZERO,
        max_delay: Duration::ZERO,
    }
}

async fn finish(shared: &Shared, job: &Job, outcome: Result<(), JobError>, retry: &RetryPolicy) {
    let recorded = match &outcome {
        Ok(()) => match shared.pool.acquire().await {
            Ok(mut conn) => store::succeed(&mut conn, job.id, &shared.worker)
                .await
                .map(|_| ()),
            Err(err) => Err(err),
        },
        Err(err) => {
            let retry_in = match err {
                JobError::Retry(_) => Some(retry.delay(job.attempts)),
                JobError::Permanent(_) => None,
            };
            tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %err, "job failed");
            store::fail(
                &shared.pool,
                job.id,
                &shared.worker,
                &err.to_string(),
                retry_in,
            )
            .await
        }
    };
    if let Err(err) = recorded {
        // The lease will expire and the job will run again: handlers are idempotent.
        tracing::error!(job = job.id, error = %err, "could not record the end of a job");
    }
}
