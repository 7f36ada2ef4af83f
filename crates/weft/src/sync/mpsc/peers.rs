//! What both mpsc cores (`chan`, `ring`) keep under their lock about the channel's ends: the
//! live senders, the receiver's waker, and the senders waiting in `closed()`.
//!
//! Kept free of everything but `crate::sync::waiters`, so that `tests/loom_sync_mpsc.rs`
//! compiles it with the cores.

use crate::sync::waiters::{WaitList, WaiterKey, WakeBatch};
use std::task::{Context, Poll, Waker};

/// See the module doc. Every method runs under the owning core's lock.
pub(crate) struct Peers {
    /// The receiver's waker, stored when it found nothing (taken by whoever wakes it).
    pub(crate) rx_waker: Option<Waker>,
    /// Live senders (clones and upgraded weak senders count; weak ones do not).
    pub(crate) senders: usize,
    /// Senders waiting in `closed()`.
    closed_waiters: WaitList<()>,
}

impl Peers {
    /// The ends of a new channel: one sender, a receiver that has not waited yet.
    pub(crate) fn new() -> Peers {
        Peers {
            rx_waker: None,
            senders: 1,
            closed_waiters: WaitList::new(),
        }
    }

    /// Stores the receiver's waker, unless the one stored already wakes the same task.
    pub(crate) fn store_rx_waker(&mut self, waker: &Waker) {
        if !self.rx_waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            self.rx_waker = Some(waker.clone());
        }
    }

    /// One more sender unless none is left (a weak sender upgrading): a channel whose senders
    /// are all gone stays finished.
    pub(crate) fn try_add_sender(&mut self) -> bool {
        if self.senders == 0 {
            return false;
        }
        self.senders += 1;
        true
    }

    /// One sender fewer; when it was the last, the receiver's waker (it will see the end),
    /// to wake after unlocking.
    pub(crate) fn drop_sender(&mut self) -> Option<Waker> {
        self.senders -= 1;
        if self.senders == 0 {
            self.rx_waker.take()
        } else {
            None
        }
    }

    /// A sender's `closed()`: Ready once `closed` (the core's own flag), else queued under
    /// `key` (freed by [`cancel_closed`](Self::cancel_closed) if the wait is dropped).
    pub(crate) fn poll_closed(
        &mut self,
        closed: bool,
        key: &mut Option<WaiterKey>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        if closed {
            if let Some(k) = key.take() {
                self.closed_waiters.remove(k);
            }
            return Poll::Ready(());
        }
        match *key {
            Some(k) => self.closed_waiters.set_waker(k, cx.waker()),
            None => *key = Some(self.closed_waiters.push_back((), cx.waker())),
        }
        Poll::Pending
    }

    /// A waiting `closed()` is dropped.
    pub(crate) fn cancel_closed(&mut self, key: WaiterKey) {
        self.closed_waiters.remove(key);
    }

    /// The receiver closed: every `closed()` waiter's waker goes into `wakes`.
    pub(crate) fn wake_closed_waiters(&mut self, wakes: &mut WakeBatch) {
        while let Some((_, waker)) = self.closed_waiters.pop_front() {
            wakes.push(waker);
        }
    }
}
