//! The image pipeline's rules, each proved: orientation, metadata stripping, alpha, no
//! upscaling, the same bytes warmed or on request, single flight, LRU budget, restart, strict
//! paths, bad files and the fallback.

mod common;

use axum::{body::Body, http::Request};
use common::files_under;
use image::DynamicImage;
use server::images::{self, samples, ImageCache, ImageError, ImageSettings, Variant};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::{path::PathBuf, sync::atomic::Ordering::Relaxed, sync::Arc};
use tower::ServiceExt;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rentwise-images-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn settings(budget_bytes: u64) -> ImageSettings {
    ImageSettings {
        budget_bytes,
        ..ImageSettings::default()
    }
}

/// The photographs, or `None` (with a message) where the shared folder is absent.
fn fixture(name: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os("RENTWISE_FIXTURE_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/images")
        });
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            println!("SKIPPED: fixture {name} not found in {}", dir.display());
            None
        }
    }
}

fn decode_webp(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::WebP).expect("a valid WebP")
}

/// Processes and stores the original only (no database), as `store_upload` does.
fn put(cache: &ImageCache, bytes: &[u8]) -> images::ProcessedUpload {
    let processed = images::process(bytes, cache.settings()).expect("valid image");
    cache
        .put_original(&processed.key, processed.format, &processed.original)
        .expect("original stored");
    processed
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn exif_orientation_is_applied_and_metadata_stripped() {
    let upload = samples::jpeg_with_orientation(40, 20, 6);
    assert!(contains(&upload, b"Exif") && contains(&upload, b"GPS"));
    let processed = images::process(&upload, &ImageSettings::default()).expect("valid jpeg");
    assert_eq!((processed.width, processed.height), (20, 40), "upright");
    assert!(!contains(&processed.original, b"Exif"), "no EXIF");
    assert!(!contains(&processed.original, b"GPS"));
    let stored = image::load_from_memory(&processed.original).expect("stored original decodes");
    assert_eq!((stored.width(), stored.height()), (20, 40));
    assert_eq!(processed.key, images::hex_sha256(&upload), "key");
}

#[test]
fn bad_files_are_refused_before_decoding() {
    let settings = ImageSettings::default();
    let html = b"<!doctype html><html><body>not a photo</body></html>";
    let err = images::process(html, &settings).expect_err("html refused");
    assert!(matches!(err, ImageError::UnsupportedType));
    assert_eq!(err.status().as_u16(), 415);
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>"#;
    let err = images::process(svg, &settings).expect_err("svg refused, whatever its name");
    assert!(matches!(err, ImageError::UnsupportedType));

    let whole = samples::jpeg(64, 64);
    let err = images::process(&whole[..whole.len() / 2], &settings).expect_err("truncated");
    assert!(matches!(err, ImageError::Corrupt(_)), "{err:?}");
    assert_eq!(err.status().as_u16(), 422);

    let started = std::time::Instant::now();
    let err = images::process(&samples::png_pixel_flood(100_000, 100_000), &settings)
        .expect_err("pixel flood");
    assert!(matches!(err, ImageError::TooLarge(_)), "{err:?}");
    assert_eq!(err.status().as_u16(), 413);
    assert!(started.elapsed().as_millis() < 500, "header");
}

/// Variants are resized from the largest one when warming; a variant made alone on request
/// must start from the same pixels, since its URL and strong ETag name one content.
#[tokio::test]
async fn a_variant_has_the_same_bytes_warmed_or_made_on_request() {
    let photo = samples::jpeg(1600, 900);
    let warmed = ImageCache::open(temp_dir("warmed"), settings(1 << 30)).expect("cache");
    let on_request = ImageCache::open(temp_dir("on-request"), settings(1 << 30)).expect("cache");
    let key = put(&warmed, &photo).key;
    put(&on_request, &photo);
    images::warm(&warmed, &key).await.expect("warm");
    for width in [150, 400, 800, 1200] {
        let (Variant::Webp { bytes: a, .. }, Variant::Webp { bytes: b, .. }) = (
            warmed.variant(&key, width).await.expect("warmed variant"),
            on_request
                .variant(&key, width)
                .await
                .expect("variant made on request"),
        ) else {
            panic!("WebP variants");
        };
        assert_eq!(a, b, "width {width}");
    }
    assert_eq!(warmed.counters().misses.load(Relaxed), 0, "all were warm");
    let _ = std::fs::remove_dir_all(warmed.dir());
    let _ = std::fs::remove_dir_all(on_request.dir());
}

#[tokio::test]
async fn alpha_is_kept_and_nothing_is_upscaled() {
    let dir = temp_dir("alpha");
    let cache = ImageCache::open(&dir, settings(1 << 30)).expect("cache");
    let processed = put(&cache, &samples::png_half_transparent(300, 100));
    assert_eq!(
        images::variant_widths(&cache.settings().widths, 300),
        [150, 400]
    );
    let Variant::Webp { bytes, width } = cache.variant(&processed.key, 150).await.expect("ok")
    else {
        panic!("a WebP variant");
    };
    let small = decode_webp(&bytes);
    assert_eq!((width, small.width(), small.height()), (150, 150, 50));
    assert!(small.color().has_alpha(), "alpha kept");
    assert_eq!(small.to_rgba8().get_pixel(10, 25)[3], 0, "transparent");
    for asked in [400, 800, 1200] {
        let Variant::Webp { bytes, width } =
            cache.variant(&processed.key, asked).await.expect("ok")
        else {
            panic!("a WebP variant");
        };
        assert_eq!(width, 400, "larger widths share the source-width file");
        assert_eq!(decode_webp(&bytes).width(), 300, "never upscaled");
    }
    assert_eq!(cache.counters().encodes.load(Relaxed), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn real_photos_lose_their_metadata_and_keep_alpha() {
    let (Some(photo), Some(png)) = (fixture("Dune.jpg"), fixture("Stripes.png")) else {
        return;
    };
    assert!(contains(&photo[..4096.min(photo.len())], b"Exif"));
    let processed = images::process(&photo, &ImageSettings::default()).expect("valid photo");
    assert!(!contains(&processed.original, b"Exif"));
    // Entropy-coded data stuffs every 0xFF with 0x00, so 0xFFE1 can only be an APP1 segment.
    assert!(!contains(&processed.original, &[0xFF, 0xE1]));
    let dir = temp_dir("translucent");
    let cache = ImageCache::open(&dir, settings(1 << 30)).expect("cache");
    let key = put(&cache, &png).key;
    let Ok(Variant::Webp { bytes, .. }) = cache.variant(&key, 400).await else {
        panic!("a WebP variant");
    };
    let variant = decode_webp(&bytes);
    // Stripes.png is grey with translucent stripes (alpha down to 136).
    assert!(variant.color().has_alpha() && variant.width() == 400);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_cold_requests_cause_one_encode() {
    let dir = temp_dir("flight");
    let cache = ImageCache::open(&dir, settings(1 << 30)).expect("cache");
    let key = put(&cache, &samples::jpeg(1600, 900)).key;
    let requests = (0..50).map(|_| {
        let (cache, key) = (Arc::clone(&cache), key.clone());
        tokio::spawn(async move { cache.variant(&key, 800).await })
    });
    let mut sizes = Vec::new();
    for request in requests {
        match request.await.expect("task") {
            Ok(Variant::Webp { bytes, .. }) => sizes.push(bytes.len()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(cache.counters().encodes.load(Relaxed), 1, "one encode");
    assert!(sizes.iter().all(|s| *s == sizes[0] && *s > 0), "same bytes");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn eviction_keeps_the_budget_and_spares_recent_variants_and_originals() {
    let dir = temp_dir("lru");
    let probe = ImageCache::open(temp_dir("probe"), settings(1 << 30)).expect("cache");
    let one = put(&probe, &samples::jpeg(400, 300)).key;
    let Ok(Variant::Webp { bytes, .. }) = probe.variant(&one, 400).await else {
        panic!("variant");
    };
    let budget = bytes.len() as u64 * 5 / 2; // room for two variants of this size
    let _ = std::fs::remove_dir_all(probe.dir());

    let cache = ImageCache::open(&dir, settings(budget)).expect("cache");
    let keys: Vec<String> = (0..4)
        .map(|i| put(&cache, &samples::jpeg(400 + i, 300)).key)
        .collect();
    // The first is used again before the third arrives, so the second is least recent.
    for i in [0, 1, 0, 2] {
        cache.variant(&keys[i], 400).await.expect("variant");
    }
    let counters = cache.counters();
    assert!(counters.bytes.load(Relaxed) <= budget);
    assert!(counters.evictions.load(Relaxed) >= 1);
    assert!(dir.join(&keys[0]).join("400.webp").exists(), "recent kept");
    assert!(!dir.join(&keys[1]).join("400.webp").exists(), "LRU evicted");
    let on_disk: u64 = files_under(&dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "webp"))
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    assert!(
        on_disk <= budget,
        "{on_disk} bytes on disk, budget {budget}"
    );
    assert!(
        keys.iter().all(|k| cache.original_path(k).is_some()),
        "originals kept"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn hits_survive_a_restart() {
    let dir = temp_dir("restart");
    let key = {
        let cache = ImageCache::open(&dir, settings(1 << 30)).expect("cache");
        let key = put(&cache, &samples::jpeg(900, 600)).key;
        assert_eq!(
            images::warm(&cache, &key).await.expect("warm"),
            [150, 400, 800, 1200]
        );
        assert_eq!(cache.counters().encodes.load(Relaxed), 4);
        key
    };
    let cache = ImageCache::open(&dir, settings(1 << 30)).expect("reopened");
    assert!(cache.counters().bytes.load(Relaxed) > 0, "index");
    cache.variant(&key, 800).await.expect("served");
    assert_eq!(cache.counters().hits.load(Relaxed), 1);
    assert_eq!(cache.counters().encodes.load(Relaxed), 0, "no encode");
    let _ = std::fs::remove_dir_all(dir);
}

async fn get(router: &axum::Router, uri: &str, etag: Option<&str>) -> axum::response::Response {
    let mut request = Request::builder().uri(uri);
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let request = request.body(Body::empty()).expect("request");
    router.clone().oneshot(request).await.expect("infallible")
}

#[tokio::test]
async fn http_serves_variants_and_refuses_other_paths_without_touching_the_disk() {
    let dir = temp_dir("http");
    let cache = ImageCache::open(&dir, settings(1 << 30)).expect("cache");
    let key = put(&cache, &samples::jpeg(500, 300)).key;
    let router: axum::Router = images::routes(Arc::clone(&cache));
    let before = files_under(&dir);
    for bad in [
        "/img/../../etc/passwd".to_owned(),
        "/img/%2e%2e/%2e%2e/150.webp".to_owned(),
        format!("/img/{key}/..%2F150.webp"),
        format!("/img/{key}/150.webp%00"),
        format!("/img/{}/150.webp", key.to_uppercase()),
        format!("/img/{key}/151.webp"),
        format!("/img/{key}/150.png"),
        format!("/img/{key}/sub/150.webp"),
        "/img/%2Fetc%2Fpasswd/150.webp".to_owned(),
    ] {
        assert_eq!(get(&router, &bad, None).await.status(), 400, "{bad}");
    }
    assert_eq!(files_under(&dir), before, "no writes");
    let unknown = format!("/img/{}/150.webp", "0".repeat(64));
    assert_eq!(get(&router, &unknown, None).await.status(), 404);

    let url = format!("/img/{key}/400.webp");
    let response = get(&router, &url, None).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "image/webp");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let etag = headers["etag"].to_str().expect("ascii").to_owned();
    assert_eq!(etag, format!("\"{key}-400\""));
    let again = get(&router, &url, Some(&etag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_original_is_served_when_a_variant_cannot_be_made() {
    let dir = temp_dir("fallback");
    let cache = ImageCache::open(&dir, settings(1 << 30)).expect("cache");
    let key = put(&cache, &samples::png_half_transparent(600, 200)).key;
    cache.fail_encodes_for_tests(true);
    let router: axum::Router = images::routes(Arc::clone(&cache));
    let response = get(&router, &format!("/img/{key}/150.webp"), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_ne!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(cache.counters().fallbacks.load(Relaxed), 1);
    assert!(!dir.join(&key).join("150.webp").exists(), "not stored");
    cache.fail_encodes_for_tests(false);
    let response = get(&router, &format!("/img/{key}/150.webp"), None).await;
    assert_eq!(response.headers()["content-type"], "image/webp", "recovers");
    let _ = std::fs::remove_dir_all(dir);
}

async fn image_rows(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM images")
        .fetch_one(pool)
        .await
        .expect("count")
}

#[sqlx::test(migrations = "../migrations")]
async fn uploads_are_stored_once_and_rejects_leave_nothing(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let dir = temp_dir("store");
    let cache = ImageCache::open(&dir, settings(1 << 30)).expect("cache");
    let upload = samples::jpeg_with_orientation(80, 40, 6);
    let first = images::store_upload(&pool, &cache, upload.clone())
        .await
        .expect("stored");
    let second = images::store_upload(&pool, &cache, upload)
        .await
        .expect("stored again");
    assert_eq!(first, second);
    assert_eq!(
        (first.width, first.height, first.format.as_str()),
        (40, 80, "jpeg")
    );
    assert!(first.placeholder.starts_with('#') && first.placeholder.len() == 7);
    assert_eq!(image_rows(&pool).await, 1);
    let stored_files = files_under(&dir);
    assert_eq!(stored_files.len(), 1, "one original");

    let whole = samples::jpeg(64, 64);
    for bad in [
        b"<html></html>".to_vec(),
        whole[..100].to_vec(),
        samples::png_pixel_flood(100_000, 100_000),
    ] {
        let err = images::store_upload(&pool, &cache, bad)
            .await
            .expect_err("refused");
        assert!(matches!(err.status().as_u16(), 413 | 415 | 422), "{err:?}");
    }
    assert_eq!(files_under(&dir), stored_files, "no writes");
    assert_eq!(image_rows(&pool).await, 1);
    pool.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// Two instances share a database but not a disk: the one that did not store a photo fetches
/// its original from the database once, keeps it, and serves the same variant bytes.
#[sqlx::test(migrations = "../migrations")]
async fn an_instance_without_the_original_fetches_it_from_the_database(
    _: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let pool = common::test_pool(connect).await;
    let (dir_a, dir_b, dir_c) = (temp_dir("inst-a"), temp_dir("inst-b"), temp_dir("inst-c"));
    let a = ImageCache::open(&dir_a, settings(1 << 30)).expect("cache A");
    let b = ImageCache::open(&dir_b, settings(1 << 30)).expect("cache B");
    let c = ImageCache::open(&dir_c, settings(1 << 30)).expect("cache C");
    for cache in [&a, &b] {
        cache.set_origin(Arc::new(images::PgOriginals::new(pool.clone())));
    }
    let stored = images::store_upload(&pool, &a, samples::jpeg(600, 400))
        .await
        .expect("stored by A");
    assert!(files_under(&dir_b).is_empty());

    let webp = |variant: Variant| match variant {
        Variant::Webp { bytes, .. } => bytes,
        Variant::Original { .. } => panic!("a variant, not the original"),
    };
    let from_a = webp(a.variant(&stored.key, 400).await.expect("A's variant"));
    let from_b = webp(b.variant(&stored.key, 400).await.expect("B's variant"));
    assert_eq!(from_a, from_b, "the same bytes from either instance");
    assert!(
        files_under(&dir_b)
            .iter()
            .any(|f| f.ends_with("original.jpg")),
        "B keeps the original it fetched: {:?}",
        files_under(&dir_b)
    );
    // Without an origin (as before), an instance that lacks the file has no such photo.
    assert!(matches!(
        c.variant(&stored.key, 400).await,
        Err(ImageError::NotFound)
    ));

    // Images stored before the table existed are copied into it from the disk that has them.
    sqlx::query("DELETE FROM image_originals")
        .execute(&pool)
        .await
        .expect("forget");
    assert_eq!(
        images::backfill_originals(&pool, &c)
            .await
            .expect("none here"),
        0
    );
    assert_eq!(
        images::backfill_originals(&pool, &a)
            .await
            .expect("backfill"),
        1
    );
    pool.close().await;
    for dir in [dir_a, dir_b, dir_c] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
