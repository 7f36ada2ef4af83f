//! A pausable clock for tests of retries, backoff and timeouts: [`pause`], [`advance`],
//! [`resume`], on a current-thread runtime (tokio's `test-util` equivalent).
//!
//! Each loop owns a [`Clock`]. Running, it is the real monotonic clock plus an offset (zero
//! until a pause moved time ahead). Paused, it is frozen at one virtual instant: `sleep`,
//! `timeout`, `interval` and [`weft::time::now`](crate::time::now) read it, and nothing moves
//! it but [`advance`] or the loop's auto-advance. Code that reads `std::time::Instant::now()`
//! directly sees real time, not this clock: inside weft use `weft::time::now()`.
//!
//! [`advance`] steps through the due timers one deadline at a time: it sets the clock to the
//! earliest deadline, lets the loop fire it and run the woken tasks, and only then moves on,
//! so timers fire in deadline order and a task that re-arms a timer inside the window (a
//! retry loop's next backoff) is fired in the same call.
//!
//! Auto-advance, as tokio does: while paused, a loop with nothing ready, no I/O event and
//! timers waiting jumps the clock to the next deadline instead of sleeping. Work on the worker
//! pool (files, DNS, blocking) does not hold auto-advance back, so a timeout raced against
//! such work can fire first in virtual time.
//!
//! The clock only moves forward: after a pause and advance, [`resume`] keeps the virtual lead
//! as an offset over the real clock.
//!
//! Pausing is refused on a runtime with loop threads: their clocks would drift apart.

use crate::rt::with_current;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// The clock of one loop: real time plus an offset, or frozen at a virtual instant.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    /// How far the clock runs ahead of `Instant::now()` (only ever grows).
    offset: Cell<Duration>,
    /// The frozen instant while paused.
    frozen: Cell<Option<Instant>>,
}

impl Clock {
    /// The loop's current instant (not cached).
    pub(crate) fn now(&self) -> Instant {
        match self.frozen.get() {
            Some(at) => at,
            None => Instant::now() + self.offset.get(),
        }
    }

    /// Whether the clock is frozen.
    pub(crate) fn is_paused(&self) -> bool {
        self.frozen.get().is_some()
    }

    fn pause(&self) {
        if self.frozen.get().is_none() {
            self.frozen.set(Some(self.now()));
        }
    }

    fn resume(&self) {
        if let Some(at) = self.frozen.take() {
            self.offset
                .set(at.saturating_duration_since(Instant::now()));
        }
    }

    /// Moves a paused clock forward to `to` (never back). A running clock is left alone.
    pub(crate) fn jump_to(&self, to: Instant) {
        if let Some(at) = self.frozen.get() {
            self.frozen.set(Some(at.max(to)));
        }
    }
}

/// The current instant of the calling loop's clock, or `Instant::now()` outside a loop.
pub(crate) fn clock_now() -> Instant {
    with_current(|core| match core {
        Some(core) => core.clock.now(),
        None => Instant::now(),
    })
}

fn with_clock<R>(what: &str, f: impl FnOnce(&crate::rt::LoopCore) -> R) -> R {
    with_current(|core| {
        let core = core.unwrap_or_else(|| {
            panic!(
                "weft::time::{what} called outside a weft loop; call it inside \
                 Runtime::block_on on a current-thread runtime (or in a #[weft::test])"
            )
        });
        if !core.runtime.loops.is_empty() {
            panic!(
                "weft::time::{what} needs a current-thread runtime, but this runtime has {} \
                 loop threads whose clocks would drift apart; build it with \
                 Runtime::builder().current_thread() (or #[weft::test] without loops = N)",
                core.runtime.loops.len()
            );
        }
        f(core)
    })
}

/// Freezes the loop's clock: from now on `sleep`, `timeout`, `interval` and
/// [`weft::time::now`](crate::time::now) see time move only by [`advance`] or by auto-advance
/// (when the loop is idle with only timers waiting, it jumps to the next deadline).
///
/// Pausing a paused clock does nothing.
///
/// ```
/// use std::time::Duration;
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     weft::time::pause();
///     let start = weft::time::now();
///     weft::time::sleep(Duration::from_secs(3600)).await; // returns at once: auto-advance
///     assert!(weft::time::now() - start >= Duration::from_secs(3600));
/// });
/// ```
///
/// # Panics
///
/// Outside a weft loop, or on a runtime with loop threads (`loops(n)` with `n > 0`).
#[track_caller]
pub fn pause() {
    with_clock("pause", |core| core.clock.pause());
}

/// Lets the loop's clock run again, from where the pause left it (time never goes back).
///
/// # Panics
///
/// Outside a weft loop, or on a runtime with loop threads.
#[track_caller]
pub fn resume() {
    with_clock("resume", |core| core.clock.resume());
}

/// Whether the calling loop's clock is paused (false outside a loop).
pub fn is_paused() -> bool {
    with_current(|core| core.is_some_and(|core| core.clock.is_paused()))
}

/// Moves a paused clock forward by `duration`, firing the timers that fall due on the way in
/// deadline order: at each deadline the woken tasks run (and may arm new timers within the
/// window) before the clock moves on.
///
/// ```
/// use std::time::Duration;
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     weft::time::pause();
///     let sleeper = weft::spawn(weft::time::sleep(Duration::from_secs(60)));
///     weft::time::advance(Duration::from_secs(60)).await;
///     assert!(sleeper.is_finished());
/// });
/// ```
///
/// # Panics
///
/// Outside a weft loop, on a runtime with loop threads, or if the clock is not paused.
///
/// # Cancel safety
///
/// Dropping the future stops the advance where it got to; the time already passed stays.
pub async fn advance(duration: Duration) {
    let target = with_clock("advance", |core| {
        assert!(
            core.clock.is_paused(),
            "weft::time::advance called while the clock is running; call weft::time::pause() first"
        );
        core.clock.now() + duration
    });
    // Tasks spawned just before the call arm their timers when first polled: let them.
    settle().await;
    loop {
        let step = with_current(|core| {
            let core = core.expect("advance stays on its loop");
            let next = core.next_timer_deadline().filter(|&at| at <= target);
            core.clock.jump_to(next.unwrap_or(target));
            // Fire what is due at once rather than at the loop's next maintenance, so the
            // woken tasks run in `settle` below, before the clock moves on.
            core.fire_timers();
            next.is_some()
        });
        settle().await;
        if !step {
            break;
        }
    }
}

/// Yields until the tasks woken by the timers just due have run (bounded, so a task that
/// yields forever cannot hold `advance` up).
async fn settle() {
    for _ in 0..1024 {
        crate::task::yield_now().await;
        let busy = with_current(|core| core.is_some_and(|core| core.has_ready_or_due()));
        if !busy {
            break;
        }
    }
}
