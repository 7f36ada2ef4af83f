//! `Incoming`: a listener's connections as a `futures_core::Stream`.
//!
//! Each item is one `accept()`: the same back-off under descriptor exhaustion, the same
//! errors. The stream never ends; a listener is closed by dropping it (after the stream).

use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

type Accept<'a, S> = Pin<Box<dyn Future<Output = io::Result<S>> + Send + 'a>>;

/// The connections of a listener, from
/// [`TcpListener::incoming`](super::TcpListener::incoming) or
/// [`UnixListener::incoming`](super::UnixListener::incoming).
///
/// # Cancel safety
///
/// Dropping the stream between items loses nothing: a connection is taken from the kernel's
/// queue only when an item is produced.
pub struct Incoming<'a, S> {
    accept: Box<dyn FnMut() -> Accept<'a, S> + Send + 'a>,
    pending: Option<Accept<'a, S>>,
}

impl<S> fmt::Debug for Incoming<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("accepting", &self.pending.is_some())
            .finish()
    }
}

impl<'a, S> Incoming<'a, S> {
    pub(crate) fn new(accept: impl FnMut() -> Accept<'a, S> + Send + 'a) -> Incoming<'a, S> {
        Incoming {
            accept: Box::new(accept),
            pending: None,
        }
    }
}

impl<S> Stream for Incoming<'_, S> {
    type Item = io::Result<S>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let pending = this.pending.get_or_insert_with(&mut this.accept);
        let result = std::task::ready!(pending.as_mut().poll(cx));
        this.pending = None;
        Poll::Ready(Some(result))
    }
}
