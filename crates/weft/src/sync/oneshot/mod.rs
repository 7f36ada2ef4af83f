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
//! One atomic word and three cells (the value, each side's waker) in one allocation (a block
//! of this thread's `block_cache`, not a `malloc`), no lock: sending is one store and one CAS,
//! receiving a ready value one load, and the word doubles as the allocation's reference count,
//! so a send and its receive cost one atomic read-modify-write in all (`core`'s module doc
//! states the protocol and who frees). A sender dropped without sending completes the channel
//! empty, which the receiver reports as [`error::RecvError`].
//!
//! # Who holds, who waits
//!
//! The channel is a `ResourceKind::Oneshot` resource; the sender is its holder while it lives
//! (recorded as the exclusive holder: there is only one sender, and that costs two relaxed
//! stores instead of the shared holders' lock), and an awaiting receiver is recorded as waiting on it.

pub(crate) mod core;

use self::core::{Core, Release, Taken};
use crate::sync::block_cache;
use crate::sync::trace::{Resource, ResourceKind, WaitGuard};
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
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
    /// The receiver's recorded wait, touched only through `&mut Receiver` (never by the
    /// sender). Kept here rather than in the receiver so that a receiver is one word and
    /// `channel()` returns both ends in registers: a wider pair goes through memory, stored in
    /// words and copied on in vector loads that cannot be forwarded from those stores, a stall
    /// that was a third of a send and await.
    rx_wait: Cell<Option<WaitGuard>>,
}

/// Frees the channel if `release` says this end was the last.
///
/// # Safety
///
/// `ptr` came from `channel`'s `block_cache::alloc_with`, and the caller's end has made its last
/// access (the `core` call that returned `release`).
unsafe fn release<T>(ptr: NonNull<Shared<T>>, release: Release) {
    if release == Release::Free {
        // SAFETY: the caller's contract, and `core` returns `Free` to exactly one end, after
        // the other end's last access (module doc of `core`).
        unsafe { block_cache::free(ptr) };
    }
}

/// Creates a oneshot channel.
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let site = Location::caller();
    let ptr = block_cache::alloc_with(|| Shared {
        core: Core::new(),
        trace: Resource::new(ResourceKind::Oneshot, site),
        rx_wait: Cell::new(None),
    });
    // SAFETY: just allocated, and not yet shared.
    unsafe { ptr.as_ref() }.trace.hold_exclusive();
    (Sender { shared: Some(ptr) }, Receiver { shared: Some(ptr) })
}

/// Sends the one value; see the [module doc](self).
pub struct Sender<T> {
    /// None once sent; the channel is freed by whichever end leaves last.
    shared: Option<NonNull<Shared<T>>>,
}

/// Receives the one value: `.await` it (it is a future), or [`try_recv`](Self::try_recv).
pub struct Receiver<T> {
    /// None once the value was taken or the sender's end was seen.
    shared: Option<NonNull<Shared<T>>>,
}

// SAFETY: the ends share the channel only through `core`'s protocol (atomics and cells accessed
// as its module doc allows), the trace resource (atomics and a lock) and `rx_wait`, which only
// the receiver touches, through `&mut Receiver`; the value crosses threads, hence `T: Send`.
// Neither end hands out `&T`.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: as above; `&Sender` only reads the state word.
unsafe impl<T: Send> Sync for Sender<T> {}
// SAFETY: as for `Sender`.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: taking the value and `rx_wait` need `&mut Receiver`; through `&Receiver`
// (`is_empty`) the channel is only looked at, as `core` allows.
unsafe impl<T: Send> Sync for Receiver<T> {}

impl<T> Sender<T> {
    /// The channel's trace resource (for the bookkeeping's tests).
    #[cfg(test)]
    pub(crate) fn resource(&self) -> &Resource {
        &self.shared().trace
    }
    /// Sends `value`; fails, giving it back, if the receiver was closed or dropped. Never waits.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let ptr = self.shared.take().expect("a sender sends once");
        // SAFETY: the sender has not left, so the channel is alive.
        let shared = unsafe { ptr.as_ref() };
        shared.trace.release_exclusive();
        let (out, last) = shared.core.send(value);
        // SAFETY: from `channel`; `send` was this end's last access.
        unsafe { release(ptr, last) };
        out
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
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver's close; the poll form of [`closed`](Self::closed).
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.shared().core.poll_closed(cx)
    }

    fn shared(&self) -> &Shared<T> {
        let ptr = self.shared.expect("a sender is live until it sends");
        // SAFETY: the sender has not left, so the channel is alive.
        unsafe { &*ptr.as_ptr() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(ptr) = self.shared.take() {
            // SAFETY: the sender has not left, so the channel is alive.
            let shared = unsafe { ptr.as_ref() };
            shared.trace.release_exclusive();
            let last = shared.core.drop_sender();
            // SAFETY: from `channel`; `drop_sender` was this end's last access.
            unsafe { release(ptr, last) };
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
        let Some(shared) = self.shared() else {
            return Err(TryRecvError::Closed);
        };
        let (taken, seen) = shared.core.try_take();
        let out = match taken {
            Taken::Value(v) => Ok(v),
            Taken::Empty => return Err(TryRecvError::Empty),
            Taken::SenderGone | Taken::Closed => Err(TryRecvError::Closed),
        };
        self.finish(seen);
        out
    }

    /// True unless a sent value waits to be taken: before the send, after a sender dropped
    /// without sending, after a close, and once the receiver has its answer.
    pub fn is_empty(&self) -> bool {
        self.shared().is_none_or(|shared| !shared.core.has_value())
    }

    /// True once the receiver has its answer (the value, or the error): awaited to completion
    /// or taken by [`try_recv`](Self::try_recv). Polling it again would only repeat the error.
    pub fn is_terminated(&self) -> bool {
        self.shared.is_none()
    }

    /// Closes the channel: the sender's `send` fails from now on and its `closed()` completes.
    /// A value sent before the close can still be taken with [`try_recv`](Self::try_recv).
    pub fn close(&mut self) {
        if let Some(shared) = self.shared() {
            let _already_sent = shared.core.close();
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

    fn shared(&self) -> Option<&Shared<T>> {
        // SAFETY: the receiver has not left while it holds the pointer, so the channel is alive.
        self.shared.map(|ptr| unsafe { &*ptr.as_ptr() })
    }

    /// The receiver has its answer, seen in state `seen`: it leaves.
    fn finish(&mut self, seen: usize) {
        if let Some(ptr) = self.shared.take() {
            // SAFETY: not left yet, so alive.
            let shared = unsafe { ptr.as_ref() };
            drop(shared.rx_wait.take());
            let last = shared.core.leave_rx(seen);
            // SAFETY: from `channel`; `leave_rx` was this end's last access.
            unsafe { release(ptr, last) };
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(ptr) = self.shared.take() {
            // SAFETY: not left yet, so alive.
            let shared = unsafe { ptr.as_ref() };
            drop(shared.rx_wait.take());
            let last = shared.core.drop_receiver();
            // SAFETY: from `channel`; `drop_receiver` was this end's last access.
            unsafe { release(ptr, last) };
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
        let Some(shared) = this.shared() else {
            return Poll::Ready(Err(RecvError(())));
        };
        let (out, seen) = match shared.core.poll_recv(cx) {
            Poll::Pending => {
                let wait = shared
                    .rx_wait
                    .take()
                    .unwrap_or_else(|| shared.trace.wait(shared.trace.site()));
                shared.rx_wait.set(Some(wait));
                return Poll::Pending;
            }
            Poll::Ready((Taken::Value(v), seen)) => (Ok(v), seen),
            Poll::Ready((_, seen)) => (Err(RecvError(())), seen),
        };
        this.finish(seen);
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
