//! Demo photos, drawn procedurally (no third-party images in the repository): a landscape in
//! the product's colour with sky, sun, layered hills and film grain, 2400 × 1600 px, so the
//! image pipeline does the work it does for real uploads. Twelve photos, one per hue band,
//! shared by the products; each product gets two (a gallery). Made in the background after
//! startup, through the same `store_upload` path as a staff upload.

use super::catalog_data::PRODUCTS;
use crate::images::{store_upload, ImageCache, ImageError};
use image::{codecs::jpeg::JpegEncoder, Rgb, RgbImage};
use sqlx::PgPool;
use std::sync::Arc;

pub const WIDTH: u32 = 2400;
pub const HEIGHT: u32 = 1600;
const BANDS: u16 = 12;

/// HSL (hue in degrees, s and l in 0..1) to RGB.
fn hsl(h: f32, s: f32, l: f32) -> Rgb<u8> {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h.rem_euclid(360.0) / 60.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let byte = |v: f32| ((v + m).clamp(0.0, 1.0) * 255.0).round() as u8;
    Rgb([byte(r), byte(g), byte(b)])
}

/// The landscape for hue band `band` (0..12).
pub fn render(band: u16) -> RgbImage {
    let hue = f32::from(band % BANDS) * 30.0;
    let seed = u32::from(band) * 7919 + 17;
    let sun_x = 0.25 + 0.5 * ((seed % 97) as f32 / 97.0);
    let mut noise = seed.wrapping_mul(2_654_435_761);
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let (fx, fy) = (x as f32 / WIDTH as f32, y as f32 / HEIGHT as f32);
        // Film grain: a cheap xorshift per pixel.
        noise ^= noise << 13;
        noise ^= noise >> 17;
        noise ^= noise << 5;
        let grain = ((noise & 0xff) as f32 / 255.0 - 0.5) * 0.035;
        let ridge = |layer: f32| {
            0.55 + layer * 0.12
                + 0.06 * (fx * (5.0 + layer * 3.0) + layer * 1.7 + f32::from(band)).sin()
                + 0.025 * (fx * (17.0 + layer * 5.0) + layer).sin()
        };
        for layer in (0..3).rev() {
            let layer = layer as f32;
            if fy > ridge(layer) {
                let shade = 0.42 - layer * 0.09 + (fy - ridge(layer)) * 0.15;
                return hsl(hue + 20.0 + layer * 15.0, 0.35 + layer * 0.1, shade + grain);
            }
        }
        let dx = (fx - sun_x) * 1.5;
        let dy = fy - 0.3;
        let sun = (dx * dx + dy * dy).sqrt();
        if sun < 0.07 {
            return hsl(hue + 40.0, 0.9, 0.88 + grain);
        }
        let glow = (0.25 - sun).max(0.0) * 0.6;
        hsl(
            hue + 190.0 - fy * 40.0,
            0.45,
            0.62 + fy * 0.18 + glow + grain,
        )
    })
}

/// JPEG at quality 90, as a camera would hand it over.
pub fn jpeg(image: &RgbImage) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(image)
        .map_err(|err| ImageError::Encode(err.to_string()))?;
    Ok(out)
}

/// Gives every demo product two photos, unless some product has photos already. Returns how
/// many products got photos.
pub async fn seed(pool: &PgPool, cache: &Arc<ImageCache>) -> Result<usize, ImageError> {
    let db = |err: sqlx::Error| ImageError::Database(err.to_string());
    let has_photos: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM product_images)")
        .fetch_one(pool)
        .await
        .map_err(db)?;
    if has_photos {
        return Ok(0);
    }
    let mut keys = Vec::with_capacity(usize::from(BANDS));
    for band in 0..BANDS {
        let bytes = tokio::task::spawn_blocking(move || jpeg(&render(band)))
            .await
            .map_err(|err| ImageError::Encode(err.to_string()))??;
        keys.push(store_upload(pool, cache, bytes).await?.key);
    }
    let mut tx = pool.begin().await.map_err(db)?;
    let mut done = 0;
    for product in PRODUCTS {
        let band = usize::from(product.photo_hue / 30 % BANDS);
        let second = (band + 6) % usize::from(BANDS);
        for (position, key) in [(0, &keys[band]), (1, &keys[second])] {
            let alt = format!("{}, photo {}", product.name, position + 1);
            sqlx::query(
                "INSERT INTO product_images (product_id, image_key, position, alt)
                 SELECT id, $2, $3, $4 FROM products WHERE slug = $1
                 ON CONFLICT DO NOTHING",
            )
            .bind(product.slug)
            .bind(key)
            .bind(position)
            .bind(alt)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        done += 1;
    }
    // The catalog snapshot in every instance reloads with the photos.
    sqlx::query("SELECT pg_notify('catalog_changed', 'product_images')")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    for key in &keys {
        if let Err(err) = cache.warm(key).await {
            tracing::warn!(error = %err, key, "warming a demo photo failed; it is made on first request");
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_large_and_differ_by_band() {
        let a = render(0);
        let b = render(6);
        assert_eq!(a.dimensions(), (WIDTH, HEIGHT));
        assert_ne!(a.get_pixel(10, 10), b.get_pixel(10, 10));
        // Sky above, hills below: the picture is not flat.
        assert_ne!(a.get_pixel(1200, 50), a.get_pixel(1200, 1550));
    }
}
