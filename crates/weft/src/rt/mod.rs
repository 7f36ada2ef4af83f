//! The runtime: event loops, one per thread, and handles to reach them.
//!
//! A [`Runtime`] owns
//!
//! - `n` **loop threads** ([`Builder::loops`], default one per core), each running its own
//!   event loop: ready queue, epoll reactor, timer wheel and inbox. Loops share nothing: a task
//!   stays on the loop it was spawned on, and so do the sockets and timers it creates;
//! - the **caller loop**, driven by whichever thread calls [`Runtime::block_on`]. Tasks spawned
//!   from inside `block_on` with [`spawn`](crate::spawn) land on it, and make progress only
//!   while some `block_on` runs (as with tokio's current-thread runtime). With
//!   [`Builder::current_thread`] it is the only loop.
//!
//! Work reaches another loop through its inbox: [`Handle::spawn_on`] (a chosen loop),
//! [`Handle::spawn`] (the current loop if called on one, otherwise round-robin over the loop
//! threads), and wakers, which always post a woken task to its own loop.
//!
//! The runtime also owns the [`WorkerPool`] that every loop sends
//! blocking, file, DNS and CPU-heavy work to ([`current_pool`]); its settings are on the
//! [`Builder`] (`pool_*`) and its metrics in [`Runtime::metrics`].
//!
//! # Shutdown
//!
//! Dropping the runtime (or [`Runtime::shutdown`]) stops every loop thread and joins it, then
//! shuts the caller loop down on the dropping thread, then shuts the worker pool down: queued
//! jobs are abandoned, running ones get up to the pool's shutdown timeout to finish, and any
//! still running after it are detached and reported (see `weft::pool`). Each loop cancels all its tasks (their
//! futures are dropped on their own thread, so destructors run and sockets close), drops its
//! timers and frees its I/O registrations; see the `event_loop` module for the steps. Shutdown waits for
//! no task to finish, so it cannot hang on one; it does wait for destructors.
//!
//! # Layout
//!
//! `rt` is the loop's machinery; the public `weft::task`, `weft::time` and `weft::pool` modules
//! are built on it and it knows none of them (it owns a `WorkerPool`, whose implementation
//! knows nothing of loops). This module holds what its parts
//! share; the parts are its children and call up into it, never across to each other's
//! internals:
//!
//! - here: a loop's **shared half** (`LoopShared`: the inbox, the poller, the notifier, the
//!   release list) and the thread's **current loop** (which loop runs on this thread, and the
//!   doors that need it: schedule, spawn);
//! - `pool_access`: [`current_pool`] and the pool's free functions that send work to it
//!   (`weft::pool::spawn_blocking` and its siblings);
//! - `runtime`: [`Runtime`], [`Builder`], [`Handle`]: building, driving and stopping loops;
//! - `event_loop`: one loop's thread-owned half (`LoopCore`) and its turn;
//! - `task`: the task cell (`raw`), its state word (`state`), the owned-task list (`owned`) and
//!   the `JoinHandle` that `weft::task` re-exports;
//! - `wheel`: the timer wheel; `reactor`: I/O registration and readiness; `coop`: the
//!   cooperative budget; `inbox`: the queue other threads post to; `sleep_gate`: the
//!   sleep/wake handshake; `backend`: [`Backend`], the choice of epoll or io_uring.
//!
//! ## The shared half of a loop
//!
//! A loop thread owns its run queue, timers and task list outright (see
//! `event_loop`); the only doors into it from elsewhere are here:
//!
//! - the **inbox**, a mutex-guarded queue of `Message`s (tasks woken or spawned from another
//!   thread, and closures to run on the loop);
//! - the **poller**, where any thread may register a descriptor (epoll_ctl is thread-safe; the
//!   io_uring backend locks its submission ring), on the runtime's [`Backend`];
//! - the **notifier** (an eventfd in the poller) that wakes the loop when it sleeps;
//! - the **release list** of I/O sources deregistered by other threads, freed by the loop once
//!   no event batch can still name them.
//!
//! Sleeping without losing a wake-up is the `SleepGate`'s handshake: a poster marks the inbox
//! pending and then looks for a sleeping loop; the loop announces its sleep and then looks for
//! pending messages.
//!
//! ## The current loop
//!
//! A loop thread (or a thread inside `Runtime::block_on`) installs its `LoopCore` here for as
//! long as it runs; spawning, scheduling, timers and I/O registration find their loop through
//! it. Threads that run no loop see `None`.

mod backend;
pub(crate) mod coop;
mod current_task;
pub(crate) mod event_loop;
mod inbox;
mod io_source;
mod loop_metrics;
pub(crate) mod pool_access;
pub(crate) mod reactor;
mod runtime;
mod sleep_gate;
pub(crate) mod task;
pub(crate) mod wheel;

pub use backend::{Backend, ParseBackendError, ENV_VAR as BACKEND_ENV_VAR};
pub use loop_metrics::LoopMetrics;
pub use pool_access::{current_pool, try_current_pool};
pub use runtime::{Builder, Handle, Runtime, RuntimeMetrics};

use crate::loom::{Arc, AtomicBool, AtomicUsize, Mutex, Ordering::*};
use crate::pool::workers::WorkerPool;
use crate::sys::{Notifier, Poller, PollerKind, Queued};
pub(crate) use event_loop::LoopCore;
use inbox::Inbox;
use reactor::IoSource;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::ptr::NonNull;
use task::{Header, JoinHandle, Notified, TaskMeta};

pub(crate) use current_task::{
    current_polling, current_task_id, current_thread_actor_id, enter_polling, enter_task,
    next_actor_id,
};

/// What every handle to a runtime shares.
#[derive(Debug)]
pub(crate) struct RuntimeShared {
    pub(crate) loops: Vec<Arc<LoopShared>>,
    pub(crate) caller: Arc<LoopShared>,
    pub(crate) next: AtomicUsize,
    pub(crate) pool: Arc<WorkerPool>,
    /// The backend the loops run on (after any fallback to epoll).
    pub(crate) backend: Backend,
}

impl RuntimeShared {
    pub(crate) fn owns(&self, loop_id: usize) -> bool {
        self.caller.id == loop_id || self.loops.iter().any(|l| l.id == loop_id)
    }
}

/// The token of the notifier in the poller; I/O sources use their address, never this value.
pub(crate) const NOTIFIER_TOKEN: u64 = u64::MAX;

static NEXT_LOOP_ID: AtomicUsize = AtomicUsize::new(1);

/// Something for a loop to do, sent from another thread.
pub(crate) enum Message {
    /// Poll this task (it was woken or spawned from another thread).
    Run(Notified),
    /// Run this closure on the loop thread.
    Call(Box<dyn FnOnce() + Send>),
}

/// An I/O source pointer waiting to be freed by its loop.
struct Released(NonNull<IoSource>);

// SAFETY: the pointer is an `Arc<IoSource>` turned into a raw pointer; `IoSource` is Send+Sync.
unsafe impl Send for Released {}

/// The cross-thread face of one event loop.
pub(crate) struct LoopShared {
    /// Unique in the process; tells "am I on this loop?" apart without comparing pointers.
    pub(crate) id: usize,
    /// Index among its runtime's loop threads, `None` for the caller loop driven by `block_on`.
    pub(crate) index: Option<usize>,
    /// Messages from other threads, and whether the loop sleeps.
    inbox: Inbox<Message>,
    /// Set by the runtime to make a loop thread leave its run loop and shut down.
    pub(crate) stop: AtomicBool,
    notifier: Notifier,
    pub(crate) poller: Poller,
    released: Mutex<Vec<Released>>,
    released_pending: AtomicBool,
    /// The stamp the watchdog samples (written around each task poll when diagnostics are on).
    pub(crate) watch: crate::diag::hooks::LoopWatch,
    /// Counters the loop keeps about itself (`Handle::metrics`).
    pub(crate) stats: loop_metrics::LoopStats,
}

impl std::fmt::Debug for LoopShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopShared")
            .field("id", &self.id)
            .field("index", &self.index)
            .finish()
    }
}

impl LoopShared {
    /// Creates the poller (of `kind`, or epoll if io_uring cannot be set up: see
    /// `Backend`) and the notifier of a new loop.
    pub(crate) fn new(index: Option<usize>, kind: PollerKind) -> io::Result<LoopShared> {
        let poller = backend::open_poller(kind)?;
        let notifier = Notifier::new()?;
        // Before the loop's first wait: the wait submits it (`Queued::Done`).
        let _ = poller.register(notifier.as_raw_fd(), NOTIFIER_TOKEN, false)?;
        Ok(LoopShared {
            id: NEXT_LOOP_ID.fetch_add(1, Relaxed),
            index,
            inbox: Inbox::new(),
            stop: AtomicBool::new(false),
            notifier,
            poller,
            released: Mutex::new(Vec::new()),
            released_pending: AtomicBool::new(false),
            watch: Default::default(),
            stats: loop_metrics::LoopStats::new(),
        })
    }

    /// Queues a message for the loop and wakes it if it sleeps. Gives the message back if the
    /// loop has shut down.
    pub(crate) fn post(&self, message: Message) -> Result<(), Message> {
        if self.inbox.post(message)? {
            self.notifier.notify();
        }
        Ok(())
    }

    /// Wakes the loop if it is blocked in (or about to enter) `epoll_wait`. Call it after
    /// making the reason visible: a message, or a flag the loop checks before it sleeps.
    pub(crate) fn unpark(&self) {
        if self.inbox.unpark() {
            self.notifier.notify();
        }
    }

    /// Does what a change of the poller's subscriptions asks: wakes the loop if the change
    /// waits for its next wait.
    pub(crate) fn after_poller_change(&self, queued: Queued) {
        if queued == Queued::WakeLoop {
            self.unpark();
        }
    }

    /// True if messages may be waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.inbox.has_pending()
    }

    /// Moves all waiting messages into `into` (which should be empty).
    pub(crate) fn take_messages(&self, into: &mut Vec<Message>) {
        self.inbox.take_messages(into);
    }

    /// Takes out the queued tasks `take` accepts (for `weft::diag`'s mitigation of a stalled
    /// loop), leaving every other message in order.
    pub(crate) fn take_tasks(&self, take: &mut dyn FnMut(&mut Notified) -> bool) -> Vec<Notified> {
        self.inbox.with_messages(|messages| {
            let mut taken = Vec::new();
            let mut kept = Vec::with_capacity(messages.len());
            for message in messages.drain(..) {
                match message {
                    Message::Run(mut task) => {
                        if take(&mut task) {
                            taken.push(task);
                        } else {
                            kept.push(Message::Run(task));
                        }
                    }
                    other => kept.push(other),
                }
            }
            *messages = kept;
            taken
        })
    }

    /// Refuses all further messages and returns those still queued.
    pub(crate) fn close(&self) -> Vec<Message> {
        self.inbox.close()
    }

    /// Announces that the loop is going to block; returns false if it should not, because a
    /// message arrived meanwhile.
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.inbox.prepare_sleep()
    }

    /// Announces that the loop is awake again.
    pub(crate) fn end_sleep(&self) {
        self.inbox.end_sleep();
    }

    /// Resets the notifier after it woke the loop.
    pub(crate) fn drain_notifier(&self) {
        self.notifier.drain();
    }

    /// Hands a deregistered source to the loop to free after its current event batch.
    pub(crate) fn release(&self, source: NonNull<IoSource>) {
        self.released
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Released(source));
        self.released_pending.store(true, Release);
    }

    /// Frees the sources released so far. Called by the loop between event batches (and by the
    /// last owner at drop), when no event in hand can name them.
    pub(crate) fn free_released(&self) {
        if !self.released_pending.swap(false, AcqRel) {
            return;
        }
        let released =
            std::mem::take(&mut *self.released.lock().unwrap_or_else(|e| e.into_inner()));
        for Released(ptr) in released {
            // SAFETY: `ptr` came from `Arc::into_raw` at registration and this is the one place
            // that gives that reference back, once.
            drop(unsafe { crate::loom::Arc::from_raw(ptr.as_ptr() as *const IoSource) });
        }
    }
}

impl Drop for LoopShared {
    fn drop(&mut self) {
        self.released_pending.store(true, Relaxed);
        self.free_released();
    }
}

thread_local! {
    static CURRENT: Cell<*const LoopCore> = const { Cell::new(std::ptr::null()) };
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
            coop::unconstrain();
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

/// Whether this thread's loop has tasks queued to run (`false` off a loop).
pub(crate) fn has_ready_tasks() -> bool {
    with_current(|core| core.is_some_and(LoopCore::has_ready))
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
        let (notified, ptr) = task::allocate(future, core.shared.clone(), meta);
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
    spawn_to_marked(home, future, meta, false)
}

/// [`spawn_to`] for a task whose loop was chosen by round-robin (`Handle::spawn` from outside
/// the runtime): while its loop is stalled it may start on another (`weft::diag`).
pub(crate) fn spawn_to_any<F>(
    home: &Arc<LoopShared>,
    future: F,
    meta: TaskMeta,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_to_marked(home, future, meta, true)
}

fn spawn_to_marked<F>(
    home: &Arc<LoopShared>,
    future: F,
    meta: TaskMeta,
    movable: bool,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (notified, ptr) = task::allocate(future, home.clone(), meta);
    if movable {
        notified.header().diag.set_movable();
    }
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
