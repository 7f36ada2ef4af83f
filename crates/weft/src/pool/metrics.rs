//! Pool metrics: per-lane gauges, counters and a queue-wait histogram.
//!
//! # Roles
//!
//! - [`LaneStats`] (internal) is written by submitters, worker threads and
//!   handles with relaxed atomics; nothing waits on it, so it never adds a
//!   lock to a job's path.
//! - [`LaneMetrics`] / [`PoolMetrics`] are plain snapshots for code that
//!   exposes them (`WorkerPool::metrics`, `Runtime::metrics`).
//!
//! # Invariants
//!
//! Each job moves `queued` up once at submission and down exactly once, when
//! it is claimed by a worker (then `running` goes up until it finishes),
//! cancelled by its handle, or abandoned at shutdown; the job cell's state
//! machine guarantees the "exactly once". A snapshot reads each atomic
//! separately, so its fields are individually exact but not one instant's
//! picture (a job can be seen in neither or both gauges for an instant).
//!
//! # Histogram
//!
//! Queue wait (submission to start) goes into a log-linear histogram of
//! nanoseconds: each power of two is split into [`SUB_BUCKETS`] equal
//! buckets, so a reported percentile is the upper edge of a bucket at most
//! `1 / SUB_BUCKETS` (25 %) above the true value. Recording is one relaxed
//! `fetch_add`; there is no reset (rates come from differencing snapshots).

use crate::loom::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::fmt;
use std::time::Duration;

use super::lane::Lane;

/// log2 of the buckets per power of two: 2 bits give 4 buckets per octave,
/// at most 25 % over-estimate, which is plenty to tell 50 µs from 5 ms.
const SUB_BUCKET_BITS: u32 = 2;
/// Buckets per power of two.
const SUB_BUCKETS: usize = 1 << SUB_BUCKET_BITS;
/// Enough buckets for every `u64` nanosecond value (the top octave starts at
/// 2^63 ns, about 292 years, so nothing is ever clamped in practice).
const BUCKETS: usize = (64 - SUB_BUCKET_BITS as usize + 1) * SUB_BUCKETS;

/// The bucket that holds `ns`.
fn bucket_of(ns: u64) -> usize {
    if ns < SUB_BUCKETS as u64 {
        return ns as usize;
    }
    let msb = 63 - ns.leading_zeros();
    let shift = msb - SUB_BUCKET_BITS;
    let sub = ((ns >> shift) as usize) & (SUB_BUCKETS - 1);
    (shift as usize + 1) * SUB_BUCKETS + sub
}

/// The largest value that falls in bucket `index` (inclusive upper edge).
fn bucket_upper(index: usize) -> u64 {
    if index < SUB_BUCKETS {
        return index as u64;
    }
    let shift = (index / SUB_BUCKETS - 1) as u32;
    let sub = (index % SUB_BUCKETS) as u64;
    let lower = (SUB_BUCKETS as u64 + sub) << shift;
    lower.saturating_add((1u64 << shift) - 1)
}

/// A concurrent log-linear histogram of durations.
pub(crate) struct Histogram {
    buckets: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
}

impl Histogram {
    pub(crate) fn new() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
        }
    }

    pub(crate) fn record(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[bucket_of(ns)].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(ns, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            counts: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
            sum_ns: self.sum_ns.load(Relaxed),
        }
    }
}

/// A copy of a duration histogram; see the module docs for its precision.
#[derive(Clone)]
pub struct HistogramSnapshot {
    counts: Box<[u64]>,
    sum_ns: u64,
}

impl HistogramSnapshot {
    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Sum of the recorded values.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_ns)
    }

    /// How many recorded values fall in buckets whose upper edge is at most `bound`: a
    /// cumulative count for a Prometheus `le` bucket. It never counts a value above `bound`;
    /// it may leave out values up to 25 % below it (those sharing a bucket with larger ones).
    pub fn count_at_most(&self, bound: Duration) -> u64 {
        let ns = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        self.counts
            .iter()
            .enumerate()
            .take_while(|&(index, _)| bucket_upper(index) <= ns)
            .map(|(_, &n)| n)
            .sum()
    }

    /// Mean of the recorded values (zero if none).
    pub fn mean(&self) -> Duration {
        match self.count() {
            0 => Duration::ZERO,
            n => Duration::from_nanos(self.sum_ns / n),
        }
    }

    /// An upper bound of the `q`-quantile (`q` in `0.0..=1.0`, e.g. `0.99`):
    /// the upper edge of the bucket holding it, at most 25 % above the true
    /// value. Zero if nothing was recorded.
    pub fn quantile(&self, q: f64) -> Duration {
        let total = self.count();
        if total == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        // The rank (1-based) of the value we want; at least the first value.
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Duration::from_nanos(bucket_upper(index));
            }
        }
        Duration::from_nanos(bucket_upper(self.counts.len() - 1))
    }

    /// Median; see [`HistogramSnapshot::quantile`].
    pub fn p50(&self) -> Duration {
        self.quantile(0.50)
    }

    /// 99th percentile; see [`HistogramSnapshot::quantile`].
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// The largest recorded value's bucket upper edge (zero if none).
    pub fn max(&self) -> Duration {
        self.quantile(1.0)
    }
}

impl fmt::Debug for HistogramSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistogramSnapshot")
            .field("count", &self.count())
            .field("mean", &self.mean())
            .field("p50", &self.p50())
            .field("p99", &self.p99())
            .field("max", &self.max())
            .finish()
    }
}

/// Live counters of one lane, shared by its queue, workers and job cells.
pub(crate) struct LaneStats {
    pub(crate) queued: AtomicUsize,
    pub(crate) running: AtomicUsize,
    /// Mirror of the lane's thread count, written under the lane lock.
    pub(crate) threads: AtomicUsize,
    completed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    abandoned: AtomicU64,
    rejected: AtomicU64,
    queue_wait: Histogram,
}

impl LaneStats {
    pub(crate) fn new() -> Self {
        LaneStats {
            queued: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            threads: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            queue_wait: Histogram::new(),
        }
    }

    pub(crate) fn on_submit(&self) {
        self.queued.fetch_add(1, Relaxed);
    }

    pub(crate) fn on_start(&self, waited: Duration) {
        self.queued.fetch_sub(1, Relaxed);
        self.running.fetch_add(1, Relaxed);
        self.queue_wait.record(waited);
    }

    pub(crate) fn on_finish(&self, panicked: bool) {
        self.running.fetch_sub(1, Relaxed);
        let counter = if panicked {
            &self.panicked
        } else {
            &self.completed
        };
        counter.fetch_add(1, Relaxed);
    }

    pub(crate) fn on_cancel(&self) {
        self.queued.fetch_sub(1, Relaxed);
        self.cancelled.fetch_add(1, Relaxed);
    }

    pub(crate) fn on_abandon(&self) {
        self.queued.fetch_sub(1, Relaxed);
        self.abandoned.fetch_add(1, Relaxed);
    }

    pub(crate) fn on_reject(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self, lane: Lane, max_threads: usize) -> LaneMetrics {
        LaneMetrics {
            lane,
            max_threads,
            queued: self.queued.load(Relaxed),
            running: self.running.load(Relaxed),
            threads: self.threads.load(Relaxed),
            completed: self.completed.load(Relaxed),
            panicked: self.panicked.load(Relaxed),
            cancelled: self.cancelled.load(Relaxed),
            abandoned: self.abandoned.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            queue_wait: self.queue_wait.snapshot(),
        }
    }
}

/// A snapshot of one lane's metrics.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LaneMetrics {
    /// Which lane.
    pub lane: Lane,
    /// The lane's thread limit.
    pub max_threads: usize,
    /// Jobs waiting for a thread (cancelled ones are not counted).
    pub queued: usize,
    /// Jobs running now.
    pub running: usize,
    /// Worker threads alive now (busy or idle).
    pub threads: usize,
    /// Jobs that returned normally, since the pool started.
    pub completed: u64,
    /// Jobs that panicked.
    pub panicked: u64,
    /// Jobs cancelled by dropping their handle before they started.
    pub cancelled: u64,
    /// Jobs still queued when the pool shut down.
    pub abandoned: u64,
    /// Jobs refused because the pool was shut down.
    pub rejected: u64,
    /// Time from submission to start, of every job that started.
    pub queue_wait: HistogramSnapshot,
}

/// A snapshot of every lane's metrics.
#[derive(Clone, Debug)]
pub struct PoolMetrics {
    /// One entry per lane, in [`Lane::ALL`] order.
    pub lanes: Vec<LaneMetrics>,
}

impl PoolMetrics {
    /// The metrics of `lane`.
    pub fn lane(&self, lane: Lane) -> &LaneMetrics {
        &self.lanes[lane.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut prev_upper = None;
        for index in 0..BUCKETS {
            let upper = bucket_upper(index);
            if let Some(p) = prev_upper {
                assert!(upper > p, "bucket {index}: {upper} <= {p}");
                assert_eq!(bucket_of(p + 1), index, "first value of bucket {index}");
            }
            assert_eq!(bucket_of(upper), index, "last value of bucket {index}");
            prev_upper = Some(upper);
        }
        assert_eq!(prev_upper, Some(u64::MAX));
    }

    #[test]
    fn quantile_bounds_the_true_value_within_a_quarter() {
        let h = Histogram::new();
        for us in 1..=100u64 {
            h.record(Duration::from_micros(us));
        }
        let s = h.snapshot();
        assert_eq!(s.count(), 100);
        for (q, truth) in [(0.5, 50_000u64), (0.99, 99_000), (1.0, 100_000)] {
            let got = s.quantile(q).as_nanos() as u64;
            assert!(
                got >= truth && got <= truth + truth / 4,
                "q={q}: {got} vs {truth}"
            );
        }
        assert_eq!(Histogram::new().snapshot().p99(), Duration::ZERO);
        assert_eq!(s.count_at_most(Duration::from_secs(1)), 100);
        assert_eq!(s.count_at_most(Duration::ZERO), 0);
        let half = s.count_at_most(Duration::from_micros(50));
        assert!((37..=50).contains(&half), "{half}");
        assert_eq!(s.sum(), Duration::from_micros(5050));
    }
}
