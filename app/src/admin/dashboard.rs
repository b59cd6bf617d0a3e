//! `/admin`: what needs doing now — today's pickups and returns, late rentals, holds about to
//! run out — and how the shop is doing (active rentals, this week's utilisation, this month's
//! revenue), with the charts drawn on the server.

use super::charts::{DailyBars, PercentBars};
use super::model::{CounterLine, DashboardView};
use super::{AdminFrame, AdminProblem};
use crate::account::AccountChanges;
use crate::error::AppError;
use crate::money::format_money;
use leptos::prelude::*;

#[server(prefix = "/api/admin", endpoint = "dashboard")]
pub async fn admin_dashboard() -> Result<DashboardView, AppError> {
    use crate::ssr::{admin, db_error, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    admin::dashboard::dashboard(
        &shop.pool,
        chrono::Utc::now(),
        shop.time_zone,
        &shop.currency,
    )
    .await
    .map_err(db_error)
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let account = AccountChanges::get();
    let data = Resource::new(move || account.version(), |_| admin_dashboard());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading today…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <DashboardBody view /> }.into_any(),
                    Err(error) => view! { <AdminProblem error next="/admin".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn DashboardBody(view: DashboardView) -> impl IntoView {
    let money = {
        let currency = view.currency.clone();
        move |v| format_money(v, &currency)
    };
    let alert = (view.bookings_on_blocked_units > 0).then(|| {
        view! {
            <p class="banner warning" role="alert">
                {format!("{} upcoming booking(s) are on units in maintenance and could not be moved to another unit. ", view.bookings_on_blocked_units)}
                <a href="/admin/schedule">"See the schedule"</a>
            </p>
        }
    });
    let holds = view
        .expiring_holds
        .iter()
        .map(|h| {
            view! {
                <li>
                    <a href=format!("/admin/orders/{}", h.order_number)>{h.order_number.clone()}</a>
                    {format!(" · {} · {} ({}) · {} min left", h.customer_name, h.product_name, h.unit_label, h.minutes_left)}
                </li>
            }
        })
        .collect_view();
    let no_holds = view.expiring_holds.is_empty();
    view! {
        <AdminFrame title="Today">
            <p class="lead">{view.today.clone()}</p>
            {alert}
            <ul class="kpis" aria-label="Key figures">
                <li><span class="kpi-value" data-kpi="active">{view.active_rentals}</span><span class="kpi-label">"Out with customers"</span></li>
                <li><span class="kpi-value" data-kpi="late">{view.late.len()}</span><span class="kpi-label">"Late"</span></li>
                <li><span class="kpi-value" data-kpi="utilisation">{format!("{}%", view.utilisation_week.round_dp(1))}</span><span class="kpi-label">"Booked this week"</span></li>
                <li><span class="kpi-value" data-kpi="revenue">{money(view.revenue_month)}</span><span class="kpi-label">{format!("Revenue in {}", view.month_title)}</span></li>
                <li><span class="kpi-value" data-kpi="maintenance">{view.units_in_maintenance}</span><span class="kpi-label">"Units in maintenance"</span></li>
            </ul>
            <div class="admin-columns">
                <CounterList title="To hand out today" id="pickups" lines=view.pickups.clone() empty="No pickups left today." />
                <CounterList title="Due back today" id="returns" lines=view.returns.clone() empty="Nothing else is due back today." />
                <CounterList title="Late" id="late" lines=view.late.clone() empty="Nothing is late." />
                <section class="card" aria-labelledby="holds-heading">
                    <h2 id="holds-heading">"Holds running out"</h2>
                    {no_holds.then(|| view! { <p class="hint">"No cart holds run out in the next 10 minutes."</p> })}
                    <ul class="plain-list">{holds}</ul>
                </section>
            </div>
            <div class="admin-columns charts">
                <DailyBars id="revenue-chart" title=format!("Revenue per day, {}", view.month_title)
                    points=view.revenue_by_day.clone() currency=view.currency.clone() />
                <PercentBars id="utilisation-chart" title="Booked share of units this week, by category".to_owned()
                    points=view.utilisation_by_category.clone() />
            </div>
        </AdminFrame>
    }
}

#[component]
fn CounterList(
    title: &'static str,
    id: &'static str,
    lines: Vec<CounterLine>,
    empty: &'static str,
) -> impl IntoView {
    let heading = format!("{id}-heading");
    let count = lines.len();
    let items = lines
        .into_iter()
        .map(|l| {
            let late = l.late_by.is_some();
            view! {
                <li class:late=late>
                    <a href=format!("/admin/orders/{}", l.order_number)>{l.order_number.clone()}</a>
                    {format!(" · {} · {} (unit {}) · {} → {}", l.customer_name, l.product_name, l.unit_label, l.starts, l.ends)}
                    {l.late_by.map(|late| view! { <strong class="late-tag">{format!(" · late by {late}")}</strong> })}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card" aria-labelledby=heading.clone() data-list=id>
            <h2 id=heading.clone()>{title}" "<span class="count">{count}</span></h2>
            {(count == 0).then(|| view! { <p class="hint">{empty}</p> })}
            <ul class="plain-list">{items}</ul>
        </section>
    }
}
