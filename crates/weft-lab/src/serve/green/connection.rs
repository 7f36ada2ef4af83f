//! One connection of the green model: its whole life as one blocking-style loop on its own
//! green thread.
//!
//! [`serve_connection`] runs the turns of a [`Connection`]: answer every complete request
//! already read ([`Connection::answer_batch`], one write for the batch), then wait for more
//! ([`Connection::wait_for_more`], with the time limit of where the client is: idle between
//! requests, in a head, in a body). One request's answer ([`Connection::answer`]) runs its
//! handler inside `green::block_on` (or, for a streamed body, in and out of it: see
//! `run_streaming`), then encodes the response and sends a streamed response body
//! (`send_stream`). The buffer the socket is read into is an [`Inbox`].
//!
//! # Deadlines (the async server's, see `weft_http::Timeouts`)
//!
//! A deadline belongs to what the connection waits for ([`Wait`]), not to one read: it is
//! set when the wait begins and kept while bytes trickle in, so a head must be complete
//! `header_read` after its first byte (or after accept, for the first request), a buffered
//! body `body_read` after its head, however slowly either arrives. A streamed body (of any
//! size) is limited by its longest silence between reads instead, as in the async server. Each read is given only the
//! time left. A new wait (a request completed, a head became a body) sets a new deadline.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use weft::green;
use weft_http::proto::{self, Answering, BodyFeed, Decoded, Encoded, RequestDecoder};
use weft_http::{Handler, Limits, Request, Response, Timeouts};

use super::Shared;

/// Bytes read per `read` call. 16 KiB: a whole pipelined batch of small
/// requests (16 plaintext requests are about 2 KiB) arrives in one read.
const READ_CHUNK: usize = 16 * 1024;

/// One connection's blocking-style loop (see the module doc).
pub(super) fn serve_connection<H: Handler>(
    stream: green::TcpStream,
    app: &H,
    shared: &Shared,
    idle: &Cell<bool>,
) {
    let mut connection = Connection::new(stream, app, shared, idle);
    while connection.answer_batch() && connection.wait_for_more() {}
}

/// A connection's socket, what was read and not yet decoded, the decoder's state and the
/// answers of the batch in progress.
struct Connection<'a, H> {
    stream: green::TcpStream,
    app: &'a H,
    /// The server's drain state: when set, answer with `Connection: close`.
    shared: &'a Shared,
    /// Set while parked between requests, so that a drain can cancel this connection.
    idle: &'a Cell<bool>,
    timeouts: Timeouts,
    /// What the connection waits for and until when; kept while bytes trickle in.
    deadline: Option<(Wait, Instant)>,
    /// No request completed yet: an empty buffer waits for a head, not idly.
    fresh: bool,
    /// A request completed since the deadline was set: the next wait gets a new one.
    stale: bool,
    input: Inbox,
    decoder: RequestDecoder,
    output: Vec<u8>,
}

/// What a connection waits for (decides its time limit; see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// Between requests: `idle`, then a silent close.
    Idle,
    /// In a head (or for the first one): `header_read`, then 408.
    Head,
    /// In a body: `body_read`, then 408.
    Body,
}

impl<'a, H: Handler> Connection<'a, H> {
    fn new(stream: green::TcpStream, app: &'a H, shared: &'a Shared, idle: &'a Cell<bool>) -> Self {
        let limits = Limits::default();
        let _ = stream.set_nodelay(true);
        let decoder = match stream.peer_addr() {
            Ok(peer) => RequestDecoder::for_client(peer, limits),
            Err(_) => RequestDecoder::new(limits),
        };
        Connection {
            stream,
            app,
            shared,
            idle,
            timeouts: shared.timeouts,
            deadline: None,
            fresh: true,
            stale: false,
            input: Inbox::new(limits.max_head_bytes.saturating_add(limits.max_body_bytes)),
            decoder,
            output: Vec::with_capacity(READ_CHUNK),
        }
    }

    /// Answers every complete request already read, with one write. False if the connection
    /// is done (closed by either side, failed, or not kept alive).
    fn answer_batch(&mut self) -> bool {
        self.output.clear();
        let mut keep_alive = true;
        while keep_alive {
            let app = self.app;
            let stream_body = |request: &Request| app.streams_body(request);
            let (used, decoded) = self
                .decoder
                .decode_streaming(self.input.filled(), &stream_body);
            self.input.consume(used);
            keep_alive = match decoded {
                Ok(Decoded::NeedMore) => break,
                Ok(Decoded::Continue) => {
                    self.output.extend_from_slice(proto::CONTINUE);
                    true
                }
                Ok(Decoded::Request(request)) => {
                    (self.fresh, self.stale) = (false, true);
                    match self.answer(request) {
                        Some(keep_alive) => keep_alive,
                        None => return false,
                    }
                }
                Err(error) => {
                    proto::encode_error(&mut self.output, error);
                    false
                }
            };
        }
        if !self.output.is_empty()
            && write_all(&self.stream, &self.output, self.timeouts.write).is_err()
        {
            return false;
        }
        keep_alive
    }

    /// Runs the handler for `request` and appends its answer (sending a streamed body at
    /// once). `Some(keep_alive)`, or `None` if the connection failed.
    fn answer(&mut self, mut request: Request) -> Option<bool> {
        let answering = Answering::of(&request);
        let feed = self
            .decoder
            .streaming_body()
            .then(|| BodyFeed::attach(&mut request));
        // Pinned here and parked on by reference: the route's future (large: every route's
        // state) is not moved.
        let app = self.app;
        let mut future = std::pin::pin!(app.call(request));
        let response = match &feed {
            None => green::block_on(future),
            Some(feed) => {
                // Earlier answers of this batch go out first.
                if !self.output.is_empty() {
                    write_all(&self.stream, &self.output, self.timeouts.write).ok()?;
                    self.output.clear();
                }
                run_streaming(
                    future.as_mut(),
                    feed,
                    &self.stream,
                    &mut self.decoder,
                    &mut self.input,
                    self.timeouts,
                )?
            }
        };
        // Answered before its body ended: the rest is not read.
        let unfinished = feed.as_ref().is_some_and(|f| !f.ended());
        if let (true, Some(feed)) = (unfinished, &feed) {
            feed.fail(proto::BODY_NOT_READ);
        }
        let close = self.shared.draining.load(Ordering::Relaxed) || unfinished;
        match proto::encode_response(&mut self.output, response, answering, close) {
            Encoded::Complete { keep_alive } => Some(keep_alive),
            Encoded::Streaming {
                body,
                chunked,
                keep_alive,
            } => {
                send_stream(
                    &self.stream,
                    &mut self.output,
                    body,
                    chunked,
                    self.timeouts.write,
                )
                .ok()?;
                Some(keep_alive)
            }
        }
    }

    /// Waits for more input: the idle limit between requests, the head or body limit inside
    /// one (a client silent mid-request gets 408). Between requests the connection is idle,
    /// and a drain may cancel it after its quiet period (when draining already, it waits no
    /// longer than that period). False if the connection is done.
    fn wait_for_more(&mut self) -> bool {
        let between = self.input.filled().is_empty() && !self.decoder.in_body();
        let wait = if self.decoder.in_body() {
            Wait::Body
        } else if !between || self.fresh {
            Wait::Head
        } else {
            Wait::Idle
        };
        let now = Instant::now();
        let until = match self.deadline {
            Some((kept, until)) if kept == wait && !self.stale => until,
            _ => {
                now + match wait {
                    Wait::Idle => self.timeouts.idle,
                    Wait::Head => self.timeouts.header_read,
                    Wait::Body => self.timeouts.body_read,
                }
            }
        };
        (self.deadline, self.stale) = (Some((wait, until)), false);
        // Draining: an idle connection (or a fresh one whose first request has not begun to
        // arrive) waits only for the quiet period; one answered before the drain may have a
        // request on the wire. A head already partly received is a request arriving (a slow
        // client's): it keeps its header deadline, as in the async server
        // (`weft_http::server::connections`), bounded by the drain timeout.
        let silent = wait == Wait::Idle || (wait == Wait::Head && between);
        let until = match self.shared.quiet_end.get() {
            Some(&quiet_end) if silent => until.min(quiet_end),
            _ => until,
        };
        self.idle.set(between);
        let read = read_until(&mut self.input, &self.stream, until);
        self.idle.set(false);
        match read {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) if e.kind() == io::ErrorKind::TimedOut && !between => {
                self.output.clear();
                proto::encode_error(&mut self.output, proto::REQUEST_NOT_RECEIVED);
                let _ = write_all(&self.stream, &self.output, self.timeouts.write);
                false
            }
            Err(_) => false,
        }
    }
}

/// What one run of a handler whose body is streamed came to.
enum Step {
    /// It answered.
    Done(Response),
    /// Its reader waits for more of the body.
    NeedBody,
}

/// Runs the handler of a request whose body is streamed (see the module doc):
/// inside `green::block_on` while it works, and out of it, on this green
/// thread, to read and feed its body when the reader asks. `None` if the
/// connection failed (close it).
fn run_streaming<F: std::future::Future<Output = Response>>(
    mut future: std::pin::Pin<&mut F>,
    feed: &BodyFeed,
    stream: &green::TcpStream,
    decoder: &mut RequestDecoder,
    input: &mut Inbox,
    timeouts: Timeouts,
) -> Option<Response> {
    let mut continue_due = decoder.expects_continue() && input.filled().is_empty();
    loop {
        let step = green::block_on(std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
            Poll::Ready(response) => Poll::Ready(Step::Done(response)),
            Poll::Pending if feed.wants_more(cx.waker()) => Poll::Ready(Step::NeedBody),
            Poll::Pending => Poll::Pending,
        }));
        if let Step::Done(response) = step {
            return Some(response);
        }
        if std::mem::take(&mut continue_due)
            && write_all(stream, proto::CONTINUE, timeouts.write).is_err()
        {
            return None;
        }
        if input.filled().is_empty() {
            // A streamed body (any size) is limited by the longest silence between two
            // reads, as in the async server, not by its whole length.
            match read_until(input, stream, Instant::now() + timeouts.body_read) {
                Ok(n) if n > 0 => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    feed.fail(proto::BODY_TIMED_OUT);
                    continue;
                }
                _ => {
                    feed.fail(proto::BODY_CUT_SHORT);
                    continue;
                }
            }
        }
        let used = feed.feed_from(decoder, input.filled());
        input.consume(used);
    }
}

/// Sends `output` (a response head) and then the streamed body, flushing
/// every [`proto::STREAM_FLUSH_BYTES`], as the async server does. An error of the stream closes the connection
/// without the final chunk, so the client sees the body cut short.
fn send_stream(
    stream: &green::TcpStream,
    output: &mut Vec<u8>,
    mut body: weft_http::BodyStream,
    chunked: bool,
    limit: Duration,
) -> io::Result<()> {
    loop {
        match green::block_on(proto::next_chunk(&mut body)) {
            Some(Ok(chunk)) if chunked => proto::encode_chunk(output, &chunk),
            Some(Ok(chunk)) => output.extend_from_slice(&chunk),
            Some(Err(error)) => {
                write_all(stream, output, limit)?;
                return Err(error);
            }
            None => {
                if chunked {
                    output.extend_from_slice(proto::LAST_CHUNK);
                }
                return Ok(());
            }
        }
        if output.len() >= proto::STREAM_FLUSH_BYTES {
            write_all(stream, output, limit)?;
            output.clear();
        }
    }
}

/// A connection's input buffer: bytes read and not yet consumed are
/// `buf[start..end]`. Zeroed once; reads go into the spare room after
/// `end`, moving the unconsumed bytes to the front when the room runs out
/// and growing (up to a bound) only for a request larger than the buffer.
struct Inbox {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Largest size the buffer may grow to: the largest request the limits
    /// allow (`frame` refuses anything larger before it gets here).
    max: usize,
}

impl Inbox {
    fn new(max: usize) -> Inbox {
        Inbox {
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            max,
        }
    }

    fn filled(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
    }

    /// Reads once into the spare room.
    fn read_from(&mut self, mut stream: &green::TcpStream) -> io::Result<usize> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else if self.buf.len() < self.max {
                let grown = (self.buf.len() * 2).min(self.max);
                self.buf.resize(grown, 0);
            } else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "request larger than the limits",
                ));
            }
        }
        let n = stream.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }
}

/// One read into `input`, given the time left until `until`; `TimedOut` if none is left.
fn read_until(input: &mut Inbox, stream: &green::TcpStream, until: Instant) -> io::Result<usize> {
    let left = until.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the deadline passed",
        ));
    }
    stream.set_read_timeout(Some(left))?;
    input.read_from(stream)
}

fn write_all(mut stream: &green::TcpStream, bytes: &[u8], limit: Duration) -> io::Result<()> {
    stream.set_write_timeout(Some(limit))?;
    stream.write_all(bytes)
}
