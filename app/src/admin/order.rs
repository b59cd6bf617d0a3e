//! `/admin/orders/{number}`: one order at the counter — hand each line out by scanning its
//! unit's label, take it back with its condition after seeing the late fee, confirm a cart or
//! cancel with a reason — and its whole history. Every form works without JavaScript.

use super::model::{AdminLine, AdminOrderView, ReturnCondition, ReturnPreview};
use super::{form_error, AdminFrame, AdminProblem};
use crate::account::AccountChanges;
use crate::error::AppError;
use crate::money::format_money;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

#[cfg(feature = "ssr")]
const NO_ORDER: &str = "We couldn't find that order.";

/// Maps a counter failure: person's errors keep their sentence (a field's names the line).
#[cfg(feature = "ssr")]
fn counter_error(err: crate::ssr::admin::counter::CounterError, line: Option<i64>) -> AppError {
    use crate::ssr::admin::counter::CounterError as E;
    use crate::ssr::{booking_error, db_error, invalid, invalid_field, not_found};
    match err {
        E::Field { field, message } => {
            let name = line.map_or_else(|| field.to_owned(), |id| format!("{field}-{id}"));
            invalid_field(&name, message)
        }
        E::Refused(message) => invalid(message),
        E::UnknownLine => not_found(err.to_string()),
        E::Booking(err) => booking_error(err),
        E::Unit(err) => crate::ssr::admin::unit_error(err),
        E::Database(err) => db_error(err),
    }
}

#[cfg(feature = "ssr")]
fn line_id(text: &str) -> Result<i64, AppError> {
    text.trim().parse().map_err(|_| {
        crate::ssr::invalid("That order line was not understood. Please reload the page.")
    })
}

#[server(prefix = "/api/admin", endpoint = "order")]
pub async fn admin_order(number: String) -> Result<AdminOrderView, AppError> {
    use crate::ssr::{admin, db_error, not_found, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    if number.len() > 40 {
        return Err(not_found(NO_ORDER));
    }
    admin::orders::order(&shop.pool, &number, shop.time_zone, &shop.currency)
        .await
        .map_err(db_error)?
        .ok_or_else(|| not_found(NO_ORDER))
}

/// What taking line `reservation_id` back now would charge.
#[server(prefix = "/api/admin", endpoint = "return-preview")]
pub async fn admin_return_preview(reservation_id: String) -> Result<ReturnPreview, AppError> {
    use crate::ssr::{admin, shop};
    let shop = shop()?;
    admin::require_staff(&shop).await?;
    let id = line_id(&reservation_id)?;
    admin::counter::preview_return(
        &shop.pool,
        id,
        chrono::Utc::now(),
        shop.time_zone,
        &shop.currency,
    )
    .await
    .map_err(|err| counter_error(err, None))
}

#[server(prefix = "/api/admin", endpoint = "pick-up")]
pub async fn admin_pick_up(reservation_id: String, unit: String) -> Result<(), AppError> {
    use crate::ssr::{admin, shop};
    let shop = shop()?;
    let staff = admin::require_staff(&shop).await?;
    let id = line_id(&reservation_id)?;
    admin::counter::pick_up(&shop.pool, staff.id, id, &unit)
        .await
        .map_err(|err| counter_error(err, Some(id)))?;
    Ok(())
}

#[server(prefix = "/api/admin", endpoint = "take-back")]
pub async fn admin_take_back(
    number: String,
    reservation_id: String,
    condition: Option<String>,
    note: String,
    returned_at: String,
) -> Result<(), AppError> {
    use crate::ssr::admin::counter::ReturnReport;
    use crate::ssr::{admin, invalid, invalid_field, shop};
    let shop = shop()?;
    let staff = admin::require_staff(&shop).await?;
    let id = line_id(&reservation_id)?;
    let condition = condition
        .as_deref()
        .and_then(ReturnCondition::parse)
        .ok_or_else(|| {
            invalid_field(
                "condition",
                "Please say what condition the unit came back in.",
            )
        })?;
    let returned_at = chrono::DateTime::parse_from_rfc3339(returned_at.trim())
        .map_err(|_| invalid("That return was not understood. Please check the return again."))?
        .to_utc();
    let report = ReturnReport {
        reservation_id: id,
        condition,
        note: &note,
        returned_at,
    };
    admin::counter::take_back(
        &shop.pool,
        staff.id,
        &report,
        chrono::Utc::now(),
        &shop.details(),
    )
    .await
    .map_err(|err| counter_error(err, None))?;
    leptos_axum::redirect(&format!(
        "/admin/orders/{}?returned=1",
        crate::catalog_query::encode(&number)
    ));
    Ok(())
}

#[server(prefix = "/api/admin", endpoint = "confirm")]
pub async fn admin_confirm(number: String) -> Result<(), AppError> {
    use crate::ssr::{admin, shop};
    let shop = shop()?;
    let staff = admin::require_staff(&shop).await?;
    admin::counter::confirm_for_customer(
        &shop.pool,
        staff.id,
        &number,
        &shop.details(),
        shop.mail.as_ref(),
    )
    .await
    .map_err(|err| counter_error(err, None))
}

#[server(prefix = "/api/admin", endpoint = "cancel")]
pub async fn admin_cancel(number: String, reason: String) -> Result<(), AppError> {
    use crate::ssr::{admin, shop};
    let shop = shop()?;
    let staff = admin::require_staff(&shop).await?;
    admin::counter::cancel_by_staff(
        &shop.pool,
        staff.id,
        &number,
        &reason,
        &shop.details(),
        shop.mail.as_ref(),
    )
    .await
    .map_err(|err| counter_error(err, None))
}

/// The actions of this page, made once so every form and the order's resource share them.
#[derive(Clone, Copy)]
struct Actions {
    pick_up: ServerAction<AdminPickUp>,
    take_back: ServerAction<AdminTakeBack>,
    confirm: ServerAction<AdminConfirm>,
    cancel: ServerAction<AdminCancel>,
}

#[component]
pub fn AdminOrderPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let actions = Actions {
        pick_up: ServerAction::new(),
        take_back: ServerAction::new(),
        confirm: ServerAction::new(),
        cancel: ServerAction::new(),
    };
    let number = move || params.read().get("number").unwrap_or_default();
    let account = AccountChanges::get();
    let order = Resource::new(
        move || {
            (
                number(),
                account.version(),
                actions.pick_up.version().get(),
                actions.take_back.version().get(),
                actions.confirm.version().get(),
                actions.cancel.version().get(),
            )
        },
        |(number, ..)| admin_order(number),
    );
    let preview = Resource::new(
        move || {
            (
                query.read().get("return"),
                actions.take_back.version().get(),
            )
        },
        |(line, _)| async move {
            match line {
                Some(line) => admin_return_preview(line).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the order…"</p> }>
            {move || Suspend::new(async move {
                match (order.await, preview.await) {
                    (Ok(order), preview) => view! { <OrderBody order preview actions /> }.into_any(),
                    (Err(error), _) => view! { <AdminProblem error next=format!("/admin/orders/{}", number()) /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OrderBody(
    order: AdminOrderView,
    preview: Result<Option<ReturnPreview>, AppError>,
    actions: Actions,
) -> impl IntoView {
    let query = use_query_map();
    let money = {
        let currency = order.currency.clone();
        move |v| format_money(v, &currency)
    };
    let banner = move || {
        query
            .read()
            .get("returned")
            .map(|_| "Taken back. The order below shows the late fee, if any.")
    };
    let number = order.number.clone();
    let lines = order
        .lines
        .clone()
        .into_iter()
        .map(|line| view! { <LineCard line number=number.clone() currency=order.currency.clone() actions /> })
        .collect_view();
    let return_part = match preview {
        Ok(Some(p)) => view! { <ReturnForm preview=p number=order.number.clone() currency=order.currency.clone() action=actions.take_back /> }.into_any(),
        Ok(None) => ().into_any(),
        Err(error) => view! { <p class="form-error" role="alert">{error.to_string()}</p> }.into_any(),
    };
    let customer = order.customer.clone().map(|c| {
        view! { <p>"Customer: "<a href=format!("/admin/customers/{}", c.id)>{c.name}</a>" · "<a href=format!("mailto:{}", c.email)>{c.email.clone()}</a></p> }
    });
    let events = order
        .events
        .iter()
        .map(|e| {
            let change = match &e.from_state {
                Some(from) if *from != e.to_state => format!("{from} → {}", e.to_state),
                _ => e.to_state.clone(),
            };
            view! { <li><time>{e.at.clone()}</time>" · "{change}" · by "{e.actor.clone()}{(!e.note.is_empty()).then(|| format!(" — {}", e.note))}</li> }
        })
        .collect_view();
    view! {
        <AdminFrame title=format!("Order {}", order.number)>
            <p class="banner" role="status">{banner}</p>
            <p class="order-state" data-state=order.state.clone()>{order.state_label.clone()}
                {order.is_late.then(|| view! { <strong class="late-tag">" · late"</strong> })}</p>
            {customer}
            {return_part}
            <ul class="order-lines admin-lines">{lines}</ul>
            <dl class="totals">
                <dt>"Rental"</dt><dd>{money(order.rental_total)}</dd>
                <dt>"Deposit (refundable)"</dt><dd>{money(order.deposit)}</dd>
                <dt>"Late fee"</dt><dd class="order-late-fee">{money(order.late_fee)}</dd>
                <dt>"Total"</dt><dd>{money(order.total_due)}</dd>
            </dl>
            <OrderActions order=order.clone() actions />
            <section class="card" aria-labelledby="history-heading">
                <h2 id="history-heading">"History"</h2>
                <ol class="history">{events}</ol>
            </section>
        </AdminFrame>
    }
}

#[component]
fn LineCard(line: AdminLine, number: String, currency: String, actions: Actions) -> impl IntoView {
    let id = line.reservation_id;
    let unit_field = format!("unit-{id}");
    let error_id = format!("unit-{id}-error");
    let list_id = format!("units-{id}");
    let pick_up = actions.pick_up;
    let unit_error = {
        let name = unit_field.clone();
        Signal::derive(move || {
            pick_up
                .value()
                .get()
                .and_then(|r| r.err())
                .and_then(|e| e.for_field(&name))
        })
    };
    let booked_unit = line.unit_label.clone();
    let choices = std::iter::once(line.unit_label.clone())
        .chain(line.other_units.iter().cloned())
        .map(|label| view! { <option value=label /> })
        .collect_view();
    let hand_out = line.can_pick_up.then(|| {
        view! {
            <ActionForm action=pick_up attr:class="inline-form counter-form">
                <input type="hidden" name="reservation_id" value=id.to_string() />
                <label for=unit_field.clone()>"Scan or type the unit's label"</label>
                <input id=unit_field.clone() name="unit" type="text" list=list_id.clone() autocomplete="off"
                    placeholder=booked_unit required aria-describedby=error_id.clone()
                    aria-invalid=move || unit_error.get().map(|_| "true") />
                <datalist id=list_id>{choices}</datalist>
                <button type="submit" class="button">"Hand out"</button>
                <p class="field-error" id=error_id role="alert">{move || unit_error.get()}</p>
            </ActionForm>
        }
    });
    let take_back = line.can_return.then(|| {
        view! { <a class="button secondary" href=format!("/admin/orders/{number}?return={id}")>"Take back…"</a> }
    });
    let returned = line.returned_at.clone().map(|at| {
        let condition = line.return_condition.clone().unwrap_or_default();
        let note = (!line.return_note.is_empty()).then(|| format!(" — {}", line.return_note));
        let fee = (!line.late_fee.is_zero()).then(|| format!(" · late fee {}", format_money(line.late_fee, &currency)));
        view! { <span class="line-returned">{format!("Returned {at}: {condition}")}{note}{fee}</span> }
    });
    view! {
        <li class="cart-line" data-line=id.to_string()>
            <div class="line-details">
                <a href=format!("/rentals/{}", line.product_slug) class="line-product">{line.product_name.clone()}</a>
                <span class="line-unit">{format!("Unit {}", line.unit_label)}</span>
                <span class="line-period">{format!("{} → {}", line.starts, line.ends)}</span>
                <span class="line-state">{line.state_label.clone()}
                    {line.late_by.clone().map(|late| view! { <strong class="late-tag">{format!(" · late by {late}")}</strong> })}</span>
                {line.picked_up_at.clone().map(|at| view! { <span class="hint">{format!("Handed out {at}")}</span> })}
                {returned}
            </div>
            {hand_out}
            {take_back}
        </li>
    }
}

#[component]
fn ReturnForm(
    preview: ReturnPreview,
    number: String,
    currency: String,
    action: ServerAction<AdminTakeBack>,
) -> impl IntoView {
    let error = form_error(action);
    let condition_error = super::field_error(action, "condition");
    let note_error = super::field_error(action, "note");
    let fee = format_money(preview.fee, &currency);
    let late = match (&preview.late_by, preview.explanation.is_empty()) {
        (None, _) => "On time: no late fee.".to_owned(),
        (Some(late), true) => format!("Late by {late}, within the grace period: no late fee."),
        (Some(late), false) => format!("Late by {late}: {} = {fee}.", preview.explanation),
    };
    let conditions = ReturnCondition::ALL
        .into_iter()
        .map(|c| {
            let id = format!("condition-{}", c.as_str());
            view! {
                <div class="radio">
                    <input type="radio" id=id.clone() name="condition" value=c.as_str() required checked=c == ReturnCondition::Ok />
                    <label for=id>{c.label()}</label>
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="card return-form" aria-labelledby="return-heading">
            <h2 id="return-heading">{format!("Take back {} (unit {})", preview.product_name, preview.unit_label)}</h2>
            <p>{format!("Due {}; returned {}.", preview.due, preview.returned_at_label)}</p>
            <p class="late-fee-preview" data-fee=preview.fee.to_string()><strong>{late}</strong></p>
            <ActionForm action attr:class="stacked-form">
                <input type="hidden" name="number" value=number.clone() />
                <input type="hidden" name="reservation_id" value=preview.reservation_id.to_string() />
                <input type="hidden" name="returned_at" value=preview.returned_at.clone() />
                <fieldset aria-describedby="condition-error">
                    <legend>"Condition"</legend>
                    {conditions}
                    <p class="field-error" id="condition-error" role="alert">{move || condition_error.get()}</p>
                </fieldset>
                <div class="field">
                    <label for="note">"Note (what needs cleaning or repair)"</label>
                    <textarea id="note" name="note" maxlength="1000" rows="2" aria-describedby="note-error"></textarea>
                    <p class="field-error" id="note-error" role="alert">{move || note_error.get()}</p>
                </div>
                <p class="form-error" role="alert">{move || error.get()}</p>
                <button type="submit" class="button">{format!("Confirm return · charge {fee}")}</button>
                " "<a href=format!("/admin/orders/{number}")>"Not now"</a>
            </ActionForm>
        </section>
    }
}

#[component]
fn OrderActions(order: AdminOrderView, actions: Actions) -> impl IntoView {
    let (confirm, cancel) = (actions.confirm, actions.cancel);
    let confirm_error = form_error(confirm);
    let cancel_error = form_error(cancel);
    let reason_error = super::field_error(cancel, "reason");
    let any_error = form_error(actions.pick_up);
    let number = order.number.clone();
    view! {
        <p class="form-error" role="alert">{move || any_error.get()}</p>
        {order.can_confirm.then(|| view! {
            <ActionForm action=confirm attr:class="inline-form">
                <input type="hidden" name="number" value=number.clone() />
                <button type="submit" class="button">"Confirm this booking for the customer"</button>
                <p class="form-error" role="alert">{move || confirm_error.get()}</p>
            </ActionForm>
        })}
        {order.can_cancel.then(|| view! {
            <details class="card">
                <summary>"Cancel this order…"</summary>
                <ActionForm action=cancel attr:class="stacked-form">
                    <input type="hidden" name="number" value=order.number.clone() />
                    <div class="field">
                        <label for="reason">"Reason (the customer is told)"</label>
                        <textarea id="reason" name="reason" maxlength="500" rows="2" required aria-describedby="reason-error"></textarea>
                        <p class="field-error" id="reason-error" role="alert">{move || reason_error.get()}</p>
                    </div>
                    <p class="form-error" role="alert">{move || cancel_error.get()}</p>
                    <button type="submit" class="button danger">"Cancel the order"</button>
                </ActionForm>
            </details>
        })}
    }
}
