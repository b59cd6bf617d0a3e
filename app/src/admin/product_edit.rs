//! `/admin/products/{slug}`: one product's page for staff — its details and booking terms
//! (publish or hide it), its prices, units and photos (see `product_parts`), and its history.

// The product form's server function takes each field as an argument, named as the HTML form
// posts it (so the form works without JavaScript); the code the `server` macro generates for
// it cannot carry an item-level allow.
#![allow(clippy::too_many_arguments)]

use super::model::AdminProductView;
use super::product_form::ProductForm;
use super::{form_error, last_error, AdminFrame, AdminProblem, Field, History};
use crate::account::AccountChanges;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[cfg(feature = "ssr")]
const NO_PRODUCT: &str = "We couldn't find that product.";

/// The signed-in staff member and the product's id, or the reason they may not have it.
#[cfg(feature = "ssr")]
pub(crate) async fn staff_and_product(
    shop: &crate::ssr::ShopContext,
    slug: &str,
) -> Result<(crate::model::CurrentUser, i64, ProductForm), AppError> {
    use crate::ssr::{admin, db_error, not_found};
    let staff = admin::require_staff(shop).await?;
    if slug.len() > 200 {
        return Err(not_found(NO_PRODUCT));
    }
    let (id, form) = admin::products::form_of(&shop.pool, slug)
        .await
        .map_err(db_error)?
        .ok_or_else(|| not_found(NO_PRODUCT))?;
    Ok((staff, id, form))
}

#[server(prefix = "/api/admin", endpoint = "product")]
pub async fn admin_product(slug: String) -> Result<AdminProductView, AppError> {
    use crate::ssr::admin::{actions_on, product_parts as parts, products, Subject};
    use crate::ssr::{db_error, shop};
    let shop = shop()?;
    let (_, id, form) = staff_and_product(&shop, &slug).await?;
    let pool = &shop.pool;
    let (categories, tiers, units, photos, history) = tokio::try_join!(
        products::categories(pool),
        parts::tiers(pool, id),
        parts::units(pool, id, shop.time_zone),
        parts::photos(pool, id),
        actions_on(pool, Subject::Product(id), shop.time_zone, 50),
    )
    .map_err(db_error)?;
    Ok(AdminProductView {
        form,
        categories,
        tiers,
        units,
        photos,
        history,
        currency: shop.currency.clone(),
        upload_limit_mb: shop.upload_limit_mb,
    })
}

/// Saves the product form over the product now at `original_slug`.
#[server(prefix = "/api/admin", endpoint = "product-update")]
pub async fn admin_update_product(
    original_slug: String,
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
    let (staff, id, before) = staff_and_product(&shop, &original_slug).await?;
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
    let slug = admin::products::update(&shop.pool, staff.id, id, &before, &checked)
        .await
        .map_err(admin::product_error)?;
    leptos_axum::redirect(&format!("/admin/products/{slug}?saved=1"));
    Ok(())
}

#[component]
pub fn ProductEditPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let actions = super::product_parts::PartActions::new();
    let save = ServerAction::<AdminUpdateProduct>::new();
    let uploads = super::photos::Uploads::new();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let account = AccountChanges::get();
    let data = Resource::new(
        move || {
            (
                slug(),
                account.version(),
                save.version().get(),
                actions.version(),
                uploads.finished.get(),
            )
        },
        |(slug, ..)| admin_product(slug),
    );
    let banner = move || {
        let q = query.read();
        if q.get("created").is_some() {
            Some("Product created. It is hidden until you publish it: add its units and photos, check its prices, then tick “Shown in the catalog”.".to_owned())
        } else if q.get("saved").is_some() {
            Some("Saved.".to_owned())
        } else if let Some(n) = q.get("uploaded") {
            Some(format!("{n} photo(s) added."))
        } else {
            q.get("upload_error")
        }
    };
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the product…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(product) => {
                        let error = form_error(save);
                        let original = product.form.slug.clone();
                        let title = product.form.name.clone();
                        let storefront = format!("/rentals/{original}");
                        let (form, categories, currency) =
                            (product.form.clone(), product.categories.clone(), product.currency.clone());
                        let history = product.history.clone();
                        let hidden_slug = original.clone();
                        view! {
                            <AdminFrame title=title>
                                <p class="banner" role="status">{banner}</p>
                                <p><a href=storefront>"See it as customers do"</a></p>
                                <ActionForm action=save attr:class="stacked-form product-form card">
                                    <input type="hidden" name="original_slug" value=hidden_slug />
                                    <ProductFields form categories currency error=last_error(save) />
                                    <p class="form-error" role="alert">{move || error.get()}</p>
                                    <button type="submit" class="button">"Save"</button>
                                </ActionForm>
                                <super::product_parts::ProductParts product slug=original actions uploads />
                                <History actions=history />
                            </AdminFrame>
                        }.into_any()
                    }
                    Err(error) => view! { <AdminProblem error next=format!("/admin/products/{}", slug()) /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The product form's fields, filled with `form` and showing `error`'s message at its field.
#[component]
pub fn ProductFields(
    form: ProductForm,
    categories: Vec<(String, String)>,
    currency: String,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let at = move |name: &'static str| {
        Signal::derive(move || error.get().and_then(|e| e.for_field(name)))
    };
    let chosen = form.category.clone();
    let options = categories
        .into_iter()
        .map(|(slug, name)| {
            let selected = slug == chosen;
            view! { <option value=slug selected=selected>{name}</option> }
        })
        .collect_view();
    let category_error = at("category");
    let published_error = at("published");
    let summary_error = at("summary");
    let description_error = at("description");
    let price_hint = if currency == "EUR" {
        "In euros, e.g. 18.50"
    } else {
        "e.g. 18.50"
    };
    view! {
        <Field id="name" label="Name" value=form.name.clone() required=true error=at("name") />
        <Field id="slug" label="Web address" value=form.slug.clone()
            hint="Lowercase words and dashes, e.g. two-person-tent. Left empty, it is made from the name." error=at("slug") />
        <div class="field">
            <label for="category">"Category"</label>
            <select id="category" name="category" required aria-describedby="category-error">
                <option value="">"Choose…"</option>
                {options}
            </select>
            <p class="field-error" id="category-error" role="alert">{move || category_error.get()}</p>
        </div>
        <div class="field">
            <label for="summary">"Summary (one line on the catalog card)"</label>
            <input id="summary" name="summary" maxlength="300" value=form.summary.clone() aria-describedby="summary-error" />
            <p class="field-error" id="summary-error" role="alert">{move || summary_error.get()}</p>
        </div>
        <div class="field">
            <label for="description">"Description"</label>
            <textarea id="description" name="description" rows="4" maxlength="10000" aria-describedby="description-error">{crate::ui::raw_text(form.description.clone())}</textarea>
            <p class="field-error" id="description-error" role="alert">{move || description_error.get()}</p>
        </div>
        <div class="field-row">
            <Field id="daily_price" label="Price per day (catalog)" value=form.daily_price.clone() required=true inputmode="decimal" hint=price_hint error=at("daily_price") />
            <Field id="deposit" label="Deposit" value=form.deposit.clone() inputmode="decimal" error=at("deposit") />
        </div>
        <div class="field-row">
            <Field id="min_rental_minutes" label="Minimum rental (minutes)" kind="number" value=form.min_rental_minutes.clone() hint="60 = one hour" error=at("min_rental_minutes") />
            <Field id="buffer_before_minutes" label="Time needed before (minutes)" kind="number" value=form.buffer_before_minutes.clone() error=at("buffer_before_minutes") />
            <Field id="buffer_after_minutes" label="Time needed after (minutes)" kind="number" value=form.buffer_after_minutes.clone() hint="Cleaning and checks between rentals" error=at("buffer_after_minutes") />
        </div>
        <div class="field-row">
            <Field id="late_grace_minutes" label="Late grace (minutes)" kind="number" value=form.late_grace_minutes.clone() error=at("late_grace_minutes") />
            <Field id="late_fee_hourly" label="Late fee per started hour" value=form.late_fee_hourly.clone() inputmode="decimal" error=at("late_fee_hourly") />
            <Field id="late_fee_daily" label="Late fee per started day" value=form.late_fee_daily.clone() inputmode="decimal" error=at("late_fee_daily") />
        </div>
        <div class="field checkbox">
            <input id="published" name="published" type="checkbox" value="on" checked=form.published aria-describedby="published-error" />
            <label for="published">"Shown in the catalog"</label>
            <p class="field-error" id="published-error" role="alert">{move || published_error.get()}</p>
        </div>
    }
}
