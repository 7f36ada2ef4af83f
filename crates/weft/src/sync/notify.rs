//! `Notify`: wake one task (keeping a permit if none waits) or every task waiting now.
//!
//! # State
//!
//! One word: the low two bits are `EMPTY`, `WAITING` (the list has waiters) or `NOTIFIED` (one
//! stored permit, no waiters); the rest counts `notify_waiters` calls. `EMPTY <-> NOTIFIED`
//! change without the lock (so `notify_one` with no waiter is one CAS); any change to or from
//! `WAITING` happens under the lock, so a waiter that queues cannot miss a notification: either
//! the notifier's CAS sees `WAITING` and takes the lock, or the waiter's CAS sees `NOTIFIED`.
//!
//! A [`Notified`] future records the `notify_waiters` count when it is created, so a
//! `notify_waiters` between creating it and polling it still completes it.

use super::trace::{Resource, ResourceKind, WaitGuard};
use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering::SeqCst};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const STATE_MASK: usize = 3;
/// One `notify_waiters` call, in the upper bits.
const CALL: usize = 4;

/// What a queued waiter was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Nothing,
    /// By `notify_one`: a permit that must be passed on if the waiter is cancelled.
    One,
    /// By `notify_waiters`.
    All,
}

/// Notifies tasks, green threads or OS threads that an event happened.
///
/// `notify_one` wakes the oldest waiter, or, if none waits, stores **one** permit that the
/// next `notified().await` takes at once (several `notify_one` calls with no waiter still store
/// one). `notify_waiters` wakes every waiter waiting at that moment (including futures created
/// by `notified()` and not yet polled) and stores nothing.
///
/// # Fairness
///
/// `notify_one` serves waiters in FIFO order (order of first poll, or of
/// [`Notified::enable`]). A stored permit goes to whichever `notified()` is polled first, so a
/// newcomer can take it before an older future that has not been polled yet.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use std::sync::Arc;
/// let notify = Arc::new(weft::sync::Notify::new());
/// let n = notify.clone();
/// let waiter = weft::spawn(async move { n.notified().await; "woken" });
/// notify.notify_one();
/// assert_eq!(waiter.await.unwrap(), "woken");
/// # });
/// ```
pub struct Notify {
    state: AtomicUsize,
    waiters: Mutex<WaitList<Told>>,
    res: Resource,
}

/// Where a [`Notified`] future is.
#[derive(Debug)]
enum Stage {
    Init,
    Waiting(WaiterKey),
    Done,
}

/// The future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    stage: Stage,
    /// `notify_waiters` calls seen at creation.
    calls: usize,
    site: &'static Location<'static>,
    wait: Option<WaitGuard>,
}

impl Notify {
    /// A `Notify` with no stored permit.
    #[track_caller]
    pub fn new() -> Notify {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(WaitList::new()),
            res: Resource::new(ResourceKind::Notify, Location::caller()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WaitList<Told>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A future that completes when this is notified: by a `notify_one` (or a stored permit)
    /// once it is polled or [enabled](Notified::enable), or by a `notify_waiters` called any
    /// time after this call.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `Notified` that had been handed a `notify_one` passes it on to
    /// the next waiter (or stores it as the permit), so no notification is lost.
    #[track_caller]
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            stage: Stage::Init,
            calls: self.state.load(SeqCst) & !STATE_MASK,
            site: Location::caller(),
            wait: None,
        }
    }

    /// Wakes the oldest waiter, or stores a permit for the next `notified()` if none waits.
    pub fn notify_one(&self) {
        let mut s = self.state.load(SeqCst);
        while s & STATE_MASK != WAITING {
            match self
                .state
                .compare_exchange(s, (s & !STATE_MASK) | NOTIFIED, SeqCst, SeqCst)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        let mut list = self.lock();
        let waker = self.notify_one_locked(&mut list);
        drop(list);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `notify_one` under the lock: hands the permit to the front waiter or stores it.
    fn notify_one_locked(&self, list: &mut WaitList<Told>) -> Option<Waker> {
        let mut s = self.state.load(SeqCst);
        while s & STATE_MASK != WAITING {
            match self
                .state
                .compare_exchange(s, (s & !STATE_MASK) | NOTIFIED, SeqCst, SeqCst)
            {
                Ok(_) => return None,
                Err(actual) => s = actual,
            }
        }
        let (key, waker) = list
            .pop_front()
            .expect("WAITING means the list has waiters");
        *list.get_mut(key) = Told::One;
        if list.is_empty() {
            // Leaving WAITING happens only under the lock, and nothing else moves the word
            // while it is WAITING.
            self.state.store((s & !STATE_MASK) | EMPTY, SeqCst);
        }
        waker
    }

    /// Wakes every waiter waiting now (and every `notified()` future created before this call
    /// that has not completed). Stores no permit.
    pub fn notify_waiters(&self) {
        let mut list = self.lock();
        let mut s = self.state.load(SeqCst);
        loop {
            let low = match s & STATE_MASK {
                WAITING => EMPTY,
                other => other,
            };
            let next = ((s & !STATE_MASK).wrapping_add(CALL)) | low;
            match self.state.compare_exchange(s, next, SeqCst, SeqCst) {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        let mut wakes = WakeBatch::new();
        while let Some((key, waker)) = list.pop_front() {
            *list.get_mut(key) = Told::All;
            wakes.push(waker);
        }
        drop(list);
        wakes.wake_all();
    }

    /// Takes a stored permit if there is one (no lock).
    fn take_permit(&self) -> bool {
        let mut s = self.state.load(SeqCst);
        while s & STATE_MASK == NOTIFIED {
            match self
                .state
                .compare_exchange(s, (s & !STATE_MASK) | EMPTY, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
        false
    }
}

impl Default for Notify {
    #[track_caller]
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(SeqCst);
        f.debug_struct("Notify")
            .field("permit_stored", &(s & STATE_MASK == NOTIFIED))
            .field("waiting", &(s & STATE_MASK == WAITING))
            .finish()
    }
}

impl Notified<'_> {
    /// Queues this future as a waiter without waiting yet, so that a `notify_one` from now on
    /// is meant for it (FIFO) even before it is polled. Returns true if it is already notified
    /// (then the next poll is ready at once).
    ///
    /// ```
    /// # let notify = weft::sync::Notify::new();
    /// let mut fut = std::pin::pin!(notify.notified());
    /// assert!(!fut.as_mut().enable());
    /// notify.notify_one();
    /// // `fut` now completes on its first poll.
    /// # assert!(fut.as_mut().enable());
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.advance(Waker::noop()).is_ready()
    }

    fn advance(&mut self, waker: &Waker) -> Poll<()> {
        let notify = self.notify;
        match self.stage {
            Stage::Done => Poll::Ready(()),
            Stage::Waiting(key) => {
                let mut list = notify.lock();
                if *list.get(key) == Told::Nothing {
                    list.set_waker(key, waker);
                    return Poll::Pending;
                }
                list.remove(key);
                self.stage = Stage::Done;
                Poll::Ready(())
            }
            Stage::Init => {
                let s = notify.state.load(SeqCst);
                if s & !STATE_MASK != self.calls || notify.take_permit() {
                    self.stage = Stage::Done;
                    return Poll::Ready(());
                }
                let mut list = notify.lock();
                let mut s = notify.state.load(SeqCst);
                loop {
                    if s & !STATE_MASK != self.calls {
                        self.stage = Stage::Done;
                        return Poll::Ready(());
                    }
                    let next = match s & STATE_MASK {
                        NOTIFIED => (s & !STATE_MASK) | EMPTY,
                        _ => (s & !STATE_MASK) | WAITING,
                    };
                    match notify.state.compare_exchange(s, next, SeqCst, SeqCst) {
                        Ok(_) if s & STATE_MASK == NOTIFIED => {
                            self.stage = Stage::Done;
                            return Poll::Ready(());
                        }
                        Ok(_) => break,
                        Err(actual) => s = actual,
                    }
                }
                self.stage = Stage::Waiting(list.push_back(Told::Nothing, waker));
                Poll::Pending
            }
        }
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let out = this.advance(cx.waker());
        if out.is_pending() {
            if this.wait.is_none() {
                this.wait = Some(this.notify.res.wait(this.site));
            }
        } else {
            this.wait = None;
        }
        out
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Stage::Waiting(key) = self.stage else {
            return;
        };
        let notify = self.notify;
        let mut list = notify.lock();
        let told = list.remove(key);
        let waker = if told == Told::One {
            notify.notify_one_locked(&mut list)
        } else {
            if list.is_empty() {
                let s = notify.state.load(SeqCst);
                if s & STATE_MASK == WAITING {
                    notify.state.store((s & !STATE_MASK) | EMPTY, SeqCst);
                }
            }
            None
        };
        drop(list);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}
