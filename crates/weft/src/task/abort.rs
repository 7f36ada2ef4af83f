//! Aborting a task without owning its output.
//!
//! An [`AbortHandle`] holds one reference to the task allocation (like a waker), so the
//! header stays readable for as long as the handle lives, but no join interest: the output is
//! still the `JoinHandle`'s, and the task is freed when the last reference goes.

use super::id::Id;
use crate::rt::task::raw::{self, Header};
use crate::rt::task::state::COMPLETE;
use std::fmt;
use std::panic::Location;
use std::ptr::NonNull;

/// Cancels a task from anywhere, without the right to its output; from
/// [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle).
///
/// Cloneable, `Send` and `Sync`, so one task's handle can be shared by every place that may
/// need to cancel it. Dropping an `AbortHandle` does nothing to the task.
///
/// ```
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     let task = weft::spawn(std::future::pending::<()>());
///     let abort = task.abort_handle();
///     abort.abort();
///     assert!(task.await.unwrap_err().is_cancelled());
///     assert!(abort.is_finished());
/// });
/// ```
pub struct AbortHandle {
    ptr: NonNull<Header>,
}

// SAFETY: an `AbortHandle` touches only the task's state word (atomic: reference count, the
// `CANCELLED` and `COMPLETE` flags) and its `TaskMeta`, which is immutable after spawn and made
// of `Send + Sync` parts. It never touches the future or the output, so it is `Send` and `Sync`
// whatever they are. A cancelled idle task is handed to its home loop, which alone drops it.
unsafe impl Send for AbortHandle {}
// SAFETY: as above: every shared operation is an atomic read-modify-write or a read of
// immutable data.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// A new handle on the task at `ptr`.
    ///
    /// # Safety
    /// The caller holds a reference to the task for the duration of the call.
    pub(crate) unsafe fn new(ptr: NonNull<Header>) -> AbortHandle {
        // SAFETY: forwarded contract; the new reference is released in `Drop`.
        unsafe { raw::add_ref(ptr) };
        AbortHandle { ptr }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the header alive.
        unsafe { self.ptr.as_ref() }
    }

    /// Cancels the task, as [`JoinHandle::abort`](super::JoinHandle::abort): its future is
    /// dropped on its own loop the next time the loop reaches it (at once if it is idle). A
    /// task that already finished keeps its output.
    pub fn abort(&self) {
        // SAFETY: the handle holds a reference.
        unsafe { raw::abort(self.ptr) }
    }

    /// True once the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.header().state.load() & COMPLETE != 0
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        Id::from_raw(self.header().meta().id)
    }

    /// The task's name, if it was given one with [`Builder::name`](super::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.header().meta().name()
    }

    /// Where the task was spawned (as [`JoinHandle::spawn_site`](super::JoinHandle::spawn_site)).
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.header().meta().site()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        // SAFETY: this handle holds a reference.
        unsafe { AbortHandle::new(self.ptr) }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: the handle owns one reference and does not use the pointer again.
        unsafe { raw::drop_ref(self.ptr) }
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
