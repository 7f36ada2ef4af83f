//! `OnceCell<T>`: a value set at most once, by an async initializer that runs once.
//!
//! A flag says the value is there (read with one `Acquire` load). Initializers are serialized
//! by a one-permit [`batch`](super::batch) semaphore: whoever holds the permit runs its
//! initializer; on success it writes the value, sets the flag and *closes* the semaphore,
//! which wakes every queued initializer to find the value. If an initializer fails, panics or is
//! cancelled, its permit goes to the next one in line, which tries its own. That state lives
//! in `once_state` (loom-checked by `tests/loom_sync_once_cell.rs`); this file adds the
//! futures and the holder/waiter bookkeeping.

use super::acquire::Acquire;
use super::batch::Core;
use super::once_state::{OnceState, Refused};
use super::trace::{Resource, ResourceKind};
use crate::loom::{AtomicBool, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::panic::Location;

/// A cell written once, for tasks, green threads and OS threads.
///
/// # Fairness
///
/// Callers of `get_or_init` that find the cell empty queue FIFO; only the first runs its
/// initializer, the others wait for its result (and, if it fails or is cancelled, the next in
/// line runs its own). `set` does not wait: it fails while an initializer runs.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// static CONFIG: std::sync::OnceLock<weft::sync::OnceCell<String>> = std::sync::OnceLock::new();
/// let cell = CONFIG.get_or_init(weft::sync::OnceCell::new);
/// let v = cell.get_or_init(|| async { "loaded".to_string() }).await;
/// assert_eq!(v, "loaded");
/// assert_eq!(cell.get().map(String::as_str), Some("loaded"));
/// # });
/// ```
pub struct OnceCell<T> {
    state: OnceState<T>,
    res: Resource,
}

/// Why [`OnceCell::set`] refused the value (which it gives back).
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// An initializer is running.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// True for [`SetError::AlreadyInitializedError`].
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// True for [`SetError::InitializingError`].
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the cell is already initialized"),
            SetError::InitializingError(_) => f.write_str("the cell is being initialized"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

/// Gives the init permit back if the initializer does not finish (error, panic, cancel).
struct InitPermit<'a, T>(&'a OnceState<T>, &'a Resource);

impl<T> Drop for InitPermit<'_, T> {
    fn drop(&mut self) {
        self.1.release_exclusive();
        self.0.abandon();
    }
}

impl<T> OnceCell<T> {
    /// An empty cell.
    #[track_caller]
    pub fn new() -> OnceCell<T> {
        OnceCell {
            state: OnceState::new(),
            res: Resource::new(ResourceKind::OnceCell, Location::caller()),
        }
    }

    /// [`OnceCell::new`] as a `const fn`, for statics.
    ///
    /// ```
    /// static CELL: weft::sync::OnceCell<u32> = weft::sync::OnceCell::const_new();
    /// CELL.set(1).unwrap();
    /// assert_eq!(CELL.get(), Some(&1));
    /// ```
    #[track_caller]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            state: OnceState {
                set: AtomicBool::new(false),
                value: UnsafeCell::new(MaybeUninit::uninit()),
                init: Core::const_new(1),
            },
            res: Resource::new(ResourceKind::OnceCell, Location::caller()),
        }
    }

    /// A cell already holding `value`, as a `const fn`, for statics.
    ///
    /// ```
    /// static CELL: weft::sync::OnceCell<u32> = weft::sync::OnceCell::const_new_with(7);
    /// assert!(CELL.initialized());
    /// assert_eq!(CELL.get(), Some(&7));
    /// assert!(CELL.set(8).unwrap_err().is_already_init_err());
    /// ```
    #[track_caller]
    pub const fn const_new_with(value: T) -> OnceCell<T> {
        OnceCell {
            state: OnceState {
                set: AtomicBool::new(true),
                value: UnsafeCell::new(MaybeUninit::new(value)),
                // Closed, as `OnceState::store` leaves it: every initializer sees "set".
                init: Core::const_closed(),
            },
            res: Resource::new(ResourceKind::OnceCell, Location::caller()),
        }
    }

    /// A cell holding `value` if it is `Some`.
    #[track_caller]
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(v) = value {
            // Nobody else can see the cell yet.
            let _ = cell.set(v);
        }
        cell
    }

    /// True once a value is in the cell.
    pub fn initialized(&self) -> bool {
        self.state.initialized()
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        self.state.get()
    }

    /// The value, through `&mut self`.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.state.get_mut()
    }

    /// Writes the value; the caller holds the init permit, which is never given back.
    fn store(&self, value: T) -> &T {
        self.res.release_exclusive();
        // SAFETY: the caller holds the init permit and does not give it back (the contract of
        // this private fn, kept by `try_init_at`).
        unsafe { self.state.store(value) }
    }

    /// Sets the value if the cell is empty and no initializer runs.
    ///
    /// # Errors
    ///
    /// [`SetError`], giving the value back.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        match self.state.try_set(value) {
            Ok(()) => Ok(()),
            Err((value, Refused::AlreadySet)) => Err(SetError::AlreadyInitializedError(value)),
            Err((value, Refused::Initializing)) => Err(SetError::InitializingError(value)),
        }
    }

    /// The value, running `f` to produce it if the cell is empty. Concurrent callers wait for
    /// the one initializer instead of running theirs.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while it waits leaves the queue; dropping it while its
    /// initializer runs abandons that initializer, and the next queued caller runs its own.
    #[track_caller]
    pub fn get_or_init<'a, F, Fut>(&'a self, f: F) -> impl Future<Output = &'a T> + 'a
    where
        F: FnOnce() -> Fut + 'a,
        Fut: Future<Output = T> + 'a,
    {
        let site = Location::caller();
        async move {
            let result: Result<&T, std::convert::Infallible> = self
                .try_init_at(site, || async move { Ok(f().await) })
                .await;
            match result {
                Ok(v) => v,
                Err(never) => match never {},
            }
        }
    }

    /// Like [`OnceCell::get_or_init`] with a fallible initializer: on `Err`, the cell stays
    /// empty and the error is returned (the next waiter then runs its own initializer).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`OnceCell::get_or_init`].
    ///
    /// # Errors
    ///
    /// Whatever `f` returns.
    #[track_caller]
    pub fn get_or_try_init<'a, E, F, Fut>(
        &'a self,
        f: F,
    ) -> impl Future<Output = Result<&'a T, E>> + 'a
    where
        E: 'a,
        F: FnOnce() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
    {
        self.try_init_at(Location::caller(), f)
    }

    async fn try_init_at<E, F, Fut>(&self, site: &'static Location<'static>, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.get() {
            return Ok(v);
        }
        if Acquire::new(self.state.init(), &self.res, 1, site)
            .await
            .is_err()
        {
            // Closed: the value was set meanwhile.
            return Ok(self.get().expect("the init semaphore closes only once set"));
        }
        // The running initializer is the cell's holder, for `weft::diag`.
        self.res.hold_exclusive();
        let permit = InitPermit(&self.state, &self.res);
        let value = f().await?;
        std::mem::forget(permit);
        Ok(self.store(value))
    }

    /// The value, consuming the cell.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.state.take()
    }
}

impl<T> Default for OnceCell<T> {
    #[track_caller]
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    #[track_caller]
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
