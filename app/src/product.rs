//! The product page at `/rentals/{slug}`: what the item is, what it costs, what it needs as
//! a deposit.

use crate::error::AppError;
use crate::model::ProductDetail;
use crate::money::format_money;
use crate::ui::{ErrorNotice, PhotoPlaceholder};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::{components::A, hooks::use_params_map};

/// A published product by its slug; 404 with a sentence when there is none.
#[server(prefix = "/api", endpoint = "product")]
pub async fn get_product(slug: String) -> Result<ProductDetail, AppError> {
    use crate::ssr::{db_error, mark_page_cacheable, not_found, shop};

    let shop = shop()?;
    if slug.len() > 200 {
        return Err(not_found(
            "We couldn't find that item. It may have been removed from the catalog.",
        ));
    }
    let catalog = shop.catalog.snapshot(&shop.pool).await.map_err(db_error)?;
    mark_page_cacheable();
    catalog.product(&slug, &shop.currency).ok_or_else(|| {
        not_found("We couldn't find that item. It may have been removed from the catalog.")
    })
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let product = Resource::new(
        move || params.read().get("slug").unwrap_or_default(),
        get_product,
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match product.await {
                    Ok(product) => view! { <ProductBody product /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ProductBody(product: ProductDetail) -> impl IntoView {
    let price = format_money(product.daily_price, &product.currency);
    let deposit = format_money(product.deposit, &product.currency);
    let category_href = format!("/?category={}", product.category_slug);
    view! {
        <Title text=product.name.clone() />
        <Meta name="description" content=product.summary.clone() />
        <article class="product-page">
            <nav class="breadcrumbs" aria-label="Breadcrumbs">
                <A href="/">"Catalog"</A>
                " › "
                <A href=category_href>{product.category_name.clone()}</A>
            </nav>
            <div class="product-layout">
                <PhotoPlaceholder name=product.name.clone() />
                <div class="product-info">
                    <h1>{product.name}</h1>
                    <p class="lead">{product.summary}</p>
                    <dl class="price-list">
                        <dt>"Per day"</dt>
                        <dd><strong>{price}</strong></dd>
                        <dt>"Security deposit"</dt>
                        <dd>{deposit}" (refunded on return)"</dd>
                    </dl>
                    <p class="description">{product.description}</p>
                </div>
            </div>
        </article>
    }
}
