//! Accepting an upload: process it on the blocking pool, store the original once under its
//! content key, record it in the `images` table; and warming, which makes all its variants.

use super::{process, ImageCache, ImageError};
use sqlx::PgPool;
use std::sync::Arc;

/// An image as recorded: what a page needs for `<img width height>` and the placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredImage {
    pub key: String,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub placeholder: String,
    /// Size of the stored (metadata-free) original.
    pub bytes: u64,
}

/// Checks and stores an upload. A rejected file leaves nothing behind; the same file uploaded
/// twice is stored once and answers with the same key.
pub async fn store_upload(
    pool: &PgPool,
    cache: &Arc<ImageCache>,
    bytes: Vec<u8>,
) -> Result<StoredImage, ImageError> {
    let processed = process_upload(cache, bytes).await?;
    store_processed(pool, cache, processed).await
}

/// Checks an upload (decoding it, upright and without metadata) on the blocking pool; nothing
/// is kept yet.
pub async fn process_upload(
    cache: &Arc<ImageCache>,
    bytes: Vec<u8>,
) -> Result<process::ProcessedUpload, ImageError> {
    let permit = cache.workers_permit().await;
    let worker = Arc::clone(cache);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        process::process(&bytes, worker.settings())
    })
    .await
    .map_err(|err| ImageError::Encode(err.to_string()))?
}

/// Keeps a checked upload: the original under its content key, and its row in `images`.
pub async fn store_processed(
    pool: &PgPool,
    cache: &Arc<ImageCache>,
    processed: process::ProcessedUpload,
) -> Result<StoredImage, ImageError> {
    let worker = Arc::clone(cache);
    let processed = tokio::task::spawn_blocking(move || {
        worker.put_original(&processed.key, processed.format, &processed.original)?;
        Ok::<_, ImageError>(processed)
    })
    .await
    .map_err(|err| ImageError::Encode(err.to_string()))??;
    let stored = StoredImage {
        key: processed.key,
        width: processed.width,
        height: processed.height,
        format: processed.format.as_str().to_owned(),
        placeholder: processed.placeholder,
        bytes: processed.original.len() as u64,
    };
    let db = |err: sqlx::Error| ImageError::Database(err.to_string());
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query(
        "INSERT INTO images (key, width, height, format, placeholder, bytes)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (key) DO NOTHING",
    )
    .bind(&stored.key)
    .bind(i32::try_from(stored.width).unwrap_or(i32::MAX))
    .bind(i32::try_from(stored.height).unwrap_or(i32::MAX))
    .bind(&stored.format)
    .bind(&stored.placeholder)
    .bind(i64::try_from(stored.bytes).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    // The shared copy, for instances whose disk lacks this file.
    sqlx::query(
        "INSERT INTO image_originals (key, bytes) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&stored.key)
    .bind(&processed.original)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(stored)
}

/// Originals from the `image_originals` table: what an instance fetches when its disk lacks
/// one that another instance stored.
pub struct PgOriginals {
    pool: PgPool,
}

impl PgOriginals {
    pub fn new(pool: PgPool) -> Self {
        PgOriginals { pool }
    }
}

impl super::OriginalSource for PgOriginals {
    fn fetch<'a>(&'a self, key: &'a str) -> super::FetchedOriginal<'a> {
        Box::pin(async move {
            sqlx::query_scalar("SELECT bytes FROM image_originals WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(|err| ImageError::Database(err.to_string()))
        })
    }
}

/// Copies into `image_originals` the originals of images stored before that table existed, from
/// this instance's disk. Returns how many; an image whose file is not here is left for the
/// instance that has it.
pub async fn backfill_originals(pool: &PgPool, cache: &Arc<ImageCache>) -> Result<u64, ImageError> {
    let db = |err: sqlx::Error| ImageError::Database(err.to_string());
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT key FROM images i
          WHERE NOT EXISTS (SELECT 1 FROM image_originals o WHERE o.key = i.key)",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut copied = 0;
    for key in missing {
        let Some((path, _)) = cache.original_path(&key) else {
            continue;
        };
        let bytes = tokio::fs::read(&path).await?;
        let done = sqlx::query(
            "INSERT INTO image_originals (key, bytes) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key)
        .bind(&bytes)
        .execute(pool)
        .await
        .map_err(db)?;
        copied += done.rows_affected();
    }
    Ok(copied)
}

/// Produces every variant of `key` that is not cached yet (for the warming job); returns the
/// widths the image has.
pub async fn warm(cache: &Arc<ImageCache>, key: &str) -> Result<Vec<u32>, ImageError> {
    cache.warm(key).await
}
