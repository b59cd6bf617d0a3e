//! Image pipeline benchmark (not a timed test): per photograph in the fixture folder, decode +
//! WebP variants at 150/800/1200 q85 on one thread (as warming makes them: the 1200 first, the
//! smaller ones from it), bytes out vs in, then cached-variant reads, printed as Markdown
//! against the seed's Pillow figures. Run with `--release`, pinned to one core
//! (`taskset -c 0`).

use server::images::{self, ImageCache, ImageSettings, SourceFormat};
use std::{path::PathBuf, sync::Arc, time::Instant};

const WIDTHS: [u32; 3] = [150, 800, 1200];
const PILLOW_SECONDS: f64 = 6.0;
const PILLOW_BYTES: f64 = 1.23e6;

struct Row {
    name: String,
    size: (u32, u32),
    input: usize,
    decode_ms: f64,
    variants_ms: f64,
    output: usize,
}

fn fixture_dir() -> PathBuf {
    std::env::var_os("RENTWISE_FIXTURE_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/images")
        })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = fixture_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("SKIPPED: no fixture folder at {}", dir.display());
        return Ok(());
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let settings = ImageSettings::default();
    let mut rows = Vec::new();
    let mut inputs = Vec::new();
    for path in files {
        let bytes = std::fs::read(&path)?;
        let Some(format) = SourceFormat::sniff(&bytes) else {
            continue;
        };
        let started = Instant::now();
        let image = images::decode(&bytes, format, settings.max_pixels)?;
        let decoded = Instant::now();
        let output: usize = images::encode_variants(&image, &WIDTHS, settings.quality)?
            .iter()
            .map(|(_, bytes)| bytes.len())
            .sum();
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into());
        rows.push(Row {
            name,
            size: (image.width(), image.height()),
            input: bytes.len(),
            decode_ms: (decoded - started).as_secs_f64() * 1e3,
            variants_ms: decoded.elapsed().as_secs_f64() * 1e3,
            output,
        });
        inputs.push(bytes);
    }
    print_table(&rows);
    webp_effort_sweep(&inputs, &settings)?;
    filter_sweep(&inputs, &settings)?;
    serving_throughput(inputs)?;
    Ok(())
}

/// Time and bytes of the WebP encode alone at each libwebp method, on the same resized pixels,
/// to show what the chosen method trades.
fn webp_effort_sweep(
    inputs: &[Vec<u8>],
    settings: &ImageSettings,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut resized = Vec::new();
    for bytes in inputs {
        let Some(format) = SourceFormat::sniff(bytes) else {
            continue;
        };
        let image = images::decode(bytes, format, settings.max_pixels)?;
        let base = images::variant_base(&image, &WIDTHS)?;
        for width in images::variant_widths(&WIDTHS, image.width()) {
            resized.push(images::variant_base(&base, &[width])?.into_owned());
        }
    }
    println!();
    println!("| libwebp method | sns strength | encode ms (all variants) | output bytes | PSNR dB (mean) |");
    println!("|---:|---:|---:|---:|---:|");
    for (method, sns) in [
        (0, 50),
        (1, 50),
        (2, 50),
        (2, 70),
        (2, 90),
        (3, 50),
        (3, 80),
        (4, 50),
        (4, 80),
        (5, 50),
    ] {
        let mut config = webp::WebPConfig::new().map_err(|()| "libwebp config")?;
        config.quality = settings.quality;
        config.method = method;
        config.sns_strength = sns;
        config.alpha_compression = 1;
        let started = Instant::now();
        let mut encoded = Vec::with_capacity(resized.len());
        for image in &resized {
            let encoder = webp::Encoder::from_image(image)?;
            encoded.push(
                encoder
                    .encode_advanced(&config)
                    .map_err(|err| format!("{err:?}"))?
                    .to_vec(),
            );
        }
        let elapsed = started.elapsed();
        let output: usize = encoded.iter().map(Vec::len).sum();
        // Fidelity of the encode alone: each variant decoded again against its own pixels.
        let mut psnr_sum = 0.0;
        for (image, bytes) in resized.iter().zip(&encoded) {
            let decoded = webp::Decoder::new(bytes)
                .decode()
                .ok_or("libwebp could not decode its own output")?
                .to_image();
            psnr_sum += psnr(image, &decoded);
        }
        let psnr_mean = psnr_sum / resized.len().max(1) as f64;
        let marker = if method == images::WEBP_METHOD && sns == images::WEBP_SNS_STRENGTH {
            " (used)"
        } else {
            ""
        };
        println!(
            "| {method}{marker} | {sns} | {:.0} | {output} | {psnr_mean:.2} |",
            elapsed.as_secs_f64() * 1e3
        );
    }
    println!();
    Ok(())
}

/// Bytes of every variant (at the chosen libwebp settings) and the time of the resizing alone,
/// per downscaling filter, to show what the chosen filter trades.
fn filter_sweep(
    inputs: &[Vec<u8>],
    settings: &ImageSettings,
) -> Result<(), Box<dyn std::error::Error>> {
    use fast_image_resize::FilterType;
    let mut decoded = Vec::new();
    for bytes in inputs {
        if let Some(format) = SourceFormat::sniff(bytes) {
            decoded.push(images::decode(bytes, format, settings.max_pixels)?);
        }
    }
    println!("| resize filter | resize ms (all variants) | output bytes |");
    println!("|---|---:|---:|");
    for (name, filter) in [
        ("Bilinear", FilterType::Bilinear),
        ("Mitchell", FilterType::Mitchell),
        ("CatmullRom", FilterType::CatmullRom),
        ("Lanczos3", FilterType::Lanczos3),
    ] {
        let (mut resize_time, mut output) = (std::time::Duration::ZERO, 0);
        for image in &decoded {
            // As warming does: the largest variant from the source, the others from it.
            let widths = images::variant_widths(&WIDTHS, image.width());
            let Some(&largest) = widths.last() else {
                continue;
            };
            let started = Instant::now();
            let base = images::resize_with(image, largest.min(image.width()), filter)?
                .unwrap_or_else(|| image.clone());
            let mut variants = Vec::new();
            for &width in widths.iter().rev() {
                let pixels = width.min(base.width());
                variants.push(
                    images::resize_with(&base, pixels, filter)?.unwrap_or_else(|| base.clone()),
                );
            }
            resize_time += started.elapsed();
            for variant in &variants {
                // encode_variant does not resize an image that already has the width.
                output += images::encode_variant(variant, variant.width(), settings.quality)?.len();
            }
        }
        let marker = if filter == images::RESIZE_FILTER {
            " (used)"
        } else {
            ""
        };
        println!(
            "| {name}{marker} | {:.0} | {output} |",
            resize_time.as_secs_f64() * 1e3
        );
    }
    println!();
    Ok(())
}

/// Peak signal-to-noise ratio of `b` against `a` over their RGB channels, in dB.
fn psnr(a: &image::DynamicImage, b: &image::DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let (mut squared, mut count) = (0f64, 0f64);
    for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
        let d = f64::from(*x) - f64::from(*y);
        squared += d * d;
        count += 1.0;
    }
    if squared == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / (squared / count)).log10()
}

fn print_table(rows: &[Row]) {
    println!("| image | pixels | input bytes | decode ms | 3 variants ms | total ms | output bytes | out/in |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    let (mut input, mut output, mut total) = (0usize, 0usize, 0.0f64);
    for row in rows {
        let ms = row.decode_ms + row.variants_ms;
        println!(
            "| {} | {}×{} | {} | {:.0} | {:.0} | {:.0} | {} | {:.1}% |",
            row.name,
            row.size.0,
            row.size.1,
            row.input,
            row.decode_ms,
            row.variants_ms,
            ms,
            row.output,
            100.0 * row.output as f64 / row.input as f64
        );
        input += row.input;
        output += row.output;
        total += ms;
    }
    println!(
        "| **total ({} images)** | | {input} | | | **{total:.0}** | **{output}** | {:.1}% |",
        rows.len(),
        100.0 * output as f64 / input.max(1) as f64
    );
    println!();
    println!(
        "Pillow (seed): ~{PILLOW_SECONDS} s, {PILLOW_BYTES:.0} bytes. Here: {:.2} s, {output} bytes → \
         speed-up ×{:.1} single-core, output {:.0}% of Pillow's.",
        total / 1e3,
        PILLOW_SECONDS * 1e3 / total.max(1e-9),
        100.0 * output as f64 / PILLOW_BYTES
    );
}

/// Reads of warm variants through the cache (disk + index), one thread.
fn serving_throughput(inputs: Vec<Vec<u8>>) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let dir = std::env::temp_dir().join(format!("rentwise-image-bench-{}", std::process::id()));
    let result = runtime.block_on(async {
        let cache: Arc<ImageCache> = ImageCache::open(&dir, ImageSettings::default())?;
        let mut keys = Vec::new();
        for bytes in inputs.iter().take(4) {
            let processed = images::process(bytes, cache.settings())?;
            cache.put_original(&processed.key, processed.format, &processed.original)?;
            images::warm(&cache, &processed.key).await?;
            keys.push(processed.key);
        }
        if keys.is_empty() {
            return Ok(());
        }
        let rounds = 20_000;
        let started = Instant::now();
        let mut bytes = 0usize;
        for i in 0..rounds {
            if let images::Variant::Webp { bytes: b, .. } =
                cache.variant(&keys[i % keys.len()], 400).await?
            {
                bytes += b.len();
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "Cached 400 px variants through ImageCache::variant, one thread: {:.0} reads/s, {:.0} MB/s.",
            rounds as f64 / seconds,
            bytes as f64 / seconds / 1e6
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}
