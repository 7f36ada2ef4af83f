//! Listening and draining: one `SO_REUSEPORT` listener per weft loop, served by
//! `weft_http::hyper_rt`.
//!
//! Every loop of the runtime binds its own listener on the address (the first loop's port
//! when port 0 was asked), so the kernel spreads connections over the loops and no loop
//! touches another's sockets. [`start`] returns once every loop is bound; the address it
//! reports is connectable.
//!
//! - **Plain HTTP**: each listener is handed to `hyper_rt::serve(listener, app)
//!   .with_graceful_shutdown(stop)`, axum::serve's equal.
//! - **HTTPS**: `serve` accepts a TCP listener, so the TLS accept loop is here: each accepted
//!   stream is a local task of its loop that runs the handshake ([`crate::tls::accept`]) and
//!   then `hyper_rt::serve_connection(tls_stream, app, stop)`, which takes any futures-io
//!   stream.
//!
//! **Draining.** When `stop` fires every listener closes (new connections are refused by the
//! kernel); each connection is asked to shut down gracefully (HTTP/1.1: after the response in
//! progress; HTTP/2: GOAWAY, open streams finish); a handshake still in progress is dropped.
//! [`Server::drained`] completes when every loop's connections have ended. Per loop, the
//! TLS connections are counted by holding clones of an `mpsc::Sender`: the loop's receiver
//! sees the channel close when the last one is dropped.

use std::future::{poll_fn, Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use axum::Router;
use futures_rustls::TlsAcceptor;
use weft::net::{ListenOptions, TcpListener};
use weft_http::hyper_rt;
use weft_http::ShutdownSignal;

use crate::tls;

/// Backlog of each listener.
pub const BACKLOG: i32 = hyper_rt::SERVE_BACKLOG;

/// The running server: its address and one task per loop.
pub struct Server {
    /// The bound address (the real port when 0 was asked).
    pub addr: SocketAddr,
    loops: Vec<weft::JoinHandle<io::Result<()>>>,
}

impl Server {
    /// Completes when, after `stop`, every loop has closed its listener and every connection
    /// has ended; the first error of any loop.
    pub async fn drained(self) -> io::Result<()> {
        let mut result = Ok(());
        for task in self.loops {
            let outcome = task.await.unwrap_or_else(|join| {
                Err(io::Error::other(format!("a serve loop failed: {join}")))
            });
            if result.is_ok() {
                result = outcome;
            }
        }
        result
    }
}

/// Binds `addr` on every loop of the current runtime and serves `app` there (over TLS when
/// `tls` is given) until `stop`.
pub async fn start(
    mut addr: SocketAddr,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    stop: ShutdownSignal,
) -> io::Result<Server> {
    let handle = weft::rt::Handle::current();
    let acceptor = tls.map(TlsAcceptor::from);
    let mut loops = Vec::with_capacity(handle.loops());
    for index in 0..handle.loops() {
        let (bound_tx, bound_rx) = weft::sync::oneshot::channel();
        let (app, acceptor, loop_stop) = (app.clone(), acceptor.clone(), stop.clone());
        let task = handle.spawn_on(index, async move {
            // The accept loops are loop-local (hyper's connection futures are not `Send`).
            weft::spawn_local(async move {
                let options = ListenOptions::default().reuse_port(true).backlog(BACKLOG);
                let listener = match TcpListener::bind_with(addr, &options) {
                    Ok(listener) => listener,
                    Err(e) => {
                        let error = io::Error::new(e.kind(), format!("binding {addr}: {e}"));
                        let _ = bound_tx.send(Err(io::Error::new(e.kind(), error.to_string())));
                        return Err(error);
                    }
                };
                let _ = bound_tx.send(listener.local_addr());
                match acceptor {
                    None => {
                        hyper_rt::serve(listener, app)
                            .with_graceful_shutdown(loop_stop.wait())
                            .into_future()
                            .await
                    }
                    Some(acceptor) => serve_tls(listener, acceptor, app, loop_stop).await,
                }
            })
            .await
            .unwrap_or_else(|join| Err(io::Error::other(format!("a serve loop ended: {join}"))))
        });
        let bound = bound_rx
            .await
            .map_err(|_| io::Error::other("a serve loop ended before binding"))
            .and_then(|bound| bound);
        match bound {
            Ok(local) => addr = local,
            Err(error) => {
                stop.trigger();
                return Err(error);
            }
        }
        loops.push(task);
    }
    Ok(Server { addr, loops })
}

/// Accepts on `listener` until `stop`, each connection a local task (handshake, then hyper);
/// then waits for those connections to end.
async fn serve_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    stop: ShutdownSignal,
) -> io::Result<()> {
    let (live, mut ended) = weft::sync::mpsc::channel::<()>(1);
    {
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
                Some(Ok((stream, peer))) => {
                    let _ = stream.set_nodelay(true);
                    let conn =
                        connection(stream, peer, acceptor.clone(), app.clone(), stop.clone());
                    let live = live.clone();
                    weft::spawn_local(async move {
                        conn.await;
                        drop(live);
                    })
                    .detach();
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "accept failed; retrying");
                    weft::time::sleep(weft::net::ACCEPT_ERROR_PAUSE).await;
                }
            }
        }
    }
    drop(listener);
    drop(live);
    // `None` once every connection's clone of `live` is gone.
    let _ = ended.recv().await;
    Ok(())
}

/// One TLS connection: the handshake (dropped if `stop` fires first), then hyper.
async fn connection(
    stream: weft::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    app: Router,
    stop: ShutdownSignal,
) {
    let handshake = {
        let mut handshake = pin!(tls::accept(&acceptor, stream));
        let mut stopped = pin!(stop.wait());
        poll_fn(|cx| {
            if stopped.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            handshake.as_mut().poll(cx).map(Some)
        })
        .await
    };
    match handshake {
        None => tracing::debug!(%peer, "handshake dropped: shutting down"),
        Some(Err(refused)) => tracing::info!(%peer, "{refused}"),
        Some(Ok(tls)) => hyper_rt::serve_connection(tls, app, stop).await,
    }
}
