//! Model checks of `Notify`'s state machine (`src/sync/notify_state.rs`, with the waiter list
//! `src/sync/waiters.rs`) against loom's atomics and mutex, over the interleavings loom finds of:
//! - `notify_one` racing a waiter that is queueing (the stored permit or the hand-off: no lost
//!   wake-up);
//! - a waiter cancelled just after being handed a `notify_one`, racing another waiter: the
//!   notification reaches it (or is stored);
//! - `notify_waiters` racing a waiter's first poll: a waiter created before the call completes.
//!
//! A lost wake-up shows up as loom's deadlock report (a thread blocked forever in `block_on`).

/// The door `notify_state.rs` reaches atomics and locks through (`crate::loom`).
mod loom {
    pub(crate) use ::loom::sync::atomic::{AtomicUsize, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/notify_state.rs"]
mod notify_state;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use loom_support::{block_on, model};
use notify_state::{State, Waiter};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// `notified()` as a future over the state machine, cancelling in `Drop` as the real one does.
struct Notified<'a> {
    notify: &'a State,
    waiter: Waiter,
}

fn notified(notify: &State) -> Notified<'_> {
    Notified {
        notify,
        waiter: Waiter::new(notify),
    }
}

impl Future for Notified<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.waiter.advance(this.notify, cx.waker())
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        self.waiter.cancel(self.notify);
    }
}

#[test]
fn notify_one_racing_a_queueing_waiter_is_never_lost() {
    model(|| {
        let n = Arc::new(State::new());
        let notifier = {
            let n = n.clone();
            thread::spawn(move || n.notify_one())
        };
        block_on(notified(&n));
        notifier.join().unwrap();
        assert!(!n.permit_stored(), "the one notification was consumed");
        assert!(!n.has_waiters());
    });
}

#[test]
fn a_cancelled_waiter_passes_its_notification_on() {
    model(|| {
        let n = Arc::new(State::new());
        let mut first = Box::pin(notified(&n));
        assert!(first
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending());
        let second = {
            let n = n.clone();
            thread::spawn(move || block_on(notified(&n)))
        };
        let notifier = {
            let n = n.clone();
            thread::spawn(move || n.notify_one())
        };
        notifier.join().unwrap();
        // `first` may have been handed the notification: dropping it must pass it on.
        drop(first);
        // One notification for one remaining waiter: `second` finishes (or finds it stored).
        second.join().unwrap();
        assert!(!n.permit_stored());
    });
}

#[test]
fn notify_waiters_completes_a_waiter_created_before_it() {
    model(|| {
        let n = Arc::new(State::new());
        let early = Waiter::new(&n); // created before the call below
        let notifier = {
            let n = n.clone();
            thread::spawn(move || n.notify_waiters())
        };
        let waiter = {
            let n2 = n.clone();
            thread::spawn(move || {
                let fut = Notified {
                    notify: &n2,
                    waiter: early,
                };
                block_on(fut);
            })
        };
        notifier.join().unwrap();
        waiter.join().unwrap();
        assert!(!n.permit_stored(), "notify_waiters stores nothing");
    });
}
