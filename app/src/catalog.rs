//! The catalog page: published products, searchable (PostgreSQL full-text search), filterable
//! by category and by "free on these dates", sortable and paginated, with stable URLs
//! (`/?q=tent&from=2027-03-14&sort=price&page=2`) so any view can be shared.

use crate::catalog_query::href;
use crate::error::AppError;
use crate::images::Photo;
use crate::model::{CatalogQuery, CatalogSort, CatalogView, ProductCard};
use crate::money::format_money;
use crate::ui::{ErrorNotice, FieldMessage, PhotoPlaceholder};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{Form, A},
    hooks::use_query_map,
};

/// One page of the catalog. Every parameter arrives as typed in the URL and is checked here:
/// a bad page number is a 400, a bad filter a message next to its field, never a 500.
#[server(prefix = "/api", endpoint = "catalog")]
pub async fn get_catalog(
    q: Option<String>,
    category: Option<String>,
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    page: Option<String>,
) -> Result<CatalogView, AppError> {
    use crate::catalog_query::{parse, QueryProblem, RawCatalogQuery};
    use crate::ssr::{
        db_error, invalid, mark_page_cacheable, mark_page_fresh_for, not_found, shop,
    };

    let shop = shop()?;
    let raw = RawCatalogQuery {
        q,
        category,
        from,
        to,
        sort,
        page,
    };
    let today = chrono::Utc::now()
        .with_timezone(&shop.time_zone)
        .date_naive();
    let horizon = crate::ssr::terms::BOOKING_HORIZON_DAYS;
    let (query, checked) = parse(&raw, today, horizon);
    let catalog = shop.catalog.snapshot(&shop.pool).await.map_err(db_error)?;
    let categories = catalog.categories().to_vec();
    let category = match query.category.as_deref() {
        None => None,
        Some(slug) => match categories.iter().find(|c| c.slug == slug) {
            Some(found) => Some(found.clone()),
            None => return Err(not_found("We have no category by that name.")),
        },
    };
    let mut view = CatalogView {
        products: Vec::new(),
        categories,
        category,
        page: query.page,
        total_pages: 1,
        total_products: 0,
        currency: shop.currency.clone(),
        query: query.clone(),
        error: None,
    };
    let free_days = match checked {
        Ok(days) => days,
        Err(QueryProblem::Page(message)) => return Err(invalid(message)),
        Err(QueryProblem::Field(error)) => {
            // The form is shown again with the message; nothing is searched.
            let _ = invalid(error.message.clone());
            view.error = Some(error);
            return Ok(view);
        }
    };
    let (products, total) = if query.search.is_none() && free_days.is_none() {
        // Plain browsing is served from memory and the page may be reused.
        mark_page_cacheable();
        catalog.page(
            query.category.as_deref(),
            query.sort,
            query.page,
            crate::model::CATALOG_PAGE_SIZE,
        )
    } else {
        if free_days.is_some() {
            mark_page_fresh_for(2);
        } else {
            mark_page_cacheable();
        }
        search(&shop, &catalog, &query, free_days).await?
    };
    view.products = products;
    view.total_products = total;
    view.total_pages = crate::model::page_count(total, crate::model::CATALOG_PAGE_SIZE);
    Ok(view)
}

#[cfg(feature = "ssr")]
async fn search(
    shop: &crate::ssr::ShopContext,
    catalog: &crate::ssr::catalog_cache::CatalogSnapshot,
    query: &CatalogQuery,
    free_days: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> Result<(Vec<ProductCard>, i64), AppError> {
    use crate::ssr::{db_error, search::SearchFilter};
    let free = free_days.map(|(from, to)| {
        let midnight = |day: chrono::NaiveDate| {
            crate::domain::period::parse_local(&day.to_string(), "00:00", shop.time_zone)
        };
        (midnight(from), midnight(to + chrono::Duration::days(1)))
    });
    let free = match free {
        Some((Ok(start), Ok(end))) => Some((start, end)),
        Some(_) => {
            return Err(crate::ssr::invalid(
                "Please enter dates such as 2027-03-14.",
            ))
        }
        None => None,
    };
    let filter = SearchFilter {
        words: query.search.as_deref(),
        category: query.category.as_deref(),
        free,
        sort: query.sort,
        page: query.page,
        per_page: crate::model::CATALOG_PAGE_SIZE,
    };
    let mut conn = shop.pool.acquire().await.map_err(db_error)?;
    let (slugs, total) = crate::ssr::search::search(&mut conn, &filter)
        .await
        .map_err(db_error)?;
    Ok((catalog.cards(&slugs), total))
}

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let catalog = Resource::new(
        move || {
            let query = query.read();
            (
                query.get("q"),
                query.get("category"),
                query.get("from"),
                query.get("to"),
                query.get("sort"),
                query.get("page"),
            )
        },
        |(q, category, from, to, sort, page)| get_catalog(q, category, from, to, sort, page),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the catalog…"</p> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Ok(view) => view! { <CatalogBody view /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CatalogBody(view: CatalogView) -> impl IntoView {
    let CatalogView {
        products,
        categories,
        category,
        page,
        total_pages,
        total_products,
        currency,
        query,
        error,
    } = view;
    let filtered = query.search.is_some() || query.from.is_some();
    let heading = match (&query.search, &category) {
        (Some(words), _) => format!("Results for “{words}”"),
        (None, Some(c)) => c.name.clone(),
        (None, None) if filtered => "Free on your dates".to_owned(),
        (None, None) => "Everything to rent".to_owned(),
    };
    let title = heading.clone();
    let current = query.category.clone();
    let link_query = CatalogQuery {
        category: None,
        page: 1,
        ..query.clone()
    };
    let all_href = href(&link_query, 1);
    let filters = categories
        .into_iter()
        .map(|c| {
            let selected = current.as_deref() == Some(c.slug.as_str());
            let target = CatalogQuery {
                category: Some(c.slug.clone()),
                ..link_query.clone()
            };
            view! {
                <li>
                    <a
                        href=href(&target, 1)
                        aria-current=selected.then_some("page")
                        class:selected=selected
                    >
                        {c.name}
                        <span class="count">{c.product_count}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    let empty = products.is_empty() && error.is_none();
    let first_page = href(&query, 1);
    // Filtered by dates, a product link carries them, so its page quotes them at once.
    // The filter covers whole days, so the rental returns the morning after the last one.
    let dates = match (&query.from, &error) {
        (Some(from), None) => {
            let last = query.to.as_deref().unwrap_or(from);
            chrono::NaiveDate::parse_from_str(last, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.succ_opt())
                .map(|end| format!("?start_date={from}&end_date={end}"))
                .unwrap_or_default()
        }
        _ => String::new(),
    };
    let cards = products
        .into_iter()
        .enumerate()
        .map(|(i, product)| {
            // The first row is in view at once: not lazy, fetched first.
            let eager = i < 4;
            view! { <ProductTile product currency=currency.clone() dates=dates.clone() eager /> }
        })
        .collect_view();
    let count = format!(
        "{total_products} item{} · page {page} of {total_pages}",
        if total_products == 1 { "" } else { "s" }
    );
    view! {
        <Title text=title />
        <div class="catalog">
            <aside class="filters" aria-label="Categories">
                <h2>"Categories"</h2>
                <ul>
                    <li>
                        <a href=all_href aria-current=current.is_none().then_some("page") class:selected=current.is_none()>
                            "All"
                        </a>
                    </li>
                    {filters}
                </ul>
            </aside>
            <section class="results" aria-labelledby="catalog-heading">
                <SearchForm query=query.clone() error=error.clone() />
                <h1 id="catalog-heading">{heading}</h1>
                {match error {
                    Some(_) => view! { <p class="result-count">"Fix the filter above to see results."</p> }.into_any(),
                    None => view! { <p class="result-count">{count}</p> }.into_any(),
                }}
                <Show when=move || empty>
                    <div class="empty">
                        {if filtered {
                            view! { <p>"Nothing matches these filters. Try other words or dates, or "<a href="/">"browse everything"</a>"."</p> }.into_any()
                        } else {
                            view! { <p>"Nothing to show on this page."</p> }.into_any()
                        }}
                        <p><a href=first_page.clone()>"Back to the first page"</a></p>
                    </div>
                </Show>
                <ul class="product-grid">{cards}</ul>
                <Pagination query page total_pages />
            </section>
        </div>
    }
}

/// The search and filter form: a GET form, so it works without JavaScript and its result
/// has a URL; hydrated, it navigates without a page load.
#[component]
fn SearchForm(
    query: CatalogQuery,
    error: Option<crate::domain::booking_request::FieldError>,
) -> impl IntoView {
    let message = move |field: &'static str| {
        error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message.clone())
    };
    let (q_error, from_error, to_error, sort_error) = (
        message("q"),
        message("from"),
        message("to"),
        message("sort"),
    );
    let sort = query.sort;
    let options = CatalogSort::ALL
        .into_iter()
        .map(|s| view! { <option value=s.as_str() selected={s == sort}>{s.label()}</option> })
        .collect_view();
    let clear = (query.search.is_some() || query.from.is_some() || query.sort != CatalogSort::Name)
        .then(|| {
            let target = CatalogQuery {
                category: query.category.clone(),
                ..CatalogQuery::default()
            };
            view! { <a class="clear-filters" href=href(&target, 1)>"Clear filters"</a> }
        });
    view! {
        <Form method="get" action="/" attr:class="search-form" attr:role="search">
            <div class="field search-field">
                <label for="q">"Search"</label>
                <input id="q" name="q" type="search" maxlength="200" placeholder="tent, drill, projector…"
                    value=query.search.clone().unwrap_or_default()
                    aria-invalid=q_error.is_some().then_some("true")
                    aria-describedby=q_error.is_some().then_some("q-error") />
                <FieldMessage id="q-error" message=q_error />
            </div>
            {query.category.clone().map(|c| view! { <input type="hidden" name="category" value=c /> })}
            <div class="field">
                <label for="from">"Free from"</label>
                <input id="from" name="from" type="date" value=query.from.clone().unwrap_or_default()
                    aria-invalid=from_error.is_some().then_some("true")
                    aria-describedby=from_error.is_some().then_some("from-error") />
                <FieldMessage id="from-error" message=from_error />
            </div>
            <div class="field">
                <label for="to">"to"</label>
                <input id="to" name="to" type="date" value=query.to.clone().unwrap_or_default()
                    aria-invalid=to_error.is_some().then_some("true")
                    aria-describedby=to_error.is_some().then_some("to-error") />
                <FieldMessage id="to-error" message=to_error />
            </div>
            <div class="field">
                <label for="sort">"Sort by"</label>
                <select id="sort" name="sort">{options}</select>
                <FieldMessage id="sort-error" message=sort_error />
            </div>
            <div class="field actions">
                <button type="submit" class="button">"Search"</button>
                {clear}
            </div>
        </Form>
    }
}

/// A tile is the full width on phones, a third of the results column on tablets, and at most
/// about 300 px in the widest layout (see the grid in style/main.css).
const TILE_SIZES: &str =
    "(min-width: 1200px) 300px, (min-width: 760px) 30vw, (min-width: 520px) 50vw, 100vw";

#[component]
fn ProductTile(
    product: ProductCard,
    currency: String,
    dates: String,
    eager: bool,
) -> impl IntoView {
    let href = format!("/rentals/{}{dates}", product.slug);
    let price = format_money(product.daily_price, &currency);
    view! {
        <li class="product-card">
            <A href=href>
                {match product.image {
                    Some(image) => view! { <Photo image sizes=TILE_SIZES eager /> }.into_any(),
                    None => view! { <PhotoPlaceholder name=product.name.clone() /> }.into_any(),
                }}
                <span class="product-category">{product.category_name}</span>
                <h2 class="product-name">{product.name}</h2>
                <p class="product-summary">{product.summary}</p>
                <p class="product-price">
                    <strong>{price}</strong>
                    " / day"
                </p>
            </A>
        </li>
    }
}

#[component]
fn Pagination(query: CatalogQuery, page: u32, total_pages: u32) -> impl IntoView {
    let link = move |target: u32, label: &'static str, rel: &'static str| {
        view! { <a href=href(&query, target) rel=rel>{label}</a> }
    };
    let previous = (page > 1).then(|| {
        link(
            page.saturating_sub(1).min(total_pages),
            "← Previous",
            "prev",
        )
    });
    let next = (page < total_pages).then(|| link(page + 1, "Next →", "next"));
    view! {
        <nav class="pagination" aria-label="Pages">
            {previous}
            <span aria-current="page">{format!("Page {page} of {total_pages}")}</span>
            {next}
        </nav>
    }
}
