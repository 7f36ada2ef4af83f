//! The runtime: a set of event loops (one per thread plus the caller's), how it is built
//! ([`Builder`]), driven ([`Runtime::block_on`]), reached from other threads ([`Handle`]) and
//! shut down. See the [module docs](super) for the whole picture.

use super::backend::Backend;
use super::event_loop::LoopCore;
use super::task::{JoinHandle, TaskMeta};
use super::{
    enter, enter_for_shutdown, spawn_local_inner, spawn_to, spawn_to_any, with_current, LoopShared,
    RuntimeShared,
};
use crate::loom::{Arc, AtomicUsize, Ordering::*};
use crate::pool::config::PoolBuilder;
use crate::pool::lane::Lane;
use crate::pool::metrics::PoolMetrics;
use crate::pool::shutdown::ShutdownReport;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;
use std::thread;

/// Builds a [`Runtime`] with chosen settings.
///
/// ```
/// let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
/// let on_loop = rt.block_on(async {
///     weft::rt::Handle::current().spawn_on(1, async { 7 }).await.unwrap()
/// });
/// assert_eq!(on_loop, 7);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    loops: usize,
    pin_cores: bool,
    thread_name: String,
    pool: PoolBuilder,
    diagnostics: Option<crate::diag::Config>,
    backend: Option<Backend>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Settings of [`Runtime::new`]: one loop thread per available core, not pinned.
    pub fn new() -> Builder {
        Builder {
            loops: thread::available_parallelism().map_or(1, |n| n.get()),
            pin_cores: false,
            thread_name: "weft-loop".into(),
            pool: PoolBuilder::new(),
            diagnostics: None,
            backend: None,
        }
    }

    /// Chooses the kernel interface the loops wait on (see [`Backend`]). Without this call
    /// `build()` reads `WEFT_BACKEND` (`uring` or `epoll`), and uses epoll if it is not set;
    /// with it the variable is ignored (the code wins). io_uring falls back to epoll where it
    /// cannot be set up; [`Runtime::backend`] tells which one runs.
    pub fn backend(mut self, backend: Backend) -> Builder {
        self.backend = Some(backend);
        self
    }

    /// Turns on diagnostics (deadlock detection, lock order, watchdog ...; see
    /// [`weft::diag`](crate::diag)) for the process. Without this call `build()` reads
    /// `WEFT_DIAG`; with it the variable is ignored (the code wins).
    pub fn diagnostics(mut self, config: crate::diag::Config) -> Builder {
        self.diagnostics = Some(config);
        self
    }

    /// Starts `n` loop threads (in addition to the caller loop that `block_on` drives).
    /// `0` is the same as [`current_thread`](Self::current_thread).
    pub fn loops(mut self, n: usize) -> Builder {
        self.loops = n;
        self
    }

    /// No loop threads: the runtime is only the caller loop, driven inside `block_on`, like
    /// tokio's current-thread runtime.
    pub fn current_thread(self) -> Builder {
        self.loops(0)
    }

    /// Pins loop thread `i` to CPU `i` (modulo the CPU count). Off by default: pinning helps a
    /// dedicated server machine and hurts a shared one.
    pub fn pin_cores(mut self, pin: bool) -> Builder {
        self.pin_cores = pin;
        self
    }

    /// Prefix of loop thread names; thread `i` is named `{prefix}-{i}`.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// Sets the worker pool's thread limit for `lane` (default and `WEFT_POOL_*` variables:
    /// `weft::pool`).
    pub fn pool_threads(mut self, lane: Lane, n: usize) -> Builder {
        self.pool.threads(lane, n);
        self
    }

    /// Sets how many nice steps below the process the pool's `cpu` lane runs, 0..=19 (default
    /// [`DEFAULT_CPU_NICE`](crate::pool::DEFAULT_CPU_NICE): a loop that wakes preempts a CPU
    /// job on a shared core).
    pub fn pool_cpu_nice(mut self, nice: i32) -> Builder {
        self.pool.cpu_nice(nice);
        self
    }

    /// Sets how long an idle worker-pool thread lives.
    pub fn pool_idle_timeout(mut self, timeout: std::time::Duration) -> Builder {
        self.pool.idle_timeout(timeout);
        self
    }

    /// Sets how long runtime shutdown lets running pool jobs finish before detaching them.
    pub fn pool_shutdown_timeout(mut self, timeout: std::time::Duration) -> Builder {
        self.pool.shutdown_timeout(timeout);
        self
    }

    /// Creates the loops and starts the loop threads.
    ///
    /// Fails with `InvalidInput` if a worker-pool setting (from the builder or a `WEFT_POOL_*`
    /// variable), `WEFT_DIAG` or `WEFT_BACKEND` is malformed.
    pub fn build(self) -> io::Result<Runtime> {
        match self.diagnostics {
            Some(config) => crate::diag::install(config),
            None => {
                if let Some(config) = crate::diag::Config::from_env()? {
                    crate::diag::install(config);
                }
            }
        }
        let wanted = match self.backend {
            Some(backend) => backend,
            None => Backend::from_env()?.unwrap_or_default(),
        };
        let pool = Arc::new(self.pool.build()?);
        // The first loop's setup decides: after a fallback to epoll the others do not retry.
        let mut kind = wanted.poller_kind();
        let mut loops = Vec::with_capacity(self.loops);
        for i in 0..self.loops {
            let shared = LoopShared::new(Some(i), kind)?;
            kind = shared.poller.kind();
            loops.push(Arc::new(shared));
        }
        let caller = Arc::new(LoopShared::new(None, kind)?);
        let shared = Arc::new(RuntimeShared {
            loops,
            backend: Backend::of(caller.poller.kind()),
            caller,
            next: AtomicUsize::new(0),
            pool,
        });
        let caller_core = Rc::new(LoopCore::new(shared.caller.clone(), shared.clone()));
        let mut runtime = Runtime {
            caller: caller_core,
            threads: Vec::with_capacity(self.loops),
            shared: shared.clone(),
            _not_send: PhantomData,
        };
        for (i, loop_shared) in shared.loops.iter().enumerate() {
            let loop_shared = loop_shared.clone();
            let rt_shared = shared.clone();
            let pin = self.pin_cores;
            let thread = thread::Builder::new()
                .name(format!("{}-{i}", self.thread_name))
                .spawn(move || run_loop_thread(i, pin, loop_shared, rt_shared))?;
            runtime.threads.push(thread);
        }
        Ok(runtime)
    }
}

fn run_loop_thread(index: usize, pin: bool, shared: Arc<LoopShared>, runtime: Arc<RuntimeShared>) {
    if pin {
        if let Err(err) = crate::sys::thread::pin_to_cpu(index) {
            tracing::warn!(loop_index = index, error = %err, "could not pin loop thread");
        }
    }
    let _diag = crate::diag::enter_loop(&shared);
    let core = LoopCore::new(shared, runtime);
    let _enter = enter(&core);
    core.run_until_stopped();
    core.shutdown();
}

/// An event-loop runtime; see the [module docs](crate::rt).
///
/// A `Runtime` is `!Send`: its caller loop belongs to the thread that built it, which drives it
/// in [`block_on`](Self::block_on). Use a [`Handle`] to reach the runtime from other threads.
pub struct Runtime {
    caller: Rc<LoopCore>,
    threads: Vec<thread::JoinHandle<()>>,
    shared: Arc<RuntimeShared>,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("loops", &self.shared.loops.len())
            .finish()
    }
}

impl Runtime {
    /// A runtime with one loop thread per core.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to choose the settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `future` to completion on this thread's caller loop and returns its output.
    /// Tasks spawned inside it with [`spawn`](crate::spawn) run on the same loop.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a weft loop (a task or another `block_on`).
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _enter = enter(&self.caller);
        let _diag = crate::diag::enter_loop(&self.caller.shared);
        self.caller.block_on(future)
    }

    /// Spawns a task on a loop thread (round-robin), or on the caller loop if there are none.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(future)
    }

    /// Spawns a task on loop thread `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index` is not below the number of loop threads.
    #[track_caller]
    pub fn spawn_on<F>(&self, index: usize, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn_on(index, future)
    }

    /// A handle that can spawn onto this runtime from any thread.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Number of loop threads.
    pub fn loops(&self) -> usize {
        self.shared.loops.len()
    }

    /// The backend the loops run on: the one asked for, or epoll after a fallback.
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// Metrics of the runtime: per loop thread ([`LoopMetrics`](super::LoopMetrics): tasks,
    /// ready-queue depth, polls, busy time) and per worker-pool lane. Cheap: relaxed loads of
    /// counters the loops and lanes keep themselves; callable from any thread.
    pub fn metrics(&self) -> RuntimeMetrics {
        self.handle().metrics()
    }

    /// Shuts the runtime down now, the same as dropping it, and returns what the worker pool
    /// abandoned (queued jobs dropped, running jobs detached after the pool's timeout).
    pub fn shutdown(self) -> ShutdownReport {
        let pool = self.shared.pool.clone();
        drop(self);
        pool.shutdown_report()
            .expect("dropping the runtime shuts its pool down")
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for loop_shared in &self.shared.loops {
            loop_shared.stop.store(true, SeqCst);
            loop_shared.unpark();
        }
        for thread in self.threads.drain(..) {
            let name = thread.thread().name().unwrap_or("weft-loop").to_string();
            if thread.join().is_err() {
                tracing::error!(thread = %name, "a weft loop thread panicked during shutdown");
            }
        }
        // This thread may be running another runtime's loop (a runtime dropped inside a task);
        // the caller loop is made current only for its shutdown.
        let enter = enter_for_shutdown(&self.caller);
        self.caller.shutdown();
        // Leave the loop before the pool abandons jobs, so that their wakes go through inboxes
        // (and are refused by the stopped loops) rather than onto this loop's dead run queue.
        drop(enter);
        // Last, so that tasks cancelled above have already cancelled their queued jobs.
        let pool = &self.shared.pool;
        pool.shutdown(pool.config().shutdown_timeout);
    }
}

/// A cloneable, thread-safe handle to a runtime's loops.
#[derive(Clone, Debug)]
pub struct Handle {
    shared: Arc<RuntimeShared>,
}

impl Handle {
    /// The runtime of the loop running on this thread.
    ///
    /// # Panics
    ///
    /// Panics outside a weft loop; see [`try_current`](Self::try_current).
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().expect("Handle::current called outside a weft loop")
    }

    /// The runtime of the loop running on this thread, if any.
    pub fn try_current() -> Option<Handle> {
        with_current(|core| {
            core.map(|core| Handle {
                shared: core.runtime.clone(),
            })
        })
    }

    /// The runtime's worker pool (for spawns that run on it from any thread).
    pub(crate) fn pool(&self) -> &Arc<crate::pool::WorkerPool> {
        &self.shared.pool
    }

    /// Number of loop threads.
    pub fn loops(&self) -> usize {
        self.shared.loops.len()
    }

    /// The backend the runtime's loops run on: the one asked for, or epoll after a fallback.
    pub fn backend(&self) -> Backend {
        self.shared.backend
    }

    /// Index of the loop thread running on this thread, if it belongs to this runtime
    /// (`None` on the caller loop and on other threads).
    pub fn current_loop(&self) -> Option<usize> {
        with_current(|core| {
            core.filter(|core| self.shared.owns(core.shared.id))
                .and_then(|core| core.shared.index)
        })
    }

    /// Spawns a `Send` task: on the current loop if this thread runs one of this runtime's
    /// loops, otherwise on the loop threads in turn (or the caller loop if there are none).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(future, TaskMeta::new(Location::caller(), None))
    }

    /// [`spawn`](Self::spawn) with the task's identity chosen by the caller (`task::Builder`).
    pub(crate) fn spawn_with<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let on_own_loop =
            with_current(|core| core.is_some_and(|core| self.shared.owns(core.shared.id)));
        if on_own_loop {
            return spawn_local_inner(future, meta);
        }
        let home = if self.shared.loops.is_empty() {
            &self.shared.caller
        } else {
            let i = self.shared.next.fetch_add(1, Relaxed) % self.shared.loops.len();
            &self.shared.loops[i]
        };
        spawn_to_any(home, future, meta)
    }

    /// Metrics of the runtime; see [`Runtime::metrics`].
    pub fn metrics(&self) -> RuntimeMetrics {
        RuntimeMetrics {
            pool: self.shared.pool.metrics(),
            loops: self
                .shared
                .loops
                .iter()
                .map(|l| l.stats.snapshot(l.index))
                .collect(),
        }
    }

    /// Spawns a `Send` task on loop thread `index`.
    ///
    /// # Panics
    ///
    /// Panics if `index` is not below [`loops`](Self::loops).
    #[track_caller]
    pub fn spawn_on<F>(&self, index: usize, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_on_with(index, future, TaskMeta::new(Location::caller(), None))
    }

    /// [`spawn_on`](Self::spawn_on) with the task's identity chosen by the caller.
    #[track_caller]
    pub(crate) fn spawn_on_with<F>(
        &self,
        index: usize,
        future: F,
        meta: TaskMeta,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let home = self.shared.loops.get(index).unwrap_or_else(|| {
            panic!(
                "spawn_on({index}): the runtime has {} loop threads",
                self.shared.loops.len()
            )
        });
        spawn_to(home, future, meta)
    }
}

/// Metrics of a runtime, from [`Runtime::metrics`] or [`Handle::metrics`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Per-lane metrics of the worker pool: queued, running, threads, queue wait.
    pub pool: PoolMetrics,
    /// Per-loop metrics of the loop threads, in index order (tasks, ready-queue depth, polls,
    /// busy time); see [`LoopMetrics`](super::LoopMetrics). The caller loop of `block_on` is
    /// not among them.
    pub loops: Vec<super::LoopMetrics>,
}
