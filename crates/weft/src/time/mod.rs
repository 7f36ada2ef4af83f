//! Time: sleeping, deadlines and periodic ticks, driven by each loop's timer wheel
//! (`rt::wheel`).
//!
//! A [`Sleep`] files itself in the wheel of the loop that first polls it, with a resolution of
//! one millisecond, rounding its deadline up: it never completes early. The loop's `epoll_wait`
//! sleeps exactly until the next deadline in its wheel, so idle timers cost no wake-ups.
//!
//! Timers are loop-local: a `Sleep` polled on one loop and later dropped on another thread
//! cancels itself by posting a message to its loop; nothing is shared between loops.

pub(crate) mod pause;

pub use self::pause::{advance, is_paused, pause, resume};

use self::pause::clock_now;
use crate::loom::Arc;
use crate::rt::wheel::{EntryPoll, TimerKey};
use crate::rt::{with_current, LoopShared, Message};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The current time as the event loop sees it: read at most once per loop
/// iteration, like libuv's `uv_now` or nginx's cached time.
///
/// The loop reads the clock when it fires timers and forgets the value each
/// time it checks for I/O (at least every 61 task polls, see
/// [`crate::rt`]'s fairness rules), so within one iteration every caller gets
/// the same instant without paying for a clock read. It may lag the clock by
/// the length of the iteration: well under a millisecond on a loop that is
/// not blocked, the timer wheel's own granularity. Code that measures short
/// intervals, or runs long blocking work on the loop, wants
/// [`Instant::now`] instead. Outside a loop this is `Instant::now()`.
///
/// This is the clock `sleep`, `timeout` and `interval` follow, and the one [`pause`] freezes:
/// while paused, `std::time::Instant::now()` keeps real time, this does not.
///
/// ```
/// let rt = weft::rt::Runtime::new().unwrap();
/// rt.block_on(async {
///     let a = weft::time::now();
///     assert!(weft::time::now() >= a);
/// });
/// ```
pub fn now() -> Instant {
    with_current(|core| match core {
        Some(core) => core.now(),
        None => Instant::now(),
    })
}

/// Waits until `duration` has elapsed.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// let start = std::time::Instant::now();
/// weft::time::sleep(std::time::Duration::from_millis(5)).await;
/// assert!(start.elapsed() >= std::time::Duration::from_millis(5));
/// # });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = clock_now().checked_add(duration).unwrap_or_else(far_future);
    sleep_until(deadline)
}

/// Waits until `deadline`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: PackedInstant::pack(deadline),
        entry: None,
    }
}

fn far_future() -> Instant {
    // About 30 years: beyond any deadline the wheel distinguishes (it clamps to ~2 years).
    clock_now() + Duration::from_secs(86_400 * 365 * 30)
}

/// A future that completes at a deadline. Created by [`sleep`] and [`sleep_until`].
///
/// # Cancel safety
///
/// Dropping a `Sleep` cancels its timer; it can be re-created or [`reset`](Sleep::reset).
pub struct Sleep {
    deadline: PackedInstant,
    entry: Option<Filed>,
}

/// Where a sleep's timer is filed. While it is, `weft::diag` counts a live timer for the task
/// that filed it (a wait raced by a timer can end): [`crate::diag::timer_filed`] on filing,
/// [`crate::diag::timer_unfiled`] when this goes (fired, cancelled, or the sleep dropped).
struct Filed {
    key: TimerKey,
    home: Arc<LoopShared>,
}

impl Drop for Filed {
    fn drop(&mut self) {
        crate::diag::timer_unfiled(self.home.id, self.key);
    }
}

/// An [`Instant`] in one word: nanoseconds since a process-wide origin, so that a sleeping
/// task's `Sleep` is 24 bytes rather than 32 (a million sleeping tasks: 8 MB). The origin is a
/// year before the first use, so deadlines computed from instants taken before it still fit;
/// an instant before the origin (or 584 years after it) is clamped, which for a deadline means
/// "already passed" (or "never"), as it would anyway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct PackedInstant(u64);

impl PackedInstant {
    fn origin() -> Instant {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *ORIGIN.get_or_init(|| {
            let now = Instant::now();
            now.checked_sub(Duration::from_secs(86_400 * 365))
                .unwrap_or(now)
        })
    }

    fn pack(at: Instant) -> PackedInstant {
        let nanos = at.saturating_duration_since(Self::origin()).as_nanos();
        PackedInstant(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn unpack(self) -> Instant {
        Self::origin() + Duration::from_nanos(self.0)
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("filed", &self.entry.is_some())
            .finish()
    }
}

impl Sleep {
    /// The instant at which this sleep completes.
    pub fn deadline(&self) -> Instant {
        self.deadline.unpack()
    }

    /// True once the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        clock_now() >= self.deadline()
    }

    /// Moves the deadline; the sleep can be polled again after it completed.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = PackedInstant::pack(deadline);
    }

    fn cancel(&mut self) {
        let Some(filed) = self.entry.take() else {
            return;
        };
        let on_home = with_current(|core| match core {
            Some(core) if core.shared.id == filed.home.id => {
                core.timers.borrow_mut().remove(filed.key);
                true
            }
            _ => false,
        });
        if !on_home {
            let key = filed.key;
            // If the loop is gone its wheel is gone too: nothing to cancel.
            let _ = filed.home.post(Message::Call(Box::new(move || {
                with_current(|core| {
                    if let Some(core) = core {
                        core.timers.borrow_mut().remove(key);
                    }
                })
            })));
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let result = with_current(|core| {
            let core = core.expect("weft::time::Sleep must be polled inside a weft loop");
            if let Some(filed) = &this.entry {
                if filed.home.id == core.shared.id {
                    return match core.timers.borrow_mut().poll_entry(filed.key, cx.waker()) {
                        EntryPoll::Fired => {
                            this.entry = None;
                            Poll::Ready(true)
                        }
                        EntryPoll::Pending => Poll::Pending,
                    };
                }
                // Polled from another loop: re-file below on this one.
                return Poll::Ready(false);
            }
            match core.timer_insert(this.deadline.unpack(), cx.waker()) {
                Some(key) => {
                    crate::diag::timer_filed(core.shared.id, key);
                    this.entry = Some(Filed {
                        key,
                        home: core.shared.clone(),
                    });
                    Poll::Pending
                }
                None => Poll::Ready(true),
            }
        });
        if result.is_pending() {
            crate::diag::hooks::park(|| {
                crate::diag::hooks::WaitReason::Sleep(this.deadline.unpack())
            });
        }
        match result {
            Poll::Ready(true) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
            Poll::Ready(false) => {
                this.cancel();
                Pin::new(this).poll(cx)
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}

/// Runs `future` with a time limit: its output, or [`Elapsed`] if `duration` passes first (the
/// future is then dropped).
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use std::time::Duration;
/// let slow = weft::time::sleep(Duration::from_secs(60));
/// assert!(weft::time::timeout(Duration::from_millis(1), slow).await.is_err());
/// # });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep(duration),
    }
}

/// Like [`timeout`] with an absolute deadline.
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

/// A future with a deadline; see [`timeout`].
///
/// # Cancel safety
///
/// As cancel safe as the future it wraps: dropping a `Timeout` drops that future and cancels
/// the timer.
#[derive(Debug)]
pub struct Timeout<F> {
    future: F,
    sleep: Sleep,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `future` is structurally pinned (never moved out of the pinned Timeout);
        // `sleep` is Unpin and is only reached through `&mut`.
        let (future, sleep) = unsafe {
            let this = self.get_unchecked_mut();
            (Pin::new_unchecked(&mut this.future), &mut this.sleep)
        };
        if let Poll::Ready(out) = future.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        match Pin::new(sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What an [`Interval`] does when ticks were missed because the task was late.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks immediately, one after another, to catch up (tokio's default).
    #[default]
    Burst,
    /// Start a fresh period from the late tick.
    Delay,
    /// Drop the missed ticks; stay on the original schedule.
    Skip,
}

/// Ticks every `period`, the first tick at once.
///
/// # Panics
///
/// Panics if `period` is zero.
pub fn interval(period: Duration) -> Interval {
    interval_at(clock_now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
///
/// Panics if `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "weft::time::interval: period must be non-zero"
    );
    Interval {
        period,
        next: start,
        sleep: sleep_until(start),
        missed: MissedTickBehavior::default(),
    }
}

/// Periodic ticks; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    next: Instant,
    sleep: Sleep,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dropped `tick()` consumes no tick.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.next;
        let now = clock_now();
        self.next = match self.missed {
            MissedTickBehavior::Burst => scheduled + self.period,
            MissedTickBehavior::Delay => now + self.period,
            MissedTickBehavior::Skip => {
                let behind = now.saturating_duration_since(scheduled);
                let periods = behind.as_nanos() / self.period.as_nanos() + 1;
                scheduled + self.period * periods as u32
            }
        };
        self.sleep.reset(self.next);
        Poll::Ready(scheduled)
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}
