//! An ordered list of event listeners with Node's emit semantics.
//!
//! Shared by [`EventEmitter`](super::EventEmitter) (one list per event name)
//! and the callback sockets (one list per socket event).
//!
//! Semantics, as Node's `EventEmitter`:
//! - listeners run in the order they were added, synchronously, on the
//!   thread that emits;
//! - an emit calls the listeners registered when it *started*: one added
//!   during the emit is first called by the next emit, and one removed
//!   during the emit is still called by this one;
//! - a `once` listener is removed before it is called, so it runs at most
//!   once even if it emits the same event again.
//!
//! Invariant: no `RefCell` borrow of the list is held while a listener
//! runs, so listeners may add, remove and emit freely. A listener that
//! (directly or not) emits the event it is handling is skipped by that
//! inner emit: an `FnMut` cannot be entered twice.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

/// Identifies one registered listener, to remove it later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

type Listener<A> = Rc<RefCell<Box<dyn FnMut(&A)>>>;

struct Slot<A: ?Sized> {
    id: ListenerId,
    once: bool,
    listener: Listener<A>,
}

/// Listeners of one event, taking an argument of type `&A`.
pub(crate) struct Listeners<A: ?Sized> {
    slots: RefCell<Vec<Slot<A>>>,
    next_id: Cell<u64>,
}

impl<A: ?Sized> Default for Listeners<A> {
    fn default() -> Self {
        Listeners {
            slots: RefCell::new(Vec::new()),
            next_id: Cell::new(0),
        }
    }
}

impl<A: ?Sized> Listeners<A> {
    /// Appends a listener; `once` listeners are removed when first called.
    pub(crate) fn add(&self, once: bool, listener: Box<dyn FnMut(&A)>) -> ListenerId {
        let id = ListenerId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        self.slots.borrow_mut().push(Slot {
            id,
            once,
            listener: Rc::new(RefCell::new(listener)),
        });
        id
    }

    /// Removes a listener; `false` if it was not registered (already
    /// removed, or a `once` listener already called).
    pub(crate) fn remove(&self, id: ListenerId) -> bool {
        let mut slots = self.slots.borrow_mut();
        let before = slots.len();
        slots.retain(|s| s.id != id);
        slots.len() != before
    }

    /// Removes every listener.
    pub(crate) fn clear(&self) {
        // Dropped outside the borrow: a listener's captures may own another
        // handle to this list.
        let removed = std::mem::take(&mut *self.slots.borrow_mut());
        drop(removed);
    }

    /// Number of registered listeners.
    pub(crate) fn len(&self) -> usize {
        self.slots.borrow().len()
    }

    /// Calls every listener registered now with `arg`, in order; returns how
    /// many were called.
    pub(crate) fn emit(&self, arg: &A) -> usize {
        let snapshot: Vec<Listener<A>> = {
            let mut slots = self.slots.borrow_mut();
            let snapshot = slots.iter().map(|s| Rc::clone(&s.listener)).collect();
            slots.retain(|s| !s.once);
            snapshot
        };
        let mut called = 0;
        for listener in &snapshot {
            // A listener already running further up this stack is skipped.
            if let Ok(mut f) = listener.try_borrow_mut() {
                f(arg);
                called += 1;
            }
        }
        called
    }
}

impl<A: ?Sized> fmt::Debug for Listeners<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listeners")
            .field("len", &self.len())
            .finish()
    }
}
