//! Model checks of `OnceCell`'s core (`src/sync/once_state.rs`, on the batch semaphore
//! `src/sync/batch.rs` and the waiter list `src/sync/waiters.rs`) against loom's atomics, mutex
//! and cell, over the interleavings loom finds of:
//! - two initializers racing, one cancelled (queued, or while its initializer runs): the other
//!   runs its own and the cell ends holding its value;
//! - two initializers racing to the end: exactly one runs, both see its value (loom's cell
//!   checks the write is ordered before every read).
//!
//! A lost wake-up (an initializer queued forever) shows up as loom's deadlock report.

/// The door `once_state.rs` and `batch.rs` reach atomics, locks and cells through
/// (`crate::loom`), opened onto loom.
mod loom {
    pub(crate) use ::loom::cell::UnsafeCell;
    pub(crate) use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/batch.rs"]
mod batch;

#[allow(dead_code)]
#[path = "../src/sync/once_state.rs"]
mod once_state;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use batch::{Closed, Core, Waiter};
use loom_support::{block_on, model};
use once_state::OnceState;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Waiting for the init permit as a future, cancelling in `Drop` as `semaphore::Acquire` does.
struct Acquire<'a> {
    core: &'a Core,
    waiter: Waiter,
}

fn acquire(core: &Core) -> Acquire<'_> {
    Acquire {
        core,
        waiter: Waiter::new(1),
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), Closed>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.waiter.poll(this.core, cx)
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.waiter.cancel(self.core);
    }
}

/// `get_or_init(|| value)` to the end, as `OnceCell::try_init_at` runs it: the value found,
/// and whether this caller's initializer ran.
fn get_or_init(cell: &OnceState<u32>, value: u32) -> (u32, bool) {
    if let Some(v) = cell.get() {
        return (*v, false);
    }
    if block_on(acquire(cell.init())).is_err() {
        return (*cell.get().expect("closed only once set"), false);
    }
    // SAFETY: this caller holds the init permit and keeps it.
    (*unsafe { cell.store(value) }, true)
}

#[test]
fn two_initializers_racing_one_cancelled_the_other_runs() {
    model(|| {
        let cell = Arc::new(OnceState::<u32>::new());
        let cancelled = {
            let cell = cell.clone();
            thread::spawn(move || {
                // One poll of `get_or_init(|| 1)`, then the future is dropped: while queued
                // (the waiter leaves) or while its initializer runs (the permit goes back).
                let mut fut = Box::pin(acquire(cell.init()));
                let polled = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                drop(fut);
                if polled == Poll::Ready(Ok(())) {
                    cell.abandon();
                }
            })
        };
        let (v, ran) = get_or_init(&cell, 2);
        cancelled.join().unwrap();
        assert_eq!((v, ran), (2, true), "the other initializer ran");
        assert_eq!(cell.get(), Some(&2));
        assert!(cell.init().is_closed(), "set: later callers find the value");
    });
}

#[test]
fn two_initializers_racing_exactly_one_runs() {
    model(|| {
        let cell = Arc::new(OnceState::<u32>::new());
        let other = {
            let cell = cell.clone();
            thread::spawn(move || get_or_init(&cell, 1))
        };
        let (mine, my_ran) = get_or_init(&cell, 2);
        let (theirs, their_ran) = other.join().unwrap();
        assert!(my_ran ^ their_ran, "exactly one initializer ran");
        assert_eq!(mine, theirs, "both see the one value");
        assert_eq!(cell.get(), Some(&mine));
    });
}
