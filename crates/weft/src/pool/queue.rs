//! A lane's queue and threads: one kind of work ([`Lane`]) with its own queue, threads and
//! limit.
//!
//! # Why lanes
//!
//! One shared pool lets one kind of work starve another: libuv's single
//! 4-thread pool is a known case, where a handful of slow DNS lookups hold
//! every thread and file reads wait behind them. Each [`Lane`] here has its
//! own FIFO queue and its own threads, so a flood on one lane only delays
//! that lane.
//!
//! # Roles and states
//!
//! [`LaneQueue`] is a `Mutex<LaneState>` plus two condvars:
//!
//! - a **submitter** pushes a job; if a thread is idle it hands that thread a
//!   wakeup (moving it from `idle` to `wakeups`) and notifies `work_ready`;
//!   otherwise, below the limit, it starts a new thread (threads start on
//!   demand, none exist before the first job);
//! - a **worker** thread pops and runs jobs until the queue is empty, then
//!   waits idle on `work_ready` for at most the idle timeout and exits when
//!   it passes without work;
//! - **shutdown** (see [`LaneQueue::close`], [`LaneQueue::wait_idle`] and
//!   [`LaneQueue::abandon_queued`]) sets `closed`, abandons the queued jobs
//!   that have a handle to tell, keeps the detached ones (starting threads
//!   for them if needed), wakes every idle thread, and waits on
//!   `thread_exited` until the lane has no threads or the deadline passes;
//!   then it abandons whatever is still queued. Workers of a closed lane
//!   drain the queue and exit when it is empty.
//!
//! # Invariants (under the lane mutex)
//!
//! - `threads` counts started worker threads that have not yet exited; it
//!   never exceeds the lane's `max_threads`.
//! - `idle` counts threads available for a job that nobody has handed a
//!   wakeup yet; `wakeups` counts wakeups handed out and not yet taken. A
//!   submitter only relies on an idle thread by moving it from `idle` to
//!   `wakeups`, so two submitters never count on the same idle thread, and a
//!   timed-out thread takes a pending wakeup before it may exit.
//! - A worker counts itself idle *before* it publishes a job's result: the
//!   task woken by that result often submits again at once, and should find
//!   this thread rather than start another.
//! - `awake_idle` counts idle (or claimed) threads not blocked on the
//!   condvar; each checks `wakeups` before blocking. A submitter notifies
//!   only when `wakeups > awake_idle`, so the common hand-back to a thread
//!   that has just finished costs no futex wake of a sleeping one.
//! - Once `closed`, submissions are refused; the queue only shrinks.
//! - No user code runs under the lane mutex: jobs run, and abandoned
//!   closures drop, after the guard is released.

use std::collections::VecDeque;
use std::io;
// `Arc` from std: queue entries are `Arc<dyn QueuedJob>` (see `job`); the
// lane's lock, condvars and atomics go through the shim.
use std::sync::{Arc, PoisonError};

use crate::loom::Ordering::Relaxed;
use crate::loom::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::job::{JobCell, JobError, JobHandle, QueuedJob};
use super::lane::Lane;
use super::metrics::{LaneMetrics, LaneStats};

struct LaneState {
    queue: VecDeque<Arc<dyn QueuedJob>>,
    threads: usize,
    idle: usize,
    wakeups: usize,
    /// Threads in the idle protocol (announced idle, claimed or not) that
    /// are not blocked on `work_ready`: each checks `wakeups` before it
    /// blocks, so needs no notification.
    awake_idle: usize,
    closed: bool,
}

/// What a submission needs from the lane's threads.
enum WorkerAction {
    Wake,
    Start,
    None,
}

/// The queue and threads of one lane.
pub(crate) struct LaneQueue {
    lane: Lane,
    max_threads: usize,
    idle_timeout: Duration,
    /// How many nice steps below the process this lane's threads run.
    nice: i32,
    state: Mutex<LaneState>,
    /// Idle workers wait here for a job or for shutdown.
    work_ready: Condvar,
    /// Shutdown waits here for workers to exit.
    thread_exited: Condvar,
    stats: Arc<LaneStats>,
}

/// What [`LaneQueue::close`] did.
pub(crate) struct LaneCloseOutcome {
    /// Queued jobs completed with [`JobError::is_abandoned`].
    pub(crate) abandoned: usize,
    /// Detached queued jobs kept to run during shutdown.
    pub(crate) kept: usize,
}

impl LaneQueue {
    /// A lane whose threads run `nice` steps below the process (0: at its priority).
    pub(crate) fn new(
        lane: Lane,
        max_threads: usize,
        idle_timeout: Duration,
        nice: i32,
    ) -> Arc<Self> {
        Arc::new(LaneQueue {
            lane,
            max_threads,
            idle_timeout,
            nice,
            state: Mutex::new(LaneState {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                wakeups: 0,
                awake_idle: 0,
                closed: false,
            }),
            work_ready: Condvar::new(),
            thread_exited: Condvar::new(),
            stats: Arc::new(LaneStats::new()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, LaneState> {
        // Only this module's bookkeeping runs under the lock (no user code),
        // so a poisoned lock still guards consistent counts.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `f`, waking an idle thread or starting one if below the limit.
    pub(crate) fn submit<F, T>(self: &Arc<Self>, f: F) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let cell = JobCell::queued(f, self.lane, Arc::clone(&self.stats));
        let mut state = self.lock();
        if state.closed {
            drop(state);
            return self.refuse(cell);
        }
        self.stats.on_submit();
        state.queue.push_back(cell.clone());
        let action = if state.idle > 0 {
            state.idle -= 1;
            state.wakeups += 1;
            if state.wakeups > state.awake_idle {
                WorkerAction::Wake
            } else {
                // A thread that is idle but not yet asleep (typically the one
                // that just published a result) takes the wakeup itself: a
                // notification would only wake a sleeper for nothing.
                WorkerAction::None
            }
        } else if state.threads < self.max_threads {
            state.threads += 1;
            self.stats.threads.store(state.threads, Relaxed);
            WorkerAction::Start
        } else {
            // Every thread is busy and the lane is at its limit: the job
            // waits for the first thread that finishes.
            WorkerAction::None
        };
        drop(state);
        match action {
            // Notified after unlocking so the woken thread does not block on
            // the lock we hold. Any waiting thread may take the wakeup.
            WorkerAction::Wake => self.work_ready.notify_one(),
            WorkerAction::Start => self.start_thread(),
            WorkerAction::None => {}
        }
        JobHandle::new(cell)
    }

    /// Answers a submission to a closed lane: the handle resolves at once to
    /// [`JobError::is_rejected`]; the closure is dropped here.
    fn refuse<F, T>(&self, cell: Arc<JobCell<F, T>>) -> JobHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        drop(cell);
        self.stats.on_reject();
        JobHandle::new(JobCell::<F, T>::finished(
            JobError::rejected(self.lane),
            Arc::clone(&self.stats),
        ))
    }

    fn start_thread(self: &Arc<Self>) {
        let lane = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name(format!("weft-pool-{}", self.lane.name()))
            .spawn(move || {
                if lane.nice != 0 {
                    if let Err(err) = crate::sys::thread::lower_priority(lane.nice) {
                        // The jobs still run, at the loops' priority.
                        tracing::warn!(lane = lane.lane.name(), error = %err, "weft pool could not lower a worker thread's priority");
                    }
                }
                lane.work()
            });
        if let Err(err) = spawned {
            self.thread_failed(&err);
        }
    }

    /// A thread could not be started (e.g. the process hit its thread
    /// limit). If the lane has no other thread, nobody would ever run its
    /// queue, so the queued jobs are abandoned rather than left hanging.
    fn thread_failed(&self, err: &io::Error) {
        let (stranded, closed) = {
            let mut state = self.lock();
            state.threads -= 1;
            self.stats.threads.store(state.threads, Relaxed);
            let stranded = if state.threads == 0 {
                std::mem::take(&mut state.queue)
            } else {
                VecDeque::new()
            };
            (stranded, state.closed)
        };
        if closed {
            // Shutdown may be waiting for the thread count to fall.
            self.thread_exited.notify_all();
        }
        tracing::error!(
            lane = self.lane.name(),
            error = %err,
            abandoned = stranded.len(),
            "weft pool could not start a worker thread"
        );
        for job in stranded {
            job.abandon();
        }
    }

    /// A worker thread's body: run jobs, idle, exit after the idle timeout
    /// or at shutdown.
    fn work(&self) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // The result lets the submitter go on, and it often submits
                // again at once. So before publishing it, count this thread
                // as idle if it is about to be: the next submission then
                // hands it the job instead of starting another thread.
                let mut going_idle = false;
                job.run(&mut || {
                    let mut state = self.lock();
                    if state.queue.is_empty() && !state.closed {
                        state.idle += 1;
                        state.awake_idle += 1;
                        going_idle = true;
                    }
                });
                drop(job);
                state = self.lock();
                if !going_idle {
                    continue;
                }
            } else if state.closed {
                // Closed and drained.
                break;
            } else {
                state.idle += 1;
                state.awake_idle += 1;
            }
            // Idle, and counted in `idle` and `awake_idle`.
            match self.wait_for_work(state) {
                Ok(guard) => state = guard,
                Err(guard) => {
                    state = guard;
                    break;
                }
            }
        }
        state.threads -= 1;
        self.stats.threads.store(state.threads, Relaxed);
        let closed = state.closed;
        drop(state);
        if closed {
            self.thread_exited.notify_all();
        }
    }

    /// Waits, counted in `idle` and `awake_idle`, for a wakeup (`Ok`: go and
    /// pop) or for the idle timeout (`Err`: exit); leaves both counts
    /// without this thread either way. A closed lane sends its idle threads
    /// back to drain the queue.
    fn wait_for_work<'a>(
        &'a self,
        mut state: MutexGuard<'a, LaneState>,
    ) -> Result<MutexGuard<'a, LaneState>, MutexGuard<'a, LaneState>> {
        let idle_until = Instant::now() + self.idle_timeout;
        loop {
            if state.wakeups > 0 {
                // A submitter already moved us out of `idle`.
                state.wakeups -= 1;
                state.awake_idle -= 1;
                return Ok(state);
            }
            if state.closed {
                state.idle -= 1;
                state.awake_idle -= 1;
                return Ok(state);
            }
            let now = Instant::now();
            if now >= idle_until {
                state.idle -= 1;
                state.awake_idle -= 1;
                return Err(state);
            }
            state.awake_idle -= 1;
            state = self
                .work_ready
                .wait_timeout(state, idle_until - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.awake_idle += 1;
        }
    }

    /// Stops taking jobs: refuses new submissions, abandons queued jobs
    /// that have a handle (they resolve to [`JobError::is_abandoned`]), keeps
    /// detached ones to run, and wakes idle threads so they drain the queue
    /// and exit. Running jobs are left to finish.
    pub(crate) fn close(self: &Arc<Self>) -> LaneCloseOutcome {
        let (abandon, kept, start) = {
            let mut state = self.lock();
            state.closed = true;
            let (keep, abandon): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut state.queue)
                .into_iter()
                .partition(|job| job.is_detached());
            let kept = keep.len();
            state.queue = keep;
            // Idle threads will wake and drain; start more (within the
            // limit) if the kept jobs outnumber the threads.
            let start = kept.min(self.max_threads).saturating_sub(state.threads);
            state.threads += start;
            self.stats.threads.store(state.threads, Relaxed);
            (abandon, kept, start)
        };
        self.work_ready.notify_all();
        for _ in 0..start {
            self.start_thread();
        }
        // Outside the lock: abandoning drops user closures and wakes tasks.
        let abandoned = abandon.into_iter().filter(|job| job.abandon()).count();
        LaneCloseOutcome { abandoned, kept }
    }

    /// Abandons what is still queued (shutdown's deadline has passed);
    /// returns how many jobs that was.
    pub(crate) fn abandon_queued(&self) -> usize {
        let queued = std::mem::take(&mut self.lock().queue);
        queued.into_iter().filter(|job| job.abandon()).count()
    }

    /// Waits until every thread of a closed lane has exited or `deadline`
    /// passes; returns the number of threads still running then (each busy
    /// with a job that did not finish in time; they are left detached and
    /// exit on their own when their job returns).
    pub(crate) fn wait_idle(&self, deadline: Instant) -> usize {
        let mut state = self.lock();
        debug_assert!(state.closed, "wait_idle before close");
        while state.threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .thread_exited
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.threads
    }

    pub(crate) fn metrics(&self) -> LaneMetrics {
        self.stats.snapshot(self.lane, self.max_threads)
    }

    pub(crate) fn running(&self) -> usize {
        self.stats.running.load(Relaxed)
    }
}
