//! `Notify`'s state machine: the state word and the FIFO waiter list, and one waiter's steps.
//!
//! Kept free of everything but `crate::loom` and [`super::waiters`], so that
//! `tests/loom_sync_notify.rs` compiles this very file against loom's types.
//!
//! # State
//!
//! One word: the low two bits are `EMPTY`, `WAITING` (the list has waiters) or `NOTIFIED` (one
//! stored permit, no waiters); the rest counts `notify_waiters` calls. `EMPTY <-> NOTIFIED`
//! change without the lock (so `notify_one` with no waiter is one CAS); any change to or from
//! `WAITING` happens under the lock, so a waiter that queues cannot miss a notification: either
//! the notifier's CAS sees `WAITING` and takes the lock, or the waiter's CAS sees `NOTIFIED`.
//!
//! A [`Waiter`] records the `notify_waiters` count when it is created, so a `notify_waiters`
//! between creating it and polling it still completes it.

use super::waiters::{WaitList, WaiterKey, WakeBatch};
use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering::SeqCst};
use std::task::{Poll, Waker};

pub(super) const EMPTY: usize = 0;
const WAITING: usize = 1;
const NOTIFIED: usize = 2;
const STATE_MASK: usize = 3;
/// One `notify_waiters` call, in the upper bits.
const CALL: usize = 4;

/// What a queued waiter was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Told {
    Nothing,
    /// By `notify_one`: a permit that must be passed on if the waiter is cancelled.
    One,
    /// By `notify_waiters`.
    All,
}

/// The shared state of one `Notify`; see the module doc.
#[derive(Debug)]
pub(crate) struct State {
    // Visible to `Notify::const_new` (loom's `Mutex::new`, which this file is compiled against
    // in the model, is not `const`).
    pub(super) state: AtomicUsize,
    pub(super) waiters: Mutex<WaitList<Told>>,
}

/// Where a [`Waiter`] is.
#[derive(Debug)]
enum Stage {
    Init,
    Waiting(WaiterKey),
    Done,
}

/// One `notified()` in progress: advance it with [`Waiter::advance`]; one dropped while
/// waiting must call [`Waiter::cancel`].
#[derive(Debug)]
pub(crate) struct Waiter {
    stage: Stage,
    /// `notify_waiters` calls seen at creation.
    calls: usize,
}

impl State {
    /// No stored permit, no waiter.
    pub(crate) fn new() -> State {
        State {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// True while a `notify_one` permit is stored.
    pub(crate) fn permit_stored(&self) -> bool {
        self.state.load(SeqCst) & STATE_MASK == NOTIFIED
    }

    /// True while some waiter is queued.
    pub(crate) fn has_waiters(&self) -> bool {
        self.state.load(SeqCst) & STATE_MASK == WAITING
    }

    fn lock(&self) -> MutexGuard<'_, WaitList<Told>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the oldest waiter, or stores a permit for the next `notified()` if none waits.
    pub(crate) fn notify_one(&self) {
        self.notify(false);
    }

    /// Wakes the newest waiter, or stores a permit as `notify_one` does if none waits.
    pub(crate) fn notify_last(&self) {
        self.notify(true);
    }

    /// `notify_one` (`newest` false) or `notify_last` (true).
    fn notify(&self, newest: bool) {
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
        let waker = self.notify_locked(&mut list, newest);
        drop(list);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `notify_one` under the lock: hands the permit to the front waiter or stores it.
    fn notify_one_locked(&self, list: &mut WaitList<Told>) -> Option<Waker> {
        self.notify_locked(list, false)
    }

    /// Hands the permit to the front waiter (the back one if `newest`) or stores it.
    fn notify_locked(&self, list: &mut WaitList<Told>, newest: bool) -> Option<Waker> {
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
        let popped = if newest {
            list.pop_back()
        } else {
            list.pop_front()
        };
        let (key, waker) = popped.expect("WAITING means the list has waiters");
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
    pub(crate) fn notify_waiters(&self) {
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

impl Waiter {
    /// A waiter created now (it sees `notify_waiters` calls from now on).
    pub(crate) fn new(notify: &State) -> Waiter {
        Waiter {
            stage: Stage::Init,
            calls: notify.state.load(SeqCst) & !STATE_MASK,
        }
    }

    /// True while queued in the list.
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self.stage, Stage::Waiting(_))
    }

    /// Takes a stored permit or a notification meant for it, or queues (FIFO) with `waker`.
    pub(crate) fn advance(&mut self, notify: &State, waker: &Waker) -> Poll<()> {
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

    /// Ends a wait whose future was dropped; a notification it had been handed but not yet
    /// seen goes on to the next waiter (or becomes the stored permit).
    pub(crate) fn cancel(&mut self, notify: &State) {
        let Stage::Waiting(key) = self.stage else {
            return;
        };
        self.stage = Stage::Done;
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
