//! Model checks of the broadcast channel's core (`src/sync/broadcast_core.rs`, with the waiter
//! list `src/sync/waiters.rs`) against loom's mutex, over the interleavings loom finds of:
//! - a send racing a receiver going to sleep in `recv` (no lost wake-up), and racing a new
//!   receiver's subscription (the count the send returns says whether it sees the value);
//! - `Lagged` accounting under a racing send that overwrites the oldest value: every value is
//!   either received once, in order, or counted in a `Lagged(n)`; nothing is left unread;
//! - the last sender leaving (close) racing a receive: the receiver gets every value sent, then
//!   `Closed`, and is never left asleep;
//! - a sender's `closed()` (and `is_closed()`) racing the last receiver's drop: the waiting
//!   sender is woken whichever receiver leaves last, a `closed()` given up meanwhile does not
//!   take the wake-up from another, and `is_closed()` turns true only once no receiver is left
//!   and stays true.
//!
//! A lost wake-up shows up as loom's deadlock report (a thread blocked forever in `block_on`).

/// The door `broadcast_core.rs` reaches its lock through (`crate::loom`), opened onto loom.
mod loom {
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/broadcast_core.rs"]
mod broadcast_core;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use broadcast_core::{Core, Look};
use loom_support::{block_on, model};
use std::future::poll_fn;

/// `recv().await` for the receiver at `*next`, freeing its slot at the end as `Recv`'s `Drop`
/// does.
fn recv(core: &Core<u32>, next: &mut u64) -> Look<u32> {
    let mut key = None;
    let look = block_on(poll_fn(|cx| core.poll_recv(next, &mut key, cx.waker())));
    core.unqueue(&mut key);
    look
}

/// A sender's `closed().await`, freeing its slot at the end as the future's `Drop` does.
fn wait_closed(core: &Core<u32>) {
    let mut key = None;
    block_on(poll_fn(|cx| core.poll_closed(&mut key, cx.waker())));
    core.unqueue_closed(&mut key);
}

#[test]
fn a_senders_closed_is_woken_by_the_last_receiver_to_leave() {
    model(|| {
        let core = Arc::new(Core::new(1));
        let second = core.subscribe();
        let receivers: Vec<_> = [0, second]
            .into_iter()
            .map(|next| {
                let core = core.clone();
                thread::spawn(move || {
                    // `is_closed` (no receiver left) cannot be true while this one lives.
                    assert_ne!(core.receiver_count(), 0);
                    core.drop_receiver(next);
                })
            })
            .collect();
        wait_closed(&core);
        assert_eq!(
            core.receiver_count(),
            0,
            "closed() returned: is_closed holds"
        );
        for r in receivers {
            r.join().unwrap();
        }
        assert_eq!(core.receiver_count(), 0, "and stays so");
        assert_eq!(
            core.send(1),
            Err(1),
            "a send to no receiver gives the value back"
        );
    });
}

#[test]
fn a_closed_given_up_racing_the_last_drop_leaves_the_other_woken() {
    model(|| {
        let core = Arc::new(Core::new(1));
        let quitter = {
            let core = core.clone();
            thread::spawn(move || {
                // One poll (queued unless the receiver is already gone), then dropped.
                let mut key = None;
                let waker = std::task::Waker::noop();
                let _ = core.poll_closed(&mut key, waker);
                core.unqueue_closed(&mut key);
            })
        };
        let receiver = {
            let core = core.clone();
            thread::spawn(move || core.drop_receiver(0))
        };
        wait_closed(&core);
        // The waiter above was woken (else loom reports a deadlock) whether or not the
        // quitter's queued slot was the one the drop saw first.
        quitter.join().unwrap();
        receiver.join().unwrap();
        assert_eq!(core.receiver_count(), 0);
    });
}

#[test]
fn is_closed_racing_the_last_drop_turns_true_once_and_stays() {
    model(|| {
        let core = Arc::new(Core::<u32>::new(1));
        let receiver = {
            let core = core.clone();
            thread::spawn(move || core.drop_receiver(0))
        };
        let first = core.receiver_count() == 0;
        let second = core.receiver_count() == 0;
        assert!(!first || second, "is_closed went back from true to false");
        receiver.join().unwrap();
        assert_eq!(core.receiver_count(), 0, "closed once the receiver left");
        let mut key = None;
        assert!(
            core.poll_closed(&mut key, std::task::Waker::noop())
                .is_ready(),
            "closed() is ready at once"
        );
        assert!(key.is_none(), "and queued nothing");
    });
}

#[test]
fn a_send_wakes_a_receiver_going_to_sleep() {
    model(|| {
        let core = Arc::new(Core::new(2));
        let receiver = {
            let core = core.clone();
            thread::spawn(move || {
                let mut next = 0;
                let got = recv(&core, &mut next);
                core.drop_receiver(next);
                got
            })
        };
        assert_eq!(core.send(7), Ok(1));
        assert_eq!(receiver.join().unwrap(), Look::Value(7));
        assert_eq!(
            core.unread_len(),
            0,
            "read by its one receiver, then dropped"
        );
    });
}

#[test]
fn a_send_racing_a_subscription_counts_the_new_receiver_iff_it_sees_the_value() {
    model(|| {
        let core = Arc::new(Core::new(2));
        let subscriber = {
            let core = core.clone();
            thread::spawn(move || {
                let mut next = core.subscribe();
                let look = core.try_recv(&mut next);
                (next, look)
            })
        };
        let counted = core.send(7).unwrap();
        let (next, look) = subscriber.join().unwrap();
        // A receiver subscribed before the send is counted and may or may not have looked yet.
        let mut next = next;
        let look = match look {
            Look::Empty if counted == 2 => core.try_recv(&mut next),
            other => other,
        };
        match counted {
            2 => assert_eq!(look, Look::Value(7), "counted, so it sees the value"),
            1 => assert_eq!(look, Look::Empty, "not counted, so it does not"),
            n => panic!("{n} receivers counted, there are at most 2"),
        }
        let mut first = 0;
        assert_eq!(core.try_recv(&mut first), Look::Value(7));
        core.drop_receiver(first);
        core.drop_receiver(next);
        assert_eq!(core.unread_len(), 0, "every value read or forgotten");
    });
}

#[test]
fn lagged_accounting_under_a_racing_send() {
    model(|| {
        // A ring of 2 holding 1 and 2; a racing send of 3 overwrites 1.
        let core = Arc::new(Core::new(2));
        core.send(1).unwrap();
        core.send(2).unwrap();
        let sender = {
            let core = core.clone();
            thread::spawn(move || core.send(3).unwrap())
        };
        let mut next = 0;
        let mut got = Vec::new();
        let mut missed = 0;
        let mut drain = |got: &mut Vec<u32>, missed: &mut u64| loop {
            match core.try_recv(&mut next) {
                Look::Value(v) => got.push(v),
                Look::Lagged(n) => *missed += n,
                Look::Empty => break,
                Look::Closed => panic!("a sender is alive"),
            }
        };
        drain(&mut got, &mut missed);
        sender.join().unwrap();
        drain(&mut got, &mut missed);
        let first = 1 + missed as u32;
        assert_eq!(
            got,
            (first..=3).collect::<Vec<_>>(),
            "values in order, after the {missed} lagged"
        );
        assert!(missed <= 1, "only 1 was ever overwritten");
        assert_eq!(core.unread_len(), 0, "nothing kept unread");
        core.drop_receiver(next);
    });
}

#[test]
fn close_racing_recv_delivers_everything_then_closed() {
    model(|| {
        let core = Arc::new(Core::new(1));
        let receiver = {
            let core = core.clone();
            thread::spawn(move || {
                let mut next = 0;
                let mut got = Vec::new();
                loop {
                    match recv(&core, &mut next) {
                        Look::Value(v) => got.push(v),
                        Look::Closed => break,
                        other => panic!("unexpected {other:?}"),
                    }
                }
                core.drop_receiver(next);
                got
            })
        };
        core.send(1).unwrap();
        core.drop_sender(); // the last sender: the channel closes
        assert_eq!(receiver.join().unwrap(), vec![1]);
        assert!(core.is_closed());
    });
}
