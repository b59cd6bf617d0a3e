//! Products as staff keep them: the list (published or not), one product with its prices,
//! units and photos, and creating or changing one. Every change is recorded on the product;
//! the catalog's triggers tell every server to reload what customers see.

use super::{offset, record_action, Subject};
use crate::admin::model::ProductRow;
use crate::admin::model::ADMIN_PAGE_SIZE;
use crate::admin::product_form::{CheckedProduct, ProductForm};
use crate::domain::booking_request::FieldError;
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};

/// One page of products by name (a search matches name or slug), and how many match.
pub async fn list(
    pool: &PgPool,
    search: Option<&str>,
    page: u32,
) -> Result<(Vec<ProductRow>, i64), sqlx::Error> {
    let rows: Vec<(ProductRow, i64)> =
        sqlx::query_as::<_, (String, String, String, bool, Decimal, i64, i64, i64)>(
            "SELECT p.slug, p.name, c.name, p.published, p.daily_price,
                (SELECT count(*) FROM units u WHERE u.product_id = p.id AND u.status = 'available'),
                (SELECT count(*) FROM units u WHERE u.product_id = p.id AND u.status <> 'retired'),
                count(*) OVER ()
           FROM products p JOIN categories c ON c.id = p.category_id
          WHERE $1::text IS NULL OR p.name ILIKE $1 OR p.slug ILIKE $1
          ORDER BY p.name, p.id LIMIT $2 OFFSET $3",
        )
        .bind(search.map(super::like_pattern))
        .bind(i64::from(ADMIN_PAGE_SIZE))
        .bind(offset(page, ADMIN_PAGE_SIZE))
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(
            |(slug, name, category, published, daily_price, available, total, count)| {
                (
                    ProductRow {
                        slug,
                        name,
                        category,
                        published,
                        daily_price,
                        units_available: available,
                        units_total: total,
                    },
                    count,
                )
            },
        )
        .collect();
    let total = rows.first().map_or(0, |(_, n)| *n);
    Ok((rows.into_iter().map(|(row, _)| row).collect(), total))
}

/// The categories a product may be put in: (slug, name).
pub async fn categories(pool: &PgPool) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT slug, name FROM categories ORDER BY position, name")
        .fetch_all(pool)
        .await
}

/// A product's id and its fields as the form shows them.
pub async fn form_of(pool: &PgPool, slug: &str) -> Result<Option<(i64, ProductForm)>, sqlx::Error> {
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        Decimal,
        Decimal,
        i32,
        i32,
        i32,
        i32,
        Option<Decimal>,
        Option<Decimal>,
        bool,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT p.id, p.name, p.slug, c.slug, p.summary, p.description, p.daily_price, p.deposit,
                p.min_rental_minutes, p.buffer_before_minutes, p.buffer_after_minutes,
                p.late_grace_minutes, p.late_fee_hourly, p.late_fee_daily, p.published
           FROM products p JOIN categories c ON c.id = p.category_id WHERE p.slug = $1",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        let amount = |d: Decimal| d.round_dp(2).to_string();
        (
            r.0,
            ProductForm {
                name: r.1,
                slug: r.2,
                category: r.3,
                summary: r.4,
                description: r.5,
                daily_price: amount(r.6),
                deposit: amount(r.7),
                min_rental_minutes: r.8.to_string(),
                buffer_before_minutes: r.9.to_string(),
                buffer_after_minutes: r.10.to_string(),
                late_grace_minutes: r.11.to_string(),
                late_fee_hourly: r.12.map(amount).unwrap_or_default(),
                late_fee_daily: r.13.map(amount).unwrap_or_default(),
                published: r.14,
            },
        )
    }))
}

#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    #[error("{0}")]
    Field(FieldError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn field(name: &str, message: &str) -> ProductError {
    ProductError::Field(FieldError::new(name, message))
}

async fn category_id(conn: &mut PgConnection, slug: &str) -> Result<i64, ProductError> {
    sqlx::query_scalar("SELECT id FROM categories WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| field("category", "Please choose one of the listed categories."))
}

fn slug_taken(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation() && e.constraint() == Some("products_slug_key"))
}

const SLUG_TAKEN: &str = "Another product has this web address; please choose another.";

/// Creates a product (unpublished unless asked) with the shop's standard rates from its daily
/// price: per hour a quarter of it, per day, and per week five days. Returns its slug.
pub async fn create(
    pool: &PgPool,
    staff_id: i64,
    p: &CheckedProduct,
) -> Result<String, ProductError> {
    let mut tx = pool.begin().await?;
    let category = category_id(&mut tx, &p.category).await?;
    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO products (category_id, slug, name, summary, description, daily_price, deposit,
                               min_rental_minutes, buffer_before_minutes, buffer_after_minutes,
                               late_grace_minutes, late_fee_hourly, late_fee_daily, published)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false)
         RETURNING id",
    )
    .bind(category)
    .bind(&p.slug)
    .bind(&p.name)
    .bind(&p.summary)
    .bind(&p.description)
    .bind(p.daily_price)
    .bind(p.deposit)
    .bind(p.min_rental_minutes)
    .bind(p.buffer_before_minutes)
    .bind(p.buffer_after_minutes)
    .bind(p.late_grace_minutes)
    .bind(p.late_fee_hourly)
    .bind(p.late_fee_daily)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted {
        Err(err) if slug_taken(&err) => return Err(field("slug", SLUG_TAKEN)),
        other => other?,
    };
    sqlx::query(
        "INSERT INTO price_tiers (product_id, label, unit, length, price)
         SELECT $1, t.label, t.unit, 1, round($2 * t.factor, 2)
           FROM (VALUES ('Per hour', 'hour', 0.25), ('Per day', 'day', 1.0), ('Per week', 'week', 5.0))
                AS t (label, unit, factor)",
    )
    .bind(id)
    .bind(p.daily_price)
    .execute(&mut *tx)
    .await?;
    record_action(&mut tx, staff_id, Subject::Product(id), "Created", &p.name).await?;
    if p.published {
        sqlx::query("UPDATE products SET published = true WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record_action(&mut tx, staff_id, Subject::Product(id), "Published", "").await?;
    }
    tx.commit().await?;
    Ok(p.slug.clone())
}

/// Saves the form over product `id`, recording which fields changed. Publishing needs at
/// least one price. Returns the (possibly new) slug.
pub async fn update(
    pool: &PgPool,
    staff_id: i64,
    id: i64,
    before: &ProductForm,
    p: &CheckedProduct,
) -> Result<String, ProductError> {
    let mut tx = pool.begin().await?;
    let category = category_id(&mut tx, &p.category).await?;
    if p.published {
        let tiers: i64 =
            sqlx::query_scalar("SELECT count(*) FROM price_tiers WHERE product_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if tiers == 0 {
            return Err(field(
                "published",
                "Add a price before publishing this product.",
            ));
        }
    }
    let updated = sqlx::query(
        "UPDATE products SET category_id = $2, slug = $3, name = $4, summary = $5, description = $6,
                daily_price = $7, deposit = $8, min_rental_minutes = $9, buffer_before_minutes = $10,
                buffer_after_minutes = $11, late_grace_minutes = $12, late_fee_hourly = $13,
                late_fee_daily = $14, published = $15, updated_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .bind(category)
    .bind(&p.slug)
    .bind(&p.name)
    .bind(&p.summary)
    .bind(&p.description)
    .bind(p.daily_price)
    .bind(p.deposit)
    .bind(p.min_rental_minutes)
    .bind(p.buffer_before_minutes)
    .bind(p.buffer_after_minutes)
    .bind(p.late_grace_minutes)
    .bind(p.late_fee_hourly)
    .bind(p.late_fee_daily)
    .bind(p.published)
    .execute(&mut *tx)
    .await;
    match updated {
        Err(err) if slug_taken(&err) => return Err(field("slug", SLUG_TAKEN)),
        other => other?,
    };
    let changed = changed_fields(before, p);
    if !changed.is_empty() {
        record_action(
            &mut tx,
            staff_id,
            Subject::Product(id),
            "Edited",
            &changed.join(", "),
        )
        .await?;
    }
    if before.published != p.published {
        let action = if p.published {
            "Published"
        } else {
            "Unpublished"
        };
        record_action(&mut tx, staff_id, Subject::Product(id), action, "").await?;
    }
    tx.commit().await?;
    Ok(p.slug.clone())
}

/// The names of the fields whose value changed, for the product's history.
fn changed_fields(before: &ProductForm, after: &CheckedProduct) -> Vec<&'static str> {
    let same_amount =
        |text: &str, value: Option<Decimal>| text.trim().parse::<Decimal>().ok() == value;
    let same_minutes = |text: &str, value: i32| text.trim().parse::<i32>().ok() == Some(value);
    let mut changed = Vec::new();
    let mut check = |same: bool, name: &'static str| {
        if !same {
            changed.push(name);
        }
    };
    check(before.name == after.name, "name");
    check(before.slug == after.slug, "web address");
    check(before.category == after.category, "category");
    check(before.summary == after.summary, "summary");
    check(before.description == after.description, "description");
    check(
        same_amount(&before.daily_price, Some(after.daily_price)),
        "price per day",
    );
    check(same_amount(&before.deposit, Some(after.deposit)), "deposit");
    check(
        same_minutes(&before.min_rental_minutes, after.min_rental_minutes),
        "minimum rental",
    );
    check(
        same_minutes(&before.buffer_before_minutes, after.buffer_before_minutes),
        "time before",
    );
    check(
        same_minutes(&before.buffer_after_minutes, after.buffer_after_minutes),
        "time after",
    );
    check(
        same_minutes(&before.late_grace_minutes, after.late_grace_minutes),
        "late grace",
    );
    check(
        same_amount(&before.late_fee_hourly, after.late_fee_hourly),
        "late fee per hour",
    );
    check(
        same_amount(&before.late_fee_daily, after.late_fee_daily),
        "late fee per day",
    );
    changed
}
