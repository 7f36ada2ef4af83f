//! Spawning a task with a name (and, optionally, on a chosen runtime).
//!
//! A [`Builder`] only chooses the task's identity and placement; the spawn itself is the same
//! as [`spawn`](super::spawn), [`spawn_local`](super::spawn_local) and
//! [`Handle::spawn_on`](crate::rt::Handle::spawn_on), and returns the same [`JoinHandle`].
//! The name and the spawn site live in the task's header, where diagnostics read them.

use super::spawn_on::SpawnOnArg;
use super::JoinHandle;
use crate::rt::spawn_local_inner;
use crate::rt::task::TaskMeta;
use crate::rt::Handle;
use std::future::Future;
use std::panic::Location;

/// Configures a task before spawning it: its name, and the runtime it goes to.
///
/// Every task records its spawn site (the line that called a `spawn` method); a builder adds a
/// name. Both are what diagnostics print, and what [`JoinHandle::name`] and
/// [`JoinHandle::spawn_site`] return.
///
/// ```
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     let task = weft::task::Builder::new()
///         .name("worker-3")
///         .spawn(async { 7 });
///     assert_eq!(task.name(), Some("worker-3"));
///     assert_eq!(task.await.unwrap(), 7);
/// });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct Builder<'a> {
    name: Option<&'a str>,
    handle: Option<&'a Handle>,
}

impl<'a> Builder<'a> {
    /// A builder for an unnamed task on the current runtime.
    pub fn new() -> Builder<'a> {
        Builder::default()
    }

    /// Names the task. The name is copied into the task when it is spawned.
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder {
            name: Some(name),
            ..self
        }
    }

    /// Spawns on the runtime of `handle` instead of the current one: [`spawn`](Self::spawn)
    /// then works like [`Handle::spawn`] (from any thread), and [`spawn_on`](Self::spawn_on)
    /// picks a loop thread of that runtime.
    pub fn handle(self, handle: &'a Handle) -> Builder<'a> {
        Builder {
            handle: Some(handle),
            ..self
        }
    }

    #[track_caller]
    fn meta(&self) -> TaskMeta {
        TaskMeta::new(Location::caller(), self.name.map(Box::from))
    }

    /// Spawns a `Send` future, as [`weft::spawn`](crate::spawn) does: on the current loop; or,
    /// with [`handle`](Self::handle), as [`Handle::spawn`] does.
    ///
    /// # Panics
    ///
    /// Without a handle, when called outside a weft loop.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = self.meta();
        match self.handle {
            Some(handle) => handle.spawn_with(future, meta),
            None => spawn_local_inner(future, meta),
        }
    }

    /// Spawns a future that need not be `Send` on the current loop, as
    /// [`weft::spawn_local`](crate::spawn_local) does. A handle set with
    /// [`handle`](Self::handle) is ignored: a `!Send` future cannot leave this thread.
    ///
    /// # Panics
    ///
    /// When called outside a weft loop.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_local_inner(future, self.meta())
    }

    /// Spawns a `Send` future at a chosen place, in either of two shapes:
    ///
    /// - `spawn_on(index, future)`: on loop thread `index`, as
    ///   [`Handle::spawn_on`](crate::rt::Handle::spawn_on) does, of the current runtime or of
    ///   the one given with [`handle`](Self::handle);
    /// - `spawn_on(future, &handle)` (tokio's shape): on the runtime of `handle`, placed as
    ///   [`Handle::spawn`] places it (this loop if it is one of that runtime's, otherwise its
    ///   loop threads in turn).
    ///
    /// ```
    /// let rt = weft::rt::Runtime::builder().loops(2).build().unwrap();
    /// let handle = rt.handle();
    /// let on_loop_1 = weft::task::Builder::new()
    ///     .name("on-loop-1")
    ///     .handle(&handle)
    ///     .spawn_on(1, async { 1 + 1 });
    /// let anywhere = weft::task::Builder::new()
    ///     .name("tokio-shaped")
    ///     .spawn_on(async { 3 }, &handle);
    /// assert_eq!(rt.block_on(on_loop_1).unwrap(), 2);
    /// assert_eq!(rt.block_on(anywhere).unwrap(), 3);
    /// ```
    ///
    /// # Panics
    ///
    /// With an index: if it is not below the runtime's number of loop threads, or, without a
    /// handle, when called outside a weft loop.
    #[track_caller]
    pub fn spawn_on<A, B>(self, first: A, second: B) -> JoinHandle<B::Output>
    where
        B: SpawnOnArg<A>,
    {
        second.spawn(first, Location::caller(), self.name, self.handle)
    }
}
