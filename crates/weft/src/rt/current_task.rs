//! Who is running on this thread: the task being polled, or the OS thread itself.
//!
//! Tasks and OS threads draw their ids from one counter, so an id names one actor; the
//! holder/waiter bookkeeping of `weft::sync` and diagnostics name actors by these ids. A task's
//! poll marks it current ([`enter_task`]); a thread outside any task gets its own id on first use.

use crate::loom::{AtomicU64, Ordering::Relaxed};
use std::cell::Cell;

thread_local! {
    /// The id of the task being polled on this thread, 0 between polls.
    static CURRENT_TASK: Cell<u64> = const { Cell::new(0) };
    /// This OS thread's actor id, 0 until first asked for.
    static THREAD_ACTOR: Cell<u64> = const { Cell::new(0) };
    /// The header of the task being polled (type-erased), null between polls; `weft::diag`
    /// takes a counted reference to it when the task parks.
    static POLLING: Cell<*const ()> = const { Cell::new(std::ptr::null()) };
}

/// Ids for tasks and for OS threads come from one counter, so an id names one actor.
static NEXT_ACTOR_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh actor id (task or thread); never 0.
pub(crate) fn next_actor_id() -> u64 {
    NEXT_ACTOR_ID.fetch_add(1, Relaxed)
}

/// Marks a task as the one being polled on this thread until the guard drops.
pub(crate) struct TaskGuard {
    previous: u64,
}

/// Records `id` as the task being polled; the previous one (a task polled inside another's
/// poll, as `block_on` in a green thread does) is put back when the guard drops.
#[inline]
pub(crate) fn enter_task(id: u64) -> TaskGuard {
    TaskGuard {
        previous: CURRENT_TASK.with(|c| c.replace(id)),
    }
}

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.previous));
    }
}

/// The id of the task being polled on this thread, if any.
#[inline]
pub(crate) fn current_task_id() -> Option<u64> {
    Some(CURRENT_TASK.with(Cell::get)).filter(|&id| id != 0)
}

/// This OS thread's actor id (assigned on first use).
pub(crate) fn current_thread_actor_id() -> u64 {
    THREAD_ACTOR.with(|c| {
        if c.get() == 0 {
            c.set(next_actor_id());
        }
        c.get()
    })
}

/// Marks the task whose header is at `header` (id `id`) as polled on this thread until the
/// guard drops, and tells `weft::diag` when the poll starts and ends (it ends the join waits
/// of the previous poll, and checks the waits this poll recorded).
pub(crate) fn enter_polling(header: *const (), id: u64) -> PollingGuard {
    crate::diag::poll_started(id);
    PollingGuard {
        previous: POLLING.with(|p| p.replace(header)),
    }
}

/// Puts the previous polled task back; see [`enter_polling`].
pub(crate) struct PollingGuard {
    previous: *const (),
}

impl Drop for PollingGuard {
    fn drop(&mut self) {
        POLLING.with(|p| p.set(self.previous));
        crate::diag::poll_ended();
    }
}

/// The header of the task being polled on this thread, null between polls.
pub(crate) fn current_polling() -> *const () {
    POLLING.with(Cell::get)
}
