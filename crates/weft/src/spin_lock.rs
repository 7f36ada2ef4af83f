//! A lock for state held for a few instructions at a time: `sync::trace`'s wait shards (one
//! thread takes it on its hot path, others rarely) and the mpsc channel's state (its sending
//! and receiving threads). One compare-exchange to take, one store to give back.
//!
//! A `std::sync::Mutex` costs a second atomic read-modify-write to unlock (it must learn
//! whether someone sleeps on it) and a poison check on each side; in a hook that runs on every
//! lock and every park with diagnostics on, those were a large part of the hook. Under
//! contention it is worse: a channel whose two ends run on two threads kept both of them going
//! to sleep in the futex and waking each other (`perf`: a third of the CPU in the kernel's
//! context switch), three times slower than this lock. The price is that a waiter spins
//! instead of sleeping: fine while every holder keeps it for a few instructions, and a waiter
//! that spins too long yields its CPU, so a holder preempted on the same core gets to finish.
//!
//! Not modelled by loom itself (a compare-exchange and a release store, the textbook lock);
//! the channel's model (`tests/loom_sync_mpsc.rs`) puts loom's mutex in its place.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, Release},
};

/// Spins before each yield while the lock is taken.
const SPINS_BEFORE_YIELD: u32 = 64;

/// See the module doc.
#[derive(Default)]
pub(crate) struct SpinLock<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is reached only through a `SpinGuard`, which exists only while `busy` is
// ours, so one thread at a time touches it; `T: Send` lets that thread be any thread.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    /// A free lock around `value`.
    pub(crate) const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            busy: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock (spinning, then yielding, while another thread has it).
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .busy
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut spins = 0;
        loop {
            // Read until it looks free, then try: the cache line stays shared meanwhile.
            while self.busy.load(Relaxed) {
                spins += 1;
                if spins % SPINS_BEFORE_YIELD == 0 {
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
            if self
                .busy
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// The lock, held until this guard drops.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds `busy`: no other access to `value` meanwhile.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.busy.store(false, Release);
    }
}

#[cfg(test)]
mod tests {
    use super::SpinLock;
    use std::sync::Arc;

    #[test]
    fn two_threads_adding_under_the_lock_lose_no_update() {
        let lock = Arc::new(SpinLock::<u64>::default());
        let other = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..100_000 {
                    *lock.lock() += 1;
                }
            })
        };
        for _ in 0..100_000 {
            *lock.lock() += 1;
        }
        other.join().unwrap();
        assert_eq!(*lock.lock(), 200_000);
    }
}
