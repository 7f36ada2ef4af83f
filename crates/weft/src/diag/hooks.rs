//! The lines the loop's machinery calls: around each task poll, where a task parks (with a
//! wait reason), where it is woken, and where a reference to it is dropped.
//!
//! # Cost
//!
//! Every hook starts with [`on`], one relaxed load of a process-wide flag and a branch; with
//! diagnostics off nothing else runs. With them on, a poll costs two relaxed stores to its
//! loop's watch stamp (odd while polling, even between polls: what the watchdog samples) and
//! two thread-local writes (the task being polled, which the park hooks and the watchdog's
//! signal handler read); a park on a slow path writes one reason into the task's slot.
//!
//! # The per-task slot
//!
//! Each task header carries a [`TaskSlot`]: the last wait reason and when it was set (touched
//! only on the task's home thread: by its own poll, and by a dump, which runs on that thread
//! too), a count of self-wakes in a row (any thread, atomic) and flags saying what was already
//! reported about it.

use super::dump::WaitReason;
use super::hints;
use crate::loom::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use crate::rt::task::Header;
use std::cell::{Cell, UnsafeCell};
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);

/// True while the loop diagnostics (watchdog, dumps' wait reasons, hints) are on.
#[inline(always)]
pub(crate) fn on() -> bool {
    ON.load(Relaxed)
}

/// Turns the hooks on or off for the whole process.
pub(crate) fn set_on(on: bool) {
    ON.store(on, Relaxed);
}

/// A task's diagnostics slot; see the module doc.
#[derive(Default)]
pub(crate) struct TaskSlot {
    /// The last wait reason and when it was set; home thread only.
    wait: UnsafeCell<Option<(WaitReason, Instant)>>,
    /// Whether a reason was set during the current poll; home thread only.
    set_this_poll: Cell<bool>,
    /// Self-wakes in a row without progress (any thread).
    pub(crate) self_wakes: AtomicU64,
    /// `REPORTED_*` bits.
    pub(crate) reported: AtomicUsize,
}

// SAFETY: `wait` and `set_this_poll` are touched only on the task's home loop thread (its poll
// and dumps, which run as closures on that loop); the rest are atomics.
unsafe impl Sync for TaskSlot {}
// SAFETY: as above: the thread-confined fields hold plain data (`Instant`, an enum of Send data).
unsafe impl Send for TaskSlot {}

/// A livelock was reported for this task.
pub(crate) const REPORTED_LIVELOCK: usize = 1 << 0;
/// A lost wake-up was reported for this task.
pub(crate) const REPORTED_LOST_WAKE: usize = 1 << 1;

impl TaskSlot {
    /// The last wait reason and how long ago it was set. Call on the task's home thread.
    pub(crate) fn wait(&self) -> Option<(WaitReason, Instant)> {
        // SAFETY: home thread only, see the type's Sync argument; no write runs meanwhile.
        unsafe { (*self.wait.get()).clone() }
    }

    fn set_wait(&self, reason: WaitReason) {
        // SAFETY: home thread only (called during the task's own poll).
        let slot = unsafe { &mut *self.wait.get() };
        match slot {
            // Parked again on the same thing (a spurious wake): the wait started earlier.
            Some((old, _)) if *old == reason => {}
            _ => *slot = Some((reason, Instant::now())),
        }
        self.set_this_poll.set(true);
    }

    fn clear_unless_set(&self) {
        if !self.set_this_poll.replace(false) {
            // SAFETY: home thread only.
            unsafe { *self.wait.get() = None };
        }
    }
}

impl std::fmt::Debug for TaskSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSlot")
            .field("self_wakes", &self.self_wakes.load(Relaxed))
            .finish()
    }
}

thread_local! {
    /// The task being polled on this thread (null between polls). Read by the park hooks and by
    /// the watchdog's signal handler (a const-initialised, destructor-less thread local is a
    /// plain TLS slot, safe to read in a handler).
    static POLLING: Cell<*const Header> = const { Cell::new(std::ptr::null()) };
}

/// The task being polled on this thread, if the hooks are on and a task is being polled.
pub(crate) fn polling() -> *const Header {
    POLLING.with(Cell::get)
}

/// Marks one task poll; see [`enter_poll`].
#[must_use]
pub(crate) struct PollMark {
    header: *const Header,
    previous: *const Header,
}

/// Called by the task's poll just before the future is polled. Inert when the hooks are off.
#[inline]
pub(crate) fn enter_poll(header: &Header) -> Option<PollMark> {
    if !on() {
        return None;
    }
    let stamp = &header.home.watch.stamp;
    // Only this thread writes the stamp: load and store, no read-modify-write.
    stamp.store(stamp.load(Relaxed) | 1, Relaxed);
    let previous = POLLING.with(|p| p.replace(header as *const Header));
    Some(PollMark {
        header: header as *const Header,
        previous,
    })
}

impl PollMark {
    /// Called when the poll returned (before the task's references are touched).
    pub(crate) fn exit(self, pending: bool) {
        // SAFETY: the poll that created the mark holds a reference to the task until after
        // this call.
        let header = unsafe { &*self.header };
        POLLING.with(|p| p.set(self.previous));
        let watch = &header.home.watch;
        let stamp = watch.stamp.load(Relaxed);
        watch.stamp.store((stamp | 1) + 1, Relaxed);
        if watch.stalled.load(Relaxed) {
            watch.end_stall();
        }
        header.diag.clear_unless_set();
        if pending {
            hints::after_pending(header);
        }
    }
}

/// Records why the task being polled is about to return `Pending`: call on the slow path,
/// just before. `reason` is built only when the hooks are on and a task is being polled.
#[inline]
pub(crate) fn park(reason: impl FnOnce() -> WaitReason) {
    if !on() {
        return;
    }
    let header = polling();
    if header.is_null() {
        return;
    }
    // SAFETY: POLLING is set only for the duration of that task's poll, which holds a reference.
    unsafe { &*header }.diag.set_wait(reason());
}

/// Called when a task is woken (before it is scheduled), from any thread.
#[inline]
pub(crate) fn on_wake(header: &Header) {
    if on() {
        hints::on_wake(header);
    }
}

/// Called just before a reference to the task is dropped, from any thread.
#[inline]
pub(crate) fn before_ref_drop(header: &Header) {
    if on() {
        hints::check_lost_wake(header, 1);
    }
}

/// Called on the home thread after a poll returned `Pending` and the task went idle.
#[inline]
pub(crate) fn after_park(header: &Header) {
    if on() {
        hints::check_lost_wake(header, 0);
    }
}

/// Called when the task being polled made progress (an I/O operation completed).
#[inline]
pub(crate) fn progress() {
    if !on() {
        return;
    }
    let header = polling();
    if !header.is_null() {
        // SAFETY: as in `park`.
        unsafe { &*header }.diag.self_wakes.store(0, Relaxed);
    }
}

/// A per-loop stamp the watchdog samples: see the module doc.
#[derive(Debug, Default)]
pub(crate) struct LoopWatch {
    /// Odd while a task poll runs, even between polls; grows by one at each edge.
    pub(crate) stamp: AtomicU64,
    /// Set by the watchdog while it has reported this loop as stalled.
    pub(crate) stalled: AtomicBool,
    /// When the stalled poll ended (ns since the diagnostics epoch), 0 before.
    pub(crate) stall_ended_ns: AtomicU64,
    /// The loop thread's kernel id (0 while no thread runs the loop).
    pub(crate) tid: AtomicU64,
}

impl LoopWatch {
    fn end_stall(&self) {
        self.stall_ended_ns
            .store(super::watchdog::epoch_ns(), Relaxed);
        self.stalled.store(false, Relaxed);
    }
}
