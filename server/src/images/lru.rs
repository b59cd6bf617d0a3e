//! The in-memory index of the variants on disk: size and recency of each file, a byte total,
//! least-recently-used eviction; rebuilt by scanning the directory (mtime as first recency).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Mutex,
};

/// A variant: its content key and configured width.
pub(super) type VariantId = (String, u32);

struct Entry {
    size: u64,
    last_used: u64,
}

#[derive(Default)]
struct Index {
    entries: HashMap<VariantId, Entry>,
    clock: u64,
    bytes: u64,
}

pub(super) struct LruIndex {
    index: Mutex<Index>,
    budget: u64,
}

impl LruIndex {
    /// Indexes `{key}/{width}.webp` under `dir`, oldest modification first; removes leftover
    /// temporary files of writes a crash interrupted.
    pub(super) fn scan(dir: &Path, budget: u64) -> std::io::Result<Self> {
        let mut found = Vec::new();
        for key_dir in std::fs::read_dir(dir)? {
            let key_dir = key_dir?;
            let key = key_dir.file_name().to_string_lossy().into_owned();
            if !super::is_valid_key(&key) || !key_dir.file_type()?.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(key_dir.path())? {
                let file = file?;
                let name = file.file_name().to_string_lossy().into_owned();
                if name.starts_with(".tmp") {
                    let _ = std::fs::remove_file(file.path());
                } else if let Some(width) = parse_variant_name(&name) {
                    let meta = file.metadata()?;
                    let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                    found.push((modified, key.clone(), width, meta.len()));
                }
            }
        }
        found.sort();
        let mut index = Index::default();
        for (_, key, width, size) in found {
            index.clock += 1;
            index.bytes += size;
            let last_used = index.clock;
            index
                .entries
                .insert((key, width), Entry { size, last_used });
        }
        Ok(LruIndex {
            index: Mutex::new(index),
            budget,
        })
    }

    pub(super) fn bytes(&self) -> u64 {
        lock(&self.index).bytes
    }

    /// Marks the variant as just used; false when it is not indexed.
    pub(super) fn touch(&self, id: &VariantId) -> bool {
        let mut index = lock(&self.index);
        index.clock += 1;
        let now = index.clock;
        match index.entries.get_mut(id) {
            Some(entry) => {
                entry.last_used = now;
                true
            }
            None => false,
        }
    }

    pub(super) fn contains(&self, id: &VariantId) -> bool {
        lock(&self.index).entries.contains_key(id)
    }

    /// Records a file just written; returns the variants evicted to keep the budget.
    pub(super) fn insert(&self, id: VariantId, size: u64) -> Vec<VariantId> {
        let mut index = lock(&self.index);
        index.clock += 1;
        let last_used = index.clock;
        if let Some(old) = index.entries.insert(id, Entry { size, last_used }) {
            index.bytes -= old.size;
        }
        index.bytes += size;
        self.evict(&mut index)
    }

    /// Evicts down to the budget (after a restart with a smaller budget).
    pub(super) fn enforce_budget(&self) -> Vec<VariantId> {
        self.evict(&mut lock(&self.index))
    }

    /// Drops a variant whose file has gone.
    pub(super) fn forget(&self, id: &VariantId) {
        let mut index = lock(&self.index);
        if let Some(entry) = index.entries.remove(id) {
            index.bytes -= entry.size;
        }
    }

    fn evict(&self, index: &mut Index) -> Vec<VariantId> {
        let mut victims = Vec::new();
        while index.bytes > self.budget {
            let Some(oldest) = index
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            if let Some(entry) = index.entries.remove(&oldest) {
                index.bytes -= entry.size;
                victims.push(oldest);
            }
        }
        victims
    }
}

/// `"800.webp"` → 800; anything else (originals, temp files, strays) → `None`.
pub(super) fn parse_variant_name(name: &str) -> Option<u32> {
    let digits = name.strip_suffix(".webp")?;
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(super) fn variant_path(dir: &Path, id: &VariantId) -> PathBuf {
    dir.join(&id.0).join(format!("{}.webp", id.1))
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_variant_goes_first() {
        let index = LruIndex {
            index: Mutex::default(),
            budget: 250,
        };
        let id = |n: u32| ("k".repeat(64), n);
        assert!(index.insert(id(1), 100).is_empty());
        assert!(index.insert(id(2), 100).is_empty());
        assert!(index.touch(&id(1)));
        assert_eq!(index.insert(id(3), 100), [id(2)]);
        assert_eq!(index.bytes(), 200);
        assert!(index.contains(&id(1)) && !index.contains(&id(2)));
    }

    #[test]
    fn only_width_dot_webp_names_are_variants() {
        assert_eq!(parse_variant_name("800.webp"), Some(800));
        for name in [
            "original.jpg",
            ".tmp-1-800.webp",
            "800.webp.tmp",
            ".webp",
            "x800.webp",
        ] {
            assert_eq!(parse_variant_name(name), None, "{name}");
        }
    }
}
