//! Model checks of the watch channel's core (`src/sync/watch_state.rs`, with the waiter list
//! `src/sync/waiters.rs`) against loom's atomics, mutex and readers-writer lock, over the
//! interleavings loom finds of:
//! - sends racing `changed()`: no lost wake-up, and the value read after a change is that
//!   change's value or a later one, ending at the latest, whose version `borrow_and_update`
//!   marks seen (no spurious change left over);
//! - the sender leaving (after a send) racing `changed()`: the receiver sees the change, then
//!   the close, and is never left asleep;
//! - the last receiver leaving racing the sender's `closed()`: no lost wake-up.
//!
//! A lost wake-up shows up as loom's deadlock report (a thread blocked forever in `block_on`).

/// The door `watch_state.rs` reaches atomics and locks through (`crate::loom`), opened onto
/// loom.
mod loom {
    pub(crate) use ::loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard};
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/watch_state.rs"]
mod watch_state;

mod loom_support;

use ::loom::sync::Arc;
use ::loom::thread;
use loom_support::{block_on, model};
use std::future::poll_fn;
use watch_state::{Closed, State};

/// `rx.changed().await` for a receiver that last saw `*seen`, freeing its slot at the end as
/// `Changed`'s `Drop` does.
fn changed(state: &State<u32>, seen: &mut u64) -> Result<(), Closed> {
    let mut key = None;
    let out = block_on(poll_fn(|cx| state.poll_changed(seen, &mut key, cx.waker())));
    state.unqueue_changed(&mut key);
    out
}

/// `tx.send(value)`.
fn send(state: &State<u32>, value: u32) {
    state.send_if_modified(|v| {
        *v = value;
        true
    });
}

#[test]
fn sends_racing_changed_are_never_lost_and_the_latest_is_seen() {
    model(|| {
        let state = Arc::new(State::new(0u32));
        let sender = {
            let state = state.clone();
            thread::spawn(move || {
                send(&state, 1);
                send(&state, 2);
            })
        };
        let mut seen = 0;
        let mut last = 0;
        while last != 2 {
            changed(&state, &mut seen).expect("the sender is alive");
            let (value, _) = state.borrow_and_update(&mut seen);
            let now = *value;
            drop(value);
            assert!(
                now > last,
                "a change shows a newer value ({last} then {now})"
            );
            last = now;
        }
        sender.join().unwrap();
        assert_eq!(
            seen,
            state.version(),
            "the version marked seen is the latest value's: no spurious change left"
        );
    });
}

#[test]
fn the_sender_leaving_racing_changed_shows_the_change_then_the_close() {
    model(|| {
        let state = Arc::new(State::new(0u32));
        let sender = {
            let state = state.clone();
            thread::spawn(move || {
                send(&state, 1);
                state.close(); // the sender dropped
            })
        };
        let mut seen = 0;
        let mut changes = 0;
        while changed(&state, &mut seen).is_ok() {
            changes += 1;
            assert_eq!(*state.read(), 1, "a change shows the value sent");
        }
        sender.join().unwrap();
        assert_eq!(changes, 1, "the one change is seen before the close");
        assert_eq!(*state.read(), 1);
    });
}

#[test]
fn the_last_receiver_leaving_wakes_the_senders_closed() {
    model(|| {
        let state = Arc::new(State::new(0u32));
        let receiver = {
            let state = state.clone();
            thread::spawn(move || state.drop_receiver())
        };
        let mut key = None;
        block_on(poll_fn(|cx| state.poll_closed(&mut key, cx.waker())));
        state.unqueue_closed(&mut key);
        receiver.join().unwrap();
        assert_eq!(state.receiver_count(), 0);
    });
}
