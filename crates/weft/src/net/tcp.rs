//! TCP listeners and streams.

use super::bind::bind_first;
use super::connect::connect_any;
use super::evented::{fd_traits, stream_io, Evented};
use super::incoming::Incoming;
use super::listen::{accept_loop, ListenOptions};
use crate::dns::ToSocketAddrs;
use crate::rt::reactor::Direction;
use crate::sys::socket::{self, SockAddr};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::task::{Context, Poll};

/// A TCP socket listening for connections.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::net::{TcpListener, TcpStream};
/// let listener = TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// weft::spawn(async move {
///     let (stream, _peer) = listener.accept().await.unwrap();
///     let mut buf = [0; 5];
///     stream.read_exact(&mut buf).await.unwrap();
///     stream.write_all(&buf).await.unwrap();
/// });
/// let client = TcpStream::connect(addr).await?;
/// client.write_all(b"hello").await?;
/// let mut echoed = [0; 5];
/// client.read_exact(&mut echoed).await?;
/// assert_eq!(&echoed, b"hello");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct TcpListener {
    io: Evented,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.io.raw())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl TcpListener {
    /// Binds with [`ListenOptions::default`] (`SO_REUSEADDR`, backlog 1024) to what std's
    /// `bind` accepts: a [`SocketAddr`], `"127.0.0.1:0"`, `("localhost", 8080)`,
    /// `(ip, port)`, a list of addresses (tried in order; the first that binds wins). A host
    /// name is resolved on the calling thread, as std does.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, &ListenOptions::default())
    }

    /// Binds with the given options (for example `SO_REUSEPORT`, one listener per loop);
    /// `addr` as for [`bind`](Self::bind).
    pub fn bind_with(addr: impl ToSocketAddrs, options: &ListenOptions) -> io::Result<TcpListener> {
        bind_first(&addr, |addr| TcpListener::bind_addr(addr, options))
    }

    fn bind_addr(addr: SocketAddr, options: &ListenOptions) -> io::Result<TcpListener> {
        let fd = socket::inet_socket(&addr, libc::SOCK_STREAM)?;
        let raw = fd.as_raw_fd();
        if options.reuse_addr {
            socket::set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        }
        if options.reuse_port {
            socket::set_int_opt(raw, libc::SOL_SOCKET, libc::SO_REUSEPORT, 1)?;
        }
        socket::bind(raw, &SockAddr::from_inet(&addr))
            .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
        socket::listen(raw, options.backlog)?;
        Ok(TcpListener {
            io: Evented::new(fd)?,
        })
    }

    /// Adopts a listening socket made elsewhere (inherited from a supervisor, say), made
    /// non-blocking here and registered with the current loop.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        socket::set_nonblocking(&listener)?;
        TcpListener::from_fd(OwnedFd::from(listener))
    }

    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Evented::new(fd)?,
        })
    }

    /// Deregisters the listener and returns it as std's, still non-blocking.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(std::net::TcpListener::from(self.io.into_fd()))
    }

    /// Waits for a connection. Under descriptor exhaustion it backs off and keeps the listener
    /// open instead of failing (see [`ListenOptions`] and the module docs of `listen`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is never accepted and then lost.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = accept_loop(&self.io, || socket::accept(self.io.raw())).await?;
        Ok((TcpStream::from_fd(fd)?, addr.expect_inet()?))
    }

    /// The connections as a `futures_core::Stream` of `io::Result<TcpStream>` (each item
    /// one [`accept`](Self::accept); the stream never ends).
    pub fn incoming(&self) -> Incoming<'_, TcpStream> {
        Incoming::new(move || Box::pin(async move { Ok(self.accept().await?.0) }))
    }

    /// Polls for one connection; errors (including descriptor exhaustion) are returned as they
    /// come. Prefer [`accept`](Self::accept), which handles exhaustion.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let fd = self.io.raw();
        match self
            .io
            .registration()
            .poll_io(cx, Direction::Read, || socket::accept(fd))
        {
            Poll::Ready(Ok((fd, addr))) => {
                Poll::Ready(TcpStream::from_fd(fd).and_then(|s| Ok((s, addr.expect_inet()?))))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Accepts one connection the kernel has already queued, now, whatever the loop last
    /// heard of the listener's readiness: `Ok(None)` once the queue is empty. Made for a
    /// drain, which takes every queued connection before it closes the listener: there, a
    /// readiness edge the loop has not polled yet must not leave a connection behind to be
    /// reset by the close.
    pub fn accept_queued(&self) -> io::Result<Option<(TcpStream, SocketAddr)>> {
        match socket::accept(self.io.raw()) {
            Ok((fd, addr)) => Ok(Some((TcpStream::from_fd(fd)?, addr.expect_inet()?))),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.io.raw())?.expect_inet()
    }
}

fd_traits!(TcpListener);

/// A TCP connection.
pub struct TcpStream {
    io: Evented,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("fd", &self.io.raw())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

stream_io!(TcpStream);

impl TcpStream {
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Evented::new(fd)?,
        })
    }

    /// Connects to `addr`: a socket address, a list of them, or a host name
    /// (`"example.com:80"`, `("example.com", 80)`) resolved on the worker pool's `dns` lane
    /// (see [`crate::dns`]). Every resolved address is a candidate, tried RFC 8305 style
    /// (see [`CONNECT_ATTEMPT_DELAY`](super::CONNECT_ATTEMPT_DELAY)): families interleaved,
    /// a new attempt every 250 ms beside the ones still running (or at once after a failure),
    /// each bounded by [`CONNECT_ATTEMPT_TIMEOUT`](super::CONNECT_ATTEMPT_TIMEOUT); the first
    /// connection wins, the others are dropped; if all fail, the last failure's error.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels a lookup that has not started and closes every half-open
    /// socket.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let addrs = crate::dns::resolve(&addr).await?;
        connect_any(addrs, TcpStream::connect_addr).await
    }

    /// Connects to one address, with no timeout of its own.
    pub(crate) async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = socket::inet_socket(&addr, libc::SOCK_STREAM)?;
        TcpStream::connect_fd(fd, addr).await
    }

    /// Connects a socket made (and maybe bound, with options set) by the caller.
    pub(crate) async fn connect_fd(fd: OwnedFd, addr: SocketAddr) -> io::Result<TcpStream> {
        let started = socket::connect(fd.as_raw_fd(), &SockAddr::from_inet(&addr));
        let stream = match started {
            Ok(()) => TcpStream::from_fd(fd)?,
            Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {
                let stream = TcpStream {
                    io: Evented::connecting(fd)?,
                };
                stream
                    .io
                    .finish_connect()
                    .await
                    .map_err(|e| io::Error::new(e.kind(), format!("connect to {addr}: {e}")))?;
                stream
            }
            Err(err) => {
                return Err(io::Error::new(
                    err.kind(),
                    format!("connect to {addr}: {err}"),
                ))
            }
        };
        Ok(stream)
    }

    /// Adopts a connected std stream (made non-blocking here) and registers it with the
    /// current loop.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        socket::set_nonblocking(&stream)?;
        TcpStream::from_fd(OwnedFd::from(stream))
    }

    /// Deregisters the stream and returns it as std's, still non-blocking (call
    /// `set_nonblocking(false)` before blocking reads).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(std::net::TcpStream::from(self.io.into_fd()))
    }

    /// Reads what has arrived without taking it from the socket: the next read returns the
    /// same bytes. Waits until something arrives; `Ok(0)` at end of stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it consumes nothing.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.io.raw();
        std::future::poll_fn(|cx| {
            self.io
                .registration()
                .poll_io(cx, Direction::Read, || socket::peek(fd, buf))
        })
        .await
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::peer_addr(self.io.raw())?.expect_inet()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.io.raw())?.expect_inet()
    }

    /// `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        socket::set_int_opt(
            self.io.raw(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            on as i32,
        )
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(socket::get_int_opt(self.io.raw(), libc::IPPROTO_TCP, libc::TCP_NODELAY)? != 0)
    }
}

/// The read half of [`TcpStream::into_split`].
pub type OwnedReadHalf = super::split::OwnedReadHalf<TcpStream>;
/// The write half of [`TcpStream::into_split`]; dropping it shuts the write direction down.
pub type OwnedWriteHalf = super::split::OwnedWriteHalf<TcpStream>;
/// The read half of [`TcpStream::split`].
pub type ReadHalf<'a> = super::split::ReadHalf<'a, TcpStream>;
/// The write half of [`TcpStream::split`].
pub type WriteHalf<'a> = super::split::WriteHalf<'a, TcpStream>;
/// Halves of two different streams given to `reunite`.
pub type ReuniteError = super::split::ReuniteError<TcpStream>;
