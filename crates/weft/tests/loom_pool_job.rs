//! Model checks of the pool's job cell: `src/pool/job.rs`, compiled here against loom's lock
//! and atomics (its lane and metrics neighbours are stubs that count), over every interleaving
//! loom finds of
//! - a worker running the job while the handle awaits it (the result arrives: no lost wake-up);
//! - a worker claiming the job while the handle is dropped (exactly one of "ran" and
//!   "cancelled", the closure dropped exactly once, the queued count decremented once);
//! - shutdown abandoning the job while the handle is dropped or awaited (exactly one of them
//!   takes it; an awaiting handle learns it was abandoned).

/// The door `job.rs` reaches its lock and atomics through (`crate::loom`), opened onto loom's.
mod loom {
    pub(crate) use ::loom::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
}

/// `job.rs`'s lane: only its name is read.
mod lane {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Lane;

    impl Lane {
        pub fn name(self) -> &'static str {
            "model"
        }
    }
}

/// `job.rs`'s metrics: counts of what happened to the job, to check each happens once.
mod metrics {
    use ::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    #[derive(Default)]
    pub struct LaneStats {
        pub started: AtomicUsize,
        pub finished: AtomicUsize,
        pub cancelled: AtomicUsize,
        pub abandoned: AtomicUsize,
    }

    impl LaneStats {
        pub fn on_start(&self, _waited: Duration) {
            self.started.fetch_add(1, SeqCst);
        }
        pub fn on_finish(&self, _panicked: bool) {
            self.finished.fetch_add(1, SeqCst);
        }
        pub fn on_cancel(&self) {
            self.cancelled.fetch_add(1, SeqCst);
        }
        pub fn on_abandon(&self) {
            self.abandoned.fetch_add(1, SeqCst);
        }

        /// How many of claim, cancel and abandon took the closure (must be exactly one).
        pub fn takers(&self) -> usize {
            self.started.load(SeqCst) + self.cancelled.load(SeqCst) + self.abandoned.load(SeqCst)
        }
    }
}

/// `JobHandle::poll`'s diagnostics hook: nothing to record here.
mod diag {
    pub mod hooks {
        pub enum WaitReason {
            PoolJob(#[allow(dead_code)] &'static str),
        }
        pub fn park(_reason: impl FnOnce() -> WaitReason) {}
    }
}

#[allow(dead_code)]
#[path = "../src/pool/job.rs"]
mod job;

mod loom_support;

use ::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use ::loom::thread;
use job::{JobCell, JobHandle, QueuedJob};
use lane::Lane;
use loom_support::{block_on, model};
use metrics::LaneStats;
use std::sync::Arc;

/// Counts its drops: the closure's captured state must be dropped exactly once.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

type Job = Box<dyn FnOnce() -> u32 + Send + 'static>;

/// A queued job returning 7, its handle, the queue's view of it, its stats and drop count.
fn job() -> (
    JobHandle<u32>,
    Arc<dyn QueuedJob>,
    Arc<LaneStats>,
    Arc<AtomicUsize>,
) {
    let stats = Arc::new(LaneStats::default());
    let drops = Arc::new(AtomicUsize::new(0));
    let token = DropCount(drops.clone());
    let f: Job = Box::new(move || {
        let _token = token;
        7
    });
    let cell = JobCell::queued(f, Lane, stats.clone());
    let queued: Arc<dyn QueuedJob> = cell.clone();
    (JobHandle::new(cell), queued, stats, drops)
}

#[test]
fn a_job_finishing_as_its_handle_waits_wakes_the_handle() {
    model(|| {
        let (handle, queued, stats, drops) = job();
        let worker = thread::spawn(move || queued.run(&mut || {}));
        assert_eq!(block_on(handle).unwrap(), 7);
        worker.join().unwrap();
        assert_eq!(stats.started.load(SeqCst), 1);
        assert_eq!(stats.finished.load(SeqCst), 1);
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn a_claim_racing_a_dropped_handle_takes_the_job_once() {
    model(|| {
        let (handle, queued, stats, drops) = job();
        let worker = thread::spawn(move || queued.run(&mut || {}));
        drop(handle);
        worker.join().unwrap();
        assert_eq!(
            stats.takers(),
            1,
            "exactly one of run and cancel took the job"
        );
        assert_eq!(
            stats.finished.load(SeqCst),
            stats.started.load(SeqCst),
            "a started job finishes"
        );
        assert_eq!(drops.load(SeqCst), 1, "the closure is dropped once");
    });
}

#[test]
fn an_abandon_racing_a_dropped_handle_takes_the_job_once() {
    model(|| {
        let (handle, queued, stats, drops) = job();
        let shutdown = thread::spawn(move || queued.abandon());
        drop(handle);
        let abandoned = shutdown.join().unwrap();
        assert_eq!(
            stats.takers(),
            1,
            "exactly one of abandon and cancel took the job"
        );
        assert_eq!(abandoned, stats.abandoned.load(SeqCst) == 1);
        assert_eq!(stats.started.load(SeqCst), 0, "an abandoned job never runs");
        assert_eq!(drops.load(SeqCst), 1, "the closure is dropped once");
    });
}

#[test]
fn an_abandon_as_the_handle_waits_tells_the_handle() {
    model(|| {
        let (handle, queued, stats, drops) = job();
        let shutdown = thread::spawn(move || queued.abandon());
        let err = block_on(handle).unwrap_err();
        assert!(err.is_abandoned(), "{err}");
        assert!(shutdown.join().unwrap());
        assert_eq!(stats.takers(), 1);
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn run_and_abandon_racing_take_the_job_once_and_the_handle_hears_which() {
    model(|| {
        let (handle, queued, stats, drops) = job();
        let other = queued.clone();
        let worker = thread::spawn(move || queued.run(&mut || {}));
        let shutdown = thread::spawn(move || other.abandon());
        let got = block_on(handle);
        worker.join().unwrap();
        let abandoned = shutdown.join().unwrap();
        assert_eq!(stats.takers(), 1);
        match got {
            Ok(v) => assert!(v == 7 && !abandoned),
            Err(e) => assert!(e.is_abandoned() && abandoned),
        }
        assert_eq!(drops.load(SeqCst), 1);
    });
}
