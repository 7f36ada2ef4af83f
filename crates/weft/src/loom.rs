//! The one door through which cross-thread code reaches atomics and locks.
//!
//! Every atomic and lock shared between threads is imported from here rather than from `std`,
//! so that a `cfg(loom)` build can swap in the loom model checker's versions in one place.

#[allow(unused_imports)]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[allow(unused_imports)]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
