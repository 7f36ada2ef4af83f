//! TCP listeners and streams.

use super::bind::bind_first;
use super::evented::{stream_io, Evented};
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

    /// Adopts a listening socket made elsewhere (inherited from a supervisor, say).
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        socket::set_nonblocking(&listener)?;
        Ok(TcpListener {
            io: Evented::new(OwnedFd::from(listener))?,
        })
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

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.raw()
    }
}

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
    fn from_fd(fd: OwnedFd) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Evented::new(fd)?,
        })
    }

    /// Connects to `addr`: a socket address, or a host name (`"example.com:80"`,
    /// `("example.com", 80)`) resolved on the worker pool's `dns` lane (see [`crate::dns`]).
    /// Resolved addresses are tried in order; the first connection wins, else the last error
    /// is returned.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels a lookup that has not started and closes a half-open socket.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_err = None;
        for addr in crate::dns::resolve(&addr).await? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last_err = Some(err),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "connect: the address resolved to no socket address",
            )
        }))
    }

    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let fd = socket::inet_socket(&addr, libc::SOCK_STREAM)?;
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

    /// Adopts a connected std stream.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        socket::set_nonblocking(&stream)?;
        TcpStream::from_fd(OwnedFd::from(stream))
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
