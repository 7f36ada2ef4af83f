//! UDP sockets.

use super::bind::bind_first;
use super::evented::{fd_traits, Evented};
use crate::dns::ToSocketAddrs;
use crate::rt::reactor::Direction;
use crate::sys::socket::{self, SockAddr};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};

/// A UDP socket.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::net::UdpSocket;
/// let a = UdpSocket::bind("127.0.0.1:0")?;
/// let b = UdpSocket::bind("127.0.0.1:0")?;
/// a.send_to(b"ping", b.local_addr()?).await?;
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf).await?;
/// assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct UdpSocket {
    io: Evented,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("fd", &self.io.raw())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl UdpSocket {
    /// Binds a socket to what std's `bind` accepts: a [`SocketAddr`], `"127.0.0.1:0"`,
    /// `("localhost", 5353)`, `(ip, port)`, a list of addresses (the first that binds wins).
    /// A host name is resolved on the calling thread, as std does.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        bind_first(&addr, UdpSocket::bind_addr)
    }

    fn bind_addr(addr: SocketAddr) -> io::Result<UdpSocket> {
        let fd = socket::inet_socket(&addr, libc::SOCK_DGRAM)?;
        socket::bind(fd.as_raw_fd(), &SockAddr::from_inet(&addr))
            .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
        Ok(UdpSocket {
            io: Evented::new(fd)?,
        })
    }

    /// Adopts a std socket (made non-blocking here) and registers it with the current loop.
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket::set_nonblocking(&socket)?;
        Ok(UdpSocket {
            io: Evented::new(OwnedFd::from(socket))?,
        })
    }

    /// Deregisters the socket and returns it as std's, still non-blocking.
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(std::net::UdpSocket::from(self.io.into_fd()))
    }

    /// Receives the next datagram's bytes without taking it: the next `recv` returns it again.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it consumes nothing.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.peek_from(buf).await?.0)
    }

    /// Like [`peek`](Self::peek), with the sender's address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it consumes nothing.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let fd = self.io.raw();
        let (n, addr) = poll_fn(|cx| {
            self.io
                .registration()
                .poll_io(cx, Direction::Read, || socket::peek_from(fd, buf))
        })
        .await?;
        Ok((n, addr.expect_inet()?))
    }

    /// Sets the default peer for [`send`](Self::send) and filters [`recv`](Self::recv) to it.
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        socket::connect(self.io.raw(), &SockAddr::from_inet(&addr))
    }

    /// Sends one datagram to `target`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is sent whole or not at all.
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        let addr = SockAddr::from_inet(&target);
        let fd = self.io.raw();
        poll_fn(|cx| {
            self.io
                .registration()
                .poll_io(cx, Direction::Write, || socket::send_to(fd, buf, &addr))
        })
        .await
    }

    /// Receives one datagram and its sender. A datagram longer than `buf` is truncated.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let fd = self.io.raw();
        let (n, addr) = poll_fn(|cx| {
            self.io
                .registration()
                .poll_io(cx, Direction::Read, || socket::recv_from(fd, buf))
        })
        .await?;
        Ok((n, addr.expect_inet()?))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a datagram is sent whole or not at all.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.send(buf).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if dropped before completing, no datagram was taken from the socket.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.recv(buf).await
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.io.raw())?.expect_inet()
    }
}

fd_traits!(UdpSocket);
