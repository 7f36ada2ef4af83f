//! The handle to a spawned task's output, and the error a task can end with.

use super::raw::Header;
use super::raw_join::RawJoin;
use crate::loom::Mutex;
use crate::rt::coop;
use crate::task::AbortHandle;
use crate::task::Id;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// An owned permission to await a task's output.
///
/// Awaiting it yields `Ok(output)`, or a [`JoinError`] if the task panicked or was aborted.
/// Dropping it detaches the task, which keeps running.
///
/// # Cancel safety
///
/// Awaiting a `JoinHandle` is cancel safe: if the `await` is dropped (say, in a `select`) the
/// output stays in the task until the handle is polled again or dropped.
pub struct JoinHandle<T> {
    raw: RawJoin,
    _output: PhantomData<T>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(ptr: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw: RawJoin::new(ptr),
            _output: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle's reference keeps the header alive.
        unsafe { self.raw.ptr().as_ref() }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        Id::from_raw(self.header().meta().id)
    }

    /// The task's name, if it was given one with [`Builder::name`](crate::task::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.header().meta().name()
    }

    /// Where the task was spawned: the caller of `spawn`, `spawn_local`, `spawn_on`,
    /// `JoinSet::spawn` or `Builder::spawn`.
    pub fn spawn_site(&self) -> &'static Location<'static> {
        self.header().meta().site()
    }

    /// A handle that can abort the task but not read its output; cloneable and shareable
    /// between threads.
    pub fn abort_handle(&self) -> AbortHandle {
        // SAFETY: this handle holds a reference to the task.
        unsafe { AbortHandle::new(self.raw.ptr()) }
    }

    /// Polls for the output without spending the cooperative budget and without the wait
    /// bookkeeping: for `JoinSet`, which spends the budget once per `join_next` and polls a
    /// member only when it was woken. Registers `waker` when not ready.
    pub(crate) fn poll_output(&mut self, waker: &std::task::Waker) -> Poll<Result<T, JoinError>> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: `out` has the output type of the task this handle was created for.
        unsafe {
            self.raw
                .try_read_output((&mut out as *mut Poll<Result<T, JoinError>>).cast(), waker)
        };
        if let Poll::Ready(Err(err)) = &mut out {
            err.0.task = self.header().meta().id;
        }
        out
    }

    /// Cancels the task. Its future is dropped on its loop the next time the loop reaches it
    /// (at once if it is idle); awaiting the handle then yields a cancelled [`JoinError`].
    /// A task that already completed keeps its output.
    pub fn abort(&self) {
        self.raw.abort();
    }

    /// True once the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.raw.is_complete()
    }

    /// Detaches the task: it keeps running, and its output is dropped when it completes.
    pub fn detach(self) {
        drop(self);
    }
}

// The output lives in the task allocation, never inside the handle, so moving a handle never
// moves a `T`: the handle is `Unpin` whatever `T` is.
impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let this = self.get_mut();
        let out = this.poll_output(cx.waker());
        // One branch each when diagnostics are off: the wait on the task's output is recorded
        // (for the wait-for graph) while the await is pending, and ended when it is not.
        crate::diag::join_polled(&this.raw, out.is_pending());
        if out.is_pending() {
            // Not ready: the budget unit goes back.
            coop::refund();
            let task = this.raw.task_id();
            crate::diag::hooks::park(|| crate::diag::hooks::WaitReason::Join(task));
        }
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        crate::diag::join_polled(&self.raw, false);
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task did not produce its output.
///
/// One word: the error is boxed, so that a task's `Result<T, JoinError>` slot is no wider than
/// its output (a million finished `()` tasks pay 8 bytes each for it, not 40).
pub struct JoinError(Box<Failure>);

/// What a [`JoinError`] carries.
struct Failure {
    repr: Repr,
    /// The failed task's id, set when the error is read through its `JoinHandle` (the only
    /// way it reaches a user); 0 before.
    task: u64,
}

enum Repr {
    Cancelled,
    /// Cancelled by `weft::diag` to break a deadlock (`Action::CancelVictim`).
    DeadlockVictim,
    // A Mutex makes the `Send`-only payload shareable, so `JoinError` is `Sync` like other errors.
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError(Box::new(Failure {
            repr: Repr::Cancelled,
            task: 0,
        }))
    }

    pub(crate) fn deadlock_victim() -> JoinError {
        JoinError(Box::new(Failure {
            repr: Repr::DeadlockVictim,
            task: 0,
        }))
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError(Box::new(Failure {
            repr: Repr::Panic(Mutex::new(payload)),
            task: 0,
        }))
    }

    /// The id of the task that failed.
    pub fn id(&self) -> Id {
        Id::from_raw(self.0.task)
    }

    /// True if the task was aborted or its runtime shut down before it finished.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.0.repr, Repr::Cancelled | Repr::DeadlockVictim)
    }

    /// True if the task was cancelled by `weft::diag` to break a deadlock it was part of
    /// ([`Action::CancelVictim`](crate::diag::Action::CancelVictim)); such a task is also
    /// [`is_cancelled`](Self::is_cancelled).
    pub fn is_deadlock_victim(&self) -> bool {
        matches!(self.0.repr, Repr::DeadlockVictim)
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.0.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume the panic with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the task did not panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.0.repr {
            Repr::Panic(p) => p.into_inner().unwrap_or_else(|e| e.into_inner()),
            Repr::Cancelled | Repr::DeadlockVictim => {
                panic!("JoinError::into_panic on a cancelled task")
            }
        }
    }

    fn panic_message(&self) -> Option<String> {
        match &self.0.repr {
            Repr::Panic(p) => {
                let p = p.lock().unwrap_or_else(|e| e.into_inner());
                crate::panic_payload::text(&**p).map(str::to_string)
            }
            Repr::Cancelled | Repr::DeadlockVictim => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.0.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::DeadlockVictim, _) => {
                f.write_str("task was cancelled by weft::diag to break a deadlock")
            }
            (Repr::Panic(_), Some(msg)) => write!(f, "task panicked: {msg}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.repr {
            Repr::Cancelled => f.write_str("JoinError::Cancelled"),
            Repr::DeadlockVictim => f.write_str("JoinError::DeadlockVictim"),
            Repr::Panic(_) => write!(f, "JoinError::Panic({:?})", self.panic_message()),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err.to_string())
    }
}
