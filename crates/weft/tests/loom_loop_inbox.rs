//! Model checks of a loop's inbox: `src/rt/inbox.rs` with `src/rt/sleep_gate.rs`, compiled
//! here against loom's lock and atomics, over every interleaving loom finds of
//! - a post racing the loop going to sleep: the loop never blocks with a message it has not
//!   taken unless the poster was told to write the eventfd (and one sleep costs at most one
//!   write); every message is taken exactly once, none lost across the swap;
//! - two posters racing the loop: both messages taken, in each poster's order;
//! - a post racing the loop's close: the message is either refused (given back) or returned
//!   by `close`, never both, never lost.

/// The door `inbox.rs` and `sleep_gate.rs` reach their lock and atomics through
/// (`crate::loom`), opened onto loom's types.
mod loom {
    pub(crate) use ::loom::sync::atomic::{fence, AtomicBool, Ordering};
    pub(crate) use ::loom::sync::Mutex;
}

/// `inbox.rs` names its neighbour `super::sleep_gate`: the same file, by path.
#[allow(dead_code)]
#[path = "../src/rt/sleep_gate.rs"]
mod sleep_gate;

#[allow(dead_code)]
#[path = "../src/rt/inbox.rs"]
mod inbox;

mod loom_support;

use ::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use ::loom::sync::Arc;
use ::loom::thread;
use inbox::Inbox;
use loom_support::model;

/// One turn of the event loop: take what is there, and if nothing was, try to sleep (as
/// `event_loop.rs` does). Returns the messages taken and whether it blocked.
fn loop_turn(inbox: &Inbox<u32>) -> (Vec<u32>, bool) {
    let mut got = Vec::new();
    inbox.take_messages(&mut got);
    if !got.is_empty() {
        return (got, false);
    }
    let blocked = inbox.prepare_sleep();
    if !blocked {
        // Told not to sleep: a message arrived; the loop takes it on its next turn.
        inbox.end_sleep();
        inbox.take_messages(&mut got);
    }
    (got, blocked)
}

#[test]
fn a_post_as_the_loop_falls_asleep_is_taken_or_wakes_it() {
    model(|| {
        let inbox = Arc::new(Inbox::<u32>::new());
        let writes = Arc::new(AtomicUsize::new(0));
        let poster = {
            let (inbox, writes) = (inbox.clone(), writes.clone());
            thread::spawn(move || {
                if inbox.post(1).unwrap() {
                    writes.fetch_add(1, SeqCst);
                }
            })
        };
        let (mut got, blocked) = loop_turn(&inbox);
        poster.join().unwrap();
        let writes = writes.load(SeqCst);
        if blocked && got.is_empty() {
            assert_eq!(writes, 1, "the loop sleeps on an unannounced message");
        }
        assert!(writes <= 1, "one sleep, at most one eventfd write");
        if blocked {
            // Woken (by the eventfd or otherwise): the message is there.
            inbox.end_sleep();
        }
        inbox.take_messages(&mut got);
        assert_eq!(got, [1], "the message is taken exactly once");
    });
}

#[test]
fn two_posters_racing_the_loop_lose_nothing_and_keep_each_order() {
    model(|| {
        let inbox = Arc::new(Inbox::<u32>::new());
        let a = {
            let inbox = inbox.clone();
            thread::spawn(move || {
                inbox.post(1).unwrap();
                inbox.post(2).unwrap();
            })
        };
        let b = {
            let inbox = inbox.clone();
            thread::spawn(move || {
                inbox.post(10).unwrap();
            })
        };
        let mut all = Vec::new();
        let mut got = Vec::new();
        inbox.take_messages(&mut got);
        all.append(&mut got);
        a.join().unwrap();
        b.join().unwrap();
        assert!(
            inbox.has_pending() || all.len() == 3,
            "messages left without the flag"
        );
        inbox.take_messages(&mut got);
        all.append(&mut got);
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(sorted, [1, 2, 10]);
        let one = all.iter().position(|&m| m == 1).unwrap();
        let two = all.iter().position(|&m| m == 2).unwrap();
        assert!(one < two, "a poster's messages in order: {all:?}");
    });
}

#[test]
fn a_post_racing_close_is_refused_or_returned_exactly_once() {
    model(|| {
        let inbox = Arc::new(Inbox::<u32>::new());
        let poster = {
            let inbox = inbox.clone();
            thread::spawn(move || inbox.post(5).map(|_| ()))
        };
        let left = inbox.close();
        let posted = poster.join().unwrap();
        match posted {
            Ok(()) => assert_eq!(left, [5], "accepted, so close returns it"),
            Err(m) => {
                assert_eq!(m, 5);
                assert!(left.is_empty(), "refused, so not queued");
            }
        }
        let mut got = Vec::new();
        inbox.take_messages(&mut got);
        assert!(got.is_empty(), "nothing is queued after close");
        assert!(inbox.post(6).is_err(), "closed stays closed");
    });
}
