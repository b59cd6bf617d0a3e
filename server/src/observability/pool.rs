//! Database pool gauges (size, idle, in use, maximum) read from the sqlx pool, and the sampler
//! task that records utilisation every second so a busy pool can raise a warning.

use super::metrics::Metrics;
use serde::Serialize;
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// How often [`spawn_sampler`] looks at the pool.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// The pool's connections right now.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PoolGauges {
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub in_use: u32,
    /// `max_connections` the pool was built with.
    pub max: u32,
    /// `in_use / max`, from 0.0 to 1.0.
    pub utilisation: f64,
}

impl PoolGauges {
    pub fn read(pool: &PgPool) -> Self {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
        let max = pool.options().get_max_connections();
        let in_use = size - idle;
        PoolGauges {
            size,
            idle,
            in_use,
            max,
            utilisation: if max == 0 {
                0.0
            } else {
                f64::from(in_use) / f64::from(max)
            },
        }
    }
}

/// Samples pool utilisation every second into `metrics` and evaluates the warnings (logging
/// those that appear). Ends when the pool is closed; abort the handle to stop it sooner.
pub fn spawn_sampler(metrics: Metrics, pool: PgPool) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SAMPLE_EVERY);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        while !pool.is_closed() {
            ticks.tick().await;
            let gauges = PoolGauges::read(&pool);
            metrics.record_pool_utilisation(Instant::now(), gauges.utilisation);
            metrics.warnings();
        }
    })
}
