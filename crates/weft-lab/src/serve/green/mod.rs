//! `weft serve --model green`: the same routes, served by one green thread
//! per connection, written in blocking style.
//!
//! This is the gevent / thread-per-connection way of writing a server: a
//! connection's whole life is one straight loop — read until a request is
//! complete, call the route, write the answer — with `read` and `write`
//! that *park* the green thread (see `weft::green`) instead of blocking an
//! OS thread. The lab serves the same application this way and the async
//! way so that their costs can be compared side by side.
//!
//! # Roles
//!
//! - [`run`]: a runtime of N loops; on each, a `SO_REUSEPORT` listener and
//!   an *acceptor* green thread that spawns a *connection* green thread per
//!   client on the same loop.
//! - `serve_connection`: the blocking-style connection loop, with
//!   keep-alive, pipelining (every complete request of one read is
//!   answered with one write), and the same limits and timeouts as the
//!   async server's defaults ([`Limits`], [`Timeouts`]).
//! - Requests are decoded and answers encoded by weft-http's sans-I/O core
//!   ([`weft_http::proto`]): the same parser, limits, framing (bodies with
//!   `Content-Length` or chunked, `100-continue`, HTTP/1.0) and encoding as
//!   the async server; only reading, writing and timing are done here.
//! - Request bodies are buffered, or streamed to the routes that ask for it
//!   (`POST /upload`) as in the async server: the handler runs inside
//!   `green::block_on` until its reader wants more, then this green thread
//!   reads the socket (blocking-style, with the body-read timeout), feeds
//!   the reader ([`proto::BodyFeed`]) and runs the handler on. `100
//!   Continue` goes out when the reader first asks; a response sent before
//!   the body ended closes the connection.
//!
//! # Bad input
//!
//! Every refusal of the decoder is answered with its status (400, 413, 431,
//! 501, 505, ...; see [`weft_http::limits`]), a client silent mid-request
//! gets 408; the connection closes after each, and the loop keeps serving
//! the others.
//!
//! # Shutdown
//!
//! On SIGINT/SIGTERM the acceptors stop (listeners close), idle
//! connections (parked between requests) are cancelled at once, busy ones
//! close after the response in progress (answered with
//! `Connection: close`), and the runtime is dropped once no connection is
//! left or after [`DRAIN_TIMEOUT`], cancelling (unwinding) what remains.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::time::{Duration, Instant};

use weft::green;
use weft::net::ListenOptions;
use weft_http::proto::{self, Answering, BodyFeed, Decoded, Encoded, RequestDecoder};
use weft_http::{Handler, Limits, Request, Response, Timeouts};

use crate::signals::ShutdownSignals;

/// How long shutdown waits for open connections before cancelling them:
/// the async server's default drain.
pub(crate) const DRAIN_TIMEOUT: Duration = weft_http::DEFAULT_DRAIN_TIMEOUT;

/// Bytes read per `read` call. 16 KiB: a whole pipelined batch of small
/// requests (16 plaintext requests are about 2 KiB) arrives in one read.
const READ_CHUNK: usize = 16 * 1024;

/// How often the drain checks whether connections are left. 10 ms: short
/// next to [`DRAIN_TIMEOUT`], long enough to cost nothing.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// State shared by every loop of the server.
#[derive(Debug, Default)]
struct Shared {
    draining: AtomicBool,
    connections: AtomicUsize,
}

/// Serves `app` on `addr` with `loops` loop threads until SIGINT/SIGTERM.
pub(crate) fn run<H>(
    addr: SocketAddr,
    loops: usize,
    app: H,
    signals: ShutdownSignals,
    on_listening: impl FnOnce(SocketAddr),
) -> io::Result<()>
where
    H: Handler + Clone + Send,
{
    let rt = weft::rt::Runtime::builder()
        .loops(loops)
        .thread_name("weft-green")
        .build()?;
    let shared = Arc::new(Shared::default());
    // The first listener picks the port (for --port 0); the others share it.
    let (first, addr) = spawn_acceptor(&rt, 0, addr, app.clone(), &shared)?;
    let mut acceptors = vec![first];
    for index in 1..loops {
        acceptors.push(spawn_acceptor(&rt, index, addr, app.clone(), &shared)?.0);
    }
    on_listening(addr);

    rt.block_on(async {
        if let Err(error) = signals.recv().await {
            tracing::warn!("signal pipe failed ({error}); stopping");
        }
        shared.draining.store(true, Ordering::Relaxed);
        for acceptor in &acceptors {
            acceptor.abort();
        }
        for index in 0..loops {
            rt.spawn_on(index, async { close_idle_connections() })
                .detach();
        }
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while shared.connections.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            weft::time::sleep(DRAIN_POLL).await;
        }
        let left = shared.connections.load(Ordering::Relaxed);
        if left > 0 {
            tracing::warn!("{left} connection(s) still open after {DRAIN_TIMEOUT:?}; cancelling");
        }
    });
    drop(rt);
    Ok(())
}

fn listen(addr: SocketAddr) -> io::Result<weft::net::TcpListener> {
    weft::net::TcpListener::bind_with(addr, &ListenOptions::default().reuse_port(true))
        .map_err(|e| io::Error::new(e.kind(), format!("listen on {addr}: {e}")))
}

/// Spawns, on loop `index`, a green thread that accepts on `addr` and runs
/// one connection green thread per client; returns its task and the bound
/// address once the listener is up, or the bind error.
fn spawn_acceptor<H>(
    rt: &weft::rt::Runtime,
    index: usize,
    addr: SocketAddr,
    app: H,
    shared: &Arc<Shared>,
) -> io::Result<(weft::JoinHandle<()>, SocketAddr)>
where
    H: Handler + Clone + Send,
{
    let shared = Arc::clone(shared);
    let (bound_tx, bound_rx) = mpsc::channel();
    let task = rt.spawn_on(index, async move {
        let listener = match listen(addr).and_then(|l| Ok((l.local_addr()?, l))) {
            Ok((local, l)) => {
                let _ = bound_tx.send(Ok(local));
                green::TcpListener::from_async(l)
            }
            Err(error) => return drop(bound_tx.send(Err(error))),
        };
        let app = Rc::new(app);
        let acceptor = green::spawn(move || loop {
            let stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!("accept: {error}");
                    green::sleep(weft::net::ACCEPT_ERROR_PAUSE);
                    continue;
                }
            };
            let (app, shared) = (Rc::clone(&app), Arc::clone(&shared));
            shared.connections.fetch_add(1, Ordering::Relaxed);
            let idle = Rc::new(Cell::new(false));
            let id = OPEN.with(|open| open.borrow_mut().next_id());
            let connection = {
                let idle = Rc::clone(&idle);
                green::spawn(move || {
                    let _open = OpenConnection {
                        shared: &shared,
                        id,
                    };
                    serve_connection(stream, &*app, &shared.draining, &idle);
                })
            };
            OPEN.with(|open| open.borrow_mut().insert(id, connection, idle));
        });
        // Aborting this task drops the guard, which aborts the acceptor so
        // that its listener closes.
        let _stop = AbortOnDrop(acceptor);
        std::future::pending::<()>().await;
    });
    // The loop thread answers as soon as it has run the task's first poll;
    // a closed channel means the loop is gone.
    let bound = bound_rx
        .recv()
        .map_err(|_| io::Error::other(format!("loop {index} stopped before listening")))??;
    Ok((task, bound))
}

/// Aborts a green thread when dropped.
struct AbortOnDrop(green::GreenHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Counts a connection as open, and keeps it in this loop's table, for as
/// long as its green thread lives.
struct OpenConnection<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.shared.connections.fetch_sub(1, Ordering::Relaxed);
        let _ = OPEN.try_with(|open| open.borrow_mut().remove(self.id));
    }
}

/// One loop's open connections: each one's green thread, and whether it is
/// idle (parked between requests), so that a drain can close the idle ones
/// at once instead of waiting for their idle timeout.
#[derive(Default)]
struct ConnectionTable {
    next: u64,
    open: HashMap<u64, (green::GreenHandle<()>, Rc<Cell<bool>>)>,
}

impl ConnectionTable {
    fn next_id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn insert(&mut self, id: u64, connection: green::GreenHandle<()>, idle: Rc<Cell<bool>>) {
        self.open.insert(id, (connection, idle));
    }

    fn remove(&mut self, id: u64) {
        self.open.remove(&id);
    }
}

thread_local! {
    /// This loop's connections (see [`ConnectionTable`]).
    static OPEN: RefCell<ConnectionTable> = RefCell::new(ConnectionTable::default());
}

/// Cancels this loop's idle connections (their green threads unwind from
/// the parked read, closing the socket). Busy ones finish their response
/// and close, since the server is draining.
fn close_idle_connections() {
    let idle: Vec<green::GreenHandle<()>> = OPEN.with(|open| {
        let mut open = open.borrow_mut();
        let ids: Vec<u64> = open
            .open
            .iter()
            .filter(|(_, (_, idle))| idle.get())
            .map(|(&id, _)| id)
            .collect();
        ids.iter()
            .filter_map(|id| open.open.remove(id))
            .map(|(h, _)| h)
            .collect()
    });
    // Aborted outside the borrow: an aborted green thread's destructors
    // remove it from the table.
    for connection in idle {
        connection.abort();
    }
}

/// One connection's blocking-style loop (see the module doc).
fn serve_connection<H: Handler>(
    stream: green::TcpStream,
    app: &H,
    draining: &AtomicBool,
    idle: &Cell<bool>,
) {
    let limits = Limits::default();
    let timeouts = Timeouts::default();
    let _ = stream.set_nodelay(true);
    let mut input = Inbox::new(limits.max_head_bytes.saturating_add(limits.max_body_bytes));
    let mut decoder = match stream.peer_addr() {
        Ok(peer) => RequestDecoder::for_client(peer, limits),
        Err(_) => RequestDecoder::new(limits),
    };
    let mut output: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        // Answer every complete request already read, with one write.
        output.clear();
        let mut keep_alive = true;
        while keep_alive {
            let stream_body = |request: &Request| app.streams_body(request);
            let (used, decoded) = decoder.decode_streaming(input.filled(), &stream_body);
            input.consume(used);
            match decoded {
                Ok(Decoded::NeedMore) => break,
                Ok(Decoded::Continue) => output.extend_from_slice(proto::CONTINUE),
                Ok(Decoded::Request(mut request)) => {
                    let answering = Answering::of(&request);
                    let feed = decoder
                        .streaming_body()
                        .then(|| BodyFeed::attach(&mut request));
                    // Pinned here and parked on by reference: the route's
                    // future (large: every route's state) is not moved.
                    let mut future = std::pin::pin!(app.call(request));
                    let response = match &feed {
                        None => green::block_on(future),
                        Some(feed) => {
                            // Earlier answers of this batch go out first.
                            if !output.is_empty() {
                                if write_all(&stream, &output, timeouts.write).is_err() {
                                    return;
                                }
                                output.clear();
                            }
                            match run_streaming(
                                future.as_mut(),
                                feed,
                                &stream,
                                &mut decoder,
                                &mut input,
                                timeouts,
                            ) {
                                Some(response) => response,
                                None => return,
                            }
                        }
                    };
                    // Answered before its body ended: the rest is not read.
                    let unfinished = feed.as_ref().is_some_and(|f| !f.ended());
                    if let (true, Some(feed)) = (unfinished, &feed) {
                        feed.fail(proto::BODY_NOT_READ);
                    }
                    let close = draining.load(Ordering::Relaxed) || unfinished;
                    keep_alive =
                        match proto::encode_response(&mut output, response, answering, close) {
                            Encoded::Complete { keep_alive } => keep_alive,
                            Encoded::Streaming {
                                body,
                                chunked,
                                keep_alive,
                            } => {
                                let sent = send_stream(
                                    &stream,
                                    &mut output,
                                    body,
                                    chunked,
                                    timeouts.write,
                                );
                                if sent.is_err() {
                                    return;
                                }
                                keep_alive
                            }
                        };
                }
                Err(error) => {
                    proto::encode_error(&mut output, error);
                    keep_alive = false;
                }
            }
        }
        if !output.is_empty() && write_all(&stream, &output, timeouts.write).is_err() {
            return;
        }
        if !keep_alive {
            return;
        }
        // Wait for more: the idle limit between requests, the head or body
        // limit inside one. Between requests the connection is idle, and a
        // drain may cancel it (or, if draining already, it just closes).
        let between = input.filled().is_empty() && !decoder.in_body();
        if between && draining.load(Ordering::Relaxed) {
            return;
        }
        let limit = if between {
            timeouts.idle
        } else if decoder.in_body() {
            timeouts.body_read
        } else {
            timeouts.header_read
        };
        if stream.set_read_timeout(Some(limit)).is_err() {
            return;
        }
        idle.set(between);
        let read = input.read_from(&stream);
        idle.set(false);
        match read {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::TimedOut && !between => {
                output.clear();
                proto::encode_error(&mut output, proto::REQUEST_NOT_RECEIVED);
                let _ = write_all(&stream, &output, timeouts.write);
                return;
            }
            Err(_) => return,
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
            // The longest silence between two reads of a streamed body.
            if stream.set_read_timeout(Some(timeouts.body_read)).is_err() {
                return None;
            }
            match input.read_from(stream) {
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

fn write_all(mut stream: &green::TcpStream, bytes: &[u8], limit: Duration) -> io::Result<()> {
    stream.set_write_timeout(Some(limit))?;
    stream.write_all(bytes)
}
