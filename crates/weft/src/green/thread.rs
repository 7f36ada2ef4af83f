//! The green thread as a future, and parking: the mechanism under [`weft::green`](super).
//!
//! # Roles
//!
//! - [`GreenThread`] owns a stackful coroutine (corosensei) that runs the
//!   user's closure on its own stack. It is a `Future`: each `poll` *resumes*
//!   the coroutine on the poller's stack, passing it the poll's `Context`;
//!   the coroutine runs until it *suspends* (the future returns `Pending`) or
//!   its closure returns (the future returns `Ready` with the result).
//! - [`try_block_on`] (the *park*) runs inside a green thread. It polls the
//!   given future; while that future is pending it suspends the coroutine,
//!   which makes the enclosing `poll` return `Pending`. When the future's
//!   waker fires, the executor polls the green thread again, the coroutine
//!   resumes inside `try_block_on`, and the future is polled again.
//!
//! So a green thread is, to the event loop, one more task: the loop never
//! knows it switches stacks, and wakers, timers and I/O readiness work the
//! same as for `async` code.
//!
//! # States
//!
//! `GreenThread::coroutine` is `Some` while the closure has not finished
//! (not started, running inside a `poll`, or suspended between polls) and
//! `None` once it has returned its result (its stack is then back in the
//! cache). Polling after `Ready` panics, as for any future.
//!
//! # Invariants (what makes the raw pointers sound)
//!
//! 1. `CURRENT` is non-null exactly while a green thread's coroutine is
//!    running on this OS thread, and then points at that coroutine's
//!    [`Frame`], which lives at the bottom of the coroutine's stack for as
//!    long as its closure runs. The coroutine sets it when it starts and each
//!    time it returns from a suspend; `poll` restores the previous value as
//!    soon as `resume` returns (also on unwind), so nested green threads (a
//!    green thread polling another one) save and restore correctly.
//! 2. `Frame::cx` points at the `Context` of the `poll` call that is
//!    currently running the coroutine. It is updated at the only two points
//!    where control enters the coroutine (start, return from suspend), and
//!    code on the coroutine's stack only runs inside such a `poll`, so any
//!    read of it from that stack sees a live `Context`.
//! 3. A `Context` pointer is never kept across a suspend: `try_block_on`
//!    polls its future with a `Context` over a waker *owned by the green
//!    stack* — a clone of the task's waker kept in the [`Frame`] (refreshed
//!    after each resume only if the task's waker changed, so the common
//!    path costs no reference counting). A future that parks again from
//!    inside its own `poll` (nested `block_on`) therefore keeps a valid
//!    `Context`. While an outer poll borrows the frame's waker, a nested
//!    park cannot replace it: it finds the `RefCell` borrowed and polls with
//!    a clone of its own instead.
//! 4. A coroutine never moves between OS threads: [`GreenThread`] is `!Send`
//!    (corosensei's `Coroutine` is `!Send`), so an executor can only run it
//!    on the thread that created it (`weft` spawns it with `spawn_local`).
//!
//! # What is unsound inside a green thread, and how the API prevents it
//!
//! - *Moving a suspended green thread to another OS thread.* References into
//!   thread-locals, `Rc`s and other `!Send` values on its stack would then be
//!   used from the wrong thread. Prevented by invariant 4: there is no way to
//!   send a green thread; thread-locals read inside one always belong to its
//!   loop's thread. (They are shared with every other task and green thread
//!   of that loop, exactly as for `async` code; a `RefCell` borrow held
//!   across a park is seen, and refused, by the others.)
//! - *Parking while unwinding.* The panic count is per OS thread; a green
//!   thread suspended in the middle of unwinding would make every other task
//!   on the loop look like it is panicking (and any panic there an abort).
//!   `try_block_on` refuses to park while `std::thread::panicking()` and
//!   returns [`ParkError::Unwinding`]: destructors that try to do green I/O
//!   during a panic or a cancellation get an error instead.
//! - *Parking outside a green thread.* There is no coroutine to suspend;
//!   blocking the OS thread would stall the loop. `try_block_on` returns
//!   [`ParkError::NotGreen`].
//! - *Dropping a suspended green thread* (the task is aborted or the runtime
//!   shuts down): corosensei unwinds the coroutine's stack from the suspend
//!   point so that destructors run; our root `catch_unwind` absorbs that
//!   unwind. `CURRENT` is cleared during the unwind, so nothing in it can
//!   park on another green thread's frame.
//! - *Overflowing the stack* faults on the guard page (see `stack`).
//! - Panics are caught at the root of the coroutine and returned as the
//!   output's `Err`; they never unwind through the loop. This needs
//!   `panic = "unwind"` (the default). With `panic = "abort"` a panic in a
//!   green thread aborts the process, as anywhere else, and so does
//!   cancelling a *parked* green thread: its stack can only be released by
//!   unwinding it. Builds that abort on panic should let green threads
//!   finish rather than abort them.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::ptr::{self, NonNull};
use std::task::{Context, Poll, Waker};

use corosensei::stack::Stack;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::stack::{self, DefaultStack};
use crate::sys::stack_guard::{self, Guard, Running};

/// The payload of a panic caught in a green thread.
pub type PanicPayload = Box<dyn Any + Send + 'static>;

/// What a resume hands the coroutine: the `Context` of the `poll` that
/// resumed it, lifetime erased (see invariant 2).
#[derive(Clone, Copy)]
struct PollContext(NonNull<Context<'static>>);

impl PollContext {
    fn new(cx: &mut Context<'_>) -> Self {
        PollContext(NonNull::from(cx).cast())
    }
}

/// Bookkeeping of a running green thread, at the bottom of its stack.
struct Frame<'y> {
    /// Suspends this coroutine back to the `poll` that resumed it.
    yielder: &'y Yielder<PollContext, ()>,
    /// The `Context` of the `poll` currently running this coroutine.
    cx: Cell<PollContext>,
    /// The task's waker, for the outermost park's polls (invariant 3).
    waker: RefCell<Option<Waker>>,
}

thread_local! {
    /// The frame of the green thread running on this OS thread, or null
    /// (invariant 1). Lifetime erased: valid only while that green thread runs.
    static CURRENT: Cell<*const Frame<'static>> = const { Cell::new(ptr::null()) };
}

/// Restores `CURRENT` to what it was when created, also on unwind.
struct RestoreCurrent(*const Frame<'static>);

impl Drop for RestoreCurrent {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

fn replace_current(frame: *const Frame<'static>) -> RestoreCurrent {
    RestoreCurrent(CURRENT.with(|c| c.replace(frame)))
}

/// Holds the user's closure until the coroutine starts, so that its captures
/// are dropped without unwinding if it never does.
///
/// corosensei drops the closure of a never-started coroutine in place, and a
/// panic out of that drop would leave it to be dropped a second time. A
/// panicking destructor among the captures is therefore caught here and its
/// payload discarded (the panic hook has already reported it).
struct UnwindSafeDrop<F>(Option<F>);

impl<F> Drop for UnwindSafeDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(f)));
        }
    }
}

type Body<T> = Coroutine<PollContext, (), Result<T, PanicPayload>, DefaultStack>;

/// A closure running on its own stack, driven as a future: the green thread
/// itself, without a loop.
///
/// [`spawn`](super::spawn) wraps one in a local task; it is public so that
/// a green thread can also be driven by another executor (any `poll` loop
/// works: parking suspends it and returns `Pending` to that executor) and
/// measured on its own. Output: the closure's value, or the payload of its
/// panic. `!Send` by construction: it is polled on the thread that made it.
///
/// # Cancel safety
///
/// Not cancel safe: dropping an unfinished `GreenThread` unwinds its stack (its destructors
/// run) and the closure never finishes. Await it to the end, or spawn it and race the handle.
pub struct GreenThread<T> {
    coroutine: Option<Body<T>>,
    /// Usable size of the stack, to give it back to the right cache.
    stack_size: usize,
    /// The stack's guard page, announced while the coroutine runs so an
    /// overflow is reported as such (see `overflow`).
    guard: Guard,
}

impl<T: 'static> GreenThread<T> {
    /// Prepares `f` to run on a stack of `stack_size` usable bytes (raised
    /// to [`MIN_STACK_SIZE`](super::MIN_STACK_SIZE)); nothing runs until the
    /// first `poll`.
    ///
    /// # Errors
    ///
    /// The stack could not be mapped (address space or `vm.max_map_count`
    /// exhausted).
    pub fn new<F>(stack_size: usize, f: F) -> io::Result<Self>
    where
        F: FnOnce() -> T + 'static,
    {
        stack_guard::install();
        let stack = stack::take(stack_size)?;
        let guard = Guard::below(stack.limit().get(), stack_size.max(stack::MIN_STACK_SIZE));
        let mut f = UnwindSafeDrop(Some(f));
        let coroutine = Coroutine::with_stack(stack, move |yielder, first: PollContext| {
            let f = f.0.take().expect("a green thread's closure runs once");
            let frame = Frame {
                yielder,
                cx: Cell::new(first),
                waker: RefCell::new(None),
            };
            // Invariant 1: from here until the closure returns or suspends,
            // this coroutine is the one running. The erased lifetime is only
            // relied upon while the frame is live (see `try_block_on`).
            CURRENT.with(|c| c.set(ptr::from_ref(&frame).cast()));
            // Catch everything here, on the green stack, so that no panic
            // crosses the stack switch. This also absorbs corosensei's forced
            // unwind when a suspended green thread is dropped.
            panic::catch_unwind(AssertUnwindSafe(f))
        });
        Ok(GreenThread {
            coroutine: Some(coroutine),
            stack_size,
            guard,
        })
    }
}

impl<T> Future for GreenThread<T> {
    type Output = Result<T, PanicPayload>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let coroutine = this
            .coroutine
            .as_mut()
            .expect("GreenThread polled after it finished");
        let outcome = {
            let _restore = replace_current(ptr::null());
            let _running = Running::enter(this.guard);
            coroutine.resume(PollContext::new(cx))
        };
        match outcome {
            CoroutineResult::Yield(()) => Poll::Pending,
            CoroutineResult::Return(result) => {
                if let Some(done) = this.coroutine.take() {
                    stack::give_back(done.into_stack(), this.stack_size);
                }
                Poll::Ready(result)
            }
        }
    }
}

impl<T> Drop for GreenThread<T> {
    fn drop(&mut self) {
        if let Some(mut coroutine) = self.coroutine.take() {
            // A suspended green thread is unwound so that its destructors
            // run; nothing it runs meanwhile may park on a frame of whoever
            // is dropping it.
            let _restore = replace_current(ptr::null());
            let _running = Running::enter(self.guard);
            coroutine.force_unwind();
            stack::give_back(coroutine.into_stack(), self.stack_size);
        }
    }
}

impl<T> fmt::Debug for GreenThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenThread")
            .field("finished", &self.coroutine.is_none())
            .field("stack_size", &self.stack_size)
            .finish()
    }
}

/// Why [`try_block_on`] could not park.
///
/// Its `Debug` form carries the explanation too, so an `unwrap()` of the `io::Error` a green
/// I/O call returns says what went wrong and what to use instead.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParkError {
    /// Called outside a green thread: on a plain task, a callback, or a
    /// thread that is not an event loop.
    NotGreen,
    /// Called while the green thread is unwinding (a panic, or the green
    /// thread being dropped): parking now would leak the unwind into the
    /// rest of the loop.
    Unwinding,
}

impl fmt::Display for ParkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParkError::NotGreen => {
                "weft::green I/O called outside a green thread: cannot park, not running on a \
                 green thread. Run it inside weft::green::spawn, or from an async task use \
                 weft::net / weft::fs with .await (or weft::callback from callbacks)"
            }
            ParkError::Unwinding => {
                "weft::green I/O called while the green thread is unwinding: cannot park \
                 during a panic or while the green thread is dropped"
            }
        })
    }
}

impl fmt::Debug for ParkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ParkError::NotGreen => "NotGreen",
            ParkError::Unwinding => "Unwinding",
        };
        write!(f, "{name}({:?})", self.to_string())
    }
}

impl std::error::Error for ParkError {}

impl From<ParkError> for io::Error {
    fn from(e: ParkError) -> io::Error {
        io::Error::other(e)
    }
}

/// Whether the caller runs on a green thread (and so may park).
pub fn in_green_thread() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// Waits for `fut` on the current green thread: polls it, and while it is
/// pending suspends the green thread so that the loop runs other work.
///
/// # Errors
///
/// [`ParkError`] when the caller cannot park (not a green thread, or
/// unwinding); `fut` is then dropped unpolled.
pub fn try_block_on<F: Future>(fut: F) -> Result<F::Output, ParkError> {
    if std::thread::panicking() {
        return Err(ParkError::Unwinding);
    }
    let frame = CURRENT.with(Cell::get);
    if frame.is_null() {
        return Err(ParkError::NotGreen);
    }
    // SAFETY: by invariant 1, a non-null `CURRENT` is the frame of the green
    // thread running this code, at the bottom of the stack we are on; it
    // outlives this call, which returns before the closure that owns the
    // frame does.
    let frame = unsafe { &*frame };
    let mut fut = pin!(fut);
    // Used only by a park nested inside another park's poll (invariant 3).
    let mut own_waker: Option<Waker> = None;
    loop {
        // SAFETY: by invariant 2, `frame.cx` is the `Context` of the `poll`
        // that is running us right now; it is only used before the suspend
        // below.
        let current = unsafe { frame.cx.get().0.as_ref() }.waker();
        let polled = if let Ok(mut slot) = frame.waker.try_borrow_mut() {
            // Outermost park: the frame's slot is free; refresh it only if
            // the task's waker changed (no reference-count traffic).
            if !slot.as_ref().is_some_and(|w| w.will_wake(current)) {
                *slot = Some(current.clone());
            }
            drop(slot);
            let slot = frame.waker.borrow();
            let waker = slot.as_ref().expect("filled just above");
            fut.as_mut().poll(&mut Context::from_waker(waker))
        } else {
            // Nested inside an outer park's poll, which borrows the slot: use
            // a clone of our own, on this stack.
            if !own_waker.as_ref().is_some_and(|w| w.will_wake(current)) {
                own_waker = Some(current.clone());
            }
            let waker = own_waker.as_ref().expect("filled just above");
            fut.as_mut().poll(&mut Context::from_waker(waker))
        };
        if let Poll::Ready(out) = polled {
            return Ok(out);
        }
        let resumed_by = frame.yielder.suspend(());
        frame.cx.set(resumed_by);
        CURRENT.with(|c| c.set(ptr::from_ref(frame)));
    }
}

/// Runs `f` on the stack of the event loop that runs this green thread,
/// then returns its result here; outside a green thread, just runs `f`.
///
/// For stack-hungry calls: a parser with large on-stack arrays, deep
/// recursion. The loop's stack is an OS thread stack (megabytes, and hot in
/// the cache, since every task and green thread of the loop runs on it),
/// while each green thread's stack is small and, with many green threads,
/// mostly cold: scratch space touched on it costs cache misses that the
/// loop's stack does not. The hop costs two stack switches.
///
/// `f` cannot park: inside it, [`try_block_on`] returns
/// [`ParkError::NotGreen`] (it runs on no green stack). A panic in `f`
/// propagates to the caller, on the green stack.
pub fn on_loop_stack<F, R>(f: F) -> R
where
    F: FnOnce() -> R + Send,
{
    let frame = CURRENT.with(Cell::get);
    if frame.is_null() {
        return f();
    }
    // SAFETY: invariant 1, as in `try_block_on`.
    let frame = unsafe { &*frame };
    // While `f` runs on the parent stack, no green frame is current (so it
    // cannot suspend from the wrong stack) and no guard page is announced
    // (a fault there is not this green thread's overflow). Both are
    // restored when `f` returns or unwinds.
    let _restore = replace_current(ptr::null());
    let _off_stack = Running::enter(Guard::NONE);
    frame.yielder.on_parent_stack(f)
}

/// Waits for `fut` on the current green thread (see [`try_block_on`]).
///
/// # Panics
///
/// When the caller cannot park ([`ParkError`]).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    match try_block_on(fut) {
        Ok(out) => out,
        Err(e) => panic!("green::block_on: {e}"),
    }
}

#[cfg(test)]
mod tests {
    //! The mechanism alone, driven by a bare poll loop (no event loop).

    use super::*;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::task::Wake;

    /// Counts wakes, so tests can check that parking wakes correctly.
    #[derive(Default)]
    struct CountingWake(std::sync::atomic::AtomicUsize);

    impl Wake for CountingWake {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A one-shot value a test fills in between polls.
    #[derive(Default)]
    struct Slot<T> {
        value: Cell<Option<T>>,
        waker: RefCell<Option<Waker>>,
    }

    impl<T> Slot<T> {
        fn fill(&self, value: T) {
            self.value.set(Some(value));
            if let Some(w) = self.waker.borrow_mut().take() {
                w.wake();
            }
        }

        fn wait(self: &Rc<Self>) -> impl Future<Output = T> {
            let slot = Rc::clone(self);
            std::future::poll_fn(move |cx| match slot.value.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    *slot.waker.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
        }
    }

    fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(waker))
    }

    const SIZE: usize = stack::DEFAULT_STACK_SIZE;

    #[test]
    fn parks_until_woken_and_returns() {
        let wakes = Arc::new(CountingWake::default());
        let waker = Waker::from(Arc::clone(&wakes));
        let slot = Rc::new(Slot::<u32>::default());
        let s = Rc::clone(&slot);
        let mut green = GreenThread::new(SIZE, move || block_on(s.wait()) + 1).unwrap();
        assert!(poll_once(&mut green, &waker).is_pending());
        assert!(!in_green_thread(), "CURRENT restored after the switch back");
        slot.fill(41);
        assert_eq!(wakes.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(
            poll_once(&mut green, &waker).map(Result::unwrap),
            Poll::Ready(42)
        );
    }

    #[test]
    fn park_nested_inside_a_poll_keeps_a_valid_context() {
        let waker = Waker::from(Arc::new(CountingWake::default()));
        let (a, b) = (
            Rc::new(Slot::<u32>::default()),
            Rc::new(Slot::<u32>::default()),
        );
        let (a2, b2) = (Rc::clone(&a), Rc::clone(&b));
        let mut green = GreenThread::new(SIZE, move || {
            block_on(async move {
                // Parks from inside the outer park's poll, then awaits with
                // the outer poll's Context, which must still be valid.
                let x = block_on(a2.wait());
                x + b2.wait().await
            })
        })
        .unwrap();
        assert!(poll_once(&mut green, &waker).is_pending());
        a.fill(1);
        assert!(poll_once(&mut green, &waker).is_pending());
        b.fill(2);
        assert_eq!(
            poll_once(&mut green, &waker).map(Result::unwrap),
            Poll::Ready(3)
        );
    }

    #[test]
    fn green_threads_nest() {
        let waker = Waker::from(Arc::new(CountingWake::default()));
        let slot = Rc::new(Slot::<u32>::default());
        let s = Rc::clone(&slot);
        let mut outer = GreenThread::new(SIZE, move || {
            let inner = GreenThread::new(SIZE, move || block_on(s.wait()) * 2).unwrap();
            let v = block_on(inner).unwrap();
            assert!(in_green_thread(), "the outer frame is current again");
            v + 1
        })
        .unwrap();
        assert!(poll_once(&mut outer, &waker).is_pending());
        slot.fill(5);
        assert_eq!(
            poll_once(&mut outer, &waker).map(Result::unwrap),
            Poll::Ready(11)
        );
    }

    #[test]
    fn panic_comes_back_as_payload() {
        let waker = Waker::from(Arc::new(CountingWake::default()));
        let mut green = GreenThread::new(SIZE, || -> u8 { std::panic::panic_any(7u32) }).unwrap();
        let Poll::Ready(Err(payload)) = poll_once(&mut green, &waker) else {
            panic!("expected the panic as an error");
        };
        assert_eq!(payload.downcast_ref::<u32>(), Some(&7));
    }

    /// Records its drop, and checks that parking is refused while unwinding.
    struct DropProbe(Rc<Cell<bool>>);

    impl Drop for DropProbe {
        fn drop(&mut self) {
            if std::thread::panicking() {
                assert_eq!(try_block_on(async {}), Err(ParkError::Unwinding));
            }
            self.0.set(true);
        }
    }

    #[test]
    fn dropping_a_parked_green_thread_unwinds_it() {
        let waker = Waker::from(Arc::new(CountingWake::default()));
        let dropped = Rc::new(Cell::new(false));
        let (d, slot) = (Rc::clone(&dropped), Rc::new(Slot::<u32>::default()));
        let s = Rc::clone(&slot);
        let mut green = GreenThread::new(SIZE, move || {
            let _probe = DropProbe(d);
            block_on(s.wait())
        })
        .unwrap();
        assert!(poll_once(&mut green, &waker).is_pending());
        drop(green);
        assert!(dropped.get());
        assert!(!in_green_thread());
    }

    /// Panics when dropped.
    struct PanicOnDrop;

    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("a capture's destructor panics");
        }
    }

    #[test]
    fn never_started_green_thread_drops_its_captures_once() {
        let dropped = Rc::new(Cell::new(false));
        let probe = DropProbe(Rc::clone(&dropped));
        let green = GreenThread::new(SIZE, move || drop(probe)).unwrap();
        drop(green);
        assert!(dropped.get());
        // A panicking capture is contained (and not dropped twice: that
        // would be a double free, which the allocator checks below catch).
        let green = GreenThread::new(SIZE, move || drop(PanicOnDrop)).unwrap();
        drop(green);
        let churn: Vec<Vec<u8>> = (0..1000).map(|i| vec![0; i]).collect();
        drop(churn);
    }

    #[test]
    fn on_loop_stack_runs_off_the_green_stack() {
        let waker = Waker::from(Arc::new(CountingWake::default()));
        let mut green = GreenThread::new(SIZE, || {
            let green_local = 0u8;
            let green_addr = ptr::from_ref(&green_local) as usize;
            let (loop_addr, park) = on_loop_stack(|| {
                let loop_local = 0u8;
                let addr = ptr::from_ref(&loop_local) as usize;
                (addr, try_block_on(async {}).map(|_| ()))
            });
            // Back on the green stack, parking works again.
            block_on(async {});
            let caught = panic::catch_unwind(|| on_loop_stack(|| panic!("off stack")));
            (green_addr.abs_diff(loop_addr), park, caught.is_err())
        })
        .unwrap();
        let Poll::Ready(Ok((distance, park, caught))) = poll_once(&mut green, &waker) else {
            panic!("the green thread finishes in one poll");
        };
        assert!(
            distance > SIZE,
            "ran on another stack ({distance} bytes away)"
        );
        assert_eq!(
            park,
            Err(ParkError::NotGreen),
            "no parking off the green stack"
        );
        assert!(caught, "a panic comes back to the green stack");
        // Outside a green thread it simply runs the closure.
        assert_eq!(on_loop_stack(|| 5), 5);
    }

    #[test]
    fn parking_outside_is_refused() {
        assert_eq!(try_block_on(async { 1 }), Err(ParkError::NotGreen));
        let err = io::Error::from(ParkError::NotGreen);
        assert!(err.to_string().contains("not running on a green thread"));
    }
}
