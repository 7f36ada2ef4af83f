//! `TcpSocket`: a TCP socket not yet connected or listening, for options that must be set
//! before (`SO_REUSEPORT`, buffer sizes, a bound source address), shaped like tokio's.

use super::tcp::{TcpListener, TcpStream};
use crate::sys::socket::{self, SockAddr};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

/// A TCP socket to configure, then turn into a [`TcpStream`] ([`connect`](Self::connect)) or
/// a [`TcpListener`] ([`listen`](Self::listen)).
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use weft::net::TcpSocket;
/// let server = TcpSocket::new_v4()?;
/// server.set_reuseaddr(true)?;
/// server.bind("127.0.0.1:0".parse().unwrap())?;
/// let listener = server.listen(128)?;
/// let client = TcpSocket::new_v4()?;
/// client.set_nodelay(true)?;
/// let stream = client.connect(listener.local_addr()?).await?;
/// assert!(stream.nodelay()?);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct TcpSocket {
    // Not registered with a loop until it becomes a stream or a listener.
    fd: OwnedFd,
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpSocket")
            .field("fd", &self.fd.as_raw_fd())
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

impl TcpSocket {
    /// A new IPv4 socket (non-blocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET)
    }

    /// A new IPv6 socket (non-blocking, close-on-exec).
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(libc::AF_INET6)
    }

    fn new(domain: libc::c_int) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            fd: socket::socket(domain, libc::SOCK_STREAM)?,
        })
    }

    fn set(&self, level: libc::c_int, name: libc::c_int, value: i32) -> io::Result<()> {
        socket::set_int_opt(self.fd.as_raw_fd(), level, name, value)
    }

    fn get(&self, level: libc::c_int, name: libc::c_int) -> io::Result<i32> {
        socket::get_int_opt(self.fd.as_raw_fd(), level, name)
    }

    /// `SO_REUSEADDR`: bind a port that still has connections in `TIME_WAIT`.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_REUSEADDR, on as i32)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_REUSEADDR)? != 0)
    }

    /// `SO_REUSEPORT`: several sockets listen on one port, the kernel spreads connections.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_REUSEPORT, on as i32)
    }

    /// Whether `SO_REUSEPORT` is set.
    pub fn reuseport(&self) -> io::Result<bool> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_REUSEPORT)? != 0)
    }

    /// `SO_KEEPALIVE`: probe an idle connection so a dead peer is noticed.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, on as i32)
    }

    /// Whether `SO_KEEPALIVE` is set.
    pub fn keepalive(&self) -> io::Result<bool> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_KEEPALIVE)? != 0)
    }

    /// `TCP_NODELAY`: send small writes at once (no Nagle).
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.set(libc::IPPROTO_TCP, libc::TCP_NODELAY, on as i32)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.get(libc::IPPROTO_TCP, libc::TCP_NODELAY)? != 0)
    }

    /// `SO_SNDBUF`. Linux doubles the value asked (for its bookkeeping) and
    /// [`send_buffer_size`](Self::send_buffer_size) reports the doubled value.
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_SNDBUF, clamp(size))
    }

    /// `SO_SNDBUF` as the kernel holds it.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_SNDBUF)? as u32)
    }

    /// `SO_RCVBUF` (doubled by Linux, as for the send buffer).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.set(libc::SOL_SOCKET, libc::SO_RCVBUF, clamp(size))
    }

    /// `SO_RCVBUF` as the kernel holds it.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        Ok(self.get(libc::SOL_SOCKET, libc::SO_RCVBUF)? as u32)
    }

    /// Binds to a local address (a source address before `connect`, or the address to
    /// listen on).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        socket::bind(self.fd.as_raw_fd(), &SockAddr::from_inet(&addr))
            .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        socket::local_addr(self.fd.as_raw_fd())?.expect_inet()
    }

    /// Connects to `addr` and registers the stream with the current loop.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future closes the socket and abandons the handshake.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect_fd(self.fd, addr).await
    }

    /// Starts listening with room for `backlog` connections not yet accepted, and registers
    /// the listener with the current loop.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = backlog.min(i32::MAX as u32) as i32;
        socket::listen(self.fd.as_raw_fd(), backlog)?;
        TcpListener::from_fd(self.fd)
    }

    /// Adopts a std stream's socket (typically one not yet connected, made with another
    /// crate), made non-blocking here.
    pub fn from_std_stream(stream: std::net::TcpStream) -> io::Result<TcpSocket> {
        socket::set_nonblocking(&stream)?;
        Ok(TcpSocket {
            fd: OwnedFd::from(stream),
        })
    }
}

fn clamp(size: u32) -> i32 {
    size.min(i32::MAX as u32) as i32
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
