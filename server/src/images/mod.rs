//! The image pipeline: uploads checked and stored once by content hash (upright, without
//! metadata), WebP variants at fixed widths made on demand or by warming, kept in a disk LRU
//! cache and served under immutable `/img/{key}/{width}.webp` URLs.

mod cache;
mod http;
mod lru;
mod metrics;
mod process;
#[doc(hidden)]
pub mod samples;
mod store;
mod upload;

pub use cache::{CacheCounters, FetchedOriginal, ImageCache, OriginalSource, Variant};
pub use http::routes;
pub use metrics::ImageCacheMetrics;
pub use process::{
    decode, dominant_colour, effective_width, encode_variant, encode_variants, hex_sha256,
    pixel_width, process, resize_with, variant_base, variant_widths, ProcessedUpload, SourceFormat,
    RESIZE_FILTER, WEBP_METHOD, WEBP_SNS_STRENGTH,
};
pub use store::{
    backfill_originals, process_upload, store_processed, store_upload, warm, PgOriginals,
    StoredImage,
};
pub use upload::upload_routes;

use axum::http::StatusCode;
use std::path::PathBuf;

/// Why an image could not be accepted, found or produced.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ImageError {
    #[error("only JPEG, PNG and WebP images are accepted")]
    UnsupportedType,
    #[error("the image is too large: {0}")]
    TooLarge(String),
    #[error("the image is damaged or incomplete: {0}")]
    Corrupt(String),
    #[error("the image could not be encoded: {0}")]
    Encode(String),
    #[error("no image has this key")]
    NotFound,
    #[error("image storage failed: {0}")]
    Io(String),
    #[error("saving the image failed: {0}")]
    Database(String),
}

impl ImageError {
    /// The HTTP status an upload or image request answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ImageError::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ImageError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ImageError::Corrupt(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ImageError::NotFound => StatusCode::NOT_FOUND,
            ImageError::Encode(_) | ImageError::Io(_) | ImageError::Database(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<std::io::Error> for ImageError {
    fn from(err: std::io::Error) -> Self {
        ImageError::Io(err.to_string())
    }
}

/// How images are checked, resized and cached.
#[derive(Clone, Debug)]
pub struct ImageSettings {
    /// Variant widths in pixels (150, 400, 800, 1200 by default).
    pub widths: Vec<u32>,
    /// WebP quality of the variants, 0–100 (85 by default).
    pub quality: f32,
    /// Largest accepted width × height, checked from the header before decoding (50 MP).
    pub max_pixels: u64,
    /// Largest accepted upload in bytes (25 MB; `RENTWISE_UPLOAD_MAX_MB`).
    pub max_upload_bytes: usize,
    /// Byte budget of the variants on disk (originals are never evicted and not counted).
    pub budget_bytes: u64,
    /// Encodes and decodes at once (the number of cores by default).
    pub workers: usize,
}

impl Default for ImageSettings {
    fn default() -> Self {
        ImageSettings {
            widths: vec![150, 400, 800, 1200],
            quality: 85.0,
            max_pixels: 50_000_000,
            max_upload_bytes: 25 * 1024 * 1024,
            budget_bytes: 500 * 1024 * 1024,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

impl ImageSettings {
    /// The defaults with the budget from the configuration.
    pub fn from_config(config: &crate::config::Config) -> Self {
        ImageSettings {
            budget_bytes: config.image_cache_bytes,
            max_upload_bytes: config.upload_max_bytes,
            ..ImageSettings::default()
        }
    }
}

/// Where the cache lives under the data directory.
pub fn cache_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("images")
}

/// A content key is exactly 64 lowercase hex digits; nothing else ever reaches the disk.
pub fn is_valid_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
