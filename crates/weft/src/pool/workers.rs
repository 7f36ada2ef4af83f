//! The [`WorkerPool`]: one queue and set of threads per [`Lane`], submission, metrics and
//! bounded shutdown (see the [pool's docs](super)).

use std::fmt;
use std::io;
// `Arc` from std: the lanes' queues are plain shared values, their locks and atomics go
// through the shim inside `LaneQueue`.
use std::sync::Arc;
use std::time::Instant;

use super::config::{PoolBuilder, PoolConfig};
use super::job::JobHandle;
use super::lane::Lane;
use super::metrics::PoolMetrics;
use super::queue::LaneQueue;
use super::shutdown::{LaneShutdown, ShutdownReport};
use crate::loom::{AtomicBool, Mutex, Ordering};

/// A pool of worker threads in separate lanes; see the [pool docs](crate::pool).
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

impl PoolBuilder {
    /// Builds the pool. No thread starts until the first job.
    ///
    /// # Errors
    ///
    /// As [`PoolBuilder::config`].
    pub fn build(&self) -> io::Result<WorkerPool> {
        Ok(WorkerPool::with_config(self.config()?))
    }
}

impl WorkerPool {
    /// A builder for the pool's settings.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    pub(crate) fn with_config(config: PoolConfig) -> Self {
        let lanes = Lane::ALL.map(|lane| {
            let nice = if lane == Lane::Cpu {
                config.cpu_nice
            } else {
                0
            };
            LaneQueue::new(lane, config.threads(lane), config.idle_timeout, nice)
        });
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
    /// [`JobError::is_rejected`](crate::pool::JobError::is_rejected) and `f` is dropped unrun.
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
    /// the [pool docs](crate::pool#shutdown) for the steps. Never hangs: jobs
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
