//! The cart (`/cart`): what this browser holds and for how long, the inline sign-in or sign-up,
//! and "Confirm booking"; then the order page (`/orders/{number}`) with its lines, history and
//! "Cancel". Someone else's order number is a 404, exactly like one that does not exist.

use crate::account::{use_current_user, AccountChanges, SignInForms};
use crate::error::AppError;
use crate::model::{OrderLineView, OrderView};
use crate::money::format_money;
use crate::ui::ErrorNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::A,
    hooks::{use_params_map, use_query_map},
};

#[cfg(feature = "ssr")]
const NO_ORDER: &str = "We couldn't find that order.";

/// This browser's cart, if it holds anything.
#[server(prefix = "/api", endpoint = "cart")]
pub async fn get_cart() -> Result<Option<OrderView>, AppError> {
    use crate::ssr::{account_error, accounts::CART_KEY, db_error, orders, session, shop};
    let shop = shop()?;
    let session = session().await?;
    let token = session
        .get::<uuid::Uuid>(CART_KEY)
        .await
        .map_err(|err| account_error(err.into()))?;
    let Some(token) = token else {
        return Ok(None);
    };
    let cart = orders::cart(&shop.pool, token, shop.time_zone, &shop.currency)
        .await
        .map_err(db_error)?;
    Ok(cart.filter(|c| !c.lines.is_empty()))
}

/// Takes one line out of the cart (its unit is released at once).
#[server(prefix = "/api", endpoint = "cart-remove")]
pub async fn remove_from_cart(reservation_id: String) -> Result<(), AppError> {
    use crate::ssr::{
        account_error, accounts::CART_KEY, booking, db_error, invalid, session, shop,
    };
    let shop = shop()?;
    let id: i64 = reservation_id
        .trim()
        .parse()
        .map_err(|_| invalid("That cart line was not understood. Please reload the cart."))?;
    let session = session().await?;
    if let Some(token) = session
        .get::<uuid::Uuid>(CART_KEY)
        .await
        .map_err(|err| account_error(err.into()))?
    {
        booking::remove_cart_line(&shop.pool, token, id)
            .await
            .map_err(db_error)?;
    }
    leptos_axum::redirect("/cart");
    Ok(())
}

/// Books everything in the cart for the signed-in customer and enqueues the confirmation
/// email in the same transaction; then shows the order.
#[server(prefix = "/api", endpoint = "confirm")]
pub async fn confirm_booking(order: Option<String>) -> Result<(), AppError> {
    use crate::ssr::{
        account_error, accounts::CART_KEY, booking, booking_error, current_user, session, shop,
        sign_in_required,
    };
    let shop = shop()?;
    let user = current_user(&shop).await?.ok_or_else(sign_in_required)?;
    let session = session().await?;
    let token = session
        .get::<uuid::Uuid>(CART_KEY)
        .await
        .map_err(|err| account_error(err.into()))?
        .ok_or_else(|| booking_error(booking::BookingError::EmptyCart))?;
    let customer = booking::Customer {
        id: user.id,
        name: user.name,
        email: user.email,
    };
    // The form names the order the customer saw: submitting it twice books it once.
    let confirmed = match order.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(number) if number.len() <= 40 => {
            booking::confirm_cart_once(
                &shop.pool,
                token,
                &customer,
                number,
                &shop.details(),
                shop.mail.as_ref(),
            )
            .await
        }
        Some(_) => Err(booking::BookingError::EmptyCart),
        None => {
            booking::confirm_cart(
                &shop.pool,
                token,
                &customer,
                &shop.details(),
                shop.mail.as_ref(),
            )
            .await
        }
    };
    let number = confirmed.map_err(booking_error)?;
    leptos_axum::redirect(&format!("/orders/{number}?confirmed=1"));
    Ok(())
}

/// One of the signed-in customer's orders.
#[server(prefix = "/api", endpoint = "order")]
pub async fn get_order(number: String) -> Result<OrderView, AppError> {
    use crate::ssr::{current_user, db_error, not_found, orders, shop, sign_in_required};
    let shop = shop()?;
    let user = current_user(&shop).await?.ok_or_else(sign_in_required)?;
    if number.len() > 40 {
        return Err(not_found(NO_ORDER));
    }
    orders::customer_order(&shop.pool, &number, user.id, shop.time_zone, &shop.currency)
        .await
        .map_err(db_error)?
        .ok_or_else(|| not_found(NO_ORDER))
}

/// Cancels the customer's order when the cancellation policy allows it.
#[server(prefix = "/api", endpoint = "cancel")]
pub async fn cancel_order(number: String) -> Result<(), AppError> {
    use crate::ssr::{booking, booking_error, current_user, not_found, shop, sign_in_required};
    let shop = shop()?;
    let user = current_user(&shop).await?.ok_or_else(sign_in_required)?;
    if number.len() > 40 {
        return Err(not_found(NO_ORDER));
    }
    let customer = booking::Customer {
        id: user.id,
        name: user.name,
        email: user.email,
    };
    booking::cancel_by_customer(
        &shop.pool,
        &number,
        &customer,
        &shop.details(),
        shop.mail.as_ref(),
        chrono::Utc::now(),
    )
    .await
    .map_err(booking_error)?;
    leptos_axum::redirect(&format!("/orders/{number}?cancelled=1"));
    Ok(())
}

#[component]
pub fn CartPage() -> impl IntoView {
    let remove = ServerAction::<RemoveFromCart>::new();
    let confirm = ServerAction::<ConfirmBooking>::new();
    let changes = AccountChanges::get();
    let cart = Resource::new(
        move || (remove.version().get(), changes.version()),
        |_| get_cart(),
    );
    let user = use_current_user();
    view! {
        <Title text="Your cart" />
        <h1>"Your cart"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading your cart…"</p> }>
            {move || Suspend::new(async move {
                let (cart, user) = (cart.await, user.await);
                match (cart, user) {
                    (Ok(Some(order)), Ok(user)) => {
                        let order_number = order.number.clone();
                        view! {
                            <CartBody order remove />
                            <Checkout user confirm order_number />
                        }.into_any()
                    }
                    (Ok(None), _) => view! {
                        <div class="empty">
                            <p>"Your cart is empty. Holds last a limited time, so an old cart may have been released."</p>
                            <p><A href="/">"Find something to rent"</A></p>
                        </div>
                    }.into_any(),
                    (Err(error), _) | (_, Err(error)) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CartBody(order: OrderView, remove: ServerAction<RemoveFromCart>) -> impl IntoView {
    let currency = order.currency.clone();
    let hold = match (&order.hold_expires, order.hold_seconds_left) {
        (Some(until), Some(seconds)) if seconds > 0 => format!(
            "We hold these for you until {until} (about {} min). Confirm before then.",
            (seconds + 59) / 60
        ),
        _ => "Your hold has run out. You can still confirm: we book the same dates again if a unit is free.".to_owned(),
    };
    let lines = order
        .lines
        .into_iter()
        .map(|line| {
            let id = line.reservation_id.to_string();
            view! {
                <li class="cart-line">
                    <LineDetails line currency=currency.clone() />
                    <ActionForm action=remove attr:class="inline-form">
                        <input type="hidden" name="reservation_id" value=id />
                        <button type="submit" class="link-button">"Remove"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    let money = |amount| format_money(amount, &order.currency);
    view! {
        <p class="hold-note" role="status">{hold}</p>
        <ul class="order-lines">{lines}</ul>
        <dl class="totals">
            <dt>"Rental"</dt><dd>{money(order.rental_total)}</dd>
            <dt>"Deposit (refundable)"</dt><dd>{money(order.deposit)}</dd>
            <dt>"Total due at pickup"</dt><dd class="cart-total">{money(order.total_due)}</dd>
        </dl>
    }
}

#[component]
fn LineDetails(line: OrderLineView, currency: String) -> impl IntoView {
    let breakdown = line
        .price_lines
        .iter()
        .map(|p| format!("{} × {}", p.count, p.label))
        .collect::<Vec<_>>()
        .join(" + ");
    let href = format!("/rentals/{}", line.product_slug);
    view! {
        <div class="line-details">
            <A href=href attr:class="line-product">{line.product_name}</A>
            <span class="line-unit">{format!("Unit {}", line.unit_label)}</span>
            <span class="line-period">{format!("{} → {}", line.starts, line.ends)}</span>
            <span class="line-price">{format!("{breakdown} = {}", format_money(line.rental_total, &currency))}</span>
            <span class="line-state">{line.state}</span>
        </div>
    }
}

#[component]
fn Checkout(
    user: Option<crate::model::CurrentUser>,
    confirm: ServerAction<ConfirmBooking>,
    order_number: String,
) -> impl IntoView {
    let error = move || {
        confirm
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    match user {
        Some(user) => view! {
            <section class="checkout card" aria-labelledby="checkout-heading">
                <h2 id="checkout-heading">"Confirm your booking"</h2>
                <p>{format!("Booking as {} ({}). You pay at pickup; we email you a confirmation.", user.name, user.email)}</p>
                <ActionForm action=confirm>
                    <input type="hidden" name="order" value=order_number />
                    <p class="form-error" role="alert">{error}</p>
                    <button type="submit" class="button" disabled=move || confirm.pending().get()>
                        {move || if confirm.pending().get() { "Confirming…" } else { "Confirm booking" }}
                    </button>
                </ActionForm>
            </section>
        }
        .into_any(),
        None => view! {
            <section class="checkout" aria-labelledby="checkout-heading">
                <h2 id="checkout-heading">"Sign in or create an account to confirm"</h2>
                <SignInForms next="/cart".to_owned() />
            </section>
        }
        .into_any(),
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let cancel = ServerAction::<CancelOrder>::new();
    let changes = AccountChanges::get();
    let order = Resource::new(
        move || {
            (
                params.read().get("number").unwrap_or_default(),
                cancel.version().get(),
                changes.version(),
            )
        },
        |(number, _, _)| get_order(number),
    );
    let banner = move || {
        let q = query.read();
        if q.get("confirmed").is_some() {
            Some("Thank you! Your booking is confirmed. We've emailed you the details.")
        } else if q.get("cancelled").is_some() {
            Some("Your booking is cancelled.")
        } else {
            None
        }
    };
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the order…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! {
                        <p class="banner" role="status">{banner}</p>
                        <OrderBody order cancel />
                    }.into_any(),
                    Err(AppError::SignInRequired) => {
                        let next = format!("/orders/{}", params.read_untracked().get("number").unwrap_or_default());
                        view! {
                            <Title text="Please sign in" />
                            <h1>"Please sign in to see this order"</h1>
                            <SignInForms next />
                        }.into_any()
                    }
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderBody(order: OrderView, cancel: ServerAction<CancelOrder>) -> impl IntoView {
    let currency = order.currency.clone();
    let money = move |amount| format_money(amount, &currency);
    let lines = order
        .lines
        .into_iter()
        .map(|line| view! { <li class="cart-line"><LineDetails line currency=order.currency.clone() /></li> })
        .collect_view();
    let events = order
        .events
        .into_iter()
        .map(|e| {
            let change = match e.from_state {
                Some(from) => format!("{from} → {}", e.to_state),
                None => e.to_state,
            };
            view! { <li><time>{e.at}</time>" · "{change}" · by "{e.actor}</li> }
        })
        .collect_view();
    let error = move || {
        cancel
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let number = order.number.clone();
    let cancel_part = match order.cancel_refusal {
        None => view! {
            <ActionForm action=cancel attr:class="cancel-form">
                <input type="hidden" name="number" value=number />
                <p class="form-error" role="alert">{error}</p>
                <button type="submit" class="button danger" disabled=move || cancel.pending().get()>"Cancel this booking"</button>
            </ActionForm>
        }
        .into_any(),
        Some(reason) => view! { <p class="hint cancel-refusal">{reason}</p> }.into_any(),
    };
    view! {
        <Title text=format!("Order {}", order.number) />
        <article class="order-page">
            <h1>"Order "<span class="order-number">{order.number.clone()}</span></h1>
            <p class="order-state">{order.state_label}{order.is_late.then_some(" · overdue, please return it as soon as you can")}</p>
            <ul class="order-lines">{lines}</ul>
            <dl class="totals">
                <dt>"Rental"</dt><dd>{money(order.rental_total)}</dd>
                <dt>"Deposit (refundable)"</dt><dd>{money(order.deposit)}</dd>
                {(order.late_fee > rust_decimal::Decimal::ZERO).then(|| view! { <dt>"Late fee"</dt><dd>{money(order.late_fee)}</dd> })}
                <dt>"Total"</dt><dd>{money(order.total_due)}</dd>
            </dl>
            {cancel_part}
            <section aria-labelledby="history-heading">
                <h2 id="history-heading">"History"</h2>
                <ol class="history">{events}</ol>
            </section>
            <p><A href="/account/rentals">"All my rentals"</A></p>
        </article>
    }
}
