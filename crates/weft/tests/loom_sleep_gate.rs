//! Model checks of the sleep handshake: `src/rt/sleep_gate.rs`, compiled here against loom's
//! atomics, over every interleaving loom finds of a loop going to sleep while other threads
//! post messages or raise their own flags. The property: a loop never blocks in `epoll_wait`
//! unwoken while a reason to run is already visible, and one sleep costs at most one
//! eventfd write.

/// The door `sleep_gate.rs` reaches atomics through (`crate::loom`), opened onto loom's types.
mod loom {
    pub(crate) use ::loom::sync::atomic::{fence, AtomicBool, Ordering};
}

#[allow(dead_code)]
#[path = "../src/rt/sleep_gate.rs"]
mod sleep_gate;

use ::loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use ::loom::sync::Arc;
use ::loom::thread;
use sleep_gate::SleepGate;

/// What the loop did: blocked (true) or stayed awake.
fn loop_turn(gate: &SleepGate, attention: impl Fn() -> bool) -> bool {
    if gate.prepare_sleep() && !attention() {
        return true;
    }
    gate.end_sleep();
    false
}

#[test]
fn a_message_posted_as_the_loop_falls_asleep_wakes_it() {
    ::loom::model(|| {
        let gate = Arc::new(SleepGate::new());
        let notified = Arc::new(AtomicUsize::new(0));
        let poster = {
            let (gate, notified) = (gate.clone(), notified.clone());
            thread::spawn(move || {
                gate.set_pending();
                if gate.unpark() {
                    notified.fetch_add(1, Relaxed);
                }
            })
        };

        let blocked = loop_turn(&gate, || false);

        poster.join().unwrap();
        let notifications = notified.load(Relaxed);
        if blocked {
            assert!(
                notifications >= 1,
                "the loop sleeps with a message in its inbox"
            );
        }
        // A loop that saw the message while a poster saw it announce sleep may get one
        // spurious write (drained on its next wait); never more than one per sleep.
        assert!(notifications <= 1, "one sleep, one eventfd write");
    });
}

#[test]
fn a_flag_raised_as_the_loop_falls_asleep_wakes_it() {
    // The runtime's stop flag and block_on's woken flag use the gate without a message.
    ::loom::model(|| {
        let gate = Arc::new(SleepGate::new());
        let stop = Arc::new(AtomicBool::new(false));
        let notified = Arc::new(AtomicBool::new(false));
        let stopper = {
            let (gate, stop, notified) = (gate.clone(), stop.clone(), notified.clone());
            thread::spawn(move || {
                stop.store(true, Relaxed);
                if gate.unpark() {
                    notified.store(true, Relaxed);
                }
            })
        };

        let blocked = loop_turn(&gate, || stop.load(Relaxed));

        stopper.join().unwrap();
        if blocked {
            assert!(
                notified.load(Relaxed),
                "the loop sleeps through a stop request"
            );
        }
    });
}

#[test]
fn two_posters_and_a_falling_asleep_loop_cost_one_eventfd_write_at_most() {
    // Three threads explode the search; loom's preemption bound keeps it to seconds while
    // still covering every schedule with up to two forced switches (where such bugs live).
    let mut model = ::loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let gate = Arc::new(SleepGate::new());
        let notified = Arc::new(AtomicUsize::new(0));
        let posters: Vec<_> = (0..2)
            .map(|_| {
                let (gate, notified) = (gate.clone(), notified.clone());
                thread::spawn(move || {
                    gate.set_pending();
                    if gate.unpark() {
                        notified.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();

        let blocked = loop_turn(&gate, || false);

        for poster in posters {
            poster.join().unwrap();
        }
        let notifications = notified.load(Relaxed);
        if blocked {
            assert_eq!(
                notifications, 1,
                "the loop sleeps with messages in its inbox"
            );
        }
        assert!(notifications <= 1, "one sleep, one eventfd write");
    });
}
