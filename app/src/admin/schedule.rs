//! `/admin/schedule`: units down, days across (two weeks unless asked), each booking a bar
//! coloured by its state and marked when late, linking to its order. Drawn on the server as
//! one small SVG per unit, so it is readable without JavaScript and quick with 500 units.

use super::schedule_model::{day_lines, schedule_href, ScheduleRow, ScheduleView, MAX_DAYS};
use super::{AdminFrame, AdminProblem};
use crate::account::AccountChanges;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

/// Height of one unit's lane in SVG units.
const LANE: u32 = 20;

#[server(prefix = "/api/admin", endpoint = "schedule")]
pub async fn admin_schedule(
    from: Option<String>,
    days: Option<String>,
    category: Option<String>,
) -> Result<ScheduleView, AppError> {
    use crate::ssr::{admin, db_error, invalid_field, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let now = chrono::Utc::now();
    let today = now.with_timezone(&shop.time_zone).date_naive();
    let from = match from.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
        None => today,
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| invalid_field("from", "Please enter a date such as 2027-03-14."))?,
    };
    let days = match days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => super::schedule_model::DEFAULT_DAYS,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| {
                invalid_field("days", format!("Please show from 1 to {MAX_DAYS} days."))
            })?,
    };
    let category = category.filter(|c| !c.trim().is_empty());
    let catalog = shop.catalog.snapshot(&shop.pool).await.map_err(db_error)?;
    let categories: Vec<(String, String)> = catalog
        .categories()
        .iter()
        .map(|c| (c.slug.clone(), c.name.clone()))
        .collect();
    if let Some(slug) = &category {
        if !categories.iter().any(|(s, _)| s == slug) {
            return Err(invalid_field(
                "category",
                "Please choose one of the listed categories.",
            ));
        }
    }
    let mut view = admin::schedule::schedule(
        &shop.pool,
        from,
        days,
        category.as_deref(),
        now,
        shop.time_zone,
    )
    .await
    .map_err(db_error)?;
    view.categories = categories;
    Ok(view)
}

#[component]
pub fn SchedulePage() -> impl IntoView {
    let query = use_query_map();
    let account = AccountChanges::get();
    let data = Resource::new(
        move || {
            account.version();
            let q = query.read();
            (q.get("from"), q.get("days"), q.get("category"))
        },
        |(from, days, category)| admin_schedule(from, days, category),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the schedule…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <ScheduleBody view /> }.into_any(),
                    Err(error) => view! { <AdminProblem error next="/admin/schedule".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ScheduleBody(view: ScheduleView) -> impl IntoView {
    let lines = day_lines(&view.columns, LANE);
    let width = view.width;
    let header = view
        .columns
        .iter()
        .map(|c| view! { <li class:weekend=c.weekend class:today=c.today title=c.date.clone()>{c.label.clone()}</li> })
        .collect_view();
    let count = view.rows.len();
    let rows = view
        .rows
        .into_iter()
        .map(|row| view! { <Lane row width lines=lines.clone() /> })
        .collect_view();
    let chosen = view.category.clone();
    let options = view
        .categories
        .iter()
        .map(|(slug, name)| view! { <option value=slug.clone() selected=chosen.as_deref() == Some(slug.as_str())>{name.clone()}</option> })
        .collect_view();
    // Without a start date the schedule starts today, in the shop's zone.
    let today_href = schedule_href("", view.days, view.category.as_deref()).replace("from=&", "");
    view! {
        <AdminFrame title="Schedule">
            <Form method="get" action="/admin/schedule" attr:class="search-form">
                <div class="field"><label for="from">"From"</label><input id="from" name="from" type="date" value=view.from.clone() /></div>
                <div class="field"><label for="days">"Days"</label><input id="days" name="days" type="number" min="1" max=MAX_DAYS.to_string() value=view.days.to_string() /></div>
                <div class="field">
                    <label for="category">"Category"</label>
                    <select id="category" name="category"><option value="">"All"</option>{options}</select>
                </div>
                <div class="field actions"><button type="submit" class="button">"Show"</button></div>
            </Form>
            <nav class="pagination" aria-label="Weeks">
                <a href=view.previous.clone() rel="prev">"← Earlier"</a>
                <a href=today_href>"Today"</a>
                <a href=view.next.clone() rel="next">"Later →"</a>
            </nav>
            <p class="result-count">{format!("{count} units · {} bookings in this window", view.bookings)}</p>
            <ul class="schedule-legend" aria-label="Legend">
                <li><span class="swatch held"></span>"In a cart"</li>
                <li><span class="swatch confirmed"></span>"Booked"</li>
                <li><span class="swatch picked_up"></span>"Out"</li>
                <li><span class="swatch late"></span>"Late"</li>
                <li><span class="swatch returned"></span>"Returned"</li>
            </ul>
            <div class="schedule table-scroll">
                <table class="data schedule-table">
                    <thead><tr><th scope="col">"Unit"</th><th scope="col"><ol class="schedule-days">{header}</ol></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </AdminFrame>
    }
}

#[component]
fn Lane(row: ScheduleRow, width: u32, lines: String) -> impl IntoView {
    let bars = row
        .bars
        .into_iter()
        .map(|bar| {
            let href = format!("/admin/orders/{}", bar.order_number);
            let overdue = bar.late.then(|| {
                view! { <rect class="bar late" x=bar.end y="3" width=bar.overdue_end.saturating_sub(bar.end).max(1) height=LANE - 6 /> }
            });
            view! {
                <a href=href aria-label=bar.title.clone()>
                    <rect class=format!("bar {}", bar.state) class:is-late=bar.late x=bar.start y="3"
                        width=bar.end.saturating_sub(bar.start).max(1) height=LANE - 6>
                        <title>{bar.title.clone()}</title>
                    </rect>
                    {overdue}
                </a>
            }
        })
        .collect_view();
    let blocked = row.status != "available";
    view! {
        <tr class:blocked=blocked>
            <th scope="row">
                <a href=format!("/admin/products/{}", row.product_slug)>{row.unit_label.clone()}</a>
                <span class="hint">{row.product_name.clone()}</span>
                {blocked.then(|| view! { <span class="late-tag">{format!(" · {}", row.status)}</span> })}
            </th>
            <td class="lane-cell">
                <svg class="lane" viewBox=format!("0 0 {width} {LANE}") preserveAspectRatio="none" role="img"
                    aria-label=format!("Bookings of {}", row.unit_label)>
                    <path class="day-lines" d=lines />
                    {bars}
                </svg>
            </td>
        </tr>
    }
}
