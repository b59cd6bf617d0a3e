//! The product page at `/rentals/{slug}`: what the item is and costs, a month calendar of free
//! units, and the booking form. The chosen dates live in the URL
//! (`?start_date=2027-03-14&end_date=2027-03-16`), so the quote is rendered on the server for
//! a browser without JavaScript and a quote can be shared; hydrated, changing a date updates
//! the URL and the quote without a page load. "Reserve" holds units and goes to the cart.

use crate::domain::booking_request::{BookingFields, DEFAULT_TIME, MAX_QUANTITY};
use crate::error::AppError;
use crate::images::Photo;
use crate::model::ImageRef;
use crate::model::{MonthCalendar, ProductDetail, QuoteView};
use crate::money::format_money;
use crate::ui::{ErrorNotice, PhotoPlaceholder};
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::{
    components::{Form, A},
    hooks::{use_params_map, use_query_map},
};

#[cfg(feature = "ssr")]
const NOT_FOUND: &str = "We couldn't find that item. It may have been removed from the catalog.";

/// A published product by its slug; 404 with a sentence when there is none.
#[server(prefix = "/api", endpoint = "product")]
pub async fn get_product(slug: String) -> Result<ProductDetail, AppError> {
    use crate::ssr::{db_error, mark_page_cacheable, not_found, shop};

    let shop = shop()?;
    if slug.len() > 200 {
        return Err(not_found(NOT_FOUND));
    }
    let catalog = shop.catalog.snapshot(&shop.pool).await.map_err(db_error)?;
    mark_page_cacheable();
    catalog
        .product(&slug, &shop.currency)
        .ok_or_else(|| not_found(NOT_FOUND))
}

/// Free units per shop-local day of `month` (`YYYY-MM`, default: this month), in one query.
#[server(prefix = "/api", endpoint = "calendar")]
pub async fn get_calendar(slug: String, month: Option<String>) -> Result<MonthCalendar, AppError> {
    use crate::domain::calendar::{month_bounds, MonthChoice};
    use crate::ssr::{availability, db_error, invalid_field, mark_page_fresh_for, not_found, shop};

    let shop = shop()?;
    let catalog = shop.catalog.snapshot(&shop.pool).await.map_err(db_error)?;
    let product_id = catalog
        .product_id(&slug)
        .ok_or_else(|| not_found(NOT_FOUND))?;
    let today = chrono::Utc::now()
        .with_timezone(&shop.time_zone)
        .date_naive();
    let horizon = today + chrono::Duration::days(crate::ssr::terms::BOOKING_HORIZON_DAYS);
    let choice = MonthChoice::read(month.as_deref(), today, horizon)
        .map_err(|message| invalid_field("month", message))?;
    let (first, last) = month_bounds(choice.first_day);
    let mut conn = shop.pool.acquire().await.map_err(db_error)?;
    let days = availability::daily_free_units(&mut conn, product_id, first, last, shop.time_zone)
        .await
        .map_err(db_error)?;
    let total_units = availability::bookable_units(&mut conn, product_id)
        .await
        .map_err(db_error)?;
    mark_page_fresh_for(2);
    Ok(choice.calendar(&days, today, total_units))
}

/// What the dates in the form would cost and whether a unit is free; `None` while no date is
/// chosen. A wrong date is a message for its field.
#[server(prefix = "/api", endpoint = "quote")]
pub async fn get_quote(
    slug: String,
    start_date: String,
    start_time: String,
    end_date: String,
    end_time: String,
) -> Result<Option<QuoteView>, AppError> {
    use crate::domain::period::{format_local, human_duration};
    use crate::domain::pricing::quote;
    use crate::ssr::{db_error, invalid, mark_page_fresh_for, shop};

    let fields = BookingFields {
        start_date,
        start_time,
        end_date,
        end_time,
    };
    if fields.is_blank() {
        return Ok(None);
    }
    let shop = shop()?;
    let mut conn = shop.pool.acquire().await.map_err(db_error)?;
    let (terms, period, free_units) = checked_request(&shop, &mut conn, &slug, &fields).await?;
    let priced = quote(&terms.tiers, period.local_span(shop.time_zone))
        .map_err(|err| invalid(err.to_string()))?
        .with_deposit(terms.deposit);
    mark_page_fresh_for(2);
    Ok(Some(QuoteView {
        period_label: format!(
            "{} to {} ({})",
            format_local(period.start, shop.time_zone),
            format_local(period.end, shop.time_zone),
            human_duration(period.duration())
        ),
        lines: priced.quote.lines,
        rental_total: priced.quote.rental_total,
        deposit: priced.deposit,
        total_due: priced.total_due,
        free_units,
        currency: shop.currency.clone(),
    }))
}

/// Holds `quantity` free units for the chosen dates in this visitor's cart, then goes to the
/// cart. Nothing is held when not all of them are free.
#[server(prefix = "/api", endpoint = "reserve")]
pub async fn reserve(
    slug: String,
    start_date: String,
    start_time: String,
    end_date: String,
    end_time: String,
    quantity: Option<String>,
    request_key: Option<String>,
) -> Result<(), AppError> {
    use crate::domain::booking_request::parse_quantity;
    use crate::ssr::{
        account_error, accounts, booking, booking_error, current_user, db_error, invalid,
        invalid_field, session, shop,
    };

    let shop = shop()?;
    // An idempotency key: a client that retries a submit whose answer it never got sends the
    // same key, and gets the holds of the first submit instead of new ones.
    let request_key = match request_key.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(uuid::Uuid::parse_str(text).map_err(|_| {
            invalid(
                "That booking request was not understood. Please reload the page and try again.",
            )
        })?),
    };
    let unit_key = |n: u32| {
        request_key.map(|key| uuid::Uuid::from_u128(key.as_u128().wrapping_add(u128::from(n))))
    };
    let fields = BookingFields {
        start_date,
        start_time,
        end_date,
        end_time,
    };
    let quantity = parse_quantity(quantity.as_deref().unwrap_or(""))
        .map_err(|err| invalid_field(&err.field, err.message))?;
    let mut conn = shop.pool.acquire().await.map_err(db_error)?;
    let (terms, period, free) = checked_request(&shop, &mut conn, &slug, &fields).await?;
    drop(conn);
    let session = session().await?;
    let user = current_user(&shop).await?;
    let holder = booking::Holder {
        cart_token: accounts::cart_token(&session)
            .await
            .map_err(account_error)?,
        customer_id: user.map(|u| u.id),
    };
    let replay = match unit_key(0) {
        Some(key) => booking::earlier_hold(&shop.pool, key, holder)
            .await
            .map_err(booking_error)?
            .is_some(),
        None => false,
    };
    if !replay && free < i64::from(quantity) {
        return Err(booking_error(if free == 0 {
            booking::BookingError::Unavailable
        } else {
            booking::BookingError::Refused(format!(
                "Only {free} of these are free for your dates. Please choose fewer or other dates."
            ))
        }));
    }
    let hold = chrono::Duration::minutes(shop.hold_minutes);
    let mut placed = Vec::new();
    for n in 0..quantity {
        match booking::place_hold(
            &shop.pool,
            shop.time_zone,
            &terms,
            period,
            holder,
            hold,
            unit_key(n),
        )
        .await
        {
            Ok(held) => placed.push(held.reservation_id),
            Err(err) => {
                // All or nothing: give back what this request held so far.
                for id in placed {
                    let _ = booking::remove_cart_line(&shop.pool, holder.cart_token, id).await;
                }
                return Err(booking_error(err));
            }
        }
    }
    leptos_axum::redirect("/cart");
    Ok(())
}

/// The product's booking terms, the period the fields describe (checked against them) and how
/// many units are free for it; a wrong field or an unknown product is the customer's error.
#[cfg(feature = "ssr")]
async fn checked_request(
    shop: &crate::ssr::ShopContext,
    conn: &mut sqlx::PgConnection,
    slug: &str,
    fields: &BookingFields,
) -> Result<
    (
        crate::ssr::terms::ProductTerms,
        crate::domain::period::RentalPeriod,
        i64,
    ),
    AppError,
> {
    use crate::ssr::{availability, booking, db_error, invalid_field, not_found};
    let terms = crate::ssr::terms::ProductTerms::published(&mut *conn, slug)
        .await
        .map_err(db_error)?
        .ok_or_else(|| not_found(NOT_FOUND))?;
    let period = fields
        .period(shop.time_zone, &terms.rules(), chrono::Utc::now())
        .map_err(|err| invalid_field(&err.field, err.message))?;
    let free = availability::free_units(conn, terms.id, &booking::blocked_range(&terms, &period))
        .await
        .map_err(db_error)?;
    Ok((terms, period, free))
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    // All resources are made here, once: made inside a Suspend, each re-run of it would make
    // new ones (and the server render would serialise every one of them).
    let product = Resource::new(slug, get_product);
    let calendar = Resource::new(
        move || (slug(), query.read().get("month")),
        |(slug, month)| get_calendar(slug, month),
    );
    let quote = Resource::new(
        move || (slug(), fields_in(&query.read())),
        |(slug, f)| get_quote(slug, f.start_date, f.start_time, f.end_date, f.end_time),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match product.await {
                    Ok(product) => view! { <ProductBody product query calendar quote /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The booking form's fields as they are in the URL now.
fn fields_in(query: &leptos_router::params::ParamsMap) -> BookingFields {
    BookingFields {
        start_date: query.get("start_date").unwrap_or_default(),
        start_time: query.get("start_time").unwrap_or_default(),
        end_date: query.get("end_date").unwrap_or_default(),
        end_time: query.get("end_time").unwrap_or_default(),
    }
}

#[component]
fn ProductBody(
    product: ProductDetail,
    query: Memo<leptos_router::params::ParamsMap>,
    calendar: Resource<Result<MonthCalendar, AppError>>,
    quote: Resource<Result<Option<QuoteView>, AppError>>,
) -> impl IntoView {
    let slug = product.slug.clone();
    let deposit = format_money(product.deposit, &product.currency);
    let category_href = format!("/?category={}", product.category_slug);
    let tiers = product
        .tiers
        .iter()
        .map(|tier| {
            let price = format_money(tier.price, &product.currency);
            view! {
                <dt>{tier.label.clone()}</dt>
                <dd><strong>{price}</strong></dd>
            }
        })
        .collect_view();
    let minimum = crate::domain::period::human_duration(chrono::Duration::minutes(i64::from(
        product.min_rental_minutes,
    )));
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
                <div class="product-media">
                    <Gallery name=product.name.clone() images=product.images.clone() />
                    <Transition fallback=|| view! { <p class="loading">"Loading availability…"</p> }>
                        {move || Suspend::new(async move {
                            match calendar.await {
                                Ok(month) => view! { <CalendarView month query /> }.into_any(),
                                Err(error) => view! { <p class="field-error" role="alert">{error.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
                <div class="product-info">
                    <h1>{product.name.clone()}</h1>
                    <p class="lead">{product.summary.clone()}</p>
                    <dl class="price-list">
                        {tiers}
                        <dt>"Security deposit"</dt>
                        <dd>{deposit}" (refunded on return)"</dd>
                        <dt>"Minimum rental"</dt>
                        <dd>{minimum}</dd>
                    </dl>
                    <p class="description">{product.description.clone()}</p>
                    <BookingForm slug query quote />
                </div>
            </div>
        </article>
    }
}

/// The dates form (a GET form: its result is a URL) with the live quote under it, and the
/// "Reserve" form that posts the same dates.
#[component]
fn BookingForm(
    slug: String,
    query: Memo<leptos_router::params::ParamsMap>,
    quote: Resource<Result<Option<QuoteView>, AppError>>,
) -> impl IntoView {
    let reserve_action = ServerAction::<Reserve>::new();
    let fields = Memo::new(move |_| fields_in(&query.read()));
    let month = move || query.read().get("month");
    // Updates the URL (and so the quote) as soon as a field changes; without JavaScript the
    // "Show price" button does the same with a page load.
    let submit_on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use leptos::wasm_bindgen::JsCast;
            if let Some(form) = ev
                .current_target()
                .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlFormElement>().ok())
            {
                let _ = form.request_submit();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    // A refused Reserve names its field here; the quote's own message is shown once, under
    // the dates (one reader of the quote resource: several Suspense boundaries reading one
    // resource can leave a server render hanging, leptos issue 4851).
    let quote_error = move |name: &'static str| {
        reserve_action
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.for_field(name))
    };
    let action_path = format!("/rentals/{slug}");
    let reserve_error = move || {
        reserve_action
            .value()
            .get()
            .and_then(|r| r.err())
            .filter(|e| !matches!(e, AppError::Field { .. }))
            .map(|e| e.to_string())
    };
    let field = move |name: &'static str, label: &'static str, kind: &'static str| {
        let value = move || {
            let f = fields.get();
            match name {
                "start_date" => f.start_date,
                "start_time" => f.start_time,
                "end_date" => f.end_date,
                _ => f.end_time,
            }
        };
        let error_id = format!("{name}-error");
        let placeholder = (kind == "time").then_some(DEFAULT_TIME);
        view! {
            <div class="field">
                <label for=name>{label}</label>
                <input id=name name=name type=kind prop:value=value value=value placeholder=placeholder
                    aria-invalid=move || quote_error(name).map(|_| "true")
                    aria-describedby=format!("{error_id} quote-error") />
                <p class="field-error" id=error_id role="alert">{move || quote_error(name)}</p>
            </div>
        }
    };
    view! {
        <section class="booking" aria-labelledby="booking-heading">
            <h2 id="booking-heading">"Choose your dates"</h2>
            <Form method="get" action=action_path attr:class="dates-form" on:change=submit_on_change>
                {move || month().map(|m| view! { <input type="hidden" name="month" value=m /> })}
                <div class="field-row">
                    {field("start_date", "Pick up on", "date")}
                    {field("start_time", "at", "time")}
                </div>
                <div class="field-row">
                    {field("end_date", "Return on", "date")}
                    {field("end_time", "at", "time")}
                </div>
                <p class="hint">"Times are shop time. Without a time we assume "{DEFAULT_TIME}"."</p>
                <button type="submit" class="button secondary">"Show price"</button>
            </Form>
            <Transition fallback=|| view! { <p class="loading">"Working out the price…"</p> }>
                {move || Suspend::new(async move {
                    match quote.await {
                        Ok(Some(q)) => view! { <QuoteBox quote=q /> }.into_any(),
                        Ok(None) => view! { <p class="hint quote-empty">"Choose dates to see the price."</p> }.into_any(),
                        Err(AppError::Field { message, .. }) => view! { <p class="field-error" id="quote-error" role="alert">{message}</p> }.into_any(),
                        Err(error) => view! { <p class="field-error" role="alert">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <ActionForm action=reserve_action attr:class="reserve-form">
                <input type="hidden" name="slug" value=slug.clone() />
                <input type="hidden" name="start_date" prop:value=move || fields.get().start_date value=move || fields.get().start_date />
                <input type="hidden" name="start_time" prop:value=move || fields.get().start_time value=move || fields.get().start_time />
                <input type="hidden" name="end_date" prop:value=move || fields.get().end_date value=move || fields.get().end_date />
                <input type="hidden" name="end_time" prop:value=move || fields.get().end_time value=move || fields.get().end_time />
                <div class="field quantity">
                    <label for="quantity">"How many"</label>
                    <input id="quantity" name="quantity" type="number" min="1" max=MAX_QUANTITY value="1"
                        aria-invalid=move || quote_error("quantity").map(|_| "true")
                        aria-describedby="quantity-error" />
                    <p class="field-error" id="quantity-error" role="alert">{move || quote_error("quantity")}</p>
                </div>
                <p class="form-error" role="alert">{reserve_error}</p>
                <button type="submit" class="button" disabled=move || reserve_action.pending().get()>
                    {move || if reserve_action.pending().get() { "Reserving…" } else { "Reserve" }}
                </button>
                <p class="hint">"Reserving holds the item for you while you check out."</p>
            </ActionForm>
        </section>
    }
}

#[component]
fn QuoteBox(quote: QuoteView) -> impl IntoView {
    let money = {
        let currency = quote.currency.clone();
        move |amount| format_money(amount, &currency)
    };
    let lines = quote
        .lines
        .iter()
        .map(|line| {
            view! {
                <tr>
                    <td>{format!("{} × {}", line.count, line.label)}</td>
                    <td class="amount">{money(line.amount)}</td>
                </tr>
            }
        })
        .collect_view();
    let availability = match quote.free_units {
        0 => "Not available for these dates. Try other dates — the calendar shows free days."
            .to_owned(),
        1 => "1 available for these dates.".to_owned(),
        n => format!("{n} available for these dates."),
    };
    view! {
        <div class="quote" aria-live="polite" data-testid="quote">
            <p class="quote-period">{quote.period_label.clone()}</p>
            <table>
                <tbody>{lines}</tbody>
                <tfoot>
                    <tr><th scope="row">"Rental"</th><td class="amount quote-rental">{money(quote.rental_total)}</td></tr>
                    <tr><th scope="row">"Deposit (refundable)"</th><td class="amount">{money(quote.deposit)}</td></tr>
                    <tr class="quote-total"><th scope="row">"Total due at pickup"</th><td class="amount">{money(quote.total_due)}</td></tr>
                </tfoot>
            </table>
            <p class:unavailable=quote.free_units == 0 class="quote-availability">{availability}</p>
        </div>
    }
}

#[component]
fn CalendarView(
    month: MonthCalendar,
    query: Memo<leptos_router::params::ParamsMap>,
) -> impl IntoView {
    let link = move |target: Option<String>, label: &'static str, rel: &'static str| {
        target.map(|m| {
            let mut params = query.get_untracked();
            params.replace("month", m);
            let href = format!("?{}", params.to_query_string().trim_start_matches('?'));
            view! { <a href=href rel=rel aria-label=format!("{label} month")>{if rel == "prev" { "‹" } else { "›" }}</a> }
        })
    };
    let blanks = (0..month.leading_blanks)
        .map(|_| view! { <li class="blank" aria-hidden="true"></li> })
        .collect_view();
    let total = month.total_units;
    let days = month
        .days
        .iter()
        .map(|day| {
            let number = day.date.rsplit('-').next().unwrap_or("").trim_start_matches('0').to_owned();
            let state = if day.past {
                "past"
            } else if day.free_units == 0 {
                "full"
            } else if day.free_units < total {
                "some"
            } else {
                "free"
            };
            let label = if day.past {
                format!("{}: past", day.date)
            } else {
                format!("{}: {} of {} free", day.date, day.free_units, total)
            };
            view! {
                <li class=format!("day {state}") title=label.clone() aria-label=label data-date=day.date.clone()>
                    <span class="day-number">{number}</span>
                    <span class="day-free">{(!day.past).then_some(day.free_units)}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="calendar" aria-labelledby="calendar-heading">
            <header>
                {link(month.previous.clone(), "Previous", "prev")}
                <h2 id="calendar-heading">{format!("Free units in {}", month.title)}</h2>
                {link(month.next.clone(), "Next", "next")}
            </header>
            <ol class="weekdays" aria-hidden="true">
                <li>"Mo"</li><li>"Tu"</li><li>"We"</li><li>"Th"</li><li>"Fr"</li><li>"Sa"</li><li>"Su"</li>
            </ol>
            <ol class="days">{blanks}{days}</ol>
            <p class="hint">{format!("Numbers show how many of the {total} units are free all day.")}</p>
        </section>
    }
}

/// The product's photos: the first large, the others as a row below (each opens full size).
#[component]
fn Gallery(name: String, images: Vec<ImageRef>) -> impl IntoView {
    let mut images = images.into_iter();
    let Some(first) = images.next() else {
        return view! { <PhotoPlaceholder name /> }.into_any();
    };
    let others = images
        .map(|image| {
            let full = format!("/img/{}/{}.webp", image.key, image.widths.last().copied().unwrap_or(image.width));
            view! { <li><a href=full><Photo image sizes="(min-width: 760px) 12vw, 30vw" /></a></li> }
        })
        .collect_view();
    view! {
        <div class="gallery">
            <Photo image=first sizes="(min-width: 1200px) 640px, (min-width: 760px) 55vw, 100vw" eager=true />
            <ul class="gallery-more">{others}</ul>
        </div>
    }
    .into_any()
}
