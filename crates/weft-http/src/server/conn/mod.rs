//! The connection driver: one task per connection, speaking HTTP/1.1 over
//! any futures-io stream ([`Io`]): a `weft::net::TcpStream`, or a TLS stream
//! over one. The driver is generic over it, so the plain TCP path compiles
//! to the same direct socket calls as before; a buffering stream (TLS) is
//! flushed after each batch's writes.
//!
//! # The fast path
//!
//! A connection that is between requests owns no buffer. When its socket
//! becomes readable it reads into the loop's scratch buffer (one per thread,
//! [`READ_SCRATCH_BYTES`]), decodes every complete request in what arrived,
//! calls the handler for each and polls the handler's future once, inline.
//! Each finished response is encoded into the loop's scratch output buffer.
//! When the batch is done, the output is written with one `send`. So N
//! pipelined requests that arrive in one read are answered in one write, and
//! a request whose handler answers at once costs no allocation.
//!
//! Only leftovers are copied into the connection: the unfinished tail of a
//! request (`inbuf`) and the part of the output the socket did not accept
//! (`outbuf`). Both are freed once empty.
//!
//! # The slow paths
//!
//! - **A handler that waits** (returns `Pending`): its future stays where it
//!   was created (a slot in the connection task), responses already encoded
//!   are flushed, and reading stops. Later requests of the batch wait in
//!   `inbuf` (`stalled`) and are decoded, in order, after the response.
//! - **A streamed body**: chunks are encoded as the stream yields them and
//!   flushed every [`STREAM_FLUSH_BYTES`]; the next request waits likewise.
//! - **A streamed request body** (the handler asked for it, see
//!   [`Handler::streams_body`]): the handler is called at the end of the
//!   head. While it waits and its reader asks for more
//!   ([`request_body`](crate::request_body)), the connection reads the
//!   socket, decodes, and hands the bytes over, one read at a time; when the
//!   reader does not ask, nothing is read. `100 Continue` goes out when the
//!   reader first asks. A response sent before the body ended closes the
//!   connection.
//! - **A slow reader**: output not accepted by the socket stays in `outbuf`
//!   and the connection reads nothing more until it is flushed
//!   (backpressure).
//!
//! # States and time limits
//!
//! Whenever the task is about to return `Pending` it is waiting for one
//! thing ([`Wait`]), and that decides its deadline (see [`Timeouts`]):
//! `Head` (nothing or part of a head received: 408 if part, silent close if
//! nothing), `Body` (408; for a streamed body the reader gets the 408 error,
//! and the limit is the longest silence between two reads rather than the
//! whole body's time), `Idle` between requests (close), `Write` (close),
//! `Handler` (no deadline: the handler owns its time), `Linger` (close).
//! One [`Sleep`] per connection is armed lazily: moving a deadline later just
//! records it, and the timer re-arms when it fires early. So a busy
//! keep-alive connection touches the timer wheel about once per idle period,
//! not per request.
//!
//! # Closing
//!
//! After an error answer or a `Connection: close` response the connection
//! half-closes (FIN), then reads and discards input until the client closes,
//! [`Timeouts::linger`] passes, or [`LINGER_MAX_BYTES`](crate::limits::LINGER_MAX_BYTES) were discarded, so the
//! kernel does not answer unread input with a reset that could destroy the
//! response in flight.
//!
//! A handler that panics is answered `500` and the connection closes; the
//! loop and every other connection carry on.

use std::future::{poll_fn, Future};

use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};
use weft::time::Sleep;

use super::connections::ConnectionSet;
use crate::limits::Timeouts;
use crate::proto::decode::{DecodeState, Found};
use crate::proto::encode::{
    self, encode_chunk, encode_error, Answering, Rest, CONTINUE, LAST_CHUNK,
};
use crate::proto::STREAM_FLUSH_BYTES;
use crate::request_body::{Demand, Inflow};
use crate::response::BodyStream;
use crate::{Handler, HttpError, Request, Response, StatusCode};

mod deadline;
mod output;
mod streamed;

use deadline::{Clock, Wait};
use output::Scratch;

/// Size of the per-loop read buffer: a read batch can hold this many bytes of
/// pipelined requests (hundreds of typical requests) or body.
pub(crate) const READ_SCRATCH_BYTES: usize = 64 * 1024;

/// Bytes read per call into a connection's own buffer, used only while it
/// holds the unfinished head of a request.
const INBUF_READ_BYTES: usize = 4096;

/// Output encoded before a batch stops decoding requests and flushes: bounds
/// the memory a pipelining client can make one batch use.
const MAX_BATCH_OUTPUT: usize = 256 * 1024;

/// What one step of the driver decided.
enum Next {
    /// Progress was made; run another step.
    Again,
    /// Park until woken, waiting for this.
    Wait(Wait),
    /// Close the connection (drop it).
    Done,
}

struct Streaming {
    body: BodyStream,
    chunked: bool,
}

/// Serves one connection until it closes. `handler` answers its requests.
///
/// The connection joins `set` now, when the acceptor calls this, not when
/// the returned task first runs: a drain that begins in between (the
/// acceptor's last accepts come just before it) must count and wait for it,
/// or the server could stop with the connection accepted and unanswered.
pub(crate) fn run<H: Handler, S: Io>(
    stream: S,
    remote: SocketAddr,
    handler: Rc<H>,
    set: Rc<ConnectionSet>,
) -> impl Future<Output = ()> {
    let mut conn = Connection::new(stream, remote, set);
    async move {
        let handler = &*handler;
        let make = |request: Request| handler.call(request);
        let stream = |request: &Request| handler.streams_body(request);
        let io = Calls {
            make: &make,
            stream: &stream,
        };
        let mut slot = pin!(None);
        poll_fn(|cx| conn.poll(cx, slot.as_mut(), &io)).await;
    }
}

/// The handler, as the connection calls it: one bound in place of the
/// future, starter and predicate types every driver method would repeat.
/// (A [`Handler`]'s future is an anonymous `impl Future`; the trait names it
/// as [`Dispatch::Future`] so that the connection can keep it in its slot.)
trait Dispatch {
    /// A request's answer in progress.
    type Future: Future<Output = Response>;

    /// Starts answering `request`.
    fn start(&self, request: Request) -> Self::Future;

    /// Whether the body of `request` is streamed to the handler.
    fn streams_body(&self, request: &Request) -> bool;
}

/// [`Dispatch`] over a handler's two calls: `make` starts a request's future,
/// `stream` says whether a request's body is streamed to it.
struct Calls<'a, M, S> {
    make: &'a M,
    stream: &'a S,
}

impl<F, M, S> Dispatch for Calls<'_, M, S>
where
    F: Future<Output = Response>,
    M: Fn(Request) -> F,
    S: Fn(&Request) -> bool,
{
    type Future = F;

    #[inline(always)]
    fn start(&self, request: Request) -> F {
        (self.make)(request)
    }

    #[inline(always)]
    fn streams_body(&self, request: &Request) -> bool {
        (self.stream)(request)
    }
}

/// What a connection runs over: a byte stream (futures-io).
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + 'static> Io for T {}

/// The state of one connection. See the [module docs](self).
struct Connection<S> {
    stream: S,
    set: Rc<ConnectionSet>,
    id: usize,
    decoder: DecodeState,
    /// Unconsumed input: the unfinished tail of a request, or requests
    /// waiting behind a pending handler (`stalled`).
    inbuf: Vec<u8>,
    /// Output the socket has not accepted yet.
    outbuf: Vec<u8>,
    /// `inbuf` may hold complete requests not decoded yet.
    stalled: bool,
    /// No request has been received yet (the first head is timed from accept).
    fresh: bool,
    /// The answering answered by the handler future in the slot.
    pending: Option<Answering>,
    /// The feed of the request body being streamed to the handler.
    inflow: Option<Arc<Inflow>>,
    /// The streamed body's client waits for `100 Continue`, not sent yet.
    continue_due: bool,
    streaming: Option<Streaming>,
    /// The connection closes once the output is flushed.
    closing: bool,
    /// The sending side was shut down (lingering).
    write_shut: bool,
    lingered: usize,
    wait: Wait,
    /// The current wait's deadline must be recomputed (a request completed
    /// or output made progress since it was set).
    wait_stale: bool,
    deadline: Option<Instant>,
    timer: Sleep,
    timer_armed: bool,
}

impl<S> Drop for Connection<S> {
    fn drop(&mut self) {
        self.set.leave(self.id);
    }
}

impl<S: Io> Connection<S> {
    fn new(stream: S, remote: SocketAddr, set: Rc<ConnectionSet>) -> Connection<S> {
        let id = set.join();
        let config = set.config;
        let deadline = weft::time::now() + config.timeouts.header_read;
        Connection {
            stream,
            id,
            decoder: DecodeState::for_client(remote),
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            stalled: false,
            fresh: true,
            pending: None,
            inflow: None,
            continue_due: false,
            streaming: None,
            closing: false,
            write_shut: false,
            lingered: 0,
            // A new connection waits for its first head, timed from accept.
            wait: Wait::Head,
            wait_stale: false,
            deadline: Some(deadline),
            timer: weft::time::sleep_until(deadline),
            timer_armed: false,
            set,
        }
    }

    fn timeouts(&self) -> Timeouts {
        self.set.config.timeouts
    }

    fn poll<D: Dispatch>(
        &mut self,
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<D::Future>>,
        io: &D,
    ) -> Poll<()> {
        let mut scratch = Scratch::take();
        let mut clock = Clock::default();
        let result = loop {
            if self.set.aborted() {
                break Poll::Ready(());
            }
            match self.step(cx, slot.as_mut(), io, &mut scratch, &mut clock) {
                Next::Again => continue,
                Next::Done => break Poll::Ready(()),
                Next::Wait(wait) => {
                    // Draining: a lingering close ends now.
                    if self.set.draining() && wait == Wait::Linger {
                        break Poll::Ready(());
                    }
                    self.set_wait(wait, &mut clock);
                    // A connection accepted just before the drain whose first request is
                    // still on its way, and an idle keep-alive connection whose client may
                    // have sent its next request already, get the drain's quiet period
                    // (`connections`) before they close; a request that arrives meanwhile is
                    // answered with `Connection: close`. A head already partly received is a
                    // request arriving: it keeps its header deadline (a slow client's head
                    // is answered, or 408), bounded by the drain timeout.
                    let silent =
                        wait == Wait::Idle || (wait == Wait::Head && self.inbuf.is_empty());
                    if let (true, Some(grace_end)) = (silent, self.set.drain_grace_end()) {
                        self.deadline = Some(self.deadline.map_or(grace_end, |d| d.min(grace_end)));
                    }
                    if !self.deadline_passed(cx, &mut clock) {
                        break Poll::Pending;
                    }
                    if !self.on_timeout(&mut scratch.out, &mut clock) {
                        break Poll::Ready(());
                    }
                }
            }
        };
        scratch.give_back();
        if result.is_pending() {
            self.set.park(self.id, cx.waker());
        }
        result
    }

    /// One step of the driver: finish what is in flight, then read.
    fn step<D: Dispatch>(
        &mut self,
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<D::Future>>,
        io: &D,
        scratch: &mut Scratch,
        clock: &mut Clock,
    ) -> Next {
        let Scratch { input, out } = scratch;

        // 1. A handler that was pending (and may be reading a streamed body).
        if let Some(future) = slot.as_mut().as_pin_mut() {
            match poll_handler(|| future.poll(cx)) {
                Poll::Pending => {
                    let demand = self.inflow.as_ref().map(|f| Inflow::demand(f, cx.waker()));
                    if demand == Some(Demand::Read) {
                        return self.pump_body(cx, input, out);
                    }
                    return self.flush_then_wait(cx, out, Wait::Handler);
                }
                Poll::Ready(mut response) => {
                    slot.set(None);
                    let answering = self
                        .pending
                        .take()
                        .expect("a pending handler has its answering");
                    self.respond(&mut response, answering, out, clock);
                }
            }
        }

        // 2. A streamed body.
        if let Some(streaming) = &mut self.streaming {
            loop {
                match futures_core::Stream::poll_next(streaming.body.as_mut(), cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        if streaming.chunked {
                            encode_chunk(out, &chunk);
                        } else {
                            out.extend_from_slice(&chunk);
                        }
                        if out.len() >= STREAM_FLUSH_BYTES {
                            break;
                        }
                    }
                    Poll::Ready(None) => {
                        if streaming.chunked {
                            out.extend_from_slice(LAST_CHUNK);
                        }
                        self.streaming = None;
                        break;
                    }
                    // The response cannot be completed: close without the
                    // final chunk so the client sees it truncated.
                    Poll::Ready(Some(Err(_))) => {
                        let _ = self.flush(cx, out);
                        return Next::Done;
                    }
                    Poll::Pending => return self.flush_then_wait(cx, out, Wait::Handler),
                }
            }
        }

        // 3. Output.
        match self.flush(cx, out) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Next::Done,
            Poll::Pending => return Next::Wait(Wait::Write),
        }
        if self.streaming.is_some() {
            return Next::Again;
        }

        // 4. Closing.
        if self.closing {
            return self.linger(cx, input);
        }

        // 5. Requests that waited behind a handler or a stream.
        if self.stalled {
            self.stalled = false;
            let mut data = std::mem::take(&mut self.inbuf);
            let used = self.process(&data, cx, slot, io, out, clock);
            data.drain(..used);
            self.keep_leftover(data);
            return Next::Again;
        }

        // 6. Read.
        if self.inbuf.is_empty() {
            match Pin::new(&mut self.stream).poll_read(cx, &mut input[..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Next::Done,
                Poll::Ready(Ok(n)) => {
                    let used = self.process(&input[..n], cx, slot, io, out, clock);
                    if used < n {
                        self.inbuf.extend_from_slice(&input[used..n]);
                    }
                    Next::Again
                }
                Poll::Pending => Next::Wait(self.input_wait()),
            }
        } else {
            let len = self.inbuf.len();
            self.inbuf.resize(len + INBUF_READ_BYTES, 0);
            match Pin::new(&mut self.stream).poll_read(cx, &mut self.inbuf[len..]) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Next::Done,
                Poll::Ready(Ok(n)) => {
                    self.inbuf.truncate(len + n);
                    let mut data = std::mem::take(&mut self.inbuf);
                    let used = self.process(&data, cx, slot, io, out, clock);
                    data.drain(..used);
                    self.keep_leftover(data);
                    Next::Again
                }
                Poll::Pending => {
                    self.inbuf.truncate(len);
                    Next::Wait(self.input_wait())
                }
            }
        }
    }

    /// Decodes and answers the requests in `data`, in order; returns how many
    /// bytes were consumed. Stops at the first incomplete request, a pending
    /// handler, a streamed body, a full batch, or the end of the connection.
    ///
    /// A handler that panics (creating its future or polling it) is answered
    /// `500` and the connection closes; the responses before it in the batch
    /// still go out. The guard covers the whole batch rather than each
    /// request: per request, building the guarded closure cost more than the
    /// rest of the dispatch.
    fn process<D: Dispatch>(
        &mut self,
        data: &[u8],
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<D::Future>>,
        io: &D,
        out: &mut Vec<u8>,
        clock: &mut Clock,
    ) -> usize {
        let batch = catch_unwind(AssertUnwindSafe(|| {
            self.process_unguarded(data, cx, slot.as_mut(), io, out, clock)
        }));
        match batch {
            Ok(used) => used,
            Err(_) => {
                // Drop what the panicking handler left behind and answer it.
                slot.set(None);
                self.streaming = None;
                self.stalled = false;
                let answering = self.pending.take().unwrap_or_else(Answering::failed);
                self.respond(&mut handler_panicked(), answering, out, clock);
                data.len()
            }
        }
    }

    /// [`process`](Self::process) without the panic guard. While a handler
    /// runs, `pending` holds the answering it answers.
    fn process_unguarded<D: Dispatch>(
        &mut self,
        data: &[u8],
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<D::Future>>,
        io: &D,
        out: &mut Vec<u8>,
        clock: &mut Clock,
    ) -> usize {
        let mut at = 0;
        loop {
            let (used, found) =
                self.decoder
                    .decode_next(&data[at..], &self.set.config.limits, &|r: &Request| {
                        io.streams_body(r)
                    });
            at += used;
            match found {
                Found::Failed => {
                    let error = self.decoder.take_error();
                    self.refuse(error, out, clock);
                    return data.len();
                }
                Found::NeedMore => return at,
                Found::Continue => out.extend_from_slice(CONTINUE),
                found @ (Found::Request | Found::Streamed) => {
                    let mut request = self.decoder.take_request();
                    if found == Found::Streamed {
                        at += self.start_streamed(&mut request, &data[at..]);
                    }
                    self.wait_stale = true;
                    self.fresh = false;
                    self.pending = Some(Answering::of(&request));
                    slot.set(Some(io.start(request)));
                    // Matched by reference: the response is encoded where
                    // the handler wrote it (see `Response::take_parts`).
                    let mut polled = slot.as_mut().as_pin_mut().expect("just set").poll(cx);
                    match &mut polled {
                        Poll::Pending => {
                            self.stalled = at < data.len();
                            return at;
                        }
                        Poll::Ready(response) => {
                            slot.set(None);
                            let answering = self.pending.take().expect("set before the call");
                            self.respond(response, answering, out, clock);
                            if self.closing && self.streaming.is_none() {
                                return data.len();
                            }
                            if self.streaming.is_some() || out.len() >= MAX_BATCH_OUTPUT {
                                self.stalled = at < data.len();
                                return at;
                            }
                        }
                    }
                }
            }
        }
    }

    fn respond(
        &mut self,
        response: &mut Response,
        answering: Answering,
        out: &mut Vec<u8>,
        clock: &mut Clock,
    ) {
        let mut close = self.set.draining();
        if self.inflow.is_some() {
            close |= self.end_streamed();
        }
        let (rest, keep_alive) =
            encode::encode_in_place(out, response, answering, clock.stamp(), close);
        if !keep_alive {
            self.closing = true;
        }
        if let Rest::Stream { body, chunked } = rest {
            self.streaming = Some(Streaming { body, chunked });
        }
    }

    fn refuse(&mut self, error: HttpError, out: &mut Vec<u8>, clock: &mut Clock) {
        encode_error(out, error, clock.stamp());
        self.closing = true;
        self.stalled = false;
    }

    /// Stores unconsumed input (freeing the buffer if there is none).
    fn keep_leftover(&mut self, data: Vec<u8>) {
        self.inbuf = if data.is_empty() { Vec::new() } else { data };
    }
}

/// Polls a handler, turning a panic into a `500` that closes the connection.
fn poll_handler(poll: impl FnOnce() -> Poll<Response>) -> Poll<Response> {
    match catch_unwind(AssertUnwindSafe(poll)) {
        Ok(polled) => polled,
        Err(_) => Poll::Ready(handler_panicked()),
    }
}

/// The answer to a request whose handler panicked; the connection closes.
fn handler_panicked() -> Response {
    Response::error(StatusCode::INTERNAL_SERVER_ERROR, "internal server error").close()
}
