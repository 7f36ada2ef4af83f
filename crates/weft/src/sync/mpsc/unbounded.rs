//! The unbounded channel's ends: sending never waits.

use super::chan::TryPush;
use super::ends::{Rx, Tx, WeakTx};
use super::error::{SendError, TryRecvError};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::task::{Context, Poll};

/// Sends values into an unbounded channel; clone it for more senders.
pub struct UnboundedSender<T> {
    pub(super) tx: Tx<T>,
}

/// Receives the values of an unbounded channel.
pub struct UnboundedReceiver<T> {
    pub(super) rx: Rx<T>,
}

/// An unbounded sender that does not keep the channel open (from
/// [`UnboundedSender::downgrade`]).
pub struct WeakUnboundedSender<T> {
    weak: WeakTx<T>,
}

impl<T> WeakUnboundedSender<T> {
    /// An [`UnboundedSender`] again, unless every sender is gone.
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.weak.upgrade().map(|tx| UnboundedSender { tx })
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> Self {
        WeakUnboundedSender {
            weak: self.weak.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakUnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        UnboundedSender {
            tx: self.tx.clone(),
        }
    }
}

impl<T> UnboundedSender<T> {
    /// Queues `value`; never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver was closed or dropped.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.tx.used();
        self.tx.shared.chan.try_push(value).map_err(|e| match e {
            TryPush::Full(v) | TryPush::Closed(v) => SendError(v),
        })
    }

    /// Waits until the receiver is closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    /// True once the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.tx.shared.chan.is_closed()
    }

    /// Weak senders of the channel (from [`downgrade`](Self::downgrade)) still alive.
    pub fn weak_count(&self) -> usize {
        self.tx.weak_count()
    }

    /// True if both senders feed the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        self.tx.same_channel(&other.tx)
    }

    /// A [`WeakUnboundedSender`], which does not keep the channel open.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        WeakUnboundedSender {
            weak: self.tx.downgrade(),
        }
    }

    /// Live senders of this channel (clones included).
    pub fn strong_count(&self) -> usize {
        self.tx.shared.chan.senders()
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the oldest value, waiting while the channel is empty; `None` once it is empty
    /// and every sender is gone (or it was closed and drained).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `recv()` loses no value.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        self.rx.recv(Location::caller())
    }

    /// Moves up to `limit` queued values into `buf`, waiting while none is queued; returns how
    /// many (0 only when `limit` is 0 or the channel is finished).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`recv`](Self::recv).
    #[track_caller]
    pub fn recv_many<'a>(
        &'a mut self,
        buf: &'a mut Vec<T>,
        limit: usize,
    ) -> impl Future<Output = usize> + 'a {
        self.rx.recv_many(buf, limit, Location::caller())
    }

    /// The poll form of [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.rx.poll_recv(cx)
    }

    /// Takes the oldest value without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Disconnected`], as for the bounded receiver.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// Receives from code that is not async; see [`weft::sync`](crate::sync#three-kinds-of-caller).
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread (the message of every `blocking_*` call).
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        let site = Location::caller();
        crate::sync::park::block_on("mpsc::UnboundedReceiver::blocking_recv", self.rx.recv(site))
    }

    /// Closes the channel: sends fail from now on; queued values can still be received.
    pub fn close(&mut self) {
        self.rx.shared.chan.close();
    }

    /// True once closed or every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.rx.shared.chan.is_closed() || self.rx.shared.chan.senders() == 0
    }

    /// Queued values.
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live senders.
    pub fn sender_strong_count(&self) -> usize {
        self.rx.shared.chan.senders()
    }

    /// Weak senders of the channel still alive.
    pub fn sender_weak_count(&self) -> usize {
        self.rx.weak_count()
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedSender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::UnboundedReceiver")
            .finish_non_exhaustive()
    }
}
