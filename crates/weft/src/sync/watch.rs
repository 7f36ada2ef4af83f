//! A single-value channel where receivers always see the latest value: [`channel`]`(init)`.
//!
//! ```
//! # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
//! # rt.block_on(async {
//! let (tx, mut rx) = weft::sync::watch::channel("starting");
//! weft::spawn(async move { tx.send("ready").unwrap() });
//! rx.changed().await.unwrap();
//! assert_eq!(*rx.borrow_and_update(), "ready");
//! # });
//! ```
//!
//! # What a receiver sees
//!
//! Only the latest value: several sends between two looks are one change, and
//! [`Receiver::changed`] completes once for all of them. Each receiver keeps the version it last
//! marked seen ([`Receiver::borrow_and_update`], `changed`), so "has it changed" is per
//! receiver. Every waiting receiver is woken by a send; there is no order among them.
//!
//! # Design
//!
//! The value sits behind a readers-writer lock (borrows share it; a send holds it only to
//! store). A version counter (an atomic, the lowest bit meaning "the sender is gone") is bumped
//! after each store; a receiver compares it with the version it saw. Waiting receivers queue in
//! a `WaitList` behind a separate short lock; a receiver checks the version under that lock
//! before it queues, and a sender bumps the version before taking it to wake, so no change is
//! missed. That state lives in `watch_state` (loom-checked by `tests/loom_sync_watch.rs`, the
//! lock and atomics all through `crate::loom`); this file adds the handles, futures and
//! bookkeeping.
//!
//! # Who holds, who waits
//!
//! The channel is a `ResourceKind::Watch` resource held by its sender; a receiver in `changed`
//! is recorded as waiting on it.

use super::watch_state::{State, CLOSED, STEP};
use crate::loom::{Arc, RwLockReadGuard};
use crate::sync::trace::{HoldToken, Resource, ResourceKind, WaitGuard};
use crate::sync::waiters::WaiterKey;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The errors of a watch channel.
pub mod error {
    use std::fmt;

    /// No receiver is left; the value comes back.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("watch: every receiver is gone")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Every sender is gone (and, for `changed`, nothing new is left to see).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RecvError(pub(crate) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("watch: every sender is gone")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

struct Shared<T> {
    state: State<T>,
    trace: Resource,
}

/// Creates a watch channel holding `init`.
#[track_caller]
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: State::new(init),
        trace: Resource::new(ResourceKind::Watch, Location::caller()),
    });
    let hold = shared.trace.hold_shared(1);
    (
        Sender {
            shared: shared.clone(),
            hold,
        },
        Receiver { shared, seen: 0 },
    )
}

/// Publishes new values; clone it for more senders (the channel closes when the last one goes).
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    hold: HoldToken,
}

/// Reads the latest value and waits for changes.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version last marked seen (without the CLOSED bit).
    seen: u64,
}

/// A borrow of the current value; holds a read lock, so keep it short (a send waits for it).
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, T>,
    changed: bool,
}

impl<T> Ref<'_, T> {
    /// True if the value borrowed had not been marked seen by this receiver before the borrow.
    pub fn has_changed(&self) -> bool {
        self.changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T> Sender<T> {
    /// A channel holding `init` with no receiver yet: [`Sender::subscribe`] makes them. Until
    /// then [`Sender::send`] fails, while [`Sender::send_replace`] and
    /// [`Sender::send_modify`] store.
    ///
    /// ```
    /// let tx = weft::sync::watch::Sender::new(1);
    /// assert!(tx.send(2).is_err());
    /// let rx = tx.subscribe();
    /// tx.send(3).unwrap();
    /// assert_eq!(*rx.borrow(), 3);
    /// ```
    #[track_caller]
    pub fn new(init: T) -> Sender<T> {
        let (tx, _) = channel(init);
        tx
    }

    /// Senders alive now (this one and its clones).
    pub fn sender_count(&self) -> usize {
        self.shared.state.sender_count()
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The channel's trace resource (for the bookkeeping's tests).
    #[cfg(test)]
    pub(crate) fn resource(&self) -> &Resource {
        &self.shared.trace
    }
    /// Stores `value` and notifies every receiver.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value, which is not stored, if no receiver is left.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.state.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Modifies the value in place and notifies every receiver, even if none is left.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Modifies the value in place; notifies the receivers only if `modify` returns true.
    /// Returns what `modify` returned.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.shared.state.send_if_modified(modify)
    }

    /// Stores `value`, notifies every receiver (even if none is left) and returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let mut old = None;
        self.shared.state.send_if_modified(|v| {
            old = Some(std::mem::replace(v, value));
            true
        });
        old.expect("the store ran")
    }

    /// Borrows the current value.
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: self.shared.state.read(),
            changed: false,
        }
    }

    /// A new receiver; the current value counts as seen by it.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.state.add_receiver();
        let seen = self.shared.state.version() & !CLOSED;
        Receiver {
            shared: self.shared.clone(),
            seen,
        }
    }

    /// Receivers alive now.
    pub fn receiver_count(&self) -> usize {
        self.shared.state.receiver_count()
    }

    /// True when no receiver is left.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn closed(&self) {
        let state = &self.shared.state;
        struct Unqueue<'a, T>(&'a State<T>, Option<WaiterKey>);
        impl<T> Drop for Unqueue<'_, T> {
            fn drop(&mut self) {
                self.0.unqueue_closed(&mut self.1);
            }
        }
        let mut queued = Unqueue(state, None);
        std::future::poll_fn(|cx| state.poll_closed(&mut queued.1, cx.waker())).await;
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.state.add_sender();
        Sender {
            shared: self.shared.clone(),
            hold: self.shared.trace.hold_shared(1),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.trace.release_shared(self.hold, 1);
        self.shared.state.drop_sender();
    }
}

impl<T> Receiver<T> {
    fn version(&self) -> u64 {
        self.shared.state.version()
    }

    /// Borrows the latest value without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = self.shared.state.read();
        let changed = self.version() & !CLOSED != self.seen;
        Ref { guard, changed }
    }

    /// Borrows the latest value and marks it seen.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let (guard, changed) = self.shared.state.borrow_and_update(&mut self.seen);
        Ref { guard, changed }
    }

    /// True if a value this receiver has not marked seen was sent.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let version = self.version();
        if version & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(version != self.seen)
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = self.version() & !CLOSED;
    }

    /// Marks the current value not seen: the next `changed` completes at once.
    pub fn mark_changed(&mut self) {
        self.seen = (self.version() & !CLOSED).wrapping_sub(STEP);
    }

    /// Waits for a value this receiver has not seen, and marks it seen (read it with
    /// [`borrow`](Self::borrow)). Completes at once if one was sent since the last look.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone and nothing unseen is left.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the version is marked seen only in the poll that returns Ready.
    #[track_caller]
    pub fn changed(&mut self) -> impl Future<Output = Result<(), RecvError>> + '_ {
        Changed {
            site: Location::caller(),
            shared: &self.shared,
            seen: &mut self.seen,
            key: None,
            wait: None,
        }
    }

    /// Waits until the value satisfies `pred`, and returns a borrow of it (marked seen). The
    /// current value is tried first, so this completes at once if it already satisfies
    /// `pred`; after that `pred` sees each value this receiver has not seen, at most once each
    /// (values overwritten in between are never seen, as with [`changed`](Self::changed)).
    ///
    /// # Errors
    ///
    /// [`RecvError`] if every sender is gone and the last value does not satisfy `pred`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a value `pred` rejected stays marked seen, nothing else changes.
    #[track_caller]
    pub fn wait_for(
        &mut self,
        mut pred: impl FnMut(&T) -> bool,
    ) -> impl Future<Output = Result<Ref<'_, T>, RecvError>> {
        let site = Location::caller();
        let shared: &Shared<T> = &self.shared;
        let seen = &mut self.seen;
        async move {
            loop {
                {
                    let (guard, changed) = shared.state.borrow_and_update(seen);
                    if pred(&guard) {
                        return Ok(Ref { guard, changed });
                    }
                }
                Changed {
                    site,
                    shared,
                    seen: &mut *seen,
                    key: None,
                    wait: None,
                }
                .await?;
            }
        }
    }

    /// True if both receivers watch the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.state.add_receiver();
        Receiver {
            shared: self.shared.clone(),
            seen: self.seen,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.state.drop_receiver();
    }
}

/// The future of [`Receiver::changed`].
struct Changed<'a, T> {
    shared: &'a Shared<T>,
    seen: &'a mut u64,
    key: Option<WaiterKey>,
    wait: Option<WaitGuard>,
    site: &'static Location<'static>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this
            .shared
            .state
            .poll_changed(this.seen, &mut this.key, cx.waker())
        {
            Poll::Ready(out) => {
                this.wait = None;
                Poll::Ready(out.map_err(|_closed| RecvError(())))
            }
            Poll::Pending => {
                if this.wait.is_none() {
                    this.wait = Some(this.shared.trace.wait(this.site));
                }
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        self.wait = None;
        self.shared.state.unqueue_changed(&mut self.key);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}
