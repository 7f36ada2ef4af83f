//! The server side: [`TlsAcceptor`] and the lazily handshaking [`TlsStream`].
//!
//! A [`TlsStream`] starts in `Sniff`: its first read takes one byte from the
//! socket. `0x16` (a TLS handshake record) moves it to `Handshake`, with the
//! byte handed back to rustls first (see [`Sniffed`]); anything else moves it
//! to `Refuse` (plain text on a TLS port). `Handshake` polls
//! `futures_rustls::Accept` until it is done (`Ready`) or fails (`Failed`,
//! logged once), against the [`TlsConfig::handshake_timeout`] deadline.
//! `Refuse` writes the plain-text `400` (when the input looks like HTTP),
//! half-closes, and discards input until the client closes, the deadline
//! passes or [`REFUSE_DISCARD_MAX`] bytes were read, then fails.
//!
//! Every read and write of the stream first drives these states, so the
//! handshake costs the connection's task nothing more than its I/O, and a
//! connection whose handshake fails ends with an error from its first read.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};
use weft::net::TcpStream;
use weft::time::Sleep;

use super::TlsConfig;

/// The first byte of a TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Input discarded after the plain-text refusal before closing anyway.
pub(crate) const REFUSE_DISCARD_MAX: usize = 64 * 1024;

/// The plain-text answer to a plain HTTP request on a TLS port.
const PLAINTEXT_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 56\r\n\
Connection: close\r\n\
\r\n\
This port speaks HTTPS: a plain HTTP request was sent.\r\n";

/// Does TLS handshakes on accepted connections for one [`TlsConfig`].
/// Cheap to clone (the rustls configuration is shared).
#[derive(Clone, Debug)]
pub struct TlsAcceptor {
    config: TlsConfig,
}

impl TlsAcceptor {
    /// An acceptor for `config`.
    pub fn new(config: TlsConfig) -> TlsAcceptor {
        TlsAcceptor { config }
    }

    /// The configuration.
    pub fn config(&self) -> &TlsConfig {
        &self.config
    }

    /// `stream` as a TLS stream whose handshake runs in its first reads
    /// and writes (see the module docs). Never blocks, never fails: a failed
    /// handshake is the error of the stream's first read or write.
    pub fn wrap(&self, stream: TcpStream) -> TlsStream {
        let peer = stream.peer_addr().ok();
        TlsStream {
            state: State::Sniff(stream),
            server: self.config.server.clone(),
            timeout: self.config.handshake_timeout,
            deadline: None,
            peer,
        }
    }

    /// Does the handshake on `stream` and returns the TLS stream once it is
    /// done, or the reason it failed (logged too): the client's alert, a
    /// timeout, or plain text on a TLS port (answered `400` first).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the connection.
    pub async fn accept(&self, stream: TcpStream) -> io::Result<TlsStream> {
        let mut tls = self.wrap(stream);
        poll_fn(|cx| tls.poll_handshake(cx)).await?;
        Ok(tls)
    }
}

/// A server's TLS stream over a weft `TcpStream`: futures-io
/// `AsyncRead + AsyncWrite`, handshaking first (see [`TlsAcceptor::wrap`]).
pub struct TlsStream {
    state: State,
    server: std::sync::Arc<rustls::ServerConfig>,
    timeout: std::time::Duration,
    /// The handshake deadline, armed at the first poll.
    deadline: Option<Sleep>,
    peer: Option<SocketAddr>,
}

enum State {
    /// Nothing read yet.
    Sniff(TcpStream),
    Handshake(Box<futures_rustls::Accept<Sniffed>>),
    /// Plain text on the TLS port: answering it (`sent` bytes of the answer
    /// out; `answer` false when it did not look like HTTP), then draining.
    Refuse {
        tcp: TcpStream,
        answer: bool,
        sent: usize,
        shut: bool,
        discarded: usize,
    },
    Ready(Box<futures_rustls::server::TlsStream<Sniffed>>),
    /// The handshake failed (already logged); every call repeats this.
    Failed(io::ErrorKind, std::sync::Arc<str>),
    /// Transient, while moving between states.
    Moving,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Sniff(_) => "sniff",
            State::Handshake(_) => "handshake",
            State::Refuse { .. } => "refuse",
            State::Ready(_) => "ready",
            State::Failed(..) => "failed",
            State::Moving => "moving",
        };
        f.debug_struct("TlsStream")
            .field("state", &state)
            .field("peer", &self.peer)
            .finish()
    }
}

impl TlsStream {
    /// The rustls connection, once the handshake is done (ALPN protocol,
    /// SNI name, negotiated version and suite).
    pub fn connection(&self) -> Option<&rustls::ServerConnection> {
        match &self.state {
            State::Ready(tls) => Some(tls.get_ref().1),
            _ => None,
        }
    }

    /// The protocol agreed by ALPN, once the handshake is done.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.connection().and_then(|c| c.alpn_protocol())
    }

    /// The client's address.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Drives the handshake: `Ready(Ok)` once it is done.
    pub fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                State::Ready(_) => return Poll::Ready(Ok(())),
                State::Failed(kind, reason) => {
                    return Poll::Ready(Err(io::Error::new(*kind, reason.to_string())))
                }
                _ => {}
            }
            if self.deadline_passed(cx) {
                return Poll::Ready(Err(self.fail(
                    io::ErrorKind::TimedOut,
                    format!("TLS handshake timed out after {:?}", self.timeout),
                )));
            }
            match std::mem::replace(&mut self.state, State::Moving) {
                State::Sniff(mut tcp) => {
                    let mut first = [0u8; 1];
                    match Pin::new(&mut tcp).poll_read(cx, &mut first) {
                        Poll::Pending => {
                            self.state = State::Sniff(tcp);
                            return Poll::Pending;
                        }
                        Poll::Ready(Ok(0)) => {
                            // Connected and closed without a word: not worth a log line.
                            self.deadline = None;
                            self.state = State::Failed(
                                io::ErrorKind::UnexpectedEof,
                                "client closed before a TLS handshake".into(),
                            );
                        }
                        Poll::Ready(Ok(_)) if first[0] == TLS_HANDSHAKE_RECORD => {
                            let sniffed = Sniffed {
                                tcp,
                                first: Some(first[0]),
                            };
                            let accept = futures_rustls::TlsAcceptor::from(self.server.clone())
                                .accept(sniffed);
                            self.state = State::Handshake(Box::new(accept));
                        }
                        Poll::Ready(Ok(_)) => {
                            self.state = State::Refuse {
                                tcp,
                                answer: first[0].is_ascii_uppercase(),
                                sent: 0,
                                shut: false,
                                discarded: 1,
                            };
                        }
                        Poll::Ready(Err(error)) => {
                            let error = self.fail(error.kind(), format!("TLS handshake: {error}"));
                            return Poll::Ready(Err(error));
                        }
                    }
                }
                State::Handshake(mut accept) => match Pin::new(&mut accept).poll(cx) {
                    Poll::Pending => {
                        self.state = State::Handshake(accept);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(tls)) => {
                        self.deadline = None;
                        self.state = State::Ready(Box::new(tls));
                    }
                    Poll::Ready(Err(error)) => {
                        let error =
                            self.fail(error.kind(), format!("TLS handshake failed: {error}"));
                        return Poll::Ready(Err(error));
                    }
                },
                State::Refuse {
                    mut tcp,
                    answer,
                    mut sent,
                    mut shut,
                    mut discarded,
                } => match refuse(&mut tcp, cx, answer, &mut sent, &mut shut, &mut discarded) {
                    Poll::Pending => {
                        self.state = State::Refuse {
                            tcp,
                            answer,
                            sent,
                            shut,
                            discarded,
                        };
                        return Poll::Pending;
                    }
                    Poll::Ready(()) => {
                        let what = if answer {
                            "plain HTTP request on a TLS port (answered 400)"
                        } else {
                            "plain text (not TLS) on a TLS port"
                        };
                        return Poll::Ready(
                            Err(self.fail(io::ErrorKind::InvalidData, what.into())),
                        );
                    }
                },
                State::Ready(_) | State::Failed(..) | State::Moving => {
                    unreachable!("handled above")
                }
            }
        }
    }

    /// Arms the handshake deadline on first use; true once it passed.
    fn deadline_passed(&mut self, cx: &mut Context<'_>) -> bool {
        let timeout = self.timeout;
        let sleep = self
            .deadline
            .get_or_insert_with(|| weft::time::sleep_until(deadline_after(timeout)));
        Pin::new(sleep).poll(cx).is_ready()
    }

    /// Moves to `Failed`, logs the cause once, and returns it as an error.
    fn fail(&mut self, kind: io::ErrorKind, reason: String) -> io::Error {
        let peer = self.peer.map(|p| p.to_string()).unwrap_or_default();
        tracing::info!(peer, "TLS connection refused: {reason}");
        self.deadline = None;
        self.state = State::Failed(kind, reason.as_str().into());
        io::Error::new(kind, reason)
    }

    fn ready(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<&mut futures_rustls::server::TlsStream<Sniffed>>> {
        match self.poll_handshake(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
            Poll::Pending => return Poll::Pending,
        }
        match &mut self.state {
            State::Ready(tls) => Poll::Ready(Ok(tls)),
            _ => unreachable!("the handshake is done"),
        }
    }
}

fn deadline_after(timeout: std::time::Duration) -> Instant {
    weft::time::now() + timeout
}

/// The `Refuse` state's work: answer (if `answer`), half-close, discard.
fn refuse(
    tcp: &mut TcpStream,
    cx: &mut Context<'_>,
    answer: bool,
    sent: &mut usize,
    shut: &mut bool,
    discarded: &mut usize,
) -> Poll<()> {
    if answer {
        while *sent < PLAINTEXT_ANSWER.len() {
            match Pin::new(&mut *tcp).poll_write(cx, &PLAINTEXT_ANSWER[*sent..]) {
                Poll::Ready(Ok(n)) if n > 0 => *sent += n,
                Poll::Ready(_) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
    if !*shut {
        *shut = true;
        if tcp.shutdown(std::net::Shutdown::Write).is_err() {
            return Poll::Ready(());
        }
    }
    let mut sink = [0u8; 4096];
    loop {
        match Pin::new(&mut *tcp).poll_read(cx, &mut sink) {
            Poll::Ready(Ok(n)) if n > 0 => {
                *discarded += n;
                if *discarded > REFUSE_DISCARD_MAX {
                    return Poll::Ready(());
                }
            }
            Poll::Ready(_) => return Poll::Ready(()),
            Poll::Pending => return Poll::Pending,
        }
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().ready(cx) {
            Poll::Ready(Ok(tls)) => Pin::new(tls).poll_read(cx, buf),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().ready(cx) {
            Poll::Ready(Ok(tls)) => Pin::new(tls).poll_write(cx, buf),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().ready(cx) {
            Poll::Ready(Ok(tls)) => Pin::new(tls).poll_write_vectored(cx, bufs),
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().state {
            State::Ready(tls) => Pin::new(&mut **tls).poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.state {
            // close_notify, then the socket's FIN.
            State::Ready(tls) => Pin::new(&mut **tls).poll_close(cx),
            State::Sniff(tcp) => Poll::Ready(tcp.shutdown(std::net::Shutdown::Write)),
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// The socket with the sniffed first byte put back in front of its input.
pub(crate) struct Sniffed {
    tcp: TcpStream,
    first: Option<u8>,
}

impl fmt::Debug for Sniffed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sniffed").field("tcp", &self.tcp).finish()
    }
}

impl AsyncRead for Sniffed {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(first) = this.first {
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            this.first = None;
            buf[0] = first;
            return Poll::Ready(Ok(1));
        }
        Pin::new(&mut this.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Sniffed {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_close(cx)
    }
}

impl TlsAcceptor {
    /// This acceptor with ALPN set to `http/1.1` only, as weft's own server
    /// needs ([`Server::tls`](crate::Server::tls) and
    /// [`serve_tls`](crate::serve_tls) set it): it speaks nothing else, and a
    /// client offered `h2` would try it.
    pub fn for_http1(&self) -> TlsAcceptor {
        TlsAcceptor::new(self.config.clone().alpn(&[b"http/1.1"]))
    }
}
