//! `/admin/customers`: customer accounts, searchable and in pages; `/admin/customers/{id}`:
//! one customer with all their orders.

use super::model::{CustomerList, CustomerView};
use super::orders::OrderTable;
use super::{AdminFrame, AdminProblem, Pager};
use crate::account::AccountChanges;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

#[server(prefix = "/api/admin", endpoint = "customers")]
pub async fn admin_customers(
    q: Option<String>,
    page: Option<String>,
) -> Result<CustomerList, AppError> {
    use super::query::{parse_page, parse_search};
    use crate::ssr::{admin, db_error, invalid, invalid_field, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let page = parse_page(page.as_deref()).map_err(invalid)?;
    let search = parse_search(&q, "q").map_err(|e| invalid_field(&e.field, e.message))?;
    let (rows, total) = admin::customers::list(&shop.pool, search.as_deref(), page, shop.time_zone)
        .await
        .map_err(db_error)?;
    Ok(CustomerList {
        rows,
        search,
        page,
        total_pages: crate::model::page_count(total, super::model::ADMIN_PAGE_SIZE),
        total,
    })
}

#[server(prefix = "/api/admin", endpoint = "customer")]
pub async fn admin_customer(id: String, page: Option<String>) -> Result<CustomerView, AppError> {
    use super::query::{parse_page, CheckedOrderFilter};
    use crate::ssr::{admin, db_error, invalid, not_found, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let unknown = || not_found("We couldn't find that customer.");
    let id: i64 = id.trim().parse().map_err(|_| unknown())?;
    let page = parse_page(page.as_deref()).map_err(invalid)?;
    let customer = admin::customers::customer(&shop.pool, id, shop.time_zone)
        .await
        .map_err(db_error)?
        .ok_or_else(unknown)?;
    let filter = CheckedOrderFilter {
        state: None,
        from: None,
        to: None,
        customer: None,
        late: false,
        page,
    };
    let (orders, total) = admin::orders::list(&shop.pool, &filter, Some(id), shop.time_zone)
        .await
        .map_err(db_error)?;
    Ok(CustomerView {
        customer,
        orders,
        page,
        total_pages: crate::model::page_count(total, super::model::ADMIN_PAGE_SIZE),
        currency: shop.currency.clone(),
    })
}

#[component]
pub fn CustomersPage() -> impl IntoView {
    let query = use_query_map();
    let account = AccountChanges::get();
    let data = Resource::new(
        move || {
            (
                query.read().get("q"),
                query.read().get("page"),
                account.version(),
            )
        },
        |(q, page, _)| admin_customers(q, page),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading customers…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <CustomersBody list /> }.into_any(),
                    Err(error) => view! { <AdminProblem error next="/admin/customers".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CustomersBody(list: CustomerList) -> impl IntoView {
    let search = list.search.clone();
    let href = Callback::new(move |page: u32| {
        let mut href = format!("/admin/customers?page={page}");
        if let Some(q) = &search {
            href.push_str(&format!("&q={}", crate::catalog_query::encode(q)));
        }
        href
    });
    let rows = list
        .rows
        .into_iter()
        .map(|c| {
            view! {
                <tr>
                    <th scope="row"><a href=format!("/admin/customers/{}", c.id)>{c.name}</a></th>
                    <td>{c.email}</td>
                    <td>{c.joined}</td>
                    <td>{c.orders}</td>
                    <td>{c.last_order.map(|n| view! { <a href=format!("/admin/orders/{n}")>{n.clone()}</a> })}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <AdminFrame title="Customers">
            <Form method="get" action="/admin/customers" attr:class="search-form" attr:role="search">
                <div class="field search-field">
                    <label for="q">"Name or email"</label>
                    <input id="q" name="q" type="search" maxlength="100" value=list.search.clone().unwrap_or_default() />
                </div>
                <div class="field actions"><button type="submit" class="button">"Search"</button></div>
            </Form>
            <p class="result-count">{format!("{} customers · page {} of {}", list.total, list.page, list.total_pages)}</p>
            {(list.total == 0).then(|| view! { <p class="empty">"No customers match."</p> })}
            <div class="table-scroll">
                <table class="data">
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Email"</th><th scope="col">"Joined"</th>
                        <th scope="col">"Orders"</th><th scope="col">"Latest"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <Pager page=list.page total_pages=list.total_pages href />
        </AdminFrame>
    }
}

#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let account = AccountChanges::get();
    let data = Resource::new(
        move || (id(), query.read().get("page"), account.version()),
        |(id, page, _)| admin_customer(id, page),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the customer…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => {
                        let CustomerView { customer, orders, page, total_pages, currency } = view;
                        let base = format!("/admin/customers/{}", customer.id);
                        let href = Callback::new(move |page: u32| format!("{base}?page={page}"));
                        view! {
                            <AdminFrame title=customer.name.clone()>
                                <p><a href=format!("mailto:{}", customer.email)>{customer.email.clone()}</a>
                                    {format!(" · customer since {} · {} orders", customer.joined, customer.orders)}</p>
                                {orders.is_empty().then(|| view! { <p class="empty">"No orders yet."</p> })}
                                <OrderTable rows=orders currency />
                                <Pager page total_pages href />
                            </AdminFrame>
                        }.into_any()
                    }
                    Err(error) => view! { <AdminProblem error next=format!("/admin/customers/{}", id()) /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
