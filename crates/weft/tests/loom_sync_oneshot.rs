//! Model checks of the oneshot state word: `src/sync/oneshot/core.rs`, compiled here against
//! loom's atomics and cells, over every interleaving loom finds of
//! - a send racing the receiver's poll (the value is received: no lost wake-up, no torn cell);
//! - the sender's drop racing the poll (the receiver learns the sender is gone);
//! - the receiver's close racing a send (exactly one of "sent" and "refused", the value never
//!   lost nor duplicated);
//! - the receiver's close racing the sender's `closed()` wait (the sender is woken).

/// The door `core.rs` reaches atomics through (`crate::loom`), opened onto loom's types.
mod loom {
    pub(crate) use ::loom::cell::UnsafeCell;
    pub(crate) use ::loom::sync::atomic::{AtomicUsize, Ordering};
}

#[allow(dead_code)]
#[path = "../src/sync/oneshot/core.rs"]
mod oneshot_core;

use ::loom::sync::Arc;
use ::loom::thread;
use oneshot_core::{Core, Taken};
use std::future::poll_fn;

/// Polls `fut` on this model thread, waiting on a loom `Notify` that its waker signals, so a
/// lost wake-up shows up as a deadlock loom reports.
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    struct NotifyWaker(::loom::sync::Notify);
    impl std::task::Wake for NotifyWaker {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.notify();
        }
    }
    let notify = std::sync::Arc::new(NotifyWaker(::loom::sync::Notify::new()));
    let waker = std::task::Waker::from(notify.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let std::task::Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        notify.0.wait();
    }
}

#[test]
fn a_send_racing_the_receivers_poll_is_received() {
    ::loom::model(|| {
        let core = Arc::new(Core::new());
        let tx = core.clone();
        let sender = thread::spawn(move || tx.send(7u32).unwrap());
        let got = block_on(poll_fn(|cx| core.poll_recv(cx)));
        assert_eq!(got, Taken::Value(7));
        sender.join().unwrap();
    });
}

#[test]
fn a_dropped_sender_racing_the_poll_is_seen() {
    ::loom::model(|| {
        let core = Arc::new(Core::<u32>::new());
        let tx = core.clone();
        let sender = thread::spawn(move || tx.drop_sender());
        let got = block_on(poll_fn(|cx| core.poll_recv(cx)));
        assert_eq!(got, Taken::SenderGone);
        sender.join().unwrap();
    });
}

#[test]
fn close_racing_send_is_one_or_the_other() {
    ::loom::model(|| {
        let core = Arc::new(Core::new());
        let tx = core.clone();
        let sender = thread::spawn(move || tx.send(5u32));
        let was_sent = core.close();
        let sent = sender.join().unwrap();
        match sent {
            Ok(()) => {
                assert!(was_sent, "close saw the completed send");
                assert_eq!(core.try_take(), Taken::Value(5));
            }
            Err(v) => {
                assert_eq!(v, 5, "a refused send gives its value back");
                assert!(!was_sent);
                assert_eq!(core.try_take(), Taken::Closed);
            }
        }
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
        });
        core.close();
        sender.join().unwrap();
    });
}
