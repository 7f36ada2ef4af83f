//! Joining a green thread: [`GreenHandle`] and [`JoinError`].
//!
//! A green thread is a local task whose output is the closure's value or
//! the payload of its panic (caught on the green stack). The handle wraps
//! that task's [`JoinHandle`](crate::task::JoinHandle) and folds the two
//! ways a green thread can fail — it panicked, or it was cancelled before
//! finishing — into one [`JoinError`].
//!
//! A handle can be waited on two ways, which is the point of mixing green
//! threads and tasks on one loop: `.await` from async code, or
//! [`GreenHandle::join`] (which parks) from another green thread. Dropping
//! the handle detaches the green thread; it keeps running.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::thread::{try_block_on, PanicPayload};
use crate::task::JoinHandle;

/// Owned permission to wait for a green thread's result, or to cancel it.
///
/// Implements `Future` (for tasks); [`join`](GreenHandle::join) parks (for
/// green threads).
///
/// # Cancel safety
///
/// Awaiting a `GreenHandle` is cancel safe: if the `await` is dropped, the result stays
/// until the handle is polled again. Dropping the handle detaches the green thread, which
/// keeps running.
pub struct GreenHandle<T> {
    task: JoinHandle<Result<T, PanicPayload>>,
}

impl<T> GreenHandle<T> {
    pub(crate) fn new(task: JoinHandle<Result<T, PanicPayload>>) -> Self {
        GreenHandle { task }
    }

    /// Waits for the green thread from another green thread, parking until
    /// it finishes.
    ///
    /// # Errors
    ///
    /// The green thread panicked or was cancelled.
    ///
    /// # Panics
    ///
    /// When called outside a green thread: a task should `.await` the
    /// handle instead, and a plain thread would block its loop.
    pub fn join(self) -> Result<T, JoinError> {
        match try_block_on(self) {
            Ok(result) => result,
            Err(e) => panic!("GreenHandle::join: {e} (a task should .await the handle)"),
        }
    }

    /// Cancels the green thread. If it is parked, its stack is unwound from
    /// the park point (destructors run) the next time the loop runs; if it
    /// already finished, nothing happens. Waiting on the handle afterwards
    /// gives [`JoinError::is_cancelled`] unless it had finished first.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the green thread has finished (returned, panicked, or been
    /// cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl<T> Future for GreenHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let joined = match Pin::new(&mut self.task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(joined) => joined,
        };
        Poll::Ready(match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) => Err(JoinError::Panicked(payload)),
            // The green thread catches its own panics, so the task can only
            // have failed by cancellation; a panic is mapped for completeness.
            Err(e) if e.is_panic() => Err(JoinError::Panicked(e.into_panic())),
            Err(_) => Err(JoinError::Cancelled),
        })
    }
}

impl<T> fmt::Debug for GreenHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GreenHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a green thread produced no value.
pub enum JoinError {
    /// The closure panicked; holds the panic's payload.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The green thread was dropped before it finished (aborted, or the
    /// runtime shut down).
    Cancelled,
}

impl JoinError {
    /// Whether the green thread panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// Whether the green thread was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// The panic's message, when the payload is a string (as it is for
    /// `panic!("...")` with or without format arguments).
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            JoinError::Panicked(payload) => payload
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            JoinError::Cancelled => None,
        }
    }

    /// The panic's payload, to re-raise it with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the green thread was cancelled rather than panicked.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self {
            JoinError::Panicked(payload) => payload,
            JoinError::Cancelled => panic!("JoinError::into_panic on a cancelled green thread"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self, self.panic_message()) {
            (JoinError::Panicked(_), Some(msg)) => write!(f, "green thread panicked: {msg}"),
            (JoinError::Panicked(_), None) => f.write_str("green thread panicked"),
            (JoinError::Cancelled, _) => f.write_str("green thread was cancelled"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Panicked(_) => f
                .debug_tuple("Panicked")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            JoinError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl std::error::Error for JoinError {}
