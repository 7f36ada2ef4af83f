//! The task allocation and the transitions on it.
//!
//! A task is one heap allocation, a [`Cell`]: a type-erased [`Header`] (state word, vtable, home
//! loop, owned-list links, join waker) followed by the future's stage (running future, finished
//! output, or consumed). Everything that needs the concrete future type goes through the vtable;
//! everything else works on the header.
//!
//! # Who touches what
//!
//! - The **home loop thread** alone polls the future, drops it, links/unlinks the task in its
//!   owned list, and writes the output. A task never migrates between loops.
//! - **Wakers** (any thread) only flip `NOTIFIED` and hand a [`Notified`] reference to the home
//!   loop: pushed on the local run queue when woken on the home thread, posted to the home
//!   loop's inbox otherwise.
//! - The **`JoinHandle`** (any thread, when the output is `Send`) reads the output once
//!   `COMPLETE` is set, and owns the join-waker slot while `JOIN_WAKER` is clear.
//!
//! # References
//!
//! The count covers: the `JoinHandle`, each `Waker`, each queued `Notified`, and the owned list
//! while `OWNED`. The last one to go frees the allocation. While a future is alive the task is
//! always either queued or in the owned list, so runtime shutdown can reach every live future
//! and drop it on its home thread.

use super::meta::TaskMeta;
use super::state::{JoinWaker, Parked, Start, State, COMPLETE, JOIN_INTEREST, JOIN_WAKER, OWNED};
use super::JoinError;
use crate::loom::Arc;
use crate::rt::{self, coop, link_owned, unlink_owned, LoopShared};
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// The type-erased part of every task.
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    pub(super) vtable: &'static Vtable,
    /// The loop that polls this task.
    /// Changed only by [`Notified::rehome`]; see there.
    home: UnsafeCell<Arc<LoopShared>>,
    /// Owned-list links; touched only on the home thread while `OWNED`.
    pub(crate) links: UnsafeCell<Links>,
    /// The awaiting task's waker; see `JOIN_WAKER` for who may touch it.
    join_waker: JoinWaker,
    /// Who this task is: its id, spawn site and optional name (what diagnostics print).
    pub(crate) meta: TaskMeta,
    /// What diagnostics know of it (last wait reason, self-wakes), out of line and allocated
    /// only once the hooks touch the task, plus the `MOVABLE` bit (see `diag::hooks::DiagSlot`).
    pub(crate) diag: crate::diag::hooks::DiagSlot,
}

impl Header {
    /// The loop that polls this task.
    pub(crate) fn home(&self) -> &Arc<LoopShared> {
        // SAFETY: `home` is written only by `Notified::rehome`, which holds the only reference
        // that can read it at that moment (see there).
        unsafe { &*self.home.get() }
    }
}

impl Header {
    /// Who this task is (id, spawn site, name): what diagnostics print.
    pub(crate) fn meta(&self) -> &TaskMeta {
        &self.meta
    }
}

/// Intrusive doubly-linked list pointers for the home loop's owned-task list.
#[derive(Default)]
pub(crate) struct Links {
    pub(crate) prev: Option<NonNull<Header>>,
    pub(crate) next: Option<NonNull<Header>>,
}

/// Operations that need the concrete future type.
pub(super) struct Vtable {
    /// Runs the task once; consumes one queued reference.
    pub(super) poll: unsafe fn(NonNull<Header>),
    /// Frees the allocation.
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    /// Moves the output into `*dst` (a `Poll<Result<T, JoinError>>`) if the task is complete,
    /// otherwise stores the waker.
    pub(super) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// Drops the output that nobody will read.
    pub(super) drop_output: unsafe fn(NonNull<Header>),
    /// Drops the future (the caller holds `RUNNING`) and stores the cancellation error.
    pub(super) cancel: unsafe fn(NonNull<Header>),
}

/// What the task holds besides its header.
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The whole allocation.
#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

impl<F: Future + 'static> Cell<F> {
    const VTABLE: Vtable = Vtable {
        poll: poll::<F>,
        dealloc: dealloc::<F>,
        try_read_output: try_read_output::<F>,
        drop_output: drop_output::<F>,
        cancel: cancel::<F>,
    };
}

/// Allocates a task whose future will run on `home`. Returns the queued reference (to hand
/// to the scheduler) and the raw pointer for the join handle (which owns the second reference).
pub(crate) fn allocate<F: Future + 'static>(
    future: F,
    home: Arc<LoopShared>,
    meta: TaskMeta,
) -> (Notified, NonNull<Header>) {
    let cell = Box::new(Cell {
        header: Header {
            state: State::new(),
            vtable: &Cell::<F>::VTABLE,
            home: UnsafeCell::new(home),
            links: UnsafeCell::new(Links::default()),
            join_waker: JoinWaker::new(),
            meta,
            diag: Default::default(),
        },
        stage: UnsafeCell::new(Stage::Running(future)),
    });
    // `Cell` is repr(C) with the header first, so a pointer to the cell is a pointer to it.
    let ptr = NonNull::from(Box::leak(cell)).cast::<Header>();
    (Notified(ptr), ptr)
}

/// A queued reference to a task: running it polls the task on its home loop.
pub(crate) struct Notified(pub(super) NonNull<Header>);

// SAFETY: a `Notified` only carries a reference count and a pointer. It is sent between threads
// only to reach the task's home loop; `run` (which touches the future) is called only there, and
// `reject` drops a future off the home thread only for tasks spawned as `Send` (see its docs).
unsafe impl Send for Notified {}

impl Notified {
    /// The task's home loop.
    pub(crate) fn home(&self) -> &Arc<LoopShared> {
        // SAFETY: the queued reference keeps the header alive.
        unsafe { self.0.as_ref() }.home()
    }

    /// Moves a task that was never polled to another loop (`weft::diag`'s mitigation of a
    /// stalled loop); false, leaving it alone, if it was polled before or may not move.
    ///
    /// Sound because a never-polled task queued in an inbox has no waker (wakers are made by
    /// polls), its `JoinHandle` reads the home only to schedule an abort, which it does not do
    /// while `NOTIFIED` is set, and this `Notified` is its one queued reference: nobody else can
    /// read `home` while it is replaced.
    pub(crate) fn rehome(&mut self, to: &Arc<LoopShared>) -> bool {
        let header = self.header();
        let state = header.state.load();
        if !header.diag.movable() || state & (OWNED | COMPLETE) != 0 {
            return false;
        }
        // SAFETY: see above: no other reader or writer of `home` exists now.
        unsafe { *header.home.get() = to.clone() };
        true
    }

    /// The task's header (for diagnostics).
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the queued reference keeps the header alive.
        unsafe { self.0.as_ref() }
    }

    /// Polls the task once. Must be called on the home loop thread.
    pub(crate) fn run(self) {
        let ptr = ManuallyDrop::new(self).0;
        // SAFETY: we hold a queued reference; the caller is the home loop.
        unsafe { (ptr.as_ref().vtable.poll)(ptr) }
    }

    /// Runs the task only to cancel it: the future is dropped, the join handle sees
    /// `Cancelled`. Used on the home thread during shutdown.
    pub(crate) fn cancel_and_run(self) {
        // SAFETY: the queued reference keeps the header alive.
        unsafe { self.0.as_ref() }.state.cancel_queued();
        self.run();
    }

    /// Disposes of a reference that could not be delivered because the home loop has shut
    /// down. A task already in the owned list is cancelled by that loop's shutdown; a task that
    /// was never polled cannot be (nothing else reaches it), so it is cancelled here.
    ///
    /// Only tasks spawned as `Send` can be in that second case: a `!Send` task is spawned on its
    /// home thread, straight into the local run queue, and every wake of a task that is queued
    /// is a no-op, so its `Notified` is never posted before it is `OWNED`.
    pub(crate) fn reject(self) {
        // SAFETY: the queued reference keeps the header alive.
        let header = unsafe { self.0.as_ref() };
        if header.state.load() & OWNED == 0 {
            self.cancel_and_run();
        }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { drop_ref(self.0) }
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Notified").field(&self.0).finish()
    }
}

/// Adds one reference.
///
/// # Safety
/// The caller must hold a reference already.
pub(super) unsafe fn ref_inc(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    unsafe { ptr.as_ref() }.state.ref_inc();
}

/// Drops one reference; frees the task on the last one.
///
/// # Safety
/// The caller must own the reference it drops and not use `ptr` afterwards.
pub(crate) unsafe fn drop_ref(ptr: NonNull<Header>) {
    // SAFETY: the reference being dropped keeps the header alive during the check.
    crate::diag::hooks::before_ref_drop(unsafe { ptr.as_ref() });
    // SAFETY: the reference being dropped keeps the header alive until the decrement.
    if unsafe { ptr.as_ref() }.state.ref_dec() {
        // SAFETY: that was the last reference: nobody else can reach the task.
        unsafe { (ptr.as_ref().vtable.dealloc)(ptr) }
    }
}

/// Schedules the task on its home loop, handing over one reference.
pub(super) fn schedule(task: Notified) {
    rt::schedule(task);
}

/// Wakes the task without consuming a reference.
///
/// # Safety
/// The caller must hold a reference.
unsafe fn wake_by_ref(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    crate::diag::hooks::on_wake(unsafe { ptr.as_ref() });
    // SAFETY: as above.
    if unsafe { ptr.as_ref() }.state.wake_by_ref() {
        schedule(Notified(ptr));
    }
}

/// Wakes the task, consuming the waker's reference (it becomes the queued one if needed).
///
/// # Safety
/// The caller must own the reference it gives up.
unsafe fn wake_by_val(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    crate::diag::hooks::on_wake(unsafe { ptr.as_ref() });
    // SAFETY: as above.
    if unsafe { ptr.as_ref() }.state.wake_by_val() {
        schedule(Notified(ptr));
    } else {
        // SAFETY: we own the waker's reference.
        unsafe { drop_ref(ptr) };
    }
}

/// The vtable of every task waker. A task waker's data pointer is the task's `Header`, and
/// (except for [`borrowed_waker`]'s) the waker owns one reference to the task.
static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

/// `RawWakerVTable::clone`: a new waker with a reference of its own.
///
/// # Safety
/// `data` is the header pointer of a live task waker (owned or borrowed), which keeps the task
/// alive for the duration of the call.
unsafe fn waker_clone(data: *const ()) -> RawWaker {
    let ptr = NonNull::new(data as *mut Header).expect("task waker with a null pointer");
    // SAFETY: the waker being cloned holds (or borrows) a reference, per this fn's contract.
    unsafe { ref_inc(ptr) };
    RawWaker::new(data, &WAKER_VTABLE)
}

/// `RawWakerVTable::wake`: wakes the task and consumes the waker's reference.
///
/// # Safety
/// `data` is the header pointer of an owned task waker (one made by [`waker_clone`], never a
/// [`borrowed_waker`]), which is not used again: its reference is given up here.
unsafe fn waker_wake(data: *const ()) {
    // SAFETY: `data` is a non-null task header and the waker's reference is ours to give up,
    // which is `wake_by_val`'s contract.
    unsafe { wake_by_val(NonNull::new_unchecked(data as *mut Header)) }
}

/// `RawWakerVTable::wake_by_ref`: wakes the task, keeping the waker's reference.
///
/// # Safety
/// `data` is the header pointer of a live task waker (owned or borrowed), which keeps the task
/// alive for the duration of the call.
unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: `data` is a non-null task header and the waker still holds its reference through
    // the call, which is `wake_by_ref`'s contract.
    unsafe { wake_by_ref(NonNull::new_unchecked(data as *mut Header)) }
}

/// `RawWakerVTable::drop`: releases the waker's reference (freeing the task on the last one).
///
/// # Safety
/// `data` is the header pointer of an owned task waker (never a [`borrowed_waker`], which is
/// `ManuallyDrop` and so never reaches here), which is not used again.
unsafe fn waker_drop(data: *const ()) {
    // SAFETY: `data` is a non-null task header and the waker's reference is ours to drop and
    // not used afterwards, which is `drop_ref`'s contract.
    unsafe { drop_ref(NonNull::new_unchecked(data as *mut Header)) }
}

/// A waker that borrows the caller's reference instead of owning one.
///
/// # Safety
/// The caller must hold a reference for as long as the returned waker is used, and must not
/// drop it (it is wrapped in `ManuallyDrop`).
unsafe fn borrowed_waker(ptr: NonNull<Header>) -> ManuallyDrop<Waker> {
    // SAFETY: the vtable functions uphold the RawWaker contract for task headers.
    ManuallyDrop::new(unsafe {
        Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE))
    })
}

/// Polls the task on its home loop.
///
/// # Safety
/// `ptr` points to a `Cell<F>`; the caller gives up one queued reference and runs on the
/// task's home loop thread.
unsafe fn poll<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: the queued reference keeps the allocation alive for this whole function.
    let header = unsafe { ptr.as_ref() };
    match header.state.start_poll() {
        Start::Poll => {}
        Start::Done => {
            // Cancelled by shutdown while it sat in a queue.
            // SAFETY: the queued reference is ours.
            return unsafe { drop_ref(ptr) };
        }
        Start::Cancel => {
            // SAFETY: we hold RUNNING on the home thread.
            unsafe { cancel::<F>(ptr) };
            // SAFETY: we still hold RUNNING on the home thread, `cancel` left the stage
            // `Finished`, and the queued reference is still ours.
            unsafe { complete(ptr) };
            // SAFETY: the queued reference is ours.
            return unsafe { drop_ref(ptr) };
        }
    }
    // SAFETY: `ptr` points to a Cell<F>; only the home thread touches the stage while RUNNING.
    let stage = unsafe { &mut *ptr.cast::<Cell<F>>().as_ref().stage.get() };
    // SAFETY: the queued reference outlives this poll, and the waker is never dropped.
    let waker = unsafe { borrowed_waker(ptr) };
    let mut cx = Context::from_waker(&waker);
    coop::reset();
    let _current = crate::rt::enter_task(header.meta.id);
    let _polling = crate::rt::enter_polling(ptr.as_ptr().cast(), header.meta.id);
    let mark = crate::diag::hooks::enter_poll(header);
    let polled = catch_unwind(AssertUnwindSafe(|| match stage {
        // SAFETY: the future lives in the task allocation and is never moved out of it.
        Stage::Running(fut) => unsafe { Pin::new_unchecked(fut) }.poll(&mut cx),
        _ => unreachable!("a task was polled after its future completed"),
    }));
    if let Some(mark) = mark {
        mark.exit(matches!(polled, Ok(Poll::Pending)));
    }
    match polled {
        Ok(Poll::Pending) => match header.state.finish_pending() {
            // The queued reference went with RUNNING. Idle tasks must be reachable by
            // shutdown: the first `Pending` links the task into the owned list, whose
            // reference (added by the transition) keeps it alive.
            Parked::Idle { link } => {
                if link {
                    link_owned(ptr);
                }
                crate::diag::hooks::after_park(header);
                return;
            }
            Parked::Cancel => {
                // Aborted while running: cancel now rather than wait for another wake.
                // SAFETY: we still hold RUNNING on the home thread.
                unsafe { cancel::<F>(ptr) };
                // SAFETY: RUNNING on the home thread, `cancel` left the stage `Finished`, and
                // the queued reference is still ours.
                unsafe { complete(ptr) };
            }
        },
        Ok(Poll::Ready(output)) => {
            let dropped = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
            *stage = Stage::Finished(match dropped {
                Ok(()) => Ok(output),
                Err(payload) => Err(JoinError::panic(payload)),
            });
            // SAFETY: we hold RUNNING on the home thread and the stage holds the output.
            unsafe { complete(ptr) };
        }
        Err(payload) => {
            // The future panicked: drop what is left of it, report the panic.
            let _ = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
            *stage = Stage::Finished(Err(JoinError::panic(payload)));
            // SAFETY: we hold RUNNING on the home thread, the stage was just set `Finished`,
            // and the queued reference is still ours.
            unsafe { complete(ptr) };
        }
    }
    // SAFETY: the queued reference is ours.
    unsafe { drop_ref(ptr) }
}

/// Drops the future and stores the cancellation error.
///
/// # Safety
/// `ptr` points to a `Cell<F>`; the caller holds `RUNNING` (or otherwise has exclusive access
/// to the stage) on a thread where dropping `F` is allowed.
unsafe fn cancel<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: exclusive access to the stage per the contract.
    let stage = unsafe { &mut *ptr.cast::<Cell<F>>().as_ref().stage.get() };
    let dropped = catch_unwind(AssertUnwindSafe(|| *stage = Stage::Consumed));
    *stage = Stage::Finished(Err(match dropped {
        // SAFETY: the caller's reference keeps the header alive.
        Ok(()) if crate::diag::is_victim(unsafe { ptr.as_ref() }.meta.id) => {
            JoinError::deadlock_victim()
        }
        Ok(()) => JoinError::cancelled(),
        Err(payload) => JoinError::panic(payload),
    }));
}

/// Publishes completion: `RUNNING` → `COMPLETE`, then wakes the joiner or drops the unread
/// output, then leaves the owned list.
///
/// # Safety
/// The caller holds `RUNNING` on the home thread, the stage is `Finished`, and the caller
/// still holds a reference.
unsafe fn complete(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    let header = unsafe { ptr.as_ref() };
    let prev = header.state.complete();
    if prev & JOIN_INTEREST == 0 {
        // Nobody will read the output; drop it here, on the home thread.
        // SAFETY: completion gives this thread the output while no handle exists.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe {
            (header.vtable.drop_output)(ptr)
        }));
    } else if prev & JOIN_WAKER != 0 {
        // SAFETY: we completed the task and JOIN_WAKER was set at that moment.
        unsafe { header.join_waker.wake() };
    }
    if prev & OWNED != 0 {
        unlink_owned(ptr);
        // SAFETY: the owned list's reference is released with the link.
        unsafe { drop_ref(ptr) };
    }
}

/// # Safety
/// `ptr` points to a `Cell<F>` that nobody else references.
unsafe fn dealloc<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: the allocation came from Box<Cell<F>> in `allocate`.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F>>().as_ptr()) });
}

/// # Safety
/// `ptr` points to a `Cell<F>`, the task is complete, and the caller has exclusive right to
/// the output (the join handle being dropped, or completion without a handle).
unsafe fn drop_output<F: Future + 'static>(ptr: NonNull<Header>) {
    // SAFETY: exclusive per the contract.
    let stage = unsafe { &mut *ptr.cast::<Cell<F>>().as_ref().stage.get() };
    *stage = Stage::Consumed;
}

/// # Safety
/// `ptr` points to a `Cell<F>`; `dst` points to a `Poll<Result<F::Output, JoinError>>`; the
/// caller is the join handle (holding its reference).
unsafe fn try_read_output<F: Future + 'static>(ptr: NonNull<Header>, dst: *mut (), waker: &Waker) {
    // SAFETY: the handle's reference keeps the header alive.
    let header = unsafe { ptr.as_ref() };
    // SAFETY: the caller is the task's one join handle, and `state` is this task's.
    if unsafe { header.join_waker.register(&header.state, waker) } {
        // SAFETY: COMPLETE is set, so the home loop no longer touches the stage, and only the
        // handle reads the output.
        let stage = unsafe { &mut *ptr.cast::<Cell<F>>().as_ref().stage.get() };
        match std::mem::replace(stage, Stage::Consumed) {
            Stage::Finished(output) => {
                let dst = dst.cast::<Poll<Result<F::Output, JoinError>>>();
                // SAFETY: the caller passes a valid, initialised destination of this type.
                unsafe { *dst = Poll::Ready(output) };
            }
            _ => panic!("JoinHandle polled after it returned its output"),
        }
    }
}

/// Adds a reference for a new holder (an `AbortHandle`).
///
/// # Safety
/// The caller holds a reference already; the new one is released with [`drop_ref`].
pub(crate) unsafe fn add_ref(ptr: NonNull<Header>) {
    // SAFETY: forwarded contract.
    unsafe { ref_inc(ptr) }
}

/// Requests cancellation of the task (`JoinHandle::abort`, `AbortHandle::abort`).
///
/// # Safety
/// The caller holds a reference.
pub(crate) unsafe fn abort(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    if unsafe { ptr.as_ref() }.state.abort() {
        // The transition added the queued reference this hands over.
        schedule(Notified(ptr));
    }
}

/// Cancels a task found in the owned list during shutdown (home thread, task idle).
///
/// # Safety
/// `ptr` is linked in the current loop's owned list, which holds a reference to it.
pub(crate) unsafe fn shutdown_owned(ptr: NonNull<Header>) {
    // SAFETY: the owned list's reference keeps the header alive.
    let header = unsafe { ptr.as_ref() };
    header.state.claim_idle();
    // SAFETY: we hold RUNNING on the home thread; `cancel` then `complete` (which unlinks the
    // task and releases the list's reference).
    unsafe {
        (header.vtable.cancel)(ptr);
        complete(ptr);
    }
}

/// The task being polled on this thread, if any (for [`super::TaskRef::current`]).
pub(super) fn polling() -> Option<NonNull<Header>> {
    NonNull::new(crate::rt::current_polling() as *mut Header)
}

#[cfg(test)]
mod tests {
    use super::super::meta::TaskMeta;
    use super::Header;
    use std::mem::size_of;

    /// What a sleeping task costs (issue #19's million tasks): the header keeps diagnostics
    /// and the name out of line, the join handle and its error are one word each, a `Sleep`
    /// is three. A field added to any of them shows up here first.
    #[test]
    fn task_sizes() {
        let slot = size_of::<crate::diag::hooks::TaskSlot>();
        eprintln!(
            "size_of Header = {}, out-of-line TaskSlot = {slot}",
            size_of::<Header>()
        );
        assert_eq!(size_of::<crate::diag::hooks::DiagSlot>(), 8);
        assert_eq!(
            size_of::<TaskMeta>(),
            16,
            "id, and the site and name in one word"
        );
        assert!(
            size_of::<Header>() <= 80,
            "header is {} bytes",
            size_of::<Header>()
        );
        assert_eq!(size_of::<crate::task::JoinHandle<()>>(), 8);
        assert_eq!(size_of::<Result<(), crate::task::JoinError>>(), 8);
        assert_eq!(size_of::<crate::time::Sleep>(), 24);
    }
}
