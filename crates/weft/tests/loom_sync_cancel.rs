//! Model checks of `CancellationToken`'s core (`src/sync/cancel_state.rs`, with the waiter list
//! `src/sync/waiters.rs`) against loom's atomics and mutex, over the interleavings loom finds of:
//! - `cancel` racing a waiter's registration (its first poll): no lost wake-up;
//! - `cancel` racing the creation of a child (and a wait on it): the child ends cancelled, and
//!   its waiter is woken;
//! - `cancel` racing a waiter that gives up (dropped future): its slot is freed, others woken.
//!
//! A lost wake-up shows up as loom's deadlock report (a thread blocked forever in `block_on`).
//! The tree's `Arc`/`Weak` links are std's (loom's `Arc` has no `Weak`): the reference counts
//! are not what is modelled here, the flag, the lock and the lists are.

/// The door `cancel_state.rs` reaches atomics and locks through (`crate::loom`), opened onto
/// loom, except `Arc` (see the module doc).
mod loom {
    pub(crate) use ::loom::sync::atomic::{AtomicBool, Ordering};
    pub(crate) use ::loom::sync::{Mutex, MutexGuard};
    pub(crate) use std::sync::Arc;
}

#[allow(dead_code)]
#[path = "../src/sync/waiters.rs"]
mod waiters;

#[allow(dead_code)]
#[path = "../src/sync/cancel_state.rs"]
mod cancel_state;

mod loom_support;

use ::loom::thread;
use cancel_state::Node;
use loom_support::{block_on, model};
use std::future::poll_fn;
use std::task::Waker;

/// `cancelled().await` on `node`, unqueueing at the end as the real future's `Drop` does.
fn wait_cancelled(node: &Node) {
    let mut key = None;
    block_on(poll_fn(|cx| node.poll_wait(&mut key, cx.waker())));
    node.unqueue(&mut key);
}

#[test]
fn cancel_racing_a_waiters_registration_wakes_it() {
    model(|| {
        let root = Node::new(None, false, ());
        let waiter = {
            let root = root.clone();
            thread::spawn(move || wait_cancelled(&root))
        };
        Node::cancel(&root);
        waiter.join().unwrap();
        assert!(root.is_cancelled());
    });
}

#[test]
fn a_child_created_concurrently_with_cancel_ends_cancelled() {
    model(|| {
        let root = Node::new(None, false, ());
        let maker = {
            let root = root.clone();
            thread::spawn(move || {
                let child = Node::child(&root, ());
                wait_cancelled(&child); // woken by the parent's cancel, whenever it ran
                child
            })
        };
        Node::cancel(&root);
        let child = maker.join().unwrap();
        assert!(
            child.is_cancelled(),
            "a child of a cancelled token is cancelled"
        );
        let grandchild = Node::child(&child, ());
        assert!(grandchild.is_cancelled(), "and so is one made after");
    });
}

#[test]
fn cancel_racing_a_waiter_that_gives_up_wakes_the_other() {
    model(|| {
        let root = Node::new(None, false, ());
        // One waiter queued, then dropped while cancel runs; another waits to the end.
        let mut first = None;
        let queued = root.poll_wait(&mut first, Waker::noop()).is_pending();
        assert!(queued);
        let second = {
            let root = root.clone();
            thread::spawn(move || wait_cancelled(&root))
        };
        let canceller = {
            let root = root.clone();
            thread::spawn(move || Node::cancel(&root))
        };
        root.unqueue(&mut first);
        canceller.join().unwrap();
        second.join().unwrap();
        assert!(root.is_cancelled());
    });
}
