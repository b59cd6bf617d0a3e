//! `/admin/orders`: every order, filtered by state, pickup dates, customer and lateness, in
//! pages; the filters are a GET form, so each view has a URL.

use super::model::{AdminOrderList, AdminOrderRow, OrderFilter};
use super::query::orders_href;
use super::{AdminFrame, AdminProblem, Pager};
use crate::account::AccountChanges;
use crate::domain::order_state::OrderState;
use crate::error::AppError;
use crate::money::format_money;
use crate::ui::FieldMessage;
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

#[server(prefix = "/api/admin", endpoint = "orders")]
pub async fn admin_orders(
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
    customer: Option<String>,
    late: Option<String>,
    page: Option<String>,
) -> Result<AdminOrderList, AppError> {
    use super::query::{parse_order_filter, OrderFilterProblem, RawOrderFilter};
    use crate::ssr::{admin, db_error, invalid, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let raw = RawOrderFilter {
        state,
        from,
        to,
        customer,
        late,
        page,
    };
    let (filter, checked) = parse_order_filter(&raw);
    let mut list = AdminOrderList {
        rows: Vec::new(),
        filter,
        error: None,
        page: 1,
        total_pages: 1,
        total: 0,
        currency: shop.currency.clone(),
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(OrderFilterProblem::Page(message)) => return Err(invalid(message)),
        Err(OrderFilterProblem::Field(error)) => {
            let _ = invalid(error.message.clone());
            list.error = Some(error);
            return Ok(list);
        }
    };
    let (rows, total) = admin::orders::list(&shop.pool, &checked, None, shop.time_zone)
        .await
        .map_err(db_error)?;
    list.rows = rows;
    list.total = total;
    list.page = checked.page;
    list.total_pages = crate::model::page_count(total, super::model::ADMIN_PAGE_SIZE);
    Ok(list)
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let query = use_query_map();
    let account = AccountChanges::get();
    let data = Resource::new(
        move || {
            account.version();
            let q = query.read();
            (
                q.get("state"),
                q.get("from"),
                q.get("to"),
                q.get("customer"),
                q.get("late"),
                q.get("page"),
            )
        },
        |(state, from, to, customer, late, page)| {
            admin_orders(state, from, to, customer, late, page)
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading orders…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <OrdersBody list /> }.into_any(),
                    Err(error) => view! { <AdminProblem error next="/admin/orders".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrdersBody(list: AdminOrderList) -> impl IntoView {
    let AdminOrderList {
        rows,
        filter,
        error,
        page,
        total_pages,
        total,
        currency,
    } = list;
    let empty = rows.is_empty() && error.is_none();
    let href_filter = filter.clone();
    let href = Callback::new(move |page| orders_href(&href_filter, page));
    view! {
        <AdminFrame title="Orders">
            <OrderFilters filter error />
            <p class="result-count">{format!("{total} order{} · page {page} of {total_pages}", if total == 1 { "" } else { "s" })}</p>
            {empty.then(|| view! { <p class="empty">"No orders match these filters."</p> })}
            <OrderTable rows currency />
            <Pager page total_pages href />
        </AdminFrame>
    }
}

#[component]
fn OrderFilters(
    filter: OrderFilter,
    error: Option<crate::domain::booking_request::FieldError>,
) -> impl IntoView {
    let message = move |name: &str| {
        error
            .as_ref()
            .filter(|e| e.field == name)
            .map(|e| e.message.clone())
    };
    let (state_error, from_error, to_error, customer_error) = (
        message("state"),
        message("from"),
        message("to"),
        message("customer"),
    );
    let chosen = filter.state.clone();
    let states = OrderState::ALL
        .into_iter()
        .map(|s| {
            let label = if s == OrderState::Held { "Cart (held)" } else { s.label() };
            view! { <option value=s.as_str() selected=chosen.as_deref() == Some(s.as_str())>{label}</option> }
        })
        .collect_view();
    view! {
        <Form method="get" action="/admin/orders" attr:class="search-form" attr:role="search">
            <div class="field">
                <label for="state">"State"</label>
                <select id="state" name="state" aria-describedby="state-error">
                    <option value="">"Any"</option>
                    {states}
                </select>
                <FieldMessage id="state-error" message=state_error />
            </div>
            <div class="field">
                <label for="from">"Pickup from"</label>
                <input id="from" name="from" type="date" value=filter.from.clone().unwrap_or_default() aria-describedby="from-error" />
                <FieldMessage id="from-error" message=from_error />
            </div>
            <div class="field">
                <label for="to">"to"</label>
                <input id="to" name="to" type="date" value=filter.to.clone().unwrap_or_default() aria-describedby="to-error" />
                <FieldMessage id="to-error" message=to_error />
            </div>
            <div class="field search-field">
                <label for="customer">"Customer or order number"</label>
                <input id="customer" name="customer" type="search" maxlength="100" value=filter.customer.clone().unwrap_or_default()
                    aria-describedby="customer-error" />
                <FieldMessage id="customer-error" message=customer_error />
            </div>
            <div class="field checkbox">
                <input id="late" name="late" type="checkbox" value="1" checked=filter.late />
                <label for="late">"Late only"</label>
            </div>
            <div class="field actions">
                <button type="submit" class="button">"Filter"</button>
                <a class="clear-filters" href="/admin/orders">"Clear"</a>
            </div>
        </Form>
    }
}

/// Orders as a table; shared with the customer page.
#[component]
pub fn OrderTable(rows: Vec<AdminOrderRow>, currency: String) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr class:late=r.is_late>
                    <th scope="row"><a href=format!("/admin/orders/{}", r.number)>{r.number.clone()}</a></th>
                    <td>{r.state_label}{r.is_late.then(|| view! { <strong class="late-tag">" · late"</strong> })}</td>
                    <td>{r.customer_name}<br /><span class="hint">{r.customer_email}</span></td>
                    <td>{r.items}</td>
                    <td>{r.starts}<br />{r.ends}</td>
                    <td class="amount">{format_money(r.total, &currency)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data orders-table">
                <thead>
                    <tr>
                        <th scope="col">"Order"</th><th scope="col">"State"</th><th scope="col">"Customer"</th>
                        <th scope="col">"Items"</th><th scope="col">"Pickup / return"</th><th scope="col" class="amount">"Total"</th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
        </div>
    }
}
