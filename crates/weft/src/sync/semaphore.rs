//! `Semaphore`: a counting semaphore whose waiters are served in FIFO order.
//!
//! The state machine is [`super::batch`] (one atomic word plus a FIFO waiter list, loom-checked);
//! this module adds the public API, permits as RAII guards, the `blocking_*` variant and the
//! holder/waiter bookkeeping ([`super::trace`]). Its acquisitions wait with
//! [`super::acquire::Acquire`], as `Mutex` and `RwLock` do.

use super::acquire::Acquire;
use super::batch::{self, Core, TryAcquire};
use super::park;
use super::trace::{HoldToken, Resource, ResourceKind};
use super::waiters::WaitList;
use crate::loom::{AtomicUsize, Mutex};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

/// A counting semaphore for tasks, green threads and OS threads.
///
/// # Fairness
///
/// Strictly FIFO: waiters are served in the order they first polled, and a waiter that needs
/// many permits (`acquire_many`) is served before later waiters even if they need fewer, so it
/// is never starved. No barging: while anyone is queued, `acquire` and `try_acquire` do not take
/// permits past them (`try_acquire` fails instead). Released permits are handed to the front
/// waiter directly.
///
/// # Speed
///
/// Uncontended, `acquire` is one compare-and-swap and dropping a permit is one `fetch_add`;
/// neither allocates nor locks. The waiter list is only locked when someone waits.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::sync::Semaphore;
/// let sem = Semaphore::new(2);
/// let a = sem.acquire().await.unwrap();
/// let _b = sem.try_acquire().unwrap();
/// assert!(sem.try_acquire().is_err());
/// drop(a);
/// assert_eq!(sem.available_permits(), 1);
/// # });
/// ```
pub struct Semaphore {
    core: Core,
    res: Resource,
}

/// The semaphore was closed; returned by the `acquire*` methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire*` call got no permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits are available, or other waiters are queued ahead.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<TryAcquire> for TryAcquireError {
    fn from(e: TryAcquire) -> Self {
        match e {
            TryAcquire::Closed => TryAcquireError::Closed,
            TryAcquire::NoPermits => TryAcquireError::NoPermits,
        }
    }
}

/// Permits borrowed from a [`Semaphore`]; given back when dropped.
#[must_use = "the permits are released at once if the permit is not kept"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
    hold: HoldToken,
}

/// Permits from an `Arc<Semaphore>`, which the permit keeps alive; given back when dropped.
#[must_use = "the permits are released at once if the permit is not kept"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
    hold: HoldToken,
}

impl Core {
    /// [`Core::new`] in a `const` context (for statics).
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`](batch::MAX_PERMITS) (at compile time in a static).
    pub(crate) const fn const_new(permits: usize) -> Core {
        assert!(
            permits <= batch::MAX_PERMITS,
            "weft::sync: permits exceed Semaphore::MAX_PERMITS"
        );
        Core {
            state: AtomicUsize::new(permits << batch::SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// A semaphore that is closed from the start, with no permits, in a `const` context (for
    /// `OnceCell::const_new_with`, whose init semaphore is closed once the value is there).
    pub(crate) const fn const_closed() -> Core {
        Core {
            state: AtomicUsize::new(batch::CLOSED),
            waiters: Mutex::new(WaitList::new()),
        }
    }
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = batch::MAX_PERMITS;

    /// [`Semaphore::new`] as a `const fn`, for statics.
    ///
    /// ```
    /// static LIMIT: weft::sync::Semaphore = weft::sync::Semaphore::const_new(10);
    /// assert_eq!(LIMIT.available_permits(), 10);
    /// ```
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    #[track_caller]
    pub const fn const_new(permits: usize) -> Semaphore {
        Semaphore {
            core: Core::const_new(permits),
            res: Resource::new(ResourceKind::Semaphore, Location::caller()),
        }
    }

    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            core: Core::new(permits),
            res: Resource::new(ResourceKind::Semaphore, Location::caller()),
        }
    }

    /// Permits that can be taken right now.
    pub fn available_permits(&self) -> usize {
        self.core.available()
    }

    /// Adds `n` permits, serving queued waiters first (FIFO).
    ///
    /// # Panics
    ///
    /// If the total would exceed [`Semaphore::MAX_PERMITS`].
    pub fn add_permits(&self, n: usize) {
        self.core.release(n);
    }

    /// Closes the semaphore: every queued and future `acquire*` fails with [`AcquireError`],
    /// `try_acquire*` with [`TryAcquireError::Closed`]. Permits already held stay valid.
    pub fn close(&self) {
        self.core.close();
    }

    /// True once [`Semaphore::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }

    /// Waits for one permit.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future loses no permit and keeps the FIFO order of the others.
    /// If it had been handed the permit but not yet polled, the permit goes to the next waiter.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    #[track_caller]
    pub fn acquire(&self) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        self.acquire_many_at(1, Location::caller())
    }

    /// Waits for `n` permits at once. It keeps its place in the queue while it collects them,
    /// so later waiters wait behind it.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future gives back every permit it had collected (to the next
    /// waiters) and loses none.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    #[track_caller]
    pub fn acquire_many(
        &self,
        n: u32,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        self.acquire_many_at(n as usize, Location::caller())
    }

    fn acquire_many_at(
        &self,
        n: usize,
        site: &'static Location<'static>,
    ) -> impl Future<Output = Result<SemaphorePermit<'_>, AcquireError>> + '_ {
        Acquire::new(&self.core, &self.res, n, site).then(move |out| {
            out.map_err(|_| AcquireError(()))?;
            Ok(SemaphorePermit {
                sem: self,
                permits: n,
                hold: self.res.hold_shared(n),
            })
        })
    }

    /// Waits for one permit of an `Arc<Semaphore>`; the permit keeps the semaphore alive.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Semaphore::acquire`].
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    #[track_caller]
    pub fn acquire_owned(
        self: Arc<Self>,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        self.acquire_many_owned_at(1, Location::caller())
    }

    /// Waits for `n` permits of an `Arc<Semaphore>`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as [`Semaphore::acquire_many`].
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    #[track_caller]
    pub fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> impl Future<Output = Result<OwnedSemaphorePermit, AcquireError>> {
        self.acquire_many_owned_at(n as usize, Location::caller())
    }

    async fn acquire_many_owned_at(
        self: Arc<Self>,
        n: usize,
        site: &'static Location<'static>,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        Acquire::new(&self.core, &self.res, n, site)
            .await
            .map_err(|_| AcquireError(()))?;
        let hold = self.res.hold_shared(n);
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
            hold,
        })
    }

    /// Waits for one permit from code that is not async: parks the green thread (its loop runs
    /// on) or the OS thread.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread, with a message that says why.
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        park::block_on("Semaphore::blocking_acquire", self.acquire())
    }

    /// Waits for `n` permits from code that is not async (see [`Semaphore::blocking_acquire`]).
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Panics
    ///
    /// On an event-loop thread outside a green thread.
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        park::block_on("Semaphore::blocking_acquire_many", self.acquire_many(n))
    }

    /// Takes one permit if one is free and no one is queued.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    #[track_caller]
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and no one is queued.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    #[track_caller]
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let n = n as usize;
        self.try_take(n)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
            hold: self.res.hold_shared(n),
        })
    }

    /// [`Semaphore::try_acquire`] for an `Arc<Semaphore>`.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire`].
    #[track_caller]
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`Semaphore::try_acquire_many`] for an `Arc<Semaphore>`.
    ///
    /// # Errors
    ///
    /// As [`Semaphore::try_acquire_many`].
    #[track_caller]
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        let n = n as usize;
        self.try_take(n)?;
        let hold = self.res.hold_shared(n);
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
            hold,
        })
    }

    /// `n` permits for `try_acquire*`; a failure is a starvation hint's attempt (`weft::diag`).
    #[track_caller]
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let site = Location::caller();
        self.core.try_acquire(n).map_err(|e| {
            self.res.attempt_failed(site);
            e.into()
        })
    }

    /// Removes up to `n` of the available permits for good; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.core.forget(n)
    }

    /// The bookkeeping of this semaphore (for `weft::diag`).
    #[allow(dead_code)] // read by weft::diag
    pub(crate) fn resource(&self) -> &Resource {
        &self.res
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Drops the permit without giving its permits back: the semaphore has that many fewer.
    pub fn forget(mut self) {
        self.sem.res.release_shared(self.hold, self.permits);
        self.permits = 0;
    }

    /// Moves `other`'s permits into this one.
    ///
    /// # Panics
    ///
    /// If the two come from different semaphores.
    pub fn merge(&mut self, mut other: SemaphorePermit<'_>) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "weft::sync::SemaphorePermit::merge: permits from different semaphores"
        );
        self.permits += other.permits;
        other.sem.res.release_shared(other.hold, other.permits);
        other.permits = 0;
    }

    /// Splits `n` of its permits off into a new permit (recorded as held by the caller);
    /// `None`, leaving this one as it is, if it holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let hold = split_hold(&self.sem.res, self.hold, &mut self.permits, n)?;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
            hold,
        })
    }
}

/// Moves `n` of `permits` (recorded under `hold`) to a new hold; its token, or `None` if
/// there are fewer than `n`.
fn split_hold(res: &Resource, hold: HoldToken, permits: &mut usize, n: usize) -> Option<HoldToken> {
    if n > *permits {
        return None;
    }
    res.release_shared(hold, n);
    *permits -= n;
    Some(if n > 0 { res.hold_shared(n) } else { 0 })
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.res.release_shared(self.hold, self.permits);
        self.sem.core.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits come from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Drops the permit without giving its permits back.
    pub fn forget(mut self) {
        self.sem.res.release_shared(self.hold, self.permits);
        self.permits = 0;
    }

    /// Moves `other`'s permits into this one.
    ///
    /// # Panics
    ///
    /// If the two come from different semaphores.
    pub fn merge(&mut self, mut other: OwnedSemaphorePermit) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "weft::sync::OwnedSemaphorePermit::merge: permits from different semaphores"
        );
        self.permits += other.permits;
        other.sem.res.release_shared(other.hold, other.permits);
        other.permits = 0;
    }

    /// Splits `n` of its permits off into a new permit (recorded as held by the caller);
    /// `None`, leaving this one as it is, if it holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        let hold = split_hold(&self.sem.res, self.hold, &mut self.permits, n)?;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
            hold,
        })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.res.release_shared(self.hold, self.permits);
        self.sem.core.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.permits)
            .finish()
    }
}
