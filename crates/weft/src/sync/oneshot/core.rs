//! The oneshot channel's state machine: one atomic word, the value cell and two waker cells.
//!
//! Kept free of everything but `crate::loom`, so that `tests/loom_sync_oneshot.rs` compiles
//! this very file against loom's types.
//!
//! # State word
//!
//! - `COMPLETE`: the sender is done: it stored a value, or was dropped without one (the cell
//!   then stays empty and the receiver reads that as "sender dropped").
//! - `CLOSED`: the receiver is done (closed or dropped); a later send fails.
//! - `RX_WAKER`: the receiver's waker cell holds a waker the sender must wake on completion.
//! - `TX_WAKER`: the sender's waker cell holds a waker the receiver must wake on close.
//!
//! # Who touches which cell, when
//!
//! - The **value** cell is written by the sender only before it sets `COMPLETE`, and read by
//!   the receiver only after it saw `COMPLETE` (acquire). A send that finds `CLOSED` never sets
//!   `COMPLETE`, so the sender may take its value back.
//! - The **receiver's waker** cell is written by the receiver only while `RX_WAKER` is clear
//!   and `COMPLETE` is not set; it clears the bit first (a CAS that fails if `COMPLETE` came),
//!   writes, then sets the bit and looks at what the word held: `COMPLETE` there means the
//!   sender did not see the bit, so the receiver reads the value itself (no lost wake-up). The
//!   sender reads the cell only if its completing CAS found `RX_WAKER` set.
//! - The **sender's waker** cell mirrors this with `TX_WAKER` and `CLOSED`.
//!
//! # Who frees the channel
//!
//! The word doubles as the reference count of the allocation both ends share, so that the
//! common case costs one atomic read-modify-write in all (the send's CAS) instead of an `Arc`'s
//! clone and two decrements besides. `TX_GONE` and `RX_GONE` say that an end is done with the
//! memory; each end's last access comes before the operation that sets its bit, and whoever
//! sets the second bit (or, holding the first, sees the other end's bit with acquire) frees:
//! the methods that end a side return [`Release::Free`] to exactly one of the two.
//!
//! - A send (or the sender's drop) that finds no receiver waker sets `COMPLETE | TX_GONE` in
//!   its one CAS and touches nothing after. If it must wake the receiver it sets `COMPLETE`,
//!   wakes, and only then sets `TX_GONE`.
//! - A send that finds `CLOSED` sets `TX_GONE` (after taking its value back).
//! - The receiver, once it has its answer, frees at once if it saw `TX_GONE` (the sender is
//!   gone for good), else sets `RX_GONE`. A receiver dropped early first sets `CLOSED` (and
//!   wakes a sender in `closed()` while the sender cannot yet have left), then `RX_GONE`.

use crate::loom::{AtomicUsize, Ordering, UnsafeCell};
use std::task::{Context, Poll, Waker};

const COMPLETE: usize = 1;
const CLOSED: usize = 2;
const RX_WAKER: usize = 4;
const TX_WAKER: usize = 8;
const TX_GONE: usize = 16;
const RX_GONE: usize = 32;

/// What an end must do with the shared allocation after its last operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the end told to free must free the channel"]
pub(crate) enum Release {
    /// The other end still uses it.
    Keep,
    /// This end was the last: free it now.
    Free,
}

fn free_if(prev: usize, other_gone: usize) -> Release {
    if prev & other_gone != 0 {
        Release::Free
    } else {
        Release::Keep
    }
}

/// The shared part of one oneshot channel (kept in an `Arc` by both ends).
pub(crate) struct Core<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_waker: UnsafeCell<Option<Waker>>,
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are accessed only as the module doc's protocol allows: each by one side at a
// time, ordered by the state word's acquire/release operations. The value moves between threads,
// hence `T: Send`.
unsafe impl<T: Send> Send for Core<T> {}
// SAFETY: as above; a shared `&Core` never hands out `&T`.
unsafe impl<T: Send> Sync for Core<T> {}

/// What the receiver finds when it looks.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Taken<T> {
    /// The value.
    Value(T),
    /// The sender was dropped without sending (or the value was already taken).
    SenderGone,
    /// Nothing yet.
    Empty,
    /// The receiver closed before any value came.
    Closed,
}

impl<T> Default for Core<T> {
    fn default() -> Self {
        Core::new()
    }
}

impl<T> Core<T> {
    /// An empty channel.
    pub(crate) fn new() -> Core<T> {
        Core {
            state: AtomicUsize::new(0),
            value: UnsafeCell::new(None),
            rx_waker: UnsafeCell::new(None),
            tx_waker: UnsafeCell::new(None),
        }
    }

    /// The sender stores `value`, completes and leaves. Gives the value back if the receiver
    /// closed. Call at most once, from the sender; it must not touch the channel afterwards
    /// except to free it when told to.
    pub(crate) fn send(&self, value: T) -> (Result<(), T>, Release) {
        // SAFETY: `COMPLETE` is not set (one call, from the sender), so the receiver does not
        // read the cell (module doc).
        self.value.with_mut(|p| unsafe { *p = Some(value) });
        match self.complete() {
            Ok(release) => (Ok(()), release),
            Err(()) => {
                // SAFETY: the receiver closed and `COMPLETE` was never set: it will not read the
                // cell; we have not set `TX_GONE` yet, so the memory is still ours to use.
                let value = self.value.with_mut(|p| unsafe { (*p).take() });
                let prev = self.state.fetch_or(TX_GONE, Ordering::AcqRel);
                (
                    Err(value.expect("stored just above")),
                    free_if(prev, RX_GONE),
                )
            }
        }
    }

    /// The sender is dropped without sending: completes with an empty cell and leaves.
    pub(crate) fn drop_sender(&self) -> Release {
        match self.complete() {
            Ok(release) => release,
            Err(()) => free_if(self.state.fetch_or(TX_GONE, Ordering::AcqRel), RX_GONE),
        }
    }

    /// Sets `COMPLETE` unless `CLOSED` (Err), waking the receiver if it registered, and leaves
    /// (sets `TX_GONE`) as the module doc says.
    fn complete(&self) -> Result<Release, ()> {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & (CLOSED | COMPLETE) != 0 {
                return Err(());
            }
            // With no waker to wake, completing is also leaving.
            let new = if state & RX_WAKER == 0 {
                state | COMPLETE | TX_GONE
            } else {
                state | COMPLETE
            };
            match self
                .state
                .compare_exchange_weak(state, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
        if state & RX_WAKER == 0 {
            // The receiver is not gone (that needs `CLOSED`), so it will free.
            return Ok(Release::Keep);
        }
        // SAFETY: `RX_WAKER` was set when we completed: the receiver no longer writes the cell
        // (it may still read it), and we have not left yet.
        if let Some(w) = self.rx_waker.with(|p| unsafe { (*p).clone() }) {
            w.wake();
        }
        Ok(free_if(
            self.state.fetch_or(TX_GONE, Ordering::AcqRel),
            RX_GONE,
        ))
    }

    /// The model checker's stand-in for freeing the allocation: writes every cell, as dropping
    /// it would, so that loom reports any access by the other end not ordered before the free.
    #[cfg(test)]
    #[allow(dead_code)]
    pub(crate) fn model_free(&self) {
        self.value.with_mut(|_| ());
        self.rx_waker.with_mut(|_| ());
        self.tx_waker.with_mut(|_| ());
    }

    /// True once the receiver closed or was dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// The sender waits for the receiver to close.
    pub(crate) fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        register(&self.state, &self.tx_waker, TX_WAKER, CLOSED, cx)
    }

    /// The receiver takes the value if one came (without waiting). On any answer but
    /// `Empty` the receiver is done: it must call [`leave_rx`](Self::leave_rx) with the state
    /// returned.
    pub(crate) fn try_take(&self) -> (Taken<T>, usize) {
        let state = self.state.load(Ordering::Acquire);
        (self.take_in(state), state)
    }

    /// The receiver, done after an answer seen in `seen`, leaves.
    pub(crate) fn leave_rx(&self, seen: usize) -> Release {
        if seen & TX_GONE != 0 {
            // The sender left before our acquire load saw it: the memory is ours alone.
            return Release::Free;
        }
        free_if(self.state.fetch_or(RX_GONE, Ordering::AcqRel), TX_GONE)
    }

    /// The receiver is dropped (with or without an answer): closes, then leaves.
    pub(crate) fn drop_receiver(&self) -> Release {
        let prev = self.close_word();
        if prev & TX_GONE != 0 {
            return Release::Free;
        }
        free_if(self.state.fetch_or(RX_GONE, Ordering::AcqRel), TX_GONE)
    }

    fn take_in(&self, state: usize) -> Taken<T> {
        if state & COMPLETE != 0 {
            // SAFETY: `COMPLETE` was observed with acquire: the sender is done with the cell, and
            // only the receiver (this side, `&mut` in the API) reads it now.
            match self.value.with_mut(|p| unsafe { (*p).take() }) {
                Some(v) => Taken::Value(v),
                None => Taken::SenderGone,
            }
        } else if state & CLOSED != 0 {
            Taken::Closed
        } else {
            Taken::Empty
        }
    }

    /// True if a sent value waits to be taken (receiver side only, like [`try_take`]).
    ///
    /// [`try_take`]: Self::try_take
    pub(crate) fn has_value(&self) -> bool {
        let state = self.state.load(Ordering::Acquire);
        // SAFETY: as in `take_in`: `COMPLETE` seen with acquire, and only the receiver reads
        // the cell now.
        state & COMPLETE != 0 && self.value.with(|p| unsafe { (*p).is_some() })
    }

    /// The receiver waits for the value (or the sender's end).
    /// Ready with the answer and the state it was seen in (for [`leave_rx`](Self::leave_rx)).
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<(Taken<T>, usize)> {
        match self.try_take() {
            (Taken::Empty, _) => {}
            done => return Poll::Ready(done),
        }
        match register(&self.state, &self.rx_waker, RX_WAKER, COMPLETE, cx) {
            Poll::Ready(()) => Poll::Ready(self.try_take()),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The receiver closes: later sends fail; wakes a sender waiting in `closed()`. Returns
    /// whether a value had already been sent (it stays readable by `try_take`).
    pub(crate) fn close(&self) -> bool {
        self.close_word() & COMPLETE != 0
    }

    /// Sets `CLOSED`, wakes a sender waiting in `closed()`, returns the previous word.
    fn close_word(&self) -> usize {
        let prev = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & (TX_WAKER | COMPLETE | CLOSED | TX_GONE) == TX_WAKER {
            // SAFETY: `TX_WAKER` was set and we set `CLOSED`: the sender no longer writes it; it
            // has not left (no `TX_GONE`, and it leaves only after a CAS or fetch_or that will
            // now see `CLOSED`), and we have not, so the memory is alive.
            if let Some(w) = self.tx_waker.with(|p| unsafe { (*p).clone() }) {
                w.wake();
            }
        }
        prev
    }
}

/// Registers `cx`'s waker in `cell` (guarded by `bit`) unless `done` is set; Ready if `done`.
fn register(
    state_word: &AtomicUsize,
    cell: &UnsafeCell<Option<Waker>>,
    bit: usize,
    done: usize,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let mut state = state_word.load(Ordering::Acquire);
    if state & done != 0 {
        return Poll::Ready(());
    }
    if state & bit != 0 {
        // SAFETY: our side owns the cell's writes; with the bit set the other side may only
        // clone it, which a shared read here does not disturb.
        let same = cell.with(|p| unsafe { (*p).as_ref().is_some_and(|w| w.will_wake(cx.waker())) });
        if same {
            return Poll::Pending;
        }
        // Take the bit back before writing, unless `done` arrives first.
        loop {
            if state & done != 0 {
                return Poll::Ready(());
            }
            match state_word.compare_exchange_weak(
                state,
                state & !bit,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
        }
    }
    // SAFETY: the bit is clear, so the other side does not read the cell.
    cell.with_mut(|p| unsafe { *p = Some(cx.waker().clone()) });
    let prev = state_word.fetch_or(bit, Ordering::AcqRel);
    if prev & done != 0 {
        Poll::Ready(())
    } else {
        Poll::Pending
    }
}
