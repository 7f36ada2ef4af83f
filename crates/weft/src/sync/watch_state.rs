//! The watch channel's core: the value, its version, the receiver count and the waiters.
//!
//! Kept free of everything but `crate::loom` and [`super::waiters`], so that
//! `tests/loom_sync_watch.rs` compiles this very file against loom's types.
//!
//! The value sits behind a readers-writer lock (borrows share it; a send holds it only to
//! store). A version counter (an atomic, the lowest bit meaning "the sender is gone") is bumped
//! after each store, still under the write lock: a receiver that sees a version and then reads
//! the value reads that value or a later one, and one that reads the version under the read
//! lock reads the very version of the value it borrows. Waiting receivers queue in a `WaitList` behind a separate short lock;
//! a receiver checks the version again under that lock before it queues, and a sender bumps
//! the version before it takes that lock to wake, so no change is missed.

use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering, RwLock, RwLockReadGuard};
use std::task::{Poll, Waker};

/// The version's "sender gone" bit; versions step by [`STEP`].
pub(super) const CLOSED: u64 = 1;
/// One send's step of the version (above the [`CLOSED`] bit).
pub(super) const STEP: u64 = 2;

/// The sender is gone and nothing unseen is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Closed;

struct Waiters {
    changed: WaitList<()>,
    closed: WaitList<()>,
}

/// The channel's shared state (one receiver to start with); see the module doc.
pub(super) struct State<T> {
    value: RwLock<T>,
    version: AtomicU64,
    receivers: AtomicUsize,
    senders: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl<T> State<T> {
    /// A channel holding `init`, at version 0, with one receiver.
    pub(super) fn new(init: T) -> State<T> {
        State {
            value: RwLock::new(init),
            version: AtomicU64::new(0),
            receivers: AtomicUsize::new(1),
            senders: AtomicUsize::new(1),
            waiters: Mutex::new(Waiters {
                changed: WaitList::new(),
                closed: WaitList::new(),
            }),
        }
    }

    fn waiters(&self) -> MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A shared borrow of the value.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, T> {
        self.value.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Borrows the value and marks it seen by a receiver that last saw `*seen`; true if it
    /// had not seen it. The version is read under the read lock, so it is the borrowed value's.
    pub(super) fn borrow_and_update(&self, seen: &mut u64) -> (RwLockReadGuard<'_, T>, bool) {
        let guard = self.read();
        let version = self.version() & !CLOSED;
        let changed = version != *seen;
        *seen = version;
        (guard, changed)
    }

    /// The version word (with the [`CLOSED`] bit).
    pub(super) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Modifies the value under the write lock; if `modify` returns true, bumps the version
    /// and wakes every waiting receiver. Returns what `modify` returned.
    pub(super) fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let mut guard = self.value.write().unwrap_or_else(|e| e.into_inner());
        let modified = modify(&mut guard);
        if modified {
            // Under the write lock, so a reader holding the read lock sees a value and version
            // that match (`borrow_and_update` marks exactly what it reads).
            self.version.fetch_add(STEP, Ordering::Release);
        }
        drop(guard);
        if modified {
            self.wake_changed();
        }
        modified
    }

    /// The last sender leaves: sets the [`CLOSED`] bit and wakes every waiting receiver.
    pub(super) fn close(&self) {
        self.version.fetch_or(CLOSED, Ordering::Release);
        self.wake_changed();
    }

    fn wake_changed(&self) {
        let mut wakes = WakeBatch::new();
        let mut w = self.waiters();
        while let Some((_, waker)) = w.changed.pop_front() {
            wakes.push(waker);
        }
        drop(w);
        wakes.wake_all();
    }

    /// Receivers alive now.
    pub(super) fn receiver_count(&self) -> usize {
        self.receivers.load(Ordering::Acquire)
    }

    /// Senders alive now.
    pub(super) fn sender_count(&self) -> usize {
        self.senders.load(Ordering::Acquire)
    }

    /// Counts a new sender (a clone).
    pub(super) fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::AcqRel);
    }

    /// A sender leaves; the last one closes the channel ([`State::close`]).
    pub(super) fn drop_sender(&self) {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.close();
        }
    }

    /// Counts a new receiver.
    pub(super) fn add_receiver(&self) {
        self.receivers.fetch_add(1, Ordering::AcqRel);
    }

    /// A receiver leaves; the last one wakes every `closed()` waiter.
    pub(super) fn drop_receiver(&self) {
        if self.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            let mut wakes = WakeBatch::new();
            let mut w = self.waiters();
            while let Some((_, waker)) = w.closed.pop_front() {
                wakes.push(waker);
            }
            drop(w);
            wakes.wake_all();
        }
    }

    /// For a receiver that last saw version `*seen`: `Ok` (and `*seen` updated) if a newer
    /// value was sent, `Err` if the sender is gone and nothing newer is left, `None` otherwise.
    fn check(&self, seen: &mut u64) -> Option<Result<(), Closed>> {
        let version = self.version();
        if version & !CLOSED != *seen {
            *seen = version & !CLOSED;
            Some(Ok(()))
        } else if version & CLOSED != 0 {
            Some(Err(Closed))
        } else {
            None
        }
    }

    /// One poll of `changed()`: ready as [`check`](Self::check) says, else queued (or
    /// re-armed) with `waker`, its slot in `key`.
    pub(super) fn poll_changed(
        &self,
        seen: &mut u64,
        key: &mut Option<WaiterKey>,
        waker: &Waker,
    ) -> Poll<Result<(), Closed>> {
        if let Some(out) = self.check(seen) {
            return Poll::Ready(out);
        }
        let mut w = self.waiters();
        if let Some(out) = self.check(seen) {
            if let Some(k) = key.take() {
                w.changed.remove(k);
            }
            return Poll::Ready(out);
        }
        match *key {
            Some(k) if w.changed.is_queued(k) => w.changed.set_waker(k, waker),
            Some(k) => {
                w.changed.remove(k);
                *key = Some(w.changed.push_back((), waker));
            }
            None => *key = Some(w.changed.push_back((), waker)),
        }
        Poll::Pending
    }

    /// Frees the slot of a `changed()` that is dropped.
    pub(super) fn unqueue_changed(&self, key: &mut Option<WaiterKey>) {
        if let Some(k) = key.take() {
            self.waiters().changed.remove(k);
        }
    }

    /// One poll of the sender's `closed()`: ready once no receiver is left, else queued.
    pub(super) fn poll_closed(&self, key: &mut Option<WaiterKey>, waker: &Waker) -> Poll<()> {
        let mut w = self.waiters();
        if self.receiver_count() == 0 {
            if let Some(k) = key.take() {
                w.closed.remove(k);
            }
            return Poll::Ready(());
        }
        match *key {
            Some(k) if w.closed.is_queued(k) => w.closed.set_waker(k, waker),
            Some(k) => {
                w.closed.remove(k);
                *key = Some(w.closed.push_back((), waker));
            }
            None => *key = Some(w.closed.push_back((), waker)),
        }
        Poll::Pending
    }

    /// Frees the slot of a `closed()` that is dropped.
    pub(super) fn unqueue_closed(&self, key: &mut Option<WaiterKey>) {
        if let Some(k) = key.take() {
            self.waiters().closed.remove(k);
        }
    }
}
