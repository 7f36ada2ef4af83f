//! A socket descriptor registered with a loop, and the stream operations shared by TCP and Unix
//! streams.

use crate::rt::reactor::{Direction, Registration};
use crate::sys::socket;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::task::{Context, Poll};

/// An owned descriptor plus its registration. Field order matters: the registration is dropped
/// (deregistered) before the descriptor is closed.
#[derive(Debug)]
pub(crate) struct Evented {
    registration: Registration,
    fd: OwnedFd,
}

impl Evented {
    /// Registers `fd` (already non-blocking) with the current loop.
    pub(crate) fn new(fd: OwnedFd) -> io::Result<Evented> {
        let registration = Registration::new(fd.as_raw_fd())?;
        Ok(Evented { registration, fd })
    }

    /// Registers a socket whose `connect` returned `EINPROGRESS`.
    pub(crate) fn connecting(fd: OwnedFd) -> io::Result<Evented> {
        let registration = Registration::connecting(fd.as_raw_fd())?;
        Ok(Evented { registration, fd })
    }

    /// Deregisters and gives the descriptor back, still open and non-blocking.
    pub(crate) fn into_fd(self) -> OwnedFd {
        let Evented { registration, fd } = self;
        drop(registration);
        fd
    }

    /// The descriptor, borrowed.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub(crate) fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let fd = self.raw();
        self.registration
            .poll_transfer(cx, Direction::Read, buf.len(), || socket::read(fd, buf))
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let fd = self.raw();
        self.registration
            .poll_transfer(cx, Direction::Write, buf.len(), || socket::send(fd, buf))
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let fd = self.raw();
        let wanted = bufs.iter().map(|b| b.len()).sum();
        self.registration
            .poll_transfer(cx, Direction::Write, wanted, || {
                socket::send_vectored(fd, bufs)
            })
    }

    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<()>> {
        self.registration.poll_ready(cx, dir).map(|_| Ok(()))
    }

    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<()> {
        poll_fn(|cx| self.poll_ready(cx, dir)).await
    }

    /// Sends one datagram (or the bytes the kernel takes) once the socket is writable.
    pub(crate) async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.raw();
        poll_fn(|cx| {
            self.registration()
                .poll_io(cx, Direction::Write, || socket::send(fd, buf))
        })
        .await
    }

    /// Receives one datagram (or what is there) once the socket is readable.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.raw();
        poll_fn(|cx| {
            self.registration()
                .poll_io(cx, Direction::Read, || socket::read(fd, buf))
        })
        .await
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let fd = self.raw();
        self.registration
            .try_io(Direction::Read, || socket::read(fd, buf))
    }

    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        let fd = self.raw();
        self.registration
            .try_io(Direction::Write, || socket::send(fd, buf))
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let fd = self.raw();
        self.registration
            .try_io(Direction::Write, || socket::send_vectored(fd, bufs))
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        socket::shutdown(self.raw(), how)
    }

    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = poll_fn(|cx| self.poll_write(cx, buf)).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Waits for a non-blocking `connect` to finish and reports its outcome.
    pub(crate) async fn finish_connect(&self) -> io::Result<()> {
        self.ready(Direction::Write).await?;
        match socket::take_error(self.raw())? {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// Implements the stream API (inherent methods and futures-io traits for `T` and `&T`) for a
/// type with an `io: Evented` field.
macro_rules! stream_io {
    ($ty:ident) => {
        impl $ty {
            /// Reads into `buf`, waiting until data arrives; `Ok(0)` is end of stream.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: if dropped before completing, no data was read.
            pub async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.io.poll_read(cx, buf)).await
            }

            /// Fills `buf` completely, or fails with `UnexpectedEof`.
            ///
            /// # Cancel safety
            ///
            /// Not cancel safe: bytes read before cancellation are lost.
            pub async fn read_exact(&self, mut buf: &mut [u8]) -> std::io::Result<()> {
                while !buf.is_empty() {
                    let n = self.read(buf).await?;
                    if n == 0 {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                    buf = &mut buf[n..];
                }
                Ok(())
            }

            /// Writes some of `buf`, waiting until the socket accepts data.
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: if dropped before completing, nothing was written.
            pub async fn write(&self, buf: &[u8]) -> std::io::Result<usize> {
                std::future::poll_fn(|cx| self.io.poll_write(cx, buf)).await
            }

            /// Writes all of `buf`.
            ///
            /// # Cancel safety
            ///
            /// Not cancel safe: part of `buf` may have been written.
            pub async fn write_all(&self, buf: &[u8]) -> std::io::Result<()> {
                self.io.write_all(buf).await
            }

            /// Polls a read into `buf`.
            pub fn poll_read(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }

            /// Polls a write of `buf`.
            pub fn poll_write(
                &self,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            /// Polls a gathered write of `bufs` (one `sendmsg`).
            pub fn poll_write_vectored(
                &self,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }

            /// Waits until the stream is (believed) readable; pair with [`try_read`](Self::try_read).
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: it only waits for readiness and consumes no data.
            pub async fn readable(&self) -> std::io::Result<()> {
                self.io.ready(crate::rt::reactor::Direction::Read).await
            }

            /// Waits until the stream is (believed) writable; pair with [`try_write`](Self::try_write).
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: it only waits for readiness and writes nothing.
            pub async fn writable(&self) -> std::io::Result<()> {
                self.io.ready(crate::rt::reactor::Direction::Write).await
            }

            /// Polls for read readiness.
            pub fn poll_read_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_ready(cx, crate::rt::reactor::Direction::Read)
            }

            /// Polls for write readiness.
            pub fn poll_write_ready(
                &self,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.io.poll_ready(cx, crate::rt::reactor::Direction::Write)
            }

            /// Reads without waiting: `WouldBlock` if no data is ready.
            pub fn try_read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.io.try_read(buf)
            }

            /// Writes without waiting: `WouldBlock` if the socket buffer is full.
            pub fn try_write(&self, buf: &[u8]) -> std::io::Result<usize> {
                self.io.try_write(buf)
            }

            /// Gathered write without waiting.
            pub fn try_write_vectored(
                &self,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::io::Result<usize> {
                self.io.try_write_vectored(bufs)
            }

            /// Shuts down the read, write or both halves.
            pub fn shutdown(&self, how: std::net::Shutdown) -> std::io::Result<()> {
                self.io.shutdown(how)
            }

            /// Splits the stream into owned halves, each movable to its own task; put them
            /// back with `reunite`. Dropping the write half shuts the write direction down.
            pub fn into_split(
                self,
            ) -> (
                crate::net::split::OwnedReadHalf<$ty>,
                crate::net::split::OwnedWriteHalf<$ty>,
            ) {
                crate::net::split::into_split(self)
            }

            /// Splits the stream into borrowed halves (no reference count), for reading and
            /// writing it from two futures of one task (`copy` in each direction, say).
            ///
            /// With `weft::io::AsyncReadExt` in scope, `stream.split()` on an owned stream
            /// resolves to that trait's by-value `split` (halves behind a lock); write
            /// `TcpStream::split(&mut stream)` (or call it on a `&mut`) to get these.
            pub fn split(
                &mut self,
            ) -> (
                crate::net::split::ReadHalf<'_, $ty>,
                crate::net::split::WriteHalf<'_, $ty>,
            ) {
                crate::net::split::split(self)
            }
        }

        crate::net::evented::fd_traits!($ty);

        crate::net::evented::stream_traits!($ty);
        crate::net::evented::stream_traits!(&$ty);
    };
}

/// Implements futures-io's `AsyncRead`/`AsyncWrite` for a stream type or a reference to one.
macro_rules! stream_traits {
    ($target:ty) => {
        impl futures_io::AsyncRead for $target {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncWrite for $target {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.io.shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

/// `AsRawFd` and `AsFd` for a type with an `io: Evented` field.
macro_rules! fd_traits {
    ($ty:ident) => {
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.raw()
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.fd()
            }
        }
    };
}

pub(crate) use fd_traits;
pub(crate) use stream_io;
pub(crate) use stream_traits;
