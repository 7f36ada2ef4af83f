//! The batch semaphore's state machine: the core of `Semaphore`, `Mutex` and `RwLock`.
//!
//! Kept free of everything but `crate::loom` and [`super::waiters`], so that
//! `tests/loom_sync_semaphore.rs` compiles this very file against loom's types.
//!
//! # State
//!
//! One word, `state = permits << SHIFT | WAITERS | CLOSED`, and a FIFO [`WaitList`] of waiters
//! behind a lock. Invariant, under the lock: `WAITERS` is set exactly when the list is
//! non-empty (set by the first waiter as it queues, cleared by whoever empties the list).
//!
//! - **Fast acquire**: one CAS taking `n` permits, allowed only when `WAITERS` and `CLOSED` are
//!   clear, so a newcomer never overtakes a queued waiter (no barging).
//! - **Fast release**: one `fetch_add`. If the old word had `WAITERS`, the releaser takes the
//!   lock and *dispatches*: permits in the word are moved to the front waiter (partially, if it
//!   needs more than there are), and each waiter fully served is unlinked and woken.
//! - **Slow acquire** (under the lock): if no one is queued and enough permits are there, take
//!   them; otherwise take what there is, set `WAITERS` (one CAS, so a concurrent release either
//!   is seen by it or sees `WAITERS`: no lost wake-up), and queue.
//! - **Cancel** (a waiting future dropped): free the slot, give back whatever it had been
//!   assigned (all of it if it had been served), and dispatch, so a grant is passed on.
//! - **Close**: set `CLOSED`, unlink every waiter marked closed; each gives back its partial
//!   permits when it collects the error.

use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering};
use std::task::{Context, Poll};

pub(super) const CLOSED: usize = 1;
const WAITERS: usize = 2;
pub(super) const SHIFT: u32 = 2;

/// The most permits a semaphore holds: the word keeps two flag bits, and one more bit of
/// headroom lets an overflowing `add_permits` be detected before it wraps.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

/// What one queued waiter still needs and has been assigned.
#[derive(Debug)]
pub(super) struct Need {
    remaining: usize,
    acquired: usize,
    closed: bool,
}

/// Why a non-waiting acquisition failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryAcquire {
    /// The semaphore is closed.
    Closed,
    /// Not enough permits (or others are queued ahead).
    NoPermits,
}

/// The semaphore was closed while (or before) waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// The batch semaphore; see the module doc.
#[derive(Debug)]
pub(crate) struct Core {
    // Visible to the wrappers for their `const fn` constructors (`Semaphore::const_new` ...),
    // which cannot live here: loom's `Mutex::new`, which this file is compiled against in the
    // models, is not `const`.
    pub(super) state: AtomicUsize,
    pub(super) waiters: Mutex<WaitList<Need>>,
}

impl Core {
    /// A semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`MAX_PERMITS`].
    #[track_caller]
    pub(crate) fn new(permits: usize) -> Core {
        assert!(
            permits <= MAX_PERMITS,
            "weft::sync::Semaphore: {permits} permits exceed MAX_PERMITS ({MAX_PERMITS})"
        );
        Core {
            state: AtomicUsize::new(permits << SHIFT),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WaitList<Need>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Permits in the word right now (not yet assigned to a waiter).
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> SHIFT
    }

    /// True once [`Core::close`] ran.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `n` permits if they are there and no one is queued: one CAS when uncontended.
    #[inline]
    pub(crate) fn try_acquire(&self, n: usize) -> Result<(), TryAcquire> {
        let need = n << SHIFT;
        // Guess the common uncontended word first, so the fast path is one RMW. Acquire (on
        // the load and a failed CAS): a `Closed` returned from a word read here must be ordered
        // after what the closer did before `close` (OnceCell writes its value, then closes);
        // found by tests/loom_sync_once_cell.rs.
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & CLOSED != 0 {
                return Err(TryAcquire::Closed);
            }
            if s & WAITERS != 0 || s < need {
                return Err(TryAcquire::NoPermits);
            }
            match self.state.compare_exchange_weak(
                s,
                s - need,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    /// Removes up to `n` permits from the word for good (queued waiters or not); returns how
    /// many.
    pub(crate) fn forget(&self, n: usize) -> usize {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let take = (s >> SHIFT).min(n);
            if take == 0 {
                return 0;
            }
            match self.state.compare_exchange_weak(
                s,
                s - (take << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return take,
                Err(actual) => s = actual,
            }
        }
    }

    /// Gives back `n` permits: one `fetch_add`, plus a dispatch under the lock if someone waits.
    ///
    /// # Panics
    ///
    /// If the total would exceed [`MAX_PERMITS`].
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        if n > MAX_PERMITS {
            // Checked before shifting, which would overflow.
            panic!("weft::sync::Semaphore: adding {n} permits exceeds MAX_PERMITS ({MAX_PERMITS})");
        }
        let prev = self.state.fetch_add(n << SHIFT, Ordering::AcqRel);
        if (prev >> SHIFT) + n > MAX_PERMITS {
            self.state.fetch_sub(n << SHIFT, Ordering::AcqRel);
            panic!("weft::sync::Semaphore: adding {n} permits exceeds MAX_PERMITS ({MAX_PERMITS})");
        }
        if prev & WAITERS != 0 {
            self.dispatch(self.lock());
        }
    }

    /// Moves permits in the word to the front waiters, FIFO; wakes the ones fully served;
    /// clears `WAITERS` if the list empties. Releases the lock, then wakes.
    #[inline(never)]
    fn dispatch(&self, mut list: MutexGuard<'_, WaitList<Need>>) {
        let mut wakes = WakeBatch::new();
        loop {
            let Some((key, need)) = list.front_mut() else {
                self.state.fetch_and(!WAITERS, Ordering::Release);
                break;
            };
            let mut s = self.state.load(Ordering::Acquire);
            loop {
                let take = (s >> SHIFT).min(need.remaining);
                if take == 0 {
                    break;
                }
                match self.state.compare_exchange_weak(
                    s,
                    s - (take << SHIFT),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => {
                        need.remaining -= take;
                        need.acquired += take;
                        break;
                    }
                    Err(actual) => s = actual,
                }
            }
            if need.remaining > 0 {
                break;
            }
            wakes.push(list.unlink(key));
        }
        drop(list);
        wakes.wake_all();
    }

    /// Closes the semaphore: no more acquisitions; every queued waiter is woken with an error.
    pub(crate) fn close(&self) {
        let mut list = self.lock();
        self.state.fetch_or(CLOSED, Ordering::Release);
        let mut wakes = WakeBatch::new();
        while let Some((key, waker)) = list.pop_front() {
            list.get_mut(key).closed = true;
            wakes.push(waker);
        }
        self.state.fetch_and(!WAITERS, Ordering::Release);
        drop(list);
        wakes.wake_all();
    }
}

/// One acquisition of `n` permits in progress: the state a waiting future keeps. Poll it with
/// [`Waiter::poll`]; a future that is dropped before `Ready` must call [`Waiter::cancel`].
#[derive(Debug)]
pub(crate) struct Waiter {
    n: usize,
    key: Option<WaiterKey>,
}

impl Waiter {
    /// An acquisition of `n` permits, not yet polled.
    pub(crate) const fn new(n: usize) -> Waiter {
        Waiter { n, key: None }
    }

    /// True while queued in the list (polled, got `Pending`, not yet ready or cancelled).
    pub(crate) fn is_queued(&self) -> bool {
        self.key.is_some()
    }

    /// Advances the acquisition: the fast path first, then queueing; on a later poll, checks
    /// for the grant and refreshes the waker.
    #[inline]
    pub(crate) fn poll(&mut self, core: &Core, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        let Some(key) = self.key else {
            // The fast path, inlined into the caller's future.
            if self.n > 0 && core.try_acquire(self.n).is_ok() {
                return Poll::Ready(Ok(()));
            }
            return self.first_poll(core, cx);
        };
        let mut list = core.lock();
        if list.is_queued(key) {
            list.set_waker(key, cx.waker());
            return Poll::Pending;
        }
        let need = list.remove(key);
        self.key = None;
        if need.closed {
            // Give back what was assigned before the close.
            if need.acquired > 0 {
                core.state
                    .fetch_add(need.acquired << SHIFT, Ordering::AcqRel);
            }
            core.dispatch(list);
            return Poll::Ready(Err(Closed));
        }
        Poll::Ready(Ok(()))
    }

    #[inline(never)]
    fn first_poll(&mut self, core: &Core, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        if self.n == 0 {
            return Poll::Ready(if core.is_closed() {
                Err(Closed)
            } else {
                Ok(())
            });
        }
        match core.try_acquire(self.n) {
            Ok(()) => return Poll::Ready(Ok(())),
            Err(TryAcquire::Closed) => return Poll::Ready(Err(Closed)),
            Err(TryAcquire::NoPermits) => {}
        }
        let mut list = core.lock();
        let mut s = core.state.load(Ordering::Acquire);
        let acquired = loop {
            if s & CLOSED != 0 {
                return Poll::Ready(Err(Closed));
            }
            if s & WAITERS != 0 {
                // Others are queued: line up behind them, taking nothing.
                break 0;
            }
            let avail = s >> SHIFT;
            let (next, took) = if avail >= self.n {
                (s - (self.n << SHIFT), self.n)
            } else {
                ((s & CLOSED) | WAITERS, avail)
            };
            match core
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if took == self.n => return Poll::Ready(Ok(())),
                Ok(_) => break took,
                Err(actual) => s = actual,
            }
        };
        let need = Need {
            remaining: self.n - acquired,
            acquired,
            closed: false,
        };
        self.key = Some(list.push_back(need, cx.waker()));
        Poll::Pending
    }

    /// Ends a queued acquisition whose future was dropped: gives back what it had been assigned
    /// (everything, if it was served but not yet polled) and passes it on to the next waiters.
    pub(crate) fn cancel(&mut self, core: &Core) {
        let Some(key) = self.key.take() else { return };
        let mut list = core.lock();
        let need = list.remove(key);
        if need.acquired > 0 {
            core.state
                .fetch_add(need.acquired << SHIFT, Ordering::AcqRel);
        }
        core.dispatch(list);
    }
}
