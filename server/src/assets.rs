//! Static files: the built `pkg/` (CSS, JS, wasm) and `public/`. Release builds hash the pkg
//! file names and precompress them (brotli, gzip) once at build time, so they are served
//! precompressed with `immutable` caching; unhashed (dev) builds are revalidated instead.

use app::SiteAssets;
use axum::{
    http::{header, HeaderValue},
    Router,
};
use std::path::Path;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

const OUTPUT_NAME: &str = "rentwise";

/// The hashed names from cargo-leptos's `hash.txt` (beside the server binary), or the plain
/// names when there is none (debug builds, tests).
pub fn site_assets() -> SiteAssets {
    let hash_file = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")));
    let text = hash_file.and_then(|path| std::fs::read_to_string(path).ok());
    from_hash_file(text.as_deref())
}

/// Parses `hash.txt` (`js: HASH`, `wasm: HASH`, `css: HASH` lines).
pub fn from_hash_file(text: Option<&str>) -> SiteAssets {
    let hash = |kind: &str| {
        text.and_then(|text| {
            text.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                (name.trim() == kind && !value.trim().is_empty()).then(|| value.trim().to_owned())
            })
        })
    };
    let href = |kind: &str| match hash(kind) {
        Some(hash) => format!("/pkg/{OUTPUT_NAME}.{hash}.{kind}"),
        None => format!("/pkg/{OUTPUT_NAME}.{kind}"),
    };
    SiteAssets {
        css: href("css"),
        js: href("js"),
        wasm: href("wasm"),
    }
}

/// Whether the pkg file names carry content hashes (so the files never change).
pub fn is_hashed(assets: &SiteAssets) -> bool {
    assets.js != format!("/pkg/{OUTPUT_NAME}.js")
}

/// `/pkg/*` from `site_root/pkg`, precompressed variants preferred.
pub fn pkg_router<S: Clone + Send + Sync + 'static>(site_root: &Path, hashed: bool) -> Router<S> {
    let cache = if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let service = ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .nest_service("/pkg", service)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_come_from_the_hash_file() {
        let assets = from_hash_file(Some("js: AbC\nwasm: dEf\ncss: x-Y_z\n"));
        assert_eq!(assets.js, "/pkg/rentwise.AbC.js");
        assert_eq!(assets.wasm, "/pkg/rentwise.dEf.wasm");
        assert_eq!(assets.css, "/pkg/rentwise.x-Y_z.css");
        assert!(is_hashed(&assets));
    }

    #[test]
    fn without_a_hash_file_the_plain_names_are_used() {
        let assets = from_hash_file(None);
        assert_eq!(assets.js, "/pkg/rentwise.js");
        assert_eq!(assets.css, "/pkg/rentwise.css");
        assert!(!is_hashed(&assets));
    }
}
