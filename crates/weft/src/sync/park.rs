//! The `blocking_*` calls: waiting on a `weft::sync` primitive from code that is not async.
//!
//! One rule, three callers:
//!
//! - in a **green thread**, the green thread parks (its stack is set aside) and its loop runs
//!   other tasks meanwhile ([`crate::green::block_on`]);
//! - on a plain **OS thread** (a pool job, a `std::thread`), the thread parks until woken;
//! - on a **loop thread outside a green thread** the call panics: parking there would block
//!   every task of that loop, which could include the one that would release the resource.

use crate::rt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// What the panic of a `blocking_*` call on a loop thread says, after the name of the call.
pub(crate) const ON_LOOP_THREAD: &str = "called on an event-loop thread outside a green thread: \
     it would block every task of this loop. Await the async method in a task, or call it \
     from a green thread (weft::green::spawn), a pool job (weft::spawn_blocking) or a plain \
     std::thread";

/// Waits for `fut` in the way the caller's context allows; `api` names the call for the panic
/// message (`"Mutex::blocking_lock"`).
///
/// # Panics
///
/// On a loop thread outside a green thread; see the module doc.
#[track_caller]
pub(crate) fn block_on<F: Future>(api: &'static str, fut: F) -> F::Output {
    if crate::green::in_green_thread() {
        return crate::green::block_on(fut);
    }
    if rt::on_loop_thread() {
        panic!("weft::sync::{api} {ON_LOOP_THREAD}");
    }
    block_on_thread(fut)
}

/// Wakes a parked OS thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `fut` on this OS thread, parking the thread while it is pending. A spurious unpark
/// only costs one more poll.
fn block_on_thread<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
}
