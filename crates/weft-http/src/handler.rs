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

    /// Whether the body of `request`, whose head has just arrived, is streamed to the handler
    /// (read as it arrives with [`Request::body_stream`]) instead of buffered whole, up to
    /// [`Limits::max_body_bytes`](crate::Limits::max_body_bytes), before [`call`](Handler::call).
    /// Asked only for requests that have a body. The default is to buffer; [`stream_body`]
    /// wraps a handler to stream, and [`Router`](crate::Router) asks the matching route's
    /// handler.
    fn streams_body(&self, request: &Request) -> bool {
        let _ = request;
        false
    }
}

/// A handler that streams every request body; see [`stream_body`].
#[derive(Clone, Copy, Debug)]
pub struct StreamBody<H>(H);

/// Makes `handler` read request bodies as they arrive ([`Request::body_stream`]) instead of
/// receiving them buffered: for uploads of any size, held one read at a time.
///
/// ```
/// use weft_http::{stream_body, Request, Response, Router};
/// let router = Router::new().post(
///     "/upload",
///     stream_body(|mut req: Request| async move {
///         let mut body = req.body_stream();
///         let mut total = 0;
///         while let Some(Ok(chunk)) = body.chunk().await {
///             total += chunk.len();
///         }
///         Response::text(format!("{total}"))
///     }),
/// );
/// # let _ = router;
/// ```
pub fn stream_body<H: Handler>(handler: H) -> StreamBody<H> {
    StreamBody(handler)
}

impl<H: Handler> Handler for StreamBody<H> {
    #[inline(always)]
    fn call(&self, request: Request) -> impl Future<Output = Response> + '_ {
        self.0.call(request)
    }

    fn streams_body(&self, _: &Request) -> bool {
        true
    }
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
