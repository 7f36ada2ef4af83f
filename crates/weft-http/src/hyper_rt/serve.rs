//! `serve`: axum::serve's equal on weft loops.
//!
//! [`serve`] takes where to listen ([`Listen`]) and a `tower` service (an
//! axum `Router`, or anything `Service<Request<Incoming>>` and `Clone`) and
//! returns a [`Serve`], which is awaited inside a weft runtime:
//!
//! - **Listeners.** Given an address, every loop of the current runtime binds
//!   its own `SO_REUSEPORT` listener on it (the first loop's bound port is
//!   used by the others when port 0 was asked), so the kernel spreads
//!   connections and no loop touches another's sockets; a current-thread
//!   runtime, which has no loop threads, serves the address on the awaiting
//!   (caller) loop. Given a listener already bound, that one listener is
//!   served on the awaiting loop.
//! - **Connections.** Each accepted stream is a local task of its loop, served
//!   by hyper-util's auto builder: HTTP/1.1, or HTTP/2 when the client opens
//!   with the HTTP/2 preface (h2c, prior knowledge). hyper's timers run on
//!   [`WeftTimer`], its HTTP/2 stream tasks on [`WeftExecutor`].
//! - **Graceful shutdown.** [`Serve::with_graceful_shutdown`] takes a future;
//!   when it completes every loop closes its listener (new connections are
//!   refused by the kernel), asks each connection to shut down gracefully
//!   (HTTP/1: close after the response in progress; HTTP/2: GOAWAY, in-flight
//!   streams finish) and waits for its connections to end. The awaited
//!   `Serve` completes when every loop has drained.
//!
//! - **TLS** (feature `tls`). [`Serve::tls`] wraps every accepted socket in a
//!   [`TlsStream`](crate::tls::TlsStream) whose handshake runs on the
//!   connection's task as hyper first reads it; ALPN offers `h2` and
//!   `http/1.1` unless the configuration names its own, and the auto builder
//!   follows what the client then speaks.
//!
//! Per loop, the live connections are counted in a [`Drain`]: `Rc` and
//! `Cell`, since they never leave their loop.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Poll, Waker};

use hyper::body::{Body, Incoming};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower_service::Service;
use weft::net::{ListenOptions, TcpListener};

use super::{HyperIo, WeftExecutor, WeftTimer};
use crate::ShutdownSignal;

/// The error type of services and bodies hyper accepts.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Backlog of each listener [`serve`] binds (as weft-http's own server).
pub const SERVE_BACKLOG: i32 = crate::LISTEN_BACKLOG;

/// Where [`serve`] listens: an address (one `SO_REUSEPORT` listener per loop)
/// or a listener already bound (served on the awaiting loop only).
#[derive(Debug)]
pub enum Listen {
    /// Bind this address on every loop of the current runtime.
    Addr(SocketAddr),
    /// Serve this weft listener on the loop that awaits the [`Serve`].
    Listener(TcpListener),
}

impl From<SocketAddr> for Listen {
    fn from(addr: SocketAddr) -> Listen {
        Listen::Addr(addr)
    }
}

impl From<TcpListener> for Listen {
    fn from(listener: TcpListener) -> Listen {
        Listen::Listener(listener)
    }
}

/// Serves `service` on `listen` over HTTP/1.1 and HTTP/2 (h2c): axum::serve's
/// equal. Await the result inside a weft runtime; see the module docs.
///
/// ```no_run
/// # weft::rt::Runtime::builder().loops(2).build().unwrap().block_on(async {
/// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
/// let addr: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
/// weft_http::hyper_rt::serve(addr, app)
///     .with_graceful_shutdown(async { let _ = weft::signal::ctrl_c().await; })
///     .await
///     .unwrap();
/// # });
/// ```
pub fn serve<L, S, B>(listen: L, service: S) -> Serve<S>
where
    L: Into<Listen>,
    S: Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Serve {
        listen: listen.into(),
        service,
        tls: None,
    }
}

/// TLS for every connection of a [`Serve`], if any.
#[cfg(feature = "tls")]
type Tls = Option<crate::tls::TlsAcceptor>;
#[cfg(not(feature = "tls"))]
type Tls = Option<std::convert::Infallible>;

/// A server to await: see [`serve`].
pub struct Serve<S> {
    listen: Listen,
    service: S,
    tls: Tls,
}

impl<S> fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listen", &self.listen)
            .finish()
    }
}

impl<S> Serve<S> {
    /// Serves HTTPS with `tls` (feature `tls`): the handshake runs on each
    /// connection's task; ALPN offers `h2` and `http/1.1` when `tls` names
    /// none. See [`crate::tls`].
    ///
    /// ```no_run
    /// # weft::rt::Runtime::builder().loops(2).build().unwrap().block_on(async {
    /// let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    /// let tls = weft_http::tls::TlsConfig::from_pem_files("cert.pem", "key.pem").unwrap();
    /// let addr: std::net::SocketAddr = "127.0.0.1:8443".parse().unwrap();
    /// weft_http::hyper_rt::serve(addr, app).tls(tls).await.unwrap();
    /// # });
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Serve<S> {
        let tls = if tls.rustls().alpn_protocols.is_empty() {
            tls.alpn(&[b"h2", b"http/1.1"])
        } else {
            tls
        };
        self.tls = Some(tls.acceptor());
        self
    }

    /// Stops accepting when `signal` completes, then drains the connections
    /// (in-flight requests finish). See the module docs.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> WithGracefulShutdown<S, F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        WithGracefulShutdown {
            serve: self,
            signal,
        }
    }
}

/// A [`Serve`] with a shutdown signal: see [`Serve::with_graceful_shutdown`].
pub struct WithGracefulShutdown<S, F> {
    serve: Serve<S>,
    signal: F,
}

impl<S, F> fmt::Debug for WithGracefulShutdown<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithGracefulShutdown")
            .field("serve", &self.serve)
            .finish()
    }
}

/// The future an awaited [`Serve`] or [`WithGracefulShutdown`] runs: `Ok` once
/// every loop drained, or the first bind error.
pub type ServeFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

impl<S, B> IntoFuture for Serve<S>
where
    S: Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        self.with_graceful_shutdown(std::future::pending())
            .into_future()
    }
}

impl<S, B, F> IntoFuture for WithGracefulShutdown<S, F>
where
    S: Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        let WithGracefulShutdown { serve, signal } = self;
        let Serve {
            listen,
            service,
            tls,
        } = serve;
        Box::pin(async move {
            let stop = ShutdownSignal::new();
            let loops = match listen {
                Listen::Listener(listener) => {
                    let (service, stop) = (service.clone(), stop.clone());
                    // The accept loop is loop-local (Rc); a local task of this loop.
                    vec![weft::spawn_local(accept_loop(listener, service, stop, tls))]
                }
                // A current-thread runtime has no loop threads: its caller loop serves.
                Listen::Addr(addr) if weft::rt::Handle::current().loops() == 0 => {
                    let listener = bind(addr)?;
                    vec![weft::spawn_local(accept_loop(
                        listener,
                        service,
                        stop.clone(),
                        tls,
                    ))]
                }
                Listen::Addr(addr) => match bind_every_loop(addr, service, &stop, tls).await {
                    Ok(loops) => loops,
                    Err(error) => {
                        stop.trigger();
                        return Err(error);
                    }
                },
            };
            signal.await;
            stop.trigger();
            let mut result = Ok(());
            for task in loops {
                let outcome = task.await.unwrap_or_else(|join| {
                    Err(io::Error::other(format!("serve loop failed: {join}")))
                });
                if result.is_ok() {
                    result = outcome;
                }
            }
            result
        })
    }
}

/// On every loop of the current runtime: bind a `SO_REUSEPORT` listener on
/// `addr` (port 0: the first loop's port) and start its accept loop.
async fn bind_every_loop<S, B>(
    mut addr: SocketAddr,
    service: S,
    stop: &ShutdownSignal,
    tls: Tls,
) -> io::Result<Vec<weft::JoinHandle<io::Result<()>>>>
where
    S: Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let handle = weft::rt::Handle::current();
    let mut loops = Vec::with_capacity(handle.loops());
    for index in 0..handle.loops() {
        let (bound_tx, bound_rx) = weft::sync::oneshot::channel();
        // (Without the `tls` feature `Tls` is an always-`None` `Copy` option.)
        #[allow(clippy::clone_on_copy)]
        let (service, stop, tls) = (service.clone(), stop.clone(), tls.clone());
        let task = handle.spawn_on(index, async move {
            weft::spawn_local(async move {
                let listener = match bind(addr) {
                    Ok(listener) => listener,
                    Err(error) => {
                        let copy = io::Error::new(error.kind(), error.to_string());
                        let _ = bound_tx.send(Err(copy));
                        return Err(error);
                    }
                };
                let _ = bound_tx.send(listener.local_addr());
                accept_loop(listener, service, stop, tls).await
            })
            .await
            .unwrap_or_else(|join| {
                Err(io::Error::other(format!(
                    "accept loop ended abnormally: {join}"
                )))
            })
        });
        let bound = bound_rx
            .await
            .map_err(|_| io::Error::other("serve loop ended before binding"))
            .and_then(|bound| bound);
        match bound {
            Ok(local) => addr = local,
            Err(error) => return Err(error),
        }
        loops.push(task);
    }
    Ok(loops)
}

/// One `SO_REUSEPORT` listener on `addr` with [`SERVE_BACKLOG`]; an error
/// names the address.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let options = ListenOptions::default()
        .reuse_port(true)
        .backlog(SERVE_BACKLOG);
    TcpListener::bind_with(addr, &options)
        .map_err(|error| io::Error::new(error.kind(), format!("binding {addr}: {error}")))
}

/// Accepts connections on `listener` until `stop`, then drains them.
async fn accept_loop<S, B>(
    listener: TcpListener,
    service: S,
    stop: ShutdownSignal,
    tls: Tls,
) -> io::Result<()>
where
    S: Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let drain = Rc::new(Drain::default());
    let builder = Rc::new(connection_builder());
    let mut stopped = pin!(stop.wait());
    loop {
        let accepted = {
            let mut accept = pin!(listener.accept());
            poll_fn(|cx| {
                if stopped.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
                accept.as_mut().poll(cx).map(Some)
            })
            .await
        };
        match accepted {
            None => break,
            Some(Ok((stream, _remote))) => {
                let _ = stream.set_nodelay(true);
                #[cfg(feature = "tls")]
                if let Some(acceptor) = &tls {
                    let stream = acceptor.wrap(stream);
                    let conn = serve_connection_on(&builder, stream, service.clone(), stop.clone());
                    weft::spawn_local(drain.track(conn)).detach();
                    continue;
                }
                let conn = serve_connection_on(&builder, stream, service.clone(), stop.clone());
                weft::spawn_local(drain.track(conn)).detach();
            }
            Some(Err(error)) => {
                tracing::warn!(%error, "accept failed; retrying");
                weft::time::sleep(weft::net::ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
    drop((listener, tls));
    drain.drained().await;
    Ok(())
}

/// hyper-util's auto builder (HTTP/1.1 and h2c) on weft's executor and timer.
fn connection_builder() -> auto::Builder<WeftExecutor> {
    let mut builder = auto::Builder::new(WeftExecutor);
    builder.http1().timer(WeftTimer);
    builder.http2().timer(WeftTimer);
    builder
}

/// Serves one connection over any futures-io stream (a TCP stream, or a TLS
/// stream over one: [`TlsAcceptor::accept`](crate::tls::TlsAcceptor::accept)
/// or `wrap`, feature `tls`) with hyper-util's auto builder (HTTP/1.1 and h2c) until
/// the client closes it, or until `stop` fires and the connection has shut
/// down gracefully (the request in progress is answered).
///
/// # Cancel safety
///
/// Dropping the future drops the connection at once, without an answer.
pub async fn serve_connection<I, S, B>(io: I, service: S, stop: ShutdownSignal)
where
    I: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
    S: Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    serve_connection_on(&Rc::new(connection_builder()), io, service, stop).await
}

fn serve_connection_on<I, S, B>(
    builder: &Rc<auto::Builder<WeftExecutor>>,
    io: I,
    service: S,
    stop: ShutdownSignal,
) -> impl Future<Output = ()> + 'static
where
    I: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin + Send + 'static,
    S: Service<hyper::Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let builder = builder.clone();
    async move {
        let service = TowerToHyperService::new(service);
        let mut conn = pin!(builder.serve_connection_with_upgrades(HyperIo::new(io), service));
        let mut stopped = pin!(stop.wait());
        let mut asked = false;
        let outcome = poll_fn(|cx| {
            if !asked && stopped.as_mut().poll(cx).is_ready() {
                asked = true;
                conn.as_mut().graceful_shutdown();
            }
            conn.as_mut().poll(cx)
        })
        .await;
        if let Err(error) = outcome {
            tracing::debug!(%error, "hyper connection ended with an error");
        }
    }
}

/// Live connections of one accept loop (loop-local).
#[derive(Default)]
struct Drain {
    live: Cell<usize>,
    waiter: RefCell<Option<Waker>>,
}

impl Drain {
    /// `conn`, counted as live until it ends.
    fn track(self: &Rc<Self>, conn: impl Future<Output = ()>) -> impl Future<Output = ()> {
        self.live.set(self.live.get() + 1);
        let guard = Live(self.clone());
        async move {
            let _guard = guard;
            conn.await;
        }
    }

    /// Completes when no connection is live.
    async fn drained(&self) {
        poll_fn(|cx| {
            if self.live.get() == 0 {
                return Poll::Ready(());
            }
            *self.waiter.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }
}

/// Decrements the live count when a connection task ends (or is dropped).
struct Live(Rc<Drain>);

impl Drop for Live {
    fn drop(&mut self) {
        let drain = &self.0;
        drain.live.set(drain.live.get() - 1);
        if drain.live.get() == 0 {
            if let Some(waker) = drain.waiter.borrow_mut().take() {
                waker.wake();
            }
        }
    }
}
