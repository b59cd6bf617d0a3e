//! The published catalog, held in memory by every server process so a catalog or product view
//! costs no database round trip. Loaded at startup; reloaded whenever PostgreSQL announces a
//! change (`NOTIFY catalog_changed`, sent at commit by triggers), after the listening
//! connection is re-established, and once a minute as a safety net.

use crate::domain::pricing::PriceTier;
use crate::model::{CatalogSort, CategoryLink, ImageRef, ProductCard, ProductDetail};
use rust_decimal::Decimal;
use sqlx::{postgres::PgListener, PgPool};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

pub const CHANNEL: &str = "catalog_changed";
const SAFETY_RELOAD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, sqlx::FromRow)]
struct ProductRecord {
    id: i64,
    slug: String,
    name: String,
    summary: String,
    description: String,
    category_slug: String,
    category_name: String,
    daily_price: Decimal,
    deposit: Decimal,
    created_at: chrono::DateTime<chrono::Utc>,
    min_rental_minutes: i32,
    #[sqlx(skip)]
    tiers: Vec<PriceTier>,
    #[sqlx(skip)]
    images: Vec<ImageRef>,
}

/// One consistent view of the published catalog, sorted by product name.
#[derive(Debug, Default)]
pub struct CatalogSnapshot {
    categories: Vec<CategoryLink>,
    products: Vec<ProductRecord>,
    by_slug: HashMap<String, usize>,
    by_category: HashMap<String, Vec<usize>>,
}

impl CatalogSnapshot {
    pub fn categories(&self) -> &[CategoryLink] {
        &self.categories
    }

    /// One page of products (optionally of one category) in `sort` order, and the total count.
    pub fn page(
        &self,
        category: Option<&str>,
        sort: CatalogSort,
        page: u32,
        per_page: u32,
    ) -> (Vec<ProductCard>, i64) {
        let mut indexes: Vec<usize> = match category {
            Some(slug) => self.by_category.get(slug).cloned().unwrap_or_default(),
            None => (0..self.products.len()).collect(),
        };
        // Products are held in name order; the other orders are a sort of a few hundred items.
        let products = &self.products;
        match sort {
            CatalogSort::Name => {}
            CatalogSort::PriceLow => indexes.sort_by_key(|&i| products[i].daily_price),
            CatalogSort::PriceHigh => {
                indexes.sort_by_key(|&i| std::cmp::Reverse(products[i].daily_price))
            }
            CatalogSort::Newest => indexes
                .sort_by_key(|&i| std::cmp::Reverse((products[i].created_at, products[i].id))),
        }
        let skip = usize::try_from(page.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .saturating_mul(per_page as usize);
        let cards = indexes
            .iter()
            .skip(skip)
            .take(per_page as usize)
            .map(|&i| self.card(i))
            .collect();
        (cards, i64::try_from(indexes.len()).unwrap_or(i64::MAX))
    }

    fn card(&self, i: usize) -> ProductCard {
        let p = &self.products[i];
        ProductCard {
            slug: p.slug.clone(),
            name: p.name.clone(),
            summary: p.summary.clone(),
            category_name: p.category_name.clone(),
            daily_price: p.daily_price,
            image: p.images.first().cloned(),
        }
    }

    /// Cards for products found elsewhere (a search), in the given order; unknown slugs (a
    /// product unpublished a moment ago) are left out.
    pub fn cards(&self, slugs: &[String]) -> Vec<ProductCard> {
        slugs
            .iter()
            .filter_map(|slug| self.by_slug.get(slug).map(|&i| self.card(i)))
            .collect()
    }

    /// The product's database id, for queries about its units.
    pub fn product_id(&self, slug: &str) -> Option<i64> {
        self.by_slug.get(slug).map(|&i| self.products[i].id)
    }

    pub fn product(&self, slug: &str, currency: &str) -> Option<ProductDetail> {
        let p = &self.products[*self.by_slug.get(slug)?];
        Some(ProductDetail {
            slug: p.slug.clone(),
            name: p.name.clone(),
            summary: p.summary.clone(),
            description: p.description.clone(),
            category_slug: p.category_slug.clone(),
            category_name: p.category_name.clone(),
            daily_price: p.daily_price,
            deposit: p.deposit,
            currency: currency.to_owned(),
            tiers: p.tiers.clone(),
            min_rental_minutes: p.min_rental_minutes,
            images: p.images.clone(),
        })
    }

    pub fn product_count(&self) -> usize {
        self.products.len()
    }

    /// Reads the whole published catalog in one read-only snapshot transaction.
    pub async fn load(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let products = sqlx::query_as::<_, ProductRecord>(
            "SELECT p.id, p.slug, p.name, p.summary, p.description, c.slug AS category_slug,
                    c.name AS category_name, p.daily_price, p.deposit, p.created_at,
                    p.min_rental_minutes
               FROM products p JOIN categories c ON c.id = p.category_id
              WHERE p.published
              ORDER BY p.name, p.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let category_rows = sqlx::query_as::<_, (String, String)>(
            "SELECT slug, name FROM categories ORDER BY position, name",
        )
        .fetch_all(&mut *tx)
        .await?;
        let tier_rows = sqlx::query_as::<_, (i64, String, String, i32, Decimal)>(
            "SELECT product_id, label, unit, length, price FROM price_tiers
              ORDER BY product_id, CASE unit WHEN 'hour' THEN 0 WHEN 'day' THEN 1 ELSE 2 END, length",
        )
        .fetch_all(&mut *tx)
        .await?;
        let image_rows = sqlx::query_as::<_, (i64, String, String, i32, i32, String)>(
            "SELECT pi.product_id, pi.alt, i.key, i.width, i.height, i.placeholder
               FROM product_images pi JOIN images i ON i.key = pi.image_key
              ORDER BY pi.product_id, pi.position",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut images: HashMap<i64, Vec<ImageRef>> = HashMap::new();
        for (product_id, alt, key, width, height, placeholder) in image_rows {
            let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
                continue;
            };
            images.entry(product_id).or_default().push(ImageRef {
                widths: crate::images::variant_widths(&crate::images::DEFAULT_WIDTHS, width),
                key,
                width,
                height,
                placeholder,
                alt,
            });
        }
        let mut tiers: HashMap<i64, Vec<PriceTier>> = HashMap::new();
        for (product_id, label, unit, length, price) in tier_rows {
            let (Some(unit), Ok(length)) = (super::terms::tier_unit(&unit), u32::try_from(length))
            else {
                continue;
            };
            tiers.entry(product_id).or_default().push(PriceTier {
                label,
                unit,
                length,
                price,
            });
        }
        let mut products = products;
        for product in &mut products {
            product.tiers = tiers.remove(&product.id).unwrap_or_default();
            product.images = images.remove(&product.id).unwrap_or_default();
            for image in &mut product.images {
                if image.alt.is_empty() {
                    image.alt.clone_from(&product.name);
                }
            }
        }

        let mut by_slug = HashMap::with_capacity(products.len());
        let mut by_category: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            by_slug.insert(p.slug.clone(), i);
            by_category
                .entry(p.category_slug.clone())
                .or_default()
                .push(i);
        }
        let categories = category_rows
            .into_iter()
            .filter_map(|(slug, name)| {
                let count = by_category.get(&slug).map_or(0, Vec::len);
                (count > 0).then(|| CategoryLink {
                    product_count: i64::try_from(count).unwrap_or(i64::MAX),
                    slug,
                    name,
                })
            })
            .collect();
        Ok(CatalogSnapshot {
            categories,
            products,
            by_slug,
            by_category,
        })
    }
}

/// The current snapshot, swapped whole on reload so readers never see half a change.
#[derive(Debug, Default)]
pub struct CatalogCache {
    current: RwLock<Option<Arc<CatalogSnapshot>>>,
    loading: tokio::sync::Mutex<()>,
    version: AtomicU64,
}

impl CatalogCache {
    /// A cache with nothing loaded yet: the first read loads it.
    pub fn empty() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn get(&self) -> Option<Arc<CatalogSnapshot>> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, snapshot: CatalogSnapshot) {
        let snapshot = Some(Arc::new(snapshot));
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        self.version.fetch_add(1, Ordering::Release);
    }

    /// Changes whenever a new snapshot is installed; anything derived from an older version
    /// (such as a rendered page) is stale. Zero means nothing is loaded yet.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The loaded snapshot, or loads it now (one load at a time; concurrent callers wait for it).
    pub async fn snapshot(&self, pool: &PgPool) -> Result<Arc<CatalogSnapshot>, sqlx::Error> {
        if let Some(snapshot) = self.get() {
            return Ok(snapshot);
        }
        let _loading = self.loading.lock().await;
        if let Some(snapshot) = self.get() {
            return Ok(snapshot);
        }
        self.set(CatalogSnapshot::load(pool).await?);
        self.get().ok_or(sqlx::Error::PoolClosed)
    }

    /// Replaces the snapshot with a fresh read of the database.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let _loading = self.loading.lock().await;
        self.set(CatalogSnapshot::load(pool).await?);
        Ok(())
    }

    /// Keeps the snapshot fresh for as long as the returned task runs.
    pub fn spawn_listener(self: Arc<Self>, pool: PgPool) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(err) = self.listen(&pool).await {
                    tracing::warn!(error = %err, "catalog listener lost its connection; retrying in 1 s");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }

    async fn listen(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        // Anything may have changed while we were not listening.
        self.reload(pool).await?;
        loop {
            match tokio::time::timeout(SAFETY_RELOAD, listener.try_recv()).await {
                // A change was committed, or the connection dropped and came back (notifications
                // may have been missed), or a quiet minute passed: reload in every case.
                Ok(Ok(_)) | Err(_) => {
                    if let Err(err) = self.reload(pool).await {
                        tracing::warn!(error = %err, "catalog reload failed; keeping the previous snapshot");
                    }
                }
                Ok(Err(err)) => return Err(err),
            }
        }
    }
}
