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
//! - [`run`]: a runtime of N loops; on each, a listener (its own
//!   `SO_REUSEPORT` socket, or, in a cluster worker, its own duplicate of the
//!   socket the supervisor passed down: [`Listen`]) and an *acceptor* green
//!   thread that spawns a *connection* green thread per client on the same
//!   loop.
//! - `connection`: the blocking-style connection loop (`serve_connection`), with
//!   keep-alive, pipelining (every complete request of one read is
//!   answered with one write), and the same limits and timeouts as the
//!   async server's defaults ([`Limits`](weft_http::Limits), [`Timeouts`](weft_http::Timeouts)).
//! - Requests are decoded and answers encoded by weft-http's sans-I/O core
//!   ([`weft_http::proto`]): the same parser, limits, framing (bodies with
//!   `Content-Length` or chunked, `100-continue`, HTTP/1.0) and encoding as
//!   the async server; only reading, writing and timing are done here.
//! - Request bodies are buffered, or streamed to the routes that ask for it
//!   (`POST /upload`) as in the async server: the handler runs inside
//!   `green::block_on` until its reader wants more, then this green thread
//!   reads the socket (blocking-style, with the body-read timeout), feeds
//!   the reader ([`BodyFeed`](weft_http::proto::BodyFeed)) and runs the handler on. `100
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
//! When the caller's stop future completes (SIGINT/SIGTERM after the drain
//! grace, or a cluster supervisor's stop) the acceptors stop (listeners close); every request
//! read from then on, or arriving on an open keep-alive connection, is
//! answered with `Connection: close` and its connection closes; idle
//! connections (parked between requests) are cancelled only after the
//! [`DRAIN_QUIET`] period (a keep-alive client's next request may be on the
//! wire already); and the runtime is dropped once no connection is left or
//! after the drain timeout ([`DRAIN_TIMEOUT`], or the one a cluster's
//! supervisor grants), cancelling (unwinding) what remains.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use weft::green;
use weft::net::ListenOptions;
use weft_http::{Handler, ShutdownSignal, Timeouts};

mod connection;

use connection::serve_connection;

/// How long shutdown waits for open connections before cancelling them:
/// the async server's default drain.
pub(crate) const DRAIN_TIMEOUT: Duration = weft_http::DEFAULT_DRAIN_TIMEOUT;

/// The drain's quiet period: idle keep-alive connections are closed only after it, since a
/// client may have sent its next request already (the async server's, see
/// `weft_http`'s `connections` module docs for the argument).
pub(crate) const DRAIN_QUIET: Duration = Duration::from_secs(1);

/// How often the drain checks whether connections are left. 10 ms: short
/// next to [`DRAIN_TIMEOUT`], long enough to cost nothing.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// State shared by every loop of the server.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    draining: AtomicBool,
    /// When the drain's quiet period ends (set as the drain begins).
    quiet_end: OnceLock<Instant>,
    connections: AtomicUsize,
    /// Every connection's time limits.
    timeouts: Timeouts,
}

/// Where the loops' listeners come from.
#[derive(Debug)]
pub(crate) enum Listen {
    /// Each loop binds its own `SO_REUSEPORT` socket on this address (the first picks the
    /// port for `--port 0`).
    Bind(SocketAddr),
    /// Each loop accepts on its own duplicate of this socket: a cluster worker's inherited
    /// listener, whose one accept queue every loop of every worker shares.
    Inherited(std::net::TcpListener),
}

/// The green runtime: `loops` loop threads.
pub(crate) fn runtime(loops: usize) -> io::Result<weft::rt::Runtime> {
    weft::rt::Runtime::builder()
        .loops(loops)
        .thread_name("weft-green")
        .build()
}

/// Serves `app` on `rt`'s loops (one acceptor per loop, on `listen`) until `stop` completes
/// (it runs on the caller's thread, which drives `rt`'s caller loop), then drains for at most
/// `drain_timeout`. `on_listening` gets the address once every loop accepts.
pub(crate) fn run<H>(
    rt: weft::rt::Runtime,
    listen: Listen,
    app: H,
    timeouts: Timeouts,
    drain_timeout: Duration,
    stop_when: impl Future<Output = ()>,
    on_listening: impl FnOnce(SocketAddr),
) -> io::Result<()>
where
    H: Handler + Clone + Send,
{
    let loops = rt.loops();
    let shared = Arc::new(Shared {
        timeouts,
        ..Shared::default()
    });
    let stop = ShutdownSignal::new();
    let mut acceptors = Vec::with_capacity(loops);
    let addr = match listen {
        Listen::Bind(addr) => {
            // The loops share the port with SO_REUSEPORT; another process may not.
            weft_http::check_address_free(addr)?;
            // The first listener picks the port (for --port 0); the others share it.
            let (first, addr) =
                spawn_acceptor(&rt, 0, Bound::Addr(addr), app.clone(), &shared, &stop)?;
            acceptors.push(first);
            for index in 1..loops {
                let bound = Bound::Addr(addr);
                acceptors.push(spawn_acceptor(&rt, index, bound, app.clone(), &shared, &stop)?.0);
            }
            addr
        }
        Listen::Inherited(listener) => {
            let addr = listener.local_addr()?;
            for index in 0..loops {
                let own = Bound::Socket(listener.try_clone()?);
                acceptors.push(spawn_acceptor(&rt, index, own, app.clone(), &shared, &stop)?.0);
            }
            // Only the loops' duplicates stay open: a stopped worker's queue is the next one's.
            drop(listener);
            addr
        }
    };
    on_listening(addr);

    rt.block_on(async {
        stop_when.await;
        let started = Instant::now();
        let _ = shared.quiet_end.set(started + DRAIN_QUIET);
        shared.draining.store(true, Ordering::Relaxed);
        // Each acceptor stops, takes the connections already queued, and closes its listener.
        stop.trigger();
        for acceptor in acceptors {
            let _ = acceptor.await;
        }
        let deadline = started + drain_timeout;
        // The quiet period: idle connections may still deliver a request already on the
        // wire (answered with `Connection: close`); then the ones still idle are closed.
        while shared.connections.load(Ordering::Relaxed) > 0
            && Instant::now() < started + DRAIN_QUIET
        {
            weft::time::sleep(DRAIN_POLL).await;
        }
        for index in 0..loops {
            rt.spawn_on(index, async { close_idle_connections() })
                .detach();
        }
        while shared.connections.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
            weft::time::sleep(DRAIN_POLL).await;
        }
        let left = shared.connections.load(Ordering::Relaxed);
        if left > 0 {
            tracing::warn!("{left} connection(s) still open after {drain_timeout:?}; cancelling");
        }
    });
    drop(rt);
    Ok(())
}

/// One loop's listener, before its loop adopts it.
enum Bound {
    /// Bind a `SO_REUSEPORT` socket here.
    Addr(SocketAddr),
    /// This loop's duplicate of an inherited socket.
    Socket(std::net::TcpListener),
}

impl Bound {
    /// The loop's listener (call on the loop thread).
    fn listen(self) -> io::Result<weft::net::TcpListener> {
        match self {
            Bound::Addr(addr) => {
                weft::net::TcpListener::bind_with(addr, &ListenOptions::default().reuse_port(true))
                    .map_err(|e| io::Error::new(e.kind(), format!("listen on {addr}: {e}")))
            }
            Bound::Socket(socket) => weft::net::TcpListener::from_std(socket).map_err(|e| {
                io::Error::new(e.kind(), format!("adopt the inherited listener: {e}"))
            }),
        }
    }
}

/// Spawns, on loop `index`, a green thread that accepts on `bound` and runs
/// one connection green thread per client; returns its task and the bound
/// address once the listener is up, or the bind error.
fn spawn_acceptor<H>(
    rt: &weft::rt::Runtime,
    index: usize,
    bound: Bound,
    app: H,
    shared: &Arc<Shared>,
    stop: &ShutdownSignal,
) -> io::Result<(weft::JoinHandle<()>, SocketAddr)>
where
    H: Handler + Clone + Send,
{
    let (shared, stop) = (Arc::clone(shared), stop.clone());
    let (bound_tx, bound_rx) = mpsc::channel();
    // The acceptor's state (an `Rc` listener shared with its green thread) is not Send: it
    // lives in a local task of the loop, which this task forwards.
    let task = rt.spawn_on(index, async move {
        let _ = weft::spawn_local(async move {
            let listener = match bound.listen().and_then(|l| Ok((l.local_addr()?, l))) {
                Ok((local, l)) => {
                    let _ = bound_tx.send(Ok(local));
                    Rc::new(green::TcpListener::from_async(l))
                }
                Err(error) => return drop(bound_tx.send(Err(error))),
            };
            let app = Rc::new(app);
            let acceptor = {
                let (listener, app, shared) =
                    (Rc::clone(&listener), Rc::clone(&app), Arc::clone(&shared));
                green::spawn(move || loop {
                    match listener.accept() {
                        Ok((stream, _)) => start_connection(stream, &app, &shared),
                        Err(error) => {
                            tracing::warn!("accept: {error}");
                            green::sleep(weft::net::ACCEPT_ERROR_PAUSE);
                        }
                    }
                })
            };
            // Aborting this task (a failed start) drops the guard, which aborts the acceptor.
            let mut stop_acceptor = AbortOnDrop(Some(acceptor));
            stop.wait().await;
            // Abort the acceptor and wait until it has unwound (dropping its share of the
            // listener), so that the listener closes right after the queue is emptied below.
            if let Some(acceptor) = stop_acceptor.0.take() {
                acceptor.abort();
                let _ = acceptor.await;
            }
            // Connections the kernel already completed are clients in flight: take them before
            // the listener closes, or closing it would reset them (as the async server does).
            while let Ok(Some((stream, _))) = listener.as_async().accept_queued() {
                start_connection(green::TcpStream::from_async(stream), &app, &shared);
            }
        })
        .await;
    });
    // The loop thread answers as soon as it has run the task's first poll;
    // a closed channel means the loop is gone.
    let bound = bound_rx
        .recv()
        .map_err(|_| io::Error::other(format!("loop {index} stopped before listening")))??;
    Ok((task, bound))
}

/// Starts the green thread of one accepted connection, counted and kept in this loop's table.
fn start_connection<H: Handler>(stream: green::TcpStream, app: &Rc<H>, shared: &Arc<Shared>) {
    let (app, shared) = (Rc::clone(app), Arc::clone(shared));
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
            serve_connection(stream, &*app, &shared, &idle);
        })
    };
    OPEN.with(|open| open.borrow_mut().insert(id, connection, idle));
}

/// Aborts a green thread when dropped.
struct AbortOnDrop(Option<green::GreenHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.abort();
        }
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
