//! `run`: a callback program's main, as `node app.js` runs one.
//!
//! It builds a current-thread runtime, calls the program's main function on it, then keeps
//! the loop turning until nothing is left that could call back (see `handles`): the last
//! timer fired or was cleared, every server closed, every socket closed, every file
//! operation's callback ran. Then it returns, and the runtime is dropped.

use super::handles;
use std::future::poll_fn;
use std::task::Poll;

/// Runs a callback program: calls `main` inside a fresh current-thread weft loop, then runs
/// the loop until nothing is left to do, as `node app.js` exits once no timer, server,
/// socket or pending file operation remains. Returns `main`'s value.
///
/// Async tasks spawned meanwhile (`weft::spawn`) do not keep it alive, as an `unref`'d
/// handle in Node; they are dropped with the runtime.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// let fired = Rc::new(Cell::new(0));
/// let f = fired.clone();
/// weft::callback::run(move || {
///     weft::callback::set_timeout(5, move || {
///         f.set(1);
///         weft::callback::set_timeout(5, move || f.set(2));
///     });
/// });
/// assert_eq!(fired.get(), 2);
/// ```
///
/// # Panics
///
/// If the runtime cannot be built (the system refuses an epoll or eventfd descriptor), or
/// when called inside a weft loop (a loop cannot be nested).
pub fn run<R>(main: impl FnOnce() -> R) -> R {
    assert!(
        crate::rt::current_shared().is_none(),
        "weft::callback::run called inside a weft loop: it runs its own loop, call it from \
         plain code (fn main)"
    );
    let runtime = crate::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("weft::callback::run: could not build a runtime");
    runtime.block_on(async move {
        let out = main();
        until_idle().await;
        out
    })
}

/// Waits until no handle is live and no other task is ready.
async fn until_idle() {
    poll_fn(|cx| {
        if handles::live() > 0 {
            handles::wake_when_idle(cx.waker());
            // A handle released between the check and the registration left nobody to wake.
            if handles::live() > 0 {
                return Poll::Pending;
            }
        }
        if crate::rt::has_ready_tasks() {
            // Let them run (a close callback, a last emit) and look again after them.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(())
    })
    .await
}
