//! Short memories over time: a lock-free ring of per-second counts for the last minute, and the
//! recent pool-utilisation samples that tell whether the pool has stayed busy for a while.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Seconds remembered by a [`SecondRing`].
pub const RING_SECONDS: u32 = 60;

/// Counts per second for the last [`RING_SECONDS`] seconds. Each slot packs the second it
/// belongs to (high 32 bits, seconds since the registry started) with its count (low 32 bits),
/// so a slot is claimed for a new second and counted in one atomic word, without a lock.
pub struct SecondRing {
    slots: Box<[AtomicU64]>,
}

impl Default for SecondRing {
    fn default() -> Self {
        SecondRing {
            slots: (0..RING_SECONDS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl SecondRing {
    /// Counts one event in `second`.
    pub fn add(&self, second: u32) {
        let slot = &self.slots[(second % RING_SECONDS) as usize];
        let mut current = slot.load(Relaxed);
        loop {
            let owner = (current >> 32) as u32;
            if owner == second {
                slot.fetch_add(1, Relaxed);
                return;
            }
            if owner > second {
                // A minute has passed since this event's clock was read: too old to count.
                return;
            }
            let claimed = (u64::from(second) << 32) | 1;
            match slot.compare_exchange_weak(current, claimed, Relaxed, Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Events in the last [`RING_SECONDS`] seconds up to and including `now`.
    pub fn last_minute(&self, now: u32) -> u64 {
        self.slots
            .iter()
            .map(|slot| slot.load(Relaxed))
            .filter(|packed| {
                let second = (packed >> 32) as u32;
                second <= now && now - second < RING_SECONDS
            })
            .map(|packed| packed & u64::from(u32::MAX))
            .sum()
    }
}

/// How many seconds [`SecondRing::last_minute`] covers when `elapsed` have passed since the
/// start: whole seconds before the current one, plus the current one so far.
pub fn covered_seconds(elapsed: Duration) -> f64 {
    let whole = elapsed.as_secs();
    let dropped = whole.saturating_sub(u64::from(RING_SECONDS) - 1);
    (elapsed.as_secs_f64() - dropped as f64).max(1e-3)
}

/// Pool utilisation samples (0.0 to 1.0) from the last two minutes, oldest first.
#[derive(Default)]
pub struct UtilisationWindow {
    samples: VecDeque<(Instant, f64)>,
}

const KEPT_FOR: Duration = Duration::from_secs(120);

impl UtilisationWindow {
    pub fn push(&mut self, at: Instant, utilisation: f64) {
        while let Some(&(oldest, _)) = self.samples.front() {
            if at.saturating_duration_since(oldest) <= KEPT_FOR {
                break;
            }
            self.samples.pop_front();
        }
        self.samples.push_back((at, utilisation));
    }

    /// Whether every sample over at least the last `period` before `now` was above `threshold`.
    pub fn sustained_above(&self, threshold: f64, period: Duration, now: Instant) -> bool {
        let mut since = None;
        for &(at, utilisation) in self.samples.iter().rev() {
            if utilisation <= threshold {
                break;
            }
            since = Some(at);
        }
        since.is_some_and(|since| now.saturating_duration_since(since) >= period)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_counts_the_last_minute_and_forgets_older_seconds() {
        let ring = SecondRing::default();
        for second in 0..120 {
            for _ in 0..=second % 3 {
                ring.add(second);
            }
        }
        // Seconds 60..=119 hold 1, 2, 3 events in turn: 20 of each.
        assert_eq!(ring.last_minute(119), 20 * (1 + 2 + 3));
        assert_eq!(ring.last_minute(178), 3); // only second 119 is still in the window
        assert_eq!(ring.last_minute(500), 0);
        ring.add(10); // a minute too late
        assert_eq!(ring.last_minute(119), 120);
    }

    #[test]
    fn covered_seconds_grow_to_a_minute() {
        assert_eq!(covered_seconds(Duration::from_millis(10_500)), 10.5);
        assert_eq!(covered_seconds(Duration::from_millis(59_250)), 59.25);
        assert_eq!(covered_seconds(Duration::from_millis(600_250)), 59.25);
        assert_eq!(covered_seconds(Duration::ZERO), 1e-3);
    }

    #[test]
    fn utilisation_is_sustained_only_when_every_recent_sample_is_high() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut window = UtilisationWindow::default();
        for s in 0..=40 {
            window.push(at(s), if s == 5 { 0.5 } else { 0.9 });
        }
        let period = Duration::from_secs(30);
        assert!(window.sustained_above(0.8, period, at(40)));
        assert!(!window.sustained_above(0.95, period, at(40)));
        window.push(at(41), 0.8);
        assert!(!window.sustained_above(0.8, period, at(41)));
        for s in 42..=70 {
            window.push(at(s), 1.0);
        }
        assert!(!window.sustained_above(0.8, period, at(70))); // high for 28 s only
        window.push(at(72), 1.0);
        assert!(window.sustained_above(0.8, period, at(72)));
    }
}
