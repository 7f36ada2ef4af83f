//! Per-loop metrics: cheap counters a loop keeps about itself, read from any thread.
//!
//! # Cost
//!
//! A loop writes its [`LoopStats`] only from its own thread and only at maintenance (every
//! [`MAINTENANCE_INTERVAL`](super::event_loop::MAINTENANCE_INTERVAL) polls, or when the ready
//! queue runs dry), never per poll: a relaxed load and store of a few atomics on the loop's own
//! cache lines, no read-modify-write, no lock. A sleep reads the clock twice (around the
//! blocking `epoll_wait`); a syscall is on that path anyway.
//!
//! # What is measured
//!
//! - **tasks**: tasks alive on the loop (queued or idle), as of its last maintenance;
//! - **ready depth**: tasks in its ready queue at its last maintenance;
//! - **polls**: task polls since the loop started;
//! - **idle time**: time spent blocked in `epoll_wait` with nothing to do (a sleep in
//!   progress counts up to the moment of the snapshot); **busy time** is the rest of the
//!   loop's life: polling tasks, firing timers, dispatching I/O. Busy time over polls is the
//!   mean poll time (maintenance included).
//!
//! Readers get a [`LoopMetrics`] snapshot through
//! [`Handle::metrics`](super::Handle::metrics); each field is exact for itself, the set is not
//! one instant's picture.
//!
//! These are plain `std` atomics, not `crate::loom` ones: they order nothing (no reader acts
//! on them but to show them), so a loom model has nothing to check in them.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The counters of one loop, in its shared half (written by the loop, read by anyone).
#[derive(Debug)]
pub(crate) struct LoopStats {
    /// When the loop was created; the base of the nanosecond stamps below.
    origin: Instant,
    tasks: AtomicUsize,
    ready: AtomicUsize,
    polls: AtomicU64,
    idle_ns: AtomicU64,
    /// When the current sleep began (ns since `origin`, plus one), 0 while awake.
    asleep_since: AtomicU64,
}

impl LoopStats {
    pub(crate) fn new() -> LoopStats {
        LoopStats {
            origin: Instant::now(),
            tasks: AtomicUsize::new(0),
            ready: AtomicUsize::new(0),
            polls: AtomicU64::new(0),
            idle_ns: AtomicU64::new(0),
            asleep_since: AtomicU64::new(0),
        }
    }

    fn ns_since_origin(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// At maintenance, by the loop thread only: the queue and task counts, and the polls made
    /// since the previous maintenance.
    pub(crate) fn on_maintain(&self, tasks: usize, ready: usize, polls: u32) {
        self.tasks.store(tasks, Relaxed);
        self.ready.store(ready, Relaxed);
        if polls > 0 {
            // Only this thread writes: a load and a store, no locked instruction.
            self.polls
                .store(self.polls.load(Relaxed) + u64::from(polls), Relaxed);
        }
    }

    /// Before a blocking `epoll_wait`, by the loop thread; returns the stamp for
    /// [`wake`](Self::wake).
    pub(crate) fn sleep(&self) -> Instant {
        let now = Instant::now();
        self.asleep_since
            .store(self.ns_since_origin(now) + 1, Relaxed);
        now
    }

    /// After a blocking `epoll_wait` that began at `since`, by the loop thread.
    pub(crate) fn wake(&self, since: Instant) {
        let slept = self.ns_since_origin(Instant::now()) - self.ns_since_origin(since);
        self.asleep_since.store(0, Relaxed);
        self.idle_ns
            .store(self.idle_ns.load(Relaxed) + slept, Relaxed);
    }

    /// A copy of the counters, from any thread.
    pub(crate) fn snapshot(&self, index: Option<usize>) -> LoopMetrics {
        let now = self.ns_since_origin(Instant::now());
        let mut idle = self.idle_ns.load(Relaxed);
        let since = self.asleep_since.load(Relaxed);
        if since != 0 {
            idle += now.saturating_sub(since - 1);
        }
        let idle = idle.min(now);
        LoopMetrics {
            index,
            tasks: self.tasks.load(Relaxed),
            ready_depth: self.ready.load(Relaxed),
            polls: self.polls.load(Relaxed),
            uptime: Duration::from_nanos(now),
            busy: Duration::from_nanos(now - idle),
        }
    }
}

/// A snapshot of one event loop's counters; see [`Handle::metrics`](super::Handle::metrics).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopMetrics {
    /// Index among the runtime's loop threads (`None`: the caller loop of `block_on`).
    pub index: Option<usize>,
    /// Tasks alive on the loop (queued or idle), as of its last maintenance.
    pub tasks: usize,
    /// Tasks in its ready queue, as of its last maintenance.
    pub ready_depth: usize,
    /// Task polls since the loop started.
    pub polls: u64,
    /// Time since the loop was created.
    pub uptime: Duration,
    /// Of `uptime`, the time the loop was not blocked waiting for I/O or timers (polling
    /// tasks, firing timers, dispatching readiness).
    pub busy: Duration,
}

impl LoopMetrics {
    /// `busy / uptime` since the loop started, in `0.0..=1.0`. For a recent ratio, difference
    /// two snapshots with [`busy_ratio_since`](Self::busy_ratio_since).
    pub fn busy_ratio(&self) -> f64 {
        ratio(self.busy, self.uptime)
    }

    /// The busy ratio between an `earlier` snapshot of the same loop and this one (the whole
    /// life's ratio if `earlier` is not older).
    pub fn busy_ratio_since(&self, earlier: &LoopMetrics) -> f64 {
        if self.uptime <= earlier.uptime {
            return self.busy_ratio();
        }
        ratio(
            self.busy.saturating_sub(earlier.busy),
            self.uptime - earlier.uptime,
        )
    }

    /// Mean time per poll (busy time over polls; zero before the first poll).
    pub fn mean_poll_time(&self) -> Duration {
        match u32::try_from(self.polls) {
            Ok(0) => Duration::ZERO,
            Ok(n) => self.busy / n,
            Err(_) => Duration::from_secs_f64(self.busy.as_secs_f64() / self.polls as f64),
        }
    }
}

fn ratio(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        return 0.0;
    }
    (part.as_secs_f64() / whole.as_secs_f64()).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_counts_as_idle_even_while_it_lasts() {
        let stats = LoopStats::new();
        stats.on_maintain(3, 1, 10);
        stats.on_maintain(3, 0, 5);
        let since = stats.sleep();
        std::thread::sleep(Duration::from_millis(20));
        let during = stats.snapshot(Some(0));
        assert!(during.uptime - during.busy >= Duration::from_millis(20));
        stats.wake(since);
        let after = stats.snapshot(Some(0));
        assert_eq!((after.tasks, after.ready_depth, after.polls), (3, 0, 15));
        assert!(after.busy <= after.uptime);
        assert!(after.busy_ratio() < 1.0);
        assert!(after.busy_ratio_since(&during) <= 1.0);
    }
}
