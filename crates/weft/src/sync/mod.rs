//! Synchronization for tasks, green threads and OS threads: locks, channels, cancellation.
//!
//! Shaped like `tokio::sync`, so a port is mechanical. Every primitive is `Send + Sync` where
//! its contents allow and works across loops: a waiter on another loop is woken through that
//! loop's inbox, as every cross-loop wake is.
//!
//! # Three kinds of caller
//!
//! The `async` methods (`lock().await`, `send().await`) are for tasks. The `blocking_*`
//! methods are for code that is not async: in a green thread they park the green thread and
//! its loop runs on; on a plain OS thread (a pool job, `std::thread`) they park the thread; on
//! a loop thread outside a green thread they panic, since they would block every task of that
//! loop.
//!
//! # Who holds, who waits
//!
//! Each primitive records which actor (task, green thread or OS thread) holds it and which wait
//! on it, and since when, for `weft::diag`'s wait-for graph. The bookkeeping is off unless
//! diagnostics are on; off, it costs one branch on the fast path.
//!
//! # Roles
//!
//! - `trace`: the holder/waiter bookkeeping (crate-internal).
//! - `park`: how a `blocking_*` call waits, by caller.
//! - `waiters`: the FIFO waiter list every primitive queues its waiters in (crate-internal).
//! - `batch`: the batch semaphore's state machine, core of Semaphore, Mutex, RwLock (loom-checked).
//! - [`Barrier`]: `n` parties meet, one leader per round.
//! - `barrier_round`: the barrier's round, arrivals and withdrawals (loom-checked).
//! - [`Mutex`]: async mutex (a one-permit batch semaphore), guards, owned and mapped guards.
//! - [`Notify`]: wake one waiter (or store a permit) or every waiter.
//! - `notify_state`: Notify's state word and waiter steps (loom-checked).
//! - [`OnceCell`]: a value set once by an async initializer that runs once.
//! - `once_state`: the cell's value slot, flag and init semaphore (loom-checked).
//! - [`RwLock`]: readers-writer lock (a batch semaphore of `max_readers` permits), guards.
//! - [`Semaphore`]: counting semaphore with FIFO waiters, permits and owned permits.
//! - [`oneshot`]: a channel for one value; the receiver is a future (one atomic word, no lock).
//! - [`mpsc`]: multi-producer single-consumer channels, bounded and unbounded.
//! - [`broadcast`]: every receiver sees every value; a slow one gets `Lagged(n)` and continues.
//! - `broadcast_core`: the broadcast ring, counts and waiting receivers (loom-checked).
//! - [`watch`]: one value, receivers always see the latest (`changed().await`, `borrow`).
//! - `watch_state`: the watch value, version, receiver count and waiters (loom-checked).
//! - [`CancellationToken`] (`cancel`): cancellation with child tokens and drop guards.
//! - `cancel_state`: the token tree's node, flag, waiters and children (loom-checked).
//! - [`local`]: loop-local `!Send` mpsc, oneshot and Mutex without atomics.
//! - `__set_tracing`: the benchmarks' switch for the bookkeeping (hidden, not an API).

pub mod broadcast;
mod broadcast_core;
mod cancel;
mod cancel_state;
pub mod local;
pub mod mpsc;
pub mod oneshot;
pub(crate) mod park;
pub(crate) mod trace;
pub mod watch;
mod watch_state;

mod acquire;
mod barrier;
mod barrier_round;
pub(crate) mod batch;
pub(crate) mod block_cache;
#[cfg(test)]
mod chan_trace_tests;
#[cfg(test)]
mod locks_trace_tests;
mod mutex;
mod notify;
pub(crate) mod notify_state;
mod once_cell;
mod once_state;
mod rwlock;
pub(crate) mod semaphore;
pub(crate) mod waiters;
pub use barrier::{Barrier, BarrierWaitResult};
pub use cancel::{
    CancellationToken, DropGuard, WaitForCancellationFuture, WaitForCancellationFutureOwned,
};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard, MAX_READERS,
};
pub use semaphore::{
    AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError,
};

/// Turns the holder/waiter bookkeeping on or off for the whole process. Not an API: it exists
/// so that `benches/benches/sync.rs` can measure each primitive with the bookkeeping on; the
/// switch users get is `weft::diag`'s.
#[doc(hidden)]
pub fn __set_tracing(on: bool) {
    trace::set_enabled(on);
}
