//! `/admin/reports`: orders and revenue for a period of shop-local days (this month unless
//! asked), with a CSV download of the period's orders for the accounts.

use super::model::ReportView;
use super::{AdminFrame, AdminProblem};
use crate::account::AccountChanges;
use crate::error::AppError;
use crate::money::format_money;
use crate::ui::FieldMessage;
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

/// The CSV download's URL for a period.
pub fn csv_href(from: &str, to: &str) -> String {
    format!("/admin/reports/orders.csv?from={from}&to={to}")
}

#[server(prefix = "/api/admin", endpoint = "report")]
pub async fn admin_report(
    from: Option<String>,
    to: Option<String>,
) -> Result<ReportView, AppError> {
    use crate::domain::utilisation::month_of;
    use crate::ssr::{admin, db_error, invalid, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let today = chrono::Utc::now()
        .with_timezone(&shop.time_zone)
        .date_naive();
    let (first, next) = month_of(today).unwrap_or((today, today));
    let (from_day, to_day) = match super::query::parse_range(&from, &to) {
        Ok((from, to)) => (
            from.unwrap_or(first),
            to.unwrap_or(next.pred_opt().unwrap_or(today)),
        ),
        Err(error) => {
            let _ = invalid(error.message.clone());
            return Ok(ReportView {
                from: from.unwrap_or_default(),
                to: to.unwrap_or_default(),
                totals: None,
                error: Some(error),
                currency: shop.currency.clone(),
                csv_href: String::new(),
            });
        }
    };
    if to_day < from_day {
        return Err(invalid("The end date must be on or after the start date."));
    }
    let totals = admin::reports::totals(&shop.pool, from_day, to_day, shop.time_zone)
        .await
        .map_err(db_error)?;
    let (from, to) = (from_day.to_string(), to_day.to_string());
    Ok(ReportView {
        csv_href: csv_href(&from, &to),
        from,
        to,
        totals: Some(totals),
        error: None,
        currency: shop.currency.clone(),
    })
}

#[component]
pub fn ReportsPage() -> impl IntoView {
    let query = use_query_map();
    let account = AccountChanges::get();
    let data = Resource::new(
        move || {
            (
                query.read().get("from"),
                query.read().get("to"),
                account.version(),
            )
        },
        |(from, to, _)| admin_report(from, to),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the report…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => view! { <ReportBody view /> }.into_any(),
                    Err(error) => view! { <AdminProblem error next="/admin/reports".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ReportBody(view: ReportView) -> impl IntoView {
    let message = |name: &str| {
        view.error
            .as_ref()
            .filter(|e| e.field == name)
            .map(|e| e.message.clone())
    };
    let (from_error, to_error) = (message("from"), message("to"));
    let money = {
        let currency = view.currency.clone();
        move |v| format_money(v, &currency)
    };
    let totals = view.totals.clone().map(|t| {
        view! {
            <dl class="totals report-totals">
                <dt>"Orders"</dt><dd data-report="orders">{t.orders}</dd>
                <dt>"of which cancelled"</dt><dd>{t.cancelled}</dd>
                <dt>"Rental"</dt><dd>{money(t.rental)}</dd>
                <dt>"Late fees"</dt><dd data-report="late-fees">{money(t.late_fees)}</dd>
                <dt>"Revenue"</dt><dd data-report="revenue">{money(t.revenue)}</dd>
            </dl>
            <p><a class="button" href=view.csv_href.clone() download="">"Download the orders as CSV"</a></p>
        }
    });
    view! {
        <AdminFrame title="Reports">
            <p class="hint">"Orders whose first pickup falls in the period. Revenue is the rental and late fees of orders that were not cancelled."</p>
            <Form method="get" action="/admin/reports" attr:class="search-form">
                <div class="field">
                    <label for="from">"From"</label>
                    <input id="from" name="from" type="date" value=view.from.clone() aria-describedby="from-error" />
                    <FieldMessage id="from-error" message=from_error />
                </div>
                <div class="field">
                    <label for="to">"to"</label>
                    <input id="to" name="to" type="date" value=view.to.clone() aria-describedby="to-error" />
                    <FieldMessage id="to-error" message=to_error />
                </div>
                <div class="field actions"><button type="submit" class="button">"Show"</button></div>
            </Form>
            {totals}
        </AdminFrame>
    }
}
