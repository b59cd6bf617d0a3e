//! The catalog page: published products, filterable by category, paginated, with stable URLs
//! (`/?category=cameras&page=2`) so any view can be shared.

use crate::error::AppError;
use crate::model::{CatalogView, ProductCard};
use crate::money::format_money;
use crate::ui::{ErrorNotice, PhotoPlaceholder};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

/// One page of the catalog. `page` arrives as typed in the URL and is checked here, so a bad
/// value gets a clear 400 instead of silently showing page 1.
#[server(prefix = "/api", endpoint = "catalog")]
pub async fn get_catalog(
    category: Option<String>,
    page: Option<String>,
) -> Result<CatalogView, AppError> {
    use crate::model::{page_count, CATALOG_PAGE_SIZE};
    use crate::ssr::{db_error, invalid, mark_page_cacheable, not_found, shop};

    let page = match page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                return Err(invalid(
                    "The page number must be a whole number from 1 to 10000.",
                ))
            }
        },
    };
    let shop = shop()?;
    let catalog = shop.catalog.snapshot(&shop.pool).await.map_err(db_error)?;
    let categories = catalog.categories().to_vec();
    let category = match category.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(slug) => match categories.iter().find(|c| c.slug == slug) {
            Some(found) => Some(found.clone()),
            None => return Err(not_found("We have no category by that name.")),
        },
    };
    // The view depends only on the URL and the catalog snapshot.
    mark_page_cacheable();
    let (products, total_products) = catalog.page(
        category.as_ref().map(|c| c.slug.as_str()),
        crate::model::CatalogSort::Name,
        page,
        CATALOG_PAGE_SIZE,
    );
    Ok(CatalogView {
        products,
        categories,
        category,
        page,
        total_pages: page_count(total_products, CATALOG_PAGE_SIZE),
        total_products,
        currency: shop.currency,
    })
}

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let catalog = Resource::new(
        move || {
            let query = query.read();
            (query.get("category"), query.get("page"))
        },
        |(category, page)| get_catalog(category, page),
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

fn catalog_href(category: Option<&str>, page: u32) -> String {
    match (category, page) {
        (None, 1) => "/".to_owned(),
        (None, page) => format!("/?page={page}"),
        (Some(slug), 1) => format!("/?category={slug}"),
        (Some(slug), page) => format!("/?category={slug}&page={page}"),
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
    } = view;
    let current = category.as_ref().map(|c| c.slug.clone());
    let heading = category
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "Everything to rent".to_owned());
    let title = heading.clone();
    let filters = categories
        .into_iter()
        .map(|c| {
            let selected = current.as_deref() == Some(c.slug.as_str());
            view! {
                <li>
                    <a
                        href=catalog_href(Some(&c.slug), 1)
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
    let slug = current.clone();
    let empty = products.is_empty();
    let cards = products
        .into_iter()
        .map(|product| view! { <ProductTile product currency=currency.clone() /> })
        .collect_view();
    view! {
        <Title text=title />
        <div class="catalog">
            <aside class="filters" aria-label="Categories">
                <h2>"Categories"</h2>
                <ul>
                    <li>
                        <a href="/" aria-current=current.is_none().then_some("page") class:selected=current.is_none()>
                            "All"
                        </a>
                    </li>
                    {filters}
                </ul>
            </aside>
            <section class="results" aria-labelledby="catalog-heading">
                <h1 id="catalog-heading">{heading}</h1>
                <p class="result-count">
                    {format!("{total_products} item{} · page {page} of {total_pages}", if total_products == 1 { "" } else { "s" })}
                </p>
                <Show when=move || empty>
                    <div class="empty">
                        <p>"Nothing to show on this page."</p>
                        <p><a href=catalog_href(slug.as_deref(), 1)>"Back to the first page"</a></p>
                    </div>
                </Show>
                <ul class="product-grid">{cards}</ul>
                <Pagination category=current page total_pages />
            </section>
        </div>
    }
}

#[component]
fn ProductTile(product: ProductCard, currency: String) -> impl IntoView {
    let href = format!("/rentals/{}", product.slug);
    let price = format_money(product.daily_price, &currency);
    view! {
        <li class="product-card">
            <A href=href>
                <PhotoPlaceholder name=product.name.clone() />
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
fn Pagination(category: Option<String>, page: u32, total_pages: u32) -> impl IntoView {
    let link = move |target: u32, label: &'static str, rel: &'static str| {
        let href = catalog_href(category.as_deref(), target);
        view! { <a href=href rel=rel>{label}</a> }
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

#[cfg(test)]
mod tests {
    use super::catalog_href;

    #[test]
    fn catalog_links_are_stable_and_minimal() {
        assert_eq!(catalog_href(None, 1), "/");
        assert_eq!(catalog_href(None, 3), "/?page=3");
        assert_eq!(catalog_href(Some("cameras"), 1), "/?category=cameras");
        assert_eq!(
            catalog_href(Some("cameras"), 2),
            "/?category=cameras&page=2"
        );
    }
}
