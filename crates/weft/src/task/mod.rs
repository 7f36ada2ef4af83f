//! Tasks: futures scheduled on an event loop.
//!
//! [`spawn`] and [`spawn_local`] start a future on the **current** loop and return a
//! [`JoinHandle`]. A task never moves to another loop: it is polled only on its home loop
//! thread, which is what lets [`spawn_local`] accept `!Send` futures and keeps each loop
//! shared-nothing. To place work on another loop, use [`Handle::spawn_on`](crate::rt::Handle::spawn_on).
//!
//! A task that panics does not take its loop down: the panic is caught and handed to whoever
//! awaits the [`JoinHandle`] as a [`JoinError`]. Dropping a `JoinHandle` detaches the task; it
//! keeps running. [`JoinHandle::abort`] cancels it: the future is dropped on its loop the next
//! time the loop reaches it, at once if it is idle; an [`AbortHandle`] does the same from
//! anywhere without owning the output.
//!
//! A [`JoinSet`] holds many tasks and hands out their outputs in the order they finish. A
//! [`Builder`] names a task. Every task has an [`Id`] ([`id`] inside it) and records where it
//! was spawned (every `spawn` method is `#[track_caller]`); names and sites are what
//! diagnostics print, and [`JoinHandle::name`] and [`JoinHandle::spawn_site`] read them.
//!
//! # Roles
//!
//! - `raw`, `state`: the task allocation, its state word and transitions (crate-internal).
//! - `join`: [`JoinHandle`] and [`JoinError`].
//! - `abort`: [`AbortHandle`].
//! - `id`: [`Id`], [`id`], [`try_id`].
//! - `builder`: [`Builder`] (named tasks, placement); `spawn_on`: the two shapes of a
//!   `spawn_on`'s arguments ([`SpawnOnArg`]).
//! - `join_set`: [`JoinSet`]; `ready_list`: its wake-up list (loom-checked).

mod abort;
mod builder;
mod id;
pub mod join_set;
mod ready_list;
mod spawn_on;

pub use crate::rt::task::{JoinError, JoinHandle};
pub use abort::AbortHandle;
pub use builder::Builder;
pub use id::{id, try_id, Id};
pub use join_set::JoinSet;
pub use spawn_on::SpawnOnArg;

use crate::rt::spawn_local_inner;
use crate::rt::task::TaskMeta;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns a `Send` future on the current event loop.
///
/// # Panics
///
/// Panics when called outside a weft loop (outside `Runtime::block_on` and its tasks). Use
/// [`Handle::spawn`](crate::rt::Handle::spawn) from other threads.
///
/// ```
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     let handle = weft::spawn(async { "done" });
///     assert_eq!(handle.await.unwrap(), "done");
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_local_inner(future, TaskMeta::new(Location::caller(), None))
}

/// Spawns a future that need not be `Send` on the current event loop. It runs only on this
/// loop's thread.
///
/// # Panics
///
/// Panics when called outside a weft loop.
///
/// ```
/// use std::rc::Rc;
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     let shared = Rc::new(5);
///     let task = weft::spawn_local({
///         let shared = shared.clone();
///         async move { *shared + 1 }
///     });
///     assert_eq!(task.await.unwrap(), 6);
/// });
/// ```
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_local_inner(future, TaskMeta::new(Location::caller(), None))
}

/// Yields to the loop: the task goes to the back of the ready queue, so every other ready
/// task runs before it is polled again.
///
/// # Cancel safety
///
/// Cancel safe: it holds nothing.
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
