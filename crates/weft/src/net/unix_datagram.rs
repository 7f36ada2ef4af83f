//! Unix-domain datagram sockets.

use super::evented::{fd_traits, Evented};
use crate::rt::reactor::Direction;
use crate::sys::socket::{self, SockAddr};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix-domain datagram socket: bound to a path, unbound, or one of a connected pair.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::net::UnixDatagram;
/// let (a, b) = UnixDatagram::pair()?;
/// a.send(b"ping").await?;
/// let mut buf = [0; 16];
/// let n = b.recv(&mut buf).await?;
/// assert_eq!(&buf[..n], b"ping");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct UnixDatagram {
    io: Evented,
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.io.raw())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl UnixDatagram {
    fn from_fd(fd: OwnedFd) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Evented::new(fd)?,
        })
    }

    /// Binds to a filesystem path (which must not exist yet).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let fd = socket::socket(libc::AF_UNIX, libc::SOCK_DGRAM)?;
        socket::bind(fd.as_raw_fd(), &SockAddr::from_path(path)?)
            .map_err(|e| io::Error::new(e.kind(), format!("bind {}: {e}", path.display())))?;
        UnixDatagram::from_fd(fd)
    }

    /// A socket bound to no path: it can send (to a path, or once connected), and receive
    /// answers from a peer it connected to.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_fd(socket::socket(libc::AF_UNIX, libc::SOCK_DGRAM)?)
    }

    /// Two sockets connected to each other.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = socket::unix_pair(libc::SOCK_DGRAM)?;
        Ok((UnixDatagram::from_fd(a)?, UnixDatagram::from_fd(b)?))
    }

    /// Sets the default peer for [`send`](Self::send) and filters [`recv`](Self::recv) to it.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        socket::connect(self.io.raw(), &SockAddr::from_path(path)?)
            .map_err(|e| io::Error::new(e.kind(), format!("connect to {}: {e}", path.display())))
    }

    /// Adopts a std socket (made non-blocking here) and registers it with the current loop.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket::set_nonblocking(&socket)?;
        UnixDatagram::from_fd(OwnedFd::from(socket))
    }

    /// Deregisters the socket and returns it as std's, still non-blocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(std::os::unix::net::UnixDatagram::from(self.io.into_fd()))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is sent whole or not at all.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf).await
    }

    /// Receives one datagram from the connected peer; a longer one is truncated.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if dropped before completing, no datagram was taken.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf).await
    }

    /// Sends one datagram to the socket bound at `path`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is sent whole or not at all.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        let addr = SockAddr::from_path(path)?;
        let fd = self.io.raw();
        poll_fn(|cx| {
            self.io
                .registration()
                .poll_io(cx, Direction::Write, || socket::send_to(fd, buf, &addr))
        })
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("send to {}: {e}", path.display())))
    }

    /// Receives one datagram and its sender's address (unnamed for an unbound sender).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if dropped before completing, no datagram was taken.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let fd = self.io.raw();
        poll_fn(|cx| {
            self.io
                .registration()
                .poll_io(cx, Direction::Read, || socket::unix_recv_from(fd, buf))
        })
        .await
    }

    /// The bound address (unnamed if unbound).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::unix_addr(self.io.raw(), false)
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        socket::unix_addr(self.io.raw(), true)
    }
}

fd_traits!(UnixDatagram);
