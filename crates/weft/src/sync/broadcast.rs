//! A multi-producer, multi-consumer channel where every receiver sees every value:
//! [`channel`]`(capacity)`.
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! let (tx, mut a) = weft::sync::broadcast::channel(16);
//! let mut b = tx.subscribe();
//! tx.send("hi").unwrap();
//! assert_eq!(a.recv().await, Ok("hi"));
//! assert_eq!(b.recv().await, Ok("hi"));
//! # });
//! ```
//!
//! # Lagging
//!
//! The channel keeps the last `capacity` values in a ring. A send never waits: when the ring is
//! full, the oldest value is overwritten even if some receiver has not seen it. That receiver's
//! next `recv` returns [`RecvError::Lagged`]`(n)` (n values it missed) and moves it to the
//! oldest value still kept; the following `recv`s continue from there. A slow receiver thus
//! never holds up the sender nor the other receivers.
//!
//! # Design and fairness
//!
//! The ring, the write position, the counts and the waiting receivers share one short lock. A
//! value is stored once and cloned for each receiver as it reads it; it is dropped as soon as
//! the last receiver that was subscribed when it was sent has read it (or it is overwritten).
//! A send wakes every waiting receiver; receivers are independent, so there is no order among
//! them to be fair about.
//!
//! # Who holds, who waits
//!
//! The channel is a `ResourceKind::Broadcast` resource: its live senders are its holders and a
//! receiver waiting in `recv` is recorded as waiting on it.
//!
//! The ring, counts and waiters live in `broadcast_core` (loom-checked by
//! `tests/loom_sync_broadcast.rs`); this file adds the handles, futures and bookkeeping.

use super::broadcast_core::{Core, Look};
use crate::loom::Arc;
use crate::rt::coop;
use crate::sync::trace::{HoldToken, Resource, ResourceKind, WaitGuard};
use crate::sync::waiters::WaiterKey;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The errors of a broadcast channel.
pub mod error {
    use std::fmt;

    /// No receiver was subscribed; the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("broadcast: no receiver is subscribed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why `recv` returned no value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum RecvError {
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// This receiver fell behind by this many values, which were overwritten; the next
        /// `recv` returns the oldest value still kept.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("broadcast: every sender is gone"),
                RecvError::Lagged(n) => write!(f, "broadcast: the receiver lagged by {n} values"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why `try_recv` returned no value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TryRecvError {
        /// Nothing new yet.
        Empty,
        /// Every sender is gone and this receiver has seen every value.
        Closed,
        /// As [`RecvError::Lagged`].
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("broadcast: nothing new"),
                TryRecvError::Closed => f.write_str("broadcast: every sender is gone"),
                TryRecvError::Lagged(n) => {
                    write!(f, "broadcast: the receiver lagged by {n} values")
                }
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    core: Core<T>,
    trace: Resource,
}

/// Creates a broadcast channel keeping the last `capacity` values.
///
/// # Panics
///
/// If `capacity` is 0 ("broadcast channel capacity must be > 0").
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    new_channel(capacity)
}

/// [`channel`] without its `T: Clone` bound, which only receiving needs.
#[track_caller]
fn new_channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "broadcast channel capacity must be > 0");
    let shared = Arc::new(Shared {
        core: Core::new(capacity),
        trace: Resource::new(ResourceKind::Broadcast, Location::caller()),
    });
    let hold = shared.trace.hold_shared(1);
    (
        Sender {
            shared: shared.clone(),
            hold,
        },
        Receiver { shared, next: 0 },
    )
}

/// Sends values to every receiver; clone it for more senders.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    hold: HoldToken,
}

/// A sender that does not keep the channel open: [`WeakSender::upgrade`] gives a [`Sender`]
/// back while some sender is still alive. Made by [`Sender::downgrade`].
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every value sent after it subscribed.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position of the next value to read.
    next: u64,
}

impl<T> Sender<T> {
    /// A channel keeping the last `capacity` values, with no receiver yet: receivers come from
    /// [`Sender::subscribe`]. Until then [`Sender::send`] fails.
    ///
    /// ```
    /// let tx = weft::sync::broadcast::Sender::new(4);
    /// assert!(tx.send(1).is_err());
    /// let mut rx = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(2));
    /// ```
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        let (tx, _) = new_channel(capacity);
        tx
    }

    /// The channel's trace resource (for the bookkeeping's tests).
    #[cfg(test)]
    pub(crate) fn resource(&self) -> &Resource {
        &self.shared.trace
    }

    /// A [`WeakSender`] of this channel, which does not keep it open.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.core.add_weak_sender(1);
        WeakSender {
            shared: self.shared.clone(),
        }
    }

    /// Senders alive now (this one and its clones).
    pub fn strong_count(&self) -> usize {
        self.shared.core.sender_count()
    }

    /// Weak senders alive now.
    pub fn weak_count(&self) -> usize {
        self.shared.core.weak_sender_count()
    }
    /// Sends `value` to every receiver subscribed now; never waits. Returns how many receivers
    /// will see it.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if no receiver is subscribed.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        self.shared.core.send(value).map_err(SendError)
    }

    /// A new receiver that sees the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let next = self.shared.core.subscribe();
        Receiver {
            shared: self.shared.clone(),
            next,
        }
    }

    /// Receivers subscribed now.
    pub fn receiver_count(&self) -> usize {
        self.shared.core.receiver_count()
    }

    /// Values kept that some receiver has not read yet (at most the capacity).
    pub fn len(&self) -> usize {
        self.shared.core.unread_len()
    }

    /// True when every receiver has read every value kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if both senders feed the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Waits until every receiver is gone (completes at once if none is subscribed). A
    /// receiver subscribed meanwhile (by [`subscribe`](Self::subscribe)) keeps it waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only takes it off the waiting list.
    pub async fn closed(&self) {
        let core = &self.shared.core;
        struct Unqueue<'a, T>(&'a Core<T>, Option<WaiterKey>);
        impl<T> Drop for Unqueue<'_, T> {
            fn drop(&mut self) {
                self.0.unqueue_closed(&mut self.1);
            }
        }
        let mut queued = Unqueue(core, None);
        std::future::poll_fn(|cx| core.poll_closed(&mut queued.1, cx.waker())).await;
    }

    /// True when no receiver is subscribed.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.core.add_sender();
        Sender {
            shared: self.shared.clone(),
            hold: self.shared.trace.hold_shared(1),
        }
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] again, or `None` once every sender is gone (the channel is then closed for
    /// good).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        if !self.shared.core.try_add_sender() {
            return None;
        }
        Some(Sender {
            shared: self.shared.clone(),
            hold: self.shared.trace.hold_shared(1),
        })
    }

    /// Senders alive now.
    pub fn strong_count(&self) -> usize {
        self.shared.core.sender_count()
    }

    /// Weak senders alive now (this one included).
    pub fn weak_count(&self) -> usize {
        self.shared.core.weak_sender_count()
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        self.shared.core.add_weak_sender(1);
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.core.add_weak_sender(-1);
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.trace.release_shared(self.hold, 1);
        self.shared.core.drop_sender();
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting while there is none.
    ///
    /// # Errors
    ///
    /// [`RecvError::Lagged`]`(n)` once if this receiver missed `n` overwritten values (the next
    /// call continues with the oldest kept); [`RecvError::Closed`] when every sender is gone
    /// and every value was read.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value is taken only in the poll that returns it.
    #[track_caller]
    pub fn recv(&mut self) -> impl Future<Output = Result<T, RecvError>> + '_ {
        Recv {
            site: Location::caller(),
            rx: self,
            key: None,
            wait: None,
        }
    }

    /// Receives the next value without waiting.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv), plus [`TryRecvError::Empty`] when nothing new has come.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.shared.core.try_recv(&mut self.next) {
            Look::Value(v) => Ok(v),
            Look::Lagged(n) => Err(TryRecvError::Lagged(n)),
            Look::Empty => Err(TryRecvError::Empty),
            Look::Closed => Err(TryRecvError::Closed),
        }
    }

    /// Receives from code that is not async; see [`weft::sync`](crate::sync#three-kinds-of-caller).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread (the message of every `blocking_*` call).
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        let fut = self.recv();
        crate::sync::park::block_on("broadcast::Receiver::blocking_recv", fut)
    }
}

impl<T> Receiver<T> {
    /// A new receiver of the same channel that sees the values sent from now on.
    pub fn resubscribe(&self) -> Receiver<T> {
        let next = self.shared.core.subscribe();
        Receiver {
            shared: self.shared.clone(),
            next,
        }
    }

    /// Values sent that this receiver has not read yet (lagged ones included).
    pub fn len(&self) -> usize {
        self.shared.core.len_from(self.next)
    }

    /// True when this receiver has read everything sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True once every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.core.is_closed()
    }

    /// Senders alive now.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.core.sender_count()
    }

    /// Weak senders alive now.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.core.weak_sender_count()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.core.drop_receiver(self.next);
    }
}

/// The future of [`Receiver::recv`].
struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    key: Option<WaiterKey>,
    wait: Option<WaitGuard>,
    site: &'static Location<'static>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let rx = &mut *this.rx;
        let out = match rx
            .shared
            .core
            .poll_recv(&mut rx.next, &mut this.key, cx.waker())
        {
            Poll::Ready(Look::Value(v)) => Ok(v),
            Poll::Ready(Look::Lagged(n)) => Err(RecvError::Lagged(n)),
            Poll::Ready(Look::Closed) => Err(RecvError::Closed),
            Poll::Ready(Look::Empty) => unreachable!("poll_recv queues instead"),
            Poll::Pending => {
                coop::refund();
                if this.wait.is_none() {
                    this.wait = Some(rx.shared.trace.wait(this.site));
                }
                return Poll::Pending;
            }
        };
        this.wait = None;
        Poll::Ready(out)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.wait = None;
        self.rx.shared.core.unqueue(&mut self.key);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::WeakSender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}
