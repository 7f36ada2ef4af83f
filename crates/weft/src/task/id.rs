//! Task ids: a task's number, unique in the process, fixed at spawn.
//!
//! Tasks draw their ids from the same counter as the other actors of `weft::sync`'s holder /
//! waiter bookkeeping (OS threads), so an id printed by diagnostics names one task. The id of
//! the task being polled on this thread is kept by the loop while it polls
//! ([`id`], [`try_id`]).

use crate::rt::current_task_id;
use std::fmt;
use std::num::NonZeroU64;

/// A task's id: unique among the tasks of this process for its whole life, never reused.
///
/// ```
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     let task = weft::spawn(async { weft::task::id() });
///     let id = task.id();
///     assert_eq!(task.await.unwrap(), id);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(NonZeroU64);

impl Id {
    /// The id of the task whose header holds `raw`.
    pub(crate) fn from_raw(raw: u64) -> Id {
        Id(NonZeroU64::new(raw).expect("task ids are never 0"))
    }

    /// The id as a number (what diagnostics and logs print).
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The id of the task being polled on this thread.
///
/// # Panics
///
/// Panics outside a task (on a thread between polls, in `block_on`'s own future, in a pool
/// job); see [`try_id`].
#[track_caller]
pub fn id() -> Id {
    try_id().expect("weft::task::id called outside a task (use try_id to ask)")
}

/// The id of the task being polled on this thread, `None` outside a task.
pub fn try_id() -> Option<Id> {
    current_task_id().map(Id::from_raw)
}
