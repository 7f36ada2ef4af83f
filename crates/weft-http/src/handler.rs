//! The handler API: an asynchronous function from [`Request`] to [`Response`].
//!
//! Any `Fn(Request) -> impl Future<Output = Response>` is a [`Handler`], so
//! `async fn hello(_: Request) -> Response` and
//! `|req| async move { ... }` both work. [`Router`](crate::Router) is a
//! handler too.
//!
//! The returned future may borrow the handler (`+ '_`): the server keeps the
//! handler alive for as long as any of its futures. Futures need not be
//! `Send`: a connection and everything it runs stay on one event loop. The
//! server polls a handler's future once, inline, right after the request is
//! decoded; only a future that returns `Pending` is kept (in place, inside
//! the connection) and polled again on wake-up. A handler that answers
//! immediately therefore costs no allocation and no task switch.

use std::future::Future;

use crate::{Request, Response};

/// Something that answers requests. Implemented for every
/// `Fn(Request) -> impl Future<Output = Response> + 'static`.
///
/// ```
/// use weft_http::{Handler, Request, Response};
/// async fn hello(_req: Request) -> Response {
///     Response::text("Hello, World!")
/// }
/// fn assert_handler(_: impl Handler) {}
/// assert_handler(hello);
/// assert_handler(|req: Request| async move { Response::text(format!("{}", req.path())) });
/// ```
pub trait Handler: 'static {
    /// Answers one request.
    fn call(&self, request: Request) -> impl Future<Output = Response> + '_;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Response> + 'static,
{
    #[inline(always)]
    fn call(&self, request: Request) -> impl Future<Output = Response> + '_ {
        self(request)
    }
}
