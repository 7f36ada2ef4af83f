//! The one door through which cross-thread code reaches atomics and locks.
//!
//! Every atomic and lock shared between threads is imported from here rather than from `std`,
//! so that a `cfg(loom)` build can swap in the loom model checker's versions in one place.
//!
//! The modules small enough to be model-checked whole (`task::state`, `rt::sleep_gate`) use
//! nothing but this door, so the loom tests compile those very files against a door of their
//! own that opens onto loom's types (see `tests/loom_*.rs`). That is why [`UnsafeCell`] here
//! has loom's shape (`with`/`with_mut` instead of `get`): loom can then see every access to the
//! cell and report one that races.

#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering,
};
// `Mutex::new` is const, so a `static` lock (signal.rs's INIT, cluster::inherit's TAKEN) is
// declared with this very type.
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
// The reactor's waiter slots (`rt::io_source`); the models open this onto loom's `AtomicWaker`.
pub(crate) use atomic_waker::AtomicWaker;
// The mpsc channel's state lock (`sync::mpsc::chan`): a spin lock, because its critical
// sections are a few instructions and a futex sleep under cross-thread contention costs far
// more than they do; the models open this onto loom's mutex.
pub(crate) use crate::spin_lock::{SpinGuard as StateGuard, SpinLock as StateLock};
// The bounded mpsc ring's waits for a value being written (`sync::mpsc::ring`): a spin, then a
// yield; the models open both onto loom's `yield_now`, so that loom runs the writer.
pub(crate) use std::hint::spin_loop;
pub(crate) use std::thread::yield_now;
// `watch`'s value (borrows share it, a send stores under it); the models open this onto loom's.
#[allow(unused_imports)]
pub(crate) use std::sync::{RwLock, RwLockReadGuard};
// The part of `sync::trace`'s holder bookkeeping built on first use; `tests/loom_sync_trace.rs`
// opens this onto the same thing over loom's `AtomicPtr`.
pub(crate) use crate::once_box::OnceBox;

/// `std::cell::UnsafeCell` with loom's interface: access goes through a closure that gets the
/// raw pointer, so the loom build can track reads and writes.
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer for reading; the caller guarantees no write happens meanwhile.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer for writing; the caller guarantees no other access meanwhile.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
