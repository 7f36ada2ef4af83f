//! Cooperative budget: how much one task may do in one poll.
//!
//! A task that always finds its socket ready would never return `Pending` on its own and would
//! keep the loop from timers and other sockets. So each poll of a task starts with a budget of
//! [`TASK_BUDGET`] operations; every weft resource (socket operations, join handles) spends one
//! unit, and once it is spent the resource returns `Pending` after waking the task, which goes
//! to the back of the ready queue.
//!
//! Outside a task (no budget was set) operations are unconstrained.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Operations one task may perform per poll before it is made to yield. The same order as
/// tokio's 128: large enough that a busy connection moves many buffers per poll, small enough
/// that a loop serving thousands of sockets comes back to each within a few milliseconds.
pub(crate) const TASK_BUDGET: u8 = 128;

/// Marker for "no budget in force".
const UNCONSTRAINED: u8 = u8::MAX;

thread_local! {
    static BUDGET: Cell<u8> = const { Cell::new(UNCONSTRAINED) };
}

/// Gives the task about to be polled a fresh budget.
pub(crate) fn reset() {
    BUDGET.set(TASK_BUDGET);
}

/// Removes the budget (when leaving a loop).
pub(crate) fn unconstrain() {
    BUDGET.set(UNCONSTRAINED);
}

/// Spends one unit; when none is left, wakes the task and returns `Pending`.
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let left = BUDGET.get();
    if left == UNCONSTRAINED {
        return Poll::Ready(());
    }
    if left == 0 {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    BUDGET.set(left - 1);
    Poll::Ready(())
}

/// Gives back the unit spent by an operation that turned out not to be ready, so waiting does
/// not use up the budget.
pub(crate) fn refund() {
    let left = BUDGET.get();
    if left < TASK_BUDGET {
        BUDGET.set(left + 1);
    }
}
