//! The unbounded channel's ends: sending never waits.

use super::chan::{Chan, TryPush};
use super::ends::{Rx, Tx, WeakTx};
use super::error::SendError;
use std::fmt;

/// Sends values into an unbounded channel; clone it for more senders.
pub struct UnboundedSender<T> {
    pub(super) tx: Tx<Chan<T>>,
}

/// Receives the values of an unbounded channel.
pub struct UnboundedReceiver<T> {
    pub(super) rx: Rx<Chan<T>>,
}

/// An unbounded sender that does not keep the channel open (from
/// [`UnboundedSender::downgrade`]).
pub struct WeakUnboundedSender<T> {
    weak: WeakTx<Chan<T>>,
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

receiver_methods!(UnboundedReceiver, "UnboundedReceiver");

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
