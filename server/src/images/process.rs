//! The pure, CPU-bound half of the pipeline: recognise an upload by its bytes, check its size
//! from the header before decoding, decode with limits, turn it upright, and re-encode the
//! original without metadata; plus resizing (SIMD) and WebP encoding of the variants.

use super::{ImageError, ImageSettings};
use fast_image_resize::{images::Image as ResizeImage, FilterType, ResizeAlg, ResizeOptions};
use image::{
    codecs::{jpeg::JpegEncoder, png::PngEncoder},
    DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits,
};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// Quality of a re-encoded JPEG original: high enough that variants made from it are not
/// visibly worse than ones made from the upload.
const ORIGINAL_JPEG_QUALITY: u8 = 92;

/// The upload formats we accept, recognised by their magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Webp,
}

impl SourceFormat {
    /// Recognises the content, whatever the file is called or claims to be.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(SourceFormat::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(SourceFormat::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(SourceFormat::Webp)
        } else {
            None
        }
    }

    /// The name stored in the database (`images.format`).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
            SourceFormat::Webp => "webp",
        }
    }

    /// File extension of the stored original.
    pub fn extension(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpg",
            SourceFormat::Png => "png",
            SourceFormat::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "image/jpeg",
            SourceFormat::Png => "image/png",
            SourceFormat::Webp => "image/webp",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            SourceFormat::Jpeg => ImageFormat::Jpeg,
            SourceFormat::Png => ImageFormat::Png,
            SourceFormat::Webp => ImageFormat::WebP,
        }
    }
}

/// An upload that passed every check, ready to store.
#[derive(Clone, Debug)]
pub struct ProcessedUpload {
    /// SHA-256 (lowercase hex) of the bytes as uploaded: the same file always gets the same key.
    pub key: String,
    pub format: SourceFormat,
    /// Size after EXIF orientation was applied.
    pub width: u32,
    pub height: u32,
    /// Dominant colour as `#rrggbb`, shown until the image loads.
    pub placeholder: String,
    /// The upright original, re-encoded in its own format without any metadata.
    pub original: Vec<u8>,
}

/// Checks, decodes and re-encodes an upload. CPU-heavy: run it on the blocking pool.
pub fn process(bytes: &[u8], settings: &ImageSettings) -> Result<ProcessedUpload, ImageError> {
    if bytes.len() > settings.max_upload_bytes {
        return Err(ImageError::TooLarge(format!(
            "the file is {} bytes; at most {} are accepted",
            bytes.len(),
            settings.max_upload_bytes
        )));
    }
    let format = SourceFormat::sniff(bytes).ok_or(ImageError::UnsupportedType)?;
    if format == SourceFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder is lenient and greys out what is missing; refuse instead.
        return Err(ImageError::Corrupt("the JPEG file is truncated".into()));
    }
    let image = decode(bytes, format, settings.max_pixels)?;
    let original = encode_original(&image, format)?;
    Ok(ProcessedUpload {
        key: hex_sha256(bytes),
        format,
        width: image.width(),
        height: image.height(),
        placeholder: dominant_colour(&image),
        original,
    })
}

/// Reads the size from the header only, refuses more than `max_pixels`, then decodes with the
/// `image` crate's limits set and applies the EXIF orientation. The result is 8-bit RGB or RGBA.
pub fn decode(
    bytes: &[u8],
    format: SourceFormat,
    max_pixels: u64,
) -> Result<DynamicImage, ImageError> {
    let mut header = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    header.no_limits();
    let (width, height) = header.into_dimensions().map_err(corrupt)?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageError::TooLarge(format!(
            "the image is {width}×{height} pixels; at most {} megapixels are accepted",
            max_pixels / 1_000_000
        )));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Room for the decoded pixels at 16-bit RGBA plus the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let orientation = decoder.orientation().map_err(corrupt)?;
    let mut image = match format {
        // libwebp decodes several times faster than the `image` crate's own WebP decoder; it
        // declines animations, which take the slow way.
        SourceFormat::Webp => match webp::Decoder::new(bytes).decode() {
            Some(decoded) => decoded.to_image(),
            None => DynamicImage::from_decoder(decoder).map_err(corrupt)?,
        },
        _ => DynamicImage::from_decoder(decoder).map_err(corrupt)?,
    };
    image.apply_orientation(orientation);
    if !image.color().has_alpha() {
        return Ok(DynamicImage::ImageRgb8(image.into_rgb8()));
    }
    // An alpha channel that is opaque everywhere only costs a quarter more to resize and encode.
    let rgba = image.into_rgba8();
    Ok(if rgba.pixels().all(|pixel| pixel[3] == u8::MAX) {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(rgba).into_rgb8())
    } else {
        DynamicImage::ImageRgba8(rgba)
    })
}

/// True when an end-of-image marker follows the last start-of-scan. Entropy-coded data
/// escapes every 0xFF, so neither marker can occur inside it by chance.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    last_scan.is_some_and(|at| bytes[at..].windows(2).any(|w| w == [0xFF, 0xD9]))
}

fn corrupt(err: image::ImageError) -> ImageError {
    match err {
        image::ImageError::Limits(limit) => ImageError::TooLarge(limit.to_string()),
        image::ImageError::Unsupported(what) => ImageError::Corrupt(what.to_string()),
        other => ImageError::Corrupt(other.to_string()),
    }
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Re-encodes in the upload's own format. None of these encoders writes EXIF, XMP or ICC data,
/// so GPS position and camera details are gone; alpha is kept (PNG, lossless WebP).
fn encode_original(image: &DynamicImage, format: SourceFormat) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let (width, height, color) = (image.width(), image.height(), image.color());
    let failed = |err: image::ImageError| ImageError::Encode(err.to_string());
    match format {
        SourceFormat::Jpeg => {
            let rgb = image.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, ORIGINAL_JPEG_QUALITY)
                .write_image(rgb.as_raw(), width, height, image::ExtendedColorType::Rgb8)
                .map_err(failed)?;
        }
        SourceFormat::Png => PngEncoder::new(&mut out)
            .write_image(image.as_bytes(), width, height, color.into())
            .map_err(failed)?,
        SourceFormat::Webp => {
            let encoder = webp_encoder(image)?;
            let memory = encoder
                .encode_simple(true, 75.0)
                .map_err(|err| ImageError::Encode(format!("{err:?}")))?;
            out.extend_from_slice(&memory);
        }
    }
    Ok(out)
}

fn webp_encoder(image: &DynamicImage) -> Result<webp::Encoder<'_>, ImageError> {
    let (width, height) = (image.width(), image.height());
    match image {
        DynamicImage::ImageRgb8(rgb) => Ok(webp::Encoder::from_rgb(rgb.as_raw(), width, height)),
        DynamicImage::ImageRgba8(rgba) => {
            Ok(webp::Encoder::from_rgba(rgba.as_raw(), width, height))
        }
        _ => Err(ImageError::Encode("only 8-bit RGB(A) is encoded".into())),
    }
}

/// The average colour of the visible pixels, sampled on a grid of about 10 000 points.
pub fn dominant_colour(image: &DynamicImage) -> String {
    let rgba = match image {
        DynamicImage::ImageRgba8(rgba) => std::borrow::Cow::Borrowed(rgba),
        other => std::borrow::Cow::Owned(other.to_rgba8()),
    };
    let step = ((u64::from(rgba.width()) * u64::from(rgba.height()) / 10_000).max(1)) as usize;
    let (mut sum, mut weight) = ([0u64; 3], 0u64);
    for pixel in rgba.pixels().step_by(step) {
        let alpha = u64::from(pixel[3]);
        for (total, channel) in sum.iter_mut().zip(&pixel.0[..3]) {
            *total += u64::from(*channel) * alpha;
        }
        weight += alpha;
    }
    if weight == 0 {
        return "#ffffff".into();
    }
    format!(
        "#{:02x}{:02x}{:02x}",
        sum[0] / weight,
        sum[1] / weight,
        sum[2] / weight
    )
}

/// The pixel width of the variant named `width` for a source `source_width` wide: never wider
/// than the source (no upscaling).
pub fn pixel_width(width: u32, source_width: u32) -> u32 {
    width.min(source_width)
}

/// The configured widths an image has (shared with the pages that write `srcset`).
pub use app::images::variant_widths;

/// The width whose file holds the variant asked for: a configured width beyond the image's
/// variants is served by its largest one (same pixels, one file).
pub fn effective_width(widths: &[u32], requested: u32, source_width: u32) -> u32 {
    let have = variant_widths(widths, source_width);
    if have.contains(&requested) {
        requested
    } else {
        have.last().copied().unwrap_or(requested)
    }
}

/// Effort of libwebp's lossy encoder, 0 (fastest) to 6 (smallest); 4 is libwebp's and
/// Pillow's default. Method 2 encodes in less than half the time of 4 for about 6% more bytes
/// at the same quality setting and nearly the same fidelity (`image_bench` prints time, bytes
/// and PSNR per method); the Mitchell filter below more than pays those bytes back.
pub const WEBP_METHOD: i32 = 2;
/// libwebp's spatial noise shaping, 0 to 100 (its default is 50): how much detail is taken
/// from flat areas, where the eye notices it least, to spend on busy ones.
pub const WEBP_SNS_STRENGTH: i32 = 50;

/// The image every variant is resized from: the decoded source brought down once to the width
/// of its largest variant (1200 px for a photograph). Smaller variants are made from it rather
/// than from the whole photograph, which costs a fraction of the time, and warming and on-demand
/// encoding both start from it, so a URL always names the same bytes.
pub fn variant_base<'a>(
    image: &'a DynamicImage,
    widths: &[u32],
) -> Result<std::borrow::Cow<'a, DynamicImage>, ImageError> {
    let largest = variant_widths(widths, image.width())
        .last()
        .map_or(image.width(), |w| pixel_width(*w, image.width()));
    Ok(match resize(image, largest)? {
        Some(resized) => std::borrow::Cow::Owned(resized),
        None => std::borrow::Cow::Borrowed(image),
    })
}

/// Every variant of a decoded source for `widths` (see [`variant_widths`]), widest first, each
/// resized from [`variant_base`]: `(width, WebP bytes)`.
pub fn encode_variants(
    image: &DynamicImage,
    widths: &[u32],
    quality: f32,
) -> Result<Vec<(u32, Vec<u8>)>, ImageError> {
    let base = variant_base(image, widths)?;
    let mut out = Vec::new();
    for width in variant_widths(widths, image.width()).into_iter().rev() {
        out.push((width, encode_variant(&base, width, quality)?));
    }
    Ok(out)
}

/// Resizes ([`RESIZE_FILTER`] on SIMD, alpha-aware) to `target_width`, keeping the aspect ratio and never
/// upscaling, then encodes lossy WebP at `quality` (with alpha when the image has it).
pub fn encode_variant(
    image: &DynamicImage,
    target_width: u32,
    quality: f32,
) -> Result<Vec<u8>, ImageError> {
    let resized = resize(image, pixel_width(target_width, image.width()))?;
    let image = resized.as_ref().unwrap_or(image);
    let mut config = webp::WebPConfig::new()
        .map_err(|()| ImageError::Encode("libwebp refused its default settings".into()))?;
    config.quality = quality;
    config.method = WEBP_METHOD;
    config.sns_strength = WEBP_SNS_STRENGTH;
    config.alpha_compression = 1;
    let memory = webp_encoder(image)?
        .encode_advanced(&config)
        .map_err(|err| ImageError::Encode(format!("{err:?}")))?;
    Ok(memory.to_vec())
}

/// The downscaling filter: Mitchell–Netravali (B = C = 1/3), the cubic its authors found the
/// best balance of sharpness, ringing and aliasing. Lanczos3 is a little crisper but rings at
/// edges, and that extra high-frequency detail costs WebP about 10% more bytes
/// (`image_bench` prints bytes and time per filter).
pub const RESIZE_FILTER: FilterType = FilterType::Mitchell;

/// `None` when the image already has the width.
fn resize(image: &DynamicImage, width: u32) -> Result<Option<DynamicImage>, ImageError> {
    resize_with(image, width, RESIZE_FILTER)
}

/// [`resize`] with another filter (the benchmark compares them). `None` when the image already
/// has the width.
pub fn resize_with(
    image: &DynamicImage,
    width: u32,
    filter: FilterType,
) -> Result<Option<DynamicImage>, ImageError> {
    if width == image.width() {
        return Ok(None);
    }
    let height = ((u64::from(image.height()) * u64::from(width) + u64::from(image.width()) / 2)
        / u64::from(image.width().max(1)))
    .max(1) as u32;
    let mut dst = ResizeImage::new(width, height, image_pixel_type(image)?);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    fast_image_resize::Resizer::new()
        .resize(image, &mut dst, &options)
        .map_err(|err| ImageError::Encode(err.to_string()))?;
    let buffer = dst.into_vec();
    let resized = match image {
        DynamicImage::ImageRgba8(_) => {
            image::RgbaImage::from_raw(width, height, buffer).map(DynamicImage::ImageRgba8)
        }
        _ => image::RgbImage::from_raw(width, height, buffer).map(DynamicImage::ImageRgb8),
    };
    resized
        .map(Some)
        .ok_or_else(|| ImageError::Encode("resized buffer has the wrong size".into()))
}

fn image_pixel_type(image: &DynamicImage) -> Result<fast_image_resize::PixelType, ImageError> {
    match image {
        DynamicImage::ImageRgb8(_) => Ok(fast_image_resize::PixelType::U8x3),
        DynamicImage::ImageRgba8(_) => Ok(fast_image_resize::PixelType::U8x4),
        _ => Err(ImageError::Encode("only 8-bit RGB(A) is resized".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content_only() {
        assert_eq!(
            SourceFormat::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(SourceFormat::Jpeg)
        );
        assert_eq!(
            SourceFormat::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(SourceFormat::Png)
        );
        assert_eq!(
            SourceFormat::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(SourceFormat::Webp)
        );
        assert_eq!(SourceFormat::sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(SourceFormat::sniff(b"<html>"), None);
        assert_eq!(SourceFormat::sniff(b""), None);
    }

    #[test]
    fn widths_are_never_upscaled_and_the_next_width_holds_the_source_size() {
        let widths = [150, 400, 800, 1200];
        assert_eq!(variant_widths(&widths, 4000), [150, 400, 800, 1200]);
        assert_eq!(variant_widths(&widths, 800), [150, 400, 800]);
        assert_eq!(variant_widths(&widths, 300), [150, 400]);
        assert_eq!(variant_widths(&widths, 100), [150]);
        assert_eq!(pixel_width(400, 300), 300);
        assert_eq!(effective_width(&widths, 1200, 300), 400);
        assert_eq!(effective_width(&widths, 150, 300), 150);
    }

    #[test]
    fn the_placeholder_is_the_average_visible_colour() {
        let image = image::RgbaImage::from_fn(10, 10, |x, _| {
            if x < 5 {
                image::Rgba([255, 0, 0, 255])
            } else {
                image::Rgba([0, 0, 255, 0])
            }
        });
        assert_eq!(dominant_colour(&DynamicImage::ImageRgba8(image)), "#ff0000");
    }

    #[test]
    fn the_key_is_the_sha256_of_the_bytes() {
        assert_eq!(
            hex_sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
