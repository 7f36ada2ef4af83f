//! The worker pool: blocking calls, file I/O, DNS and CPU-heavy work, off the
//! event loop.
//!
//! An event loop must never block; whatever would (a file read, a
//! `getaddrinfo`, a long computation, a library with a blocking API) is sent
//! to the pool with [`spawn_blocking`], [`spawn_cpu`] or [`submit`], and the
//! task that sent it awaits a [`JobHandle`]. [`weft::fs`](crate::fs) and
//! [`weft::dns`](crate::dns) are built on it.
//!
//! # Roles
//!
//! - [`WorkerPool`]: one per runtime (the runtime owns it; every loop of the
//!   runtime uses it through [`crate::rt::current_pool`]), or built on its
//!   own with [`WorkerPool::builder`].
//! - A **lane** ([`Lane`]: `fs`, `dns`, `cpu`, `blocking`) has its own FIFO
//!   queue, thread limit and threads, so a flood of one kind of work delays
//!   only that kind (libuv's single pool lets slow DNS lookups starve file
//!   reads). The hand-off protocol is in `pool/lane.rs`.
//! - A **job** is one closure and the slot its result goes to (states and
//!   cancellation in `pool/job.rs`); its [`JobHandle`] is a future of
//!   `Result<T, JobError>`.
//!
//! # Completion path
//!
//! A worker thread runs the closure (catching a panic, which becomes
//! [`JobError::is_panic`]; the thread lives on), stores the result in the
//! job's slot and wakes the waker left by the task awaiting the handle.
//! Under the weft runtime that waker posts the task to the inbox of its home
//! loop and wakes that loop, so the task resumes on the loop that submitted
//! the job. Nothing polls: no loop looks at the pool unless woken.
//!
//! # Threads
//!
//! No thread exists before a lane's first job. A submission hands the job to
//! an idle thread of its lane or, if none is idle and the lane is below its
//! limit, starts one; an idle thread exits after the idle timeout. A worker
//! counts itself idle just before it publishes a result, so a task that
//! submits job after job reuses one thread instead of starting new ones.
//!
//! # Settings
//!
//! From the builder ([`PoolBuilder`], or the runtime builder's `pool_*`
//! methods), else an environment variable, else the default (precedence as
//! tokio's `TOKIO_WORKER_THREADS`: code that sets a value knows best). A
//! malformed value is an `InvalidInput` error from `build()` naming the
//! variable, never a silent fallback.
//!
//! | setting | variable | default |
//! |---|---|---|
//! | `fs` threads | `WEFT_POOL_FS_THREADS` | [`DEFAULT_FS_THREADS`] |
//! | `dns` threads | `WEFT_POOL_DNS_THREADS` | [`DEFAULT_DNS_THREADS`] |
//! | `cpu` threads | `WEFT_POOL_CPU_THREADS` | cores ([`default_cpu_threads`]) |
//! | `blocking` threads | `WEFT_POOL_BLOCKING_THREADS` | [`DEFAULT_BLOCKING_THREADS`] |
//! | idle timeout | `WEFT_POOL_IDLE_TIMEOUT_MS` | [`DEFAULT_IDLE_TIMEOUT`] |
//! | shutdown timeout | `WEFT_POOL_SHUTDOWN_TIMEOUT_MS` | [`DEFAULT_SHUTDOWN_TIMEOUT`] |
//!
//! Each default's constant says why it is that number.
//!
//! # Metrics
//!
//! [`WorkerPool::metrics`] (and `Runtime::metrics`) give, per lane, queued
//! and running jobs, threads, counters of completed, panicked, cancelled,
//! abandoned and rejected jobs, and a histogram of queue wait (submission to
//! start) with [`p50`](HistogramSnapshot::p50) and
//! [`p99`](HistogramSnapshot::p99) (log-linear buckets, at most 25 % high).
//!
//! # Shutdown
//!
//! [`WorkerPool::shutdown`] (run by runtime shutdown with the configured
//! timeout, and by dropping a pool not yet shut down) is bounded:
//!
//! 1. **Stop taking jobs**: later submissions resolve to
//!    [`JobError::is_rejected`].
//! 2. **Abandon the queues**: queued jobs with a handle never start; the
//!    handle resolves to [`JobError::is_abandoned`]. Queued jobs whose handle
//!    was [detached](JobHandle::detach) are kept and run (nobody could be
//!    told they were dropped; an accepted `weft::fs::File` write is one).
//! 3. **Let running and kept jobs finish**, up to the timeout.
//! 4. **Give up at the deadline**: kept jobs still queued are abandoned;
//!    threads still inside a job are detached, not joined (a job that never
//!    ends would otherwise hang shutdown), and finish on their own.
//!
//! The [`ShutdownReport`] says what was abandoned and detached.

mod config;
mod job;
mod lane;
mod metrics;
mod shutdown;

use std::fmt;
use std::sync::Arc;

use crate::loom::{AtomicBool, Mutex, Ordering};
use std::time::Instant;

pub use config::{
    default_cpu_threads, PoolBuilder, PoolConfig, DEFAULT_BLOCKING_THREADS, DEFAULT_DNS_THREADS,
    DEFAULT_FS_THREADS, DEFAULT_IDLE_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, MAX_LANE_THREADS,
};
pub use job::{JobError, JobHandle};
pub use lane::Lane;
pub use metrics::{HistogramSnapshot, LaneMetrics, PoolMetrics};
pub use shutdown::{LaneShutdown, ShutdownReport};

use lane::LaneQueue;

/// Runs a blocking closure on the `blocking` lane of the current runtime's pool; await the
/// handle for its result. See [`JobHandle`] for cancellation.
///
/// # Panics
///
/// Outside a weft loop (as [`crate::spawn`]).
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> JobHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    crate::rt::current_pool().spawn_blocking(f)
}

/// Runs a CPU-heavy closure on the `cpu` lane of the current runtime's pool, so it cannot stall
/// an event loop.
///
/// # Panics
///
/// Outside a weft loop (as [`crate::spawn`]).
#[track_caller]
pub fn spawn_cpu<F, T>(f: F) -> JobHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    crate::rt::current_pool().spawn_cpu(f)
}

/// Runs `f` on `lane` of the current runtime's pool.
///
/// # Panics
///
/// Outside a weft loop (as [`crate::spawn`]).
#[track_caller]
pub fn submit<F, T>(lane: Lane, f: F) -> JobHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    crate::rt::current_pool().submit(lane, f)
}

/// A pool of worker threads in separate lanes; see the [module docs](self).
///
/// Inside a runtime, use the runtime's pool through the free functions:
///
/// ```
/// let rt = weft::rt::Runtime::builder().current_thread().build()?;
/// let answer = rt.block_on(async { weft::pool::spawn_blocking(|| 6 * 7).await })?;
/// assert_eq!(answer, 42);
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// A pool of its own (any executor can await its handles):
///
/// ```
/// use weft::pool::{Lane, WorkerPool};
/// let pool = WorkerPool::builder().threads(Lane::Cpu, 2).build()?;
/// let rt = weft::rt::Runtime::builder().current_thread().build()?;
/// let sum = rt.block_on(pool.spawn_cpu(|| (1..=100u64).sum::<u64>()))?;
/// assert_eq!(sum, 5050);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct WorkerPool {
    lanes: [Arc<LaneQueue>; 4],
    config: PoolConfig,
    shut_down: AtomicBool,
    /// The report of the first shutdown, for [`WorkerPool::shutdown_report`].
    first_report: Mutex<Option<ShutdownReport>>,
}

impl WorkerPool {
    /// A builder for the pool's settings.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    pub(crate) fn with_config(config: PoolConfig) -> Self {
        let lanes =
            Lane::ALL.map(|lane| LaneQueue::new(lane, config.threads(lane), config.idle_timeout));
        WorkerPool {
            lanes,
            config,
            shut_down: AtomicBool::new(false),
            first_report: Mutex::new(None),
        }
    }

    /// The settings the pool was built with.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Runs `f` on a thread of `lane`; await the handle for its result.
    ///
    /// After shutdown the handle resolves at once to
    /// [`JobError::is_rejected`] and `f` is dropped unrun.
    pub fn submit<F, T>(&self, lane: Lane, f: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.lanes[lane.index()].submit(f)
    }

    /// Runs a blocking closure on the `blocking` lane.
    pub fn spawn_blocking<F, T>(&self, f: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(Lane::Blocking, f)
    }

    /// Runs a CPU-heavy closure on the `cpu` lane (one thread per core by
    /// default), so it cannot stall an event loop.
    pub fn spawn_cpu<F, T>(&self, f: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit(Lane::Cpu, f)
    }

    /// A snapshot of every lane's metrics.
    pub fn metrics(&self) -> PoolMetrics {
        PoolMetrics {
            lanes: self.lanes.iter().map(|lane| lane.metrics()).collect(),
        }
    }

    /// Shuts the pool down, waiting at most `timeout` for running jobs; see
    /// the [module docs](self#shutdown) for the steps. Never hangs: jobs
    /// still running at the deadline are detached and reported.
    ///
    /// Calling it again waits (up to `timeout`) for threads detached earlier
    /// and reports them again.
    pub fn shutdown(&self, timeout: std::time::Duration) -> ShutdownReport {
        self.shut_down.store(true, Ordering::Release);
        let started = Instant::now();
        let deadline = started + timeout;
        let closed: Vec<_> = self.lanes.iter().map(|l| l.close()).collect();
        let lanes = Lane::ALL
            .iter()
            .zip(&self.lanes)
            .zip(closed)
            .map(|((&lane, queue), closed)| {
                let remaining = queue.wait_idle(deadline);
                let late = queue.abandon_queued();
                LaneShutdown {
                    lane,
                    abandoned_queued: closed.abandoned + late,
                    drained: closed.kept.saturating_sub(late),
                    detached_running: if remaining > 0 {
                        queue.running().min(remaining)
                    } else {
                        0
                    },
                }
            })
            .collect();
        let report = ShutdownReport {
            lanes,
            elapsed: started.elapsed(),
        };
        if report.is_clean() {
            tracing::debug!(%report, "weft pool shut down");
        } else {
            tracing::warn!(%report, "weft pool shut down and abandoned work");
        }
        self.first_report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(|| report.clone());
        report
    }

    /// The report of the first [`WorkerPool::shutdown`], once it has returned.
    pub fn shutdown_report(&self) -> Option<ShutdownReport> {
        self.first_report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// True once [`WorkerPool::shutdown`] has started.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        if !self.is_shut_down() {
            self.shutdown(self.config.shutdown_timeout);
        }
    }
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("config", &self.config)
            .field("shut_down", &self.is_shut_down())
            .finish()
    }
}
