//! The ring's capacity side: reserving slots (`try_reserve*`, `poll_reserve`), giving them
//! back (`release_reserved*`, a taken value's `free`), and the FIFO of senders waiting for
//! them, granted under the lock (`grant`). The rules are the parent module's ("Capacity
//! waiters" and "Admission" in its doc).

use super::{count, poll_granted, Grant, Locked, RingChan, TryPush, CLOSED, ONE, WAITERS};
use crate::loom::Ordering;
use crate::sync::waiters::{WaiterKey, WakeBatch};
use std::task::{Context, Poll};

impl<T> RingChan<T> {
    /// Reserves a slot without waiting: Ok, or `Full(())`/`Closed(())`.
    pub(crate) fn try_reserve(&self) -> Result<(), TryPush<()>> {
        self.try_reserve_many(1)
    }

    /// Reserves `n` slots at once without waiting (all or none): Ok, or `Full(())` when fewer
    /// than `n` are free or a sender is queued ahead, `Closed(())` when the receiver is gone.
    pub(crate) fn try_reserve_many(&self, n: usize) -> Result<(), TryPush<()>> {
        let mut w = self.word.0.load(Ordering::Relaxed);
        loop {
            if w & CLOSED != 0 {
                return Err(TryPush::Closed(()));
            }
            if w & WAITERS != 0 || n > self.cap - count(w).min(self.cap) {
                return Err(TryPush::Full(()));
            }
            match self.word.0.compare_exchange_weak(
                w,
                w + n as u64 * ONE,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => w = now,
            }
        }
    }

    /// Gives back a reserved slot unused.
    pub(crate) fn release_reserved(&self) {
        self.release_reserved_many(1);
    }

    /// [`release_reserved`](Self::release_reserved) for `n` slots at once.
    pub(crate) fn release_reserved_many(&self, n: usize) {
        self.free(n);
    }

    /// `n` used slots are free again: taken values or permits given back.
    pub(super) fn free(&self, n: usize) {
        let before = self.word.0.fetch_sub(n as u64 * ONE, Ordering::AcqRel);
        if before & (WAITERS | CLOSED) != 0 {
            self.freed_slow(before, n);
        }
    }

    /// Slots were freed while senders wait (grant them) or after a close (a receiver waiting
    /// for the last permit learns that nothing more can come).
    #[cold]
    fn freed_slow(&self, before: u64, n: usize) {
        let mut st = self.state.0.lock();
        let mut wakes = WakeBatch::new();
        if before & WAITERS != 0 {
            self.grant(&mut st, &mut wakes);
        }
        if before & CLOSED != 0 && count(before) == n {
            wakes.push(st.peers.rx_waker.take());
        }
        drop(st);
        wakes.wake_all();
    }

    /// Gives free slots to the front queued sender until it has all it needs, then to the next,
    /// and so on; wakes each one that is complete; clears `WAITERS` when none is left. Under
    /// the lock; only the receiver's frees change the count meanwhile (`WAITERS` keeps everyone
    /// else out), and they only lower it.
    fn grant(&self, st: &mut Locked, wakes: &mut WakeBatch) {
        while let Some((_, Grant::Waiting { need, got })) = st.send_waiters.front_mut() {
            let w = self.word.0.load(Ordering::Acquire);
            let free = self.cap - count(w).min(self.cap);
            if free == 0 {
                return;
            }
            let take = free.min(*need - *got);
            self.word.0.fetch_add(take as u64 * ONE, Ordering::AcqRel);
            *got += take;
            if *got < *need {
                return;
            }
            let n = *need;
            let (key, waker) = st.send_waiters.pop_front().expect("the front waiter");
            *st.send_waiters.get_mut(key) = Grant::Slots(n);
            wakes.push(waker);
        }
        self.word.0.fetch_and(!WAITERS, Ordering::AcqRel);
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
        let mut st = self.state.0.lock();
        if let Some(outcome) = poll_granted(&mut st.send_waiters, key, cx) {
            return outcome;
        }
        debug_assert!(need <= self.cap, "reserve_many checks the capacity");
        let mut w = self.word.0.load(Ordering::Acquire);
        loop {
            if w & CLOSED != 0 {
                return Poll::Ready(false);
            }
            let free = self.cap - count(w).min(self.cap);
            let first = st.send_waiters.is_empty();
            let (new, got) = if first && free >= need {
                (w + need as u64 * ONE, need)
            } else if first {
                // First in line: the free slots are ours already, the rest come as they are
                // freed.
                ((w + free as u64 * ONE) | WAITERS, free)
            } else {
                (w, 0)
            };
            if new != w {
                if let Err(now) =
                    self.word
                        .0
                        .compare_exchange_weak(w, new, Ordering::AcqRel, Ordering::Acquire)
                {
                    w = now;
                    continue;
                }
            }
            if got == need {
                return Poll::Ready(true);
            }
            *key = Some(
                st.send_waiters
                    .push_back(Grant::Waiting { need, got }, cx.waker()),
            );
            return Poll::Pending;
        }
    }

    /// A waiting reserve is dropped: frees its queue slot and passes on the slots collected or
    /// granted for it.
    pub(crate) fn cancel_reserve(&self, key: WaiterKey) {
        let mut st = self.state.0.lock();
        let mut wakes = WakeBatch::new();
        let queued = st.send_waiters.is_queued(key);
        let held = st.send_waiters.remove(key).held();
        if held > 0 {
            let before = self.word.0.fetch_sub(held as u64 * ONE, Ordering::AcqRel);
            if before & CLOSED != 0 && count(before) == held {
                wakes.push(st.peers.rx_waker.take()); // a closed receiver may wait for this slot
            }
        }
        if held > 0 || queued {
            // Pass the slots on, and clear `WAITERS` if this was the last waiter.
            self.grant(&mut st, &mut wakes);
        }
        drop(st);
        wakes.wake_all();
    }
}
