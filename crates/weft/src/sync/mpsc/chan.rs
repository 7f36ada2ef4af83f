//! The locked mpsc core: a queue, its capacity and its waiters, behind one lock. The unbounded
//! channel's, and a bounded channel's when its ring would be too large to make up front (the
//! `ring` module has the bounded channel's usual core).
//!
//! Kept free of everything but `crate::loom`, `crate::sync::waiters` and its sibling `peers`,
//! so that `tests/loom_sync_mpsc.rs` compiles this very file against loom's types.
//!
//! # Design: one short lock, not a lock-free list
//!
//! Every operation takes the channel's lock once, for a few instructions (a `VecDeque` push or
//! pop and a waker slot): a spin lock (`crate::loom::StateLock`, `crate::spin_lock`), one CAS
//! to lock and one store to unlock, which a sender and a receiver on two threads never put to
//! sleep in the kernel; cheaper
//! than a lock-free block list *and* a separate semaphore (tokio's shape: several atomic RMWs
//! per message), and it keeps capacity, queue and waiters consistent by construction, which is
//! what makes close-vs-send and the wake-up protocol simple to argue:
//!
//! - **Receiver wake-up**: the receiver stores its waker under the lock when it finds the queue
//!   empty; a sender that pushes takes the waker under the same lock and wakes it after
//!   unlocking. So a push either happens before the receiver looks (it sees the value) or after
//!   it stored its waker (the sender wakes it): no lost wake-up. One wake per empty→non-empty
//!   episode, not per message.
//! - **Capacity** (bounded only): a slot is *used* by a queued value or by a reserved permit.
//!   A sender that finds too few free slots, or finds senders already queued (no barging),
//!   queues in a FIFO [`WaitList`] with the number it needs (1 for `send`, `n` for
//!   `reserve_many`). The front waiter collects every freed slot (counted as reserved for it)
//!   until it has all it needs, and only then does the next waiter collect: a waiter for `n`
//!   slots gets them all at once, and no one behind it overtakes it (tokio's semaphore order).
//!   A waiter cancelled with slots collected or granted passes them on to the next one.
//! - **Close** (receiver closed or dropped): under the lock, so a send either lands before it
//!   (and is received or dropped with the queue) or sees it and fails with its value back.
//!   Queued senders are woken with "closed".

use super::peers::Peers;
use crate::loom::{StateGuard, StateLock};
use crate::sync::waiters::{WaitList, WaiterKey, WakeBatch};
use std::collections::VecDeque;
use std::task::{Context, Poll};

/// The capacity of an unbounded channel.
pub(crate) const UNBOUNDED: usize = usize::MAX;

/// Where a queued sender stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Still queued: it wants `need` slots and `got` of them are already reserved for it
    /// (counted in `reserved`; only the front waiter collects).
    Waiting { need: usize, got: usize },
    /// All the `n` slots it asked for are reserved for it.
    Slots(usize),
    /// The receiver closed (the slots it had collected were given back).
    Closed,
}

impl Grant {
    /// The slots reserved for this waiter so far (what its cancellation passes on).
    pub(crate) fn held(self) -> usize {
        match self {
            Grant::Waiting { got, .. } => got,
            Grant::Slots(n) => n,
            Grant::Closed => 0,
        }
    }
}

/// A queued sender's poll after the first (`key` is Some): Pending while it still waits (with
/// its waker updated), else its outcome (true: its slots are reserved; false: closed), its
/// queue slot freed and `key` cleared. None if it is not queued yet.
pub(crate) fn poll_granted(
    waiters: &mut WaitList<Grant>,
    key: &mut Option<WaiterKey>,
    cx: &mut Context<'_>,
) -> Option<Poll<bool>> {
    let k = (*key)?;
    Some(match *waiters.get(k) {
        Grant::Waiting { .. } => {
            waiters.set_waker(k, cx.waker());
            Poll::Pending
        }
        grant => {
            waiters.remove(k);
            *key = None;
            Poll::Ready(matches!(grant, Grant::Slots(_)))
        }
    })
}

/// Why a send without waiting failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TryPush<T> {
    /// No free slot (or senders are queued ahead).
    Full(T),
    /// The receiver closed or was dropped.
    Closed(T),
}

/// What a receive without waiting found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TryPop<T> {
    Value(T),
    /// Nothing queued; senders may still send.
    Empty,
    /// Nothing queued and nothing can come any more.
    Done,
}

struct State<T> {
    queue: VecDeque<T>,
    /// Slots reserved by permits (granted or taken) and not yet filled or released.
    reserved: usize,
    peers: Peers,
    rx_closed: bool,
    send_waiters: WaitList<Grant>,
}

impl<T> State<T> {
    fn used(&self) -> usize {
        self.queue.len() + self.reserved
    }

    /// Nothing queued, and no sender or permit can add anything.
    fn done(&self) -> bool {
        self.queue.is_empty() && (self.peers.senders == 0 || (self.rx_closed && self.reserved == 0))
    }
}

/// The shared core of one mpsc channel.
pub(crate) struct Chan<T> {
    cap: usize,
    state: StateLock<State<T>>,
}

impl<T> Chan<T> {
    /// A channel of `cap` slots ([`UNBOUNDED`] for no limit) with one sender.
    pub(crate) fn new(cap: usize) -> Chan<T> {
        Chan {
            cap,
            state: StateLock::new(State {
                queue: VecDeque::new(),
                reserved: 0,
                peers: Peers::new(),
                rx_closed: false,
                send_waiters: WaitList::new(),
            }),
        }
    }

    fn lock(&self) -> StateGuard<'_, State<T>> {
        self.state.lock()
    }

    /// The capacity given at creation.
    pub(crate) fn max_capacity(&self) -> usize {
        self.cap
    }

    /// Queues `value` if a slot is free and no sender is queued ahead.
    pub(crate) fn try_push(&self, value: T) -> Result<(), TryPush<T>> {
        let mut st = self.lock();
        if st.rx_closed {
            return Err(TryPush::Closed(value));
        }
        if self.cap != UNBOUNDED && (st.used() >= self.cap || !st.send_waiters.is_empty()) {
            return Err(TryPush::Full(value));
        }
        st.queue.push_back(value);
        let waker = st.peers.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Reserves a slot without waiting: Ok, or `Full(())`/`Closed(())`.
    pub(crate) fn try_reserve(&self) -> Result<(), TryPush<()>> {
        self.try_reserve_many(1)
    }

    /// Reserves `n` slots at once without waiting (all or none): Ok, or `Full(())` when fewer
    /// than `n` are free or a sender is queued ahead, `Closed(())` when the receiver is gone.
    pub(crate) fn try_reserve_many(&self, n: usize) -> Result<(), TryPush<()>> {
        let mut st = self.lock();
        if st.rx_closed {
            return Err(TryPush::Closed(()));
        }
        if n > self.cap - st.used().min(self.cap) || !st.send_waiters.is_empty() {
            return Err(TryPush::Full(()));
        }
        st.reserved += n;
        Ok(())
    }

    /// Waits for `need` slots (at most the capacity). `key` is the caller's queue slot (None
    /// before the first poll, and again once this returned Ready); a caller dropped while `key`
    /// is Some must call [`cancel_reserve`](Self::cancel_reserve). Ready(true): the `need`
    /// slots are reserved for the caller; Ready(false): the receiver closed.
    pub(crate) fn poll_reserve(
        &self,
        key: &mut Option<WaiterKey>,
        need: usize,
        cx: &mut Context<'_>,
    ) -> Poll<bool> {
        let mut st = self.lock();
        if let Some(outcome) = poll_granted(&mut st.send_waiters, key, cx) {
            return outcome;
        }
        if st.rx_closed {
            return Poll::Ready(false);
        }
        debug_assert!(need <= self.cap, "reserve_many checks the capacity");
        let free = self.cap - st.used().min(self.cap);
        if st.send_waiters.is_empty() {
            if free >= need {
                st.reserved += need;
                return Poll::Ready(true);
            }
            // First in line: the free slots are ours already, the rest come as they are freed.
            st.reserved += free;
            *key = Some(
                st.send_waiters
                    .push_back(Grant::Waiting { need, got: free }, cx.waker()),
            );
        } else {
            *key = Some(
                st.send_waiters
                    .push_back(Grant::Waiting { need, got: 0 }, cx.waker()),
            );
        }
        Poll::Pending
    }

    /// A waiting reserve is dropped: frees its queue slot and passes on the slots collected or
    /// granted for it.
    pub(crate) fn cancel_reserve(&self, key: WaiterKey) {
        let mut st = self.lock();
        let mut wakes = WakeBatch::new();
        let held = st.send_waiters.remove(key).held();
        if held > 0 {
            st.reserved -= held;
            self.grant(&mut st, &mut wakes);
            if st.done() {
                wakes.push(st.peers.rx_waker.take()); // a closed receiver may wait for this slot
            }
        }
        drop(st);
        wakes.wake_all();
    }

    /// Fills a reserved slot with `value`.
    pub(crate) fn push_reserved(&self, value: T) {
        let mut st = self.lock();
        st.reserved -= 1;
        st.queue.push_back(value);
        let waker = st.peers.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Gives back a reserved slot unused.
    pub(crate) fn release_reserved(&self) {
        self.release_reserved_many(1);
    }

    /// [`release_reserved`](Self::release_reserved) for `n` slots at once (one lock).
    pub(crate) fn release_reserved_many(&self, n: usize) {
        let mut st = self.lock();
        let mut wakes = WakeBatch::new();
        st.reserved -= n;
        self.grant(&mut st, &mut wakes);
        if st.done() {
            wakes.push(st.peers.rx_waker.take());
        }
        drop(st);
        wakes.wake_all();
    }

    /// Gives free slots to the front queued sender until it has all it needs, then to the
    /// next, and so on; wakes each one that is complete.
    fn grant(&self, st: &mut State<T>, wakes: &mut WakeBatch) {
        loop {
            let free = self.cap - st.used().min(self.cap);
            if free == 0 {
                break;
            }
            let Some((_, Grant::Waiting { need, got })) = st.send_waiters.front_mut() else {
                break;
            };
            let take = free.min(*need - *got);
            *got += take;
            let (complete, n) = (*got == *need, *need);
            st.reserved += take;
            if !complete {
                break;
            }
            let (key, waker) = st.send_waiters.pop_front().expect("the front waiter");
            *st.send_waiters.get_mut(key) = Grant::Slots(n);
            wakes.push(waker);
        }
    }

    /// Takes the oldest value without waiting.
    pub(crate) fn try_pop(&self) -> TryPop<T> {
        let mut st = self.lock();
        match st.queue.pop_front() {
            Some(v) => {
                self.after_pop(st);
                TryPop::Value(v)
            }
            None if st.done() => TryPop::Done,
            None => TryPop::Empty,
        }
    }

    /// A slot was freed: grant it to a queued sender (if any), then unlock and wake.
    fn after_pop(&self, mut st: StateGuard<'_, State<T>>) {
        if st.send_waiters.is_empty() {
            return;
        }
        let mut wakes = WakeBatch::new();
        self.grant(&mut st, &mut wakes);
        drop(st);
        wakes.wake_all();
    }

    /// Takes the oldest value, or registers the receiver's waker. Ready(None) once the channel
    /// is empty and nothing can come.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut st = self.lock();
        match st.queue.pop_front() {
            Some(v) => {
                self.after_pop(st);
                Poll::Ready(Some(v))
            }
            None if st.done() => Poll::Ready(None),
            None => {
                st.peers.store_rx_waker(cx.waker());
                Poll::Pending
            }
        }
    }

    /// One value for the receiver: an unbounded channel moves every queued value into the
    /// receiver's `batch` (empty when called) at once and returns the first (one lock per
    /// batch: it has no slots to hand back); a bounded one takes one value, whose slot is freed
    /// as it is taken.
    pub(crate) fn poll_recv(
        &self,
        batch: &mut VecDeque<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<T>> {
        if self.cap != UNBOUNDED {
            return self.poll_pop(cx);
        }
        match self.poll_take_all(batch, cx) {
            Poll::Ready(true) => Poll::Ready(batch.pop_front()),
            Poll::Ready(false) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Moves every queued value into `into` (which must be empty) at once, or registers the
    /// receiver's waker: the unbounded receiver's batch, so that it takes the lock once per
    /// batch instead of once per value (an unbounded channel has no slots to hand back).
    /// Ready(false) once the channel is empty and nothing can come.
    pub(crate) fn poll_take_all(&self, into: &mut VecDeque<T>, cx: &mut Context<'_>) -> Poll<bool> {
        debug_assert!(self.cap == UNBOUNDED && into.is_empty());
        let mut st = self.lock();
        if !st.queue.is_empty() {
            std::mem::swap(&mut st.queue, into);
            return Poll::Ready(true);
        }
        if st.done() {
            return Poll::Ready(false);
        }
        st.peers.store_rx_waker(cx.waker());
        Poll::Pending
    }

    /// Moves up to `limit` values into `buf`, or registers the waker if none is queued.
    /// Ready(0) once the channel is empty and nothing can come (or `limit` is 0).
    pub(crate) fn poll_pop_many(
        &self,
        buf: &mut Vec<T>,
        limit: usize,
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let mut st = self.lock();
        let n = st.queue.len().min(limit);
        if n > 0 {
            buf.extend(st.queue.drain(..n));
            self.after_pop(st);
            return Poll::Ready(n);
        }
        if st.done() {
            return Poll::Ready(0);
        }
        st.peers.store_rx_waker(cx.waker());
        Poll::Pending
    }

    /// The receiver closes: sends fail from now on, queued senders and `closed()` waiters wake.
    /// Values already queued (or sent through permits already held) can still be received.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        if st.rx_closed {
            return;
        }
        st.rx_closed = true;
        let mut wakes = WakeBatch::new();
        while let Some((key, waker)) = st.send_waiters.pop_front() {
            if let Grant::Waiting { got, .. } = *st.send_waiters.get(key) {
                st.reserved -= got;
            }
            *st.send_waiters.get_mut(key) = Grant::Closed;
            wakes.push(waker);
        }
        st.peers.wake_closed_waiters(&mut wakes);
        drop(st);
        wakes.wake_all();
    }

    /// The receiver is dropped: closes, and drops the queued values (outside the lock).
    pub(crate) fn drop_receiver(&self) {
        self.close();
        let mut st = self.lock();
        let queue = std::mem::take(&mut st.queue);
        st.peers.rx_waker = None;
        drop(st);
        drop(queue);
    }

    /// True once the receiver closed or was dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().rx_closed
    }

    /// Waits for the receiver to close; `key` as in [`poll_reserve`](Self::poll_reserve), freed
    /// by [`cancel_closed`](Self::cancel_closed) if dropped while Some.
    pub(crate) fn poll_closed(
        &self,
        key: &mut Option<WaiterKey>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut st = self.lock();
        let closed = st.rx_closed;
        st.peers.poll_closed(closed, key, cx)
    }

    /// A waiting `closed()` is dropped.
    pub(crate) fn cancel_closed(&self, key: WaiterKey) {
        self.lock().peers.cancel_closed(key);
    }

    /// One more sender (a clone).
    pub(crate) fn add_sender(&self) {
        self.lock().peers.senders += 1;
    }

    /// One more sender unless none is left (a weak sender upgrading).
    pub(crate) fn try_add_sender(&self) -> bool {
        self.lock().peers.try_add_sender()
    }

    /// One sender fewer; the last one wakes the receiver (it will see the end).
    pub(crate) fn drop_sender(&self) {
        let waker = self.lock().peers.drop_sender();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Live senders.
    pub(crate) fn senders(&self) -> usize {
        self.lock().peers.senders
    }

    /// Queued values.
    pub(crate) fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Free slots (queued values and reserved permits use slots).
    pub(crate) fn capacity(&self) -> usize {
        let st = self.lock();
        self.cap.saturating_sub(st.used())
    }
}
