//! The join handle's side of a task: the one reference that may read the output.
//!
//! [`JoinHandle`](super::JoinHandle) wraps it with the output type; this part is type-erased
//! and works on the [`Header`] alone (the state word, the join-waker slot through the vtable,
//! the identity). Dropping it gives up the join interest and drops an unread output.

use super::raw::{abort, drop_ref, Header};
use super::state::COMPLETE;
use std::panic::Location;
use std::ptr::NonNull;
use std::task::Waker;

/// The join handle's side of the task.
pub(crate) struct RawJoin(NonNull<Header>);

// SAFETY: the join handle only touches the state word, the join-waker slot (under the
// JOIN_WAKER protocol) and the finished output; `JoinHandle<T>` adds `T: Send` for `Send`.
unsafe impl Send for RawJoin {}
// SAFETY: shared access only reads the state word or sets `CANCELLED` atomically.
unsafe impl Sync for RawJoin {}

impl RawJoin {
    /// Takes over the reference created for the handle by `allocate`.
    pub(crate) fn new(ptr: NonNull<Header>) -> RawJoin {
        RawJoin(ptr)
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the header alive.
        unsafe { self.0.as_ref() }
    }

    /// Moves the output into `dst` when ready.
    ///
    /// # Safety
    /// `dst` must point to a `Poll<Result<T, JoinError>>` where `T` is the task's output type.
    pub(crate) unsafe fn try_read_output(&self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.try_read_output)(self.0, dst, waker) }
    }

    /// The task's id.
    pub(crate) fn task_id(&self) -> u64 {
        self.header().meta.id
    }

    /// Where the task was spawned.
    pub(crate) fn spawn_site(&self) -> &'static Location<'static> {
        self.header().meta.site()
    }

    /// True once the task has completed.
    pub(crate) fn is_complete(&self) -> bool {
        self.header().state.load() & COMPLETE != 0
    }

    /// Requests cancellation: the home loop drops the future the next time it gets to it
    /// (immediately if the task is idle).
    pub(crate) fn abort(&self) {
        // SAFETY: the handle holds a reference.
        unsafe { abort(self.0) }
    }

    /// The task's header, for holders of other references (`AbortHandle`) and diagnostics.
    pub(crate) fn ptr(&self) -> NonNull<Header> {
        self.0
    }
}

impl Drop for RawJoin {
    fn drop(&mut self) {
        let header = self.header();
        if header.state.drop_join_interest() {
            // The output was never read: drop it here.
            // SAFETY: COMPLETE with JOIN_INTEREST set leaves the output to the handle.
            unsafe { (header.vtable.drop_output)(self.0) };
        }
        // SAFETY: the handle's reference is released.
        unsafe { drop_ref(self.0) }
    }
}
