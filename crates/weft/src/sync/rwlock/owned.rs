//! The owned guards' methods (the `Arc<RwLock<T>>` forms of `guards`): narrowing
//! ([`OwnedRwLockReadGuard::map`], `try_map`, ...), downgrading, and their `Deref`/`Drop`.
//! A narrowed guard keeps the lock's `Arc` (type `T`) and points at a part `U` of the value;
//! it keeps the permits and the hold record of the guard it came from, as in `guards`.

use super::{OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// Narrows the guard to a part of the value; the read lock stays held.
    pub fn map<V: ?Sized>(this: Self, f: impl FnOnce(&U) -> &V) -> OwnedRwLockReadGuard<T, V> {
        // SAFETY: the guard holds a read permit, so no writer exists.
        let data = f(unsafe { &*this.data }) as *const V;
        this.with_data(data)
    }

    /// Narrows the guard if `f` finds a part of the value; otherwise gives it back unchanged.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<V: ?Sized>(
        this: Self,
        f: impl FnOnce(&U) -> Option<&V>,
    ) -> Result<OwnedRwLockReadGuard<T, V>, Self> {
        // SAFETY: the guard holds a read permit, so no writer exists.
        match f(unsafe { &*this.data }).map(|d| d as *const V) {
            Some(data) => Ok(this.with_data(data)),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    fn with_data<V: ?Sized>(self, data: *const V) -> OwnedRwLockReadGuard<T, V> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again: its `Arc` moves to the new guard.
        let lock = unsafe { std::ptr::read(&this.lock) };
        OwnedRwLockReadGuard {
            lock,
            hold: this.hold,
            data,
        }
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// Narrows the guard to a part of the value; the write lock stays held.
    pub fn map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> OwnedRwLockMappedWriteGuard<T, U> {
        let data = f(&mut *this) as *mut U;
        this.into_mapped_at(data)
    }

    /// Narrows the guard if `f` finds a part of the value; otherwise gives it back unchanged
    /// (still exclusive).
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<U: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut T) -> Option<&mut U>,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self> {
        match f(&mut *this).map(|d| d as *mut U) {
            Some(data) => Ok(this.into_mapped_at(data)),
            None => Err(this),
        }
    }

    /// The guard as an [`OwnedRwLockMappedWriteGuard`] of the whole value.
    pub fn into_mapped(this: Self) -> OwnedRwLockMappedWriteGuard<T> {
        OwnedRwLockWriteGuard::map(this, |v| v)
    }

    /// Turns the write lock into a read lock without letting a writer in between.
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let data = self.lock.data.get() as *const T;
        self.downgrade_at(data)
    }

    /// [`downgrade`](Self::downgrade), then narrows the read guard to a part of the value.
    pub fn downgrade_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> &U,
    ) -> OwnedRwLockReadGuard<T, U> {
        OwnedRwLockReadGuard::map(this.downgrade(), f)
    }

    /// Downgrades and narrows if `f` finds a part of the value; otherwise gives the write
    /// guard back unchanged (`f` runs before the downgrade).
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_downgrade_map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&T) -> Option<&U>,
    ) -> Result<OwnedRwLockReadGuard<T, U>, Self> {
        match f(&*this).map(|d| d as *const U) {
            Some(data) => Ok(this.downgrade_at(data)),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    fn take_lock(self) -> Arc<RwLock<T>> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again: its `Arc` moves to the caller, with
        // every permit.
        unsafe { std::ptr::read(&this.lock) }
    }

    fn into_mapped_at<U: ?Sized>(self, data: *mut U) -> OwnedRwLockMappedWriteGuard<T, U> {
        OwnedRwLockMappedWriteGuard {
            lock: self.take_lock(),
            data,
        }
    }

    /// Downgrades, as `RwLockWriteGuard::downgrade`, to a read guard pointing at `data`.
    fn downgrade_at<U: ?Sized>(self, data: *const U) -> OwnedRwLockReadGuard<T, U> {
        let lock = self.take_lock();
        lock.res.release_exclusive();
        let hold = lock.res.hold_shared(1);
        // Keep one permit for this reader, give the rest back.
        lock.core.release(lock.max_readers as usize - 1);
        OwnedRwLockReadGuard { lock, hold, data }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// Narrows the guard further; the write lock stays held.
    pub fn map<V: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> &mut V,
    ) -> OwnedRwLockMappedWriteGuard<T, V> {
        let data = f(&mut *this) as *mut V;
        this.with_data(data)
    }

    /// Narrows the guard further if `f` finds a part; otherwise gives it back unchanged.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returns `None`.
    pub fn try_map<V: ?Sized>(
        mut this: Self,
        f: impl FnOnce(&mut U) -> Option<&mut V>,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self> {
        match f(&mut *this).map(|d| d as *mut V) {
            Some(data) => Ok(this.with_data(data)),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    fn with_data<V: ?Sized>(self, data: *mut V) -> OwnedRwLockMappedWriteGuard<T, V> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again: its `Arc` moves to the new guard.
        let lock = unsafe { std::ptr::read(&this.lock) };
        OwnedRwLockMappedWriteGuard { lock, data }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the value, and the guard holds a read permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.res.release_shared(self.hold, 1);
        self.lock.core.release(1);
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.res.release_exclusive();
        self.lock.core.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the value, and this guard holds every permit.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.res.release_exclusive();
        self.lock.core.release(self.lock.max_readers as usize);
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockMappedWriteGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
