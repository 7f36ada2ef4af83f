//! `set_timeout` / `set_interval`: callbacks at a time, as in Node.
//!
//! # Roles
//!
//! - `TimerQueue`: this loop's pending callback timers, ordered by
//!   (deadline, creation order). One per loop thread, in a thread-local,
//!   created on first use.
//! - `TimerDriver`: one local task per loop that sleeps until the earliest
//!   deadline (on the loop's timer wheel), then runs every due callback in
//!   order. Spawned with the queue; woken when a timer earlier than the one
//!   it sleeps for is added.
//!
//! Ordering guarantee: callbacks run in deadline order, and timers with the
//! same deadline in the order they were set — independent of how the timer
//! wheel orders its own wakes, because one task runs them all from one
//! ordered queue. A callback never runs before its deadline, nor inside the
//! `set_timeout` call that registered it (even with a delay of 0).
//!
//! # States of a timer
//!
//! pending (in the queue) → running (its callback taken out of the queue
//! while it runs, so it can set and clear timers, itself included) → gone
//! (a timeout) or pending again (an interval not cleared while running).
//! `clear_*` removes a pending timer, or marks a running interval so that
//! it is not re-armed.
//!
//! # Interval drift
//!
//! An interval's next deadline is its previous deadline plus its period, so
//! it does not drift with the callback's run time; if the loop fell more
//! than a period behind, the missed ticks are skipped (the next deadline is
//! a period from now), never run in a burst.
//!
//! # Errors and shutdown
//!
//! A panicking callback is caught and logged (`tracing` at error level);
//! the driver and the other timers carry on, and a panicking interval is
//! cleared. When the runtime shuts down, the driver task is dropped: pending
//! callbacks are dropped without running, and the queue is removed from the
//! thread so that a later runtime on the same thread starts afresh.

use crate::loom::{AtomicU64, Ordering};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::handles::{expect_loop, Ref};
use crate::time::Sleep;

/// At most this many callbacks run per poll of the driver before it yields
/// to the loop, so a burst of due timers cannot starve I/O and other tasks.
/// 64: large enough that a tick's worth of timers usually runs in one go,
/// small enough to bound one poll; arbitrary within that range.
const CALLBACKS_PER_POLL: usize = 64;

/// Identifies a timer, to clear it. Unique within the process, so clearing
/// a timer on a loop other than the one that set it finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

/// Source of [`TimerId`]s; also orders timers with equal deadlines.
static NEXT_TIMER_ID: AtomicU64 = AtomicU64::new(0);

enum Callback {
    Once(Box<dyn FnOnce()>),
    Every(Duration, Box<dyn FnMut()>),
}

struct Timer {
    deadline: Instant,
    /// `None` while the callback is running (taken out of the queue).
    callback: Option<Callback>,
    /// Set by `clear_*` while the callback is running.
    cleared: bool,
    /// An interval (re-armed after each run) rather than a timeout.
    repeats: bool,
    /// Keeps `callback::run` going while the timer is pending or running.
    _handle: Ref,
}

/// This loop's pending timers.
#[derive(Default)]
struct TimerQueue {
    /// (deadline, id) → nothing: the run order. Ids grow with creation
    /// time, so equal deadlines run in creation order.
    order: BTreeMap<(Instant, TimerId), ()>,
    timers: HashMap<TimerId, Timer>,
    /// The driver's waker, once it has been polled.
    driver: Option<Waker>,
}

impl TimerQueue {
    fn insert(&mut self, id: TimerId, deadline: Instant, callback: Callback) {
        let earliest = self.order.keys().next().map(|&(d, _)| d);
        self.order.insert((deadline, id), ());
        let repeats = matches!(callback, Callback::Every(..));
        self.timers.insert(
            id,
            Timer {
                deadline,
                callback: Some(callback),
                cleared: false,
                repeats,
                _handle: Ref::new(),
            },
        );
        if earliest.is_none_or(|e| deadline < e) {
            if let Some(driver) = &self.driver {
                driver.wake_by_ref();
            }
        }
    }

    fn clear(&mut self, id: TimerId) -> bool {
        match self.timers.get_mut(&id) {
            Some(timer) if timer.callback.is_none() => {
                // Running now: an interval is not re-armed afterwards; a
                // running timeout is no longer pending.
                let was_active = timer.repeats && !timer.cleared;
                timer.cleared = true;
                was_active
            }
            Some(timer) => {
                let key = (timer.deadline, id);
                self.order.remove(&key);
                self.timers.remove(&id);
                true
            }
            None => false,
        }
    }

    /// Takes the next callback due at `now`, leaving its timer in the
    /// running state.
    fn take_due(&mut self, now: Instant) -> Option<(TimerId, Callback)> {
        let (&(deadline, id), ()) = self.order.first_key_value()?;
        if deadline > now {
            return None;
        }
        self.order.remove(&(deadline, id));
        let timer = self.timers.get_mut(&id)?;
        let callback = timer.callback.take()?;
        Some((id, callback))
    }

    /// Puts a callback that just ran back: a timeout is gone, an interval
    /// is re-armed unless it was cleared while running.
    fn finish(&mut self, id: TimerId, rearm: Option<(Duration, Box<dyn FnMut()>)>, now: Instant) {
        let Some(timer) = self.timers.remove(&id) else {
            return;
        };
        if let (false, Some((period, callback))) = (timer.cleared, rearm) {
            let mut deadline = timer.deadline + period;
            if deadline <= now {
                deadline = now + period;
            }
            self.order.insert((deadline, id), ());
            self.timers.insert(
                id,
                Timer {
                    deadline,
                    callback: Some(Callback::Every(period, callback)),
                    cleared: false,
                    repeats: true,
                    _handle: timer._handle,
                },
            );
        }
    }

    fn earliest(&self) -> Option<Instant> {
        self.order.keys().next().map(|&(d, _)| d)
    }
}

thread_local! {
    /// This thread's timer queue, while its driver task lives.
    static QUEUE: RefCell<Option<Rc<RefCell<TimerQueue>>>> = const { RefCell::new(None) };
}

/// This loop's queue, creating it and spawning its driver on first use.
fn queue() -> Rc<RefCell<TimerQueue>> {
    if let Some(q) = QUEUE.with(|q| q.borrow().clone()) {
        return q;
    }
    let q = Rc::new(RefCell::new(TimerQueue::default()));
    // Spawn first: outside a loop this panics before any state is kept.
    crate::task::spawn_local(TimerDriver {
        queue: Rc::clone(&q),
        sleep: None,
    })
    .detach();
    QUEUE.with(|slot| *slot.borrow_mut() = Some(Rc::clone(&q)));
    q
}

/// Runs the due callbacks of one loop's queue (see the module doc).
struct TimerDriver {
    queue: Rc<RefCell<TimerQueue>>,
    /// The sleep for the earliest deadline, and that deadline.
    sleep: Option<(Instant, Pin<Box<Sleep>>)>,
}

impl TimerDriver {
    /// Runs one callback outside any borrow of the queue; returns it (if an
    /// interval that did not panic) to be re-armed.
    fn run(id: TimerId, callback: Callback) -> Option<(Duration, Box<dyn FnMut()>)> {
        match callback {
            Callback::Once(f) => {
                if let Err(panic) = panic::catch_unwind(AssertUnwindSafe(f)) {
                    log_panic(id, &*panic);
                }
                None
            }
            Callback::Every(period, mut f) => match panic::catch_unwind(AssertUnwindSafe(&mut f)) {
                Ok(()) => Some((period, f)),
                Err(panic) => {
                    log_panic(id, &*panic);
                    None
                }
            },
        }
    }
}

fn log_panic(id: TimerId, panic: &(dyn std::any::Any + Send)) {
    let msg = crate::panic_payload::describe(panic);
    tracing::error!(
        timer = id.0,
        panic = msg,
        "timer callback panicked; timer cleared"
    );
}

impl Future for TimerDriver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut ran = 0;
        loop {
            let now = Instant::now();
            while ran < CALLBACKS_PER_POLL {
                let due = this.queue.borrow_mut().take_due(now);
                let Some((id, callback)) = due else { break };
                let rearm = Self::run(id, callback);
                this.queue.borrow_mut().finish(id, rearm, now);
                ran += 1;
            }
            if ran == CALLBACKS_PER_POLL {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let earliest = {
                let mut queue = this.queue.borrow_mut();
                if !queue
                    .driver
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    queue.driver = Some(cx.waker().clone());
                }
                queue.earliest()
            };
            let Some(deadline) = earliest else {
                this.sleep = None;
                return Poll::Pending;
            };
            if this.sleep.as_ref().is_none_or(|(d, _)| *d != deadline) {
                this.sleep = Some((deadline, Box::pin(crate::time::sleep_until(deadline))));
            }
            let (_, sleep) = this.sleep.as_mut().expect("armed just above");
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.sleep = None;
        }
    }
}

impl Drop for TimerDriver {
    fn drop(&mut self) {
        // Shutdown: forget this loop's queue so a later runtime on this
        // thread starts a new one. Callbacks are dropped outside any borrow.
        let _ = QUEUE.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.as_ref().is_some_and(|q| Rc::ptr_eq(q, &self.queue)) {
                *slot = None;
            }
        });
        let pending = std::mem::take(&mut *self.queue.borrow_mut());
        drop(pending);
    }
}

impl fmt::Debug for TimerDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerDriver").finish_non_exhaustive()
    }
}

fn new_id() -> TimerId {
    // Relaxed: only uniqueness and per-thread monotonicity are needed.
    TimerId(NEXT_TIMER_ID.fetch_add(1, Ordering::Relaxed))
}

/// Runs `callback` once, `ms` milliseconds from now, on this loop.
///
/// Timers with the same deadline run in the order they were set. A delay
/// of 0 runs the callback on a later turn of the loop, never inside this
/// call. Resolution is that of the loop's timer wheel (1 ms).
///
/// # Panics
///
/// Outside an event loop.
pub fn set_timeout(ms: u64, callback: impl FnOnce() + 'static) -> TimerId {
    expect_loop("set_timeout");
    let id = new_id();
    let deadline = Instant::now() + Duration::from_millis(ms);
    queue()
        .borrow_mut()
        .insert(id, deadline, Callback::Once(Box::new(callback)));
    id
}

/// Runs `callback` every `ms` milliseconds (at least 1) on this loop, first
/// `ms` from now, until cleared with [`clear_interval`].
///
/// # Panics
///
/// Outside an event loop.
pub fn set_interval(ms: u64, callback: impl FnMut() + 'static) -> TimerId {
    expect_loop("set_interval");
    // A zero period would re-arm into the same turn forever; Node also
    // raises it to 1 ms.
    let period = Duration::from_millis(ms.max(1));
    let id = new_id();
    let deadline = Instant::now() + period;
    queue()
        .borrow_mut()
        .insert(id, deadline, Callback::Every(period, Box::new(callback)));
    id
}

/// Cancels a timeout that has not run yet; returns whether it was pending.
/// Clearing a timer that already ran, was cleared, or belongs to another
/// loop does nothing and returns `false`.
pub fn clear_timeout(id: TimerId) -> bool {
    QUEUE
        .with(|q| q.borrow().clone())
        .is_some_and(|q| q.borrow_mut().clear(id))
}

/// Cancels an interval; it does not run again (also when cleared from its
/// own callback). Returns whether it was active.
pub fn clear_interval(id: TimerId) -> bool {
    clear_timeout(id)
}
