//! What the pages show, as plain serialisable types shared by server and browser.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryLink {
    pub slug: String,
    pub name: String,
    pub product_count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductCard {
    pub slug: String,
    pub name: String,
    pub summary: String,
    pub category_name: String,
    pub daily_price: Decimal,
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
