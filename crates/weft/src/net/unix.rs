//! Unix-domain stream sockets.

use super::evented::{fd_traits, stream_io, Evented};
use super::incoming::Incoming;
use super::listen::{accept_loop, ListenOptions};
use crate::sys::socket::{self, SockAddr};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// A Unix-domain socket listening for connections.
pub struct UnixListener {
    io: Evented,
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("fd", &self.io.raw())
            .finish()
    }
}

impl UnixListener {
    /// Binds to a filesystem path (which must not exist yet).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let fd = socket::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        socket::bind(fd.as_raw_fd(), &SockAddr::from_path(path)?)
            .map_err(|e| io::Error::new(e.kind(), format!("bind {}: {e}", path.display())))?;
        socket::listen(fd.as_raw_fd(), ListenOptions::default().backlog)?;
        Ok(UnixListener {
            io: Evented::new(fd)?,
        })
    }

    /// Adopts a listening std socket (made non-blocking here) and registers it with the
    /// current loop.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        socket::set_nonblocking(&listener)?;
        Ok(UnixListener {
            io: Evented::new(OwnedFd::from(listener))?,
        })
    }

    /// The connections as a `futures_core::Stream` of `io::Result<UnixStream>` (each item
    /// one [`accept`](Self::accept); the stream never ends).
    pub fn incoming(&self) -> Incoming<'_, UnixStream> {
        Incoming::new(move || Box::pin(self.accept()))
    }

    /// Deregisters the listener and returns it as std's, still non-blocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(std::os::unix::net::UnixListener::from(self.io.into_fd()))
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        socket::unix_addr(self.io.raw(), false)
    }

    /// Waits for a connection; backs off under descriptor exhaustion like
    /// [`TcpListener::accept`](super::TcpListener::accept).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn accept(&self) -> io::Result<UnixStream> {
        let (fd, _addr) = accept_loop(&self.io, || socket::accept(self.io.raw())).await?;
        UnixStream::from_fd(fd)
    }
}

fd_traits!(UnixListener);

/// A Unix-domain stream connection.
pub struct UnixStream {
    io: Evented,
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.io.raw())
            .finish()
    }
}

stream_io!(UnixStream);

impl UnixStream {
    fn from_fd(fd: OwnedFd) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Evented::new(fd)?,
        })
    }

    /// Connects to the socket at `path`.
    ///
    /// # Cancel safety
    ///
    /// Dropping it before it completes closes the socket; the connection (if the server had
    /// accepted it) is abandoned and a new `connect` starts afresh.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let fd = socket::socket(libc::AF_UNIX, libc::SOCK_STREAM)?;
        let started = socket::connect(fd.as_raw_fd(), &SockAddr::from_path(path)?);
        match started {
            Ok(()) => UnixStream::from_fd(fd),
            Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {
                let stream = UnixStream {
                    io: Evented::connecting(fd)?,
                };
                stream.io.finish_connect().await?;
                Ok(stream)
            }
            Err(err) => Err(io::Error::new(
                err.kind(),
                format!("connect to {}: {err}", path.display()),
            )),
        }
    }

    /// A connected pair of streams (for talking to oneself, or to a child process).
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = socket::unix_pair(libc::SOCK_STREAM)?;
        Ok((UnixStream::from_fd(a)?, UnixStream::from_fd(b)?))
    }

    /// Adopts a connected std stream (made non-blocking here) and registers it with the
    /// current loop.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        socket::set_nonblocking(&stream)?;
        UnixStream::from_fd(OwnedFd::from(stream))
    }

    /// Deregisters the stream and returns it as std's, still non-blocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(std::os::unix::net::UnixStream::from(self.io.into_fd()))
    }

    /// The local address (unnamed for a client or a pair).
    pub fn local_addr(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        socket::unix_addr(self.io.raw(), false)
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        socket::unix_addr(self.io.raw(), true)
    }
}

/// The read half of [`UnixStream::into_split`].
pub type OwnedReadHalf = super::split::OwnedReadHalf<UnixStream>;
/// The write half of [`UnixStream::into_split`]; dropping it shuts the write direction down.
pub type OwnedWriteHalf = super::split::OwnedWriteHalf<UnixStream>;
/// The read half of [`UnixStream::split`].
pub type ReadHalf<'a> = super::split::ReadHalf<'a, UnixStream>;
/// The write half of [`UnixStream::split`].
pub type WriteHalf<'a> = super::split::WriteHalf<'a, UnixStream>;
/// Halves of two different streams given to `reunite`.
pub type ReuniteError = super::split::ReuniteError<UnixStream>;
