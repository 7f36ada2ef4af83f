//! Model checks of both mpsc cores, the locked queue (`src/sync/mpsc/chan.rs`) and the ring
//! (`src/sync/mpsc/ring/`), with `src/sync/mpsc/peers.rs` and `src/sync/waiters.rs`, compiled
//! here against loom's lock and atomics. Every bounded model runs on both cores
//! (`bounded_models!`, within `loom_support`'s preemption bound, as are the ring's own); the
//! unbounded and sender-count models run over every interleaving loom finds. The models:
//! - a send racing the receiver going to sleep, on an empty channel (also for the unbounded
//!   receiver's batch take) and on a full one (each side parks and is woken: no lost wake-up
//!   either way);
//! - the receiver's close racing a send (the value is received or given back, exactly once);
//! - the receiver's close racing a sender waiting for a slot (the sender wakes with "closed");
//! - a waiting sender giving up while the receiver frees a slot for it (the slot is not lost),
//!   and a waiter for two slots giving up after it collected some (none is lost);
//! - the sender count: a weak sender upgrading while the last sender drops (it revives only a
//!   channel that still has a sender), two senders dropping together (the receiver wakes once
//!   the count reaches 0).
//! - the ring alone: two senders claiming slots without a lock while the receiver parks (no
//!   value and no wake-up lost; a one-slot ring going round a lap is the full-channel model
//!   above, run on the ring), and a permit sending while the receiver drops (its value dropped
//!   exactly once, its slot freed).

/// The door `chan.rs` and `ring.rs` reach their lock and atomics through (`crate::loom`),
/// opened onto loom's types.
mod loom {
    pub(crate) use ::loom::cell::UnsafeCell;
    pub(crate) use ::loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    /// A spin while a value is being written: loom must run the writer, so it yields.
    pub(crate) fn spin_loop() {
        ::loom::thread::yield_now();
    }

    pub(crate) use ::loom::thread::yield_now;

    /// The state lock (a spin lock in the real build) as loom's mutex.
    pub(crate) struct StateLock<T>(::loom::sync::Mutex<T>);
    pub(crate) type StateGuard<'a, T> = ::loom::sync::MutexGuard<'a, T>;

    impl<T> StateLock<T> {
        pub(crate) fn new(value: T) -> StateLock<T> {
            StateLock(::loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> StateGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/mpsc/chan.rs"]
mod chan;

#[allow(dead_code)]
#[path = "../src/sync/mpsc/ring/mod.rs"]
mod ring;

#[path = "../src/sync/mpsc/peers.rs"]
mod peers;

/// The path `chan.rs` names its waiter list by (`crate::sync::waiters`).
mod sync {
    pub(crate) use crate::waiters;
}

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use chan::{Chan, TryPop, TryPush, UNBOUNDED};
use loom_support::block_on;
use ring::RingChan;
use std::future::poll_fn;
use std::task::{Context, Poll, Waker};

#[test]
fn a_send_wakes_a_receiver_going_to_sleep() {
    ::loom::model(|| {
        let chan = Arc::new(Chan::new(UNBOUNDED));
        let tx = chan.clone();
        let sender = thread::spawn(move || tx.try_push(1u32).unwrap());
        assert_eq!(block_on(poll_fn(|cx| chan.poll_pop(cx))), Some(1));
        sender.join().unwrap();
    });
}

#[test]
fn a_send_wakes_a_batching_receiver_going_to_sleep() {
    ::loom::model(|| {
        let chan = Arc::new(Chan::new(UNBOUNDED));
        let tx = chan.clone();
        let sender = thread::spawn(move || {
            tx.try_push(1u32).unwrap();
            tx.try_push(2).unwrap();
            tx.drop_sender();
        });
        let mut got = Vec::new();
        let mut batch = std::collections::VecDeque::new();
        while block_on(poll_fn(|cx| chan.poll_take_all(&mut batch, cx))) {
            got.extend(batch.drain(..));
        }
        assert_eq!(got, [1, 2], "every value, in order, then the end");
        sender.join().unwrap();
    });
}

#[test]
fn a_weak_upgrade_racing_the_last_senders_drop_keeps_the_channel_open_or_finds_it_done() {
    ::loom::model(|| {
        let chan = Arc::new(Chan::<u32>::new(UNBOUNDED));
        let (last, weak) = (chan.clone(), chan.clone());
        let dropper = thread::spawn(move || last.drop_sender());
        // A weak sender's upgrade: it may only revive a channel that still has a sender.
        let upgraded = weak.try_add_sender();
        if upgraded {
            weak.try_push(7).unwrap();
            weak.drop_sender();
        }
        dropper.join().unwrap();
        assert_eq!(chan.senders(), 0, "every sender that was counted is gone");
        if upgraded {
            assert_eq!(chan.try_pop(), TryPop::Value(7));
        }
        assert_eq!(
            chan.try_pop(),
            TryPop::Done,
            "and the receiver sees the end"
        );
        assert!(!chan.try_add_sender(), "a finished channel stays finished");
    });
}

/// The bounded models, run against both bounded cores: the locked queue (`Chan`, for bounds too
/// large for a ring) and the ring (`RingChan`).
macro_rules! bounded_models {
    ($module:ident, $core:ident) => {
        mod $module {
            use super::*;
            use $core as Core;

            #[test]
            fn a_full_channel_parks_the_sender_and_a_recv_wakes_it() {
                loom_support::model(|| {
                    let chan = Arc::new(Core::new(1));
                    let tx = chan.clone();
                    let sender = thread::spawn(move || {
                        tx.try_push(1u32).unwrap();
                        let mut key = None;
                        assert!(block_on(poll_fn(|cx| tx.poll_reserve(&mut key, 1, cx))));
                        tx.push_reserved(2);
                        tx.drop_sender();
                    });
                    assert_eq!(block_on(poll_fn(|cx| chan.poll_pop(cx))), Some(1));
                    assert_eq!(block_on(poll_fn(|cx| chan.poll_pop(cx))), Some(2));
                    assert_eq!(block_on(poll_fn(|cx| chan.poll_pop(cx))), None);
                    sender.join().unwrap();
                });
            }

            #[test]
            fn close_racing_send_receives_or_refuses_exactly_once() {
                loom_support::model(|| {
                    let chan = Arc::new(Core::new(4));
                    let tx = chan.clone();
                    let sender = thread::spawn(move || tx.try_push(7u32));
                    chan.close();
                    let sent = sender.join().unwrap();
                    let popped = chan.try_pop();
                    match sent {
                        Ok(()) => assert_eq!(popped, TryPop::Value(7)),
                        Err(e) => {
                            assert_eq!(e, TryPush::Closed(7));
                            assert_eq!(popped, TryPop::Done);
                        }
                    }
                });
            }

            #[test]
            fn close_wakes_a_sender_waiting_for_a_slot() {
                loom_support::model(|| {
                    let chan = Arc::new(Core::new(1));
                    chan.try_push(0u32).unwrap();
                    let tx = chan.clone();
                    let sender = thread::spawn(move || {
                        let mut key = None;
                        block_on(poll_fn(|cx| tx.poll_reserve(&mut key, 1, cx)))
                    });
                    chan.close();
                    assert!(
                        !sender.join().unwrap(),
                        "no slot was freed, so the wait ends in 'closed'"
                    );
                    assert_eq!(chan.try_pop(), TryPop::Value(0));
                });
            }

            #[test]
            fn a_sender_giving_up_loses_no_slot() {
                loom_support::model(|| {
                    let chan = Arc::new(Core::new(1));
                    chan.try_push(0u32).unwrap();
                    let tx = chan.clone();
                    let sender = thread::spawn(move || {
                        let mut key = None;
                        let mut cx = Context::from_waker(Waker::noop());
                        match tx.poll_reserve(&mut key, 1, &mut cx) {
                            Poll::Ready(true) => tx.release_reserved(),
                            Poll::Ready(false) => unreachable!("not closed"),
                            Poll::Pending => tx.cancel_reserve(key.take().unwrap()),
                        }
                    });
                    assert_eq!(chan.try_pop(), TryPop::Value(0));
                    sender.join().unwrap();
                    assert_eq!(
                        chan.capacity(),
                        1,
                        "the freed slot is free again, whoever had it"
                    );
                    assert!(chan.try_push(1).is_ok());
                });
            }

            #[test]
            fn a_reserve_many_giving_up_halfway_loses_no_slot() {
                loom_support::model(|| {
                    let chan = Arc::new(Core::new(2));
                    chan.try_push(0u32).unwrap();
                    chan.try_push(1).unwrap();
                    let tx = chan.clone();
                    let sender = thread::spawn(move || {
                        let mut key = None;
                        let mut cx = Context::from_waker(Waker::noop());
                        match tx.poll_reserve(&mut key, 2, &mut cx) {
                            Poll::Ready(true) => tx.release_reserved_many(2),
                            Poll::Ready(false) => unreachable!("not closed"),
                            Poll::Pending => tx.cancel_reserve(key.take().unwrap()),
                        }
                    });
                    assert_eq!(chan.try_pop(), TryPop::Value(0));
                    assert_eq!(chan.try_pop(), TryPop::Value(1));
                    sender.join().unwrap();
                    assert_eq!(
                        chan.capacity(),
                        2,
                        "the slots collected for the waiter are free again"
                    );
                });
            }

            #[test]
            fn two_senders_dropping_together_wake_the_receiver_once_the_last_is_gone() {
                loom_support::model(|| {
                    let chan = Arc::new(Core::<u32>::new(4));
                    chan.add_sender(); // a clone: two senders
                    let (a, b) = (chan.clone(), chan.clone());
                    let ta = thread::spawn(move || a.drop_sender());
                    let tb = thread::spawn(move || b.drop_sender());
                    assert_eq!(
                        block_on(poll_fn(|cx| chan.poll_pop(cx))),
                        None,
                        "the receiver parks until the count reaches 0 and is woken then"
                    );
                    ta.join().unwrap();
                    tb.join().unwrap();
                    assert_eq!(chan.senders(), 0);
                });
            }
        }
    };
}

bounded_models!(locked, Chan);
bounded_models!(ring_core, RingChan);

/// The ring's own protocol: values claimed and written without a lock while the receiver
/// parks, from two senders at once.
#[test]
fn ring_two_senders_and_a_parking_receiver_lose_no_value_and_no_wake_up() {
    // Three threads: two preemptions keep the search to seconds and cover each race here.
    loom_support::model_bounded(2, || {
        let chan = Arc::new(RingChan::new(2));
        chan.add_sender();
        let senders: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|v| {
                let tx = chan.clone();
                thread::spawn(move || {
                    tx.try_push(v).unwrap();
                    tx.drop_sender();
                })
            })
            .collect();
        let mut got = Vec::new();
        while let Some(v) = block_on(poll_fn(|cx| chan.poll_pop(cx))) {
            got.push(v);
        }
        got.sort();
        assert_eq!(got, [1, 2], "both values, then the end");
        for s in senders {
            s.join().unwrap();
        }
    });
}

#[test]
fn ring_a_permit_sending_while_the_receiver_drops_is_dropped_exactly_once() {
    loom_support::model(|| {
        let chan = Arc::new(RingChan::new(2));
        let value = Arc::new(());
        chan.try_reserve().unwrap();
        let (tx, sent) = (chan.clone(), value.clone());
        let sender = thread::spawn(move || tx.push_reserved(sent));
        chan.drop_receiver();
        sender.join().unwrap();
        assert_eq!(
            Arc::strong_count(&value),
            1,
            "the value was drained with the receiver or dropped by its sender"
        );
        assert_eq!(chan.capacity(), 2, "and its slot is free");
    });
}
