//! Lock-free latency histogram with log-scale buckets 2^(1/8) apart. Hand-written, not a crate,
//! because one registry must serve both JSON percentiles (fine buckets, < 5 % error) and
//! Prometheus text (every eighth bound, exact cumulative counts) from the same atomic counters.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Bounds per doubling. Neighbouring bounds differ by 2^(1/8) ≈ 9 %, so a bucket's geometric
/// middle is within 2^(1/16) - 1 ≈ 4.4 % of every value in it (Prometheus native schema 3).
const PER_OCTAVE: i32 = 8;
/// Smallest bound, 2^-20 s ≈ 0.95 µs, as an exponent in eighths; faster requests share bucket 0.
const MIN_EXP: i32 = -20 * PER_OCTAVE;
/// Largest finite bound, 2^7 s = 128 s; slower requests land in the overflow bucket.
const MAX_EXP: i32 = 7 * PER_OCTAVE;
/// One bucket per finite bound, plus the overflow bucket.
const BUCKETS: usize = (MAX_EXP - MIN_EXP + 2) as usize;
/// Prometheus gets the power-of-two bounds from 2^-14 s (61 µs) to 2^6 s (64 s), then +Inf.
const EXPOSED_OCTAVES: std::ops::RangeInclusive<i32> = -14..=6;

/// Upper bound (inclusive, in seconds) of bucket `index`; infinite for the overflow bucket.
fn upper_bound(index: usize) -> f64 {
    if index >= BUCKETS - 1 {
        return f64::INFINITY;
    }
    let exp = MIN_EXP + index as i32;
    2f64.powf(f64::from(exp) / f64::from(PER_OCTAVE))
}

/// The bucket whose range `(previous bound, bound]` holds `seconds`.
fn bucket_of(seconds: f64) -> usize {
    let exp = (seconds.log2() * f64::from(PER_OCTAVE)).ceil();
    if exp.is_nan() || exp <= f64::from(MIN_EXP) {
        0
    } else if exp > f64::from(MAX_EXP) {
        BUCKETS - 1
    } else {
        (exp as i32 - MIN_EXP) as usize
    }
}

/// Request latencies of one route and method. Recording is four relaxed atomic operations.
pub struct LatencyHistogram {
    buckets: Box<[AtomicU64]>,
    sum_nanos: AtomicU64,
    min_nanos: AtomicU64,
    max_nanos: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_nanos: AtomicU64::new(0),
            min_nanos: AtomicU64::new(u64::MAX),
            max_nanos: AtomicU64::new(0),
        }
    }

    pub fn record(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(elapsed.as_secs_f64())].fetch_add(1, Relaxed);
        self.sum_nanos.fetch_add(nanos, Relaxed);
        self.min_nanos.fetch_min(nanos, Relaxed);
        self.max_nanos.fetch_max(nanos, Relaxed);
    }

    /// A copy of the counters. Buckets are read one by one while others may record, so the
    /// snapshot's count is the sum of its own buckets: the cumulative counts always agree.
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            sum_seconds: Duration::from_nanos(self.sum_nanos.load(Relaxed)).as_secs_f64(),
            min_seconds: Duration::from_nanos(self.min_nanos.load(Relaxed)).as_secs_f64(),
            max_seconds: Duration::from_nanos(self.max_nanos.load(Relaxed)).as_secs_f64(),
        }
    }
}

/// Counters copied out of a [`LatencyHistogram`].
#[derive(Clone, Debug)]
pub struct HistogramSnapshot {
    counts: Vec<u64>,
    pub sum_seconds: f64,
    /// Fastest request seen (meaningless while the count is 0).
    pub min_seconds: f64,
    pub max_seconds: f64,
}

impl HistogramSnapshot {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The `q`-quantile (0 < q ≤ 1) in seconds, within 4.4 % for latencies between 1 µs and
    /// 128 s; `None` when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        let index = self.counts.iter().position(|&count| {
            seen += count;
            seen >= rank
        })?;
        let estimate = if index == 0 {
            upper_bound(0)
        } else if index == BUCKETS - 1 {
            self.max_seconds
        } else {
            let middle = f64::from(MIN_EXP + index as i32) - 0.5;
            2f64.powf(middle / f64::from(PER_OCTAVE))
        };
        // The fastest and slowest requests seen bound every quantile (one value is exact).
        Some(estimate.clamp(self.min_seconds.min(self.max_seconds), self.max_seconds))
    }

    /// Cumulative counts at the Prometheus bounds `(le seconds, count ≤ le)`, ending with
    /// `(+Inf, count)`.
    pub fn prometheus_buckets(&self) -> Vec<(f64, u64)> {
        let mut cumulative = Vec::with_capacity(EXPOSED_OCTAVES.count() + 1);
        let mut running = 0;
        let mut next = 0;
        for octave in EXPOSED_OCTAVES {
            let last = (octave * PER_OCTAVE - MIN_EXP) as usize;
            running += self.counts[next..=last].iter().sum::<u64>();
            next = last + 1;
            cumulative.push((upper_bound(last), running));
        }
        cumulative.push((f64::INFINITY, self.count()));
        cumulative
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram_of(values: impl IntoIterator<Item = Duration>) -> HistogramSnapshot {
        let histogram = LatencyHistogram::new();
        for value in values {
            histogram.record(value);
        }
        histogram.snapshot()
    }

    fn assert_close(estimate: Option<f64>, expected: f64) {
        let estimate = estimate.expect("a quantile of a non-empty histogram");
        let error = (estimate - expected).abs() / expected;
        assert!(
            error < 0.05,
            "{estimate} is {error:.3} away from {expected}"
        );
    }

    #[test]
    fn percentiles_of_a_uniform_spread_are_within_five_percent() {
        let snapshot = histogram_of((1..=1000).map(Duration::from_millis));
        assert_eq!(snapshot.count(), 1000);
        assert_close(snapshot.quantile(0.50), 0.500);
        assert_close(snapshot.quantile(0.95), 0.950);
        assert_close(snapshot.quantile(0.99), 0.990);
        assert_close(snapshot.quantile(1.0), 1.000);
    }

    #[test]
    fn every_magnitude_from_microseconds_to_a_minute_is_within_five_percent() {
        let mut nanos = 1_000.0_f64;
        while nanos < 60e9 {
            let value = Duration::from_nanos(nanos as u64);
            // Faster and slower neighbours keep the min/max clamp from hiding the bucket's error.
            let snapshot = histogram_of([value / 10, value, value, value * 10]);
            assert_close(snapshot.quantile(0.5), value.as_secs_f64());
            nanos *= 1.37;
        }
    }

    #[test]
    fn a_single_value_is_exact_and_an_empty_histogram_has_no_percentiles() {
        let snapshot = histogram_of([Duration::from_micros(3_700)]);
        assert_eq!(snapshot.quantile(0.99), Some(0.0037));
        assert_eq!(histogram_of([]).quantile(0.5), None);
    }

    #[test]
    fn overflow_reports_the_slowest_request() {
        let snapshot = histogram_of([Duration::from_millis(5), Duration::from_secs(500)]);
        assert_eq!(snapshot.quantile(0.99), Some(500.0));
        assert_eq!(
            snapshot.prometheus_buckets().last(),
            Some(&(f64::INFINITY, 2))
        );
    }

    #[test]
    fn prometheus_buckets_are_cumulative_powers_of_two() {
        let values = [1u64, 50, 100, 3_000, 70_000, 200_000].map(Duration::from_micros);
        let snapshot = histogram_of(values);
        let buckets = snapshot.prometheus_buckets();
        assert_eq!(buckets.len(), 22);
        assert_eq!(buckets[0], (2f64.powi(-14), 2)); // 1 µs and 50 µs are ≤ 61 µs
        assert!(buckets
            .windows(2)
            .all(|w| w[0].1 <= w[1].1 && w[0].0 < w[1].0));
        let at = |le: f64| buckets.iter().find(|(b, _)| *b == le).map(|(_, c)| *c);
        assert_eq!(at(2f64.powi(-13)), Some(3)); // 100 µs ≤ 122 µs
        assert_eq!(at(2f64.powi(-8)), Some(4)); // 3 ms ≤ 3.9 ms
        assert_eq!(at(2f64.powi(-2)), Some(6));
        assert!((snapshot.sum_seconds - 0.273151).abs() < 1e-9);
    }
}
