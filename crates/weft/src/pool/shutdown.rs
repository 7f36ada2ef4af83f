//! Bounded pool shutdown and its report.
//!
//! # Steps ([`WorkerPool::shutdown`](crate::pool::WorkerPool::shutdown))
//!
//! 1. **Stop taking jobs.** Every lane is closed at once: later submissions
//!    resolve to [`JobError::is_rejected`](crate::pool::JobError::is_rejected).
//! 2. **Abandon the queues.** Queued jobs with a handle never start; their
//!    handles resolve to [`JobError::is_abandoned`](crate::pool::JobError::is_abandoned)
//!    and their closures are dropped. Queued jobs whose handle was
//!    [detached](crate::pool::JobHandle::detach) are kept: nobody could be told they
//!    were dropped (an accepted `weft::fs::File` write is one), so they run.
//! 3. **Let running and kept jobs finish**: idle threads wake, drain the
//!    kept jobs and exit; shutdown waits for each lane's threads to exit,
//!    until one shared deadline (`now + timeout`).
//! 4. **Give up at the deadline.** Kept jobs still queued are abandoned. A
//!    thread still inside a job is not joined (a job that never ends would
//!    hang shutdown forever); it is detached: it finishes on its own, its
//!    result is dropped, and it exits. The report counts both.
//!
//! Shutdown therefore returns within `timeout` plus the time to drop the
//! abandoned closures, whatever the jobs do.

use std::fmt;
use std::time::Duration;

use super::lane::Lane;

/// What shutdown did to one lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LaneShutdown {
    /// Which lane.
    pub lane: Lane,
    /// Queued jobs that never started (their handles got an error).
    pub abandoned_queued: usize,
    /// Detached jobs that were queued at shutdown and started before the
    /// deadline.
    pub drained: usize,
    /// Threads still running a job when the timeout passed; they were
    /// detached, not joined.
    pub detached_running: usize,
}

/// What [`WorkerPool::shutdown`](crate::pool::WorkerPool::shutdown) abandoned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// One entry per lane, in [`Lane::ALL`] order.
    pub lanes: Vec<LaneShutdown>,
    /// How long shutdown took.
    pub elapsed: Duration,
}

impl ShutdownReport {
    /// True if nothing was abandoned: no queued job dropped, no running job
    /// left behind.
    pub fn is_clean(&self) -> bool {
        self.abandoned_queued() == 0 && self.detached_running() == 0
    }

    /// Queued jobs abandoned, over all lanes.
    pub fn abandoned_queued(&self) -> usize {
        self.lanes.iter().map(|l| l.abandoned_queued).sum()
    }

    /// Running jobs whose threads were detached, over all lanes.
    pub fn detached_running(&self) -> usize {
        self.lanes.iter().map(|l| l.detached_running).sum()
    }

    /// The entry of `lane`.
    pub fn lane(&self, lane: Lane) -> &LaneShutdown {
        &self.lanes[lane.index()]
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pool shut down in {:?}", self.elapsed)?;
        if self.is_clean() {
            return f.write_str(", nothing abandoned");
        }
        for l in &self.lanes {
            if l.abandoned_queued > 0 || l.detached_running > 0 {
                write!(
                    f,
                    "; {}: {} queued job(s) abandoned, {} running job(s) detached",
                    l.lane, l.abandoned_queued, l.detached_running
                )?;
            }
        }
        Ok(())
    }
}
