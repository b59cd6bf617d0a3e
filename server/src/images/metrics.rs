//! The image cache as an observability source: hits, misses, hit rate, bytes, evictions,
//! encode time and fallbacks from atomics, and a health line saying the cache dir is writable.

use super::ImageCache;
use crate::observability::{MetricSource, SourceCheck, SourceMetric, Warning};
use std::sync::{atomic::Ordering::Relaxed, Arc};

/// Register with the observability state to publish the image cache's numbers as `images_*`.
pub struct ImageCacheMetrics {
    cache: Arc<ImageCache>,
}

impl ImageCacheMetrics {
    pub fn new(cache: Arc<ImageCache>) -> Self {
        ImageCacheMetrics { cache }
    }
}

impl MetricSource for ImageCacheMetrics {
    fn name(&self) -> &str {
        "images"
    }

    fn metrics(&self) -> Vec<SourceMetric> {
        let c = self.cache.counters();
        let hits = c.hits.load(Relaxed) as f64;
        let misses = c.misses.load(Relaxed) as f64;
        let encodes = c.encodes.load(Relaxed) as f64;
        let encode_seconds = c.encode_nanos.load(Relaxed) as f64 / 1e9;
        let hit_rate = if hits + misses > 0.0 {
            hits / (hits + misses)
        } else {
            0.0
        };
        vec![
            SourceMetric::counter("hits_total", "Variant requests served from disk", hits),
            SourceMetric::counter(
                "misses_total",
                "Variant requests that needed an encode",
                misses,
            ),
            SourceMetric::gauge(
                "hit_rate",
                "Share of variant requests served from disk since start",
                hit_rate,
            ),
            SourceMetric::gauge(
                "bytes",
                "Bytes of variants on disk",
                c.bytes.load(Relaxed) as f64,
            ),
            SourceMetric::gauge(
                "budget_bytes",
                "Byte budget of the variants on disk",
                self.cache.settings().budget_bytes as f64,
            ),
            SourceMetric::counter(
                "evictions_total",
                "Variants deleted to keep the budget",
                c.evictions.load(Relaxed) as f64,
            ),
            SourceMetric::counter("encodes_total", "Variant encodes", encodes),
            SourceMetric::counter(
                "encode_seconds_total",
                "Time spent resizing and encoding variants",
                encode_seconds,
            ),
            SourceMetric::counter(
                "fallbacks_total",
                "Requests answered with the original because no variant could be made",
                c.fallbacks.load(Relaxed) as f64,
            ),
        ]
    }

    /// Writability is read from the directory's permissions (no write on every health call).
    fn health(&self) -> Option<SourceCheck> {
        let check = match std::fs::metadata(self.cache.dir()) {
            Ok(meta) if !meta.is_dir() => Some("the image cache path is not a directory".into()),
            Ok(meta) if meta.permissions().readonly() => {
                Some("the image cache directory is read-only".into())
            }
            Ok(_) => dir_writable(self.cache.dir()),
            Err(err) => Some(format!("the image cache directory is unusable: {err}")),
        }
        .or_else(|| {
            // Permissions can look fine on a full disk: the last write tells.
            self.cache
                .write_failure()
                .map(|err| format!("writing to the image cache failed: {err}"))
        });
        Some(SourceCheck {
            ok: check.is_none(),
            error: check,
        })
    }

    fn warnings(&self) -> Vec<Warning> {
        let fallbacks = self.cache.counters().fallbacks.load(Relaxed);
        if fallbacks == 0 {
            return Vec::new();
        }
        vec![Warning {
            code: "variant_fallbacks".into(),
            message: format!(
                "{fallbacks} image requests got the original because a variant could not be made"
            ),
        }]
    }
}

/// `access(2)` with `W_OK`: honours the process's user and groups, creates nothing.
fn dir_writable(dir: &std::path::Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return Some("the image cache path contains a NUL byte".into());
    };
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    let status = unsafe { libc::access(path.as_ptr(), libc::W_OK) };
    (status != 0).then(|| {
        format!(
            "the image cache directory is not writable: {}",
            std::io::Error::last_os_error()
        )
    })
}
