//! A connection's time limits: what it waits for ([`Wait`]) decides its
//! deadline (see [`Timeouts`](crate::Timeouts) and the [driver's
//! docs](super)), one lazily armed [`Sleep`](weft::time::Sleep) per
//! connection enforces it, and an expired deadline becomes a silent close or
//! a `408` answer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{Connection, Io};
use crate::proto::date::{self, Stamp};
use crate::proto::decode::Phase;
use crate::proto::{BODY_TIMED_OUT, REQUEST_NOT_RECEIVED};

/// What a connection waits for when it returns `Pending`; decides the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wait {
    /// Nothing or part of a request head received.
    Head,
    /// Part of a request body received.
    Body,
    /// A response was sent; waiting for the next request.
    Idle,
    /// A handler or a body stream is working.
    Handler,
    /// The socket does not accept output.
    Write,
    /// Half-closed, discarding input before the final close.
    Linger,
}

/// The time of one poll: the loop's cached clock ([`weft::time::now`], read
/// at most once per loop iteration), taken only if needed.
#[derive(Default)]
pub(super) struct Clock {
    now: Option<Instant>,
    stamp: Option<Stamp>,
}

impl Clock {
    pub(super) fn now(&mut self) -> Instant {
        *self.now.get_or_insert_with(weft::time::now)
    }

    /// The `Server`/`Date` stamp for this poll's instant.
    pub(super) fn stamp(&mut self) -> &Stamp {
        let now = self.now();
        self.stamp.get_or_insert_with(|| date::stamp(now))
    }
}

impl<S: Io> Connection<S> {
    /// What reading waits for, from what has been received so far.
    pub(super) fn input_wait(&self) -> Wait {
        if self.decoder.phase() == Phase::Body {
            Wait::Body
        } else if !self.inbuf.is_empty() || self.fresh {
            Wait::Head
        } else {
            Wait::Idle
        }
    }

    /// Enters `wait`, (re)computing the deadline when the wait changed or
    /// went stale.
    pub(super) fn set_wait(&mut self, wait: Wait, clock: &mut Clock) {
        // Same wait, nothing completed: keep the deadline. In particular,
        // bytes trickling into a head or body never extend it.
        if wait == self.wait && !self.wait_stale {
            return;
        }
        let timeouts = self.timeouts();
        let limit = match wait {
            Wait::Head => Some(timeouts.header_read),
            Wait::Body => Some(timeouts.body_read),
            Wait::Idle => Some(timeouts.idle),
            Wait::Write => Some(timeouts.write),
            Wait::Linger => Some(timeouts.linger),
            Wait::Handler => None,
        };
        self.wait = wait;
        self.wait_stale = false;
        self.deadline = limit.map(|limit| clock.now() + limit);
    }

    /// Whether the current deadline has passed; otherwise makes sure the
    /// timer will wake the task at (or before) it.
    pub(super) fn deadline_passed(&mut self, cx: &mut Context<'_>, clock: &mut Clock) -> bool {
        let Some(deadline) = self.deadline else {
            return false;
        };
        let now = clock.now();
        if now >= deadline {
            return true;
        }
        // An armed timer that has not fired and fires no later than the
        // deadline will wake us in time to re-check.
        if self.timer_armed && self.timer.deadline() <= deadline && now < self.timer.deadline() {
            return false;
        }
        self.timer.reset(deadline);
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(()) => {
                self.timer_armed = false;
                true
            }
            Poll::Pending => {
                self.timer_armed = true;
                false
            }
        }
    }

    /// Acts on an expired deadline. Returns false to close now, true if an
    /// answer (408) was queued and the connection goes on to close politely.
    pub(super) fn on_timeout(&mut self, out: &mut Vec<u8>, clock: &mut Clock) -> bool {
        self.deadline = None;
        if let (Wait::Body, Some(inflow)) = (self.wait, &self.inflow) {
            // The handler owns the answer: its reader gets the 408.
            inflow.fail(BODY_TIMED_OUT);
            self.wait = Wait::Handler;
            return true;
        }
        match self.wait {
            Wait::Head if self.inbuf.is_empty() => false,
            Wait::Head | Wait::Body => {
                self.refuse(REQUEST_NOT_RECEIVED, out, clock);
                self.inbuf = Vec::new();
                true
            }
            Wait::Idle | Wait::Write | Wait::Linger | Wait::Handler => false,
        }
    }
}
