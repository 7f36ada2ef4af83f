//! The server: accept loops, one per event loop, and their shutdown.
//!
//! # Roles
//!
//! - [`serve`] runs one accept loop on the current weft loop: every accepted
//!   connection becomes a local task (see `conn`) sharing the
//!   loop's [`ConnectionSet`]. It returns after a [`ShutdownSignal`] fires
//!   and the loop's connections drained.
//! - [`Server`] builds a weft runtime with N loop threads (or takes one,
//!   [`Server::start_on`]) and runs [`serve`] on each, every loop with its
//!   own `SO_REUSEPORT` listener on the same address, so the kernel spreads
//!   connections across loops and no loop ever touches another's sockets
//!   (shared-nothing); a port another process already serves is refused
//!   with "address in use" first (see `exclusive`). A server made [`from_listener`](Server::from_listener)
//!   (a socket inherited from a cluster supervisor or systemd) gives every
//!   loop its own duplicate of that one socket instead: one accept queue that
//!   the loops take turns at.
//! - [`Running`] is a server that is listening; [`ServerHandle`] is one run
//!   on a background thread (for tests and embedding).
//!
//! # Shutdown (bounded)
//!
//! 1. The signal fires: every accept loop closes its listener (new
//!    connections are refused by the kernel from then on).
//! 2. Idle connections close; connections with a request in progress finish
//!    it with `Connection: close` (see `connections`).
//! 3. After [`ServerConfig::drain_timeout`] whatever is left is closed
//!    without an answer; then the runtime is dropped, which joins the loop
//!    threads.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use weft::net::{ListenOptions, TcpListener, TcpStream};
use weft::rt::Runtime;

mod conn;
mod connections;
mod exclusive;
mod shutdown;

use crate::{Handler, Limits, Timeouts};
use connections::ConnectionSet;

pub use exclusive::check_address_free;
pub use shutdown::{ShutdownSignal, WaitForShutdown};

/// Default for [`ServerConfig::drain_timeout`]: 5 s for requests in progress
/// to finish after a shutdown signal; enough for any ordinary request, short
/// enough that a restart is not held up (orchestrators typically kill after
/// 30 s).
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Backlog of each listener: the kernel's queue of connections not yet
/// accepted. 4096 (Linux's default `somaxconn` cap since 5.4) so that a
/// benchmark opening 10,000 connections at once is not met with drops.
pub const LISTEN_BACKLOG: i32 = 4096;

/// Everything a server needs to know besides its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Size limits on requests.
    pub limits: Limits,
    /// Time limits on clients.
    pub timeouts: Timeouts,
    /// How long requests in progress may take to finish after shutdown.
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

/// Serves HTTP on `listener` from the current weft loop until `shutdown`
/// fires, then drains (see the `server` module docs).
///
/// Connections run as local tasks of this loop; `handler` is shared by them
/// and need not be `Send`.
///
/// ```
/// use weft_http::{serve, Request, Response, ServerConfig, ShutdownSignal};
/// let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// rt.block_on(async {
///     let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let stop = ShutdownSignal::new();
///     stop.trigger(); // (a real server triggers it on SIGTERM)
///     serve(listener, |_: Request| async { Response::text("hi") }, ServerConfig::default(), stop)
///         .await
///         .unwrap();
/// });
/// ```
///
/// # Cancel safety
///
/// Not meant to be raced: dropping it closes the listener and drops every connection of
/// this loop without a drain. Stop it with `shutdown` instead.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: H,
    config: ServerConfig,
    shutdown: ShutdownSignal,
) -> io::Result<()> {
    serve_with(listener, handler, config, shutdown, Transport::Plain).await
}

/// As [`serve`], over TLS (feature `tls`): serves HTTPS on `listener` from
/// the current weft loop until `shutdown` fires, then drains. Each
/// connection's handshake runs on its own task, inside the connection driver
/// (see [`crate::tls`]); ALPN offers `http/1.1`.
///
/// # Cancel safety
///
/// As [`serve`]: stop it with `shutdown`, do not race it.
#[cfg(feature = "tls")]
pub async fn serve_tls<H: Handler>(
    listener: TcpListener,
    acceptor: crate::tls::TlsAcceptor,
    handler: H,
    config: ServerConfig,
    shutdown: ShutdownSignal,
) -> io::Result<()> {
    let transport = Transport::Tls(acceptor.for_http1());
    serve_with(listener, handler, config, shutdown, transport).await
}

/// What an accepted socket is wrapped in before the connection driver gets it.
#[derive(Clone, Debug)]
enum Transport {
    /// Plain TCP.
    Plain,
    /// TLS: the handshake runs inside the stream's first reads and writes.
    #[cfg(feature = "tls")]
    Tls(crate::tls::TlsAcceptor),
}

impl Transport {
    /// Starts serving one accepted connection as a local task of this loop.
    fn spawn<H: Handler>(
        &self,
        stream: TcpStream,
        remote: SocketAddr,
        handler: &Rc<H>,
        set: &Rc<ConnectionSet>,
    ) {
        // Responses are written whole, once per batch: never delay them (Nagle).
        let _ = stream.set_nodelay(true);
        match self {
            Transport::Plain => {
                weft::spawn_local(conn::run(stream, remote, handler.clone(), set.clone())).detach();
            }
            #[cfg(feature = "tls")]
            Transport::Tls(acceptor) => {
                let stream = acceptor.wrap(stream);
                weft::spawn_local(conn::run(stream, remote, handler.clone(), set.clone())).detach();
            }
        }
    }
}

/// [`serve`] with each accepted socket wrapped as `transport` says.
async fn serve_with<H: Handler>(
    listener: TcpListener,
    handler: H,
    config: ServerConfig,
    shutdown: ShutdownSignal,
    transport: Transport,
) -> io::Result<()> {
    let handler = Rc::new(handler);
    let set = Rc::new(ConnectionSet::new(config));
    // With weft's watchdog on, a stalled loop's waiting clients are served by the others.
    let share = accept_share(&listener, &handler, &set, &transport);
    let mut stop = pin!(shutdown.wait());
    loop {
        let accepted = {
            let mut accept = pin!(listener.accept());
            poll_fn(|cx| {
                if stop.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                accept.as_mut().poll(cx).map(Some)
            })
            .await
        };
        match accepted {
            None => break,
            Some(Ok((stream, remote))) => transport.spawn(stream, remote, &handler, &set),
            Some(Err(error)) => {
                tracing::warn!(%error, "accept failed; retrying");
                weft::time::sleep(weft::net::ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
    // Connections the kernel already completed are clients in flight: take them before closing
    // the listener, or closing it would reset them (weft::cluster relies on this for a drain).
    // `accept_queued` asks the kernel, not the loop's readiness cache (an edge not yet polled
    // would otherwise leave a connection queued).
    while let Ok(Some((stream, remote))) = listener.accept_queued() {
        transport.spawn(stream, remote, &handler, &set);
    }
    drop(share);
    drop(listener);
    set.begin_drain();
    if weft::time::timeout(config.drain_timeout, set.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = set.live(),
            "drain timeout passed; closing connections without answering"
        );
        set.abort_all();
        set.drained().await;
    }
    Ok(())
}

/// Registers `listener` with `weft::diag::share_accepts`: while this loop is stalled, the
/// watchdog accepts its waiting connections and another loop serves them with its own
/// handler and connection set (see `weft::diag`). Inert unless the watchdog is on.
fn accept_share<H: Handler>(
    listener: &TcpListener,
    handler: &Rc<H>,
    set: &Rc<ConnectionSet>,
    transport: &Transport,
) -> weft::diag::AcceptShare {
    let (handler, set, transport) = (handler.clone(), set.clone(), transport.clone());
    weft::diag::share_accepts(listener, move |stream, remote| {
        transport.spawn(stream, remote, &handler, &set);
    })
}

/// A multi-loop HTTP server (builder). See the `server` module docs.
///
/// ```no_run
/// use weft_http::{Request, Response, Server, ShutdownSignal};
/// let stop = ShutdownSignal::new();
/// let running = Server::bind("127.0.0.1:8080".parse().unwrap())
///     .loops(2)
///     .start(|_: Request| async { Response::text("Hello, World!") })
///     .unwrap();
/// println!("listening on {}", running.local_addr());
/// running.run_until(stop.wait()).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Server {
    source: Source,
    loops: usize,
    config: ServerConfig,
    transport: Transport,
}

/// Where a server's loops get their listeners.
#[derive(Clone, Debug)]
enum Source {
    /// Each loop binds its own `SO_REUSEPORT` listener on this address.
    Bind(SocketAddr),
    /// Each loop adopts its own duplicate of this bound, listening socket.
    Listener(Arc<std::net::TcpListener>),
}

impl Server {
    /// A server for `addr` (port 0 picks a free port, shared by all loops),
    /// with one loop per available core and default configuration.
    pub fn bind(addr: SocketAddr) -> Server {
        Server {
            source: Source::Bind(addr),
            loops: thread::available_parallelism().map_or(1, |n| n.get()),
            config: ServerConfig::default(),
            transport: Transport::Plain,
        }
    }

    /// A server on a socket that is already bound and listening: one inherited from a
    /// `weft::cluster` supervisor or from systemd, or bound by the caller. Every loop serves
    /// its own duplicate of it (one accept queue shared by the loops, and by any other
    /// process holding the socket). The socket is closed once every loop has closed its
    /// duplicate (and this `Server` and its clones are dropped).
    pub fn from_listener(listener: std::net::TcpListener) -> Server {
        Server {
            source: Source::Listener(Arc::new(listener)),
            loops: thread::available_parallelism().map_or(1, |n| n.get()),
            config: ServerConfig::default(),
            transport: Transport::Plain,
        }
    }

    /// Number of event-loop threads (at least 1), each with its own listener.
    pub fn loops(mut self, loops: usize) -> Server {
        self.loops = loops.max(1);
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: ServerConfig) -> Server {
        self.config = config;
        self
    }

    /// Sets the request size limits.
    pub fn limits(mut self, limits: Limits) -> Server {
        self.config.limits = limits;
        self
    }

    /// Sets the client time limits.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Server {
        self.config.timeouts = timeouts;
        self
    }

    /// Serves HTTPS with `tls` (feature `tls`): each connection's handshake
    /// runs on its own task, inside the connection driver, and the
    /// request-head limit ([`Timeouts::header_read`]) and the handshake limit
    /// both apply to it. ALPN offers `http/1.1`. See [`crate::tls`].
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Server {
        self.transport = Transport::Tls(tls.acceptor().for_http1());
        self
    }

    /// Builds the runtime on this thread, binds one listener per loop (or
    /// adopts one duplicate of the [inherited](Server::from_listener) socket
    /// per loop) and starts serving; returns once every loop is listening.
    pub fn start<H>(self, handler: H) -> io::Result<Running>
    where
        H: Handler + Clone + Send,
    {
        let runtime = Runtime::builder()
            .loops(self.loops)
            .thread_name("weft-http")
            .build()?;
        self.start_on(runtime, handler)
    }

    /// As [`start`](Server::start), on a runtime the caller built: one
    /// listener on each of `runtime`'s loops (their number, not
    /// [`loops`](Server::loops), decides). For a process that needs its
    /// runtime before it can configure the server, such as a cluster worker,
    /// whose link to the supervisor (registered on the runtime's caller loop)
    /// says how long the drain may take.
    pub fn start_on<H>(self, runtime: Runtime, handler: H) -> io::Result<Running>
    where
        H: Handler + Clone + Send,
    {
        let stop = ShutdownSignal::new();
        let options = ListenOptions::default()
            .reuse_port(true)
            .backlog(LISTEN_BACKLOG);
        let count = runtime.loops();
        let mut addr = match &self.source {
            Source::Bind(addr) => {
                // Our loops share the port; no other process joins them (see `exclusive`).
                exclusive::check_address_free(*addr)?;
                *addr
            }
            Source::Listener(listener) => listener.local_addr()?,
        };
        let mut loops = Vec::with_capacity(count);
        for index in 0..count {
            let (bound_tx, bound_rx) = mpsc::channel();
            let handler = handler.clone();
            let options = options.clone();
            let loop_stop = stop.clone();
            let config = self.config;
            let transport = self.transport.clone();
            // The duplicate is made here, so no copy outlives this call but the loops' own.
            let inherited = match &self.source {
                Source::Bind(_) => None,
                Source::Listener(listener) => match listener.try_clone() {
                    Ok(duplicate) => Some(duplicate),
                    Err(error) => {
                        stop.trigger();
                        return Err(error);
                    }
                },
            };
            let task = runtime.spawn_on(index, async move {
                // `serve` is not Send (it holds the loop's connections): run it
                // as a local task of this loop and forward its result.
                weft::spawn_local(async move {
                    let listener = match inherited {
                        None => TcpListener::bind_with(addr, &options),
                        Some(std) => TcpListener::from_std(std),
                    };
                    let listener = match listener {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ =
                                bound_tx.send(Err(io::Error::new(error.kind(), error.to_string())));
                            return Err(error);
                        }
                    };
                    let _ = bound_tx.send(listener.local_addr());
                    serve_with(listener, handler, config, loop_stop, transport).await
                })
                .await
                .unwrap_or_else(|join| {
                    Err(io::Error::other(format!(
                        "accept loop ended abnormally: {join}"
                    )))
                })
            });
            let bound = bound_rx
                .recv()
                .map_err(|_| io::Error::other("loop ended before binding"))
                .and_then(|r| r);
            match bound {
                Ok(local) => addr = local,
                Err(error) => {
                    stop.trigger();
                    return Err(error);
                }
            }
            loops.push(task);
        }
        Ok(Running {
            runtime,
            addr,
            stop,
            loops,
        })
    }

    /// Starts the server on a new thread (which owns its runtime) and
    /// returns once it is listening.
    pub fn spawn<H>(self, handler: H) -> io::Result<ServerHandle>
    where
        H: Handler + Clone + Send,
    {
        let stop = ShutdownSignal::new();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = {
            let stop = stop.clone();
            thread::Builder::new()
                .name("weft-http-server".into())
                .spawn(move || {
                    let running = match self.start(handler) {
                        Ok(running) => running,
                        Err(error) => {
                            let _ = ready_tx.send(Err(error));
                            return Ok(());
                        }
                    };
                    let _ = ready_tx.send(Ok(running.local_addr()));
                    running.run_until(stop.wait())
                })?
        };
        let addr = ready_rx
            .recv()
            .map_err(|_| io::Error::other("server thread ended before listening"))??;
        Ok(ServerHandle {
            addr,
            stop,
            thread: Some(thread),
        })
    }
}

/// A listening server; dropping it without [`run_until`](Running::run_until)
/// shuts it down at once.
pub struct Running {
    runtime: Runtime,
    addr: SocketAddr,
    stop: ShutdownSignal,
    loops: Vec<weft::JoinHandle<io::Result<()>>>,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("loops", &self.loops.len())
            .finish()
    }
}

impl Running {
    /// The address the server listens on (with the real port if 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `until` completes (e.g. a signal), then shuts down as
    /// the `server` module docs describe. Returns the first accept loop error.
    pub fn run_until(self, until: impl Future<Output = ()>) -> io::Result<()> {
        let Running {
            runtime,
            stop,
            loops,
            ..
        } = self;
        let result = runtime.block_on(async move {
            until.await;
            stop.trigger();
            let mut result = Ok(());
            for task in loops {
                let outcome = task.await.unwrap_or_else(|join| {
                    Err(io::Error::other(format!("server loop failed: {join}")))
                });
                if result.is_ok() {
                    result = outcome;
                }
            }
            result
        });
        drop(runtime);
        result
    }
}

/// A server running on its own thread. [`shutdown`](ServerHandle::shutdown)
/// stops it (dropping the handle does too).
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: ShutdownSignal,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shuts the server down (draining requests in progress) and waits for
    /// its thread.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        self.stop.trigger();
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
