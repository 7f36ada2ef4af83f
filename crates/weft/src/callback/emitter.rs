//! [`EventEmitter`]: named user events with listeners, as Node's.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::listeners::{ListenerId, Listeners};

/// Named events, each with an ordered list of listeners taking `&A`.
///
/// Cloning shares the emitter (the clones see the same listeners), so it
/// can be captured by the callbacks that emit on it. It is `!Send`: events
/// are emitted and handled on one loop thread. Emitting is synchronous:
/// [`emit`](EventEmitter::emit) returns after every listener ran.
///
/// Listener order and what an emit sees when listeners change during it
/// follow Node (see the note on each method).
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use weft::callback::EventEmitter;
///
/// let orders = EventEmitter::<u32>::new();
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let log = seen.clone();
/// orders.on("placed", move |id| log.borrow_mut().push(*id));
/// assert!(orders.emit("placed", &7));
/// assert!(!orders.emit("shipped", &7)); // nobody listens
/// assert_eq!(*seen.borrow(), [7]);
/// ```
pub struct EventEmitter<A: ?Sized = ()> {
    events: Rc<RefCell<HashMap<String, Rc<Listeners<A>>>>>,
}

impl<A: ?Sized> Clone for EventEmitter<A> {
    fn clone(&self) -> Self {
        EventEmitter {
            events: Rc::clone(&self.events),
        }
    }
}

impl<A: ?Sized> Default for EventEmitter<A> {
    fn default() -> Self {
        EventEmitter {
            events: Rc::new(RefCell::new(HashMap::new())),
        }
    }
}

impl<A: ?Sized + 'static> EventEmitter<A> {
    /// An emitter with no listeners.
    pub fn new() -> Self {
        Self::default()
    }

    fn listeners(&self, event: &str) -> Rc<Listeners<A>> {
        let mut events = self.events.borrow_mut();
        match events.get(event) {
            Some(list) => Rc::clone(list),
            None => {
                let list = Rc::new(Listeners::default());
                events.insert(event.to_owned(), Rc::clone(&list));
                list
            }
        }
    }

    /// Adds `listener` to the end of `event`'s list. A listener added while
    /// `event` is being emitted is first called by the next emit.
    pub fn on(&self, event: &str, listener: impl FnMut(&A) + 'static) -> ListenerId {
        self.listeners(event).add(false, Box::new(listener))
    }

    /// Adds a listener that is removed before its first call.
    pub fn once(&self, event: &str, listener: impl FnOnce(&A) + 'static) -> ListenerId {
        let mut listener = Some(listener);
        self.listeners(event).add(
            true,
            Box::new(move |arg| {
                if let Some(f) = listener.take() {
                    f(arg);
                }
            }),
        )
    }

    /// Removes a listener of `event`; `false` if it was not registered. A
    /// listener removed while `event` is being emitted is still called by
    /// that emit.
    pub fn off(&self, event: &str, id: ListenerId) -> bool {
        let list = self.events.borrow().get(event).cloned();
        list.is_some_and(|list| list.remove(id))
    }

    /// Removes every listener of `event`.
    pub fn remove_all_listeners(&self, event: &str) {
        let list = self.events.borrow_mut().remove(event);
        if let Some(list) = list {
            list.clear();
        }
    }

    /// Calls `event`'s listeners with `arg`, in the order they were added;
    /// returns whether there were any.
    ///
    /// A listener that panics propagates the panic to the caller of `emit`;
    /// the listeners after it are not called for this emit.
    pub fn emit(&self, event: &str, arg: &A) -> bool {
        let list = self.events.borrow().get(event).cloned();
        list.is_some_and(|list| list.emit(arg) > 0)
    }

    /// Number of listeners of `event`.
    pub fn listener_count(&self, event: &str) -> usize {
        self.events.borrow().get(event).map_or(0, |list| list.len())
    }
}

impl<A: ?Sized> fmt::Debug for EventEmitter<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let events = self.events.borrow();
        let mut names: Vec<&String> = events.keys().collect();
        names.sort();
        f.debug_struct("EventEmitter")
            .field("events", &names)
            .finish()
    }
}
