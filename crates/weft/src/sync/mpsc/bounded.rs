//! The bounded channel's ends: [`Sender`], [`Receiver`], and the slot permits.

use super::chan::TryPush;
use super::core::{BoundedCore, Core};
use super::ends::{Rx, Shared, Tx, WeakTx};
use super::error::{SendError, SendTimeoutError, TrySendError};
use super::permit::{Permit, PermitIterator};
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
    pub(crate) tx: Tx<BoundedCore<T>>,
}

/// Receives the values of a bounded channel.
pub struct Receiver<T> {
    pub(crate) rx: Rx<BoundedCore<T>>,
}

/// A reserved slot that owns its [`Sender`] (from [`Sender::reserve_owned`]).
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

/// A sender that does not keep the channel open (from [`Sender::downgrade`]): once every
/// [`Sender`] is gone the receiver finishes, and [`upgrade`](Self::upgrade) returns `None`.
pub struct WeakSender<T> {
    weak: WeakTx<BoundedCore<T>>,
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
    shared: &'a Shared<BoundedCore<T>>,
    /// Slots wanted, all at once.
    need: usize,
    key: Option<WaiterKey>,
    wait: Option<WaitGuard>,
    site: &'static Location<'static>,
}

impl<T> Future for Reserve<'_, T> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        match this.shared.chan.poll_reserve(&mut this.key, this.need, cx) {
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
        self.reserve_slots(1, site)
    }

    /// Waits for `need` slots (at most the capacity) at once, in FIFO turn.
    fn reserve_slots(&self, need: usize, site: &'static Location<'static>) -> Reserve<'_, T> {
        Reserve {
            shared: &self.tx.shared,
            need,
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

    /// [`try_reserve`](Self::try_reserve) that moves the sender into the permit.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the sender.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Sender<T>>> {
        self.tx.used();
        match self.tx.shared.chan.try_reserve() {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(TryPush::Full(())) => Err(TrySendError::Full(self)),
            Err(TryPush::Closed(())) => Err(TrySendError::Closed(self)),
        }
    }

    /// Reserves `n` slots if they are all free now (all or none); `n == 0` gives an empty
    /// iterator.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when fewer than `n` slots are free (always, if `n` exceeds the
    /// [`max_capacity`](Self::max_capacity)) or other senders are queued;
    /// [`TrySendError::Closed`] when the receiver is gone.
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        self.tx.used();
        match self.tx.shared.chan.try_reserve_many(n) {
            Ok(()) => Ok(PermitIterator {
                chan: &self.tx.shared.chan,
                n,
            }),
            Err(TryPush::Full(())) => Err(TrySendError::Full(())),
            Err(TryPush::Closed(())) => Err(TrySendError::Closed(())),
        }
    }

    /// Waits for `n` free slots and reserves them: the returned [`PermitIterator`] gives `n`
    /// permits that send without waiting.
    ///
    /// When `n` slots are free and no sender is queued, they are taken at once. Otherwise the
    /// call queues once, for all `n`, in FIFO order with the other senders: when it reaches the
    /// front it collects each freed slot until it has `n`, and no sender queued behind it gets
    /// a slot before it is complete (as tokio's).
    ///
    /// # Errors
    ///
    /// [`SendError`]`(())` if the receiver was closed or dropped, or if `n` exceeds the
    /// [`max_capacity`](Self::max_capacity) (it could never be reserved).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives up its place in the queue and passes every slot
    /// collected so far to the next sender (or frees it).
    #[track_caller]
    pub fn reserve_many(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<PermitIterator<'_, T>, SendError<()>>> + '_ {
        let site = Location::caller();
        async move {
            self.tx.used();
            let chan = &self.tx.shared.chan;
            if n > chan.max_capacity() || chan.is_closed() {
                return Err(SendError(()));
            }
            if n == 0 {
                return Ok(PermitIterator { chan, n });
            }
            match chan.try_reserve_many(n) {
                Ok(()) => return Ok(PermitIterator { chan, n }),
                Err(TryPush::Closed(())) => return Err(SendError(())),
                Err(TryPush::Full(())) => {}
            }
            if self.reserve_slots(n, site).await {
                Ok(PermitIterator { chan, n })
            } else {
                Err(SendError(()))
            }
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

receiver_methods!(Receiver, "Receiver");

impl<T> Receiver<T> {
    /// Free slots now.
    pub fn capacity(&self) -> usize {
        self.rx.shared.chan.capacity()
    }

    /// The capacity given to [`channel`](super::channel).
    pub fn max_capacity(&self) -> usize {
        self.rx.shared.chan.max_capacity()
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

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("mpsc::OwnedPermit").finish_non_exhaustive()
    }
}
