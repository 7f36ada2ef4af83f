//! The bounded mpsc channel's core: the values in a ring of slots that the senders and the
//! receiver reach without a lock, the capacity in one atomic word, and a lock only for waiting.
//!
//! Kept free of everything but `crate::loom`, `crate::sync::waiters` and its sibling `chan`
//! (for the result types), so that `tests/loom_sync_mpsc.rs` compiles this very file against
//! loom's types.
//!
//! # Design: why not one short lock, as the unbounded channel has
//!
//! With one lock around the queue (the `chan` module), a sender on one thread and the receiver
//! on another take it in turn for every value, and when they run in step the lock's cache line
//! and the spinning for it cross between the two cores on every message: measured on two loops,
//! the lock made the channel 2.25x tokio's time in some runs and 0.5x in others. Here a value
//! costs its sender one compare-exchange on the **word** and a store into its slot, and the
//! receiver a load and a store in the slot and one subtraction on the word; no one ever spins
//! for a lock on this path. The lock (`Locked`) guards only what is not on it: the waiting
//! senders, the receiver's waker, the sender count, the `closed()` waiters.
//!
//! The ring has a slot for every unit of capacity (rounded up to a power of two), made when
//! the channel is made, as crossbeam's and async-channel's bounded channels do; the caller
//! (`core::BoundedCore`) uses this core only while that array is small ([`RingChan::fits`]),
//! and the locked core for larger bounds.
//!
//! # The word
//!
//! One `u64`: the **count** of used slots (a queued value, a value being written, or a
//! reserved permit; at most the capacity) in bits 4..32, the **tail** (the next ring index to
//! claim, wrapping at 2^32) in bits 32..64, and four flags: `CLOSED` (the receiver closed: no
//! one is admitted any more), `WAITERS` (senders are queued for slots: a newcomer does not
//! barge past them), `PARKED` (the receiver found nothing and sleeps: the next push wakes it),
//! `RX_GONE` (the receiver was dropped: a permit's value is dropped, not queued).
//!
//! - **Admission.** `try_push` admits itself and claims its ring index in one compare-exchange
//!   (count + 1, tail + 1), only while neither `CLOSED` nor `WAITERS` is set and the count is
//!   below the capacity. A reserve adds to the count only; its permit claims an index when it
//!   sends. So every index below the tail belongs to a value that was admitted and is not yet
//!   freed, or was freed already: at most `capacity` indices are claimed and not taken, and the
//!   slot an index lands on was emptied a lap before (its stamp says so; the sender checks it
//!   with an acquire load, which is how it sees the receiver's read of the old value end).
//! - **Slots** (Vyukov's stamps): slot `i` starts with stamp `i`; the sender of index `x`
//!   writes its value and stores stamp `x + 1`; the receiver at `head` takes the value when the
//!   stamp is `head + 1` and stores `head + size`, the stamp the sender of the next lap expects.
//!   The receiver frees the slot in the count (one `fetch_sub`) after that store.
//! - **Receiver wake-up.** The receiver parks only when nothing is claimed past its head
//!   (tail == head in the same word it sets `PARKED` in, by compare-exchange), after storing
//!   its waker under the lock. A sender's admission sees `PARKED` in the word it updates, clears
//!   it in the same compare-exchange and wakes the receiver after writing its value. A value
//!   whose index was claimed before the receiver looked keeps the tail past the head, so the
//!   receiver does not park but waits the few instructions until the stamp lands (a sender
//!   between its compare-exchange and its store); no wake-up is lost and none is spent on a
//!   receiver that is awake. One wake per empty → non-empty episode.
//! - **Capacity waiters** keep the locked channel's rules (FIFO, the front waiter collects
//!   freed slots until it has all it needs, a cancelled waiter passes them on): they live in a
//!   [`WaitList`] under the lock, and `WAITERS` is set exactly while that list is non-empty.
//!   A sender decides to queue and sets `WAITERS` in one compare-exchange, so a slot the
//!   receiver frees at that moment is either seen by it (it retries and is admitted) or freed
//!   with `WAITERS` already set, in which case the receiver takes the lock and grants it.
//! - **Close** sets `CLOSED` under the lock and wakes the queued senders; a value admitted
//!   before it still lands and can be received. Dropping the receiver also sets `RX_GONE` and
//!   drops every value up to the tail it saw (waiting for any still being written), so that a
//!   value sent before the drop is dropped with the receiver, and a permit's value after it by
//!   its sender.

use super::chan::{poll_granted, Grant, TryPop, TryPush};
use super::peers::Peers;
use crate::loom::{spin_loop, yield_now, AtomicU64, AtomicUsize, Ordering, StateLock, UnsafeCell};
use crate::sync::waiters::{WaitList, WaiterKey, WakeBatch};
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::task::{Context, Poll};

mod capacity;

const CLOSED: u64 = 1;
const WAITERS: u64 = 1 << 1;
const PARKED: u64 = 1 << 2;
const RX_GONE: u64 = 1 << 3;
/// One slot in the count.
const ONE: u64 = 1 << 4;
const COUNT_MASK: u64 = (1 << 32) - ONE;
/// One index in the tail.
const TAIL_ONE: u64 = 1 << 32;

/// Spins on a value still being written before each yield of the CPU (its sender may have
/// been preempted between its claim and its store).
const SPINS_BEFORE_YIELD: u32 = 64;
/// The largest capacity the count can hold.
const MAX_CAP: usize = (COUNT_MASK / ONE) as usize;
/// The most bytes a ring is allowed to take; a larger bound uses the locked core.
const MAX_RING_BYTES: usize = 64 * 1024;

fn count(word: u64) -> usize {
    ((word & COUNT_MASK) / ONE) as usize
}

fn tail(word: u64) -> u32 {
    (word >> 32) as u32
}

/// A cache line (two, for the adjacent-line prefetcher) of its own.
#[repr(align(128))]
struct Line<T>(T);

struct Slot<T> {
    /// See the module doc: `x + 1` once the value of index `x` is in, `x + size` once taken.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// What only the lock guards.
struct Locked {
    /// The senders, the receiver's waker (stored before it parks), the `closed()` waiters.
    peers: Peers,
    send_waiters: WaitList<Grant>,
}

/// The core of one bounded mpsc channel; see the module doc.
pub(crate) struct RingChan<T> {
    /// Both sides: count, tail and flags.
    word: Line<AtomicU64>,
    /// The receiver's side: the next index to take (written by the receiver only, or, once it
    /// is dropped, by the drop; others read it for `len`).
    head: Line<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    mask: u32,
    cap: usize,
    state: Line<StateLock<Locked>>,
}

// SAFETY: values move from a sender's thread to the receiver's (hence `T: Send`); each slot's
// value is touched by one side at a time, as its stamp hands it over with release/acquire.
unsafe impl<T: Send> Send for RingChan<T> {}
// SAFETY: as above: shared references reach the values only through the stamp protocol.
unsafe impl<T: Send> Sync for RingChan<T> {}

impl<T> RingChan<T> {
    /// Whether a ring for `cap` slots is small enough to make now (see the module doc).
    pub(crate) fn fits(cap: usize) -> bool {
        let slot = std::mem::size_of::<Slot<T>>();
        cap <= MAX_CAP && cap.next_power_of_two().saturating_mul(slot) <= MAX_RING_BYTES
    }

    /// A channel of `cap` slots (`fits(cap)`) with one sender.
    pub(crate) fn new(cap: usize) -> RingChan<T> {
        assert!(cap > 0 && cap <= MAX_CAP, "ring capacity out of range");
        let size = cap.next_power_of_two();
        let slots = (0..size)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        RingChan {
            word: Line(AtomicU64::new(0)),
            head: Line(AtomicUsize::new(0)),
            slots,
            mask: (size - 1) as u32,
            cap,
            state: Line(StateLock::new(Locked {
                peers: Peers::new(),
                send_waiters: WaitList::new(),
            })),
        }
    }

    /// The capacity given at creation.
    pub(crate) fn max_capacity(&self) -> usize {
        self.cap
    }

    fn slot(&self, index: u32) -> &Slot<T> {
        &self.slots[(index & self.mask) as usize]
    }

    /// Queues `value` if a slot is free and no sender is queued ahead.
    pub(crate) fn try_push(&self, value: T) -> Result<(), TryPush<T>> {
        let mut w = self.word.0.load(Ordering::Relaxed);
        loop {
            if w & CLOSED != 0 {
                return Err(TryPush::Closed(value));
            }
            if w & WAITERS != 0 || count(w) >= self.cap {
                return Err(TryPush::Full(value));
            }
            let new = (w + ONE + TAIL_ONE) & !PARKED;
            match self
                .word
                .0
                .compare_exchange_weak(w, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.write(tail(w), value, w & PARKED != 0);
                    return Ok(());
                }
                Err(now) => w = now,
            }
        }
    }

    /// Writes `value` at the claimed `index`, and wakes the receiver if the claim found it
    /// parked.
    fn write(&self, index: u32, value: T, wake: bool) {
        let slot = self.slot(index);
        // The count says the value of the lap before was taken; this load is what makes the
        // receiver's read of it happen before the write below.
        while slot.stamp.load(Ordering::Acquire) != index as usize {
            spin_loop();
        }
        // SAFETY: index `index` is ours (claimed in the word), and its stamp says the slot is
        // empty: no one else touches the value until we store the stamp below.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        slot.stamp
            .store(index.wrapping_add(1) as usize, Ordering::Release);
        if wake {
            self.wake_receiver();
        }
    }

    #[cold]
    fn wake_receiver(&self) {
        let waker = self.state.0.lock().peers.rx_waker.take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Fills a reserved slot with `value` (dropped instead, if the receiver is gone).
    pub(crate) fn push_reserved(&self, value: T) {
        let mut w = self.word.0.load(Ordering::Relaxed);
        loop {
            if w & RX_GONE != 0 {
                drop(value);
                self.release_reserved();
                return;
            }
            let new = (w + TAIL_ONE) & !PARKED;
            match self
                .word
                .0
                .compare_exchange_weak(w, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    self.write(tail(w), value, w & PARKED != 0);
                    return;
                }
                Err(now) => w = now,
            }
        }
    }

    /// Takes the value at the head if it is in (the receiver's, or the drop's, side only).
    fn take(&self) -> Option<T> {
        let head = self.head.0.load(Ordering::Relaxed) as u32;
        let slot = self.slot(head);
        if slot.stamp.load(Ordering::Acquire) != head.wrapping_add(1) as usize {
            return None;
        }
        // SAFETY: the stamp says index `head`'s value is in and no one else takes it (one
        // receiver); its sender's release store of the stamp made the write visible.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.stamp.store(
            head.wrapping_add(self.mask).wrapping_add(1) as usize,
            Ordering::Release,
        );
        self.head
            .0
            .store(head.wrapping_add(1) as usize, Ordering::Relaxed);
        Some(value)
    }

    /// Whether a value is claimed past the head but not written yet (its sender is between
    /// its claim and its store).
    fn in_flight(&self, w: u64) -> bool {
        tail(w) != self.head.0.load(Ordering::Relaxed) as u32
    }

    /// Takes the value at the head, waiting for one claimed but still being written.
    fn take_landed(&self) -> Option<T> {
        let mut spins = 0u32;
        loop {
            if let Some(v) = self.take() {
                return Some(v);
            }
            if !self.in_flight(self.word.0.load(Ordering::Acquire)) {
                return None;
            }
            spins += 1;
            if spins.is_multiple_of(SPINS_BEFORE_YIELD) {
                yield_now();
            } else {
                spin_loop();
            }
        }
    }

    /// Nothing is claimed past the head and nothing can come: every sender is gone, or the
    /// receiver closed and no slot is used. Under the lock (a last sender, or a last permit
    /// after a close, wakes the receiver under it).
    fn finished(&self, st: &Locked) -> bool {
        let w = self.word.0.load(Ordering::Acquire);
        !self.in_flight(w) && (st.peers.senders == 0 || (w & CLOSED != 0 && count(w) == 0))
    }

    /// Takes the oldest value without waiting.
    pub(crate) fn try_pop(&self) -> TryPop<T> {
        loop {
            if let Some(v) = self.take_landed() {
                self.free(1);
                return TryPop::Value(v);
            }
            let st = self.state.0.lock();
            if self.finished(&st) {
                return TryPop::Done;
            }
            if !self.in_flight(self.word.0.load(Ordering::Acquire)) {
                return TryPop::Empty;
            }
            // Claimed since we looked: take it.
        }
    }

    /// One value for the receiver (`batch` is for the locked core's batches; unused here).
    pub(crate) fn poll_recv(
        &self,
        _batch: &mut VecDeque<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<T>> {
        self.poll_pop(cx)
    }

    /// Takes the oldest value, or parks the receiver. Ready(None) once the channel is empty
    /// and nothing can come.
    pub(crate) fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        loop {
            if let Some(v) = self.take_landed() {
                self.free(1);
                return Poll::Ready(Some(v));
            }
            match self.park(cx) {
                Park::Parked => return Poll::Pending,
                Park::Finished => return Poll::Ready(None),
                Park::Landed => continue,
            }
        }
    }

    /// The ring looked empty: stores the waker and sets `PARKED` unless something was claimed
    /// meanwhile or nothing can come any more.
    fn park(&self, cx: &mut Context<'_>) -> Park {
        {
            let mut st = self.state.0.lock();
            st.peers.store_rx_waker(cx.waker());
            if self.finished(&st) {
                return Park::Finished;
            }
        }
        let mut w = self.word.0.load(Ordering::Acquire);
        loop {
            if self.in_flight(w) {
                return Park::Landed;
            }
            if w & PARKED != 0 {
                return Park::Parked;
            }
            match self.word.0.compare_exchange_weak(
                w,
                w | PARKED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Park::Parked,
                Err(now) => w = now,
            }
        }
    }

    /// Moves up to `limit` values into `buf`, or parks the receiver if none is queued.
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
        loop {
            if let Some(v) = self.take_landed() {
                buf.push(v);
                let mut n = 1;
                while n < limit {
                    let Some(v) = self.take() else { break };
                    buf.push(v);
                    n += 1;
                }
                self.free(n);
                return Poll::Ready(n);
            }
            match self.park(cx) {
                Park::Parked => return Poll::Pending,
                Park::Finished => return Poll::Ready(0),
                Park::Landed => continue,
            }
        }
    }

    /// The receiver closes: sends fail from now on, queued senders and `closed()` waiters wake.
    /// Values already queued (or sent through permits already held) can still be received.
    pub(crate) fn close(&self) {
        self.close_with(CLOSED);
    }

    fn close_with(&self, flags: u64) {
        let mut st = self.state.0.lock();
        let mut w = self.word.0.load(Ordering::Acquire);
        if w & flags == flags {
            return;
        }
        let mut wakes = WakeBatch::new();
        let mut given_back = 0;
        while let Some((key, waker)) = st.send_waiters.pop_front() {
            if let Grant::Waiting { got, .. } = *st.send_waiters.get(key) {
                given_back += got;
            }
            *st.send_waiters.get_mut(key) = Grant::Closed;
            wakes.push(waker);
        }
        loop {
            let new = ((w - given_back as u64 * ONE) & !WAITERS) | flags;
            match self
                .word
                .0
                .compare_exchange_weak(w, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => w = now,
            }
        }
        st.peers.wake_closed_waiters(&mut wakes);
        drop(st);
        wakes.wake_all();
    }

    /// The receiver is dropped: closes, and drops every value queued or being written (outside
    /// the lock). A permit's value sent later is dropped by its sender (`RX_GONE`).
    pub(crate) fn drop_receiver(&self) {
        self.close_with(CLOSED | RX_GONE);
        self.state.0.lock().peers.rx_waker = None;
        let mut taken = 0;
        while let Some(v) = self.take_landed() {
            drop(v);
            taken += 1;
        }
        if taken > 0 {
            self.free(taken);
        }
    }

    /// True once the receiver closed or was dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.word.0.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Waits for the receiver to close; `key` as in [`poll_reserve`](Self::poll_reserve), freed
    /// by [`cancel_closed`](Self::cancel_closed) if dropped while Some.
    pub(crate) fn poll_closed(
        &self,
        key: &mut Option<WaiterKey>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let mut st = self.state.0.lock();
        st.peers.poll_closed(self.is_closed(), key, cx)
    }

    /// A waiting `closed()` is dropped.
    pub(crate) fn cancel_closed(&self, key: WaiterKey) {
        self.state.0.lock().peers.cancel_closed(key);
    }

    /// One more sender (a clone).
    pub(crate) fn add_sender(&self) {
        self.state.0.lock().peers.senders += 1;
    }

    /// One more sender unless none is left (a weak sender upgrading).
    pub(crate) fn try_add_sender(&self) -> bool {
        self.state.0.lock().peers.try_add_sender()
    }

    /// One sender fewer; the last one wakes the receiver (it will see the end).
    pub(crate) fn drop_sender(&self) {
        let waker = self.state.0.lock().peers.drop_sender();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Live senders.
    pub(crate) fn senders(&self) -> usize {
        self.state.0.lock().peers.senders
    }

    /// Queued values (with any still being written).
    pub(crate) fn len(&self) -> usize {
        let w = self.word.0.load(Ordering::Acquire);
        tail(w).wrapping_sub(self.head.0.load(Ordering::Relaxed) as u32) as usize
    }

    /// Free slots (queued values and reserved permits use slots).
    pub(crate) fn capacity(&self) -> usize {
        self.cap
            .saturating_sub(count(self.word.0.load(Ordering::Acquire)))
    }
}

/// What [`RingChan::park`] found.
enum Park {
    /// The waker is stored and `PARKED` set: the next value wakes the receiver.
    Parked,
    /// A value was claimed meanwhile: take it.
    Landed,
    /// Nothing is queued and nothing can come any more.
    Finished,
}

impl<T> Drop for RingChan<T> {
    fn drop(&mut self) {
        // Values a dropped receiver did not see (it drains up to the tail, so only values of a
        // receiver that was leaked, or of a channel whose receiver never dropped) go here.
        while self.take().is_some() {}
    }
}
