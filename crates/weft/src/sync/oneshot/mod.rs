//! A channel for one value: [`channel`] gives a [`Sender`] and a [`Receiver`]; the receiver is a
//! future.
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! let (tx, rx) = weft::sync::oneshot::channel();
//! weft::spawn(async move { tx.send(42).unwrap() });
//! assert_eq!(rx.await, Ok(42));
//! # });
//! ```
//!
//! # Design
//!
//! One atomic word and three cells (the value, each side's waker), no lock and no allocation
//! beyond the shared `Arc`: sending is one store and one CAS, receiving a ready value one load
//! (`core`'s module doc states the protocol). A sender dropped without sending completes the
//! channel empty, which the receiver reports as [`error::RecvError`].
//!
//! # Who holds, who waits
//!
//! The channel is a `ResourceKind::Oneshot` resource; the sender is its (shared) holder while
//! it lives, and an awaiting receiver is recorded as waiting on it.

pub(crate) mod core;

use self::core::{Core, Taken};
use crate::loom::Arc;
use crate::sync::trace::{HoldToken, Resource, ResourceKind, WaitGuard};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The errors of a oneshot channel.
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending a value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("oneshot: the sender was dropped without sending a value")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet; the sender is still alive.
        Empty,
        /// The sender was dropped without sending, the value was already taken, or the
        /// receiver was closed before a value came.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                TryRecvError::Empty => "oneshot: no value yet",
                TryRecvError::Closed => "oneshot: the channel is closed",
            })
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct Shared<T> {
    core: Core<T>,
    trace: Resource,
}

/// Creates a oneshot channel.
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        core: Core::new(),
        trace: Resource::new(ResourceKind::Oneshot, Location::caller()),
    });
    let hold = shared.trace.hold_shared(1);
    (
        Sender {
            shared: Some(shared.clone()),
            hold,
        },
        Receiver {
            shared: Some(shared),
            wait: None,
        },
    )
}

/// Sends the one value; see the [module doc](self).
pub struct Sender<T> {
    shared: Option<Arc<Shared<T>>>,
    hold: HoldToken,
}

/// Receives the one value: `.await` it (it is a future), or [`try_recv`](Self::try_recv).
pub struct Receiver<T> {
    /// None once the value was taken or the sender's end was seen.
    shared: Option<Arc<Shared<T>>>,
    wait: Option<WaitGuard>,
}

impl<T> Sender<T> {
    /// The channel's trace resource (for the bookkeeping's tests).
    #[cfg(test)]
    pub(crate) fn resource(&self) -> &Resource {
        &self.shared().trace
    }
    /// Sends `value`; fails, giving it back, if the receiver was closed or dropped. Never waits.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let shared = self.shared.take().expect("a sender sends once");
        shared.trace.release_shared(self.hold, 1);
        shared.core.send(value)
    }

    /// True once the receiver was closed or dropped: a send would fail.
    pub fn is_closed(&self) -> bool {
        self.shared().core.is_closed()
    }

    /// Waits until the receiver is closed or dropped (to stop computing a value nobody wants).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses nothing.
    pub async fn closed(&mut self) {
        let shared = self.shared().clone();
        std::future::poll_fn(|cx| shared.core.poll_closed(cx)).await
    }

    /// Polls for the receiver's close; the poll form of [`closed`](Self::closed).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.shared().core.poll_closed(cx)
    }

    fn shared(&self) -> &Arc<Shared<T>> {
        self.shared
            .as_ref()
            .expect("a sender is live until it sends")
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.trace.release_shared(self.hold, 1);
            shared.core.drop_sender();
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has come, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] while the sender lives and has not sent; [`TryRecvError::Closed`]
    /// if it was dropped without sending, the value was taken already, or the receiver was
    /// closed first.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(shared) = &self.shared else {
            return Err(TryRecvError::Closed);
        };
        let out = match shared.core.try_take() {
            Taken::Value(v) => Ok(v),
            Taken::Empty => return Err(TryRecvError::Empty),
            Taken::SenderGone | Taken::Closed => Err(TryRecvError::Closed),
        };
        self.finish();
        out
    }

    /// Closes the channel: the sender's `send` fails from now on and its `closed()` completes.
    /// A value sent before the close can still be taken with [`try_recv`](Self::try_recv).
    pub fn close(&mut self) {
        if let Some(shared) = &self.shared {
            shared.core.close();
        }
    }

    /// Waits for the value from code that is not async; see
    /// [`weft::sync`](crate::sync#three-kinds-of-caller).
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender was dropped without sending.
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread: "weft::sync::oneshot::Receiver::blocking_recv
    /// called on an event-loop thread outside a green thread: it would block every task of this loop. ..."
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        crate::sync::park::block_on("oneshot::Receiver::blocking_recv", self)
    }

    fn finish(&mut self) {
        self.wait = None;
        self.shared = None;
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.wait = None;
        if let Some(shared) = &self.shared {
            shared.core.close();
        }
    }
}

/// # Cancel safety
///
/// Awaiting a receiver by reference (`&mut rx` in `select!`) is cancel safe: a value that comes
/// while the branch is not polled stays in the channel for the next poll.
impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(shared) = &this.shared else {
            return Poll::Ready(Err(RecvError(())));
        };
        let out = match shared.core.poll_recv(cx) {
            Poll::Pending => {
                if this.wait.is_none() {
                    this.wait = Some(shared.trace.wait(shared.trace.site()));
                }
                return Poll::Pending;
            }
            Poll::Ready(Taken::Value(v)) => Ok(v),
            Poll::Ready(_) => Err(RecvError(())),
        };
        this.finish();
        Poll::Ready(out)
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}
