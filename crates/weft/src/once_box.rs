//! A box installed once, on first use, by whichever thread gets there first: what
//! `std::sync::OnceLock<Box<T>>` does, in one pointer.
//!
//! `OnceLock` keeps a `u32` state beside an uninitialised value, and a struct holding one is
//! built on the stack and copied into place whole (uninitialised bytes included): stored in
//! parts, loaded in vector moves the processor cannot forward from those stores. `sync::trace`
//! embeds one in every primitive, so that stall fell on every `oneshot::channel()`. A null
//! pointer is all the state this needs: the first `get_or_init` to publish its box with a
//! compare-exchange wins; a loser frees its own and uses the winner's.

use std::fmt;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A `Box<T>` set at most once; see the module doc.
pub(crate) struct OnceBox<T> {
    ptr: AtomicPtr<T>,
}

impl<T> OnceBox<T> {
    /// Empty.
    pub(crate) const fn new() -> OnceBox<T> {
        OnceBox {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The value, if one was installed.
    #[inline]
    pub(crate) fn get(&self) -> Option<&T> {
        let ptr = self.ptr.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` in `get_or_init`, was published
        // with release (and read with acquire above), and is freed only by `drop`, which takes
        // `&mut self`, so it outlives this borrow.
        unsafe { ptr.as_ref() }
    }

    /// The value, installing `init()`'s first if there is none yet (if another thread
    /// installs one meanwhile, that one is kept and `init()`'s dropped).
    #[inline]
    pub(crate) fn get_or_init(&self, init: impl FnOnce() -> Box<T>) -> &T {
        match self.get() {
            Some(value) => value,
            None => self.install(init()),
        }
    }

    #[cold]
    fn install(&self, value: Box<T>) -> &T {
        let new = Box::into_raw(value);
        match self.ptr.compare_exchange(
            std::ptr::null_mut(),
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: as in `get`: ours, published just now, freed only by `drop`.
            Ok(_) => unsafe { &*new },
            Err(winner) => {
                // SAFETY: `new` was never published, so it is still ours alone.
                drop(unsafe { Box::from_raw(new) });
                // SAFETY: as in `get`: the winner's, published, read with acquire.
                unsafe { &*winner }
            }
        }
    }
}

impl<T> Drop for OnceBox<T> {
    fn drop(&mut self) {
        let ptr = *self.ptr.get_mut();
        if !ptr.is_null() {
            // SAFETY: from `Box::into_raw` in `install`; `&mut self` means no borrow is left.
            drop(unsafe { Box::from_raw(ptr) });
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceBox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OnceBox").field(&self.get()).finish()
    }
}

// SAFETY: a `OnceBox` owns its `T` as a `Box` does (sent with it, dropped with it) and hands out
// `&T` to every thread that shares it, as `OnceLock<Box<T>>` does: `Send` needs `T: Send`,
// `Sync` needs `T: Send + Sync` (a `T` installed on one thread is dropped on another).
unsafe impl<T: Send> Send for OnceBox<T> {}
// SAFETY: see above.
unsafe impl<T: Send + Sync> Sync for OnceBox<T> {}

#[cfg(test)]
mod tests {
    use super::OnceBox;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};

    #[test]
    fn the_first_value_stays_and_racing_losers_are_dropped() {
        let cell = Arc::new(OnceBox::<Arc<AtomicUsize>>::new());
        assert!(cell.get().is_none());
        let made = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (cell, made, start) = (cell.clone(), made.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    let got = cell.get_or_init(|| {
                        made.fetch_add(1, Ordering::Relaxed);
                        Box::new(Arc::new(AtomicUsize::new(i)))
                    });
                    got.load(Ordering::Relaxed)
                })
            })
            .collect();
        let seen: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let kept = cell.get().unwrap().load(Ordering::Relaxed);
        assert!(seen.iter().all(|&v| v == kept), "{seen:?} vs {kept}");
        assert!(made.load(Ordering::Relaxed) >= 1);
        // Only the kept value is still alive: the losers' boxes were dropped.
        let kept_arc = cell.get().unwrap().clone();
        assert_eq!(Arc::strong_count(&kept_arc), 2);
    }
}
