//! A loop-local async mutex: the `!Send` twin of [`crate::sync::Mutex`].
//!
//! # Fairness
//!
//! FIFO with hand-off: an unlock with waiters queued passes the lock straight to the oldest
//! one (it stays locked meanwhile), so a newcomer's `try_lock` or `lock` never barges ahead. A
//! waiter dropped after it was handed the lock passes it on to the next.

use crate::sync::waiters::{WaitList, WaiterKey};
use crate::sync::TryLockError;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A loop-local async mutex: the `!Send` twin of [`crate::sync::Mutex`], no atomics.
///
/// # Fairness
///
/// FIFO with hand-off: an unlock with waiters queued passes the lock straight to the oldest
/// one (it stays locked meanwhile), so a newcomer's `try_lock` or `lock` never barges ahead. A
/// waiter dropped after it was handed the lock passes it on to the next.
pub struct Mutex<T: ?Sized> {
    locked: Cell<bool>,
    /// Per waiter: true once the lock was handed to it.
    waiters: RefCell<WaitList<bool>>,
    value: UnsafeCell<T>,
}

/// Exclusive access to a local [`Mutex`]'s value; unlocks (or hands the lock on) when dropped.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            locked: Cell::new(false),
            waiters: RefCell::new(WaitList::new()),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, waiting in FIFO order while it is held.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `lock()` gives up its place, and a lock handed to it meanwhile
    /// passes to the next waiter.
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        Lock {
            lock: self,
            key: None,
        }
    }

    /// Locks if it is free and nobody is queued.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] when it is held (or handed to a queued waiter).
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        if self.locked.get() {
            return Err(TryLockError(()));
        }
        self.locked.set(true);
        Ok(MutexGuard { lock: self })
    }

    /// The value, through `&mut` (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// Hands the lock to the oldest waiter, or frees it.
    fn unlock(&self) {
        let mut waiters = self.waiters.borrow_mut();
        match waiters.pop_front() {
            Some((key, waker)) => {
                *waiters.get_mut(key) = true;
                drop(waiters);
                if let Some(w) = waker {
                    w.wake();
                }
            }
            None => self.locked.set(false),
        }
    }
}

struct Lock<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    key: Option<WaiterKey>,
}

impl<'a, T: ?Sized> Future for Lock<'a, T> {
    type Output = MutexGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        let lock = this.lock;
        let mut waiters = lock.waiters.borrow_mut();
        match this.key {
            Some(k) if *waiters.get(k) => {
                waiters.remove(k);
                this.key = None;
                Poll::Ready(MutexGuard { lock })
            }
            Some(k) => {
                waiters.set_waker(k, cx.waker());
                Poll::Pending
            }
            None if !lock.locked.get() => {
                lock.locked.set(true);
                Poll::Ready(MutexGuard { lock })
            }
            None => {
                this.key = Some(waiters.push_back(false, cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl<T: ?Sized> Drop for Lock<'_, T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let handed = self.lock.waiters.borrow_mut().remove(k);
            if handed {
                self.lock.unlock();
            }
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard is the one holder of the lock, so no `&mut` to the value exists;
        // the type is `!Sync`, so no other thread reaches it.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow through the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("local::Mutex")
            .field("locked", &self.locked.get())
            .finish_non_exhaustive()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}
