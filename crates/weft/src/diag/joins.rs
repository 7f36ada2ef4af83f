//! `JoinHandle` awaits in the wait-for graph: a task awaiting another's handle waits on that
//! task's output, which the task itself holds until it completes.
//!
//! Unlike a lock future, a `JoinHandle` outlives a `select!` that raced it (`&mut handle` is
//! cancel safe and is often polled again later), so a wait tied to the handle's lifetime would
//! stay recorded while its task does something else. So a join wait lasts only **from a
//! pending poll of the handle to the next poll of the waiting task**: the task's next poll
//! ends it ([`poll_started`]), and polling the handle again (still pending) records it anew.
//! A handle that becomes ready or is dropped ends it too. The keys are kept per loop thread
//! (a task never leaves its loop), so a poll costs no shared lock.

use crate::rt::task::raw_join::RawJoin;
use crate::sync::trace::{self, KeyHasher};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

thread_local! {
    /// Join waits recorded by each task's last poll on this thread: task id → wait keys.
    static BY_TASK: RefCell<HashMap<u64, JoinKeys, BuildHasherDefault<KeyHasher>>> =
        RefCell::new(HashMap::default());
}

/// The join waits of one task's last poll: usually one (a task awaits one handle at a time),
/// kept inline; more (`join!` over several handles) in `more`.
struct JoinKeys {
    first: u64,
    more: Vec<u64>,
}

/// A `JoinHandle` was polled (`pending` or not) or dropped (`pending` false). The key of the
/// wait it recorded last time lives in the awaited task's diagnostics word (a task has one
/// handle; `hooks::DiagSlot`), so a handle with diagnostics off pays one load of that word.
#[inline]
pub(crate) fn join_polled(raw: &RawJoin, pending: bool) {
    let on = pending && super::deadlocks_on();
    let diag = &raw.header().diag;
    let prev = diag.take_join_wait();
    if prev == 0 && !on {
        return;
    }
    trace::end_wait(prev);
    if !on {
        return;
    }
    let key = trace::wait_join(raw.task_id(), raw.spawn_site());
    diag.set_join_wait(key);
    if let Some(task) = crate::rt::current_task_id() {
        BY_TASK.with(|m| {
            m.borrow_mut()
                .entry(task)
                .and_modify(|keys| keys.more.push(key))
                .or_insert(JoinKeys {
                    first: key,
                    more: Vec::new(),
                });
        });
    }
}

/// A task's poll starts: the join waits its previous poll recorded end (see the module doc).
#[inline]
pub(crate) fn poll_started(task: u64) {
    if !super::deadlocks_on() {
        return;
    }
    let keys = BY_TASK.with(|m| {
        let mut m = m.borrow_mut();
        // Most polls follow no pending join: no lookup at all.
        if m.is_empty() {
            None
        } else {
            m.remove(&task)
        }
    });
    if let Some(keys) = keys {
        trace::end_wait(keys.first);
        for key in keys.more {
            trace::end_wait(key);
        }
    }
}
