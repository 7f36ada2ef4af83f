//! Hints of trouble that is not a deadlock: a task that keeps waking itself without progress
//! (livelock), and a parked task that nothing can wake any more (lost wake-up).
//!
//! # Livelock
//!
//! Every wake of a task is either a **self-wake** (issued while the task itself is being
//! polled: `yield_now`, a spent cooperative budget, a retry loop that wakes its own waker) or
//! a wake from elsewhere (a socket, a timer, a channel's other side, a lock released by another
//! task). A self-wake bumps the task's counter; a wake from elsewhere, and an I/O operation
//! that completes during its poll, reset it. When the counter passes the threshold
//! (`Config::livelock`) the task is reported once, as [`ReportKind::Livelock`]: it has run
//! that many times in a row on nothing but its own say-so, like two polite tasks that each
//! `try_lock` the other's mutex, yield and retry forever.
//!
//! # Lost wake-up
//!
//! Exact, from the reference count (`rt::task::state`): a task that is idle (not queued, not
//! running, not complete) whose count is only what the owned list and its `JoinHandle` hold has
//! no waker anywhere, so nothing can ever poll it again. That is checked when a reference is
//! dropped and when a poll returns `Pending`; such a task is reported once, as
//! [`ReportKind::LostWake`]. Reports found on arbitrary threads (a waker dropped inside some
//! primitive's lock) are queued and sent by the diagnostics thread.

use super::hooks::{REPORTED_LIVELOCK, REPORTED_LOST_WAKE};
use super::{Config, Report, ReportKind};
use crate::loom::{AtomicU64, Mutex, Ordering::Relaxed};
use crate::rt::task::state::{
    CANCELLED, COMPLETE, JOIN_INTEREST, NOTIFIED, OWNED, REF_MASK, REF_ONE, RUNNING,
};
use crate::rt::task::Header;

/// Self-wakes in a row that make a livelock report, 0 when off.
static LIVELOCK_WAKES: AtomicU64 = AtomicU64::new(0);

/// Reports found off the diagnostics thread, waiting to be sent.
static QUEUED: Mutex<Vec<Report>> = Mutex::new(Vec::new());

pub(crate) fn configure(config: &Config) {
    LIVELOCK_WAKES.store(config.livelock_threshold().map_or(0, u64::from), Relaxed);
}

fn label(header: &Header) -> String {
    match &header.meta.name {
        Some(name) => format!("task {} \"{name}\"", header.meta.id),
        None => format!("task {}", header.meta.id),
    }
}

fn report_name(header: &Header) -> String {
    match &header.meta.name {
        Some(name) => name.to_string(),
        None => format!("task {}", header.meta.id),
    }
}

/// A wake of `header`: a self-wake if that task is the one being polled on this thread.
pub(crate) fn on_wake(header: &Header) {
    let counter = &header.diag.self_wakes;
    if crate::rt::current_task_id() == Some(header.meta.id) {
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    } else {
        counter.store(0, Relaxed);
    }
}

/// After a poll of `header` returned `Pending` (home thread).
pub(crate) fn after_pending(header: &Header) {
    let limit = LIVELOCK_WAKES.load(Relaxed);
    let wakes = header.diag.self_wakes.load(Relaxed);
    if limit > 0 && wakes > limit && mark(header, REPORTED_LIVELOCK) {
        let text = format!(
            "weft::diag: possible livelock: {} spawned at {} has woken itself {wakes} times in a \
             row with no I/O, timer or channel progress (threshold {limit}); it keeps retrying \
             something that only another task can change",
            label(header),
            header.meta.site
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
    header.diag.reported.fetch_or(bit, Relaxed) & bit == 0
}

/// Checks whether `header` just became unreachable by any waker; see the module doc.
/// `dropping` is 1 when the caller is about to drop a reference of its own (a waker), 0 when
/// it holds none (the poll that just parked the task).
pub(crate) fn check_lost_wake(header: &Header, dropping: usize) {
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
        header.meta.site,
        if state & JOIN_INTEREST != 0 {
            "its loop's task list and its JoinHandle"
        } else {
            "its loop's task list"
        },
        match header.diag.wait() {
            Some((reason, _)) if crate::rt::with_current(|c| c.is_some_and(|c| c.shared.id == header.home.id)) => {
                format!("; it last waited on {reason:?}")
            }
            _ => String::new(),
        }
    );
    let report = Report::new(ReportKind::LostWake, vec![report_name(header)], text);
    QUEUED.lock().unwrap_or_else(|e| e.into_inner()).push(report);
}

/// Sends the queued reports (on the diagnostics thread).
pub(crate) fn report_pending() {
    let queued = std::mem::take(&mut *QUEUED.lock().unwrap_or_else(|e| e.into_inner()));
    for report in queued {
        super::emit(&report);
    }
}
