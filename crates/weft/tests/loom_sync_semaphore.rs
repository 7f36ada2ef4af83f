//! Model checks of the batch semaphore (`src/sync/batch.rs`, with the waiter list
//! `src/sync/waiters.rs`), the core of `Semaphore`, `Mutex`, `RwLock` and `OnceCell`, compiled
//! here against loom's atomics and mutex, over the interleavings loom finds of:
//! - a release racing a waiter that is queueing (no lost wake-up);
//! - a cancelled waiter (future dropped, perhaps just after being served) racing a release: the
//!   permit reaches the next waiter;
//! - a dropped guard waking the next waiter of a mutex (one-permit semaphore);
//! - close racing acquire and release: the waiter finishes, and no permit is lost.
//!
//! A lost wake-up shows up as loom's deadlock report (a thread blocked forever in `block_on`).

/// The door `batch.rs` reaches atomics and locks through (`crate::loom`), opened onto loom.
mod loom {
    pub(crate) use ::loom::sync::atomic::{AtomicUsize, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/batch.rs"]
mod batch;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use batch::{Closed, Core, Waiter};
use loom_support::{block_on, model, model_bounded};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// For the models with two threads that each park and wake: a bound of 3 takes over 20 s there
/// in a debug build, beyond CI's budget per loom file.
const PREEMPTIONS_WIDE: usize = 2;

/// An acquisition of `n` permits as a future, cancelling in `Drop` as the real ones do.
struct Acquire<'a> {
    core: &'a Core,
    waiter: Waiter,
}

fn acquire(core: &Core, n: usize) -> Acquire<'_> {
    Acquire {
        core,
        waiter: Waiter::new(n),
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

#[test]
fn a_release_racing_a_queueing_waiter_is_never_lost() {
    model(|| {
        let core = Arc::new(Core::new(0));
        let releaser = {
            let core = core.clone();
            thread::spawn(move || core.release(1))
        };
        block_on(acquire(&core, 1)).unwrap();
        releaser.join().unwrap();
        assert_eq!(core.available(), 0);
        core.release(1);
        assert_eq!(core.available(), 1);
        assert!(core.try_acquire(1).is_ok(), "the fast path is open again");
    });
}

#[test]
fn a_cancelled_waiter_passes_its_permit_on() {
    model(|| {
        let core = Arc::new(Core::new(0));
        // A waiter queued first, then cancelled while a release and a second waiter race.
        let mut first = Box::pin(acquire(&core, 1));
        let queued = first
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending();
        assert!(queued);
        let second = {
            let core = core.clone();
            thread::spawn(move || {
                block_on(acquire(&core, 1)).unwrap();
                core.release(1);
            })
        };
        let releaser = {
            let core = core.clone();
            thread::spawn(move || core.release(1))
        };
        drop(first); // maybe served already: the permit must reach `second`
        releaser.join().unwrap();
        second.join().unwrap();
        assert_eq!(core.available(), 1, "exactly one permit, back home");
    });
}

#[test]
fn a_dropped_guard_wakes_the_next_waiter() {
    model_bounded(PREEMPTIONS_WIDE, || {
        // A mutex: one permit; the main thread holds it, two threads wait for it in turn.
        let core = Arc::new(Core::new(1));
        core.try_acquire(1).unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let core = core.clone();
                thread::spawn(move || {
                    block_on(acquire(&core, 1)).unwrap();
                    core.release(1); // the guard dropped
                })
            })
            .collect();
        core.release(1);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(core.available(), 1);
    });
}

#[test]
fn close_racing_acquire_and_release_finishes_the_waiter_and_loses_no_permit() {
    model(|| {
        let core = Arc::new(Core::new(0));
        let waiter = {
            let core = core.clone();
            thread::spawn(move || {
                let got = block_on(acquire(&core, 2));
                if got.is_ok() {
                    core.release(2);
                }
                got
            })
        };
        let releaser = {
            let core = core.clone();
            thread::spawn(move || core.release(2))
        };
        core.close();
        let got = waiter.join().unwrap();
        releaser.join().unwrap();
        assert!(core.is_closed());
        assert_eq!(
            core.available(),
            2,
            "permits given back whatever the outcome ({got:?})"
        );
        assert_eq!(core.try_acquire(1), Err(batch::TryAcquire::Closed));
    });
}

#[test]
fn a_writer_collecting_all_permits_races_readers_and_nobody_is_stranded() {
    model_bounded(PREEMPTIONS_WIDE, || {
        // An RwLock of 2 readers: a writer takes both; readers take one each.
        let core = Arc::new(Core::new(2));
        core.try_acquire(1).unwrap(); // a reader holds one as the race starts
        let writer = {
            let core = core.clone();
            thread::spawn(move || {
                block_on(acquire(&core, 2)).unwrap();
                core.release(2);
            })
        };
        let reader = {
            let core = core.clone();
            thread::spawn(move || {
                block_on(acquire(&core, 1)).unwrap();
                core.release(1);
            })
        };
        core.release(1); // the first reader leaves
        writer.join().unwrap();
        reader.join().unwrap();
        assert_eq!(core.available(), 2);
    });
}
