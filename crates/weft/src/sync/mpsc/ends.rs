//! The halves both channel flavours share: a sender's and the receiver's hold on the core, with
//! the trace bookkeeping (who may send, who waits).

use super::chan::TryPop;
use super::core::Core;
use super::error::TryRecvError;
use crate::loom::Arc;
use crate::rt::coop;
use crate::sync::trace::{HoldToken, Resource, ResourceKind, WaitGuard};
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::sync::Weak;
use std::task::{Context, Poll};

/// A channel's core with its two trace resources.
pub(crate) struct Shared<C> {
    pub(crate) chan: Padded<C>,
    /// The capacity: bounded senders wait on it; its holder is the receiver (who frees slots).
    pub(crate) send_res: Resource,
    /// The queue: the receiver waits on it; its holders are the live senders.
    pub(crate) recv_res: Resource,
}

/// The channel's core on cache lines of its own: its lock and queue pass between the sending
/// and the receiving threads, and the resources beside it (read on every operation while the
/// bookkeeping is on) must not pass with them.
#[repr(align(128))]
pub(crate) struct Padded<C>(C);

impl<C> std::ops::Deref for Padded<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.0
    }
}

/// Makes the two halves of a channel around `chan` (which counts one sender).
pub(crate) fn pair<C: Core>(chan: C, site: &'static Location<'static>) -> (Tx<C>, Rx<C>) {
    let shared = Arc::new(Shared {
        chan: Padded(chan),
        send_res: Resource::new(ResourceKind::MpscSend, site),
        recv_res: Resource::new(ResourceKind::MpscRecv, site),
    });
    let tx_hold = shared.recv_res.hold_shared(1);
    let rx_hold = shared.send_res.hold_shared(1);
    (
        Tx {
            shared: shared.clone(),
            hold: tx_hold,
        },
        Rx {
            shared,
            hold: rx_hold,
            batch: VecDeque::new(),
        },
    )
}

/// One live sender.
pub(crate) struct Tx<C: Core> {
    pub(crate) shared: Arc<Shared<C>>,
    hold: HoldToken,
}

impl<C: Core> Clone for Tx<C> {
    fn clone(&self) -> Self {
        self.shared.chan.add_sender();
        Tx {
            shared: self.shared.clone(),
            hold: self.shared.recv_res.hold_shared(1),
        }
    }
}

impl<C: Core> Drop for Tx<C> {
    fn drop(&mut self) {
        self.shared.recv_res.release_shared(self.hold, 1);
        self.shared.chan.drop_sender();
    }
}

impl<C: Core> Tx<C> {
    /// This sender is being used by the current actor: it holds the channel's queue now.
    #[inline]
    pub(crate) fn used(&self) {
        self.shared.recv_res.rehold(self.hold);
    }
    /// Waits until the receiver closes.
    pub(crate) fn closed(&self) -> impl Future<Output = ()> + '_ {
        struct Closed<'a, C: Core> {
            chan: &'a C,
            key: Option<crate::sync::waiters::WaiterKey>,
        }
        impl<C: Core> Drop for Closed<'_, C> {
            fn drop(&mut self) {
                if let Some(k) = self.key.take() {
                    self.chan.cancel_closed(k);
                }
            }
        }
        let mut state = Closed {
            chan: &*self.shared.chan,
            key: None,
        };
        poll_fn(move |cx| {
            let Closed { chan, key } = &mut state;
            chan.poll_closed(key, cx)
        })
    }

    /// Weak senders of the channel.
    pub(crate) fn weak_count(&self) -> usize {
        Arc::weak_count(&self.shared)
    }

    pub(crate) fn same_channel(&self, other: &Tx<C>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A sender that does not keep the channel open.
    pub(crate) fn downgrade(&self) -> WeakTx<C> {
        WeakTx {
            shared: Arc::downgrade(&self.shared),
        }
    }
}

/// A sender that does not count as one: the channel finishes when the last [`Tx`] goes.
pub(crate) struct WeakTx<C> {
    shared: Weak<Shared<C>>,
}

impl<C> Clone for WeakTx<C> {
    fn clone(&self) -> Self {
        WeakTx {
            shared: self.shared.clone(),
        }
    }
}

impl<C: Core> WeakTx<C> {
    /// A live sender again, unless every sender (or the channel) is gone.
    pub(crate) fn upgrade(&self) -> Option<Tx<C>> {
        let shared = self.shared.upgrade()?;
        if !shared.chan.try_add_sender() {
            return None;
        }
        let hold = shared.recv_res.hold_shared(1);
        Some(Tx { shared, hold })
    }
}

/// The receiver.
pub(crate) struct Rx<C: Core> {
    pub(crate) shared: Arc<Shared<C>>,
    hold: HoldToken,
    /// Values the core moved here in one batch (the unbounded channel's), older than anything
    /// still queued there, so they are received first (FIFO holds).
    batch: VecDeque<C::Item>,
}

impl<C: Core> Drop for Rx<C> {
    fn drop(&mut self) {
        self.shared.send_res.release_shared(self.hold, 1);
        self.shared.chan.drop_receiver();
    }
}

impl<C: Core> Rx<C> {
    /// Weak senders of the channel.
    pub(crate) fn weak_count(&self) -> usize {
        Arc::weak_count(&self.shared)
    }

    /// The receiver is being used by the current actor: it holds the channel's capacity now.
    #[inline]
    fn used(&self) {
        self.shared.send_res.rehold(self.hold);
    }
    /// Polls for one value, spending one unit of the task's cooperative budget.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<C::Item>> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        self.used();
        if let Some(v) = self.batch.pop_front() {
            return Poll::Ready(Some(v));
        }
        let out = self.shared.chan.poll_recv(&mut self.batch, cx);
        if out.is_pending() {
            coop::refund();
        }
        out
    }

    /// Values waiting for this receiver (its batch and the shared queue).
    pub(crate) fn len(&self) -> usize {
        self.batch.len() + self.shared.chan.len()
    }

    /// Polls for up to `limit` values.
    pub(crate) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut Vec<C::Item>,
        limit: usize,
    ) -> Poll<usize> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        self.used();
        if !self.batch.is_empty() && limit > 0 {
            let n = self.batch.len().min(limit);
            buf.extend(self.batch.drain(..n));
            return Poll::Ready(n);
        }
        let out = self.shared.chan.poll_pop_many(buf, limit, cx);
        if out.is_pending() {
            coop::refund();
        }
        out
    }

    /// Waits for one value; the wait (if any) is recorded at `site`.
    pub(crate) fn recv(
        &mut self,
        site: &'static Location<'static>,
    ) -> impl Future<Output = Option<C::Item>> + '_ {
        let mut wait: Option<WaitGuard> = None;
        poll_fn(move |cx| match self.poll_recv(cx) {
            Poll::Pending => {
                if wait.is_none() {
                    wait = Some(self.shared.recv_res.wait(site));
                }
                Poll::Pending
            }
            ready => {
                wait = None;
                ready
            }
        })
    }

    /// Waits for up to `limit` values.
    pub(crate) fn recv_many<'a>(
        &'a mut self,
        buf: &'a mut Vec<C::Item>,
        limit: usize,
        site: &'static Location<'static>,
    ) -> impl Future<Output = usize> + 'a {
        let mut wait: Option<WaitGuard> = None;
        poll_fn(move |cx| match self.poll_recv_many(cx, buf, limit) {
            Poll::Pending => {
                if wait.is_none() {
                    wait = Some(self.shared.recv_res.wait(site));
                }
                Poll::Pending
            }
            ready => {
                wait = None;
                ready
            }
        })
    }

    pub(crate) fn try_recv(&mut self) -> Result<C::Item, TryRecvError> {
        self.used();
        if let Some(v) = self.batch.pop_front() {
            return Ok(v);
        }
        match self.shared.chan.try_pop() {
            TryPop::Value(v) => Ok(v),
            TryPop::Empty => Err(TryRecvError::Empty),
            TryPop::Done => Err(TryRecvError::Disconnected),
        }
    }
}
