//! Rendered catalog pages, kept until the catalog changes, so a page view does not redo the
//! render the last view of that URL already did. Only pages that declare they depend on
//! nothing but the URL and the catalog (`x-rentwise-catalog-page`) are kept, only for GETs
//! without cookies, and only 200s. Pages that show availability declare a freshness of a
//! few seconds and are dropped after it. The per-request CSP nonce is cut out of the stored HTML
//! and the new request's nonce put back in, so every response still has a unique nonce.
//! Written here because no cache crate knows about nonces or the catalog version.

use app::ssr::{catalog_cache::CatalogCache, parse_page_ttl, CACHEABLE_PAGE_HEADER};
use axum::{
    body::{to_bytes, Body, Bytes},
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::Response,
};
use leptos::nonce::Nonce;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Stands in for the nonce in stored HTML; it cannot occur in a rendered page.
const NONCE_SLOT: &str = "\u{1}nonce\u{1}";
/// Enough for every catalog and product URL of a large shop; beyond it pages are rendered
/// each time (a flood of made-up query strings cannot grow memory).
const MAX_PAGES: usize = 4096;
/// Larger bodies are not stored.
const MAX_PAGE_BYTES: usize = 512 * 1024;

#[derive(Clone)]
struct StoredPage {
    headers: HeaderMap,
    body: Arc<str>,
    /// `None`: good until the catalog changes.
    expires: Option<Instant>,
}

#[derive(Default)]
struct Pages {
    version: u64,
    by_uri: HashMap<String, StoredPage>,
}

#[derive(Clone)]
pub struct PageCache {
    catalog: Arc<CatalogCache>,
    pages: Arc<Mutex<Pages>>,
}

impl PageCache {
    pub fn new(catalog: Arc<CatalogCache>) -> Self {
        PageCache {
            catalog,
            pages: Arc::default(),
        }
    }

    fn get(&self, uri: &str, version: u64) -> Option<StoredPage> {
        let pages = self.pages.lock().ok()?;
        let page = (pages.version == version).then(|| pages.by_uri.get(uri).cloned())??;
        match page.expires {
            Some(expires) if expires <= Instant::now() => None,
            _ => Some(page),
        }
    }

    fn put(&self, uri: String, version: u64, page: StoredPage) {
        let Ok(mut pages) = self.pages.lock() else {
            return;
        };
        if pages.version != version {
            pages.by_uri.clear();
            pages.version = version;
        }
        if pages.by_uri.len() >= MAX_PAGES {
            // Expired pages make room; fresh ones stay.
            let now = Instant::now();
            pages
                .by_uri
                .retain(|_, p| p.expires.is_none_or(|e| e > now));
        }
        if pages.by_uri.len() < MAX_PAGES {
            pages.by_uri.insert(uri, page);
        }
    }
}

fn with_nonce(page: &StoredPage, nonce: Option<&Nonce>) -> Response {
    let body = match nonce {
        Some(nonce) => page.body.replace(NONCE_SLOT, nonce),
        None => page.body.to_string(),
    };
    let mut response = Response::new(Body::from(body));
    *response.headers_mut() = page.headers.clone();
    response
}

/// The middleware; mount it inside the security-headers layer (which sets the nonce).
pub async fn serve_cached(
    State(cache): State<PageCache>,
    request: Request,
    next: Next,
) -> Response {
    let cacheable_request =
        request.method() == Method::GET && !request.headers().contains_key(header::COOKIE);
    if !cacheable_request {
        return strip_marker(next.run(request).await);
    }
    let uri = request.uri().to_string();
    let nonce = request.extensions().get::<Nonce>().cloned();
    let version = cache.catalog.version();
    if version != 0 {
        if let Some(page) = cache.get(&uri, version) {
            return with_nonce(&page, nonce.as_ref());
        }
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK
        || !response.headers().contains_key(CACHEABLE_PAGE_HEADER)
    {
        return strip_marker(response);
    }
    let (mut parts, body) = response.into_parts();
    let ttl = parts
        .headers
        .remove(CACHEABLE_PAGE_HEADER)
        .and_then(|v| v.to_str().ok().map(parse_page_ttl))
        .unwrap_or(Some(0));
    if ttl == Some(0) {
        return Response::from_parts(parts, body);
    }
    // Our own render, so read it whole; only pages up to MAX_PAGE_BYTES are kept.
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(error = %err, %uri, "rendering a page failed midway");
            let mut response = Response::from_parts(parts, Body::from(Bytes::new()));
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response.headers_mut().remove(header::CONTENT_LENGTH);
            return response;
        }
    };
    if bytes.len() > MAX_PAGE_BYTES {
        return Response::from_parts(parts, Body::from(bytes));
    }
    // The version read before rendering: if the catalog changed meanwhile, this page is
    // stored under the old version and never served.
    if parts.headers.contains_key(header::SET_COOKIE) {
        return Response::from_parts(parts, Body::from(bytes));
    }
    if let (Ok(text), Some(nonce)) = (std::str::from_utf8(&bytes), nonce.as_ref()) {
        let page = StoredPage {
            headers: parts.headers.clone(),
            body: Arc::from(text.replace(&**nonce, NONCE_SLOT)),
            expires: ttl.map(|seconds| Instant::now() + Duration::from_secs(u64::from(seconds))),
        };
        if version != 0 {
            cache.put(uri, version, page);
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn strip_marker(mut response: Response) -> Response {
    response.headers_mut().remove(CACHEABLE_PAGE_HEADER);
    response
}
