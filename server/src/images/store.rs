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
    .execute(pool)
    .await
    .map_err(|err| ImageError::Database(err.to_string()))?;
    Ok(stored)
}

/// Produces every variant of `key` that is not cached yet (for the warming job); returns the
/// widths the image has.
pub async fn warm(cache: &Arc<ImageCache>, key: &str) -> Result<Vec<u32>, ImageError> {
    cache.warm(key).await
}
