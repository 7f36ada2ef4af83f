//! `CancellationToken`'s core: a node of the token tree, its flag, waiters and children.
//!
//! Kept free of everything but `crate::loom` and [`super::waiters`], so that
//! `tests/loom_sync_cancel.rs` compiles this very file against loom's types.
//!
//! A node is an `Arc` with a `cancelled` flag (an atomic, so `is_cancelled` and an already
//! cancelled wait cost one load) and, behind a short lock, its waiters and its children. A
//! child keeps its parent alive (`Arc`), a parent knows its children only weakly, so a dropped
//! child costs its parent nothing but a dead `Weak`, swept when the list doubles.
//!
//! `child` and `cancel` both run under the parent's lock, and `cancel` sets the flag under it:
//! a child made while its parent is cancelled is either in the list `cancel` walks or sees the
//! flag. A waiter checks the flag again under the lock before it queues, and `cancel` empties
//! the queue under the lock after setting the flag, so no waiter misses the cancel. Locks are
//! taken one node at a time (cancel walks the subtree with an explicit stack).
//!
//! A node carries a payload `E` it never reads: the public face keeps its `sync::trace`
//! resource there (what a waiter's recorded wait points at), the loom model keeps `()`.

use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{Arc, AtomicBool, Mutex, MutexGuard, Ordering};
use std::sync::Weak;
use std::task::{Poll, Waker};

/// Children a node holds before it first sweeps dead ones; the sweep threshold then doubles
/// with the live count, so sweeping costs O(1) amortised per `child`.
const FIRST_SWEEP: usize = 16;

struct Links<E> {
    waiters: WaitList<()>,
    children: Vec<Weak<Node<E>>>,
    sweep_at: usize,
}

/// One token of the tree (clones of a token share it), with its payload `E` (see the module
/// doc).
pub(super) struct Node<E = ()> {
    cancelled: AtomicBool,
    links: Mutex<Links<E>>,
    /// Keeps the parent alive while this node lives; never read otherwise.
    _parent: Option<Arc<Node<E>>>,
    /// The payload, never read here.
    pub(super) extra: E,
}

impl<E> Node<E> {
    /// A node carrying `extra`, already cancelled if `cancelled`.
    pub(super) fn new(parent: Option<Arc<Node<E>>>, cancelled: bool, extra: E) -> Arc<Node<E>> {
        Arc::new(Node {
            cancelled: AtomicBool::new(cancelled),
            links: Mutex::new(Links {
                waiters: WaitList::new(),
                children: Vec::new(),
                sweep_at: FIRST_SWEEP,
            }),
            _parent: parent,
            extra,
        })
    }

    fn links(&self) -> MutexGuard<'_, Links<E>> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True once this node (or an ancestor) was cancelled.
    pub(super) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// A child of `this` carrying `extra`: cancelled with it, already cancelled if `this` is.
    pub(super) fn child(this: &Arc<Node<E>>, extra: E) -> Arc<Node<E>> {
        let mut links = this.links();
        if this.is_cancelled() {
            drop(links);
            return Node::new(Some(this.clone()), true, extra);
        }
        let child = Node::new(Some(this.clone()), false, extra);
        if links.children.len() >= links.sweep_at {
            links.children.retain(|c| c.strong_count() > 0);
            links.sweep_at = (links.children.len() * 2).max(FIRST_SWEEP);
        }
        links.children.push(Arc::downgrade(&child));
        child
    }

    /// Cancels `this` and every descendant, waking all that wait on them. Idempotent.
    pub(super) fn cancel(this: &Arc<Node<E>>) {
        let mut stack = vec![this.clone()];
        while let Some(node) = stack.pop() {
            let mut links = node.links();
            if node.cancelled.swap(true, Ordering::AcqRel) {
                continue;
            }
            let mut wakes = WakeBatch::new();
            while let Some((_, waker)) = links.waiters.pop_front() {
                wakes.push(waker);
            }
            let children = std::mem::take(&mut links.children);
            drop(links);
            wakes.wake_all();
            stack.extend(children.iter().filter_map(Weak::upgrade));
        }
    }

    /// One poll of a wait for cancellation: ready if cancelled, else queued (or re-armed) with
    /// `waker`, its slot in `key`.
    pub(super) fn poll_wait(&self, key: &mut Option<WaiterKey>, waker: &Waker) -> Poll<()> {
        if self.is_cancelled() {
            return Poll::Ready(());
        }
        let mut links = self.links();
        if self.is_cancelled() {
            if let Some(k) = key.take() {
                links.waiters.remove(k);
            }
            return Poll::Ready(());
        }
        match *key {
            Some(k) if links.waiters.is_queued(k) => links.waiters.set_waker(k, waker),
            Some(k) => {
                links.waiters.remove(k);
                *key = Some(links.waiters.push_back((), waker));
            }
            None => *key = Some(links.waiters.push_back((), waker)),
        }
        Poll::Pending
    }

    /// Frees the slot of a wait that is dropped.
    pub(super) fn unqueue(&self, key: &mut Option<WaiterKey>) {
        if let Some(k) = key.take() {
            self.links().waiters.remove(k);
        }
    }
}
