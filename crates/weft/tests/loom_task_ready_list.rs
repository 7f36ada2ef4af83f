//! Model checks of `JoinSet`'s wake-up list: `src/task/ready_list.rs`, compiled here against
//! loom's atomics and mutex, over every interleaving loom finds of
//! - a member's completion racing the set's clear-then-poll of that member (the completion is
//!   either queued again or seen by the poll: never lost);
//! - a completion racing the set registering its waker on an empty list (the set is woken, or
//!   finds the entry);
//! - two members completing at once (both entries arrive, each once).

/// The door `ready_list.rs` reaches atomics and locks through (`crate::loom`), opened onto
/// loom's types. `Arc` stays std's: `std::task::Wake` needs it, and loom checks no reference
/// counts here.
mod loom {
    pub(crate) use ::loom::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
    pub(crate) use std::sync::Arc;
}

#[allow(dead_code)]
#[path = "../src/task/ready_list.rs"]
mod ready_list;

use ::loom::sync::atomic::AtomicBool;
use ::loom::sync::atomic::Ordering::{Acquire, Release};
use ::loom::thread;
use ready_list::{Member, Ready, ReadyList};
use std::sync::Arc;
use std::task::{Wake, Waker};

fn entry(index: usize) -> Ready {
    Ready {
        index,
        generation: 1,
    }
}

/// A waker that records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Release);
    }
}

#[test]
fn a_completion_racing_the_sets_poll_is_never_lost() {
    ::loom::model(|| {
        let list = Arc::new(ReadyList::new());
        let member = Arc::new(Member::new(list.clone(), entry(0)));
        // The member was queued and the set took it off the list: it is about to poll.
        member.notify();
        let mut taken = Vec::new();
        assert!(list.take_all(&mut taken));
        // The task's completion: the output, then the member's wake.
        let output = Arc::new(AtomicBool::new(false));
        let completer = {
            let (member, output) = (member.clone(), output.clone());
            thread::spawn(move || {
                output.store(true, Release);
                Waker::from(member).wake();
            })
        };
        member.clear();
        let seen_by_poll = output.load(Acquire);
        completer.join().unwrap();
        let mut again = Vec::new();
        let queued_again = list.take_all(&mut again);
        assert!(
            seen_by_poll || queued_again,
            "the completion was neither seen by the poll nor queued: a lost wake-up"
        );
        if queued_again {
            assert_eq!(again, [entry(0)], "queued once");
        }
    });
}

#[test]
fn a_completion_racing_registration_wakes_the_set_or_is_found() {
    ::loom::model(|| {
        let list = Arc::new(ReadyList::new());
        let member = Arc::new(Member::new(list.clone(), entry(3)));
        let completer = {
            let member = member.clone();
            thread::spawn(move || Waker::from(member).wake())
        };
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let found = list.register_unless_ready(&Waker::from(flag.clone()));
        completer.join().unwrap();
        assert!(
            found || flag.0.load(Acquire),
            "the set registered on an empty list and was never woken"
        );
        let mut taken = Vec::new();
        assert!(list.take_all(&mut taken));
        assert_eq!(taken, [entry(3)]);
    });
}

#[test]
fn two_members_completing_at_once_both_arrive_once() {
    ::loom::model(|| {
        let list = Arc::new(ReadyList::new());
        let a = Arc::new(Member::new(list.clone(), entry(0)));
        let b = Arc::new(Member::new(list.clone(), entry(1)));
        let ta = {
            let a = a.clone();
            thread::spawn(move || {
                let waker = Waker::from(a);
                waker.wake_by_ref();
                waker.wake(); // a second wake of a queued member adds nothing
            })
        };
        Waker::from(b).wake();
        ta.join().unwrap();
        let mut taken = Vec::new();
        assert!(list.take_all(&mut taken));
        taken.sort_by_key(|r| r.index);
        assert_eq!(taken, [entry(0), entry(1)]);
    });
}
