//! `Notify`: wake one task (keeping a permit if none waits) or every task waiting now.
//!
//! The state machine is [`super::notify_state`] (one word plus a FIFO waiter list,
//! loom-checked); this module adds the public API, `#[track_caller]` sites and the waiter
//! bookkeeping for `weft::diag`.

use super::notify_state::{State, Waiter, EMPTY};
use super::trace::{Resource, ResourceKind, WaitGuard};
use super::waiters::WaitList;
use crate::loom::{AtomicUsize, Mutex};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Notifies tasks, green threads or OS threads that an event happened.
///
/// `notify_one` wakes the oldest waiter, or, if none waits, stores **one** permit that the
/// next `notified().await` takes at once (several `notify_one` calls with no waiter still store
/// one). `notify_waiters` wakes every waiter waiting at that moment (including futures created
/// by `notified()` and not yet polled) and stores nothing.
///
/// # Fairness
///
/// `notify_one` serves waiters in FIFO order (order of first poll, or of
/// [`Notified::enable`]). A stored permit goes to whichever `notified()` is polled first, so a
/// newcomer can take it before an older future that has not been polled yet.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use std::sync::Arc;
/// let notify = Arc::new(weft::sync::Notify::new());
/// let n = notify.clone();
/// let waiter = weft::spawn(async move { n.notified().await; "woken" });
/// notify.notify_one();
/// assert_eq!(waiter.await.unwrap(), "woken");
/// # });
/// ```
pub struct Notify {
    state: State,
    res: Resource,
}

/// The future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    waiter: Waiter,
    site: &'static Location<'static>,
    wait: Option<WaitGuard>,
}

impl Notify {
    /// A `Notify` with no stored permit.
    #[track_caller]
    pub fn new() -> Notify {
        Notify {
            state: State::new(),
            res: Resource::new(ResourceKind::Notify, Location::caller()),
        }
    }

    /// [`Notify::new`] as a `const fn`, for statics.
    #[track_caller]
    pub const fn const_new() -> Notify {
        Notify {
            state: State {
                state: AtomicUsize::new(EMPTY),
                waiters: Mutex::new(WaitList::new()),
            },
            res: Resource::new(ResourceKind::Notify, Location::caller()),
        }
    }

    /// A future that completes when this is notified: by a `notify_one` (or a stored permit)
    /// once it is polled or [enabled](Notified::enable), or by a `notify_waiters` called any
    /// time after this call.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `Notified` that had been handed a `notify_one` passes it on to
    /// the next waiter (or stores it as the permit), so no notification is lost.
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            waiter: Waiter::new(&self.state),
            site: Location::caller(),
            wait: None,
        }
    }

    /// [`notified`](Self::notified) owning a clone of the `Arc` (`'static`, to store or move
    /// into a task).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as `notified`.
    #[track_caller]
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        OwnedNotified {
            wait: None,
            waiter: Waiter::new(&self.state),
            site: Location::caller(),
            notify: self,
        }
    }

    /// Wakes the oldest waiter, or stores a permit for the next `notified()` if none waits.
    pub fn notify_one(&self) {
        self.state.notify_one();
    }

    /// Wakes the newest waiter (LIFO), or stores a permit for the next `notified()` if none
    /// waits, as [`notify_one`](Self::notify_one) does. A waiter it woke that is dropped
    /// before it sees the wake-up passes it on to the oldest waiter, as for `notify_one`.
    pub fn notify_last(&self) {
        self.state.notify_last();
    }

    /// Wakes every waiter waiting now (and every `notified()` future created before this call
    /// that has not completed). Stores no permit.
    pub fn notify_waiters(&self) {
        self.state.notify_waiters();
    }
}

impl Default for Notify {
    #[track_caller]
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify")
            .field("permit_stored", &self.state.permit_stored())
            .field("waiting", &self.state.has_waiters())
            .finish()
    }
}

impl Notified<'_> {
    /// Queues this future as a waiter without waiting yet, so that a `notify_one` from now on
    /// is meant for it (FIFO) even before it is polled. Returns true if it is already notified
    /// (then the next poll is ready at once).
    ///
    /// ```
    /// # let notify = weft::sync::Notify::new();
    /// let mut fut = std::pin::pin!(notify.notified());
    /// assert!(!fut.as_mut().enable());
    /// notify.notify_one();
    /// // `fut` now completes on its first poll.
    /// # assert!(fut.as_mut().enable());
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.waiter
            .advance(&this.notify.state, Waker::noop())
            .is_ready()
    }
}

/// One poll of a `notified()`: advances `waiter`, recording the wait (at `site`) while it
/// is pending.
fn poll_notified(
    notify: &Notify,
    waiter: &mut Waiter,
    wait: &mut Option<WaitGuard>,
    site: &'static Location<'static>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let out = waiter.advance(&notify.state, cx.waker());
    if out.is_pending() {
        if wait.is_none() {
            *wait = Some(notify.res.wait(site));
        }
    } else {
        *wait = None;
    }
    out
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        poll_notified(this.notify, &mut this.waiter, &mut this.wait, this.site, cx)
    }
}

/// The future returned by [`Notify::notified_owned`]: [`Notified`] owning its `Arc<Notify>`.
#[must_use = "futures do nothing unless polled"]
pub struct OwnedNotified {
    /// Ended before `notify` is released (the record points into it).
    wait: Option<WaitGuard>,
    waiter: Waiter,
    site: &'static Location<'static>,
    notify: Arc<Notify>,
}

impl OwnedNotified {
    /// Queues this future as a waiter without waiting yet; see [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.waiter
            .advance(&this.notify.state, Waker::noop())
            .is_ready()
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        poll_notified(
            &this.notify,
            &mut this.waiter,
            &mut this.wait,
            this.site,
            cx,
        )
    }
}

impl Drop for OwnedNotified {
    fn drop(&mut self) {
        self.wait = None;
        if self.waiter.is_waiting() {
            self.waiter.cancel(&self.notify.state);
        }
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified")
            .field("waiter", &self.waiter)
            .finish_non_exhaustive()
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if self.waiter.is_waiting() {
            self.waiter.cancel(&self.notify.state);
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("waiter", &self.waiter)
            .finish_non_exhaustive()
    }
}
