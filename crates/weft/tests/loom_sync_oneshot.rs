//! Model checks of the oneshot state word: `src/sync/oneshot/core.rs`, compiled here against
//! loom's atomics and cells, over every interleaving loom finds of
//! - a send racing the receiver's poll (the value is received: no lost wake-up, no torn cell);
//! - the sender's drop racing the poll (the receiver learns the sender is gone);
//! - the receiver's close racing a send (exactly one of "sent" and "refused", the value never
//!   lost nor duplicated);
//! - the receiver's close racing the sender's `closed()` wait (the sender is woken);
//! - the receiver's drop racing a send, also when the send must wake it.
//!
//! In each, exactly one end is told to free the shared allocation (the word is its reference
//! count): never both (a double free), never neither (a leak); and the freeing end writes every
//! cell at once (`Core::model_free`), so an access by the other end after the free is a race
//! loom reports.

/// The door `core.rs` reaches atomics through (`crate::loom`), opened onto loom's types.
mod loom {
    pub(crate) use ::loom::cell::UnsafeCell;
    pub(crate) use ::loom::sync::atomic::{AtomicUsize, Ordering};
}

#[allow(dead_code)]
#[path = "../src/sync/oneshot/core.rs"]
mod oneshot_core;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use loom_support::block_on;
use oneshot_core::{Core, Release, Taken};
use std::future::poll_fn;

fn frees(releases: &[Release]) -> usize {
    releases.iter().filter(|r| **r == Release::Free).count()
}

/// What an end told to free does, in the model: write every cell (see `Core::model_free`), on
/// its own thread, right away, so an access by the other end after it is a reported race.
fn leave(core: &Core<u32>, release: Release) -> Release {
    if release == Release::Free {
        core.model_free();
    }
    release
}

#[test]
fn a_send_racing_the_receivers_poll_is_received() {
    ::loom::model(|| {
        let core = Arc::new(Core::new());
        let tx = core.clone();
        let sender = thread::spawn(move || {
            let (sent, release) = tx.send(7u32);
            sent.unwrap();
            leave(&tx, release)
        });
        let (got, seen) = block_on(poll_fn(|cx| core.poll_recv(cx)));
        assert_eq!(got, Taken::Value(7));
        let rx_release = leave(&core, core.leave_rx(seen));
        let tx_release = sender.join().unwrap();
        assert_eq!(frees(&[rx_release, tx_release]), 1, "exactly one end frees");
    });
}

#[test]
fn a_dropped_sender_racing_the_poll_is_seen() {
    ::loom::model(|| {
        let core = Arc::new(Core::<u32>::new());
        let tx = core.clone();
        let sender = thread::spawn(move || leave(&tx, tx.drop_sender()));
        let (got, seen) = block_on(poll_fn(|cx| core.poll_recv(cx)));
        assert_eq!(got, Taken::SenderGone);
        let rx_release = leave(&core, core.leave_rx(seen));
        let tx_release = sender.join().unwrap();
        assert_eq!(frees(&[rx_release, tx_release]), 1);
    });
}

#[test]
fn close_racing_send_is_one_or_the_other() {
    ::loom::model(|| {
        let core = Arc::new(Core::new());
        let tx = core.clone();
        let sender = thread::spawn(move || {
            let (sent, release) = tx.send(5u32);
            (sent, leave(&tx, release))
        });
        let was_sent = core.close();
        let (sent, tx_release) = sender.join().unwrap();
        let (taken, seen) = core.try_take();
        match sent {
            Ok(()) => {
                assert!(was_sent, "close saw the completed send");
                assert_eq!(taken, Taken::Value(5));
            }
            Err(v) => {
                assert_eq!(v, 5, "a refused send gives its value back");
                assert!(!was_sent);
                assert_eq!(taken, Taken::Closed);
            }
        }
        let rx_release = leave(&core, core.leave_rx(seen));
        assert_eq!(frees(&[rx_release, tx_release]), 1);
    });
}

#[test]
fn a_receiver_dropped_while_the_sender_sends_frees_once() {
    ::loom::model(|| {
        let core = Arc::new(Core::new());
        let tx = core.clone();
        let sender = thread::spawn(move || leave(&tx, tx.send(9u32).1));
        let rx_release = leave(&core, core.drop_receiver());
        let tx_release = sender.join().unwrap();
        assert_eq!(frees(&[rx_release, tx_release]), 1);
    });
}

#[test]
fn a_waiting_receiver_dropped_while_the_sender_wakes_it_frees_once() {
    ::loom::model(|| {
        let core = Arc::new(Core::new());
        // The receiver registers its waker first, so the send takes the waking path.
        let waker = std::task::Waker::noop();
        assert!(core
            .poll_recv(&mut std::task::Context::from_waker(waker))
            .is_pending());
        let tx = core.clone();
        let sender = thread::spawn(move || leave(&tx, tx.send(1u32).1));
        let rx_release = leave(&core, core.drop_receiver());
        let tx_release = sender.join().unwrap();
        assert_eq!(frees(&[rx_release, tx_release]), 1);
    });
}

#[test]
fn close_wakes_the_senders_closed_wait() {
    ::loom::model(|| {
        let core = Arc::new(Core::<u32>::new());
        let tx = core.clone();
        let sender = thread::spawn(move || {
            block_on(poll_fn(|cx| tx.poll_closed(cx)));
            assert!(tx.is_closed());
            leave(&tx, tx.drop_sender())
        });
        let rx_release = leave(&core, core.drop_receiver());
        let tx_release = sender.join().unwrap();
        assert_eq!(frees(&[rx_release, tx_release]), 1);
    });
}
