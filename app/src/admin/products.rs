//! `/admin/products`: every product, published or not, searchable and in pages; and
//! `/admin/products/new`, where a product is created (unpublished until staff publish it).

// The product form's server function takes each field as an argument, named as the HTML form
// posts it (so the form works without JavaScript); the code the `server` macro generates for
// it cannot carry an item-level allow.
#![allow(clippy::too_many_arguments)]

use super::model::{AdminProductList, NewProductView};
use super::product_edit::ProductFields;
use super::product_form::ProductForm;
use super::{form_error, AdminFrame, AdminProblem, Pager};
use crate::account::AccountChanges;
use crate::error::AppError;
use crate::money::format_money;
use leptos::prelude::*;
use leptos_router::{components::Form, hooks::use_query_map};

#[server(prefix = "/api/admin", endpoint = "products")]
pub async fn admin_products(
    q: Option<String>,
    page: Option<String>,
) -> Result<AdminProductList, AppError> {
    use super::query::{parse_page, parse_search};
    use crate::ssr::{admin, db_error, invalid, invalid_field, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let page = parse_page(page.as_deref()).map_err(invalid)?;
    let search = parse_search(&q, "q").map_err(|e| invalid_field(&e.field, e.message))?;
    let (rows, total) = admin::products::list(&shop.pool, search.as_deref(), page)
        .await
        .map_err(db_error)?;
    Ok(AdminProductList {
        rows,
        search,
        page,
        total_pages: crate::model::page_count(total, super::model::ADMIN_PAGE_SIZE),
        total,
        currency: shop.currency.clone(),
    })
}

#[server(prefix = "/api/admin", endpoint = "new-product")]
pub async fn admin_new_product() -> Result<NewProductView, AppError> {
    use crate::ssr::{admin, db_error, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    Ok(NewProductView {
        categories: admin::products::categories(&shop.pool)
            .await
            .map_err(db_error)?,
        currency: shop.currency.clone(),
    })
}

/// Creates a product from the form, then opens its page (to add prices, units and photos).
#[server(prefix = "/api/admin", endpoint = "product-create")]
pub async fn admin_create_product(
    name: String,
    slug: String,
    category: String,
    summary: String,
    description: String,
    daily_price: String,
    deposit: String,
    min_rental_minutes: String,
    buffer_before_minutes: String,
    buffer_after_minutes: String,
    late_grace_minutes: String,
    late_fee_hourly: String,
    late_fee_daily: String,
    published: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::{admin, invalid_field, shop};
    let shop = shop()?;
    let staff = admin::require_staff(&shop).await?;
    let form = ProductForm {
        name,
        slug,
        category,
        summary,
        description,
        daily_price,
        deposit,
        min_rental_minutes,
        buffer_before_minutes,
        buffer_after_minutes,
        late_grace_minutes,
        late_fee_hourly,
        late_fee_daily,
        published: published.is_some(),
    };
    let checked = form
        .check()
        .map_err(|e| invalid_field(&e.field, e.message))?;
    let slug = admin::products::create(&shop.pool, staff.id, &checked)
        .await
        .map_err(admin::product_error)?;
    leptos_axum::redirect(&format!("/admin/products/{slug}?created=1"));
    Ok(())
}

#[component]
pub fn ProductsPage() -> impl IntoView {
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
        |(q, page, _)| admin_products(q, page),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading products…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(list) => view! { <ProductsBody list /> }.into_any(),
                    Err(error) => view! { <AdminProblem error next="/admin/products".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductsBody(list: AdminProductList) -> impl IntoView {
    let search = list.search.clone();
    let href = Callback::new(move |page: u32| {
        let mut href = format!("/admin/products?page={page}");
        if let Some(q) = &search {
            href.push_str(&format!("&q={}", crate::catalog_query::encode(q)));
        }
        href
    });
    let currency = list.currency.clone();
    let rows = list
        .rows
        .into_iter()
        .map(|p| {
            view! {
                <tr>
                    <th scope="row"><a href=format!("/admin/products/{}", p.slug)>{p.name}</a></th>
                    <td>{p.category}</td>
                    <td>{if p.published { "Published" } else { "Hidden" }}</td>
                    <td>{format!("{} of {}", p.units_available, p.units_total)}</td>
                    <td class="amount">{format_money(p.daily_price, &currency)}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = list.total == 0;
    view! {
        <AdminFrame title="Products">
            <p><a class="button" href="/admin/products/new">"New product"</a></p>
            <Form method="get" action="/admin/products" attr:class="search-form" attr:role="search">
                <div class="field search-field">
                    <label for="q">"Search products"</label>
                    <input id="q" name="q" type="search" maxlength="100" value=list.search.clone().unwrap_or_default() />
                </div>
                <div class="field actions"><button type="submit" class="button">"Search"</button></div>
            </Form>
            <p class="result-count">{format!("{} products · page {} of {}", list.total, list.page, list.total_pages)}</p>
            {empty.then(|| view! { <p class="empty">"No products match."</p> })}
            <div class="table-scroll">
                <table class="data">
                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Category"</th><th scope="col">"Shown"</th>
                        <th scope="col">"Units free to book"</th><th scope="col" class="amount">"Per day"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <Pager page=list.page total_pages=list.total_pages href />
        </AdminFrame>
    }
}

#[component]
pub fn NewProductPage() -> impl IntoView {
    let create = ServerAction::<AdminCreateProduct>::new();
    let account = AccountChanges::get();
    let data = Resource::new(move || account.version(), |_| admin_new_product());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(view) => {
                        let error = form_error(create);
                        view! {
                            <AdminFrame title="New product">
                                <ActionForm action=create attr:class="stacked-form product-form">
                                    <ProductFields form=ProductForm::default() categories=view.categories currency=view.currency error=super::last_error(create) />
                                    <p class="form-error" role="alert">{move || error.get()}</p>
                                    <button type="submit" class="button">"Create product"</button>
                                </ActionForm>
                            </AdminFrame>
                        }.into_any()
                    }
                    Err(error) => view! { <AdminProblem error next="/admin/products/new".to_owned() /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
