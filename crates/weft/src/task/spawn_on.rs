//! The two shapes `spawn_on` accepts: weft's `spawn_on(index, future)` (loop thread `index` of
//! the current runtime, as [`Handle::spawn_on`]) and tokio's `spawn_on(future, &handle)` (the
//! runtime of `handle`, placed as [`Handle::spawn`] places it).
//!
//! One method serves both through [`SpawnOnArg`], a sealed trait on the **second** argument:
//! a future (the first is then the index) or a `&Handle` (the first is then the future).
//! Only weft can implement `Future` for `&Handle`, so the two impls never overlap and the
//! compiler picks one from the argument types alone; an integer literal index becomes a
//! `usize`.

use super::JoinHandle;
use crate::rt::task::TaskMeta;
use crate::rt::Handle;
use std::future::Future;
use std::panic::Location;

mod sealed {
    /// Keeps [`SpawnOnArg`](super::SpawnOnArg) to weft's two impls.
    pub trait Sealed<First> {}
}

/// The second argument of a `spawn_on`: a future (after a loop index) or a `&Handle` (after a
/// future). Implemented only by weft; see [`Builder::spawn_on`](super::Builder::spawn_on) and
/// [`JoinSet::spawn_on`](super::JoinSet::spawn_on).
#[diagnostic::on_unimplemented(
    message = "`spawn_on` takes `(index, future)` or `(future, &Handle)`, not `({First}, {Self})`",
    label = "expected a `Send + 'static` future after an index, or a `&weft::rt::Handle` after a future"
)]
pub trait SpawnOnArg<First>: sealed::Sealed<First> {
    /// The task's output.
    type Output;

    /// Spawns the task; `site` and `name` are its identity, `handle` the runtime a
    /// `Builder` was given (weft's shape only; tokio's names its own).
    #[doc(hidden)]
    fn spawn(
        self,
        first: First,
        site: &'static Location<'static>,
        name: Option<&str>,
        handle: Option<&Handle>,
    ) -> JoinHandle<Self::Output>;
}

impl<F> sealed::Sealed<usize> for F where F: Future + Send + 'static {}

/// weft's shape: `spawn_on(index, future)`.
impl<F> SpawnOnArg<usize> for F
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;

    #[track_caller]
    fn spawn(
        self,
        index: usize,
        site: &'static Location<'static>,
        name: Option<&str>,
        handle: Option<&Handle>,
    ) -> JoinHandle<F::Output> {
        let meta = TaskMeta::new(site, name.map(Box::from));
        match handle {
            Some(handle) => handle.spawn_on_with(index, self, meta),
            None => Handle::current().spawn_on_with(index, self, meta),
        }
    }
}

impl<F> sealed::Sealed<F> for &Handle where F: Future + Send + 'static {}

/// tokio's shape: `spawn_on(future, &handle)`.
impl<F> SpawnOnArg<F> for &Handle
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    type Output = F::Output;

    fn spawn(
        self,
        future: F,
        site: &'static Location<'static>,
        name: Option<&str>,
        _builder_handle: Option<&Handle>,
    ) -> JoinHandle<F::Output> {
        self.spawn_with(future, TaskMeta::new(site, name.map(Box::from)))
    }
}
