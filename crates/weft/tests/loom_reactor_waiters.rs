//! Model checks of the reactor's waiter slots and readiness word: `src/rt/io_source.rs`,
//! compiled here against loom's atomics, with the waiter slot (`atomic_waker::AtomicWaker` in
//! the real build) a loom lock around an `Option<Waker>` with the same contract (what is checked
//! is the readiness protocol around the slot, not `atomic_waker` itself), over every
//! interleaving loom finds of
//! - an event racing an operation going to wait (check, store the waker, check again): the
//!   operation always proceeds (no lost wake-up: loom reports a thread parked forever);
//! - a reader and a writer waiting on one source while events arrive for each: each is woken
//!   by its own direction;
//! - a `WouldBlock` clearing readiness (off the home loop: the compare-and-swap) racing a new
//!   event: the new event's readiness is never thrown away.

/// The door `io_source.rs` reaches atomics and the waiter slot through (`crate::loom`),
/// opened onto loom's.
mod loom {
    pub(crate) use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// `atomic_waker::AtomicWaker`'s interface and contract (the last waker registered is
    /// the one a later `wake` wakes) over a loom lock.
    pub(crate) struct AtomicWaker(::loom::sync::Mutex<Option<std::task::Waker>>);

    impl AtomicWaker {
        pub(crate) fn new() -> AtomicWaker {
            AtomicWaker(::loom::sync::Mutex::new(None))
        }
        pub(crate) fn register(&self, waker: &std::task::Waker) {
            *self.0.lock().unwrap() = Some(waker.clone());
        }
        pub(crate) fn wake(&self) {
            let waker = self.0.lock().unwrap().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        pub(crate) fn take(&self) -> Option<std::task::Waker> {
            self.0.lock().unwrap().take()
        }
    }
}

/// `io_source.rs`'s `crate::sys::Readiness`: the epoll bits (as in `src/sys/epoll.rs`).
mod sys {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct Readiness(pub(crate) u32);

    impl Readiness {
        pub(crate) const READABLE: u32 = 1;
        pub(crate) const WRITABLE: u32 = 2;
        pub(crate) const READ_CLOSED: u32 = 4;
        pub(crate) const WRITE_CLOSED: u32 = 8;
        pub(crate) const ERROR: u32 = 16;
    }
}

#[allow(dead_code)]
#[path = "../src/rt/io_source.rs"]
mod io_source;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use io_source::{Direction, IoSource};
use loom_support::{block_on, model};
use std::future::poll_fn;
use std::task::Poll;
use sys::Readiness;

/// What `Registration::poll_ready` does, without epoll: waits until `dir` is ready.
async fn ready(source: &IoSource, dir: Direction) {
    poll_fn(|cx| {
        if source.ready(dir).is_some() {
            return Poll::Ready(());
        }
        source.register(dir, cx.waker());
        match source.ready(dir) {
            Some(_) => Poll::Ready(()),
            None => Poll::Pending,
        }
    })
    .await
}

#[test]
fn an_event_racing_a_waiter_going_to_sleep_wakes_it() {
    model(|| {
        let source = Arc::new(IoSource::new(0, true));
        let home_loop = {
            let source = source.clone();
            thread::spawn(move || source.set_readiness(Readiness(Readiness::READABLE)))
        };
        block_on(ready(&source, Direction::Read));
        home_loop.join().unwrap();
    });
}

#[test]
fn a_reader_and_a_writer_are_each_woken_by_their_direction() {
    model(|| {
        let source = Arc::new(IoSource::new(0, true));
        let writer = {
            let source = source.clone();
            thread::spawn(move || block_on(ready(&source, Direction::Write)))
        };
        let home_loop = {
            let source = source.clone();
            thread::spawn(move || {
                source.set_readiness(Readiness(Readiness::WRITABLE));
                source.set_readiness(Readiness(Readiness::READ_CLOSED));
            })
        };
        block_on(ready(&source, Direction::Read));
        writer.join().unwrap();
        home_loop.join().unwrap();
    });
}

#[test]
fn a_would_block_clear_racing_an_event_keeps_the_event() {
    model(|| {
        // Readable from the start; a read answers WouldBlock and clears it, while the home
        // loop records new data.
        let source = Arc::new(IoSource::new(Readiness::READABLE as usize, true));
        let home_loop = {
            let source = source.clone();
            thread::spawn(move || source.set_readiness(Readiness(Readiness::READABLE)))
        };
        let seen = source.ready(Direction::Read).expect("starts readable");
        source.clear(seen, false);
        home_loop.join().unwrap();
        assert!(
            source.ready(Direction::Read).is_some(),
            "the event recorded after the read was cleared away"
        );
        // And the waiter then proceeds at once.
        block_on(ready(&source, Direction::Read));
    });
}

#[test]
fn a_clear_after_the_event_was_seen_does_clear() {
    // Not a race: the check that `clear` does clear when nothing new arrived (else the
    // previous model would pass with a `clear` that never clears).
    model(|| {
        let source = IoSource::new(Readiness::READABLE as usize, true);
        let seen = source.ready(Direction::Read).unwrap();
        source.clear(seen, false);
        assert!(source.ready(Direction::Read).is_none());
        let source = IoSource::new(Readiness::READABLE as usize, true);
        let seen = source.ready(Direction::Read).unwrap();
        source.clear(seen, true);
        assert!(source.ready(Direction::Read).is_none());
    });
}
