//! Demo data: loaded into an empty database at startup (when enabled) so a fresh shop has a
//! full, realistic catalog. Safe with several instances starting at once.

pub mod catalog_data;
pub mod photos;

use catalog_data::{CATEGORIES, PRODUCTS};
use rust_decimal::Decimal;
use sqlx::PgPool;

/// An arbitrary constant naming the advisory lock that serialises seeding across instances.
const SEED_LOCK: i64 = 0x7265_6e74_7769_7365; // "rentwise"

/// Loads the demo catalog if there are no categories yet. Returns whether it loaded anything.
pub async fn seed_if_empty(pool: &PgPool) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SEED_LOCK)
        .execute(&mut *tx)
        .await?;
    let has_data: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM categories)")
        .fetch_one(&mut *tx)
        .await?;
    if has_data {
        return Ok(false);
    }
    for (position, category) in CATEGORIES.iter().enumerate() {
        sqlx::query(
            "INSERT INTO categories (slug, name, description, position) VALUES ($1, $2, $3, $4)",
        )
        .bind(category.slug)
        .bind(category.name)
        .bind(category.description)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    }
    for product in PRODUCTS {
        sqlx::query(
            "INSERT INTO products (category_id, slug, name, summary, description, daily_price, deposit, published)
             SELECT id, $2, $3, $4, $5, $6, $7, true FROM categories WHERE slug = $1",
        )
        .bind(product.category)
        .bind(product.slug)
        .bind(product.name)
        .bind(product.summary)
        .bind(product.description)
        .bind(Decimal::new(i64::from(product.daily_price_cents), 2))
        .bind(Decimal::new(i64::from(product.deposit_cents), 2))
        .execute(&mut *tx)
        .await?;
        // The shop's standard rates: a quarter of the day rate per hour, five days' price
        // for a week; and the product's physical units, labelled like stickers on the items.
        sqlx::query(
            "INSERT INTO price_tiers (product_id, label, unit, length, price)
             SELECT p.id, t.label, t.unit, 1, round(p.daily_price * t.factor, 2)
               FROM products p,
                    (VALUES ('Per hour', 'hour', 0.25), ('Per day', 'day', 1.0),
                            ('Per week', 'week', 5.0)) AS t (label, unit, factor)
              WHERE p.slug = $1",
        )
        .bind(product.slug)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO units (product_id, label)
             SELECT p.id, upper(left(p.slug, 20)) || '-' || lpad(n::text, 2, '0')
               FROM products p, generate_series(1, $2) AS n
              WHERE p.slug = $1",
        )
        .bind(product.slug)
        .bind(i32::from(product.units))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}
