//! `RwLock<T>`: many readers or one writer, on a [`batch`](super::batch) semaphore of
//! `max_readers` permits: a read lock takes one, a write lock takes them all.
//!
//! Because the semaphore serves waiters FIFO and a writer queues for all permits at once, a
//! waiting writer stops later readers from overtaking it: neither side starves.

mod guards;
mod owned;

use super::acquire::Acquire;
use super::batch::Core;
use super::mutex::TryLockError;
use super::park;
use super::trace::{HoldToken, Resource, ResourceKind};
use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::Arc;

/// Concurrent readers allowed by [`RwLock::new`]: tokio's figure, far above any real count of
/// simultaneous readers, and a write lock (which takes them all) still fits in a `u32`.
pub const MAX_READERS: u32 = u32::MAX >> 3;

/// A reader-writer lock for tasks, green threads and OS threads, usable across loops.
///
/// # Fairness
///
/// FIFO over readers and writers alike: each waits its turn in order of first poll. A writer
/// that is queued blocks readers that come after it (they do not barge past it), so writers are
/// not starved by a stream of readers; readers queued together behind a writer are all let in
/// when it unlocks. `try_read`/`try_write` fail rather than overtake a queued waiter.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// let lock = weft::sync::RwLock::new(1);
/// let (a, b) = (lock.read().await, lock.read().await);
/// assert_eq!(*a + *b, 2);
/// assert!(lock.try_write().is_err());
/// drop((a, b));
/// *lock.write().await += 1;
/// assert_eq!(*lock.read().await, 2);
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    core: Core,
    res: Resource,
    max_readers: u32,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` across threads (T: Sync), a writer gets `&mut T` (T: Send).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// Shared access to an [`RwLock`]'s value (or a part of it, after [`RwLockReadGuard::map`]).
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    core: &'a Core,
    res: &'a Resource,
    hold: HoldToken,
    data: *const T,
    _borrow: PhantomData<&'a T>,
}

/// Exclusive access to an [`RwLock`]'s value.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _marker: PhantomData<*mut T>,
}

/// An [`RwLockWriteGuard`] narrowed to a part of the value by [`RwLockWriteGuard::map`].
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    core: &'a Core,
    res: &'a Resource,
    permits: usize,
    data: *mut T,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: an exclusive borrow of part of the value, like `&mut T`.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: a shared mapped guard gives out `&T` only.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

/// Shared access through an `Arc<RwLock<T>>`, which the guard keeps alive (to a part `U` of
/// the value, after [`OwnedRwLockReadGuard::map`]).
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    hold: HoldToken,
    data: *const U,
}

/// Exclusive access through an `Arc<RwLock<T>>`.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
    _marker: PhantomData<*mut T>,
}

/// An [`OwnedRwLockWriteGuard`] narrowed to a part `U` of the value by
/// [`OwnedRwLockWriteGuard::map`].
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    data: *mut U,
}

// SAFETY: a read guard is `&T`: sendable and shareable where `&T` is (T: Sync).
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above; the guard also owns an `Arc<RwLock<T>>` (T: Send + Sync to share it).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: a write guard is `&mut T`; unlocking from another thread is allowed.
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: a shared write guard gives out `&T` only.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockWriteGuard<T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}
// SAFETY: an exclusive borrow of part of the value, like `&mut U`, owning the lock's `Arc`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Send
    for OwnedRwLockMappedWriteGuard<T, U>
{
}
// SAFETY: a shared mapped guard gives out `&U` only.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send + Sync> Sync
    for OwnedRwLockMappedWriteGuard<T, U>
{
}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `value`, allowing [`MAX_READERS`] readers at once.
    #[track_caller]
    pub fn new(value: T) -> RwLock<T> {
        RwLock::with_max_readers(value, MAX_READERS)
    }

    /// A new lock allowing at most `max_readers` readers at once.
    ///
    /// # Panics
    ///
    /// If `max_readers` is 0 or above [`MAX_READERS`].
    #[track_caller]
    pub fn with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        assert!(
            (1..=MAX_READERS).contains(&max_readers),
            "weft::sync::RwLock: max_readers must be in 1..={MAX_READERS}, got {max_readers}"
        );
        RwLock {
            core: Core::new(max_readers as usize),
            res: Resource::new(ResourceKind::RwLock, Location::caller()),
            max_readers,
            data: UnsafeCell::new(value),
        }
    }

    /// [`RwLock::new`] as a `const fn`, for statics.
    #[track_caller]
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock::const_with_max_readers(value, MAX_READERS)
    }

    /// [`RwLock::with_max_readers`] as a `const fn`, for statics.
    ///
    /// ```
    /// static LOCK: weft::sync::RwLock<u8> = weft::sync::RwLock::const_with_max_readers(0, 2);
    /// let (a, b) = (LOCK.try_read().unwrap(), LOCK.try_read().unwrap());
    /// assert!(LOCK.try_read().is_err(), "two readers at most");
    /// # drop((a, b));
    /// ```
    ///
    /// # Panics
    ///
    /// If `max_readers` is 0 or above [`MAX_READERS`] (at compile time in a static).
    #[track_caller]
    pub const fn const_with_max_readers(value: T, max_readers: u32) -> RwLock<T> {
        assert!(
            max_readers >= 1 && max_readers <= MAX_READERS,
            "weft::sync::RwLock: max_readers must be in 1..=MAX_READERS"
        );
        RwLock {
            core: Core::const_new(max_readers as usize),
            res: Resource::new(ResourceKind::RwLock, Location::caller()),
            max_readers,
            data: UnsafeCell::new(value),
        }
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// `n` permits for `try_*`; a failure is a starvation hint's attempt (`weft::diag`).
    #[track_caller]
    fn try_take(&self, n: usize) -> Result<(), TryLockError> {
        let site = Location::caller();
        self.core.try_acquire(n).map_err(|_| {
            self.res.attempt_failed(site);
            TryLockError(())
        })
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, T> {
        RwLockReadGuard {
            core: &self.core,
            res: &self.res,
            hold: self.res.hold_shared(1),
            data: self.data.get(),
            _borrow: PhantomData,
        }
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, T> {
        self.res.hold_exclusive();
        RwLockWriteGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    /// Waits for shared (read) access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `read()` future keeps the others' order and, if it had just been
    /// let in, passes its place on.
    #[track_caller]
    pub fn read(&self) -> impl Future<Output = RwLockReadGuard<'_, T>> + '_ {
        Acquire::new(&self.core, &self.res, 1, Location::caller()).then(move |out| {
            if out.is_err() {
                unreachable!("an RwLock's semaphore is never closed");
            }
            self.read_guard()
        })
    }

    /// Waits for exclusive (write) access.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `write()` future gives back every reader slot it had collected,
    /// to the waiters behind it.
    #[track_caller]
    pub fn write(&self) -> impl Future<Output = RwLockWriteGuard<'_, T>> + '_ {
        let n = self.max_readers as usize;
        Acquire::new(&self.core, &self.res, n, Location::caller()).then(move |out| {
            if out.is_err() {
                unreachable!("an RwLock's semaphore is never closed");
            }
            self.write_guard()
        })
    }

    /// Waits for read access through an `Arc<RwLock<T>>`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`RwLock::read`].
    #[track_caller]
    pub fn read_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockReadGuard<T>> {
        let site = Location::caller();
        async move {
            if Acquire::new(&self.core, &self.res, 1, site).await.is_err() {
                unreachable!("an RwLock's semaphore is never closed");
            }
            let hold = self.res.hold_shared(1);
            OwnedRwLockReadGuard {
                data: self.data.get(),
                lock: self,
                hold,
            }
        }
    }

    /// Waits for write access through an `Arc<RwLock<T>>`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`RwLock::write`].
    #[track_caller]
    pub fn write_owned(self: Arc<Self>) -> impl Future<Output = OwnedRwLockWriteGuard<T>> {
        let site = Location::caller();
        async move {
            let n = self.max_readers as usize;
            if Acquire::new(&self.core, &self.res, n, site).await.is_err() {
                unreachable!("an RwLock's semaphore is never closed");
            }
            self.res.hold_exclusive();
            OwnedRwLockWriteGuard {
                lock: self,
                _marker: PhantomData,
            }
        }
    }

    /// Waits for read access from code that is not async (parks the green or OS thread).
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread.
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        park::block_on("RwLock::blocking_read", self.read())
    }

    /// Waits for write access from code that is not async (parks the green or OS thread).
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread.
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        park::block_on("RwLock::blocking_write", self.write())
    }

    /// Read access if no writer holds or waits for the lock.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] otherwise.
    #[track_caller]
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_take(1)?;
        Ok(self.read_guard())
    }

    /// Write access if no one holds or waits for the lock.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] otherwise.
    #[track_caller]
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_take(self.max_readers as usize)?;
        Ok(self.write_guard())
    }

    /// [`RwLock::try_read`] for an `Arc<RwLock<T>>`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if a writer holds or waits for the lock.
    #[track_caller]
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.try_take(1)?;
        let hold = self.res.hold_shared(1);
        Ok(OwnedRwLockReadGuard {
            data: self.data.get(),
            lock: self,
            hold,
        })
    }

    /// [`RwLock::try_write`] for an `Arc<RwLock<T>>`.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if anyone holds or waits for the lock.
    #[track_caller]
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.try_take(self.max_readers as usize)?;
        self.res.hold_exclusive();
        Ok(OwnedRwLockWriteGuard {
            lock: self,
            _marker: PhantomData,
        })
    }

    /// The value, through `&mut self`: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The bookkeeping of this lock (for `weft::diag`).
    #[allow(dead_code)] // read by weft::diag
    pub(crate) fn resource(&self) -> &Resource {
        &self.res
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}
