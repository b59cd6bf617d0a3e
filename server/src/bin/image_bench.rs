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
    println!("| libwebp method | sns strength | encode ms (all variants) | output bytes |");
    println!("|---:|---:|---:|---:|");
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
        let mut output = 0;
        for image in &resized {
            let encoder = webp::Encoder::from_image(image)?;
            output += encoder
                .encode_advanced(&config)
                .map_err(|err| format!("{err:?}"))?
                .len();
        }
        let marker = if method == images::WEBP_METHOD && sns == images::WEBP_SNS_STRENGTH {
            " (used)"
        } else {
            ""
        };
        println!(
            "| {method}{marker} | {sns} | {:.0} | {output} |",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    println!();
    Ok(())
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
