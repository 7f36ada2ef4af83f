//! The bounded channel's ends: [`Sender`], [`Receiver`], and the slot permits.

use super::chan::{Chan, TryPush};
use super::ends::{Rx, Shared, Tx, WeakTx};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use crate::sync::trace::WaitGuard;
use crate::sync::waiters::WaiterKey;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Sends values into a bounded channel; clone it for more senders. See the
/// [module doc](super) for fairness.
pub struct Sender<T> {
    pub(crate) tx: Tx<T>,
}

/// Receives the values of a bounded channel.
pub struct Receiver<T> {
    pub(crate) rx: Rx<T>,
}

/// One reserved slot of a bounded channel: [`send`](Self::send) fills it without waiting;
/// dropping the permit gives the slot back (to the oldest waiting sender).
pub struct Permit<'a, T> {
    chan: &'a Chan<T>,
}

/// A reserved slot that owns its [`Sender`] (from [`Sender::reserve_owned`]).
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

/// A sender that does not keep the channel open (from [`Sender::downgrade`]): once every
/// [`Sender`] is gone the receiver finishes, and [`upgrade`](Self::upgrade) returns `None`.
pub struct WeakSender<T> {
    weak: WeakTx<T>,
}

impl<T> WeakSender<T> {
    /// A [`Sender`] again, unless every sender is gone.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.weak.upgrade().map(|tx| Sender { tx })
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            weak: self.weak.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::WeakSender").finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            tx: self.tx.clone(),
        }
    }
}

/// Waits for a slot; on drop, frees its queue place and passes on a slot granted meanwhile.
struct Reserve<'a, T> {
    shared: &'a Shared<T>,
    key: Option<WaiterKey>,
    wait: Option<WaitGuard>,
    site: &'static Location<'static>,
}

impl<T> Future for Reserve<'_, T> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        match this.shared.chan.poll_reserve(&mut this.key, cx) {
            Poll::Pending => {
                if this.wait.is_none() {
                    this.wait = Some(this.shared.send_res.wait(this.site));
                }
                Poll::Pending
            }
            ready => {
                this.wait = None;
                ready
            }
        }
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        self.wait = None;
        if let Some(key) = self.key.take() {
            self.shared.chan.cancel_reserve(key);
        }
    }
}

impl<T> Sender<T> {
    fn reserve_slot(&self, site: &'static Location<'static>) -> Reserve<'_, T> {
        Reserve {
            shared: &self.tx.shared,
            key: None,
            wait: None,
            site,
        }
    }

    /// Sends `value`, waiting for a free slot while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if the receiver was closed or dropped (before or while
    /// waiting).
    ///
    /// # Cancel safety
    ///
    /// **Not cancel safe**: if the future is dropped while waiting for a slot (a `select!` branch
    /// that loses), the value is dropped with it and never sent; the sender's place in the queue
    /// is given up and a slot granted meanwhile goes to the next sender. Use
    /// [`reserve`](Self::reserve) in `select!` and send through the permit to lose nothing.
    #[track_caller]
    pub fn send(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        let site = Location::caller();
        async move {
            self.tx.used();
            match self.tx.shared.chan.try_push(value) {
                Ok(()) => Ok(()),
                Err(TryPush::Closed(v)) => Err(SendError(v)),
                Err(TryPush::Full(v)) => {
                    if self.reserve_slot(site).await {
                        self.tx.shared.chan.push_reserved(v);
                        Ok(())
                    } else {
                        Err(SendError(v))
                    }
                }
            }
        }
    }

    /// Sends `value`, waiting at most `timeout` for a free slot while the channel is full
    /// (on a loop: the timer is the loop's).
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] with the value if no slot was freed in time,
    /// [`SendTimeoutError::Closed`] with it if the receiver was closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// **Not cancel safe**, like [`send`](Self::send): dropped while waiting, the value is
    /// dropped with it. On a timeout nothing is lost: the value comes back in the error.
    #[track_caller]
    pub fn send_timeout(
        &self,
        value: T,
        timeout: std::time::Duration,
    ) -> impl Future<Output = Result<(), SendTimeoutError<T>>> + '_ {
        let site = Location::caller();
        async move {
            match self.tx.shared.chan.try_push(value) {
                Ok(()) => Ok(()),
                Err(TryPush::Closed(v)) => Err(SendTimeoutError::Closed(v)),
                Err(TryPush::Full(v)) => {
                    match crate::time::timeout(timeout, self.reserve_slot(site)).await {
                        Ok(true) => {
                            self.tx.shared.chan.push_reserved(v);
                            Ok(())
                        }
                        Ok(false) => Err(SendTimeoutError::Closed(v)),
                        Err(_) => Err(SendTimeoutError::Timeout(v)),
                    }
                }
            }
        }
    }

    /// Sends `value` if a slot is free now, never waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when every slot is used or other senders are queued for one (a
    /// newcomer does not overtake them); [`TrySendError::Closed`] when the receiver is gone.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.tx.used();
        self.tx.shared.chan.try_push(value).map_err(|e| match e {
            TryPush::Full(v) => TrySendError::Full(v),
            TryPush::Closed(v) => TrySendError::Closed(v),
        })
    }

    /// Waits for a free slot and reserves it: the returned [`Permit`] sends without waiting.
    ///
    /// # Errors
    ///
    /// [`SendError`]`(())` if the receiver was closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up the sender's place in the FIFO queue, and a
    /// slot granted to it meanwhile is passed on to the next sender. No slot is lost.
    #[track_caller]
    pub fn reserve(&self) -> impl Future<Output = Result<Permit<'_, T>, SendError<()>>> + '_ {
        let wait = self.reserve_slot(Location::caller());
        async move {
            self.tx.used();
            if wait.await {
                Ok(Permit {
                    chan: &self.tx.shared.chan,
                })
            } else {
                Err(SendError(()))
            }
        }
    }

    /// [`reserve`](Self::reserve) that moves the sender into the permit (for a permit that must
    /// outlive a borrow, e.g. moved into a task).
    ///
    /// # Errors
    ///
    /// [`SendError`] with the sender if the receiver was closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe as [`reserve`](Self::reserve), but dropping the future drops the sender.
    #[track_caller]
    pub fn reserve_owned(
        self,
    ) -> impl Future<Output = Result<OwnedPermit<T>, SendError<Sender<T>>>> {
        let site = Location::caller();
        async move {
            self.tx.used();
            if self.reserve_slot(site).await {
                Ok(OwnedPermit { sender: Some(self) })
            } else {
                Err(SendError(self))
            }
        }
    }

    /// Reserves a slot if one is free now.
    ///
    /// # Errors
    ///
    /// As [`try_send`](Self::try_send), with `()` in place of the value.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        self.tx.used();
        match self.tx.shared.chan.try_reserve() {
            Ok(()) => Ok(Permit {
                chan: &self.tx.shared.chan,
            }),
            Err(TryPush::Full(())) => Err(TrySendError::Full(())),
            Err(TryPush::Closed(())) => Err(TrySendError::Closed(())),
        }
    }

    /// Sends from code that is not async, parking the caller while the channel is full; see
    /// [`weft::sync`](crate::sync#three-kinds-of-caller).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread: "weft::sync::mpsc::Sender::blocking_send
    /// called on an event-loop thread outside a green thread: it would block every task of this
    /// loop. ..."
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::park::block_on("mpsc::Sender::blocking_send", self.send(value))
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

    /// Free slots now (reserved permits use slots).
    pub fn capacity(&self) -> usize {
        self.tx.shared.chan.capacity()
    }

    /// The capacity given to [`channel`](super::channel).
    pub fn max_capacity(&self) -> usize {
        self.tx.shared.chan.max_capacity()
    }

    /// Weak senders of the channel (from [`downgrade`](Self::downgrade)) still alive.
    pub fn weak_count(&self) -> usize {
        self.tx.weak_count()
    }

    /// True if both senders feed the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.tx.same_channel(&other.tx)
    }

    /// A [`WeakSender`]: it can become a sender again while one lives, but does not keep the
    /// channel open.
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            weak: self.tx.downgrade(),
        }
    }

    /// Live senders of this channel (clones included).
    pub fn strong_count(&self) -> usize {
        self.tx.shared.chan.senders()
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` into the reserved slot; never waits, never fails (a value sent after the
    /// receiver closed is dropped with the channel).
    pub fn send(self, value: T) {
        self.chan.push_reserved(value);
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.release_reserved();
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` into the reserved slot and gives the sender back.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.sender.take().expect("a permit is used once");
        sender.tx.shared.chan.push_reserved(value);
        sender
    }

    /// Gives the slot back unused, and the sender.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("a permit is used once");
        sender.tx.shared.chan.release_reserved();
        sender
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.tx.shared.chan.release_reserved();
        }
    }
}

impl<T> Receiver<T> {
    /// Receives the oldest value, waiting while the channel is empty; `None` once it is empty
    /// and every sender is gone (or it was closed and drained).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is taken only in the poll that returns it, so a dropped `recv()`
    /// (a `select!` branch that loses) loses nothing.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Option<T>> + '_ {
        self.rx.recv(Location::caller())
    }

    /// Moves up to `limit` queued values into `buf` (appending), waiting while none is queued.
    /// Returns how many were added: 0 only when `limit` is 0 or the channel is finished.
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
    /// [`TryRecvError::Empty`] when nothing is queued; [`TryRecvError::Disconnected`] when
    /// nothing is queued and nothing can come.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// Receives from code that is not async; see [`weft::sync`](crate::sync#three-kinds-of-caller).
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread: "weft::sync::mpsc::Receiver::blocking_recv
    /// called on an event-loop thread outside a green thread: ...".
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        let site = Location::caller();
        crate::sync::park::block_on("mpsc::Receiver::blocking_recv", self.rx.recv(site))
    }

    /// Closes the channel: sends fail from now on and waiting senders wake with an error; values
    /// already queued or sent through permits already held can still be received.
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

    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.rx.shared.chan.capacity()
    }

    /// The capacity given to [`channel`](super::channel).
    pub fn max_capacity(&self) -> usize {
        self.rx.shared.chan.max_capacity()
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

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Sender")
            .field("max_capacity", &self.max_capacity())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Receiver")
            .field("max_capacity", &self.max_capacity())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::Permit").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::OwnedPermit").finish_non_exhaustive()
    }
}
