//! Sockets for green threads: std-like, blocking-style, parking underneath.
//!
//! Each type wraps its [`crate::net`] counterpart and turns each async
//! operation into a call that parks the green thread until it completes, so
//! green code uses `std::io::Read`/`Write` (and everything built on them:
//! `BufReader`, `read_exact`, `write_all`, `io::copy`) as it would on a
//! std socket. The sockets are the same non-blocking, epoll-registered
//! sockets async code uses; [`TcpStream::into_async`] and
//! [`TcpStream::from_async`] move one between the two styles.
//!
//! Like the `net` types, these register with the loop current when they
//! are created and must be used on it (they are created on a green thread,
//! which never leaves its loop). Called outside a green thread, every
//! parking operation returns an `io::Error` wrapping
//! [`ParkError`](super::ParkError) instead of blocking the loop.
//!
//! Read and write timeouts ([`TcpStream::set_read_timeout`]) bound each
//! call, as `SO_RCVTIMEO` does for std sockets, and fail with
//! `ErrorKind::TimedOut`. This relies on the `net` read and write futures
//! being cancel-safe (a cancelled read has consumed no data).

use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use super::park_io;
use crate::net;

/// Parks on `fut`, bounded by `limit` when one is set.
///
/// An operation that completes on its first poll (data already buffered,
/// room in the send buffer) is not timed at all: the timer, and the clock
/// read it needs, are only set up once it has to wait.
fn park_bounded<T>(
    limit: Option<Duration>,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let Some(limit) = limit else {
        return park_io(fut);
    };
    park_io(async move {
        let mut fut = pin!(fut);
        let first = poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        if let Poll::Ready(result) = first {
            return result;
        }
        match crate::time::timeout(limit, fut).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("green socket operation timed out after {limit:?}"),
            )),
        }
    })
}

/// A zero timeout is refused, as by std's `set_read_timeout`.
fn check_timeout(limit: Option<Duration>) -> io::Result<Option<Duration>> {
    if limit == Some(Duration::ZERO) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a zero timeout on a green socket",
        ));
    }
    Ok(limit)
}

/// Generates a green stream type over a `net` stream (which has `&self`
/// `poll_read`/`poll_write`): the `Read`/`Write` impls (for the
/// type and for `&type`), timeouts, and conversion to and from async.
macro_rules! green_stream {
    ($(#[$doc:meta])* $name:ident, $inner:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            inner: $inner,
            read_timeout: Cell<Option<Duration>>,
            write_timeout: Cell<Option<Duration>>,
        }

        impl $name {
            /// Wraps an async stream for blocking-style use.
            pub fn from_async(inner: $inner) -> Self {
                $name {
                    inner,
                    read_timeout: Cell::new(None),
                    write_timeout: Cell::new(None),
                }
            }

            /// Unwraps into the async stream, to hand it to async code.
            pub fn into_async(self) -> $inner {
                self.inner
            }

            /// The async stream underneath.
            pub fn as_async(&self) -> &$inner {
                &self.inner
            }

            /// Bounds each later `read` to `limit` (`None`: unbounded).
            ///
            /// # Errors
            ///
            /// `InvalidInput` for a zero duration.
            pub fn set_read_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
                self.read_timeout.set(check_timeout(limit)?);
                Ok(())
            }

            /// Bounds each later `write` to `limit` (`None`: unbounded).
            ///
            /// # Errors
            ///
            /// `InvalidInput` for a zero duration.
            pub fn set_write_timeout(&self, limit: Option<Duration>) -> io::Result<()> {
                self.write_timeout.set(check_timeout(limit)?);
                Ok(())
            }

            /// The current read timeout.
            pub fn read_timeout(&self) -> Option<Duration> {
                self.read_timeout.get()
            }

            /// The current write timeout.
            pub fn write_timeout(&self) -> Option<Duration> {
                self.write_timeout.get()
            }

            fn park_read(&self, buf: &mut [u8]) -> io::Result<usize> {
                park_bounded(
                    self.read_timeout.get(),
                    poll_fn(|cx| self.inner.poll_read(cx, buf)),
                )
            }

            fn park_write(&self, buf: &[u8]) -> io::Result<usize> {
                park_bounded(
                    self.write_timeout.get(),
                    poll_fn(|cx| self.inner.poll_write(cx, buf)),
                )
            }
        }

        impl Read for $name {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.park_read(buf)
            }
        }

        impl Read for &$name {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.park_read(buf)
            }
        }

        impl Write for $name {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.park_write(buf)
            }

            /// Nothing to flush: writes go straight to the socket.
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl Write for &$name {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.park_write(buf)
            }

            /// Nothing to flush: writes go straight to the socket.
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
    };
}

green_stream!(
    /// A TCP connection for green threads: `std::io::Read`/`Write` that park.
    ///
    /// `&TcpStream` also implements `Read` and `Write`, so one green thread
    /// can read while another writes (share it with an `Rc`).
    TcpStream,
    net::TcpStream
);

impl TcpStream {
    /// Connects to `addr`, parking until the connection is established.
    ///
    /// # Errors
    ///
    /// The connection failed (refused, unreachable), or the caller is not a
    /// green thread.
    pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
        park_io(net::TcpStream::connect(addr)).map(TcpStream::from_async)
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// The socket is not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// # Errors
    ///
    /// As `setsockopt(2)`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_nodelay(nodelay)
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// # Errors
    ///
    /// As `shutdown(2)` (for example, the socket is not connected).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

green_stream!(
    /// A Unix stream socket for green threads: `std::io::Read`/`Write` that
    /// park.
    UnixStream,
    net::UnixStream
);

impl UnixStream {
    /// Connects to the socket at `path`, parking until connected.
    ///
    /// # Errors
    ///
    /// No listener at `path`, permission denied, or the caller is not a
    /// green thread.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        park_io(net::UnixStream::connect(path.as_ref())).map(UnixStream::from_async)
    }

    /// A connected pair of sockets (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// As `socketpair(2)`.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = net::UnixStream::pair()?;
        Ok((UnixStream::from_async(a), UnixStream::from_async(b)))
    }

    /// Shuts down the read half, the write half, or both.
    ///
    /// # Errors
    ///
    /// As `shutdown(2)`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }
}

/// A TCP listening socket for green threads: `accept` parks.
#[derive(Debug)]
pub struct TcpListener {
    inner: net::TcpListener,
}

impl TcpListener {
    /// Binds and listens on `addr` (see [`net::TcpListener::bind`]); does
    /// not park, and may be called from a task too.
    ///
    /// # Errors
    ///
    /// The address is in use or not available.
    pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        net::TcpListener::bind(addr).map(TcpListener::from_async)
    }

    /// Wraps an async listener for blocking-style use.
    pub fn from_async(inner: net::TcpListener) -> TcpListener {
        TcpListener { inner }
    }

    /// Unwraps into the async listener.
    pub fn into_async(self) -> net::TcpListener {
        self.inner
    }

    /// The async listener inside (for example to take the connections already queued with
    /// `poll_accept` outside any green thread, before closing it).
    pub fn as_async(&self) -> &net::TcpListener {
        &self.inner
    }

    /// Accepts the next connection, parking until one arrives.
    ///
    /// # Errors
    ///
    /// As `accept4(2)`, or the caller is not a green thread.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        park_io(self.inner.accept()).map(|(s, addr)| (TcpStream::from_async(s), addr))
    }

    /// An endless iterator over accepted connections (each item an
    /// `accept`).
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(|| self.accept().map(|(s, _)| s))
    }

    /// The bound address (useful after binding port 0).
    ///
    /// # Errors
    ///
    /// As `getsockname(2)`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A Unix listening socket for green threads: `accept` parks.
#[derive(Debug)]
pub struct UnixListener {
    inner: net::UnixListener,
}

impl UnixListener {
    /// Binds and listens on `path`; does not park.
    ///
    /// # Errors
    ///
    /// The path exists or its directory is not writable.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        net::UnixListener::bind(path.as_ref()).map(UnixListener::from_async)
    }

    /// Wraps an async listener for blocking-style use.
    pub fn from_async(inner: net::UnixListener) -> UnixListener {
        UnixListener { inner }
    }

    /// Unwraps into the async listener.
    pub fn into_async(self) -> net::UnixListener {
        self.inner
    }

    /// Accepts the next connection, parking until one arrives.
    ///
    /// # Errors
    ///
    /// As `accept4(2)`, or the caller is not a green thread.
    pub fn accept(&self) -> io::Result<UnixStream> {
        park_io(self.inner.accept()).map(UnixStream::from_async)
    }
}
