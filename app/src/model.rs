//! What the pages show, as plain serialisable types shared by server and browser.

use crate::domain::booking_request::FieldError;
use crate::domain::pricing::{PriceTier, QuoteLine};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryLink {
    pub slug: String,
    pub name: String,
    pub product_count: i64,
}

/// A product photo as pages draw it (see `crate::images`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub key: String,
    pub width: u32,
    pub height: u32,
    /// Dominant colour `#rrggbb`, shown until the photo loads.
    pub placeholder: String,
    pub alt: String,
    /// The variant widths this photo has (URL names).
    pub widths: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductCard {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub category_name: String,
    pub daily_price: Decimal,
    pub image: Option<ImageRef>,
}

/// One page of the catalog, with what the page needs to draw filters and pagination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogView {
    pub products: Vec<ProductCard>,
    pub categories: Vec<CategoryLink>,
    pub category: Option<CategoryLink>,
    pub page: u32,
    pub total_pages: u32,
    pub total_products: i64,
    pub currency: String,
    /// The filters as understood (or as typed, when `error` says what is wrong).
    pub query: CatalogQuery,
    /// A filter field that needs fixing; the results are then left out.
    pub error: Option<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub description: String,
    pub category_slug: String,
    pub category_name: String,
    pub daily_price: Decimal,
    pub deposit: Decimal,
    pub currency: String,
    pub tiers: Vec<PriceTier>,
    pub min_rental_minutes: i32,
    pub images: Vec<ImageRef>,
}

/// How the catalog is ordered; the URL's `sort` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CatalogSort {
    #[default]
    Name,
    PriceLow,
    PriceHigh,
    Newest,
}

impl CatalogSort {
    pub const ALL: [CatalogSort; 4] = [
        CatalogSort::Name,
        CatalogSort::PriceLow,
        CatalogSort::PriceHigh,
        CatalogSort::Newest,
    ];

    pub fn parse(text: &str) -> Option<CatalogSort> {
        CatalogSort::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CatalogSort::Name => "name",
            CatalogSort::PriceLow => "price",
            CatalogSort::PriceHigh => "price-desc",
            CatalogSort::Newest => "newest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CatalogSort::Name => "Name",
            CatalogSort::PriceLow => "Price: low to high",
            CatalogSort::PriceHigh => "Price: high to low",
            CatalogSort::Newest => "Newest",
        }
    }
}

/// The catalog's filters as they appear in the URL, already checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CatalogQuery {
    pub category: Option<String>,
    pub search: Option<String>,
    /// Shop-local dates `YYYY-MM-DD`: show only items free from the start of `from` to the
    /// end of `to`.
    pub from: Option<String>,
    pub to: Option<String>,
    pub sort: CatalogSort,
    pub page: u32,
}

/// Free units of a product on one shop-local day of a month calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`
    pub date: String,
    pub free_units: i64,
    /// Past days are shown greyed out.
    pub past: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthCalendar {
    /// `YYYY-MM`
    pub month: String,
    pub title: String,
    pub previous: Option<String>,
    pub next: Option<String>,
    /// Monday = 0: how many blank cells precede the first day.
    pub leading_blanks: u32,
    pub days: Vec<CalendarDay>,
    pub total_units: i64,
}

/// What a period costs, and whether a unit is free for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteView {
    pub period_label: String,
    pub lines: Vec<QuoteLine>,
    pub rental_total: Decimal,
    pub deposit: Decimal,
    pub total_due: Decimal,
    pub free_units: i64,
    pub currency: String,
}

/// The signed-in person, as pages need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub is_staff: bool,
}

/// One line of an order: a unit of a product for a period, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineView {
    pub reservation_id: i64,
    pub product_slug: String,
    pub product_name: String,
    pub unit_label: String,
    /// Formatted in the shop's time zone on the server.
    pub starts: String,
    pub ends: String,
    pub state: String,
    pub price_lines: Vec<QuoteLine>,
    pub rental_total: Decimal,
    pub deposit: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEventView {
    pub at: String,
    pub actor: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub number: String,
    pub state: String,
    pub state_label: String,
    pub lines: Vec<OrderLineView>,
    pub rental_total: Decimal,
    pub deposit: Decimal,
    pub late_fee: Decimal,
    pub total_due: Decimal,
    pub currency: String,
    /// When the cart's earliest hold runs out (held orders only), formatted, and in seconds.
    pub hold_expires: Option<String>,
    pub hold_seconds_left: Option<i64>,
    pub is_late: bool,
    /// `None` when the order may be cancelled; otherwise the reason it may not.
    pub cancel_refusal: Option<String>,
    pub events: Vec<OrderEventView>,
}

/// One order in "My rentals".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub number: String,
    pub state_label: String,
    pub items: String,
    pub starts: String,
    pub ends: String,
    pub total_due: Decimal,
    pub is_late: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyRentals {
    pub upcoming: Vec<OrderSummary>,
    pub active: Vec<OrderSummary>,
    pub past: Vec<OrderSummary>,
    pub currency: String,
}

/// How many products one catalog page shows.
pub const CATALOG_PAGE_SIZE: u32 = 24;

/// Number of pages needed for `total` items (at least one, so "page 1 of 1" reads right).
pub fn page_count(total: i64, per_page: u32) -> u32 {
    let per_page = i64::from(per_page.max(1));
    let pages = (total.max(0) + per_page - 1) / per_page;
    u32::try_from(pages).unwrap_or(u32::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_count_rounds_up_and_is_never_zero() {
        assert_eq!(page_count(0, 24), 1);
        assert_eq!(page_count(24, 24), 1);
        assert_eq!(page_count(25, 24), 2);
        assert_eq!(page_count(72, 24), 3);
        assert_eq!(page_count(-3, 24), 1);
    }
}
