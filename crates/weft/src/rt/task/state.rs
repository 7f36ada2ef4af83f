//! The task state word and every transition on it.
//!
//! One `AtomicUsize` per task holds flags in its low bits and the reference count above them.
//! Every transition is a single atomic read-modify-write, so wakers on any thread, the task's
//! home loop and its `JoinHandle` agree on what happened without a lock.
//!
//! This module knows nothing of futures, loops or allocations: each method performs one
//! transition and says what the caller must do next (schedule, free, drop the output). That
//! keeps it small enough for the loom model checker, which compiles this very file against its
//! own atomics (`tests/loom_task_state.rs`) and explores every interleaving of a waker racing a
//! poll, an abort racing completion, and the join-waker hand-over.
//!
//! # Who may do what
//!
//! | transition           | caller                       | flags it reads / writes               |
//! |----------------------|------------------------------|---------------------------------------|
//! | `wake_by_*`          | any thread holding a waker   | sets `NOTIFIED` unless set or done    |
//! | `start_poll`         | home loop, with a queued ref | `NOTIFIED` → `RUNNING`                |
//! | `finish_pending`     | home loop, holding `RUNNING` | clears `RUNNING`, may set `OWNED`     |
//! | `complete`           | home loop, holding `RUNNING` | `RUNNING` → `COMPLETE`                |
//! | `abort`              | join handle (any thread)     | sets `CANCELLED`, may queue the task  |
//! | `drop_join_interest` | join handle                  | clears `JOIN_INTEREST`                |
//! | [`JoinWaker`]        | join handle / completing loop| `JOIN_WAKER` hands the slot over      |

use crate::loom::{AtomicUsize, Ordering::*, UnsafeCell};
use std::task::Waker;

/// Set while the task sits in a run queue or an inbox (one queued reference exists).
/// A wake of a task with this bit set does nothing: the task will be polled anyway.
pub(crate) const NOTIFIED: usize = 1 << 0;
/// Set while the home loop polls the future. Only the home loop sets it, so it is never
/// contended; other threads only read it.
pub(crate) const RUNNING: usize = 1 << 1;
/// Set once the stage holds the output (or the cancellation/panic error).
/// This flag is never cleared, and once set the future is gone.
pub(crate) const COMPLETE: usize = 1 << 2;
/// Set by `JoinHandle::abort` or runtime shutdown: the next time the home loop touches the
/// task it drops the future instead of polling it.
pub(crate) const CANCELLED: usize = 1 << 3;
/// Set while a `JoinHandle` exists. When it is clear at completion, the home loop drops the
/// output itself because nobody will read it.
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
/// Set while the join-waker slot holds the waker of whoever awaits the handle.
/// While set, only the completing loop may read the slot; while clear, only the handle may write it.
pub(crate) const JOIN_WAKER: usize = 1 << 5;
/// Set once the task is linked into its home loop's list of owned tasks (after its first
/// `Pending`). The list holds one reference; shutdown walks the list to cancel idle tasks.
pub(crate) const OWNED: usize = 1 << 6;

/// One reference in the count stored above the flags.
pub(crate) const REF_ONE: usize = 1 << 7;
/// Mask of the reference count.
pub(crate) const REF_MASK: usize = !(REF_ONE - 1);

/// A new task: queued once (the `Notified` handed to the scheduler) and joinable (the
/// `JoinHandle`), so two references.
pub(crate) const INITIAL: usize = NOTIFIED | JOIN_INTEREST | (2 * REF_ONE);

/// What the home loop does with a task it dequeued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Poll the future (`RUNNING` is now held).
    Poll,
    /// Cancel it: drop the future and complete (`RUNNING` is now held).
    Cancel,
    /// It completed while queued (shutdown cancelled it): only drop the queued reference.
    Done,
}

/// What follows a poll that returned `Pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parked {
    /// The task is idle and its queued reference is gone. If `link`, this was its first
    /// `Pending`: a reference for the owned list was added and the caller must link the task.
    Idle { link: bool },
    /// An abort arrived while it ran: `RUNNING` is still held, the caller cancels and
    /// completes, then drops the queued reference.
    Cancel,
}

/// The atomic state word of one task.
pub(crate) struct State(AtomicUsize);

impl State {
    /// The state of a task just allocated: see [`INITIAL`].
    pub(crate) fn new() -> State {
        State(AtomicUsize::new(INITIAL))
    }

    /// A snapshot (acquire).
    pub(crate) fn load(&self) -> usize {
        self.0.load(Acquire)
    }

    /// Adds a reference; the caller already holds one.
    pub(crate) fn ref_inc(&self) {
        let prev = self.0.fetch_add(REF_ONE, Relaxed);
        if prev > usize::MAX / 2 {
            // Like Arc: a count this large means leaked wakers; continuing would risk overflow.
            std::process::abort();
        }
    }

    /// Drops a reference; true if it was the last, and the caller must free the task.
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = self.0.fetch_sub(REF_ONE, AcqRel);
        debug_assert!(prev & REF_MASK != 0, "task reference count underflow");
        prev & REF_MASK == REF_ONE
    }

    /// A wake that keeps the caller's reference. True if the task must be scheduled: a new
    /// queued reference was added for it.
    pub(crate) fn wake_by_ref(&self) -> bool {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & (COMPLETE | NOTIFIED) != 0 {
                return false;
            }
            match self
                .0
                .compare_exchange_weak(cur, (cur | NOTIFIED) + REF_ONE, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// A wake that gives up the caller's reference. True if the task must be scheduled (the
    /// reference became the queued one); false if the caller must drop it ([`ref_dec`]).
    ///
    /// [`ref_dec`]: State::ref_dec
    pub(crate) fn wake_by_val(&self) -> bool {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & (COMPLETE | NOTIFIED) != 0 {
                return false;
            }
            match self
                .0
                .compare_exchange_weak(cur, cur | NOTIFIED, AcqRel, Acquire)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The home loop takes a dequeued task: `NOTIFIED` → `RUNNING`. Wakes that arrive from
    /// here on set `NOTIFIED` again and queue the task anew, so none is lost while it runs.
    pub(crate) fn start_poll(&self) -> Start {
        let mut cur = self.0.load(Acquire);
        loop {
            debug_assert!(cur & NOTIFIED != 0, "polling a task that was not queued");
            if cur & COMPLETE != 0 {
                return Start::Done;
            }
            let next = (cur & !NOTIFIED) | RUNNING;
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) if cur & CANCELLED != 0 => return Start::Cancel,
                Ok(_) => return Start::Poll,
                Err(actual) => cur = actual,
            }
        }
    }

    /// After a `Pending` poll: releases `RUNNING` and the queued reference in one step (one
    /// atomic operation per poll instead of two), and on the first `Pending` adds the owned
    /// list's reference. The queued reference is never the last one here: an idle task is in
    /// the owned list, which holds one.
    pub(crate) fn finish_pending(&self) -> Parked {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & CANCELLED != 0 {
                return Parked::Cancel;
            }
            let link = cur & OWNED == 0;
            let mut next = cur & !RUNNING;
            if link {
                next = (next | OWNED) + REF_ONE;
            }
            next -= REF_ONE;
            debug_assert!(
                next & REF_MASK != 0,
                "an idle task keeps its owned-list reference"
            );
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return Parked::Idle { link },
                Err(actual) => cur = actual,
            }
        }
    }

    /// Publishes completion, `RUNNING` → `COMPLETE`; returns the state before. The caller
    /// then: drops the output itself if `JOIN_INTEREST` was clear, else wakes the join waker
    /// if `JOIN_WAKER` was set ([`JoinWaker::wake`]); and unlinks the task if `OWNED`.
    pub(crate) fn complete(&self) -> usize {
        let prev = self.0.fetch_xor(RUNNING | COMPLETE, AcqRel);
        debug_assert!(prev & RUNNING != 0 && prev & COMPLETE == 0);
        prev
    }

    /// Marks a queued task cancelled, so that running it drops the future (shutdown).
    pub(crate) fn cancel_queued(&self) {
        self.0.fetch_or(CANCELLED, AcqRel);
    }

    /// Shutdown takes an idle task from the owned list: `RUNNING | CANCELLED` at once.
    pub(crate) fn claim_idle(&self) {
        let prev = self.0.fetch_or(RUNNING | CANCELLED, AcqRel);
        debug_assert!(prev & (RUNNING | COMPLETE) == 0, "owned tasks are idle");
    }

    /// `JoinHandle::abort`: sets `CANCELLED` unless the task is done. True if the task was
    /// idle and must be scheduled (a queued reference was added) so its loop drops it soon;
    /// a queued or running task sees the flag when its loop next touches it.
    pub(crate) fn abort(&self) -> bool {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & (COMPLETE | CANCELLED) != 0 {
                return false;
            }
            let schedule = cur & (RUNNING | NOTIFIED) == 0;
            let next = if schedule {
                (cur | CANCELLED | NOTIFIED) + REF_ONE
            } else {
                cur | CANCELLED
            };
            match self.0.compare_exchange_weak(cur, next, AcqRel, Acquire) {
                Ok(_) => return schedule,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The join handle goes away. True if the task already completed: the output is the
    /// handle's to drop. Otherwise `JOIN_INTEREST` is cleared and completion will drop it.
    pub(crate) fn drop_join_interest(&self) -> bool {
        let mut cur = self.0.load(Acquire);
        loop {
            if cur & COMPLETE != 0 {
                return true;
            }
            match self
                .0
                .compare_exchange_weak(cur, cur & !JOIN_INTEREST, AcqRel, Acquire)
            {
                Ok(_) => return false,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Clears `JOIN_WAKER` unless the task completed; `Err` if it did.
    fn take_back_join_waker(&self) -> Result<usize, usize> {
        self.0.fetch_update(AcqRel, Acquire, |s| {
            (s & COMPLETE == 0).then_some(s & !JOIN_WAKER)
        })
    }

    /// Sets `JOIN_WAKER` unless the task completed; `Err` if it did.
    fn hand_over_join_waker(&self) -> Result<usize, usize> {
        self.0.fetch_update(AcqRel, Acquire, |s| {
            (s & COMPLETE == 0).then_some(s | JOIN_WAKER)
        })
    }
}

/// The slot for the waker of whoever awaits the join handle, handed between the handle and
/// the completing loop by the `JOIN_WAKER` flag of the same task's [`State`].
pub(crate) struct JoinWaker(UnsafeCell<Option<Waker>>);

// SAFETY: the slot is shared between the join handle and the completing loop, and the
// `JOIN_WAKER` flag decides which of them may touch it: the handle writes only while the flag is
// clear, the loop reads only once it published completion with the flag set. Concurrent reads
// (the handle's `will_wake` check, the loop's wake) are fine: `Waker` is `Sync`.
unsafe impl Sync for JoinWaker {}

impl JoinWaker {
    /// An empty slot.
    pub(crate) fn new() -> JoinWaker {
        JoinWaker(UnsafeCell::new(None))
    }

    /// The handle's side. True if the output is ready; otherwise `waker` is left in the slot
    /// (replacing an older one unless it would wake the same task) for completion to wake.
    ///
    /// # Safety
    /// Only the task's one join handle calls this, never concurrently with itself, and
    /// `state` is the state of the task this slot belongs to.
    pub(crate) unsafe fn register(&self, state: &State, waker: &Waker) -> bool {
        let cur = state.load();
        if cur & COMPLETE != 0 {
            return true;
        }
        if cur & JOIN_WAKER != 0 {
            // SAFETY: JOIN_WAKER is set, so the slot holds a waker that only the handle (the
            // caller) replaces; the completing loop may read it at the same time, which is fine.
            let same = self.0.with(|slot| {
                unsafe { &*slot }
                    .as_ref()
                    .is_some_and(|w| w.will_wake(waker))
            });
            if same {
                return false;
            }
            // Take the slot back before replacing the waker.
            if state.take_back_join_waker().is_err() {
                return true;
            }
        }
        // SAFETY: JOIN_WAKER is clear, so the completing loop will not read the slot, and only
        // the handle (the caller) writes it.
        self.0
            .with_mut(|slot| unsafe { *slot = Some(waker.clone()) });
        state.hand_over_join_waker().is_err()
    }

    /// The completing loop's side: wakes the registered waker.
    ///
    /// # Safety
    /// The caller completed the task ([`State::complete`]) and `JOIN_WAKER` was set in the
    /// state it returned: the handle no longer writes the slot.
    pub(crate) unsafe fn wake(&self) {
        // SAFETY: per the contract, reading the slot is exclusive of any write.
        self.0.with(|slot| {
            if let Some(waker) = unsafe { &*slot } {
                waker.wake_by_ref();
            }
        });
    }
}
