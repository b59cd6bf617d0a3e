//! The schedule's data: every unit that is not retired, with each booking touching the window,
//! in ONE query (the GiST index on `during` finds the bookings), then laid out in minutes. The
//! caller adds the category filter's choices (from the in-memory catalog).

use crate::admin::schedule_model::{
    minutes_into, schedule_href, DayColumn, ScheduleBar, ScheduleRow, ScheduleView,
};
use crate::domain::period::format_local;
use crate::domain::utilisation::midnight;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use sqlx::PgPool;

#[derive(sqlx::FromRow)]
struct Row {
    unit_id: i64,
    unit_label: String,
    status: String,
    product_name: String,
    product_slug: String,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    state: Option<String>,
    order_number: Option<String>,
    customer_name: Option<String>,
}

/// The window of `days` shop-local days from `from`, optionally of one category's units.
pub async fn schedule(
    pool: &PgPool,
    from: NaiveDate,
    days: u32,
    category: Option<&str>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<ScheduleView, sqlx::Error> {
    let start = midnight(from, tz).unwrap_or(now);
    let last = from
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(from);
    let end = midnight(last, tz).unwrap_or(now);
    let width = u32::try_from((end - start).num_minutes().max(1)).unwrap_or(1);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT u.id AS unit_id, u.label AS unit_label, u.status, p.name AS product_name,
                p.slug AS product_slug, r.starts_at, r.ends_at, r.state,
                o.number AS order_number, c.name AS customer_name
           FROM units u JOIN products p ON p.id = u.product_id
           JOIN categories cat ON cat.id = p.category_id
           LEFT JOIN reservations r ON r.unit_id = u.id AND r.during && tstzrange($1, $2)
                AND (r.state IN ('confirmed', 'picked_up', 'returned')
                     OR (r.state = 'held' AND r.held_until > $4))
           LEFT JOIN orders o ON o.id = r.order_id
           LEFT JOIN users c ON c.id = o.customer_id
          WHERE u.status <> 'retired' AND ($3::text IS NULL OR cat.slug = $3)
          ORDER BY cat.position, cat.name, p.name, u.label, u.id, r.starts_at",
    )
    .bind(start)
    .bind(end)
    .bind(category)
    .bind(now)
    .fetch_all(pool)
    .await?;
    let (start_secs, now_secs) = (start.timestamp(), now.timestamp());
    let mut lanes: Vec<(i64, ScheduleRow)> = Vec::new();
    let mut bookings = 0;
    for row in rows {
        if lanes.last().is_none_or(|(id, _)| *id != row.unit_id) {
            lanes.push((
                row.unit_id,
                ScheduleRow {
                    unit_label: row.unit_label.clone(),
                    product_name: row.product_name.clone(),
                    product_slug: row.product_slug.clone(),
                    status: row.status.clone(),
                    bars: Vec::new(),
                },
            ));
        }
        let (Some(starts), Some(ends), Some(state), Some(number)) =
            (row.starts_at, row.ends_at, row.state, row.order_number)
        else {
            continue;
        };
        let late = state == "picked_up" && now > ends;
        let who = row
            .customer_name
            .unwrap_or_else(|| "a visitor's cart".to_owned());
        let title = format!(
            "{number} · {who} · {} → {}{}",
            format_local(starts, tz),
            format_local(ends, tz),
            if late { " · LATE" } else { "" }
        );
        let end_x = minutes_into(start_secs, ends.timestamp(), width);
        if let Some((_, lane)) = lanes.last_mut() {
            bookings += 1;
            lane.bars.push(ScheduleBar {
                start: minutes_into(start_secs, starts.timestamp(), width),
                end: end_x,
                overdue_end: if late {
                    minutes_into(start_secs, now_secs, width)
                } else {
                    end_x
                },
                late,
                state,
                order_number: number,
                title,
            });
        }
    }
    let today = now.with_timezone(&tz).date_naive();
    let columns = (0..days)
        .filter_map(|i| {
            let day = from.checked_add_days(Days::new(u64::from(i)))?;
            let at = midnight(day, tz)?;
            Some(DayColumn {
                date: day.to_string(),
                label: day.format("%a %-d").to_string(),
                x: minutes_into(start_secs, at.timestamp(), width),
                weekend: matches!(day.weekday(), Weekday::Sat | Weekday::Sun),
                today: day == today,
            })
        })
        .collect();
    let step = Days::new(u64::from(days));
    let previous = from.checked_sub_days(step).unwrap_or(from).to_string();
    let next = from.checked_add_days(step).unwrap_or(from).to_string();
    Ok(ScheduleView {
        from: from.to_string(),
        days,
        width,
        columns,
        rows: lanes.into_iter().map(|(_, lane)| lane).collect(),
        categories: Vec::new(),
        previous: schedule_href(&previous, days, category),
        next: schedule_href(&next, days, category),
        category: category.map(str::to_owned),
        bookings,
    })
}
