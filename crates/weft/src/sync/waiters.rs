//! The FIFO waiter list every `weft::sync` primitive shares.
//!
//! # Design
//!
//! A [`WaitList<T>`] is a plain data structure, **not** a lock: each primitive keeps it inside its
//! own `crate::loom::Mutex` next to whatever else that lock protects (a semaphore's list alone, a
//! `Notify`'s list and its stored permit ...). That is what makes it usable across threads: every
//! access happens under the primitive's lock, and the lock comes through `crate::loom`, so the
//! loom models see it. Waking happens *after* the lock is released, through a [`WakeBatch`].
//!
//! The list is a slab of slots linked by index into a doubly linked FIFO queue: pushing, unlinking
//! the front and removing any waiter (a cancelled one, from the middle) are O(1), with no
//! allocation once the slab has grown to the largest number of waiters seen at once. Nothing here
//! runs on a primitive's fast path: a waiter is pushed only when it is about to return `Pending`.
//!
//! # A waiter's life
//!
//! A slot is in one of two states while its waiting future owns its [`WaiterKey`]:
//!
//! - **queued**: linked in the FIFO, waiting ([`WaitList::is_queued`] is true);
//! - **unlinked**: taken out of the queue by the primitive, which has *granted* it something
//!   (permits, a notification) or closed it, and recorded that in the slot's data `T`; the slot
//!   stays allocated until the owner collects it.
//!
//! The owner (the waiting future) frees its slot with [`WaitList::remove`], either when it sees
//! the grant on a later poll, or in its `Drop` (cancellation). `remove` returns the data, so a
//! cancelled owner that finds a grant in it **passes the grant on** (the primitive gives the
//! permits back / notifies the next waiter) under the same lock: no grant is lost.
//!
//! # API (all under the primitive's lock)
//!
//! ```text
//! let key = list.push_back(data, cx.waker());   // slow path only; returns the owner's key
//! list.set_waker(key, cx.waker());              // on re-poll: clones only if the task changed
//! list.front() / list.front_mut()               // the oldest queued waiter (key, data)
//! list.pop_front() -> Option<(key, Option<Waker>)> // unlink the oldest, to grant it
//! list.unlink(key) -> Option<Waker>             // unlink a given one (grant out of order)
//! list.is_queued(key); list.get(key); list.get_mut(key)
//! list.remove(key) -> T                         // the owner frees its slot (unlinks if queued)
//! list.len(); list.is_empty()                   // queued waiters only
//! let mut wakes = WakeBatch::new(); wakes.push(waker); drop(lock); wakes.wake_all();
//! ```
//!
//! A key is owned by exactly one waiting future and freed only by it, so keys need no
//! generation counter: a slot is never reused while its key is live.

use std::task::Waker;

/// Marks "no slot" in the links.
const NIL: u32 = u32::MAX;

/// Wakers kept inline by a [`WakeBatch`] before it spills to the heap: enough for the usual
/// release (one or a few waiters) without allocating.
const INLINE_WAKES: usize = 8;

/// Names one waiter's slot in a [`WaitList`]; owned by the waiting future.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterKey(u32);

#[derive(Debug)]
enum Link {
    /// Not in use; `next` free slot.
    Free { next: u32 },
    /// In the FIFO queue.
    Queued { prev: u32, next: u32 },
    /// Owned by a waiter, but out of the queue (granted or closed).
    Unlinked,
}

#[derive(Debug)]
struct Slot<T> {
    link: Link,
    data: Option<T>,
    waker: Option<Waker>,
}

/// A FIFO queue of waiters, each with its waker and the primitive's per-waiter data `T`
/// (permits still needed, a "notified" flag ...). See the module doc.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    slots: Vec<Slot<T>>,
    head: u32,
    tail: u32,
    free: u32,
    queued: usize,
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        WaitList::new()
    }
}

#[allow(dead_code)] // the shared API: not every primitive uses every method
impl<T> WaitList<T> {
    /// An empty list (allocates nothing).
    pub(crate) const fn new() -> WaitList<T> {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            queued: 0,
        }
    }

    /// Number of queued (not yet granted) waiters.
    pub(crate) fn len(&self) -> usize {
        self.queued
    }

    /// True when no waiter is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Queues a new waiter at the back with `data` and a clone of `waker`.
    pub(crate) fn push_back(&mut self, data: T, waker: &Waker) -> WaiterKey {
        let slot = Slot {
            link: Link::Queued {
                prev: self.tail,
                next: NIL,
            },
            data: Some(data),
            waker: Some(waker.clone()),
        };
        let index = if self.free != NIL {
            let index = self.free;
            let Link::Free { next } = self.slots[index as usize].link else {
                unreachable!("the free list links only free slots");
            };
            self.free = next;
            self.slots[index as usize] = slot;
            index
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("weft::sync: more than 4 billion waiters on one primitive");
            self.slots.push(slot);
            index
        };
        if self.tail == NIL {
            self.head = index;
        } else {
            self.set_next(self.tail, index);
        }
        self.tail = index;
        self.queued += 1;
        WaiterKey(index)
    }

    /// True while `key`'s waiter is queued (not unlinked by a grant).
    pub(crate) fn is_queued(&self, key: WaiterKey) -> bool {
        matches!(self.slots[key.0 as usize].link, Link::Queued { .. })
    }

    /// The waiter's data.
    pub(crate) fn get(&self, key: WaiterKey) -> &T {
        self.slots[key.0 as usize]
            .data
            .as_ref()
            .expect("a live key names an occupied slot")
    }

    /// The waiter's data, for the primitive to record a grant.
    pub(crate) fn get_mut(&mut self, key: WaiterKey) -> &mut T {
        self.slots[key.0 as usize]
            .data
            .as_mut()
            .expect("a live key names an occupied slot")
    }

    /// Replaces the waiter's waker with `waker` unless it already wakes the same task.
    pub(crate) fn set_waker(&mut self, key: WaiterKey, waker: &Waker) {
        let slot = &mut self.slots[key.0 as usize].waker;
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }

    /// The oldest queued waiter.
    pub(crate) fn front(&self) -> Option<WaiterKey> {
        (self.head != NIL).then_some(WaiterKey(self.head))
    }

    /// The oldest queued waiter with its data.
    pub(crate) fn front_mut(&mut self) -> Option<(WaiterKey, &mut T)> {
        let key = self.front()?;
        Some((key, self.get_mut(key)))
    }

    /// Unlinks the oldest queued waiter and returns its key and waker (to wake once the lock is
    /// released). Its slot stays for its owner to collect.
    pub(crate) fn pop_front(&mut self) -> Option<(WaiterKey, Option<Waker>)> {
        let key = self.front()?;
        Some((key, self.unlink(key)))
    }

    /// Unlinks the newest queued waiter (LIFO, for `Notify::notify_last`), like
    /// [`pop_front`](Self::pop_front).
    pub(crate) fn pop_back(&mut self) -> Option<(WaiterKey, Option<Waker>)> {
        let key = (self.tail != NIL).then_some(WaiterKey(self.tail))?;
        Some((key, self.unlink(key)))
    }

    /// Takes `key`'s waiter out of the queue (no-op if already unlinked) and returns its waker.
    pub(crate) fn unlink(&mut self, key: WaiterKey) -> Option<Waker> {
        let slot = &mut self.slots[key.0 as usize];
        let Link::Queued { prev, next } = slot.link else {
            return None;
        };
        slot.link = Link::Unlinked;
        let waker = slot.waker.take();
        if prev == NIL {
            self.head = next;
        } else {
            self.set_next(prev, next);
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.set_prev(next, prev);
        }
        self.queued -= 1;
        waker
    }

    /// Frees `key`'s slot (unlinking it first if still queued) and returns its data. Called by
    /// the owner only, once: on seeing its grant, or when cancelled; a cancelled owner that
    /// finds a grant in the data must pass it on.
    pub(crate) fn remove(&mut self, key: WaiterKey) -> T {
        drop(self.unlink(key));
        let slot = &mut self.slots[key.0 as usize];
        slot.link = Link::Free { next: self.free };
        slot.waker = None;
        self.free = key.0;
        slot.data.take().expect("a live key names an occupied slot")
    }

    fn set_next(&mut self, index: u32, to: u32) {
        if let Link::Queued { next, .. } = &mut self.slots[index as usize].link {
            *next = to;
        }
    }

    fn set_prev(&mut self, index: u32, to: u32) {
        if let Link::Queued { prev, .. } = &mut self.slots[index as usize].link {
            *prev = to;
        }
    }
}

/// Wakers gathered under a primitive's lock, woken after it is released (a waker may run
/// arbitrary code, even re-enter the primitive). Holds [`INLINE_WAKES`] inline, then spills.
#[derive(Debug, Default)]
pub(crate) struct WakeBatch {
    inline: [Option<Waker>; INLINE_WAKES],
    len: usize,
    spill: Vec<Waker>,
}

impl WakeBatch {
    /// An empty batch.
    pub(crate) fn new() -> WakeBatch {
        WakeBatch::default()
    }

    /// Adds a waker (None is ignored, for `pop_front`'s output).
    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.len < INLINE_WAKES {
            self.inline[self.len] = Some(waker);
            self.len += 1;
        } else {
            self.spill.push(waker);
        }
    }

    /// Wakes everything gathered. Call with no lock held.
    pub(crate) fn wake_all(mut self) {
        for slot in &mut self.inline[..self.len] {
            if let Some(w) = slot.take() {
                w.wake();
            }
        }
        for w in self.spill.drain(..) {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn fifo_order_and_removal_from_the_middle() {
        let mut list = WaitList::new();
        let w = Waker::noop();
        let a = list.push_back('a', w);
        let b = list.push_back('b', w);
        let c = list.push_back('c', w);
        assert_eq!(list.len(), 3);
        assert_eq!(list.remove(b), 'b');
        let (k, _) = list.pop_front().unwrap();
        assert_eq!(k, a);
        assert!(!list.is_queued(a));
        assert_eq!(list.front(), Some(c));
        // The freed slot of b is reused.
        let d = list.push_back('d', w);
        assert_eq!(d, b);
        assert_eq!(list.pop_front().unwrap().0, c);
        assert_eq!(list.pop_front().unwrap().0, d);
        assert!(list.is_empty());
        assert_eq!(list.remove(a), 'a');
    }
}
