//! The guards' methods: narrowing ([`RwLockReadGuard::map`], `try_map`, ...), downgrading,
//! and their `Deref`/`Drop`. A mapped or downgraded guard keeps the permits and the hold
//! record (`super::super::trace`) of the guard it came from, so the bookkeeping sees one
//! continuous hold; only a downgrade changes it (exclusive to shared), as it changes the permits.

use super::{RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// Narrows the guard to a part of the value; the read lock stays held.
    ///
    /// An associated function (`RwLockReadGuard::map(guard, f)`), so as not to hide a method
    /// of `T`.
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&T) -> &U) -> RwLockReadGuard<'a, U> {
        // SAFETY: the guard holds a read permit, so no writer exists.
        let data = f(unsafe { &*this.data }) as *const U;
        this.with_data(data)
    }

    /// Narrows the guard to a part of the value if `f` finds one; otherwise gives the guard
    /// back unchanged (the read lock is held either way).
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        // SAFETY: the guard holds a read permit, so no writer exists.
        match f(unsafe { &*this.data }).map(|d| d as *const U) {
            Some(data) => Ok(this.with_data(data)),
            None => Err(this),
        }
    }

    /// The same permit and hold, pointing at `data` (inside the locked value).
    fn with_data<U: ?Sized>(self, data: *const U) -> RwLockReadGuard<'a, U> {
        let (core, res, hold) = (self.core, self.res, self.hold);
        std::mem::forget(self);
        RwLockReadGuard {
            core,
            res,
            hold,
            data,
            _borrow: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a read permit: no writer exists while it lives.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.res.release_shared(self.hold, 1);
        self.core.release(1);
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Narrows the guard to a part of the value; the write lock stays held.
    pub fn map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> RwLockMappedWriteGuard<'a, U> {
        // SAFETY: the guard holds every permit: the only access.
        let data = f(unsafe { &mut *this.lock.data.get() }) as *mut U;
        this.into_mapped_at(data)
    }

    /// Narrows the guard to a part of the value if `f` finds one; otherwise gives the guard
    /// back unchanged (the write lock is held either way).
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self> {
        // SAFETY: the guard holds every permit: the only access.
        match f(unsafe { &mut *this.lock.data.get() }).map(|d| d as *mut U) {
            Some(data) => Ok(this.into_mapped_at(data)),
            None => Err(this),
        }
    }

    /// The guard as a [`RwLockMappedWriteGuard`] of the whole value (which can no longer be
    /// downgraded).
    pub fn into_mapped(this: Self) -> RwLockMappedWriteGuard<'a, T> {
        RwLockWriteGuard::map(this, |v| v)
    }

    /// Turns the write lock into a read lock without letting a writer in between; the waiters
    /// queued behind it that only read may then enter too.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        lock.res.release_exclusive();
        let guard = lock.read_guard();
        // Keep one permit for this reader, give the rest back.
        lock.core.release(lock.max_readers as usize - 1);
        guard
    }

    /// [`downgrade`](Self::downgrade), then narrows the read guard to a part of the value.
    /// No writer gets in between.
    pub fn downgrade_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> &U,
    ) -> RwLockReadGuard<'a, U> {
        RwLockReadGuard::map(RwLockWriteGuard::downgrade(this), f)
    }

    /// Downgrades and narrows if `f` finds a part of the value; otherwise gives the write
    /// guard back unchanged (still exclusive: `f` runs before the downgrade).
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_downgrade_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<RwLockReadGuard<'a, U>, Self> {
        // SAFETY: the guard holds every permit; the pointer stays valid under the read permit
        // the downgrade keeps.
        match f(unsafe { &*this.lock.data.get() }).map(|d| d as *const U) {
            Some(data) => Ok(RwLockWriteGuard::downgrade(this).with_data(data)),
            None => Err(this),
        }
    }

    /// Every permit passes to a mapped guard pointing at `data` (inside the locked value).
    fn into_mapped_at<U: ?Sized>(self, data: *mut U) -> RwLockMappedWriteGuard<'a, U> {
        let lock = self.lock;
        std::mem::forget(self);
        RwLockMappedWriteGuard {
            core: &lock.core,
            res: &lock.res,
            permits: lock.max_readers as usize,
            data,
            _borrow: PhantomData,
        }
    }
}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guard further; the write lock stays held.
    pub fn map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> RwLockMappedWriteGuard<'a, U> {
        // SAFETY: the guard holds every permit: the only access.
        let data = f(unsafe { &mut *this.data }) as *mut U;
        this.with_data(data)
    }

    /// Narrows the guard further if `f` finds a part; otherwise gives it back unchanged.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self> {
        // SAFETY: the guard holds every permit: the only access.
        match f(unsafe { &mut *this.data }).map(|d| d as *mut U) {
            Some(data) => Ok(this.with_data(data)),
            None => Err(this),
        }
    }

    /// The same permits, pointing at `data` (inside the locked value).
    fn with_data<U: ?Sized>(self, data: *mut U) -> RwLockMappedWriteGuard<'a, U> {
        let (core, res, permits) = (self.core, self.res, self.permits);
        std::mem::forget(self);
        RwLockMappedWriteGuard {
            core,
            res,
            permits,
            data,
            _borrow: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit: it is the only access.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit: it is the only access.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.res.release_exclusive();
        self.lock.core.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the value, and this guard holds every permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.res.release_exclusive();
        self.core.release(self.permits);
    }
}

macro_rules! debug_via_deref {
    ($($ty:ident $(<$lt:lifetime>)?),*) => {$(
        impl<T: ?Sized + fmt::Debug> fmt::Debug for $ty<$($lt,)? T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }
    )*};
}

debug_via_deref!(
    RwLockReadGuard<'_>,
    RwLockWriteGuard<'_>,
    RwLockMappedWriteGuard<'_>
);
