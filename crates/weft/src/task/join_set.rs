//! A set of tasks whose outputs are taken in the order they finish.
//!
//! # Design
//!
//! The set keeps its members' `JoinHandle`s in a slab (a `Vec` of slots with a free list) and
//! never polls a member that has not finished: each member has its own waker, a `Member` that
//! knows its slot, and that waker is the one registered in the member's task. When the task
//! completes, the waker pushes the slot on the set's shared **ready list** and wakes whoever
//! awaits [`JoinSet::join_next`]. `join_next` then polls only the members on that list, so
//! taking `n` outputs costs `O(n)` member polls however many members wait (as tokio's
//! `IdleNotifiedSet` does).
//!
//! A new member's waker is registered in its task at once (one poll of the handle when it is
//! added), so the ready list holds members in the order their tasks finished, and that is the
//! order `join_next` returns them in. A slot carries a generation, so a ready entry left by a
//! member that has since been removed (its slot reused) is recognised and skipped.
//!
//! The ready list and the member wakers are in `ready_list` (shared with wakers on any loop,
//! loom-checked): a completion costs one lock; `join_next` moves the whole list into a
//! set-local buffer with one lock and works through it without the lock.

use super::ready_list::{Member, Ready, ReadyList};
use super::spawn_on::SpawnOnArg;
use super::{Id, JoinError, JoinHandle};
use crate::loom::Arc;
use crate::rt::coop;
use crate::rt::Handle;
use std::fmt;
use std::future::{poll_fn, Future};
use std::panic::Location;
use std::task::{Context, Poll, Waker};

/// A collection of spawned tasks, awaited in the order they finish.
///
/// Every task of the set is aborted when the set is dropped; [`detach_all`](Self::detach_all)
/// lets them run on instead. Like a `JoinHandle`, the set spawns on the current loop
/// ([`spawn`](Self::spawn), [`spawn_local`](Self::spawn_local)) or on a chosen loop thread of
/// the current runtime ([`spawn_on`](Self::spawn_on)).
///
/// ```
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     let mut set = weft::task::JoinSet::new();
///     for i in 0..3u32 {
///         set.spawn(async move { i * 10 });
///     }
///     let mut outputs = Vec::new();
///     while let Some(done) = set.join_next().await {
///         outputs.push(done.unwrap());
///     }
///     outputs.sort();
///     assert_eq!(outputs, [0, 10, 20]);
/// });
/// ```
pub struct JoinSet<T> {
    slots: Vec<Slot<T>>,
    /// Free slot indices.
    free: Vec<usize>,
    /// Ready entries taken off the shared list; those from `local_pos` on are still to be
    /// polled, in order.
    local_ready: Vec<Ready>,
    local_pos: usize,
    /// Number of members.
    len: usize,
    shared: Arc<ReadyList>,
}

struct Slot<T> {
    generation: u64,
    entry: Option<Entry<T>>,
}

struct Entry<T> {
    handle: JoinHandle<T>,
    member: Arc<Member>,
    waker: Waker,
    /// The output, when the task had already finished as it was added.
    early: Option<Result<T, JoinError>>,
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    pub fn new() -> JoinSet<T> {
        JoinSet {
            slots: Vec::new(),
            free: Vec::new(),
            local_ready: Vec::new(),
            local_pos: 0,
            len: 0,
            shared: Arc::new(ReadyList::new()),
        }
    }

    /// Number of tasks in the set (running, or finished and not yet taken).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a spawned task; it is aborted with the set.
    fn insert(&mut self, mut handle: JoinHandle<T>) {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot {
                generation: 0,
                entry: None,
            });
            self.slots.len() - 1
        });
        let slot = &mut self.slots[index];
        slot.generation += 1;
        let ready = Ready {
            index,
            generation: slot.generation,
        };
        let member = Arc::new(Member::new(self.shared.clone(), ready));
        let waker = Waker::from(member.clone());
        // Registers the member's waker in the task; completion will queue the member.
        let early = match handle.poll_output(&waker) {
            Poll::Ready(output) => {
                member.set_queued();
                self.local_ready.push(ready);
                Some(output)
            }
            Poll::Pending => None,
        };
        slot.entry = Some(Entry {
            handle,
            member,
            waker,
            early,
        });
        self.len += 1;
    }

    /// Spawns a `Send` future on the current loop (as [`weft::spawn`](crate::spawn)) and adds
    /// it to the set.
    ///
    /// # Panics
    ///
    /// Outside a weft loop.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> super::AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert_handle(super::spawn(future))
    }

    /// Spawns a future that need not be `Send` on the current loop (as
    /// [`weft::spawn_local`](crate::spawn_local)) and adds it to the set.
    ///
    /// # Panics
    ///
    /// Outside a weft loop.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> super::AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.insert_handle(super::spawn_local(future))
    }

    /// Spawns a `Send` future at a chosen place and adds it to the set, in either of two
    /// shapes:
    ///
    /// - `spawn_on(index, future)`: on loop thread `index` of the current runtime, as
    ///   [`Handle::spawn_on`](crate::rt::Handle::spawn_on) does. weft's loops are
    ///   shared-nothing and a task never leaves its loop, so choosing the loop is the useful
    ///   placement;
    /// - `spawn_on(future, &handle)` (tokio's shape): on the runtime of `handle`, placed as
    ///   [`Handle::spawn`] places it. Works from any thread.
    ///
    /// # Panics
    ///
    /// With an index: outside a weft loop, or if the index is not below the runtime's number
    /// of loop threads.
    #[track_caller]
    pub fn spawn_on<A, B>(&mut self, first: A, second: B) -> super::AbortHandle
    where
        B: SpawnOnArg<A, Output = T>,
    {
        self.insert_handle(second.spawn(first, Location::caller(), None, None))
    }

    /// tokio's `spawn_on(future, &handle)` under its own name (the same as
    /// [`spawn_on`](Self::spawn_on) with those arguments).
    #[track_caller]
    pub fn spawn_on_handle<F>(&mut self, future: F, handle: &Handle) -> super::AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.insert_handle(handle.spawn(future))
    }

    /// Runs the blocking closure `f` on the runtime's pool (as
    /// [`weft::spawn_blocking`](crate::spawn_blocking)) and adds a task that waits for it to
    /// the set; its output is `f`'s return value, and a panic in `f` is the task's
    /// [`JoinError`] (`is_panic`).
    ///
    /// Aborting the task (or dropping the set) cancels the job only if it has not started:
    /// a running closure cannot be stopped, its result is then dropped.
    ///
    /// # Panics
    ///
    /// Outside a weft loop.
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> super::AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn(blocking_task(crate::spawn_blocking(f)))
    }

    /// [`spawn_blocking`](Self::spawn_blocking) on the runtime of `handle`: the closure runs
    /// on that runtime's pool and the waiting task on its loops (placed as [`Handle::spawn`]
    /// places it). Works from any thread.
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> super::AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let job = handle.pool().spawn_blocking(f);
        self.insert_handle(handle.spawn(blocking_task(job)))
    }

    /// A [`Builder`] that names the next task (for diagnostics, [`JoinHandle::name`]) before
    /// adding it to this set.
    ///
    /// ```
    /// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
    /// rt.block_on(async {
    ///     let mut set = weft::task::JoinSet::new();
    ///     set.build_task().name("worker-1").spawn(async { 1 });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 1);
    /// });
    /// ```
    pub fn build_task(&mut self) -> Builder<'_, T> {
        Builder {
            set: self,
            builder: super::Builder::new(),
        }
    }

    fn insert_handle(&mut self, handle: JoinHandle<T>) -> super::AbortHandle {
        let abort = handle.abort_handle();
        self.insert(handle);
        abort
    }

    /// Waits for the next task to finish and returns its output; `None` if the set is empty.
    ///
    /// Outputs come in the order the tasks finish. A task that panicked or was aborted gives
    /// its [`JoinError`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no output is lost; every
    /// finished task stays in the set for the next call.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// [`join_next`](Self::join_next), with the finished task's [`Id`] (a failed task's is in
    /// its [`JoinError::id`]).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe, as `join_next`.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The output of a task that already finished, without waiting: `None` if no task of the
    /// set has finished (or the set is empty).
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.take_ready().map(|done| done.map(|(_, output)| output))
    }

    /// [`try_join_next`](Self::try_join_next), with the finished task's [`Id`].
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        self.take_ready()
    }

    /// Polls for the next output; see [`join_next`](Self::join_next).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|next| next.map(|done| done.map(|(_, output)| output)))
    }

    /// Polls for the next output with its task's id; see
    /// [`join_next_with_id`](Self::join_next_with_id).
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        if let Some(output) = self.take_ready() {
            return Poll::Ready(Some(output));
        }
        // Nothing ready: register, then look once more, for a completion that came in between.
        if !self.shared.register_unless_ready(cx.waker()) {
            coop::refund();
            return Poll::Pending;
        }
        match self.take_ready() {
            Some(output) => Poll::Ready(Some(output)),
            None => {
                // Only stale entries were there; they are gone now.
                cx.waker().wake_by_ref();
                coop::refund();
                Poll::Pending
            }
        }
    }

    /// Polls ready members until one yields its output.
    fn take_ready(&mut self) -> Option<Result<(Id, T), JoinError>> {
        loop {
            if self.local_pos == self.local_ready.len() {
                self.local_ready.clear();
                self.local_pos = 0;
                if !self.shared.take_all(&mut self.local_ready) {
                    return None;
                }
            }
            while let Some(&ready) = self.local_ready.get(self.local_pos) {
                self.local_pos += 1;
                let slot = &mut self.slots[ready.index];
                if slot.generation != ready.generation {
                    continue;
                }
                let Some(entry) = slot.entry.as_mut() else {
                    continue;
                };
                // Clear before polling, so that a completion after this poll queues it again.
                entry.member.clear();
                let polled = match entry.early.take() {
                    Some(output) => Poll::Ready(output),
                    None => entry.handle.poll_output(&entry.waker),
                };
                if let Poll::Ready(output) = polled {
                    let id = entry.handle.id();
                    let output = output.map(|value| (id, value));
                    slot.entry = None;
                    self.free.push(ready.index);
                    self.len -= 1;
                    return Some(output);
                }
            }
        }
    }

    /// Waits for every task and returns their outputs in the order they finished.
    ///
    /// # Panics
    ///
    /// If a task panicked, its panic is resumed here; if a task was aborted, this panics with
    /// the [`JoinError`]. (Use [`join_next`](Self::join_next) to handle them.)
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: outputs taken before the future is dropped are lost (the tasks still
    /// running stay in the set).
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len);
        while let Some(done) = self.join_next().await {
            match done {
                Ok(output) => outputs.push(output),
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                Err(err) => panic!("JoinSet::join_all: {err}"),
            }
        }
        outputs
    }

    /// Aborts every task of the set. They stay in the set: [`join_next`](Self::join_next)
    /// returns each one's cancelled [`JoinError`] (or its output, if it had finished).
    pub fn abort_all(&mut self) {
        for entry in self.slots.iter().filter_map(|s| s.entry.as_ref()) {
            entry.handle.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on, detached.
    pub fn detach_all(&mut self) {
        for slot in &mut self.slots {
            slot.entry = None;
        }
        self.free.clear();
        self.free.extend(0..self.slots.len());
        self.local_ready.clear();
        self.local_pos = 0;
        self.shared.clear();
        self.len = 0;
    }

    /// Aborts every task and waits until all of them have finished (their futures dropped),
    /// discarding their outputs.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future leaves the remaining (aborted) tasks in the set.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

/// Spawns each future on the current loop, as [`JoinSet::spawn`].
///
/// # Panics
///
/// Outside a weft loop.
impl<T, F> FromIterator<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(futures: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(futures);
        set
    }
}

/// Spawns each future on the current loop, as [`JoinSet::spawn`].
impl<T, F> Extend<F> for JoinSet<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, futures: I) {
        for future in futures {
            self.spawn(future);
        }
    }
}

/// The task [`JoinSet::spawn_blocking`] adds: waits for the pool job and gives its result,
/// re-raising its panic so that the set reports it as the task's.
async fn blocking_task<T>(job: crate::pool::JobHandle<T>) -> T {
    match job.await {
        Ok(value) => value,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("weft::task::JoinSet::spawn_blocking: the pool job did not run: {e}"),
    }
}

/// Names a task, then spawns it into a [`JoinSet`] (from [`JoinSet::build_task`]): the
/// [`task::Builder`](super::Builder)'s spawns, each adding the task to the set and returning
/// its [`AbortHandle`](super::AbortHandle).
#[must_use = "a Builder spawns nothing until one of its spawn methods is called"]
pub struct Builder<'a, T> {
    set: &'a mut JoinSet<T>,
    builder: super::Builder<'a>,
}

impl<'a, T> Builder<'a, T> {
    /// Names the task.
    pub fn name(self, name: &'a str) -> Builder<'a, T> {
        Builder {
            builder: self.builder.name(name),
            ..self
        }
    }

    /// [`JoinSet::spawn`], with the name.
    ///
    /// # Panics
    ///
    /// Outside a weft loop.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> super::AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.set.insert_handle(self.builder.spawn(future))
    }

    /// [`JoinSet::spawn_local`], with the name.
    ///
    /// # Panics
    ///
    /// Outside a weft loop.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> super::AbortHandle
    where
        F: Future<Output = T> + 'static,
        T: 'static,
    {
        self.set.insert_handle(self.builder.spawn_local(future))
    }

    /// [`JoinSet::spawn_on`] (either shape), with the name.
    ///
    /// # Panics
    ///
    /// As [`JoinSet::spawn_on`].
    #[track_caller]
    pub fn spawn_on<A, B>(self, first: A, second: B) -> super::AbortHandle
    where
        B: SpawnOnArg<A, Output = T>,
    {
        self.set.insert_handle(self.builder.spawn_on(first, second))
    }

    /// [`JoinSet::spawn_blocking`], the waiting task carrying the name.
    ///
    /// # Panics
    ///
    /// Outside a weft loop.
    #[track_caller]
    pub fn spawn_blocking<F>(self, f: F) -> super::AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let job = crate::spawn_blocking(f);
        self.set
            .insert_handle(self.builder.spawn(blocking_task(job)))
    }
}

impl<T> fmt::Debug for Builder<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("join_set::Builder")
            .field("builder", &self.builder)
            .finish_non_exhaustive()
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
