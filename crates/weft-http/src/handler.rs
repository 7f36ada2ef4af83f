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
use std::pin::Pin;
use std::task::{Context, Poll};

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

/// One of two handlers, chosen when the application is built: a layer that configuration
/// turns on or off (`weft serve`'s access log) without a wrapper in the path when it is off.
///
/// ```
/// use weft_http::{Either, Handler, Request, Response};
/// async fn plain(_: Request) -> Response {
///     Response::text("plain")
/// }
/// async fn fancy(_: Request) -> Response {
///     Response::text("fancy")
/// }
/// fn app(fancy_on: bool) -> impl Handler {
///     if fancy_on { Either::Left(fancy) } else { Either::Right(plain) }
/// }
/// # let _ = app(true);
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Either<A, B> {
    /// The first handler.
    Left(A),
    /// The second handler.
    Right(B),
}

impl<A: Handler, B: Handler> Handler for Either<A, B> {
    #[inline(always)]
    fn call(&self, request: Request) -> impl Future<Output = Response> + '_ {
        match self {
            Either::Left(a) => Branch::First {
                future: a.call(request),
            },
            Either::Right(b) => Branch::Second {
                future: b.call(request),
            },
        }
    }

    fn streams_body(&self, request: &Request) -> bool {
        match self {
            Either::Left(a) => a.streams_body(request),
            Either::Right(b) => b.streams_body(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// One of two futures: the future type of a dispatch through a route
    /// list (this route's handler or an earlier route's), and of [`Either`]. Built synchronously
    /// when the route is chosen, so the request is moved once, into the
    /// handler, not once per level of the list.
    #[project = BranchProj]
    #[derive(Debug)]
    pub(crate) enum Branch<A, B> {
        First { #[pin] future: A },
        Second { #[pin] future: B },
    }
}

impl<A, B> Future for Branch<A, B>
where
    A: Future<Output = Response>,
    B: Future<Output = Response>,
{
    type Output = Response;

    // Inlined down to the handler's own future (here and in the router's
    // dispatch): the connection then builds the future and reads the response
    // where they are written, instead of copying freshly written structs
    // across calls, which stalls the CPU's store forwarding.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match self.project() {
            BranchProj::First { future } => future.poll(cx),
            BranchProj::Second { future } => future.poll(cx),
        }
    }
}
