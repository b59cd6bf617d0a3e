//! The parts of a product's staff page that change one at a time: price tiers, units (add,
//! maintenance, retire, release) and photos (upload several with progress, reorder, describe,
//! remove). Each is a small form posting to its own server function.

use super::model::{AdminProductView, PhotoRow, TierRow, UnitRow};
use super::{field_error, form_error, Field};
use crate::error::AppError;
use crate::money::format_money;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn number(text: &str) -> Result<i64, AppError> {
    text.trim()
        .parse()
        .map_err(|_| crate::ssr::invalid("That was not understood. Please reload the page."))
}

#[server(prefix = "/api/admin", endpoint = "tier-add")]
pub async fn admin_add_tier(
    slug: String,
    tier_label: String,
    tier_unit: String,
    tier_length: String,
    tier_price: String,
) -> Result<(), AppError> {
    use crate::ssr::admin::{part_error, product_parts as parts};
    use crate::ssr::{invalid_field, shop};
    let shop = shop()?;
    let (staff, id, _) = super::product_edit::staff_and_product(&shop, &slug).await?;
    let tier = parts::check_tier(&tier_label, &tier_unit, &tier_length, &tier_price)
        .map_err(|e| invalid_field(&e.field, e.message))?;
    parts::add_tier(&shop.pool, staff.id, id, tier)
        .await
        .map_err(part_error)
}

#[server(prefix = "/api/admin", endpoint = "tier-remove")]
pub async fn admin_remove_tier(slug: String, tier_id: String) -> Result<(), AppError> {
    use crate::ssr::admin::{part_error, product_parts as parts};
    use crate::ssr::shop;
    let shop = shop()?;
    let (staff, id, _) = super::product_edit::staff_and_product(&shop, &slug).await?;
    parts::remove_tier(&shop.pool, staff.id, id, number(&tier_id)?)
        .await
        .map_err(part_error)
}

#[server(prefix = "/api/admin", endpoint = "units-add")]
pub async fn admin_add_units(slug: String, labels: String) -> Result<(), AppError> {
    use crate::ssr::admin::{unit_error, units};
    use crate::ssr::{invalid_field, shop};
    let shop = shop()?;
    let (staff, id, _) = super::product_edit::staff_and_product(&shop, &slug).await?;
    let labels =
        units::parse_labels(&labels).map_err(|message| invalid_field("labels", message))?;
    units::add_units(&shop.pool, staff.id, id, &labels)
        .await
        .map_err(unit_error)
}

#[server(prefix = "/api/admin", endpoint = "unit-status")]
pub async fn admin_unit_status(
    slug: String,
    unit_id: String,
    status: String,
    note: Option<String>,
) -> Result<(), AppError> {
    use crate::ssr::admin::{unit_error, units};
    use crate::ssr::shop;
    let shop = shop()?;
    let (staff, id, _) = super::product_edit::staff_and_product(&shop, &slug).await?;
    let note = note.unwrap_or_default();
    let now = chrono::Utc::now();
    units::set_status(
        &shop.pool,
        staff.id,
        id,
        number(&unit_id)?,
        &status,
        &note,
        now,
    )
    .await
    .map_err(unit_error)?;
    Ok(())
}

#[server(prefix = "/api/admin", endpoint = "photo-move")]
pub async fn admin_move_photo(
    slug: String,
    position: String,
    direction: String,
) -> Result<(), AppError> {
    use crate::ssr::admin::{part_error, product_parts as parts};
    use crate::ssr::shop;
    let shop = shop()?;
    let (staff, id, _) = super::product_edit::staff_and_product(&shop, &slug).await?;
    let position =
        i32::try_from(number(&position)?).map_err(|_| crate::ssr::invalid("No such photo."))?;
    parts::move_photo(&shop.pool, staff.id, id, position, direction == "up")
        .await
        .map_err(part_error)
}

#[server(prefix = "/api/admin", endpoint = "photo-remove")]
pub async fn admin_remove_photo(slug: String, position: String) -> Result<(), AppError> {
    use crate::ssr::admin::{part_error, product_parts as parts};
    use crate::ssr::shop;
    let shop = shop()?;
    let (staff, id, _) = super::product_edit::staff_and_product(&shop, &slug).await?;
    let position =
        i32::try_from(number(&position)?).map_err(|_| crate::ssr::invalid("No such photo."))?;
    parts::remove_photo(&shop.pool, staff.id, id, position)
        .await
        .map_err(part_error)
}

#[server(prefix = "/api/admin", endpoint = "photo-alt")]
pub async fn admin_photo_alt(slug: String, position: String, alt: String) -> Result<(), AppError> {
    use crate::ssr::admin::{part_error, product_parts as parts};
    use crate::ssr::shop;
    let shop = shop()?;
    let (staff, id, _) = super::product_edit::staff_and_product(&shop, &slug).await?;
    let position =
        i32::try_from(number(&position)?).map_err(|_| crate::ssr::invalid("No such photo."))?;
    parts::set_alt(&shop.pool, staff.id, id, position, &alt)
        .await
        .map_err(part_error)
}

/// The page's small actions, made once; the product reloads after any of them.
#[derive(Clone, Copy)]
pub struct PartActions {
    add_tier: ServerAction<AdminAddTier>,
    remove_tier: ServerAction<AdminRemoveTier>,
    add_units: ServerAction<AdminAddUnits>,
    unit_status: ServerAction<AdminUnitStatus>,
    move_photo: ServerAction<AdminMovePhoto>,
    remove_photo: ServerAction<AdminRemovePhoto>,
    photo_alt: ServerAction<AdminPhotoAlt>,
}

impl PartActions {
    pub fn new() -> Self {
        PartActions {
            add_tier: ServerAction::new(),
            remove_tier: ServerAction::new(),
            add_units: ServerAction::new(),
            unit_status: ServerAction::new(),
            move_photo: ServerAction::new(),
            remove_photo: ServerAction::new(),
            photo_alt: ServerAction::new(),
        }
    }

    /// Changes whenever one of the actions completes.
    pub fn version(&self) -> usize {
        self.add_tier.version().get()
            + self.remove_tier.version().get()
            + self.add_units.version().get()
            + self.unit_status.version().get()
            + self.move_photo.version().get()
            + self.remove_photo.version().get()
            + self.photo_alt.version().get()
    }
}

impl Default for PartActions {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn ProductParts(
    product: AdminProductView,
    slug: String,
    actions: PartActions,
    uploads: super::photos::Uploads,
) -> impl IntoView {
    view! {
        <Tiers tiers=product.tiers.clone() slug=slug.clone() currency=product.currency.clone() actions />
        <Units units=product.units.clone() slug=slug.clone() actions />
        <super::photos::Photos photos=product.photos.clone() slug limit_mb=product.upload_limit_mb actions uploads />
    }
}

#[component]
fn Tiers(
    tiers: Vec<TierRow>,
    slug: String,
    currency: String,
    actions: PartActions,
) -> impl IntoView {
    let (add, remove) = (actions.add_tier, actions.remove_tier);
    let remove_error = form_error(remove);
    let add_error = form_error(add);
    let rows = tiers
        .into_iter()
        .map(|t| {
            let slug = slug.clone();
            let length = format!("{} {}{}", t.length, t.unit, if t.length == 1 { "" } else { "s" });
            view! {
                <tr>
                    <th scope="row">{t.label.clone()}</th>
                    <td>{length}</td>
                    <td class="amount">{format_money(t.price, &currency)}</td>
                    <td>
                        <ActionForm action=remove attr:class="inline-form">
                            <input type="hidden" name="slug" value=slug.clone() />
                            <input type="hidden" name="tier_id" value=t.id.to_string() />
                            <button type="submit" class="link-button" aria-label=format!("Remove the rate {}", t.label)>"Remove"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let unit_error = field_error(add, "tier_unit");
    view! {
        <section class="card" aria-labelledby="tiers-heading">
            <h2 id="tiers-heading">"Prices"</h2>
            <p class="hint">"Customers pay the cheapest combination of these rates for their dates."</p>
            <table class="data"><tbody>{rows}</tbody></table>
            <p class="form-error" role="alert">{move || remove_error.get()}</p>
            <ActionForm action=add attr:class="field-row add-tier">
                <input type="hidden" name="slug" value=slug.clone() />
                <Field id="tier_label" label="Rate name" value="Weekend" error=field_error(add, "tier_label") />
                <Field id="tier_length" label="Length" kind="number" value="2" error=field_error(add, "tier_length") />
                <div class="field">
                    <label for="tier_unit">"Of"</label>
                    <select id="tier_unit" name="tier_unit" aria-describedby="tier_unit-error">
                        <option value="hour">"hours"</option>
                        <option value="day" selected>"days"</option>
                        <option value="week">"weeks"</option>
                    </select>
                    <p class="field-error" id="tier_unit-error" role="alert">{move || unit_error.get()}</p>
                </div>
                <Field id="tier_price" label="Price" inputmode="decimal" error=field_error(add, "tier_price") />
                <div class="field actions"><button type="submit" class="button secondary">"Add rate"</button></div>
                <p class="form-error" role="alert">{move || add_error.get()}</p>
            </ActionForm>
        </section>
    }
}

#[component]
fn Units(units: Vec<UnitRow>, slug: String, actions: PartActions) -> impl IntoView {
    let (add, status) = (actions.add_units, actions.unit_status);
    let status_error = form_error(status);
    let add_error = form_error(add);
    let empty = units.is_empty();
    let rows = units
        .into_iter()
        .map(|u| view! { <UnitRowView unit=u slug=slug.clone() action=status /> })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="units-heading">
            <h2 id="units-heading">"Units"</h2>
            <p class="hint">"Each physical item, by the label on it. Only available units are booked; one in maintenance is blocked until you release it."</p>
            {empty.then(|| view! { <p class="empty">"No units yet: customers cannot book this product until you add some."</p> })}
            <div class="table-scroll">
                <table class="data units-table">
                    <thead><tr><th scope="col">"Label"</th><th scope="col">"Status"</th><th scope="col">"Bookings ahead"</th><th scope="col">"Change"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="form-error" role="alert">{move || status_error.get()}</p>
            <ActionForm action=add attr:class="stacked-form">
                <input type="hidden" name="slug" value=slug.clone() />
                <Field id="labels" label="Add units (their labels, separated by commas)" hint="e.g. TENT-4, TENT-5" error=field_error(add, "labels") />
                <p class="form-error" role="alert">{move || add_error.get()}</p>
                <button type="submit" class="button secondary">"Add units"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn UnitRowView(
    unit: UnitRow,
    slug: String,
    action: ServerAction<AdminUnitStatus>,
) -> impl IntoView {
    let id = unit.id.to_string();
    let label = unit.label.clone();
    let release = format!("Release {}", unit.label);
    let what = format!("What needs doing on {}", unit.label);
    let note_id = format!("unit-note-{}", unit.id);
    let status_text = match unit.status.as_str() {
        "available" => "Available".to_owned(),
        "maintenance" => format!("In maintenance since {}", unit.since),
        _ => format!("Retired {}", unit.since),
    };
    let change = match unit.status.as_str() {
        "available" => view! {
            <ActionForm action attr:class="inline-form">
                <input type="hidden" name="slug" value=slug.clone() />
                <input type="hidden" name="unit_id" value=id.clone() />
                <label for=note_id.clone() class="visually-hidden">{what}</label>
                <input id=note_id.clone() name="note" placeholder="What needs doing" maxlength="1000" />
                <button type="submit" name="status" value="maintenance" class="button secondary">"Maintenance"</button>
                <button type="submit" name="status" value="retired" class="link-button">"Retire"</button>
            </ActionForm>
        }
        .into_any(),
        "maintenance" => view! {
            <ActionForm action attr:class="inline-form">
                <input type="hidden" name="slug" value=slug.clone() />
                <input type="hidden" name="unit_id" value=id.clone() />
                <button type="submit" name="status" value="available" class="button">{release}</button>
                <button type="submit" name="status" value="retired" class="link-button">"Retire"</button>
            </ActionForm>
        }
        .into_any(),
        _ => ().into_any(),
    };
    view! {
        <tr data-unit=unit.label.clone() data-status=unit.status.clone()>
            <th scope="row">{label}</th>
            <td>{status_text}{(!unit.status_note.is_empty()).then(|| view! { <br /><span class="hint">{unit.status_note.clone()}</span> })}</td>
            <td>{unit.upcoming}</td>
            <td>{change}</td>
        </tr>
    }
}

/// Moves, describes or removes one photo (used by the photo list).
#[component]
pub fn PhotoControls(
    photo: PhotoRow,
    /// The photo's place in the list from 1, which names its buttons for screen readers.
    number: usize,
    slug: String,
    first: bool,
    last: bool,
    actions: PartActions,
) -> impl IntoView {
    let position = photo.position.to_string();
    let alt_id = format!("alt-{}", photo.position);
    let (slug_alt, slug_move) = (slug.clone(), slug.clone());
    let (position_alt, position_move) = (position.clone(), position.clone());
    view! {
        <div class="photo-controls">
            <ActionForm action=actions.photo_alt attr:class="inline-form">
                <input type="hidden" name="slug" value=slug_alt />
                <input type="hidden" name="position" value=position_alt />
                <label for=alt_id.clone()>"Description"</label>
                <input id=alt_id name="alt" maxlength="300" value=photo.alt.clone() placeholder="What the photo shows" />
                <button type="submit" class="link-button" aria-label=format!("Save the description of photo {number}")>"Save"</button>
            </ActionForm>
            <ActionForm action=actions.move_photo attr:class="inline-form">
                <input type="hidden" name="slug" value=slug_move />
                <input type="hidden" name="position" value=position_move />
                <button type="submit" name="direction" value="up" class="link-button" disabled=first aria-label=format!("Move photo {number} up")>"Move up"</button>
                <button type="submit" name="direction" value="down" class="link-button" disabled=last aria-label=format!("Move photo {number} down")>"Move down"</button>
            </ActionForm>
            <ActionForm action=actions.remove_photo attr:class="inline-form">
                <input type="hidden" name="slug" value=slug />
                <input type="hidden" name="position" value=position />
                <button type="submit" class="link-button danger" aria-label=format!("Remove photo {number}")>"Remove"</button>
            </ActionForm>
        </div>
    }
}
