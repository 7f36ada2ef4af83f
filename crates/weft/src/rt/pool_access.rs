//! The current runtime's worker pool, and the free functions that send work to it.
//!
//! A loop thread finds its runtime through the current loop; these are the only places the
//! pool is looked up that way, so the pool itself knows nothing of loops. `weft::pool`
//! re-exports the free functions ([`spawn_blocking`], [`spawn_cpu`], [`submit`]) where users
//! find them.

use super::with_current;
use crate::loom::Arc;
use crate::pool::job::JobHandle;
use crate::pool::lane::Lane;
use crate::pool::workers::WorkerPool;

/// The worker pool of the runtime whose loop runs on this thread.
///
/// # Panics
///
/// Panics outside a weft loop; see [`try_current_pool`].
#[track_caller]
pub fn current_pool() -> Arc<WorkerPool> {
    try_current_pool().expect(
        "weft's worker pool was used outside a weft loop \
         (call it inside Runtime::block_on or a spawned task)",
    )
}

/// The worker pool of the runtime whose loop runs on this thread, if any.
pub fn try_current_pool() -> Option<Arc<WorkerPool>> {
    with_current(|core| core.map(|core| core.runtime.pool.clone()))
}

/// Runs a blocking closure on the `blocking` lane of the current runtime's pool; await the
/// handle for its result. See [`JobHandle`] for cancellation.
///
/// # Panics
///
/// Outside a weft loop (as [`crate::spawn`]).
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> JobHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    current_pool().spawn_blocking(f)
}

/// Runs a CPU-heavy closure on the `cpu` lane of the current runtime's pool, so it cannot stall
/// an event loop.
///
/// # Panics
///
/// Outside a weft loop (as [`crate::spawn`]).
#[track_caller]
pub fn spawn_cpu<F, T>(f: F) -> JobHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    current_pool().spawn_cpu(f)
}

/// Runs `f` on `lane` of the current runtime's pool.
///
/// # Panics
///
/// Outside a weft loop (as [`crate::spawn`]).
#[track_caller]
pub fn submit<F, T>(lane: Lane, f: F) -> JobHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    current_pool().submit(lane, f)
}
