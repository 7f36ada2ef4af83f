//! The lines the loop's machinery calls: around each task poll, where a task parks (with a
//! wait reason), where it is woken, and where a reference to it is dropped.
//!
//! # Cost
//!
//! Every hook starts with [`on`], one relaxed load of a process-wide flag and a branch; with
//! diagnostics off nothing else runs. With them on, a poll costs two thread-local writes (the
//! task being polled, which the park hooks and the watchdog's signal handler read) and, while
//! the watchdog is on, two relaxed stores to its loop's watch stamp (odd while polling, even
//! between polls: what the watchdog samples); a park on a slow path writes one reason into
//! the task's slot.
//!
//! # The per-task slot
//!
//! Each task has a [`TaskSlot`]: the last wait reason and when it was set (touched only on the
//! task's home thread: by its own poll, and by a dump, which runs on that thread too), a count
//! of self-wakes in a row (any thread, atomic) and flags saying what was already reported about
//! it. The slot lives out of line: the header holds a [`DiagSlot`], one word that stays null
//! until a hook first touches the task while the hooks are on, so tasks spawned with
//! diagnostics off pay 8 bytes for it (that word's low bits also hold the `MOVABLE` flag and,
//! until a slot exists, the key of the pending wait on the task's `JoinHandle`: the child
//! module `slot`).
//!
//! # Hints: livelock and lost wake-ups
//!
//! Every wake of a task is either a **self-wake** (issued while the task itself is being
//! polled on this thread: `yield_now`, a spent cooperative budget, a retry loop that wakes its
//! own waker) or a wake from elsewhere (a socket, a timer, a channel's other side, a lock
//! released by another task). A self-wake bumps the task's counter; a wake from elsewhere, and
//! an I/O operation that completes during its poll, reset it (only while livelock hints are
//! on: otherwise wakes are not counted). When the counter passes the threshold
//! (`Config::livelock`) the task is reported once, as `ReportKind::Livelock`: it
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
use crate::loom::{AtomicBool, AtomicU64, Mutex, Ordering::Relaxed};
use crate::rt::task::state::{
    CANCELLED, COMPLETE, JOIN_INTEREST, NOTIFIED, OWNED, REF_MASK, REF_ONE, RUNNING,
};
use crate::rt::task::Header;
use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Instant;

mod slot;

pub(crate) use slot::{DiagSlot, TaskSlot, REPORTED_LIVELOCK, REPORTED_LOST_WAKE};

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
    /// The poll made its loop's stamp odd (the watchdog was on): its end makes it even again
    /// even if the watchdog was turned off meanwhile.
    stamped: bool,
}

/// Called by the task's poll just before the future is polled. Inert when the hooks are off.
#[inline]
pub(crate) fn enter_poll(header: &Header) -> Option<PollMark> {
    if !on() {
        return None;
    }
    let stamped = watching();
    if stamped {
        let stamp = &header.home().watch.stamp;
        // Only this thread writes the stamp: load and store, no read-modify-write.
        stamp.store(stamp.load(Relaxed) | 1, Relaxed);
    }
    let previous = POLLING.with(|p| p.replace(header as *const Header));
    Some(PollMark {
        header: header as *const Header,
        previous,
        stamped,
    })
}

impl PollMark {
    /// Called when the poll returned (before the task's references are touched).
    #[inline]
    pub(crate) fn exit(self, pending: bool) {
        // SAFETY: the poll that created the mark holds a reference to the task until after
        // this call.
        let header = unsafe { &*self.header };
        POLLING.with(|p| p.set(self.previous));
        if self.stamped || watching() {
            unstamp(header);
        }
        if let Some(slot) = header.diag.get() {
            slot.clear_unless_set();
        }
        if pending && livelock_on() {
            check_livelock(header);
        }
    }
}

/// The end of a poll for the watchdog: the loop's stamp even again, and a stall it reported
/// ended. Out of line, as is everything but the common case of [`PollMark::exit`], which so
/// stays a leaf that saves no registers.
#[inline(never)]
fn unstamp(header: &Header) {
    let watch = &header.home().watch;
    let stamp = watch.stamp.load(Relaxed);
    watch.stamp.store((stamp | 1) + 1, Relaxed);
    if watch.stalled.load(Relaxed) {
        watch.end_stall();
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

/// Called when a task is woken (before it is scheduled), from any thread. Only livelock
/// hints count wakes: without them a wake touches nothing (counting would allocate the slot
/// of every task ever woken, a `malloc` and a `free` per short-lived task).
#[inline]
pub(crate) fn on_wake(header: &Header) {
    if on() && livelock_on() {
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

/// Called when the task being polled made progress (an I/O operation completed): resets its
/// self-wake count, which only livelock hints keep.
#[inline]
pub(crate) fn progress() {
    if !on() || !livelock_on() {
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
    #[cold]
    fn end_stall(&self) {
        self.stall_ended_ns.store(epoch_ns(), Relaxed);
        self.stalled.store(false, Relaxed);
    }
}

/// Self-wakes in a row that make a livelock report, 0 when off.
static LIVELOCK_WAKES: AtomicU64 = AtomicU64::new(0);

/// Reports found off the diagnostics thread, waiting to be sent.
static QUEUED: Mutex<Vec<Report>> = Mutex::new(Vec::new());

/// True while livelock hints count self-wakes.
#[inline]
fn livelock_on() -> bool {
    LIVELOCK_WAKES.load(Relaxed) != 0
}

/// True while the watchdog samples the loops' watch stamps.
static WATCHING: AtomicBool = AtomicBool::new(false);

/// True while the watchdog is on: only then do polls move their loop's watch stamp.
#[inline]
pub(crate) fn watching() -> bool {
    WATCHING.load(Relaxed)
}

pub(crate) fn configure(config: &Config) {
    LIVELOCK_WAKES.store(config.livelock_threshold().map_or(0, u64::from), Relaxed);
    WATCHING.store(config.watchdog_threshold().is_some(), Relaxed);
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
#[cold]
#[inline(never)]
fn check_livelock(header: &Header) {
    let limit = LIVELOCK_WAKES.load(Relaxed);
    if limit == 0 {
        return;
    }
    let wakes = header.diag.get().map_or(0, |s| s.self_wakes.load(Relaxed));
    if wakes > limit && mark(header, REPORTED_LIVELOCK) {
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
/// it holds none (the poll that just parked the task). Inline: the check is one load and a
/// few compares, done on every reference drop; the report is out of line.
#[inline(always)]
fn check_lost_wake(header: &Header, dropping: usize) {
    let state = header.state.load();
    if state & (RUNNING | NOTIFIED | COMPLETE | CANCELLED) != 0 || state & OWNED == 0 {
        return;
    }
    let minimum = REF_ONE * (1 + usize::from(state & JOIN_INTEREST != 0) + dropping);
    if state & REF_MASK == minimum {
        report_lost_wake(header, state, dropping);
    }
}

/// Reports `header` as a lost wake-up, once (`state` as [`check_lost_wake`] found it).
#[cold]
#[inline(never)]
fn report_lost_wake(header: &Header, state: usize, dropping: usize) {
    if !mark(header, REPORTED_LOST_WAKE) {
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
