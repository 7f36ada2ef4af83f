//! A counted reference to a task for `weft::diag`: who it is, and a way to abort it from the
//! detector thread (what `Action::CancelVictim` uses), through the same state transition as
//! `JoinHandle::abort`.

use super::meta::TaskMeta;
use super::raw::{self, Header, Notified};
use std::ptr::NonNull;

/// A counted reference to a task, for `weft::diag`: its identity, and a way to abort it.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: like `RawJoin`, a `TaskRef` only reads the immutable identity and sets `CANCELLED`
// through the state word; dropping the last reference frees the task as a `Waker` drop would.
unsafe impl Send for TaskRef {}
// SAFETY: as above: shared access reads immutable fields or uses atomics.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// The task being polled on this thread, if any.
    pub(crate) fn current() -> Option<TaskRef> {
        let ptr = raw::polling()?;
        // SAFETY: the task being polled is alive (its queued reference is held by the poll).
        unsafe { raw::ref_inc(ptr) };
        Some(TaskRef(ptr))
    }

    /// The task's identity.
    pub(crate) fn meta(&self) -> &TaskMeta {
        // SAFETY: our reference keeps the header alive.
        unsafe { &self.0.as_ref().meta }
    }

    /// Aborts the task, as `JoinHandle::abort` does.
    pub(crate) fn abort(&self) {
        // SAFETY: our reference keeps the header alive.
        if unsafe { self.0.as_ref() }.state.abort() {
            raw::schedule(Notified(self.0));
        }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        // SAFETY: our reference keeps the header alive.
        unsafe { raw::ref_inc(self.0) };
        TaskRef(self.0)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { raw::drop_ref(self.0) }
    }
}

impl std::fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TaskRef").field(&self.meta().id).finish()
    }
}
