//! The periodic reminder sweep: pickup reminders the day before a rental starts, return
//! reminders the day before it ends, and an overdue notice at most once a shop-local day while
//! a rental is late. Each email's (kind, entity) is unique, so running the sweep again — or on
//! several instances at once — enqueues nothing twice: a reminder's entity is the order
//! number, an overdue notice's is the order number and the day.

use super::{enqueue_email, EmailRequest, EnqueueEmailError};
use crate::jobs::{Job, JobContext, JobError, JobFuture, JobHandler};
use app::domain::period::format_local;
use app::money::format_money;
use app::ssr::booking::ShopDetails;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use sqlx::PgPool;
use std::collections::BTreeMap;

/// The job kind of the sweep (run periodically by the job runner).
pub const REMINDERS_JOB: &str = "rental_reminders";
/// How far ahead a pickup or return is reminded of.
pub const REMIND_AHEAD: Duration = Duration::hours(24);

#[derive(sqlx::FromRow)]
struct Due {
    number: String,
    name: String,
    email: String,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    daily_late_fee: Decimal,
}

/// What one sweep enqueued (emails enqueued before are not counted again).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reminded {
    pub pickup: usize,
    pub returns: usize,
    pub overdue: usize,
}

/// Orders with their customer, first start, last end and daily late fee, by state.
const DUE: &str = "
    SELECT o.number, u.name, u.email, min(r.starts_at) AS starts, max(r.ends_at) AS ends,
           COALESCE(sum(COALESCE(p.late_fee_daily, p.daily_price)), 0) AS daily_late_fee
      FROM orders o
      JOIN users u ON u.id = o.customer_id
      JOIN reservations r ON r.order_id = o.id AND r.state IN ('confirmed', 'picked_up')
      JOIN products p ON p.id = r.product_id
     WHERE o.state = $1
     GROUP BY o.id, u.id";

/// Enqueues every reminder and notice due at `now`, in one transaction.
pub async fn sweep(
    pool: &PgPool,
    shop: &ShopDetails,
    now: DateTime<Utc>,
) -> Result<Reminded, EnqueueEmailError> {
    let mut done = Reminded::default();
    let mut tx = pool.begin().await?;
    let pickups: Vec<Due> = sqlx::query_as(&format!(
        "{DUE} HAVING min(r.starts_at) > $2 AND min(r.starts_at) <= $3"
    ))
    .bind("confirmed")
    .bind(now)
    .bind(now + REMIND_AHEAD)
    .fetch_all(&mut *tx)
    .await?;
    let out: Vec<Due> = sqlx::query_as(&format!("{DUE} HAVING max(r.ends_at) <= $2"))
        .bind("picked_up")
        .bind(now + REMIND_AHEAD)
        .fetch_all(&mut *tx)
        .await?;
    let today = now.with_timezone(&shop.tz).date_naive();
    for due in pickups {
        let request = email(shop, &due, "pickup_reminder", due.number.clone());
        done.pickup += usize::from(enqueue_email(&mut tx, request).await?.is_some());
    }
    for due in out {
        if due.ends > now {
            let request = email(shop, &due, "return_reminder", due.number.clone());
            done.returns += usize::from(enqueue_email(&mut tx, request).await?.is_some());
        } else {
            let entity = format!("{}/{today}", due.number);
            let request = email(shop, &due, "overdue_notice", entity);
            done.overdue += usize::from(enqueue_email(&mut tx, request).await?.is_some());
        }
    }
    tx.commit().await?;
    Ok(done)
}

fn email(shop: &ShopDetails, due: &Due, kind: &str, entity: String) -> EmailRequest {
    let values = BTreeMap::from([
        ("customer_name".to_owned(), due.name.clone()),
        ("order_number".to_owned(), due.number.clone()),
        ("pickup_at".to_owned(), format_local(due.starts, shop.tz)),
        ("return_at".to_owned(), format_local(due.ends, shop.tz)),
        (
            "late_fee".to_owned(),
            format_money(due.daily_late_fee, &shop.currency),
        ),
        ("pickup_address".to_owned(), shop.pickup_address.clone()),
        ("opening_hours".to_owned(), shop.opening_hours.clone()),
    ]);
    EmailRequest {
        kind: kind.to_owned(),
        entity,
        to: due.email.clone(),
        values,
    }
}

/// Runs [`sweep`] as a job.
pub struct ReminderJob {
    pub shop: ShopDetails,
}

impl JobHandler for ReminderJob {
    fn run<'a>(&'a self, _job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let done = sweep(&ctx.pool, &self.shop, Utc::now())
                .await
                .map_err(|err| JobError::Retry(err.to_string()))?;
            if done != Reminded::default() {
                tracing::info!(?done, "enqueued rental reminders");
            }
            Ok(())
        })
    }
}

/// The job kind that marks expired cart holds (availability ignores them already).
pub const EXPIRE_HOLDS_JOB: &str = "expire_holds";

/// Runs the hold sweep as a job, so it happens once per period across instances.
pub struct ExpireHoldsJob;

impl JobHandler for ExpireHoldsJob {
    fn run<'a>(&'a self, _job: &'a Job, ctx: &'a JobContext) -> JobFuture<'a> {
        Box::pin(async move {
            let expired = app::ssr::booking::expire_holds(&ctx.pool).await?;
            if expired > 0 {
                tracing::info!(expired, "released expired cart holds");
            }
            Ok(())
        })
    }
}
