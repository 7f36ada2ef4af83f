//! When to restart a dead worker: exponential backoff, the fatal exit code, crash loops.
//!
//! Each worker slot keeps a [`SlotHistory`]: the times of its recent deaths and the delay the
//! next restart will wait. On a death, [`SlotHistory::on_death`] decides, in this order:
//!
//! 1. exit code [`FATAL_EXIT_CODE`](super::FATAL_EXIT_CODE): the worker said restarting cannot
//!    help (bad configuration, say) — [`Verdict::Fatal`], the slot is retired;
//! 2. more than `crash_loop_deaths` deaths within `crash_loop_window` — [`Verdict::CrashLoop`],
//!    the slot is retired (restarting would only burn CPU and fill logs);
//! 3. otherwise [`Verdict::Restart`] after the current delay, which then doubles up to the
//!    maximum. A worker that lived longer than the crash-loop window before dying starts over
//!    from the initial delay: its death is an incident, not part of a loop.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Restart and crash-loop settings (defaults: the constants of [`super`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RestartPolicy {
    pub(crate) backoff_start: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) crash_loop_deaths: usize,
    pub(crate) crash_loop_window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            backoff_start: super::RESTART_BACKOFF_START,
            backoff_max: super::RESTART_BACKOFF_MAX,
            crash_loop_deaths: super::CRASH_LOOP_DEATHS,
            crash_loop_window: super::CRASH_LOOP_WINDOW,
        }
    }
}

/// What to do about a death.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Start a new worker after this delay.
    Restart(Duration),
    /// The worker exited with the fatal code: do not restart.
    Fatal,
    /// Too many deaths too fast: do not restart.
    CrashLoop { deaths: usize, window: Duration },
}

/// The recent deaths of one worker slot.
#[derive(Debug, Default)]
pub(crate) struct SlotHistory {
    deaths: VecDeque<Instant>,
    next_delay: Option<Duration>,
}

impl SlotHistory {
    /// Records a death at `now` of a worker that lived `lived`; `fatal` if it exited with the
    /// fatal code.
    pub(crate) fn on_death(
        &mut self,
        policy: &RestartPolicy,
        now: Instant,
        lived: Duration,
        fatal: bool,
    ) -> Verdict {
        if fatal {
            return Verdict::Fatal;
        }
        self.deaths.push_back(now);
        while let Some(&first) = self.deaths.front() {
            if now.duration_since(first) > policy.crash_loop_window {
                self.deaths.pop_front();
            } else {
                break;
            }
        }
        if self.deaths.len() > policy.crash_loop_deaths {
            return Verdict::CrashLoop {
                deaths: self.deaths.len(),
                window: policy.crash_loop_window,
            };
        }
        if lived >= policy.crash_loop_window {
            self.next_delay = None;
        }
        let delay = self.next_delay.unwrap_or(policy.backoff_start);
        self.next_delay = Some((delay * 2).min(policy.backoff_max));
        Verdict::Restart(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RestartPolicy {
        RestartPolicy {
            backoff_start: Duration::from_millis(50),
            backoff_max: Duration::from_millis(300),
            crash_loop_deaths: 3,
            crash_loop_window: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let p = policy();
        let mut h = SlotHistory::default();
        let t0 = Instant::now();
        let short = Duration::from_millis(1);
        assert_eq!(
            h.on_death(&p, t0, short, false),
            Verdict::Restart(Duration::from_millis(50))
        );
        let t1 = t0 + Duration::from_secs(4);
        assert_eq!(
            h.on_death(&p, t1, short, false),
            Verdict::Restart(Duration::from_millis(100))
        );
        let t2 = t1 + Duration::from_secs(4);
        assert_eq!(
            h.on_death(&p, t2, short, false),
            Verdict::Restart(Duration::from_millis(200))
        );
        // t0 left the window: still three deaths in it, not a loop; the delay is capped.
        let t3 = t2 + Duration::from_secs(4);
        assert_eq!(
            h.on_death(&p, t3, short, false),
            Verdict::Restart(Duration::from_millis(300))
        );
    }

    #[test]
    fn more_than_k_deaths_in_the_window_is_a_crash_loop() {
        let p = policy();
        let mut h = SlotHistory::default();
        let t0 = Instant::now();
        let short = Duration::from_millis(1);
        for i in 0..3 {
            let v = h.on_death(&p, t0 + Duration::from_millis(i), short, false);
            assert!(matches!(v, Verdict::Restart(_)), "{v:?}");
        }
        assert_eq!(
            h.on_death(&p, t0 + Duration::from_millis(3), short, false),
            Verdict::CrashLoop {
                deaths: 4,
                window: p.crash_loop_window
            }
        );
    }

    #[test]
    fn fatal_exit_is_never_restarted_and_long_life_resets_backoff() {
        let p = policy();
        let mut h = SlotHistory::default();
        let t0 = Instant::now();
        assert_eq!(h.on_death(&p, t0, Duration::ZERO, true), Verdict::Fatal);
        assert_eq!(
            h.on_death(&p, t0, Duration::ZERO, false),
            Verdict::Restart(Duration::from_millis(50))
        );
        assert_eq!(
            h.on_death(&p, t0, Duration::ZERO, false),
            Verdict::Restart(Duration::from_millis(100))
        );
        let long = p.crash_loop_window;
        assert_eq!(
            h.on_death(&p, t0 + long * 2, long, false),
            Verdict::Restart(Duration::from_millis(50))
        );
    }
}
