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
//! - Requests are framed here (head end, `Content-Length`) and parsed with
//!   [`Request::from_bytes`]; answers are encoded here. This duplicates a
//!   small part of weft-http's connection driver, whose incremental decoder
//!   and encoder are crate-private; with a public sans-I/O API in
//!   weft-http, this module would use it instead.
//!
//! # Bad input
//!
//! A head over the limit is 431, a body over the limit 413, a malformed
//! request 400 (weft-http's parser says why), a chunked request body 501
//! (no lab route takes a body), a silent client 408; the connection closes
//! after each, and the loop keeps serving the others.
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
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use weft::green;
use weft::net::ListenOptions;
use weft_http::{Handler, Limits, Method, Request, Response, StatusCode, Timeouts, Version};

use crate::signals::ShutdownSignals;

/// How long shutdown waits for open connections before cancelling them:
/// the async server's default drain.
pub(crate) const DRAIN_TIMEOUT: Duration = weft_http::DEFAULT_DRAIN_TIMEOUT;

/// Bytes read per `read` call. 16 KiB: a whole pipelined batch of small
/// requests (16 plaintext requests are about 2 KiB) arrives in one read.
const READ_CHUNK: usize = 16 * 1024;

/// How long the acceptor waits after an accept error before trying again,
/// so that a persistent error is reported a few times a second instead of
/// spinning the loop (weft's accept already backs off on descriptor
/// exhaustion). 100 ms: arbitrary within that purpose.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

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
                    green::sleep(ACCEPT_ERROR_BACKOFF);
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

/// A request that will not be served: answer this status and reason, then
/// close.
#[derive(Debug)]
struct Refusal(StatusCode, &'static str);

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
    let mut output: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        // Answer every complete request already read, with one write.
        output.clear();
        let mut keep_alive = true;
        while keep_alive {
            let len = match frame(input.filled(), &limits) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(Refusal(status, reason)) => {
                    let refusal = Response::error(status, reason);
                    encode(&mut output, refusal, Version::Http11, false, false);
                    keep_alive = false;
                    break;
                }
            };
            // Parsing uses a few KiB of scratch stack: on the loop's stack it
            // stays in cache, on each connection's own stack it would not.
            let raw = &input.filled()[..len];
            keep_alive = match green::on_loop_stack(|| Request::from_bytes(raw)) {
                Ok(request) => {
                    let version = request.version();
                    let head_only = request.method() == Method::Head;
                    let wants_open = request.keep_alive() && !draining.load(Ordering::Relaxed);
                    // Pinned here and parked on by reference: the route's
                    // future (large: every route's state) is not moved.
                    let response = green::block_on(std::pin::pin!(app.call(request)));
                    encode(&mut output, response, version, head_only, wants_open)
                }
                Err(error) => {
                    let refusal = Response::error(error.status(), error.reason());
                    encode(&mut output, refusal, Version::Http11, false, false)
                }
            };
            input.consume(len);
        }
        if !output.is_empty() && write_all(&stream, &output, timeouts.write).is_err() {
            return;
        }
        if !keep_alive {
            return;
        }
        // Wait for more: the idle limit between requests, the head limit
        // inside one. Between requests the connection is idle, and a drain
        // may cancel it (or, if draining already, it just closes).
        let between = input.filled().is_empty();
        if between && draining.load(Ordering::Relaxed) {
            return;
        }
        let limit = if between {
            timeouts.idle
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
            Err(e) if e.kind() == io::ErrorKind::TimedOut && !input.filled().is_empty() => {
                output.clear();
                let refusal =
                    Response::error(StatusCode::REQUEST_TIMEOUT, "request not received in time");
                encode(&mut output, refusal, Version::Http11, false, false);
                let _ = write_all(&stream, &output, timeouts.write);
                return;
            }
            Err(_) => return,
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

/// The length of the first complete request in `input`, `None` if it is
/// not complete yet, or the refusal if it can never be served.
fn frame(input: &[u8], limits: &Limits) -> Result<Option<usize>, Refusal> {
    let Some(head_end) = find_head_end(input) else {
        if input.len() > limits.max_head_bytes {
            return Err(Refusal(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request head too large",
            ));
        }
        return Ok(None);
    };
    if head_end > limits.max_head_bytes {
        return Err(Refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request head too large",
        ));
    }
    let mut body = 0usize;
    for line in input[..head_end].split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Refusal(
                StatusCode::NOT_IMPLEMENTED,
                "chunked request bodies are not served by the green model",
            ));
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok());
            match parsed {
                Some(n) if n > limits.max_body_bytes => {
                    return Err(Refusal(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "request body too large",
                    ))
                }
                Some(n) => body = n,
                None => return Err(Refusal(StatusCode::BAD_REQUEST, "invalid Content-Length")),
            }
        }
    }
    let total = head_end + body;
    Ok((input.len() >= total).then_some(total))
}

/// Index just past the blank line ending the head, if present.
fn find_head_end(input: &[u8]) -> Option<usize> {
    input
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = s {
        s = rest;
    }
    s
}

/// Appends `response` to `out`; returns whether the connection stays open.
fn encode(
    out: &mut Vec<u8>,
    response: Response,
    version: Version,
    head_only: bool,
    wants_open: bool,
) -> bool {
    let Some(body) = response.body().as_bytes() else {
        // No lab route streams; refuse rather than mis-frame.
        let refusal = Response::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "streamed bodies are not served by the green model",
        );
        return encode(out, refusal, version, head_only, false);
    };
    let status = response.status();
    let keep_alive = wants_open && !response.closes();
    out.extend_from_slice(b"HTTP/1.1 ");
    put_decimal(out, status.as_u16().into());
    out.push(b' ');
    out.extend_from_slice(status.reason().as_bytes());
    out.extend_from_slice(b"\r\n");
    let (mut server, mut dated) = (true, true);
    for (name, _) in response.headers() {
        server &= !name.eq_ignore_ascii_case("server");
        dated &= !name.eq_ignore_ascii_case("date");
    }
    if server {
        header(out, "Server", weft_http::SERVER_NAME);
    }
    if dated {
        DATE.with(|d| header(out, "Date", d.borrow_mut().now()));
    }
    if let Some(content_type) = response.content_type() {
        header(out, "Content-Type", content_type);
    }
    for (name, value) in response.headers() {
        if !name.eq_ignore_ascii_case("content-type") {
            header(out, name, value);
        }
    }
    if status.allows_body() {
        out.extend_from_slice(b"Content-Length: ");
        put_decimal(out, body.len() as u64);
        out.extend_from_slice(b"\r\n");
    }
    if !keep_alive {
        header(out, "Connection", "close");
    } else if version == Version::Http10 {
        header(out, "Connection", "keep-alive");
    }
    out.extend_from_slice(b"\r\n");
    if status.allows_body() && !head_only {
        out.extend_from_slice(body);
    }
    keep_alive
}

/// Appends `n` in decimal, without allocating.
fn put_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // A few bytes: pushed one by one rather than through `memcpy`.
    for &digit in &digits[at..] {
        out.push(digit);
    }
}

fn header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

thread_local! {
    /// This loop's `Date` value, re-rendered once per second.
    static DATE: RefCell<HttpDate> = RefCell::new(HttpDate::default());
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) cached per second.
#[derive(Default)]
struct HttpDate {
    second: u64,
    text: String,
}

impl HttpDate {
    fn now(&mut self) -> &str {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.text.is_empty() || second != self.second {
            self.second = second;
            self.text = imf_fixdate(second);
        }
        &self.text
    }
}

/// Formats seconds since the Unix epoch as an IMF-fixdate (RFC 9110 §5.6.7).
fn imf_fixdate(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {h:02}:{m:02}:{s:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(imf_fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(imf_fixdate(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn framing() {
        let limits = Limits::default();
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(matches!(frame(get, &limits), Ok(Some(n)) if n == get.len()));
        assert!(matches!(frame(&get[..10], &limits), Ok(None)));
        let post = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab";
        assert!(matches!(frame(post, &limits), Ok(None)));
        let post = b"POST / HTTP/1.1\r\nContent-Length:  3 \r\n\r\nabcGET";
        assert!(matches!(frame(post, &limits), Ok(Some(n)) if n == post.len() - 3));
        let chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(
            matches!(frame(chunked, &limits), Err(Refusal(s, _)) if s == StatusCode::NOT_IMPLEMENTED)
        );
        let bad = b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n";
        assert!(matches!(frame(bad, &limits), Err(Refusal(s, _)) if s == StatusCode::BAD_REQUEST));
        let huge = vec![b'a'; limits.max_head_bytes + 1];
        assert!(
            matches!(frame(&huge, &limits), Err(Refusal(s, _)) if s == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }
}
