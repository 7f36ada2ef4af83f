//! The list of a loop's idle tasks, which shutdown walks to cancel them.
//!
//! A task whose poll returned `Pending` waits for a waker that may never come (a channel whose
//! sender it holds itself, a socket nobody writes to). Such a task is in no queue, so this
//! intrusive doubly-linked list through the task headers is the only way shutdown can reach it
//! and drop its future. Only the home loop thread touches the list, so it needs no lock.

use super::raw::Header;
use std::cell::Cell;
use std::ptr::NonNull;

/// Intrusive list of tasks owned by one loop.
#[derive(Default)]
pub(crate) struct OwnedTasks {
    head: Cell<Option<NonNull<Header>>>,
    len: Cell<usize>,
}

impl OwnedTasks {
    /// Adds a task at the front.
    pub(crate) fn link(&self, task: NonNull<Header>) {
        // SAFETY: the task's links are touched only on its home thread, which is this one, and
        // the list holds a reference that keeps every linked header alive.
        unsafe {
            let links = &mut *task.as_ref().links.get();
            links.prev = None;
            links.next = self.head.get();
            if let Some(old) = self.head.get() {
                (*old.as_ref().links.get()).prev = Some(task);
            }
        }
        self.head.set(Some(task));
        self.len.set(self.len.get() + 1);
    }

    /// Removes a linked task.
    pub(crate) fn unlink(&self, task: NonNull<Header>) {
        // SAFETY: as in `link`; `task` is in this list, so its neighbours are too.
        unsafe {
            let links = &mut *task.as_ref().links.get();
            match links.prev {
                Some(prev) => (*prev.as_ref().links.get()).next = links.next,
                None => self.head.set(links.next),
            }
            if let Some(next) = links.next {
                (*next.as_ref().links.get()).prev = links.prev;
            }
            links.prev = None;
            links.next = None;
        }
        self.len.set(self.len.get() - 1);
    }

    /// The first linked task, if any.
    pub(crate) fn first(&self) -> Option<NonNull<Header>> {
        self.head.get()
    }

    /// Calls `f` with every linked task (for diagnostics' dumps; `f` must not link or unlink).
    pub(crate) fn for_each(&self, f: &mut dyn FnMut(&Header)) {
        let mut next = self.head.get();
        while let Some(task) = next {
            // SAFETY: linked headers are alive (the list holds a reference to each) and their
            // links are touched only on this thread.
            let header = unsafe { task.as_ref() };
            f(header);
            // SAFETY: as above.
            next = unsafe { (*header.links.get()).next };
        }
    }

    /// How many tasks are linked.
    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }
}
