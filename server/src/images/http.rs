//! `GET /img/{key}/{width}.webp`: strict path checks (nothing outside the cache is ever named),
//! immutable caching headers with a strong ETag and 304s, and the original as a fallback.

use super::{ImageCache, ImageError, Variant};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use std::sync::Arc;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A fallback may be replaced by the real variant later, so browsers keep it briefly only.
const FALLBACK_CACHE: &str = "public, max-age=60";

/// The image routes, with their own state; merge into any router.
pub fn routes<S>(cache: Arc<ImageCache>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/img/{*path}", get(serve_variant))
        .with_state(cache)
}

fn bad_request() -> Response {
    (
        StatusCode::BAD_REQUEST,
        "Image addresses look like /img/{key}/{width}.webp.",
    )
        .into_response()
}

/// `"800.webp"` → 800 when 800 is a configured width.
fn requested_width(file: &str, widths: &[u32]) -> Option<u32> {
    let digits = file.strip_suffix(".webp")?;
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let width = digits.parse().ok()?;
    widths.contains(&width).then_some(width)
}

async fn serve_variant(
    State(cache): State<Arc<ImageCache>>,
    path: Option<Path<String>>,
    headers: HeaderMap,
) -> Response {
    // One route for every shape under /img, so anything but `{key}/{width}.webp` is a 400
    // (segments arrive percent-decoded: an encoded slash makes a third segment).
    let Some(Path(path)) = path else {
        return bad_request();
    };
    let Some((key, file)) = path.split_once('/') else {
        return bad_request();
    };
    let (key, file) = (key.to_owned(), file.to_owned());
    if !super::is_valid_key(&key) || file.contains('/') {
        return bad_request();
    }
    let Some(width) = requested_width(&file, &cache.settings().widths) else {
        return bad_request();
    };
    // The ETag names the requested URL's content, known before touching the disk.
    let etag = format!("\"{key}-{width}\"");
    if if_none_match(&headers, &etag) && cache.original_path(&key).is_some() {
        return not_modified(&etag);
    }
    match cache.variant(&key, width).await {
        Ok(Variant::Webp { bytes, .. }) => {
            image_response(bytes.into(), "image/webp", IMMUTABLE, Some(&etag))
        }
        Ok(Variant::Original {
            bytes,
            content_type,
        }) => image_response(bytes.into(), content_type, FALLBACK_CACHE, None),
        Err(ImageError::NotFound) => (StatusCode::NOT_FOUND, "No such image.").into_response(),
        Err(err) => {
            tracing::error!(key, width, error = %err, "image could not be served");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sorry, this image cannot be shown right now.",
            )
                .into_response()
        }
    }
}

/// True when `If-None-Match` lists `etag` (weak comparison, as RFC 9110 asks for GET) or `*`.
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

fn not_modified(etag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set_caching(response.headers_mut(), IMMUTABLE, Some(etag));
    response
}

fn image_response(
    body: Body,
    content_type: &'static str,
    cache_control: &'static str,
    etag: Option<&str>,
) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set_caching(headers, cache_control, etag);
    response
}

fn set_caching(headers: &mut HeaderMap, cache_control: &'static str, etag: Option<&str>) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    if let Some(value) = etag.and_then(|etag| HeaderValue::from_str(etag).ok()) {
        headers.insert(header::ETAG, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_widths_with_the_webp_suffix_are_accepted() {
        let widths = [150, 400, 800, 1200];
        assert_eq!(requested_width("800.webp", &widths), Some(800));
        for bad in [
            "801.webp",
            "800.png",
            "800",
            ".webp",
            "+800.webp",
            "0800x.webp",
            "../800.webp",
            "800.webp\0",
            "%2e%2e",
        ] {
            assert_eq!(requested_width(bad, &widths), None, "{bad:?}");
        }
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"k-150\""),
        );
        assert!(if_none_match(&headers, "\"k-150\""));
        assert!(!if_none_match(&headers, "\"k-400\""));
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match(&headers, "\"k-400\""));
    }
}
