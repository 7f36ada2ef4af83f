//! The wake-up list of a `JoinSet`: which members' tasks have finished since the set last
//! looked, in the order they finished.
//!
//! Each member has a [`Member`] waker registered in its task. When the task completes, the
//! waker pushes the member's [`Ready`] entry on the shared list (once: its `queued` flag keeps
//! it from being pushed twice) and wakes the set's own waker. The set takes the whole list with
//! one lock ([`ReadyList::take_all`]), clears a member's flag ([`Member::clear`]) just before it
//! polls that member, and registers its waker only if the list is empty
//! ([`ReadyList::register_unless_ready`]), all under the list's lock, so no completion is lost:
//!
//! - a completion before the set's `clear` finds `queued` set and does not push, but the
//!   `clear` (a read-modify-write) reads from it and so the poll after it sees the completion;
//! - a completion after the `clear` pushes, and the next `take_all` finds it;
//! - a push after the set found the list empty finds the registered waker and wakes it.
//!
//! This file uses nothing but `crate::loom` and `std::task`, so that
//! `tests/loom_task_ready_list.rs` compiles it against loom's types and checks those races.

use crate::loom::{Arc, AtomicBool, Mutex, MutexGuard, Ordering::*};
use std::task::{Wake, Waker};

/// One ready-list entry: a member's slot in the set and the generation of the member that
/// was woken in it (a slot is reused after its member leaves; stale entries are skipped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ready {
    pub(crate) index: usize,
    pub(crate) generation: u64,
}

/// What the set and its members' wakers share.
#[derive(Debug)]
pub(crate) struct ReadyList {
    state: Mutex<ListState>,
}

#[derive(Debug)]
struct ListState {
    ready: Vec<Ready>,
    /// The waker of whoever awaits the set, if it found the list empty.
    waker: Option<Waker>,
}

impl ReadyList {
    /// An empty list.
    pub(crate) fn new() -> ReadyList {
        ReadyList {
            state: Mutex::new(ListState {
                ready: Vec::new(),
                waker: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ListState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves every entry into `into` (which must be empty), in the order they were pushed.
    /// False if there was none.
    pub(crate) fn take_all(&self, into: &mut Vec<Ready>) -> bool {
        debug_assert!(into.is_empty());
        let mut state = self.lock();
        std::mem::swap(into, &mut state.ready);
        !into.is_empty()
    }

    /// Registers `waker` to be woken by the next push, unless an entry is already there
    /// (then returns true and registers nothing: the caller takes the entries instead).
    pub(crate) fn register_unless_ready(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        if !state.ready.is_empty() {
            return true;
        }
        if !state.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            state.waker = Some(waker.clone());
        }
        false
    }

    /// Forgets every entry (the set detached all its members).
    pub(crate) fn clear(&self) {
        self.lock().ready.clear();
    }

    fn push(&self, ready: Ready) {
        let waker = {
            let mut state = self.lock();
            state.ready.push(ready);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// One member's waker: completion of its task queues its entry.
#[derive(Debug)]
pub(crate) struct Member {
    ready: Ready,
    /// True while this member's entry is on the list (or about to be polled by the set).
    queued: AtomicBool,
    list: Arc<ReadyList>,
}

impl Member {
    /// A member for slot `ready` of the set that owns `list`, not queued.
    pub(crate) fn new(list: Arc<ReadyList>, ready: Ready) -> Member {
        Member {
            ready,
            queued: AtomicBool::new(false),
            list,
        }
    }

    /// Queues the member's entry unless it is queued already, and wakes the set.
    pub(crate) fn notify(&self) {
        if !self.queued.swap(true, AcqRel) {
            self.list.push(self.ready);
        }
    }

    /// Marks the member as not queued; the set calls it just before polling the member.
    /// A read-modify-write, not a store: if a completion's `notify` came first (and so did
    /// not queue the member), this reads from it and thereby sees everything that preceded
    /// the completion, so the poll that follows finds the output.
    pub(crate) fn clear(&self) {
        self.queued.swap(false, AcqRel);
    }

    /// Marks the member queued without pushing it (the set found it finished as it was added,
    /// and queued it on its own list).
    pub(crate) fn set_queued(&self) {
        self.queued.store(true, Relaxed);
    }
}

impl Wake for Member {
    fn wake(self: std::sync::Arc<Self>) {
        self.notify();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.notify();
    }
}
