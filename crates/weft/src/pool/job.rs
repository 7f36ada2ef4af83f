//! One job: the cell that the submitter's [`JobHandle`] and the lane's queue share.
//!
//! # Roles
//!
//! - The **submitter** owns a [`JobHandle`]; polling it reads the result or
//!   leaves a waker; dropping it cancels the job if it has not started.
//! - The **lane queue** holds the same cell as a type-erased [`QueuedJob`];
//!   a worker thread calls [`QueuedJob::run`], shutdown calls
//!   [`QueuedJob::abandon`].
//!
//! One allocation per job: the `Arc<JobCell<F, T>>` is both the queue entry
//! (`Arc<dyn QueuedJob>`) and the handle's slot (`Arc<dyn ResultSlot<T>>`).
//!
//! # States
//!
//! ```text
//! Queued(f) --worker claims--> Running --f returns or panics--> Done(result) --handle takes it--> Consumed
//! Queued(f) --handle dropped--> Cancelled        (f is dropped by the handle's thread)
//! Queued(f) --pool shuts down--> Done(Err(Abandoned))   (unless detached: then it runs if time allows)
//! ```
//!
//! # Invariants
//!
//! - Exactly one of *claim*, *cancel* and *abandon* takes `f` out of
//!   `Queued`; all three do it under the cell's mutex, so the lane's `queued`
//!   gauge is decremented exactly once per job.
//! - No user code runs under the cell's mutex: `f` runs, and `f`, `T` and
//!   wakers are dropped or woken, only after the guard is released.
//! - The waker stored last is the one woken; a completion that finds no waker
//!   leaves the result for the next poll, so no wake is lost.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
// `Arc` from std: the cell is shared as `Arc<dyn ..>`, an unsized coercion
// that loom's `Arc` cannot make. The cell's lock goes through the shim.
use std::sync::{Arc, PoisonError};

use crate::loom::{AtomicBool, Mutex, MutexGuard, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use super::lane::Lane;
use super::metrics::LaneStats;

/// Why a pool job produced no value.
///
/// A job's own failure is part of its output type `T`; a `JobError` means the
/// pool could not run it to completion.
pub struct JobError {
    kind: JobErrorKind,
    lane: Lane,
    /// The panic payload; behind a mutex only so that `JobError` is `Sync`
    /// (a payload is `Send` but not `Sync`), as `io::Error` wrapping needs.
    panic: Option<Mutex<Box<dyn Any + Send + 'static>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobErrorKind {
    /// The job panicked; its worker thread caught the panic and lives on.
    Panicked,
    /// The pool shut down before the job started; it never ran.
    Abandoned,
    /// The pool was shutting down (or could not start a worker thread) when
    /// the job was submitted; it never ran.
    Rejected,
}

impl JobError {
    pub(crate) fn abandoned(lane: Lane) -> Self {
        JobError {
            kind: JobErrorKind::Abandoned,
            lane,
            panic: None,
        }
    }

    pub(crate) fn rejected(lane: Lane) -> Self {
        JobError {
            kind: JobErrorKind::Rejected,
            lane,
            panic: None,
        }
    }

    fn panicked(lane: Lane, payload: Box<dyn Any + Send + 'static>) -> Self {
        JobError {
            kind: JobErrorKind::Panicked,
            lane,
            panic: Some(Mutex::new(payload)),
        }
    }

    /// True if the job panicked.
    pub fn is_panic(&self) -> bool {
        self.kind == JobErrorKind::Panicked
    }

    /// True if the pool shut down before the job started.
    pub fn is_abandoned(&self) -> bool {
        self.kind == JobErrorKind::Abandoned
    }

    /// True if the pool refused the job at submission (it was shutting down).
    pub fn is_rejected(&self) -> bool {
        self.kind == JobErrorKind::Rejected
    }

    /// The lane the job was submitted to.
    pub fn lane(&self) -> Lane {
        self.lane
    }

    /// The panic message, if the job panicked with a string payload (as
    /// `panic!("...")` does).
    pub fn panic_message(&self) -> Option<String> {
        let payload = self.panic.as_ref()?;
        let payload = payload.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = payload.downcast_ref::<&'static str>() {
            Some((*s).to_owned())
        } else {
            payload.downcast_ref::<String>().cloned()
        }
    }

    /// The panic payload, to resume the panic with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the job did not panic (see [`JobError::is_panic`]).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.panic {
            Some(payload) => payload.into_inner().unwrap_or_else(PoisonError::into_inner),
            None => panic!("`JobError::into_panic` called on a job that did not panic: {self}"),
        }
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobError")
            .field("kind", &self.kind)
            .field("lane", &self.lane)
            .field("panic_message", &self.panic_message())
            .finish()
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lane = self.lane.name();
        match self.kind {
            JobErrorKind::Panicked => match self.panic_message() {
                Some(msg) => write!(f, "job on the `{lane}` pool lane panicked: {msg}"),
                None => write!(f, "job on the `{lane}` pool lane panicked"),
            },
            JobErrorKind::Abandoned => write!(
                f,
                "job on the `{lane}` pool lane was abandoned: the pool shut down before it started"
            ),
            JobErrorKind::Rejected => write!(
                f,
                "job on the `{lane}` pool lane was rejected: the pool is shut down or could not start a worker thread"
            ),
        }
    }
}

impl std::error::Error for JobError {}

impl From<JobError> for std::io::Error {
    /// Converts to `io::ErrorKind::Other` with the same message, for
    /// functions (like `weft::fs`) that answer in `io::Result`.
    fn from(err: JobError) -> Self {
        std::io::Error::other(err.to_string())
    }
}

/// A job as the lane queue sees it: something to run once or to abandon.
pub(crate) trait QueuedJob: Send + Sync {
    /// Runs the job on the calling (worker) thread if it is still queued;
    /// does nothing if it was cancelled. Never unwinds from the job's panic.
    ///
    /// `before_publish` is called after the closure returns and before its
    /// result becomes visible to the handle, so that the worker can make
    /// itself available for the next job first (see `lane`).
    fn run(&self, before_publish: &mut dyn FnMut());

    /// Completes a still-queued job with [`JobError::is_abandoned`] and wakes
    /// its handle. Returns false if the job had already been claimed or
    /// cancelled.
    fn abandon(&self) -> bool;

    /// True if its handle was [detached](JobHandle::detach): nobody can be
    /// told that it did not run, so shutdown runs it if time allows.
    fn is_detached(&self) -> bool;
}

/// The handle's view of the cell.
trait ResultSlot<T>: Send + Sync {
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, JobError>>;
    /// Cancels a still-queued job; returns false if it had started.
    fn cancel(&self) -> bool;
    fn is_finished(&self) -> bool;
    fn detach(&self);
}

enum Stage<F, T> {
    Queued(F),
    Running,
    Done(Result<T, JobError>),
    Consumed,
    Cancelled,
}

struct Slot<F, T> {
    stage: Stage<F, T>,
    waker: Option<Waker>,
}

/// The shared cell of one job; see the module docs for its states.
pub(crate) struct JobCell<F, T> {
    slot: Mutex<Slot<F, T>>,
    enqueued_at: Instant,
    lane: Lane,
    stats: Arc<LaneStats>,
    detached: AtomicBool,
}

fn lock<S>(m: &Mutex<S>) -> MutexGuard<'_, S> {
    // No user code runs under a cell's lock, so poisoning can only come from
    // an allocation failure mid-update; the slot is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<F, T> JobCell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    /// A queued job. The caller must push it to the lane and count it in
    /// `stats.queued`.
    pub(crate) fn queued(f: F, lane: Lane, stats: Arc<LaneStats>) -> Arc<Self> {
        Arc::new(JobCell {
            slot: Mutex::new(Slot {
                stage: Stage::Queued(f),
                waker: None,
            }),
            enqueued_at: Instant::now(),
            lane,
            stats,
            detached: AtomicBool::new(false),
        })
    }

    /// A job that is already finished with `err` (a refused submission).
    pub(crate) fn finished(err: JobError, stats: Arc<LaneStats>) -> Arc<Self> {
        Arc::new(JobCell {
            lane: err.lane,
            slot: Mutex::new(Slot {
                stage: Stage::Done(Err(err)),
                waker: None,
            }),
            enqueued_at: Instant::now(),
            stats,
            detached: AtomicBool::new(false),
        })
    }
}

impl<F, T> QueuedJob for JobCell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(&self, before_publish: &mut dyn FnMut()) {
        let f = {
            let mut slot = lock(&self.slot);
            match std::mem::replace(&mut slot.stage, Stage::Running) {
                Stage::Queued(f) => f,
                other => {
                    slot.stage = other;
                    return;
                }
            }
        };
        self.stats.on_start(self.enqueued_at.elapsed());
        let (result, panicked) = match catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => (Ok(value), false),
            Err(payload) => (Err(JobError::panicked(self.lane, payload)), true),
        };
        self.stats.on_finish(panicked);
        before_publish();
        let waker = {
            let mut slot = lock(&self.slot);
            slot.stage = Stage::Done(result);
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn abandon(&self) -> bool {
        let (f, waker) = {
            let mut slot = lock(&self.slot);
            if !matches!(slot.stage, Stage::Queued(_)) {
                return false;
            }
            let Stage::Queued(f) = std::mem::replace(
                &mut slot.stage,
                Stage::Done(Err(JobError::abandoned(self.lane))),
            ) else {
                unreachable!("stage checked above")
            };
            (f, slot.waker.take())
        };
        self.stats.on_abandon();
        drop(f);
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    fn is_detached(&self) -> bool {
        self.detached.load(Ordering::Acquire)
    }
}

impl<F, T> ResultSlot<T> for JobCell<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<T, JobError>> {
        let mut slot = lock(&self.slot);
        match std::mem::replace(&mut slot.stage, Stage::Consumed) {
            Stage::Done(result) => Poll::Ready(result),
            Stage::Consumed => panic!("`JobHandle` polled after it returned `Ready`"),
            other => {
                slot.stage = other;
                if !matches!(&slot.waker, Some(w) if w.will_wake(cx.waker())) {
                    slot.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    fn cancel(&self) -> bool {
        let f = {
            let mut slot = lock(&self.slot);
            if !matches!(slot.stage, Stage::Queued(_)) {
                return false;
            }
            match std::mem::replace(&mut slot.stage, Stage::Cancelled) {
                Stage::Queued(f) => f,
                _ => unreachable!("stage checked above"),
            }
        };
        self.stats.on_cancel();
        drop(f);
        true
    }

    fn is_finished(&self) -> bool {
        matches!(
            lock(&self.slot).stage,
            Stage::Done(_) | Stage::Consumed | Stage::Cancelled
        )
    }

    fn detach(&self) {
        self.detached.store(true, Ordering::Release);
    }
}

/// An awaitable handle to a job submitted to a [`WorkerPool`](crate::pool::WorkerPool) lane.
///
/// Awaiting it yields the job's return value, or a [`JobError`] if the job
/// panicked or the pool shut down before it started. The task awaiting it is
/// woken by the worker thread that finished the job; under the weft runtime
/// that wake posts the task to the inbox of the loop it lives on, so the
/// completion is handled on the loop that asked.
///
/// # Dropping
///
/// Dropping the handle of a job that has **not started** cancels it: the
/// closure is dropped at once, the lane's queued count goes down, and the
/// worker that later reaches the entry skips it. A job that has started runs
/// to completion (a thread cannot be interrupted) and its result is dropped.
/// Use [`JobHandle::detach`] to let a queued job run without awaiting it.
///
/// # Cancel safety
///
/// Awaiting a `JobHandle` in `select!` is cancel safe in the sense that
/// polling it again later still yields the result; dropping it cancels the
/// job as described above.
#[must_use = "dropping a JobHandle cancels the job if it has not started; use `detach` to run it anyway"]
pub struct JobHandle<T> {
    slot: Arc<dyn ResultSlot<T>>,
    lane: Lane,
    cancel_on_drop: bool,
}

impl<T: Send + 'static> JobHandle<T> {
    pub(crate) fn new<F>(cell: Arc<JobCell<F, T>>) -> Self
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let lane = cell.lane;
        JobHandle {
            slot: cell,
            lane,
            cancel_on_drop: true,
        }
    }

    /// Lets the job run even though nobody awaits it; its result is dropped.
    ///
    /// A detached job that is still queued when the pool shuts down is run
    /// during shutdown if the shutdown timeout allows (like tokio's
    /// "mandatory" blocking tasks), since nobody could be told that it was
    /// dropped; `weft::fs::File` relies on this for writes it has accepted.
    pub fn detach(mut self) {
        self.cancel_on_drop = false;
        self.slot.detach();
    }

    /// Cancels the job if it has not started; returns true if it was
    /// cancelled (the closure is dropped and will never run), false if it had
    /// already started or finished.
    pub fn cancel(mut self) -> bool {
        self.cancel_on_drop = false;
        self.slot.cancel()
    }

    /// True once the job has finished (or was cancelled or abandoned), so
    /// that awaiting the handle will not wait.
    pub fn is_finished(&self) -> bool {
        self.slot.is_finished()
    }

    /// The lane the job runs on.
    pub fn lane(&self) -> Lane {
        self.lane
    }
}

impl<T> Future for JobHandle<T> {
    type Output = Result<T, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let polled = self.slot.poll_result(cx);
        if polled.is_pending() {
            crate::diag::hooks::park(|| crate::diag::hooks::WaitReason::PoolJob(self.lane.name()));
        }
        polled
    }
}

impl<T> Drop for JobHandle<T> {
    fn drop(&mut self) {
        if self.cancel_on_drop {
            self.slot.cancel();
        }
    }
}

impl<T> fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("lane", &self.lane)
            .field("finished", &self.slot.is_finished())
            .finish()
    }
}
