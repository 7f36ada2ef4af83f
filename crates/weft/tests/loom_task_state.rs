//! Model checks of the task state word: `src/rt/task/state.rs`, compiled here against loom's
//! atomics and cells, over every interleaving loom finds of
//! - a waker on another thread racing the home loop's poll (no wake-up lost, references exact);
//! - `JoinHandle::abort` racing a poll (the task is cancelled exactly once);
//! - the join-waker hand-over racing completion (the awaiting task is woken, no data race on
//!   the slot, even when it changes its waker meanwhile).
//!
//! Each model states, in its assertions, what a wrong transition would break.

/// The door `state.rs` reaches atomics through (`crate::loom`), opened onto loom's types.
mod loom {
    pub(crate) use ::loom::cell::UnsafeCell;
    pub(crate) use ::loom::sync::atomic::{AtomicUsize, Ordering};
}

#[allow(dead_code)]
#[path = "../src/rt/task/state.rs"]
mod state;

use ::loom::sync::atomic::AtomicUsize;
use ::loom::sync::atomic::Ordering::Relaxed;
use ::loom::sync::{Arc, Mutex};
use ::loom::thread;
use state::*;
use std::task::{Wake, Waker};

/// References counted in a state word.
fn refs(state: usize) -> usize {
    (state & REF_MASK) / REF_ONE
}

/// One task as the model sees it: its state, and the event a waker announces.
struct Task {
    state: State,
    /// Set by the waker's thread before it wakes; what the poll looks for. A mutex, as the
    /// real channels (pool results, inboxes) synchronise their data on their own.
    event: Mutex<bool>,
    /// Queued references handed to "the scheduler" by wakes.
    queued: AtomicUsize,
}

impl Task {
    fn new() -> Arc<Task> {
        Arc::new(Task {
            state: State::new(),
            event: Mutex::new(false),
            queued: AtomicUsize::new(0),
        })
    }
}

#[test]
fn a_wake_during_a_poll_is_never_lost() {
    ::loom::model(|| {
        let task = Task::new();
        // The waker's own reference: queued + handle + waker.
        task.state.ref_inc();

        let waker_side = {
            let task = task.clone();
            thread::spawn(move || {
                *task.event.lock().unwrap() = true;
                if task.state.wake_by_val() {
                    task.queued.fetch_add(1, Relaxed);
                } else {
                    assert!(!task.state.ref_dec(), "the handle still holds a reference");
                }
            })
        };

        // The home loop polls once; the future finds no event (or finds it) and parks.
        assert_eq!(task.state.start_poll(), Start::Poll);
        let seen = *task.event.lock().unwrap();
        assert_eq!(task.state.finish_pending(), Parked::Idle { link: true });

        waker_side.join().unwrap();
        let s = task.state.load();
        let queued = task.queued.load(Relaxed);
        if !seen {
            // The poll missed the event, so the wake must have queued the task again.
            assert!(s & NOTIFIED != 0, "wake-up lost: state {s:#x}");
        }
        assert_eq!(
            s & NOTIFIED != 0,
            queued == 1,
            "NOTIFIED means one queued reference"
        );
        // The handle, the owned list, and the queued reference if any.
        assert_eq!(refs(s), 2 + queued, "state {s:#x}");
        assert_eq!(s & RUNNING, 0);
    });
}

#[test]
fn wakes_by_reference_from_two_threads_queue_the_task_once() {
    ::loom::model(|| {
        let task = Task::new();
        // Park the task first, as after its first poll.
        assert_eq!(task.state.start_poll(), Start::Poll);
        assert_eq!(task.state.finish_pending(), Parked::Idle { link: true });

        let wakers: Vec<_> = (0..2)
            .map(|_| {
                let task = task.clone();
                thread::spawn(move || {
                    if task.state.wake_by_ref() {
                        task.queued.fetch_add(1, Relaxed);
                    }
                })
            })
            .collect();
        for waker in wakers {
            waker.join().unwrap();
        }
        let s = task.state.load();
        assert_eq!(task.queued.load(Relaxed), 1, "two wakes, one queued poll");
        assert!(s & NOTIFIED != 0);
        // The handle, the owned list, the one queued reference.
        assert_eq!(refs(s), 3, "state {s:#x}");
    });
}

#[test]
fn an_abort_racing_a_poll_cancels_the_task_exactly_once() {
    ::loom::model(|| {
        let task = Task::new();
        let handle = {
            let task = task.clone();
            thread::spawn(move || {
                if task.state.abort() {
                    task.queued.fetch_add(1, Relaxed);
                }
            })
        };

        // The home loop: the first poll (or the cancellation, if the abort came first).
        let mut cancelled_by_loop = match task.state.start_poll() {
            Start::Poll => match task.state.finish_pending() {
                Parked::Idle { .. } => false,
                Parked::Cancel => true,
            },
            Start::Cancel => true,
            Start::Done => unreachable!("nothing completes the task but the loop"),
        };
        if cancelled_by_loop {
            task.state.complete();
        }

        handle.join().unwrap();
        let s = task.state.load();
        let queued_by_abort = task.queued.load(Relaxed) == 1;
        if queued_by_abort {
            // The abort found the task idle and queued it: the next run cancels it.
            assert!(!cancelled_by_loop);
            assert!(s & NOTIFIED != 0);
            assert_eq!(task.state.start_poll(), Start::Cancel);
            task.state.complete();
            cancelled_by_loop = true;
        }
        assert!(cancelled_by_loop, "the abort was lost: state {s:#x}");
        assert!(task.state.load() & COMPLETE != 0);
    });
}

/// A waker that counts its wakes.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, Relaxed);
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let count = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

#[test]
fn the_join_waker_is_woken_or_the_output_seen_even_if_it_changes() {
    ::loom::model(|| {
        let state = Arc::new(State::new());
        let slot = Arc::new(JoinWaker::new());
        assert_eq!(state.start_poll(), Start::Poll);

        let handle = {
            let (state, slot) = (state.clone(), slot.clone());
            thread::spawn(move || {
                let (first, first_waker) = counting_waker();
                let (second, second_waker) = counting_waker();
                // SAFETY: this thread is the task's one join handle; `state` is the slot's task.
                let ready = unsafe { slot.register(&state, &first_waker) }
                    // SAFETY: as above; the awaiting task moved and polls with a new waker.
                    || unsafe { slot.register(&state, &second_waker) };
                (ready, first, second)
            })
        };

        // The home loop completes the task and wakes whoever registered.
        let prev = state.complete();
        if prev & JOIN_WAKER != 0 {
            // SAFETY: we completed the task and JOIN_WAKER was set at that moment.
            unsafe { slot.wake() };
        }

        let (ready, first, second) = handle.join().unwrap();
        let second_wakes = second.0.load(Relaxed);
        // Either the handle saw the output, or its latest waker was woken once.
        assert!(
            ready || second_wakes == 1,
            "the join handle would wait forever"
        );
        assert!(second_wakes <= 1);
        if !ready {
            assert_eq!(first.0.load(Relaxed), 0, "a replaced waker is not woken");
        }
    });
}
