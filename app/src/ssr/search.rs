//! Catalog search in PostgreSQL: full-text search over name, summary and description (the
//! `products.search` tsvector with its GIN index), the category and date filters, sort and
//! pagination in one query. Plain browsing without words or dates is served from memory.

use crate::model::CatalogSort;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

pub struct SearchFilter<'a> {
    pub words: Option<&'a str>,
    pub category: Option<&'a str>,
    pub free: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub sort: CatalogSort,
    pub page: u32,
    pub per_page: u32,
}

/// Slugs of one page of matching published products, and how many match in all.
pub async fn search(
    conn: &mut PgConnection,
    filter: &SearchFilter<'_>,
) -> Result<(Vec<String>, i64), sqlx::Error> {
    // With words, relevance decides among equals of the chosen order.
    let order = match filter.sort {
        CatalogSort::Name if filter.words.is_some() => "rank DESC, p.name, p.id",
        CatalogSort::Name => "p.name, p.id",
        CatalogSort::PriceLow => "p.daily_price, p.name, p.id",
        CatalogSort::PriceHigh => "p.daily_price DESC, p.name, p.id",
        CatalogSort::Newest => "p.created_at DESC, p.id DESC",
    };
    let offset = i64::from(filter.page.saturating_sub(1)) * i64::from(filter.per_page);
    let (start, end) = filter.free.unzip();
    let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
        "WITH q AS (SELECT websearch_to_tsquery('english', $1) AS query)
         SELECT p.slug, count(*) OVER () AS total
           FROM products p JOIN categories c ON c.id = p.category_id, q,
                LATERAL (SELECT CASE WHEN $1 IS NULL THEN 0 ELSE ts_rank(p.search, q.query) END AS rank) AS r
          WHERE p.published
            AND ($1 IS NULL OR p.search @@ q.query)
            AND ($2::text IS NULL OR c.slug = $2)
            AND ($3::timestamptz IS NULL OR EXISTS (
                 SELECT 1 FROM units u
                  WHERE u.product_id = p.id AND u.status = 'available'
                    AND NOT EXISTS (
                        SELECT 1 FROM reservations res
                         WHERE res.unit_id = u.id
                           AND (res.state IN ('confirmed', 'picked_up')
                                OR (res.state = 'held' AND res.held_until > now()))
                           AND res.during && tstzrange($3 - make_interval(mins => p.buffer_before_minutes),
                                                       $4 + make_interval(mins => p.buffer_after_minutes)))))
          ORDER BY {order}
          LIMIT $5 OFFSET $6"
    ))
    .bind(filter.words)
    .bind(filter.category)
    .bind(start)
    .bind(end)
    .bind(i64::from(filter.per_page))
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    let total = rows.first().map_or(0, |(_, total)| *total);
    // Past the last page there are no rows to carry the count; ask for it alone.
    if rows.is_empty() && filter.page > 1 {
        let first = SearchFilter {
            page: 1,
            per_page: 1,
            ..*filter
        };
        let (_, total) = Box::pin(search(conn, &first)).await?;
        return Ok((Vec::new(), total));
    }
    Ok((rows.into_iter().map(|(slug, _)| slug).collect(), total))
}
