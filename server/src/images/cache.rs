//! The disk cache: originals at `{key}/original.{ext}` (never evicted) and variants at
//! `{key}/{width}.webp` under a byte budget with least-recently-used eviction, an index rebuilt
//! from disk at startup, atomic writes, and single-flight encoding of cold variants.

use super::lru::{lock, variant_path, LruIndex, VariantId};
use super::{process, ImageError, ImageSettings, SourceFormat};
use axum::body::Bytes;
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc, Mutex,
    },
    time::Instant,
};
use tokio::sync::{OnceCell, Semaphore};

/// What a variant request is answered with.
#[derive(Clone, Debug)]
pub enum Variant {
    /// The WebP variant stored under `width` (an alias for larger widths the image lacks).
    Webp { bytes: Bytes, width: u32 },
    /// The variant could not be produced: the original, in its own format.
    Original {
        bytes: Bytes,
        content_type: &'static str,
    },
}

/// Counters since the process started (bytes are a gauge).
#[derive(Debug, Default)]
pub struct CacheCounters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub evictions: AtomicU64,
    pub fallbacks: AtomicU64,
    pub encodes: AtomicU64,
    pub encode_nanos: AtomicU64,
    pub bytes: AtomicU64,
}

type Flight = Arc<OnceCell<Result<Bytes, ImageError>>>;

/// The answer of an [`OriginalSource`]: the original's bytes, if it has them.
pub type FetchedOriginal<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Option<Vec<u8>>, ImageError>> + Send + 'a>,
>;

/// Where an original comes from when this process's disk lacks it (another instance stored it).
pub trait OriginalSource: Send + Sync {
    fn fetch<'a>(&'a self, key: &'a str) -> FetchedOriginal<'a>;
}

/// The image cache of one server process. Cheap to share behind an `Arc`.
pub struct ImageCache {
    dir: PathBuf,
    settings: ImageSettings,
    index: LruIndex,
    flights: Mutex<HashMap<(String, u32), Flight>>,
    source_widths: Mutex<HashMap<String, u32>>,
    workers: Arc<Semaphore>,
    counters: CacheCounters,
    fail_encodes: AtomicBool,
    temp_counter: AtomicU64,
    /// Why the last write to the cache failed (a full disk, a read-only mount), until one works.
    write_failure: Mutex<Option<String>>,
    origin: std::sync::OnceLock<Arc<dyn OriginalSource>>,
}

impl ImageCache {
    /// Opens (creating) the cache directory and indexes the variants already on disk, oldest
    /// modification time first, so hits survive a restart. Leftover temporary files are removed.
    pub fn open(dir: impl Into<PathBuf>, settings: ImageSettings) -> Result<Arc<Self>, ImageError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        let index = LruIndex::scan(&dir, settings.budget_bytes)?;
        let cache = Arc::new(ImageCache {
            dir,
            workers: Arc::new(Semaphore::new(settings.workers.max(1))),
            settings,
            index,
            flights: Mutex::default(),
            source_widths: Mutex::default(),
            counters: CacheCounters::default(),
            fail_encodes: AtomicBool::new(false),
            temp_counter: AtomicU64::new(0),
            write_failure: Mutex::default(),
            origin: std::sync::OnceLock::new(),
        });
        let victims = cache.index.enforce_budget();
        cache.remove_evicted(&victims);
        Ok(cache)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn settings(&self) -> &ImageSettings {
        &self.settings
    }

    pub fn counters(&self) -> &CacheCounters {
        &self.counters
    }

    /// A place on the blocking pool for one decode/encode; waits while all cores are busy.
    pub async fn workers_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.workers.clone().acquire_owned().await.ok()
    }

    /// Test hook: every variant encode fails while set, as if libwebp refused the image.
    #[doc(hidden)]
    pub fn fail_encodes_for_tests(&self, fail: bool) {
        self.fail_encodes.store(fail, Relaxed);
    }

    /// The stored original of `key` and its format, if there is one.
    pub fn original_path(&self, key: &str) -> Option<(PathBuf, SourceFormat)> {
        if !super::is_valid_key(key) {
            return None;
        }
        [SourceFormat::Jpeg, SourceFormat::Png, SourceFormat::Webp]
            .into_iter()
            .map(|f| {
                (
                    self.dir
                        .join(key)
                        .join(format!("original.{}", f.extension())),
                    f,
                )
            })
            .find(|(path, _)| path.is_file())
    }

    /// Stores an original once (a second upload of the same key changes nothing). Blocking.
    pub fn put_original(
        &self,
        key: &str,
        format: SourceFormat,
        bytes: &[u8],
    ) -> Result<(), ImageError> {
        if !super::is_valid_key(key) {
            return Err(ImageError::NotFound);
        }
        if self.original_path(key).is_some() {
            return Ok(());
        }
        let name = format!("original.{}", format.extension());
        self.write_atomically(key, &name, bytes)
    }

    /// The variant `width` of `key`: from disk, or encoded once however many ask at the same
    /// time, or the original when it cannot be encoded. `width` must be a configured width.
    pub async fn variant(self: &Arc<Self>, key: &str, width: u32) -> Result<Variant, ImageError> {
        if !super::is_valid_key(key) || !self.settings.widths.contains(&width) {
            return Err(ImageError::NotFound);
        }
        if let Some(bytes) = self.read_cached(key, width).await {
            return Ok(Variant::Webp { bytes, width });
        }
        let (original, format) = match self.original_path(key) {
            Some(found) => found,
            None => match self.fetch_original(key).await? {
                Ok(found) => found,
                // Fetched but not storable here (a full disk): serve it as it is.
                Err((bytes, format)) => {
                    self.counters.fallbacks.fetch_add(1, Relaxed);
                    return Ok(Variant::Original {
                        bytes: bytes.into(),
                        content_type: format.content_type(),
                    });
                }
            },
        };
        let width = match self.source_width(key, &original).await {
            Ok(source) => process::effective_width(&self.settings.widths, width, source),
            Err(_) => width,
        };
        if let Some(bytes) = self.read_cached(key, width).await {
            return Ok(Variant::Webp { bytes, width });
        }
        self.counters.misses.fetch_add(1, Relaxed);
        match self.produce_once(key, width, &original, format).await {
            Ok(bytes) => Ok(Variant::Webp { bytes, width }),
            Err(err) => {
                tracing::warn!(key, width, error = %err, "serving the original instead of a variant");
                let bytes = tokio::fs::read(&original).await?;
                self.counters.fallbacks.fetch_add(1, Relaxed);
                Ok(Variant::Original {
                    bytes: bytes.into(),
                    content_type: format.content_type(),
                })
            }
        }
    }

    /// Where originals missing from this disk are fetched from (set once, at startup).
    pub fn set_origin(&self, origin: Arc<dyn OriginalSource>) {
        let _ = self.origin.set(origin);
    }

    /// Fetches `key`'s original from the origin and stores it here: its path, or, when it could
    /// not be stored, its bytes. `NotFound` without an origin or when the origin lacks it.
    async fn fetch_original(
        self: &Arc<Self>,
        key: &str,
    ) -> Result<Result<(PathBuf, SourceFormat), (Vec<u8>, SourceFormat)>, ImageError> {
        let origin = self.origin.get().ok_or(ImageError::NotFound)?;
        let bytes = origin.fetch(key).await?.ok_or(ImageError::NotFound)?;
        let format = SourceFormat::sniff(&bytes)
            .ok_or_else(|| ImageError::Corrupt("the stored original has no known format".into()))?;
        let (cache, owned_key) = (Arc::clone(self), key.to_owned());
        let stored = tokio::task::spawn_blocking(move || {
            let stored = cache.put_original(&owned_key, format, &bytes);
            (stored, bytes)
        })
        .await
        .map_err(|err| ImageError::Io(err.to_string()))?;
        match stored {
            (Ok(()), bytes) => Ok(self.original_path(key).ok_or((bytes, format))),
            (Err(err), bytes) => {
                tracing::warn!(key, error = %err, "could not keep a fetched original on this disk");
                Ok(Err((bytes, format)))
            }
        }
    }

    /// Produces every variant `key` should have that is not on disk yet, decoding once.
    pub async fn warm(self: &Arc<Self>, key: &str) -> Result<Vec<u32>, ImageError> {
        let (original, format) = self.original_path(key).ok_or(ImageError::NotFound)?;
        let key = key.to_owned();
        self.with_decoded(original, format, move |cache, image| {
            let widths = process::variant_widths(&cache.settings.widths, image.width());
            let missing: Vec<u32> = widths
                .iter()
                .copied()
                .filter(|width| !cache.index.contains(&(key.clone(), *width)))
                .collect();
            if !missing.is_empty() {
                let base = process::variant_base(image, &cache.settings.widths)?;
                for width in missing.into_iter().rev() {
                    cache.encode_and_store(&key, width, &base)?;
                }
            }
            Ok(widths)
        })
        .await
    }

    /// Decodes `original` on the blocking pool, behind the workers semaphore, and runs `then`
    /// there with the image: decoding and encoding never touch the async threads.
    async fn with_decoded<T: Send + 'static>(
        self: &Arc<Self>,
        original: PathBuf,
        format: SourceFormat,
        then: impl FnOnce(&ImageCache, &image::DynamicImage) -> Result<T, ImageError> + Send + 'static,
    ) -> Result<T, ImageError> {
        let permit = self.workers_permit().await;
        let cache = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let bytes = std::fs::read(&original)?;
            let image = process::decode(&bytes, format, cache.settings.max_pixels)?;
            then(&cache, &image)
        })
        .await
        .map_err(|err| ImageError::Encode(err.to_string()))?
    }

    async fn read_cached(&self, key: &str, width: u32) -> Option<Bytes> {
        let id = (key.to_owned(), width);
        if !self.index.touch(&id) {
            return None;
        }
        match tokio::fs::read(variant_path(&self.dir, &id)).await {
            Ok(bytes) => {
                self.counters.hits.fetch_add(1, Relaxed);
                Some(bytes.into())
            }
            Err(_) => {
                self.index.forget(&id);
                self.counters.bytes.store(self.index.bytes(), Relaxed);
                None
            }
        }
    }

    async fn source_width(&self, key: &str, original: &Path) -> Result<u32, ImageError> {
        if let Some(width) = lock(&self.source_widths).get(key) {
            return Ok(*width);
        }
        let path = original.to_owned();
        let (width, _) = tokio::task::spawn_blocking(move || image::image_dimensions(path))
            .await
            .map_err(|err| ImageError::Io(err.to_string()))?
            .map_err(|err| ImageError::Corrupt(err.to_string()))?;
        lock(&self.source_widths).insert(key.to_owned(), width);
        Ok(width)
    }

    /// Single flight: the first caller for `(key, width)` encodes, the others await its result.
    async fn produce_once(
        self: &Arc<Self>,
        key: &str,
        width: u32,
        original: &Path,
        format: SourceFormat,
    ) -> Result<Bytes, ImageError> {
        let id = (key.to_owned(), width);
        let flight = lock(&self.flights).entry(id.clone()).or_default().clone();
        let result = flight
            .get_or_init(|| async {
                // A flight that finished just before this one started has stored the file.
                if let Some(bytes) = self.read_cached(key, width).await {
                    return Ok(bytes);
                }
                self.produce(key, width, original.to_owned(), format).await
            })
            .await
            .clone();
        let mut flights = lock(&self.flights);
        if flights.get(&id).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
            flights.remove(&id);
        }
        result
    }

    async fn produce(
        self: &Arc<Self>,
        key: &str,
        width: u32,
        original: PathBuf,
        format: SourceFormat,
    ) -> Result<Bytes, ImageError> {
        let key = key.to_owned();
        self.with_decoded(original, format, move |cache, image| {
            let base = process::variant_base(image, &cache.settings.widths)?;
            cache.encode_and_store(&key, width, &base).map(Bytes::from)
        })
        .await
    }

    /// Encodes one variant (timed and counted), writes it atomically and evicts over budget.
    fn encode_and_store(
        &self,
        key: &str,
        width: u32,
        image: &image::DynamicImage,
    ) -> Result<Vec<u8>, ImageError> {
        let started = Instant::now();
        let encoded = if self.fail_encodes.load(Relaxed) {
            Err(ImageError::Encode("encoding disabled by a test".into()))
        } else {
            process::encode_variant(image, width, self.settings.quality)
        };
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.counters.encodes.fetch_add(1, Relaxed);
        self.counters.encode_nanos.fetch_add(nanos, Relaxed);
        let encoded = encoded?;
        self.write_atomically(key, &format!("{width}.webp"), &encoded)?;
        let victims = self
            .index
            .insert((key.to_owned(), width), encoded.len() as u64);
        self.remove_evicted(&victims);
        Ok(encoded)
    }

    /// Deletes evicted files (outside the index lock) and updates the counters.
    fn remove_evicted(&self, victims: &[VariantId]) {
        for id in victims {
            let path = variant_path(&self.dir, id);
            if let Err(err) = std::fs::remove_file(&path) {
                if err.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(path = %path.display(), error = %err, "could not evict a variant");
                }
            }
        }
        self.counters
            .evictions
            .fetch_add(victims.len() as u64, Relaxed);
        self.counters.bytes.store(self.index.bytes(), Relaxed);
    }

    /// Temp file in the same directory, flushed to disk, then renamed: a reader sees the whole
    /// file or none, even after a crash.
    fn write_atomically(&self, key: &str, name: &str, bytes: &[u8]) -> Result<(), ImageError> {
        use std::io::Write;
        let dir = self.dir.join(key);
        std::fs::create_dir_all(&dir)?;
        let n = self.temp_counter.fetch_add(1, Relaxed);
        let temp = dir.join(format!(".tmp-{}-{n}-{name}", std::process::id()));
        let written = std::fs::File::create(&temp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        let renamed = written.and_then(|()| std::fs::rename(&temp, dir.join(name)));
        *lock(&self.write_failure) = match &renamed {
            Ok(()) => None,
            Err(err) => {
                let _ = std::fs::remove_file(&temp);
                Some(err.to_string())
            }
        };
        Ok(renamed?)
    }

    /// Why the last write to the cache failed, while no later write has worked.
    pub fn write_failure(&self) -> Option<String> {
        lock(&self.write_failure).clone()
    }
}
