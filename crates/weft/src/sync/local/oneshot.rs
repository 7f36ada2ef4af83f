//! A loop-local oneshot channel: the `!Send` twin of [`crate::sync::oneshot`], with the same
//! errors.

pub use crate::sync::oneshot::error::RecvError;
use crate::sync::oneshot::error::TryRecvError;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

struct Slot<T> {
    value: Option<T>,
    /// The sender sent or was dropped.
    complete: bool,
    /// The receiver closed or was dropped.
    closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

/// Creates a loop-local oneshot channel.
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Rc::new(RefCell::new(Slot {
        value: None,
        complete: false,
        closed: false,
        rx_waker: None,
        tx_waker: None,
    }));
    (Sender { slot: slot.clone() }, Receiver { slot })
}

/// Sends the one value.
pub struct Sender<T> {
    slot: Rc<RefCell<Slot<T>>>,
}

/// Receives the value; a future.
pub struct Receiver<T> {
    slot: Rc<RefCell<Slot<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`; gives it back if the receiver was closed or dropped.
    pub fn send(self, value: T) -> Result<(), T> {
        let mut s = self.slot.borrow_mut();
        if s.closed {
            return Err(value);
        }
        s.value = Some(value);
        drop(s);
        Ok(()) // `Drop` completes and wakes.
    }

    /// True once the receiver was closed or dropped.
    pub fn is_closed(&self) -> bool {
        self.slot.borrow().closed
    }

    /// Waits until the receiver is closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| {
            let mut s = self.slot.borrow_mut();
            if s.closed {
                return Poll::Ready(());
            }
            s.tx_waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut s = self.slot.borrow_mut();
        s.complete = true;
        let waker = s.rx_waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it came.
    ///
    /// # Errors
    ///
    /// As [`crate::sync::oneshot::Receiver::try_recv`].
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut s = self.slot.borrow_mut();
        match s.value.take() {
            Some(v) => Ok(v),
            None if s.complete || s.closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel: the send fails from now on.
    pub fn close(&mut self) {
        let mut s = self.slot.borrow_mut();
        s.closed = true;
        let waker = s.tx_waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
    }
}

/// # Cancel safety
///
/// Awaiting `&mut rx` is cancel safe: the value stays until taken.
impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.borrow_mut();
        if let Some(v) = s.value.take() {
            return Poll::Ready(Ok(v));
        }
        if s.complete || s.closed {
            return Poll::Ready(Err(RecvError(())));
        }
        if !s.rx_waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            s.rx_waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("local::oneshot::Sender")
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("local::oneshot::Receiver")
            .finish_non_exhaustive()
    }
}
