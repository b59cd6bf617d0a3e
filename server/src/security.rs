//! Security headers on every response and a cross-site request guard for every
//! state-changing request. Both are small axum middlewares written here rather than pulled in:
//! the headers need the per-request CSP nonce shared with Leptos, and tower-http's CSRF layer
//! arrives only with tower-http 0.7, a second copy of that crate beside leptos_axum's 0.6.
//!
//! `X-XSS-Protection: 0` is deliberate (current OWASP advice): the old browser XSS auditors
//! that `1; mode=block` switched on could be abused to leak data or break pages, and the CSP
//! below is the real protection.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use leptos::nonce::Nonce;

/// When to send `Strict-Transport-Security`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hsts {
    /// Never (plain-HTTP development).
    Off,
    /// Always (the server is only ever reached over TLS).
    On,
    /// When the request came over TLS, or a proxy in front says so with
    /// `X-Forwarded-Proto: https`.
    Auto,
}

const HSTS_VALUE: &str = "max-age=63072000; includeSubDomains";
const PERMISSIONS_POLICY: &str =
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()";

/// The Content-Security-Policy for a response whose inline scripts carry `nonce`.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
}

fn came_over_tls(request: &Request) -> bool {
    request.uri().scheme_str() == Some("https")
        || request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Adds the security headers; gives the request a fresh CSP nonce (in its extensions) that
/// Leptos puts on the scripts it renders.
pub async fn security_headers(
    State(hsts): State<Hsts>,
    mut request: Request,
    next: Next,
) -> Response {
    let nonce = Nonce::new();
    let hsts = match hsts {
        Hsts::Off => false,
        Hsts::On => true,
        Hsts::Auto => came_over_tls(&request),
    };
    let csp = HeaderValue::from_str(&content_security_policy(&nonce));
    request.extensions_mut().insert(nonce);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(csp) = csp {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    headers.insert(header::X_XSS_PROTECTION, HeaderValue::from_static("0"));
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS_VALUE),
        );
    }
    response
}

/// Whether a state-changing request was sent by a page of another site. Browsers label every
/// request with `Sec-Fetch-Site`, and older ones send `Origin` on cross-origin POSTs; a request
/// with neither did not come from a browser page (curl, load generators) and is let through.
pub fn is_cross_site(method: &Method, headers: &HeaderMap) -> bool {
    if matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("https://")
            .or_else(|| o.strip_prefix("http://"))
    });
    match (origin_host, host) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host),
        _ => true, // "null" or a malformed Origin
    }
}

/// Refuses cross-site state-changing requests with 403 and a sentence; nothing runs.
pub async fn csrf_guard(request: Request, next: Next) -> Response {
    if is_cross_site(request.method(), request.headers()) {
        tracing::warn!(method = %request.method(), uri = %request.uri(), "refused a cross-site request");
        return (
            StatusCode::FORBIDDEN,
            "This request came from another website, so we refused it to protect your account. \
             Please reload the page and try again.",
        )
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let post = Method::POST;
        assert!(!is_cross_site(
            &post,
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(!is_cross_site(
            &post,
            &headers(&[("sec-fetch-site", "none")])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[("sec-fetch-site", "same-site")])
        ));
        assert!(!is_cross_site(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
    }

    #[test]
    fn origin_must_match_host_without_fetch_metadata() {
        let post = Method::POST;
        assert!(!is_cross_site(
            &post,
            &headers(&[
                ("origin", "http://shop.test:3000"),
                ("host", "shop.test:3000")
            ])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[("origin", "https://evil.test"), ("host", "shop.test")])
        ));
        assert!(is_cross_site(
            &post,
            &headers(&[("origin", "null"), ("host", "shop.test")])
        ));
        assert!(!is_cross_site(&post, &headers(&[("host", "shop.test")])));
    }

    #[test]
    fn csp_carries_the_nonce_and_the_required_directives() {
        let csp = content_security_policy("abc123");
        for part in [
            "'nonce-abc123'",
            "'strict-dynamic'",
            "'wasm-unsafe-eval'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{part} missing from {csp}");
        }
    }
}
