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
//! Each task has a [`TaskSlot`]: the last wait reason and when it was set (touched only on the
//! task's home thread: by its own poll, and by a dump, which runs on that thread too), a count
//! of self-wakes in a row (any thread, atomic) and flags saying what was already reported about
//! it. The slot lives out of line: the header holds a [`DiagSlot`], one word that stays null
//! until a hook first touches the task while the hooks are on, so tasks spawned with
//! diagnostics off pay 8 bytes for it (that word's low bit also holds the `MOVABLE` flag).
//!
//! # Hints: livelock and lost wake-ups
//!
//! Every wake of a task is either a **self-wake** (issued while the task itself is being
//! polled on this thread: `yield_now`, a spent cooperative budget, a retry loop that wakes its
//! own waker) or a wake from elsewhere (a socket, a timer, a channel's other side, a lock
//! released by another task). A self-wake bumps the task's counter; a wake from elsewhere, and
//! an I/O operation that completes during its poll, reset it. When the counter passes the
//! threshold (`Config::livelock`) the task is reported once, as `ReportKind::Livelock`: it
//! has run that many times in a row on nothing but its own say-so, like two polite tasks that
//! each `try_lock` the other's mutex, yield and retry forever.
//!
//! A lost wake-up is found exactly, from the reference count (`rt::task::state`): a task that
//! is idle (not queued, running, complete or cancelled) whose count is only what the owned
//! list and its `JoinHandle` hold has no waker anywhere, so nothing can ever poll it again. It
//! is checked when a reference is about to be dropped and when a poll returns `Pending`; such a
//! task is reported once, as `ReportKind::LostWake`. Those reports are found on arbitrary
//! threads (a waker dropped inside some primitive's lock), so they are queued and sent by the
//! diagnostics thread.

use super::{Config, Report, ReportKind};
use crate::loom::{
    AtomicBool, AtomicU64, AtomicUsize, Mutex,
    Ordering::{AcqRel, Acquire, Relaxed},
};
use crate::rt::task::state::{
    CANCELLED, COMPLETE, JOIN_INTEREST, NOTIFIED, OWNED, REF_MASK, REF_ONE, RUNNING,
};
use crate::rt::task::Header;
use std::cell::{Cell, UnsafeCell};
use std::sync::OnceLock;
use std::time::Instant;

/// What a parked task waits on, beyond `weft::sync` (whose waits `sync::trace` records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WaitReason {
    /// `weft::time::sleep` (and `timeout`, `interval`) until this instant.
    Sleep(Instant),
    /// Readiness of a socket or pipe: `read` true for reading.
    Io { fd: i32, read: bool },
    /// A `JoinHandle` await, on the task with this id.
    Join(u64),
    /// A pool job's handle, on this lane.
    PoolJob(&'static str),
}

/// Nanoseconds since the diagnostics' epoch (the first call).
pub(crate) fn epoch_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

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
    /// The wait key of the pending await on this task's `JoinHandle` (0: none); kept here
    /// rather than in the handle so that a handle is one word (see `diag::joins`).
    pub(crate) join_wait: AtomicU64,
}

// SAFETY: `wait` and `set_this_poll` are touched only on the task's home loop thread (its poll
// and dumps, which run as closures on that loop); the rest are atomics.
unsafe impl Sync for TaskSlot {}

/// A livelock was reported for this task.
pub(crate) const REPORTED_LIVELOCK: usize = 1 << 0;
/// A lost wake-up was reported for this task.
pub(crate) const REPORTED_LOST_WAKE: usize = 1 << 1;

/// Where a task's [`TaskSlot`] lives: a pointer, null until the hooks first touch the task
/// while they are on (so a task spawned with diagnostics off pays one word), whose low bit
/// holds `MOVABLE` (set whether or not the hooks are on). The slot is freed with the task.
#[derive(Debug, Default)]
pub(crate) struct DiagSlot {
    /// `*mut TaskSlot` (from `Box::into_raw`, aligned so bit 0 is free) | `MOVABLE`.
    bits: AtomicUsize,
}

/// Spawned without a fixed loop: may start on another loop while its own is stalled.
const MOVABLE: usize = 1;

impl DiagSlot {
    /// Marks the task as spawned without a fixed loop (before it is scheduled).
    pub(crate) fn set_movable(&self) {
        self.bits.fetch_or(MOVABLE, Relaxed);
    }

    /// True if the task was spawned without a fixed loop.
    pub(crate) fn movable(&self) -> bool {
        self.bits.load(Relaxed) & MOVABLE != 0
    }

    /// The slot, if the hooks have touched this task.
    pub(crate) fn get(&self) -> Option<&TaskSlot> {
        let ptr = (self.bits.load(Acquire) & !MOVABLE) as *const TaskSlot;
        // SAFETY: a non-null pointer came from `Box::into_raw` in `get_or_init` and is freed
        // only by `drop`, which `&self` excludes.
        unsafe { ptr.as_ref() }
    }

    /// The slot, allocated now if this is the hooks' first touch of the task (any thread).
    pub(crate) fn get_or_init(&self) -> &TaskSlot {
        if let Some(slot) = self.get() {
            return slot;
        }
        let fresh = Box::into_raw(Box::<TaskSlot>::default());
        let mut bits = self.bits.load(Acquire);
        loop {
            if bits & !MOVABLE != 0 {
                // Another thread won the race: keep its slot.
                // SAFETY: `fresh` came from `Box::into_raw` above and was never shared.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: as in `get`.
                return unsafe { &*((bits & !MOVABLE) as *const TaskSlot) };
            }
            match self
                .bits
                .compare_exchange_weak(bits, bits | fresh as usize, AcqRel, Acquire)
            {
                // SAFETY: published just now; freed only by `drop`.
                Ok(_) => return unsafe { &*fresh },
                Err(now) => bits = now,
            }
        }
    }
}

impl Drop for DiagSlot {
    fn drop(&mut self) {
        let ptr = (*self.bits.get_mut() & !MOVABLE) as *mut TaskSlot;
        if !ptr.is_null() {
            // SAFETY: from `Box::into_raw` in `get_or_init`; `&mut self` means no reader is left.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}

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
    let stamp = &header.home().watch.stamp;
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
        let watch = &header.home().watch;
        let stamp = watch.stamp.load(Relaxed);
        watch.stamp.store((stamp | 1) + 1, Relaxed);
        if watch.stalled.load(Relaxed) {
            watch.end_stall();
        }
        if let Some(slot) = header.diag.get() {
            slot.clear_unless_set();
        }
        if pending {
            check_livelock(header);
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
    unsafe { &*header }.diag.get_or_init().set_wait(reason());
}

/// Called when a task is woken (before it is scheduled), from any thread.
#[inline]
pub(crate) fn on_wake(header: &Header) {
    if on() {
        count_wake(header);
    }
}

/// Called just before a reference to the task is dropped, from any thread.
#[inline]
pub(crate) fn before_ref_drop(header: &Header) {
    if on() {
        check_lost_wake(header, 1);
    }
}

/// Called on the home thread after a poll returned `Pending` and the task went idle.
#[inline]
pub(crate) fn after_park(header: &Header) {
    if on() {
        check_lost_wake(header, 0);
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
        if let Some(slot) = unsafe { &*header }.diag.get() {
            slot.self_wakes.store(0, Relaxed);
        }
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
        self.stall_ended_ns.store(epoch_ns(), Relaxed);
        self.stalled.store(false, Relaxed);
    }
}

/// Self-wakes in a row that make a livelock report, 0 when off.
static LIVELOCK_WAKES: AtomicU64 = AtomicU64::new(0);

/// Reports found off the diagnostics thread, waiting to be sent.
static QUEUED: Mutex<Vec<Report>> = Mutex::new(Vec::new());

pub(crate) fn configure(config: &Config) {
    LIVELOCK_WAKES.store(config.livelock_threshold().map_or(0, u64::from), Relaxed);
}

fn label(header: &Header) -> String {
    match header.meta.name() {
        Some(name) => format!("task {} \"{name}\"", header.meta.id),
        None => format!("task {}", header.meta.id),
    }
}

fn report_name(header: &Header) -> String {
    match header.meta.name() {
        Some(name) => name.to_string(),
        None => format!("task {}", header.meta.id),
    }
}

/// A wake of `header`: a self-wake if that task is the one being polled on this thread.
fn count_wake(header: &Header) {
    let counter = &header.diag.get_or_init().self_wakes;
    if std::ptr::eq(polling(), header) {
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    } else {
        counter.store(0, Relaxed);
    }
}

/// After a poll of `header` returned `Pending` (home thread).
fn check_livelock(header: &Header) {
    let limit = LIVELOCK_WAKES.load(Relaxed);
    let wakes = header.diag.get().map_or(0, |s| s.self_wakes.load(Relaxed));
    if limit > 0 && wakes > limit && mark(header, REPORTED_LIVELOCK) {
        let text = format!(
            "weft::diag: possible livelock: {} spawned at {} has woken itself {wakes} times in a \
             row with no I/O, timer or channel progress (threshold {limit}); it keeps retrying \
             something that only another task can change",
            label(header),
            header.meta.site()
        );
        super::emit(&Report::new(
            ReportKind::Livelock,
            vec![report_name(header)],
            text,
        ));
    }
}

/// Sets `bit` in the task's reported flags; true if it was not set before.
fn mark(header: &Header, bit: usize) -> bool {
    header.diag.get_or_init().reported.fetch_or(bit, Relaxed) & bit == 0
}

/// Checks whether `header` just became unreachable by any waker; see the module doc.
/// `dropping` is 1 when the caller is about to drop a reference of its own (a waker), 0 when
/// it holds none (the poll that just parked the task).
fn check_lost_wake(header: &Header, dropping: usize) {
    let state = header.state.load();
    if state & (RUNNING | NOTIFIED | COMPLETE | CANCELLED) != 0 || state & OWNED == 0 {
        return;
    }
    let minimum = REF_ONE * (1 + usize::from(state & JOIN_INTEREST != 0) + dropping);
    if state & REF_MASK != minimum || !mark(header, REPORTED_LOST_WAKE) {
        return;
    }
    let text = format!(
        "weft::diag: lost wake-up: {} spawned at {} is parked and no waker for it exists any \
         more (its last waker was dropped; only {} hold it), so it will never run again{}",
        label(header),
        header.meta.site(),
        if state & JOIN_INTEREST != 0 {
            "its loop's task list and its JoinHandle"
        } else {
            "its loop's task list"
        },
        // The last reason is readable only on the home thread, where the parking poll runs.
        if dropping == 0 {
            header
                .diag
                .get()
                .and_then(TaskSlot::wait)
                .map(|(reason, _)| format!("; it last waited on {}", reason.describe()))
                .unwrap_or_default()
        } else {
            String::new()
        }
    );
    let report = Report::new(ReportKind::LostWake, vec![report_name(header)], text);
    QUEUED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(report);
}

/// Sends the queued reports (on the diagnostics thread).
pub(crate) fn report_pending() {
    let queued = std::mem::take(&mut *QUEUED.lock().unwrap_or_else(|e| e.into_inner()));
    for report in queued {
        super::emit(&report);
    }
}
