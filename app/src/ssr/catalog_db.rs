//! Catalog queries: published products and their categories, read from PostgreSQL.

use crate::model::{CategoryLink, ProductCard, ProductDetail};
use rust_decimal::Decimal;
use sqlx::PgPool;

/// Categories that have at least one published product, in shop order, with their counts.
pub async fn categories(pool: &PgPool) -> Result<Vec<CategoryLink>, sqlx::Error> {
    sqlx::query_as::<_, (String, String, i64)>(
        "SELECT c.slug, c.name, count(p.id) AS product_count
           FROM categories c
           JOIN products p ON p.category_id = c.id AND p.published
          GROUP BY c.id
          ORDER BY c.position, c.name",
    )
    .fetch_all(pool)
    .await
    .map(|rows| {
        rows.into_iter()
            .map(|(slug, name, product_count)| CategoryLink {
                slug,
                name,
                product_count,
            })
            .collect()
    })
}

/// One page of published products (optionally of one category) and the total count.
pub async fn product_page(
    pool: &PgPool,
    category_slug: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<ProductCard>, i64), sqlx::Error> {
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let rows = sqlx::query_as::<_, (String, String, String, String, Decimal, i64)>(
        "SELECT p.slug, p.name, p.summary, c.name, p.daily_price, count(*) OVER () AS total
           FROM products p
           JOIN categories c ON c.id = p.category_id
          WHERE p.published AND ($1::text IS NULL OR c.slug = $1)
          ORDER BY p.name, p.id
          LIMIT $2 OFFSET $3",
    )
    .bind(category_slug)
    .bind(i64::from(per_page))
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = match rows.first() {
        Some(row) => row.5,
        // Past the last page there are no rows to carry the window count.
        None if offset > 0 => count_published(pool, category_slug).await?,
        None => 0,
    };
    let cards = rows
        .into_iter()
        .map(
            |(slug, name, summary, category_name, daily_price, _)| ProductCard {
                slug,
                name,
                summary,
                category_name,
                daily_price,
            },
        )
        .collect();
    Ok((cards, total))
}

async fn count_published(pool: &PgPool, category_slug: Option<&str>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id
          WHERE p.published AND ($1::text IS NULL OR c.slug = $1)",
    )
    .bind(category_slug)
    .fetch_one(pool)
    .await
}

/// A published product by slug; `None` when there is none (or it is unpublished).
pub async fn product_by_slug(
    pool: &PgPool,
    slug: &str,
    currency: &str,
) -> Result<Option<ProductDetail>, sqlx::Error> {
    let row = sqlx::query_as::<
        _,
        (
            String,
            String,
            String,
            String,
            String,
            String,
            Decimal,
            Decimal,
        ),
    >(
        "SELECT p.slug, p.name, p.summary, p.description, c.slug, c.name, p.daily_price, p.deposit
           FROM products p
           JOIN categories c ON c.id = p.category_id
          WHERE p.slug = $1 AND p.published",
    )
    .bind(slug)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(
        |(slug, name, summary, description, category_slug, category_name, daily_price, deposit)| {
            ProductDetail {
                slug,
                name,
                summary,
                description,
                category_slug,
                category_name,
                daily_price,
                deposit,
                currency: currency.to_owned(),
            }
        },
    ))
}
