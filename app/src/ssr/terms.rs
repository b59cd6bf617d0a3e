//! A product's booking terms as the booking code needs them: prices, deposit, minimum
//! duration and buffers, read fresh from PostgreSQL inside the booking's transaction.

use crate::domain::period::BookingRules;
use crate::domain::pricing::{PriceTier, TierUnit};
use chrono::Duration;
use rust_decimal::Decimal;
use sqlx::PgConnection;

/// Bookings may start up to this many days ahead.
pub const BOOKING_HORIZON_DAYS: i64 = 365;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductTerms {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub deposit: Decimal,
    pub min_rental_minutes: i32,
    pub buffer_before_minutes: i32,
    pub buffer_after_minutes: i32,
    pub tiers: Vec<PriceTier>,
}

#[derive(sqlx::FromRow)]
struct TermsRow {
    id: i64,
    slug: String,
    name: String,
    deposit: Decimal,
    min_rental_minutes: i32,
    buffer_before_minutes: i32,
    buffer_after_minutes: i32,
}

const TERMS_COLUMNS: &str = "id, slug, name, deposit, min_rental_minutes, buffer_before_minutes,
                             buffer_after_minutes";

impl ProductTerms {
    /// A published product's terms by slug.
    pub async fn published(
        conn: &mut PgConnection,
        slug: &str,
    ) -> Result<Option<ProductTerms>, sqlx::Error> {
        let row: Option<TermsRow> = sqlx::query_as(&format!(
            "SELECT {TERMS_COLUMNS} FROM products WHERE slug = $1 AND published"
        ))
        .bind(slug)
        .fetch_optional(&mut *conn)
        .await?;
        Self::with_tiers(conn, row).await
    }

    /// Any product's terms by id (published or not: an existing booking keeps its product).
    pub async fn by_id(
        conn: &mut PgConnection,
        id: i64,
    ) -> Result<Option<ProductTerms>, sqlx::Error> {
        let row: Option<TermsRow> = sqlx::query_as(&format!(
            "SELECT {TERMS_COLUMNS} FROM products WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        Self::with_tiers(conn, row).await
    }

    async fn with_tiers(
        conn: &mut PgConnection,
        row: Option<TermsRow>,
    ) -> Result<Option<ProductTerms>, sqlx::Error> {
        let Some(row) = row else { return Ok(None) };
        let tiers = tiers_of(conn, row.id).await?;
        Ok(Some(ProductTerms {
            id: row.id,
            slug: row.slug,
            name: row.name,
            deposit: row.deposit,
            min_rental_minutes: row.min_rental_minutes,
            buffer_before_minutes: row.buffer_before_minutes,
            buffer_after_minutes: row.buffer_after_minutes,
            tiers,
        }))
    }

    pub fn rules(&self) -> BookingRules {
        BookingRules {
            min_duration: Duration::minutes(i64::from(self.min_rental_minutes)),
            horizon: Duration::days(BOOKING_HORIZON_DAYS),
        }
    }
}

/// A product's price tiers, shortest first.
pub async fn tiers_of(
    conn: &mut PgConnection,
    product_id: i64,
) -> Result<Vec<PriceTier>, sqlx::Error> {
    let rows: Vec<(String, String, i32, Decimal)> = sqlx::query_as(
        "SELECT label, unit, length, price FROM price_tiers WHERE product_id = $1
          ORDER BY CASE unit WHEN 'hour' THEN 0 WHEN 'day' THEN 1 ELSE 2 END, length",
    )
    .bind(product_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(label, unit, length, price)| {
            Some(PriceTier {
                label,
                unit: tier_unit(&unit)?,
                length: u32::try_from(length).ok()?,
                price,
            })
        })
        .collect())
}

/// The stored name of a tier unit; the table's CHECK allows exactly these.
pub fn tier_unit(text: &str) -> Option<TierUnit> {
    match text {
        "hour" => Some(TierUnit::Hour),
        "day" => Some(TierUnit::Day),
        "week" => Some(TierUnit::Week),
        _ => None,
    }
}
