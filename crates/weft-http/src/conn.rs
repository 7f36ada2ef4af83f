//! The connection driver: one task per TCP connection, speaking HTTP/1.1
//! over a `weft::net::TcpStream`.
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
//! [`Timeouts::linger`] passes, or [`LINGER_MAX_BYTES`] were discarded, so the
//! kernel does not answer unread input with a reset that could destroy the
//! response in flight.
//!
//! A handler that panics is answered `500` and the connection closes; the
//! loop and every other connection carry on.

use std::future::{poll_fn, Future};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use weft::net::TcpStream;
use weft::time::Sleep;

use crate::connections::ConnectionSet;
use crate::date::{self, Stamp};
use crate::decode::{Found, Phase, RequestDecoder};
use crate::encode::{self, encode_chunk, encode_error, Exchange, Rest, CONTINUE, LAST_CHUNK};
use crate::limits::{Timeouts, LINGER_MAX_BYTES};
use crate::proto;
use crate::request_body::{Demand, Inflow};
use crate::response::BodyStream;
use crate::{Handler, HttpError, Request, Response, StatusCode};
use std::sync::Arc;

/// Size of the per-loop read buffer: a read batch can hold this many bytes of
/// pipelined requests (hundreds of typical requests) or body.
pub(crate) const READ_SCRATCH_BYTES: usize = 64 * 1024;

/// Bytes read per call into a connection's own buffer, used only while it
/// holds the unfinished head of a request.
const INBUF_READ_BYTES: usize = 4096;

/// Output the loop's scratch buffer keeps between batches; a batch that grew
/// it further (a large body) gives the excess back.
const OUTPUT_SCRATCH_KEEP: usize = 256 * 1024;

/// Output encoded before a batch stops decoding requests and flushes: bounds
/// the memory a pipelining client can make one batch use.
const MAX_BATCH_OUTPUT: usize = 256 * 1024;

/// Streamed body bytes gathered before they are written.
pub(crate) const STREAM_FLUSH_BYTES: usize = 64 * 1024;

/// What a connection waits for when it returns `Pending`; decides the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Nothing or part of a request head received.
    Head,
    /// Part of a request body received.
    Body,
    /// A response was sent; waiting for the next request.
    Idle,
    /// A handler or a body stream is working.
    Handler,
    /// The socket does not accept output.
    Write,
    /// Half-closed, discarding input before the final close.
    Linger,
}

/// What one step of the driver decided.
enum Next {
    /// Progress was made; run another step.
    Again,
    /// Park until woken, waiting for this.
    Wait(Wait),
    /// Close the connection (drop it).
    Done,
}

/// Per-loop buffers shared by all connections of the loop, one batch at a time.
struct Scratch {
    input: Box<[u8]>,
    out: Vec<u8>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Option<Box<Scratch>>> = const { std::cell::Cell::new(None) };
}

impl Scratch {
    /// This loop's scratch buffers (a fresh set in the unusual case that
    /// they are in use further up the stack).
    fn take() -> Box<Scratch> {
        SCRATCH.take().unwrap_or_else(|| {
            Box::new(Scratch {
                input: vec![0; READ_SCRATCH_BYTES].into_boxed_slice(),
                out: Vec::with_capacity(16 * 1024),
            })
        })
    }

    fn give_back(mut self: Box<Scratch>) {
        self.out.clear();
        if self.out.capacity() > OUTPUT_SCRATCH_KEEP {
            self.out.shrink_to(OUTPUT_SCRATCH_KEEP);
        }
        SCRATCH.set(Some(self));
    }
}

/// The time of one poll: the loop's cached clock ([`weft::time::now`], read
/// at most once per loop iteration), taken only if needed.
#[derive(Default)]
struct Clock {
    now: Option<Instant>,
    stamp: Option<Stamp>,
}

impl Clock {
    fn now(&mut self) -> Instant {
        *self.now.get_or_insert_with(weft::time::now)
    }

    /// The `Server`/`Date` stamp for this poll's instant.
    fn stamp(&mut self) -> &Stamp {
        let now = self.now();
        self.stamp.get_or_insert_with(|| date::stamp(now))
    }
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
pub(crate) fn run<H: Handler>(
    stream: TcpStream,
    remote: SocketAddr,
    handler: Rc<H>,
    set: Rc<ConnectionSet>,
) -> impl Future<Output = ()> {
    let mut conn = Connection::new(stream, remote, set);
    async move {
        let handler = &*handler;
        let make = |request: Request| handler.call(request);
        let stream = |request: &Request| handler.streams_body(request);
        let io = Dispatch {
            make: &make,
            stream: &stream,
        };
        let mut slot = pin!(None);
        poll_fn(|cx| conn.poll(cx, slot.as_mut(), &io)).await;
    }
}

/// The handler, as the connection calls it: `make` starts a request's
/// future, `stream` says whether a request's body is streamed to it.
struct Dispatch<'a, M, S> {
    make: &'a M,
    stream: &'a S,
}

/// The state of one connection. See the [module docs](self).
struct Connection {
    stream: TcpStream,
    set: Rc<ConnectionSet>,
    id: usize,
    decoder: RequestDecoder,
    /// Unconsumed input: the unfinished tail of a request, or requests
    /// waiting behind a pending handler (`stalled`).
    inbuf: Vec<u8>,
    /// Output the socket has not accepted yet.
    outbuf: Vec<u8>,
    /// `inbuf` may hold complete requests not decoded yet.
    stalled: bool,
    /// No request has been received yet (the first head is timed from accept).
    fresh: bool,
    /// The exchange answered by the handler future in the slot.
    pending: Option<Exchange>,
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

impl Drop for Connection {
    fn drop(&mut self) {
        self.set.leave(self.id);
    }
}

impl Connection {
    fn new(stream: TcpStream, remote: SocketAddr, set: Rc<ConnectionSet>) -> Connection {
        let id = set.join();
        let config = set.config;
        let deadline = weft::time::now() + config.timeouts.header_read;
        Connection {
            stream,
            id,
            decoder: RequestDecoder::for_client(remote),
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

    fn poll<F, M, S>(
        &mut self,
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<F>>,
        io: &Dispatch<'_, M, S>,
    ) -> Poll<()>
    where
        F: Future<Output = Response>,
        M: Fn(Request) -> F,
        S: Fn(&Request) -> bool,
    {
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
                    // Draining: whatever is not a request in progress closes now.
                    if self.set.draining() && matches!(wait, Wait::Idle | Wait::Linger) {
                        break Poll::Ready(());
                    }
                    self.set_wait(wait, &mut clock);
                    // A head in progress, or a connection accepted just before the drain whose
                    // first request is still on its way, is in flight: it gets a short grace.
                    if let (true, Some(grace_end)) =
                        (wait == Wait::Head, self.set.drain_grace_end())
                    {
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
    fn step<F, M, S>(
        &mut self,
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<F>>,
        io: &Dispatch<'_, M, S>,
        scratch: &mut Scratch,
        clock: &mut Clock,
    ) -> Next
    where
        F: Future<Output = Response>,
        M: Fn(Request) -> F,
        S: Fn(&Request) -> bool,
    {
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
                    let exchange = self
                        .pending
                        .take()
                        .expect("a pending handler has its exchange");
                    self.respond(&mut response, exchange, out, clock);
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
            match self.stream.poll_read(cx, &mut input[..]) {
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
            match self.stream.poll_read(cx, &mut self.inbuf[len..]) {
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
    fn process<F, M, S>(
        &mut self,
        data: &[u8],
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<F>>,
        io: &Dispatch<'_, M, S>,
        out: &mut Vec<u8>,
        clock: &mut Clock,
    ) -> usize
    where
        F: Future<Output = Response>,
        M: Fn(Request) -> F,
        S: Fn(&Request) -> bool,
    {
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
                let exchange = self.pending.take().unwrap_or_else(Exchange::failed);
                self.respond(&mut handler_panicked(), exchange, out, clock);
                data.len()
            }
        }
    }

    /// [`process`](Self::process) without the panic guard. While a handler
    /// runs, `pending` holds the exchange it answers.
    fn process_unguarded<F, M, S>(
        &mut self,
        data: &[u8],
        cx: &mut Context<'_>,
        mut slot: Pin<&mut Option<F>>,
        io: &Dispatch<'_, M, S>,
        out: &mut Vec<u8>,
        clock: &mut Clock,
    ) -> usize
    where
        F: Future<Output = Response>,
        M: Fn(Request) -> F,
        S: Fn(&Request) -> bool,
    {
        let mut at = 0;
        loop {
            let (used, found) =
                self.decoder
                    .decode_next(&data[at..], &self.set.config.limits, io.stream);
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
                    self.pending = Some(Exchange::of(&request));
                    slot.set(Some((io.make)(request)));
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
                            let exchange = self.pending.take().expect("set before the call");
                            self.respond(response, exchange, out, clock);
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
        exchange: Exchange,
        out: &mut Vec<u8>,
        clock: &mut Clock,
    ) {
        let mut close = self.set.draining();
        if self.inflow.is_some() {
            close |= self.end_streamed();
        }
        let (rest, keep_alive) =
            encode::encode_in_place(out, response, exchange, clock.stamp(), close);
        if !keep_alive {
            self.closing = true;
        }
        if let Rest::Stream { body, chunked } = rest {
            self.streaming = Some(Streaming { body, chunked });
        }
    }

    /// The handler of a streamed body answered; true if the body had not
    /// ended: the rest is not read, so the connection cannot carry another
    /// request.
    #[cold]
    fn end_streamed(&mut self) -> bool {
        self.continue_due = false;
        let Some(inflow) = self.inflow.take() else {
            return false;
        };
        if inflow.ended() {
            return false;
        }
        inflow.fail(proto::BODY_NOT_READ);
        true
    }

    /// A request whose body is streamed was handed out: attach the feed and
    /// give it the body bytes already here (`rest`); returns those consumed.
    #[cold]
    fn start_streamed(&mut self, request: &mut Request, rest: &[u8]) -> usize {
        let inflow = Inflow::new();
        request.parts_mut().inflow = Some(inflow.clone());
        self.continue_due = self.decoder.streamed_expects_continue() && rest.is_empty();
        self.inflow = Some(inflow);
        self.feed_body(rest)
    }

    /// Feeds streamed body bytes from `input` to the reader (see
    /// [`Inflow::feed_from`]); returns the bytes consumed.
    fn feed_body(&mut self, input: &[u8]) -> usize {
        let Some(inflow) = &self.inflow else {
            return 0;
        };
        if !inflow.open() {
            return 0;
        }
        let (used, delivered) = inflow.feed_from(&mut self.decoder, input);
        if delivered {
            self.continue_due = false;
        }
        used
    }

    /// The handler waits for more of its streamed body: invite it (`100
    /// Continue`) if due, then feed what is buffered or read the socket once.
    fn pump_body(&mut self, cx: &mut Context<'_>, input: &mut [u8], out: &mut Vec<u8>) -> Next {
        if std::mem::take(&mut self.continue_due) {
            out.extend_from_slice(CONTINUE);
        }
        match self.flush(cx, out) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Next::Done,
            Poll::Pending => return Next::Wait(Wait::Write),
        }
        let (used, len) = if self.inbuf.is_empty() {
            match self.stream.poll_read(cx, input) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    let used = self.feed_body(&input[..n]);
                    self.inbuf.extend_from_slice(&input[used..n]);
                    (used, n)
                }
                Poll::Ready(_) => {
                    if let Some(inflow) = &self.inflow {
                        inflow.fail(proto::BODY_CUT_SHORT);
                    }
                    return Next::Again;
                }
                Poll::Pending => return Next::Wait(Wait::Body),
            }
        } else {
            let mut data = std::mem::take(&mut self.inbuf);
            let used = self.feed_body(&data);
            let len = data.len();
            data.drain(..used);
            self.keep_leftover(data);
            (used, len)
        };
        // Bytes after the body are the next requests; they wait for the response.
        self.stalled = used < len && !self.decoder.streaming();
        // A streamed body's deadline is the longest silence between reads.
        self.wait_stale = true;
        Next::Again
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

    /// What reading waits for, from what has been received so far.
    fn input_wait(&self) -> Wait {
        if self.decoder.phase() == Phase::Body {
            Wait::Body
        } else if !self.inbuf.is_empty() || self.fresh {
            Wait::Head
        } else {
            Wait::Idle
        }
    }

    fn flush_then_wait(&mut self, cx: &mut Context<'_>, out: &mut Vec<u8>, wait: Wait) -> Next {
        match self.flush(cx, out) {
            Poll::Ready(Ok(())) => Next::Wait(wait),
            Poll::Ready(Err(_)) => Next::Done,
            Poll::Pending => Next::Wait(Wait::Write),
        }
    }

    /// Writes `outbuf` then `out` (in that order); what the socket does not
    /// take stays in `outbuf`.
    fn flush(&mut self, cx: &mut Context<'_>, out: &mut Vec<u8>) -> Poll<io::Result<()>> {
        if self.outbuf.is_empty() {
            if out.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let mut sent = 0;
            let result = write_all(&self.stream, cx, out, &mut sent);
            if result.is_pending() {
                self.outbuf.extend_from_slice(&out[sent..]);
            }
            out.clear();
            result
        } else {
            self.outbuf.extend_from_slice(out);
            out.clear();
            let mut sent = 0;
            let result = write_all(&self.stream, cx, &self.outbuf, &mut sent);
            if sent > 0 {
                self.wait_stale = true;
                self.outbuf.drain(..sent);
            }
            if self.outbuf.is_empty() {
                self.outbuf = Vec::new();
            }
            result
        }
    }

    /// Half-closes and discards input until the client closes (see module docs).
    fn linger(&mut self, cx: &mut Context<'_>, input: &mut [u8]) -> Next {
        if !self.write_shut {
            self.write_shut = true;
            if self.stream.shutdown(Shutdown::Write).is_err() {
                return Next::Done;
            }
        }
        loop {
            match self.stream.poll_read(cx, input) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Next::Done,
                Poll::Ready(Ok(n)) => {
                    self.lingered += n;
                    if self.lingered > LINGER_MAX_BYTES {
                        return Next::Done;
                    }
                }
                Poll::Pending => return Next::Wait(Wait::Linger),
            }
        }
    }

    /// Enters `wait`, (re)computing the deadline when the wait changed or
    /// went stale.
    fn set_wait(&mut self, wait: Wait, clock: &mut Clock) {
        // Same wait, nothing completed: keep the deadline. In particular,
        // bytes trickling into a head or body never extend it.
        if wait == self.wait && !self.wait_stale {
            return;
        }
        let timeouts = self.timeouts();
        let limit = match wait {
            Wait::Head => Some(timeouts.header_read),
            Wait::Body => Some(timeouts.body_read),
            Wait::Idle => Some(timeouts.idle),
            Wait::Write => Some(timeouts.write),
            Wait::Linger => Some(timeouts.linger),
            Wait::Handler => None,
        };
        self.wait = wait;
        self.wait_stale = false;
        self.deadline = limit.map(|limit| clock.now() + limit);
    }

    /// Whether the current deadline has passed; otherwise makes sure the
    /// timer will wake the task at (or before) it.
    fn deadline_passed(&mut self, cx: &mut Context<'_>, clock: &mut Clock) -> bool {
        let Some(deadline) = self.deadline else {
            return false;
        };
        let now = clock.now();
        if now >= deadline {
            return true;
        }
        // An armed timer that has not fired and fires no later than the
        // deadline will wake us in time to re-check.
        if self.timer_armed && self.timer.deadline() <= deadline && now < self.timer.deadline() {
            return false;
        }
        self.timer.reset(deadline);
        match Pin::new(&mut self.timer).poll(cx) {
            Poll::Ready(()) => {
                self.timer_armed = false;
                true
            }
            Poll::Pending => {
                self.timer_armed = true;
                false
            }
        }
    }

    /// Acts on an expired deadline. Returns false to close now, true if an
    /// answer (408) was queued and the connection goes on to close politely.
    fn on_timeout(&mut self, out: &mut Vec<u8>, clock: &mut Clock) -> bool {
        self.deadline = None;
        if let (Wait::Body, Some(inflow)) = (self.wait, &self.inflow) {
            // The handler owns the answer: its reader gets the 408.
            inflow.fail(proto::BODY_TIMED_OUT);
            self.wait = Wait::Handler;
            return true;
        }
        match self.wait {
            Wait::Head if self.inbuf.is_empty() => false,
            Wait::Head | Wait::Body => {
                self.refuse(
                    HttpError::new(StatusCode::REQUEST_TIMEOUT, "request not received in time"),
                    out,
                    clock,
                );
                self.inbuf = Vec::new();
                true
            }
            Wait::Idle | Wait::Write | Wait::Linger | Wait::Handler => false,
        }
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

/// Writes `buf[*sent..]` until done, `Pending` or an error; `sent` tracks progress.
fn write_all(
    stream: &TcpStream,
    cx: &mut Context<'_>,
    buf: &[u8],
    sent: &mut usize,
) -> Poll<io::Result<()>> {
    while *sent < buf.len() {
        match stream.poll_write(cx, &buf[*sent..]) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Poll::Ready(Ok(n)) => *sent += n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
    Poll::Ready(Ok(()))
}
