//! One event loop: the thread-confined core of the runtime.
//!
//! # One turn
//!
//! ```text
//! loop {
//!     run ready tasks, one poll each, in FIFO order         // never block here
//!     every MAINTENANCE_INTERVAL polls, and whenever the queue runs dry:
//!         drain the inbox (tasks woken or spawned elsewhere, closures)
//!         fire expired timers (the wheel)
//!         epoll_wait: timeout 0 if work is ready, else until the next timer
//!         turn readiness into wake-ups; free released I/O sources
//! }
//! ```
//!
//! # Fairness promise
//!
//! Ready tasks run in the order they were woken; a task that yields (or is made to yield by its
//! cooperative budget, see [`coop`](super::coop)) goes to the back of the queue. However many
//! tasks stay ready, the loop looks at I/O, timers and its inbox at least once every
//! [`MAINTENANCE_INTERVAL`] task polls, so a busy task delays a due timer or a ready socket by
//! at most that many polls, never indefinitely.
//!
//! # Shutdown steps, in order
//!
//! 1. Close the inbox: later messages are refused (a refused never-polled task is cancelled by
//!    whoever posted it; a refused wake of an idle task is dropped, the task is cancelled in 2).
//! 2. Cancel every task: the ones in the inbox, the ready queue and the owned list (idle
//!    tasks). Their futures are dropped here, on their own thread, so destructors run; a
//!    destructor that spawns or wakes more work is handled by repeating until all are empty.
//! 3. Drop the timer wheel's wakers.
//! 4. Free the I/O sources released by the dropped futures. The epoll and eventfd descriptors
//!    close when the last reference to the loop's shared part goes.

use crate::loom::{Arc, AtomicBool, Ordering::*};
use crate::rt::reactor::IoSource;
use crate::rt::task::{raw, Notified, OwnedTasks};
use crate::rt::wheel::{TimerKey, TimerWheel, TICK_NANOS};
use crate::rt::{coop, LoopShared, Message, RuntimeShared, NOTIFIER_TOKEN};
use crate::sys::Events;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Task polls between two looks at I/O, timers and the inbox while tasks stay ready. The
/// number is fairly arbitrary (tokio uses 61 for the same purpose): small enough that a
/// socket or timer waits at most a few dozen polls, large enough that an `epoll_wait(0)`
/// syscall is amortised over many polls.
pub(crate) const MAINTENANCE_INTERVAL: u32 = 61;

/// Events taken from epoll per wait. More are left in the kernel's ready list for the next
/// wait, so this only bounds one batch; 1024 keeps a busy loop at one syscall per ~1000 events.
const EVENTS_PER_WAIT: usize = 1024;

/// The thread-confined state of one loop.
pub(crate) struct LoopCore {
    pub(crate) shared: Arc<LoopShared>,
    pub(crate) runtime: Arc<RuntimeShared>,
    ready: RefCell<VecDeque<Notified>>,
    pub(crate) owned: OwnedTasks,
    pub(crate) timers: RefCell<TimerWheel>,
    origin: Instant,
    events: RefCell<Events>,
    inbox_buf: RefCell<Vec<Message>>,
    fired: RefCell<Vec<Waker>>,
    polls_since_maintenance: Cell<u32>,
    /// The loop's notion of now (`weft::time::now`): read at most once per
    /// maintenance (by the timers, or by the first caller), forgotten at the next.
    now: Cell<Option<Instant>>,
    /// `now` as `sync::trace` stamps it (nanoseconds since its epoch), converted at most once
    /// per `now`; 0 until then (see [`LoopCore::stamp_ns`]).
    stamp_ns: Cell<u64>,
    /// The loop's clock, pausable for tests (`weft::time::pause`).
    pub(crate) clock: crate::time::pause::Clock,
}

impl std::fmt::Debug for LoopCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopCore")
            .field("id", &self.shared.id)
            .field("ready", &self.ready.borrow().len())
            .field("owned", &self.owned.len())
            .finish()
    }
}

/// Wakes `block_on`'s future: sets a flag and, from another thread, wakes the loop.
struct MainWaker {
    woken: AtomicBool,
    shared: Arc<LoopShared>,
}

impl Wake for MainWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        // Release: the fence in `unpark` orders this store before its look at the loop's
        // sleep flag (the sleep gate's handshake); the loop's swap acquires it.
        self.woken.store(true, Release);
        self.shared.unpark();
    }
}

impl LoopCore {
    pub(crate) fn new(shared: Arc<LoopShared>, runtime: Arc<RuntimeShared>) -> LoopCore {
        LoopCore {
            shared,
            runtime,
            ready: RefCell::new(VecDeque::with_capacity(256)),
            owned: OwnedTasks::default(),
            timers: RefCell::new(TimerWheel::new()),
            origin: Instant::now(),
            events: RefCell::new(Events::with_capacity(EVENTS_PER_WAIT)),
            inbox_buf: RefCell::new(Vec::new()),
            fired: RefCell::new(Vec::new()),
            polls_since_maintenance: Cell::new(0),
            now: Cell::new(None),
            stamp_ns: Cell::new(0),
            clock: Default::default(),
        }
    }

    /// Queues a task to be polled on this loop.
    pub(crate) fn push_ready(&self, task: Notified) {
        self.ready.borrow_mut().push_back(task);
    }

    /// Calls `f` with every task of this loop that is queued (`true`) or idle in the owned list
    /// (`false`); a queued task that is also owned is given once, as queued. For dumps.
    pub(crate) fn for_each_task(&self, f: &mut dyn FnMut(&crate::rt::task::Header, bool)) {
        let ready = self.ready.borrow();
        let queued: std::collections::HashSet<*const crate::rt::task::Header> =
            ready.iter().map(|t| t.header() as *const _).collect();
        for task in ready.iter() {
            f(task.header(), true);
        }
        self.owned.for_each(&mut |header| {
            if !queued.contains(&(header as *const _)) {
                f(header, false);
            }
        });
    }

    /// Converts a deadline to wheel ticks, rounding up so timers never fire early.
    fn tick_of(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.origin);
        since.as_nanos().div_ceil(TICK_NANOS) as u64
    }

    fn now_tick(&self, now: Instant) -> u64 {
        (now.saturating_duration_since(self.origin).as_nanos() / TICK_NANOS) as u64
    }

    /// Files a timer; `None` if the deadline already passed.
    pub(crate) fn timer_insert(&self, deadline: Instant, waker: &Waker) -> Option<TimerKey> {
        let when = self.tick_of(deadline);
        let mut timers = self.timers.borrow_mut();
        if when <= timers.elapsed() {
            // The wheel may lag behind the clock; ask the clock before refusing.
            if self.clock.now() >= deadline {
                return None;
            }
        }
        let when = when.max(timers.elapsed() + 1);
        timers.insert(when, waker.clone())
    }

    /// The instant of the wheel's next expiration, if a timer waits.
    pub(crate) fn next_timer_deadline(&self) -> Option<Instant> {
        let tick = self.timers.borrow().next_expiration()?;
        Some(self.origin + Duration::from_nanos(tick * TICK_NANOS as u64))
    }

    /// Whether tasks are queued to run.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.borrow().is_empty()
    }

    /// Whether tasks are queued or a timer is due by the loop's clock (for `time::advance`).
    pub(crate) fn has_ready_or_due(&self) -> bool {
        !self.ready.borrow().is_empty()
            || self
                .next_timer_deadline()
                .is_some_and(|at| at <= self.clock.now())
    }

    /// Drives `future` to completion on this thread, running the loop meanwhile.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        let main = std::sync::Arc::new(MainWaker {
            woken: AtomicBool::new(true),
            shared: self.shared.clone(),
        });
        let waker = Waker::from(main.clone());
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        loop {
            if main.woken.swap(false, SeqCst) {
                coop::reset();
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
                self.count_poll();
            }
            self.turn(&|| main.woken.load(SeqCst));
        }
    }

    /// Runs until the runtime asks this loop to stop.
    pub(crate) fn run_until_stopped(&self) {
        let stop = || self.shared.stop.load(SeqCst);
        while !stop() {
            self.turn(&stop);
        }
    }

    fn count_poll(&self) {
        let n = self.polls_since_maintenance.get() + 1;
        self.polls_since_maintenance.set(n);
        if n >= MAINTENANCE_INTERVAL {
            self.maintain(false, &|| true);
        }
    }

    /// Runs ready tasks until the queue is empty or `attention` asks to return; maintains the
    /// loop on the way, and sleeps when there is nothing to do.
    fn turn(&self, attention: &dyn Fn() -> bool) {
        loop {
            let next = self.ready.borrow_mut().pop_front();
            let Some(task) = next else { break };
            task.run();
            self.count_poll();
            if attention() {
                return;
            }
        }
        self.maintain(true, attention);
    }

    /// Inbox, timers, I/O. Blocks in epoll only if `may_sleep` and nothing is ready.
    fn maintain(&self, may_sleep: bool, attention: &dyn Fn() -> bool) {
        self.shared.stats.on_maintain(
            self.owned.len(),
            self.ready.borrow().len(),
            self.polls_since_maintenance.get(),
        );
        self.polls_since_maintenance.set(0);
        crate::diag::flush_parked();
        self.set_now(None);
        self.drain_inbox();
        // The clock is read only when a timer waits: with an empty wheel there is nothing to
        // fire, and a wheel whose `elapsed` lags behind the clock stays correct (`advance`
        // catches up in one step, and insertion checks the clock before refusing a deadline).
        let now = self.fire_timers();

        let mut timeout = Some(Duration::ZERO);
        if may_sleep && self.ready.borrow().is_empty() && !attention() {
            timeout = self.timers.borrow().next_expiration().map(|tick| {
                let at = self.origin + Duration::from_nanos(tick * TICK_NANOS as u64);
                at.saturating_duration_since(now.unwrap_or_else(|| self.clock.now()))
            });
            if self.clock.is_paused() && timeout.is_some() {
                // Paused: real time does not bring timers closer. Look at I/O without
                // waiting; if nothing came, auto-advance to the next deadline.
                self.poll_io(Some(Duration::ZERO), false);
                self.drain_inbox();
                if self.ready.borrow().is_empty() {
                    if let Some(at) = self.next_timer_deadline() {
                        self.clock.jump_to(at);
                        self.set_now(None);
                    }
                }
                self.fire_timers();
                self.shared.free_released();
                return;
            }
        }
        let sleeping = timeout != Some(Duration::ZERO);
        if sleeping && (!self.shared.prepare_sleep() || attention()) {
            self.shared.end_sleep();
            timeout = Some(Duration::ZERO);
        }
        let asleep = sleeping.then(|| self.shared.stats.sleep());
        self.poll_io(timeout, sleeping);
        if let Some(since) = asleep {
            self.shared.stats.wake(since);
        }
        if sleeping {
            self.set_now(None);
            self.drain_inbox();
            self.fire_timers();
        }
        self.shared.free_released();
    }

    /// Waits for I/O and turns readiness into wake-ups. If the loop announced it was sleeping,
    /// it announces it is awake *before* waking anyone, so wakes issued while processing the
    /// events (which run on this thread) do not write the eventfd needlessly.
    fn poll_io(&self, timeout: Option<Duration>, sleeping: bool) {
        let mut events = self.events.borrow_mut();
        let waited = self.shared.poller.wait(&mut events, timeout);
        if sleeping {
            self.shared.end_sleep();
        }
        if let Err(err) = waited {
            tracing::error!(error = %err, "epoll_wait failed");
            return;
        }
        for (token, readiness) in events.iter() {
            if token == NOTIFIER_TOKEN {
                self.shared.drain_notifier();
                continue;
            }
            // SAFETY: every other token is the address of an `IoSource` whose registration
            // reference is freed only by `free_released`, which runs after this batch.
            let source = unsafe { &*(token as *const IoSource) };
            source.set_readiness(readiness);
        }
    }

    fn drain_inbox(&self) {
        if !self.shared.has_pending() {
            return;
        }
        let mut messages = std::mem::take(&mut *self.inbox_buf.borrow_mut());
        self.shared.take_messages(&mut messages);
        for message in messages.drain(..) {
            match message {
                Message::Run(task) => self.push_ready(task),
                Message::Call(call) => {
                    if let Err(panic) = catch_unwind(AssertUnwindSafe(call)) {
                        tracing::error!(
                            panic = crate::panic_payload::describe(&*panic),
                            "a closure posted to a weft loop panicked"
                        );
                    }
                }
            }
        }
        *self.inbox_buf.borrow_mut() = messages;
    }

    /// Fires the expired timers; returns the instant it read, or `None` (without reading the
    /// clock) when no timer waits. `weft::time::advance` calls it after each jump of a paused
    /// clock.
    pub(crate) fn fire_timers(&self) -> Option<Instant> {
        if self.timers.borrow().pending() == 0 {
            return None;
        }
        let now = self.clock.now();
        self.set_now(Some(now));
        // A paused clock stands still, often inside a tick (after `advance(60s)`, say): fire
        // what is due within that tick, as deadlines round up to ticks; a running clock
        // reaches the tick's end by itself.
        let now_tick = if self.clock.is_paused() {
            self.tick_of(now)
        } else {
            self.now_tick(now)
        };
        let mut fired = std::mem::take(&mut *self.fired.borrow_mut());
        self.timers.borrow_mut().advance(now_tick, &mut fired);
        for waker in fired.drain(..) {
            waker.wake();
        }
        *self.fired.borrow_mut() = fired;
        Some(now)
    }

    /// The loop's cached time (see `weft::time::now`), read now if this
    /// maintenance period has not read it yet.
    pub(crate) fn now(&self) -> Instant {
        match self.now.get() {
            Some(now) => now,
            None => {
                let now = self.clock.now();
                self.set_now(Some(now));
                now
            }
        }
    }

    /// Replaces the cached time (and forgets its conversion to a stamp).
    fn set_now(&self, now: Option<Instant>) {
        self.now.set(now);
        self.stamp_ns.set(0);
    }

    /// [`now`](Self::now) converted by `convert` (`sync::trace`'s stamp), converted once per
    /// cached time: a hold or wait recorded on this loop costs a cell read, not a conversion.
    #[inline]
    pub(crate) fn stamp_ns(&self, convert: fn(Instant) -> u64) -> u64 {
        match self.stamp_ns.get() {
            0 => {
                let ns = convert(self.now()).max(1);
                self.stamp_ns.set(ns);
                ns
            }
            ns => ns,
        }
    }

    /// Cancels everything this loop owns; see the module docs for the steps.
    pub(crate) fn shutdown(&self) {
        let mut leftovers = self.shared.close();
        loop {
            for message in leftovers.drain(..) {
                if let Message::Run(task) = message {
                    task.cancel_and_run();
                }
            }
            let mut progressed = false;
            loop {
                let next = self.ready.borrow_mut().pop_front();
                let Some(task) = next else { break };
                task.cancel_and_run();
                progressed = true;
            }
            while let Some(task) = self.owned.first() {
                // SAFETY: `task` is linked in this loop's owned list, on this thread.
                unsafe { raw::shutdown_owned(task) };
                progressed = true;
            }
            leftovers = self.shared.close();
            if !progressed && leftovers.is_empty() {
                break;
            }
        }
        self.timers.borrow_mut().clear();
        self.shared.free_released();
    }
}
