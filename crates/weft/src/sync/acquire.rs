//! [`Acquire`]: the future every permit-counting primitive waits with (`Semaphore`, and `Mutex`,
//! `RwLock` and `OnceCell`'s initialisation, which are semaphores underneath), and
//! [`AcquireThen`], an acquisition with what to make of it.
//!
//! The state machine is [`super::batch`]; this adds the wait record of `sync::trace` (made only
//! once the acquisition really waits) and the cancellation on drop.

use super::batch::{self, Core, Waiter};
use super::trace::{Resource, WaitGuard};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Waits for `n` permits of a [`Core`], recording the wait (only once it is really waiting)
/// on `res`. Dropping it before it is ready gives back any permit it was assigned.
pub(crate) struct Acquire<'a> {
    core: &'a Core,
    res: &'a Resource,
    waiter: Waiter,
    site: &'static Location<'static>,
    wait: Option<WaitGuard>,
}

impl<'a> Acquire<'a> {
    /// An acquisition of `n` permits of `core`, waited for at `site`.
    pub(crate) fn new(
        core: &'a Core,
        res: &'a Resource,
        n: usize,
        site: &'static Location<'static>,
    ) -> Acquire<'a> {
        Acquire {
            core,
            res,
            waiter: Waiter::new(n),
            site,
            wait: None,
        }
    }

    /// This acquisition, then `then` with its result: the future of an acquisition that builds
    /// a guard. See [`AcquireThen`].
    pub(crate) fn then<R, F: FnOnce(Result<(), batch::Closed>) -> R>(
        self,
        then: F,
    ) -> AcquireThen<'a, F> {
        AcquireThen {
            acquire: self,
            then: Some(then),
        }
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), batch::Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let out = this.waiter.poll(this.core, cx);
        if out.is_pending() {
            if this.wait.is_none() {
                this.wait = Some(this.res.wait(this.site));
            }
        } else {
            this.wait = None;
        }
        out
    }
}

/// An [`Acquire`] and what to make of its result ([`Acquire::then`]). Written out rather than
/// as an `async` block around `acquire.await`: such a block moves the `Acquire` from its
/// captures into its await slot on the first poll, a copy in wide vector loads of what was
/// just stored in words, which the processor cannot forward from the stores in flight
/// (measured: that stall was a third of an uncontended `Mutex::lock`).
pub(crate) struct AcquireThen<'a, F> {
    acquire: Acquire<'a>,
    then: Option<F>,
}

impl<R, F: FnOnce(Result<(), batch::Closed>) -> R + Unpin> Future for AcquireThen<'_, F> {
    type Output = R;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let this = &mut *self;
        let out = std::task::ready!(Pin::new(&mut this.acquire).poll(cx));
        let then = this
            .then
            .take()
            .expect("AcquireThen polled after it completed");
        Poll::Ready(then(out))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if self.waiter.is_queued() {
            self.waiter.cancel(self.core);
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("waiter", &self.waiter)
            .finish_non_exhaustive()
    }
}
