//! The broadcast channel's core: the ring, the counts and the waiting receivers, under one lock.
//!
//! Kept free of everything but `crate::loom` and [`super::waiters`], so that
//! `tests/loom_sync_broadcast.rs` compiles this very file against loom's types.
//!
//! The ring keeps the last `capacity` values; position `p` lives in slot `p % capacity`, with
//! `p` and the count of receivers (subscribed when it was sent) that have not read it yet. A
//! send stores at `tail`, overwriting the oldest value when the ring is full, and wakes every
//! waiting receiver. A receiver reads at its own `next`: below the oldest kept position it has
//! lagged (it is moved to the oldest, and told how many it missed); at `tail` it has nothing
//! new, and queues under the same lock the send takes, so a send either comes before its look
//! (it sees the value) or after its queueing (it is woken): no lost wake-up.

use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

struct Slot<T> {
    /// The position the value was sent at.
    pos: u64,
    /// Receivers (subscribed at send time) that have not read it yet.
    unread: usize,
    value: Option<T>,
}

struct State<T> {
    ring: Box<[Slot<T>]>,
    /// The position the next value is sent at.
    tail: u64,
    receivers: usize,
    senders: usize,
    /// Weak senders alive (they do not keep the channel open).
    weak_senders: usize,
    waiters: WaitList<()>,
    /// Senders waiting in `closed()` for the last receiver to go.
    closed: WaitList<()>,
}

/// What one look at the ring found for a receiver.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Look<T> {
    /// The next value.
    Value(T),
    /// The receiver missed this many overwritten values; it now points at the oldest kept.
    Lagged(u64),
    /// Nothing new yet.
    Empty,
    /// Every sender is gone and the receiver has read everything.
    Closed,
}

/// The channel's shared state (one sender and one receiver to start with); see the module doc.
pub(super) struct Core<T> {
    state: Mutex<State<T>>,
}

impl<T> State<T> {
    fn cap(&self) -> u64 {
        self.ring.len() as u64
    }

    fn slot(&mut self, pos: u64) -> &mut Slot<T> {
        let i = (pos % self.cap()) as usize;
        &mut self.ring[i]
    }

    /// Marks positions `from..tail` read by a receiver that leaves.
    fn forget_unread(&mut self, from: u64) {
        let oldest = self.tail.saturating_sub(self.cap());
        for pos in from.max(oldest)..self.tail {
            let slot = self.slot(pos);
            if slot.pos == pos && slot.unread > 0 {
                slot.unread -= 1;
                if slot.unread == 0 {
                    slot.value = None;
                }
            }
        }
    }

    /// Unlinks every waiting receiver, to be woken once the lock is released.
    fn take_waiters(&mut self) -> WakeBatch {
        let mut wakes = WakeBatch::new();
        while let Some((_, waker)) = self.waiters.pop_front() {
            wakes.push(waker);
        }
        wakes
    }
}

impl<T: Clone> State<T> {
    /// Reads the value at `*next` for a receiver.
    fn look(&mut self, next: &mut u64) -> Look<T> {
        if *next >= self.tail {
            return if self.senders == 0 {
                Look::Closed
            } else {
                Look::Empty
            };
        }
        let oldest = self.tail.saturating_sub(self.cap());
        if *next < oldest {
            let missed = oldest - *next;
            *next = oldest;
            return Look::Lagged(missed);
        }
        let pos = *next;
        *next += 1;
        let slot = self.slot(pos);
        debug_assert_eq!(slot.pos, pos);
        slot.unread -= 1;
        let value = if slot.unread == 0 {
            slot.value.take()
        } else {
            slot.value.clone()
        };
        Look::Value(value.expect("a kept value is present until its last reader"))
    }
}

impl<T> Core<T> {
    /// A channel keeping the last `capacity` values (`capacity > 0`, checked by the caller),
    /// with one sender and one receiver (which starts at position 0).
    pub(super) fn new(capacity: usize) -> Core<T> {
        let ring = (0..capacity)
            .map(|_| Slot {
                pos: u64::MAX,
                unread: 0,
                value: None,
            })
            .collect();
        Core {
            state: Mutex::new(State {
                ring,
                tail: 0,
                receivers: 1,
                senders: 1,
                weak_senders: 0,
                waiters: WaitList::new(),
                closed: WaitList::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `value` for every receiver subscribed now and wakes the waiting ones; returns
    /// how many will see it, or the value back if none is subscribed.
    pub(super) fn send(&self, value: T) -> Result<usize, T> {
        let mut st = self.lock();
        if st.receivers == 0 {
            return Err(value);
        }
        let receivers = st.receivers;
        let pos = st.tail;
        let slot = st.slot(pos);
        slot.pos = pos;
        slot.unread = receivers;
        let old = slot.value.replace(value);
        st.tail += 1;
        let wakes = st.take_waiters();
        drop(st);
        drop(old);
        wakes.wake_all();
        Ok(receivers)
    }

    /// Counts a new receiver; returns its first position (the values sent from now on).
    pub(super) fn subscribe(&self) -> u64 {
        let mut st = self.lock();
        st.receivers += 1;
        st.tail
    }

    /// Counts a new sender.
    pub(super) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// Counts a new sender made from a weak one, unless every sender is already gone (then the
    /// channel stays closed and this returns false).
    pub(super) fn try_add_sender(&self) -> bool {
        let mut st = self.lock();
        if st.senders == 0 {
            return false;
        }
        st.senders += 1;
        true
    }

    /// Senders alive now.
    pub(super) fn sender_count(&self) -> usize {
        self.lock().senders
    }

    /// Counts a weak sender coming (`+1`) or going (`-1`).
    pub(super) fn add_weak_sender(&self, delta: isize) {
        let mut st = self.lock();
        st.weak_senders = st.weak_senders.wrapping_add_signed(delta);
    }

    /// Weak senders alive now.
    pub(super) fn weak_sender_count(&self) -> usize {
        self.lock().weak_senders
    }

    /// A sender leaves; the last one wakes every waiting receiver (to see `Closed`).
    pub(super) fn drop_sender(&self) {
        let mut st = self.lock();
        st.senders -= 1;
        let wakes = if st.senders == 0 {
            st.take_waiters()
        } else {
            WakeBatch::new()
        };
        drop(st);
        wakes.wake_all();
    }

    /// A receiver at position `next` leaves: the values it had not read are read for it; the
    /// last one wakes every sender waiting in `closed()`.
    pub(super) fn drop_receiver(&self, next: u64) {
        let mut st = self.lock();
        st.receivers -= 1;
        st.forget_unread(next);
        let mut wakes = WakeBatch::new();
        if st.receivers == 0 {
            while let Some((_, waker)) = st.closed.pop_front() {
                wakes.push(waker);
            }
        }
        drop(st);
        wakes.wake_all();
    }

    /// One poll of a sender's `closed()`: ready once no receiver is left, else queued (or
    /// re-armed) with `waker`, its slot in `key`.
    pub(super) fn poll_closed(&self, key: &mut Option<WaiterKey>, waker: &Waker) -> Poll<()> {
        let mut st = self.lock();
        if st.receivers == 0 {
            if let Some(k) = key.take() {
                st.closed.remove(k);
            }
            return Poll::Ready(());
        }
        match *key {
            Some(k) if st.closed.is_queued(k) => st.closed.set_waker(k, waker),
            Some(k) => {
                st.closed.remove(k);
                *key = Some(st.closed.push_back((), waker));
            }
            None => *key = Some(st.closed.push_back((), waker)),
        }
        Poll::Pending
    }

    /// Frees the slot of a `closed()` that is dropped.
    pub(super) fn unqueue_closed(&self, key: &mut Option<WaiterKey>) {
        if let Some(k) = key.take() {
            self.lock().closed.remove(k);
        }
    }

    /// Receivers subscribed now.
    pub(super) fn receiver_count(&self) -> usize {
        self.lock().receivers
    }

    /// Values kept that some receiver has not read yet.
    pub(super) fn unread_len(&self) -> usize {
        self.lock().ring.iter().filter(|s| s.unread > 0).count()
    }

    /// Values sent from position `next` on (lagged ones included).
    pub(super) fn len_from(&self, next: u64) -> usize {
        (self.lock().tail - next) as usize
    }

    /// True once every sender is gone.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().senders == 0
    }

    /// Frees the slot of a waiting receive that is dropped.
    pub(super) fn unqueue(&self, key: &mut Option<WaiterKey>) {
        if let Some(k) = key.take() {
            self.lock().waiters.remove(k);
        }
    }
}

impl<T: Clone> Core<T> {
    /// One look for the receiver at `*next`, without waiting.
    pub(super) fn try_recv(&self, next: &mut u64) -> Look<T> {
        self.lock().look(next)
    }

    /// One poll of a receive: ready with what the look found, or (nothing new) queued or
    /// re-armed with `waker`, its slot in `key`. Never `Ready(Look::Empty)`.
    pub(super) fn poll_recv(
        &self,
        next: &mut u64,
        key: &mut Option<WaiterKey>,
        waker: &Waker,
    ) -> Poll<Look<T>> {
        let mut st = self.lock();
        let look = st.look(next);
        if let Look::Empty = look {
            match *key {
                Some(k) if st.waiters.is_queued(k) => st.waiters.set_waker(k, waker),
                Some(k) => {
                    st.waiters.remove(k);
                    *key = Some(st.waiters.push_back((), waker));
                }
                None => *key = Some(st.waiters.push_back((), waker)),
            }
            return Poll::Pending;
        }
        if let Some(k) = key.take() {
            st.waiters.remove(k);
        }
        Poll::Ready(look)
    }
}
