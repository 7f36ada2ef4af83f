//! Which loop is running on this thread, and the operations that need it.
//!
//! A loop thread (or a thread inside `Runtime::block_on`) installs its [`LoopCore`] here for as
//! long as it runs; spawning, scheduling, timers and I/O registration find their loop through
//! it. Threads that run no loop see `None`.

use crate::loom::Arc;
use crate::rt::event_loop::LoopCore;
use crate::rt::shared::{LoopShared, Message};
use crate::task::raw::{self, Header, Notified, TaskMeta};
use crate::task::JoinHandle;
use std::cell::Cell;
use std::future::Future;
use std::ptr::NonNull;

thread_local! {
    static CURRENT: Cell<*const LoopCore> = const { Cell::new(std::ptr::null()) };
    /// The id of the task being polled on this thread, 0 between polls.
    static CURRENT_TASK: Cell<u64> = const { Cell::new(0) };
    /// This OS thread's actor id, 0 until first asked for.
    static THREAD_ACTOR: Cell<u64> = const { Cell::new(0) };
}

/// Ids for tasks and for OS threads come from one counter, so an id names one actor.
static NEXT_ACTOR_ID: crate::loom::AtomicU64 = crate::loom::AtomicU64::new(1);

/// A fresh actor id (task or thread); never 0.
pub(crate) fn next_actor_id() -> u64 {
    NEXT_ACTOR_ID.fetch_add(1, crate::loom::Ordering::Relaxed)
}

/// Marks a task as the one being polled on this thread until the guard drops.
pub(crate) struct TaskGuard {
    previous: u64,
}

/// Records `id` as the task being polled; the previous one (a task polled inside another's
/// poll, as `block_on` in a green thread does) is put back when the guard drops.
#[inline]
pub(crate) fn enter_task(id: u64) -> TaskGuard {
    TaskGuard {
        previous: CURRENT_TASK.with(|c| c.replace(id)),
    }
}

impl Drop for TaskGuard {
    #[inline]
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.previous));
    }
}

/// The id of the task being polled on this thread, if any.
#[inline]
pub(crate) fn current_task_id() -> Option<u64> {
    Some(CURRENT_TASK.with(Cell::get)).filter(|&id| id != 0)
}

/// This OS thread's actor id (assigned on first use).
pub(crate) fn current_thread_actor_id() -> u64 {
    THREAD_ACTOR.with(|c| {
        if c.get() == 0 {
            c.set(next_actor_id());
        }
        c.get()
    })
}

/// True if this thread runs a weft loop (a loop thread, or inside `Runtime::block_on`).
#[inline]
pub(crate) fn on_loop_thread() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// Keeps a loop installed as current; puts back the previous one when dropped.
pub(crate) struct EnterGuard {
    previous: *const LoopCore,
}

/// Installs `core` as this thread's current loop.
///
/// # Panics
///
/// Panics if a loop is already running on this thread (a `block_on` inside a task).
pub(crate) fn enter(core: &LoopCore) -> EnterGuard {
    CURRENT.with(|current| {
        assert!(
            current.get().is_null(),
            "cannot start a weft loop on a thread that is already running one \
             (Runtime::block_on called from inside a task?)"
        );
        current.set(core as *const LoopCore);
    });
    EnterGuard {
        previous: std::ptr::null(),
    }
}

/// Installs `core` as current for its shutdown, even on a thread that runs another loop (a
/// runtime dropped inside a task of another runtime); the other loop is current again after.
pub(crate) fn enter_for_shutdown(core: &LoopCore) -> EnterGuard {
    let previous = CURRENT.with(|current| current.replace(core as *const LoopCore));
    EnterGuard { previous }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
        if self.previous.is_null() {
            crate::rt::coop::unconstrain();
        }
    }
}

/// Runs `f` with the current loop, if any.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&LoopCore>) -> R) -> R {
    let ptr = CURRENT.with(|current| current.get());
    if ptr.is_null() {
        f(None)
    } else {
        // SAFETY: a non-null pointer was installed by `enter` from a live `&LoopCore`, and the
        // guard that removes it is dropped before the core (the loop functions hold both).
        f(Some(unsafe { &*ptr }))
    }
}

/// The shared part of the current loop.
pub(crate) fn current_shared() -> Option<Arc<LoopShared>> {
    with_current(|core| core.map(|core| core.shared.clone()))
}

/// Hands a woken task to its home loop: straight onto the run queue when that is this thread's
/// loop, through the home loop's inbox otherwise.
pub(crate) fn schedule(task: Notified) {
    let task = with_current(|core| match core {
        Some(core) if core.shared.id == task.home().id => {
            core.push_ready(task);
            None
        }
        _ => Some(task),
    });
    if let Some(task) = task {
        let home = task.home().clone();
        if let Err(Message::Run(task)) = home.post(Message::Run(task)) {
            task.reject();
        }
    }
}

/// Spawns on the current loop.
#[track_caller]
pub(crate) fn spawn_local_inner<F>(future: F, meta: TaskMeta) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    with_current(|core| {
        let core = core.expect(
            "weft::spawn must be called from inside a weft loop \
             (Runtime::block_on or a task); use Handle::spawn from other threads",
        );
        let (notified, ptr) = raw::allocate(future, core.shared.clone(), meta);
        core.push_ready(notified);
        JoinHandle::new(ptr)
    })
}

/// Spawns a `Send` future on the loop `home` from any thread.
pub(crate) fn spawn_to<F>(
    home: &Arc<LoopShared>,
    future: F,
    meta: TaskMeta,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (notified, ptr) = raw::allocate(future, home.clone(), meta);
    let handle = JoinHandle::new(ptr);
    schedule(notified);
    handle
}

/// Links a task that just went idle into the current loop's owned list.
pub(crate) fn link_owned(task: NonNull<Header>) {
    with_current(|core| {
        core.expect("tasks are polled on their home loop")
            .owned
            .link(task)
    });
}

/// Unlinks a completed task from the current loop's owned list.
pub(crate) fn unlink_owned(task: NonNull<Header>) {
    with_current(|core| {
        core.expect("tasks complete on their home loop")
            .owned
            .unlink(task)
    });
}
