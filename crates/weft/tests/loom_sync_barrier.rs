//! Model checks of `Barrier`'s core (`src/sync/barrier_round.rs`, with the waiter list
//! `src/sync/waiters.rs`) against loom's mutex, over the interleavings loom finds of:
//! - the last arrival racing a parked party that gives up (its future dropped): either the
//!   round completed with it (the arrival is the leader) or its arrival is withdrawn and the
//!   round waits for one more; one leader per round, nobody stranded, the count back to 0;
//! - the last arrival racing a party going to sleep: no lost wake-up.
//!
//! A lost wake-up (or a party stranded in a round that can never complete) shows up as loom's
//! deadlock report (a thread blocked forever in `block_on`).

/// The door `barrier_round.rs` reaches its lock through (`crate::loom`), opened onto loom.
mod loom {
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/barrier_round.rs"]
mod barrier_round;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use barrier_round::{Arrival, Rounds};
use loom_support::{block_on, model};
use std::future::poll_fn;
use std::task::Waker;

/// `barrier.wait().await` to the end: true for the leader.
fn party(rounds: &Rounds) -> bool {
    match rounds.arrive() {
        Arrival::Leader => true,
        Arrival::Wait(round) => {
            let mut key = None;
            block_on(poll_fn(|cx| {
                rounds.poll_parked(round, &mut key, cx.waker())
            }));
            false
        }
    }
}

#[test]
fn the_last_arrival_racing_a_party_that_gives_up() {
    model(|| {
        let rounds = Arc::new(Rounds::new(2));
        // Party A arrives and parks, then gives up while party B arrives.
        let Arrival::Wait(round) = rounds.arrive() else {
            panic!("the first of two is not the leader")
        };
        let mut key = None;
        assert!(rounds
            .poll_parked(round, &mut key, Waker::noop())
            .is_pending());
        let b = {
            let rounds = rounds.clone();
            thread::spawn(move || party(&rounds))
        };
        if rounds.withdraw(round, &mut key) {
            // A left in time: the round needs another party, D; one of B and D leads it.
            let d = party(&rounds);
            let b = b.join().unwrap();
            assert!(b ^ d, "one leader per round (B {b}, D {d})");
        } else {
            // B completed the round with A before A left: B led it.
            assert!(b.join().unwrap(), "B completed the round with A");
        }
        assert_eq!(
            rounds.arrived(),
            0,
            "every round complete, nobody counted twice"
        );
    });
}

#[test]
fn the_last_arrival_wakes_a_party_going_to_sleep() {
    model(|| {
        let rounds = Arc::new(Rounds::new(2));
        let other = {
            let rounds = rounds.clone();
            thread::spawn(move || party(&rounds))
        };
        let me = party(&rounds);
        let other = other.join().unwrap();
        assert!(me ^ other, "one leader");
        assert_eq!(rounds.arrived(), 0);
    });
}
