//! `Mutex<T>`: an async mutual-exclusion lock, a one-permit [`batch`](super::batch) semaphore
//! around an `UnsafeCell`.
//!
//! The guard's existence is the permit: locking takes the one permit (one CAS when free),
//! dropping the guard gives it back (one `fetch_add`, plus a hand-over under the waiter lock
//! only if someone waits). The holder is recorded for `weft::diag` with
//! [`Resource::hold_exclusive`].

use super::acquire::Acquire;
use super::batch::Core;
use super::park;
use super::trace::{Resource, ResourceKind};
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::Arc;

/// An async mutex for tasks, green threads and OS threads, usable across loops.
///
/// # Fairness
///
/// FIFO: waiters get the lock in the order they first polled `lock()`. No barging: when the
/// guard is dropped with waiters queued, the lock is handed straight to the oldest one, and a
/// `lock()` or `try_lock()` that comes meanwhile does not overtake it (`try_lock` fails).
///
/// # Speed
///
/// Uncontended, `lock` is one compare-and-swap and unlock one `fetch_add`; no allocation.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use std::sync::Arc;
/// let counter = Arc::new(weft::sync::Mutex::new(0));
/// let c = counter.clone();
/// weft::spawn(async move { *c.lock().await += 1 }).await.unwrap();
/// assert_eq!(*counter.lock().await, 1);
/// # });
/// ```
pub struct Mutex<T: ?Sized> {
    core: Core,
    res: Resource,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out access to `T` to one holder at a time (the one permit), so it
// can be sent and shared wherever `T` can be sent.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: `&Mutex<T>` only ever gives exclusive access to `T`, one holder at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The lock is held elsewhere (or others wait for it); returned by `Mutex::try_lock` and
/// `RwLock::try_read`/`try_write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(pub(crate) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block: the lock is held")
    }
}

impl std::error::Error for TryLockError {}

/// Exclusive access to a [`Mutex`]'s value; unlocks when dropped.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
    /// Opts out of the auto traits, which would make the guard `Sync` for a `T` that is only
    /// `Send`; the right ones are implemented below.
    _marker: PhantomData<*mut T>,
}

/// Exclusive access through an `Arc<Mutex<T>>`, which the guard keeps alive.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
    /// As in [`MutexGuard`].
    _marker: PhantomData<*mut T>,
}

// SAFETY: a guard is exclusive access to `T` (like `&mut T`); moving it to another thread moves
// that access, and unlocking from any thread is allowed.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: a shared guard gives out `&T` only.
unsafe impl<T: ?Sized + Send + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Send> Send for OwnedMutexGuard<T> {}
// SAFETY: as for `MutexGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

/// A [`MutexGuard`] narrowed to a part of the value by [`MutexGuard::map`].
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    core: &'a Core,
    res: &'a Resource,
    data: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

/// An [`OwnedMutexGuard`] narrowed to a part `U` of the value by [`OwnedMutexGuard::map`].
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<Mutex<T>>,
    data: *mut U,
}

// SAFETY: exclusive access to part of the value, like `&mut U`, plus the `Arc` keeping the mutex
// alive (shareable since `T: Send`).
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: a shared guard gives out `&U` only.
unsafe impl<T: ?Sized + Send, U: ?Sized + Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

// SAFETY: the mapped guard is an exclusive borrow of part of the value, like `&mut T`.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing the guard shares `&T` only.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            core: Core::new(1),
            res: Resource::new(ResourceKind::Mutex, Location::caller()),
            data: UnsafeCell::new(value),
        }
    }

    /// [`Mutex::new`] as a `const fn`, for statics.
    ///
    /// ```
    /// static COUNT: weft::sync::Mutex<u64> = weft::sync::Mutex::const_new(0);
    /// *COUNT.try_lock().unwrap() += 1;
    /// ```
    #[track_caller]
    pub const fn const_new(value: T) -> Mutex<T> {
        Mutex {
            core: Core::const_new(1),
            res: Resource::new(ResourceKind::Mutex, Location::caller()),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the mutex.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `lock()` future leaves the queue without disturbing the others'
    /// order, and if the lock had just been handed to it, hands it on to the next waiter.
    #[track_caller]
    pub fn lock(&self) -> impl Future<Output = MutexGuard<'_, T>> + '_ {
        Acquire::new(&self.core, &self.res, 1, Location::caller()).then(move |out| {
            if out.is_err() {
                unreachable!("a Mutex's semaphore is never closed");
            }
            self.res.hold_exclusive();
            MutexGuard {
                lock: self,
                _marker: PhantomData,
            }
        })
    }

    /// Waits for the lock of an `Arc<Mutex<T>>`; the guard keeps the mutex alive.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Mutex::lock`].
    #[track_caller]
    pub fn lock_owned(self: Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>> {
        let site = Location::caller();
        async move {
            if Acquire::new(&self.core, &self.res, 1, site).await.is_err() {
                unreachable!("a Mutex's semaphore is never closed");
            }
            self.res.hold_exclusive();
            OwnedMutexGuard {
                lock: self,
                _marker: PhantomData,
            }
        }
    }

    /// Waits for the lock from code that is not async: parks the green thread (its loop runs
    /// on) or the OS thread.
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread: `weft::sync::Mutex::blocking_lock called
    /// on an event-loop thread outside a green thread: it would block every task of this loop
    /// ...`.
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        park::block_on("Mutex::blocking_lock", self.lock())
    }

    /// [`Mutex::blocking_lock`] for an `Arc<Mutex<T>>`.
    ///
    /// # Panics
    ///
    /// As [`Mutex::blocking_lock`].
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        park::block_on("Mutex::blocking_lock_owned", self.lock_owned())
    }

    /// Takes the lock if it is free and no one waits for it.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] when it is held or others are queued.
    #[track_caller]
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        self.try_take()?;
        self.res.hold_exclusive();
        Ok(MutexGuard {
            lock: self,
            _marker: PhantomData,
        })
    }

    /// [`Mutex::try_lock`] for an `Arc<Mutex<T>>`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] when it is held or others are queued.
    #[track_caller]
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        self.try_take()?;
        self.res.hold_exclusive();
        Ok(OwnedMutexGuard {
            lock: self,
            _marker: PhantomData,
        })
    }

    /// The permit for `try_lock*`; a failure is a starvation hint's attempt (`weft::diag`).
    #[track_caller]
    fn try_take(&self) -> Result<(), TryLockError> {
        let site = Location::caller();
        self.core.try_acquire(1).map_err(|_| {
            self.res.attempt_failed(site);
            TryLockError(())
        })
    }

    /// The value, through `&mut self`: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The bookkeeping of this mutex (for `weft::diag`).
    #[allow(dead_code)] // read by weft::diag
    pub(crate) fn resource(&self) -> &Resource {
        &self.res
    }

    fn unlock(&self) {
        self.res.release_exclusive();
        self.core.release(1);
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the value; the lock stays held by the new guard.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&mut T) -> &mut U) -> MappedMutexGuard<'a, U> {
        let lock = this.lock;
        std::mem::forget(this);
        // SAFETY: we hold the lock (the forgotten guard's permit passes to the mapped guard), so
        // this is the only access to the value.
        let data = f(unsafe { &mut *lock.data.get() }) as *mut U;
        MappedMutexGuard {
            core: &lock.core,
            res: &lock.res,
            data,
            _borrow: PhantomData,
        }
    }

    /// Like [`map`](Self::map), if `f` finds the part: `Err` gives the guard back (still
    /// locked) when `f` returns `None`.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<MappedMutexGuard<'a, U>, Self> {
        let lock = this.lock;
        // SAFETY: we hold the lock, so this is the only access to the value; on `None` the
        // borrow ends before the guard is given back.
        let Some(data) = f(unsafe { &mut *lock.data.get() }).map(|u| u as *mut U) else {
            return Err(this);
        };
        std::mem::forget(this);
        Ok(MappedMutexGuard {
            core: &lock.core,
            res: &lock.res,
            data,
            _borrow: PhantomData,
        })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock's one permit, so no `&mut T` exists elsewhere.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock's one permit, so this is the only access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// Narrows the guard to a part of the value; the lock stays held by the new guard.
    pub fn map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedMappedMutexGuard<T, U> {
        // Move the `Arc` out without running the guard's unlocking `Drop`.
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out once.
        let lock = unsafe { std::ptr::read(&this.lock) };
        // SAFETY: we hold the lock: this is the only access to the value.
        let data = f(unsafe { &mut *lock.data.get() }) as *mut U;
        OwnedMappedMutexGuard { lock, data }
    }

    /// Like [`map`](Self::map), if `f` finds the part: `Err` gives the guard back (still
    /// locked) when `f` returns `None`.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<OwnedMappedMutexGuard<T, U>, Self> {
        // SAFETY: we hold the lock, so this is the only access to the value; on `None` the
        // borrow ends before the guard is given back.
        let Some(data) = f(unsafe { &mut *this.lock.data.get() }).map(|u| u as *mut U) else {
            return Err(this);
        };
        let this = std::mem::ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out once.
        let lock = unsafe { std::ptr::read(&this.lock) };
        Ok(OwnedMappedMutexGuard { lock, data })
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock's one permit.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock's one permit.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the locked value, and this guard holds the lock.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; the lock makes this the only access.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.res.release_exclusive();
        self.core.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the locked value, which `lock` keeps alive.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; the lock makes this the only access.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
