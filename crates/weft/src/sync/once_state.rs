//! `OnceCell`'s core: the value slot, the "it is set" flag and the init semaphore.
//!
//! Kept free of everything but `crate::loom` and [`super::batch`] (the batch semaphore, itself
//! on [`super::waiters`]), so that `tests/loom_sync_once_cell.rs` compiles this very file
//! against loom's types.
//!
//! A flag says the value is there (read with one `Acquire` load). Initializers are serialized
//! by a one-permit batch semaphore: whoever holds the permit runs its initializer; on success
//! it writes the value, sets the flag (`Release`) and *closes* the semaphore, which wakes every
//! queued initializer: an acquire that fails with "closed" means the value is there. If an
//! initializer fails, panics or is cancelled, its permit goes back ([`OnceState::abandon`]) to
//! the next in line, which runs its own.

use super::batch::{Core, TryAcquire};
use crate::loom::{AtomicBool, Ordering, UnsafeCell};
use std::mem::MaybeUninit;

/// The cell's state; see the module doc.
pub(super) struct OnceState<T> {
    // Visible to `OnceCell::const_new`, which builds it in a `const fn`: loom's constructors,
    // which this file is compiled against in the models, are not `const`.
    pub(super) set: AtomicBool,
    pub(super) value: UnsafeCell<MaybeUninit<T>>,
    pub(super) init: Core,
}

// SAFETY: the value is written once, before `set` is stored with Release, by the one holder of
// the init permit; after that it is only read (`&T`) until `&mut self` access. Sharing the state
// therefore shares `&T` (T: Sync) and may move a `T` in from another thread (T: Send).
unsafe impl<T: Send + Sync> Sync for OnceState<T> {}
// SAFETY: sending the state sends the `T` it owns.
unsafe impl<T: Send> Send for OnceState<T> {}

/// Why [`OnceState::try_set`] refused a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The value is there already.
    AlreadySet,
    /// An initializer holds the permit.
    Initializing,
}

impl<T> OnceState<T> {
    /// An empty cell.
    pub(super) fn new() -> OnceState<T> {
        OnceState {
            set: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            init: Core::new(1),
        }
    }

    /// True once the value is there.
    pub(super) fn initialized(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// The value, if set.
    pub(super) fn get(&self) -> Option<&T> {
        if self.initialized() {
            // SAFETY: `set` is stored (Release, read above with Acquire) only after the value
            // was written, and it is never written again while `&self` borrows exist.
            Some(self.value.with(|p| unsafe { (*p).assume_init_ref() }))
        } else {
            None
        }
    }

    /// The init semaphore: one permit, for the initializer that runs; closed once set.
    pub(super) fn init(&self) -> &Core {
        &self.init
    }

    /// Writes the value, sets the flag and closes the init semaphore (waking every queued
    /// initializer, which will find the value).
    ///
    /// # Safety
    ///
    /// The caller holds the init permit (from [`OnceState::init`]) and never gives it back.
    pub(super) unsafe fn store(&self, value: T) -> &T {
        // SAFETY: only the holder of the one init permit writes, once (the caller's promise),
        // and readers look only after `set` is true, which is stored below.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        self.set.store(true, Ordering::Release);
        self.init.close();
        self.get().expect("just set")
    }

    /// The initializer holding the permit gives up (failed, panicked or cancelled): the permit
    /// goes to the next queued initializer.
    pub(super) fn abandon(&self) {
        self.init.release(1);
    }

    /// Sets the value if the cell is empty and no initializer runs; gives it back otherwise.
    pub(super) fn try_set(&self, value: T) -> Result<(), (T, Refused)> {
        if self.initialized() {
            return Err((value, Refused::AlreadySet));
        }
        match self.init.try_acquire(1) {
            Ok(()) => {
                // SAFETY: we just took the one permit, and keep it.
                unsafe { self.store(value) };
                Ok(())
            }
            Err(TryAcquire::Closed) => Err((value, Refused::AlreadySet)),
            Err(TryAcquire::NoPermits) => Err((value, Refused::Initializing)),
        }
    }

    /// The value, through `&mut self`.
    pub(super) fn get_mut(&mut self) -> Option<&mut T> {
        if self.initialized() {
            // SAFETY: initialized, and `&mut self` excludes every other access.
            Some(self.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
        } else {
            None
        }
    }

    /// Takes the value out, leaving the cell empty (and a fresh init semaphore).
    pub(super) fn take(&mut self) -> Option<T> {
        if !self.initialized() {
            return None;
        }
        self.set.store(false, Ordering::Relaxed);
        self.init = Core::new(1);
        // SAFETY: it was initialized, and the flag now says it is not, so it is read once.
        Some(self.value.with_mut(|p| unsafe { (*p).assume_init_read() }))
    }
}

impl<T> Drop for OnceState<T> {
    fn drop(&mut self) {
        if self.initialized() {
            // SAFETY: initialized, dropped once (we are in `drop`).
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}
