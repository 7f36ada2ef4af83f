//! Live handles, libuv's reference count: what keeps `callback::run` going.
//!
//! Node exits when nothing can happen any more: no timer pending, no server listening, no
//! socket open, no file operation in flight. libuv knows it by counting its active,
//! referenced handles and requests. This module is that count for the callback layer, one
//! per loop thread: every thing that can still call back holds a [`Ref`] for as long as it
//! can (a pending timer, a listening server's accept task, an open socket's driver, a
//! connect or file operation until its callback ran). An `EventEmitter` holds none: its
//! listeners fire only when something else emits, and that something holds a `Ref`.
//!
//! `callback::run` waits until the count is zero *and* no other task is ready (a
//! callback scheduled by the last handle on its way out still runs).

use std::cell::{Cell, RefCell};
use std::task::Waker;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    /// The waker of the `run` waiting for the count to reach zero.
    static IDLE_WAITER: RefCell<Option<Waker>> = const { RefCell::new(None) };
}

/// One live handle; dropping it releases it.
#[derive(Debug)]
pub(crate) struct Ref(());

impl Ref {
    pub(crate) fn new() -> Ref {
        LIVE.with(|live| live.set(live.get() + 1));
        Ref(())
    }
}

impl Drop for Ref {
    fn drop(&mut self) {
        let now = LIVE.with(|live| {
            let n = live.get().saturating_sub(1);
            live.set(n);
            n
        });
        if now == 0 {
            // try_with: a handle dropped while the thread's locals are torn down.
            if let Ok(Some(waker)) = IDLE_WAITER.try_with(|w| w.borrow_mut().take()) {
                waker.wake();
            }
        }
    }
}

/// How many handles are live on this thread.
pub(crate) fn live() -> usize {
    LIVE.with(Cell::get)
}

/// Asks to be woken when the count reaches zero.
pub(crate) fn wake_when_idle(waker: &Waker) {
    IDLE_WAITER.with(|w| *w.borrow_mut() = Some(waker.clone()));
}

/// Panics, naming the callback API, when called outside a weft loop (instead of the
/// `spawn_local` message the caller would otherwise see).
#[track_caller]
pub(crate) fn expect_loop(api: &str) {
    if crate::rt::current_shared().is_none() {
        panic!(
            "weft::callback::{api} called outside a weft loop: call it inside \
             weft::callback::run or a runtime's block_on"
        );
    }
}
