//! The parts of a product staff edit one at a time: its price tiers, its units as listed, and
//! its photos (order, alternative text, removal). Each change is recorded on the product.

use super::{record_action, Subject};
use crate::admin::model::{PhotoRow, TierRow, UnitRow};
use crate::domain::booking_request::FieldError;
use crate::domain::period::format_local;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sqlx::PgPool;

pub async fn tiers(pool: &PgPool, product_id: i64) -> Result<Vec<TierRow>, sqlx::Error> {
    let rows: Vec<(i64, String, String, i32, Decimal)> = sqlx::query_as(
        "SELECT id, label, unit, length, price FROM price_tiers WHERE product_id = $1
          ORDER BY CASE unit WHEN 'hour' THEN 0 WHEN 'day' THEN 1 ELSE 2 END, length",
    )
    .bind(product_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, label, unit, length, price)| TierRow {
            id,
            label,
            unit,
            length,
            price,
        })
        .collect())
}

pub async fn units(pool: &PgPool, product_id: i64, tz: Tz) -> Result<Vec<UnitRow>, sqlx::Error> {
    let rows: Vec<(i64, String, String, String, DateTime<Utc>, i64)> = sqlx::query_as(
        "SELECT u.id, u.label, u.status, u.status_note, u.status_changed_at,
                (SELECT count(*) FROM reservations r WHERE r.unit_id = u.id
                    AND r.state IN ('held', 'confirmed') AND upper(r.during) > now()
                    AND (r.state <> 'held' OR r.held_until > now()))
           FROM units u WHERE u.product_id = $1
          ORDER BY u.status = 'retired', u.label",
    )
    .bind(product_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, label, status, status_note, since, upcoming)| UnitRow {
                id,
                label,
                status,
                status_note,
                since: format_local(since, tz),
                upcoming,
            },
        )
        .collect())
}

pub async fn photos(pool: &PgPool, product_id: i64) -> Result<Vec<PhotoRow>, sqlx::Error> {
    let rows: Vec<(String, i32, String, i32, i32)> = sqlx::query_as(
        "SELECT pi.image_key, pi.position, pi.alt, i.width, i.height
           FROM product_images pi JOIN images i ON i.key = pi.image_key
          WHERE pi.product_id = $1 ORDER BY pi.position",
    )
    .bind(product_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, position, alt, width, height)| PhotoRow {
            key,
            position,
            alt,
            width,
            height,
        })
        .collect())
}

/// A price tier as typed: label, unit (hour, day, week), length and price.
pub fn check_tier(
    label: &str,
    unit: &str,
    length: &str,
    price: &str,
) -> Result<(String, &'static str, i32, Decimal), FieldError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 60 {
        return Err(FieldError::new(
            "tier_label",
            "Please name the rate, e.g. Weekend (up to 60 characters).",
        ));
    }
    let unit = match unit {
        "hour" => "hour",
        "day" => "day",
        "week" => "week",
        _ => {
            return Err(FieldError::new(
                "tier_unit",
                "Please choose hours, days or weeks.",
            ))
        }
    };
    let length = length
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| {
            FieldError::new("tier_length", "Please enter a whole number from 1 to 1000.")
        })?;
    let price = crate::admin::product_form::parse_amount(price, "tier_price", "price")?
        .ok_or_else(|| FieldError::new("tier_price", "Please enter the price."))?;
    Ok((label.to_owned(), unit, length, price))
}

#[derive(Debug, thiserror::Error)]
pub enum PartError {
    #[error("{0}")]
    Field(FieldError),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Adds a rate; one rate per unit and length.
pub async fn add_tier(
    pool: &PgPool,
    staff_id: i64,
    product_id: i64,
    tier: (String, &'static str, i32, Decimal),
) -> Result<(), PartError> {
    let (label, unit, length, price) = tier;
    let mut tx = pool.begin().await?;
    let added = sqlx::query(
        "INSERT INTO price_tiers (product_id, label, unit, length, price) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(product_id)
    .bind(&label)
    .bind(unit)
    .bind(length)
    .bind(price)
    .execute(&mut *tx)
    .await;
    match added {
        Err(err)
            if err
                .as_database_error()
                .is_some_and(|e| e.is_unique_violation()) =>
        {
            return Err(PartError::Field(FieldError::new(
                "tier_length",
                format!(
                    "There is a rate for {length} {unit}(s) already; remove it first to change it."
                ),
            )))
        }
        other => other?,
    };
    let detail = format!("{label}: {length} {unit} for {price}");
    record_action(
        &mut tx,
        staff_id,
        Subject::Product(product_id),
        "Added a rate",
        &detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a rate; the last one of a published product stays (it could not be booked).
pub async fn remove_tier(
    pool: &PgPool,
    staff_id: i64,
    product_id: i64,
    tier_id: i64,
) -> Result<(), PartError> {
    let mut tx = pool.begin().await?;
    let (published, count): (bool, i64) = sqlx::query_as(
        "SELECT p.published, (SELECT count(*) FROM price_tiers WHERE product_id = p.id)
           FROM products p WHERE p.id = $1 FOR UPDATE",
    )
    .bind(product_id)
    .fetch_one(&mut *tx)
    .await?;
    if published && count <= 1 {
        return Err(PartError::Refused(
            "A published product needs at least one rate. Add another first, or unpublish it."
                .into(),
        ));
    }
    let removed: Option<(String, String, i32, Decimal)> = sqlx::query_as(
        "DELETE FROM price_tiers WHERE id = $1 AND product_id = $2 RETURNING label, unit, length, price",
    )
    .bind(tier_id)
    .bind(product_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((label, unit, length, price)) = removed {
        let detail = format!("{label}: {length} {unit} for {price}");
        record_action(
            &mut tx,
            staff_id,
            Subject::Product(product_id),
            "Removed a rate",
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Swaps the photo at `position` with its neighbour before (`up`) or after it.
pub async fn move_photo(
    pool: &PgPool,
    staff_id: i64,
    product_id: i64,
    position: i32,
    up: bool,
) -> Result<(), PartError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT id FROM products WHERE id = $1 FOR UPDATE")
        .bind(product_id)
        .execute(&mut *tx)
        .await?;
    let neighbour: Option<i32> = sqlx::query_scalar(if up {
        "SELECT max(position) FROM product_images WHERE product_id = $1 AND position < $2"
    } else {
        "SELECT min(position) FROM product_images WHERE product_id = $1 AND position > $2"
    })
    .bind(product_id)
    .bind(position)
    .fetch_one(&mut *tx)
    .await?;
    let Some(neighbour) = neighbour else {
        return Ok(());
    };
    // Through a free position: the primary key (product, position) allows no duplicate.
    let parked = 1_000_000_000;
    for (from, to) in [
        (position, parked),
        (neighbour, position),
        (parked, neighbour),
    ] {
        sqlx::query(
            "UPDATE product_images SET position = $3 WHERE product_id = $1 AND position = $2",
        )
        .bind(product_id)
        .bind(from)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    }
    let action = if up {
        "Moved a photo up"
    } else {
        "Moved a photo down"
    };
    record_action(&mut tx, staff_id, Subject::Product(product_id), action, "").await?;
    tx.commit().await?;
    Ok(())
}

/// Takes a photo off the product (the stored image stays: it may be used elsewhere).
pub async fn remove_photo(
    pool: &PgPool,
    staff_id: i64,
    product_id: i64,
    position: i32,
) -> Result<(), PartError> {
    let mut tx = pool.begin().await?;
    let removed: Option<String> = sqlx::query_scalar(
        "DELETE FROM product_images WHERE product_id = $1 AND position = $2 RETURNING image_key",
    )
    .bind(product_id)
    .bind(position)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(key) = removed {
        let detail = format!("image {}", &key[..key.len().min(12)]);
        record_action(
            &mut tx,
            staff_id,
            Subject::Product(product_id),
            "Removed a photo",
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Sets a photo's alternative text (what screen readers say; empty means the product's name).
pub async fn set_alt(
    pool: &PgPool,
    staff_id: i64,
    product_id: i64,
    position: i32,
    alt: &str,
) -> Result<(), PartError> {
    let alt: String = alt.trim().chars().filter(|c| !c.is_control()).collect();
    if alt.chars().count() > 300 {
        return Err(PartError::Field(FieldError::new(
            "alt",
            "Please keep the description under 300 characters.",
        )));
    }
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE product_images SET alt = $3 WHERE product_id = $1 AND position = $2 AND alt <> $3",
    )
    .bind(product_id)
    .bind(position)
    .bind(&alt)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        record_action(
            &mut tx,
            staff_id,
            Subject::Product(product_id),
            "Described a photo",
            &alt,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
