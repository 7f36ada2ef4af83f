//! A child's stdio pipes as non-blocking streams: [`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`].
//!
//! `std::process` creates the pipes (close-on-exec, blocking). We take our end, switch it to
//! `O_NONBLOCK` (the child's end is a separate open file description and stays blocking, as
//! programs expect) and register it with the reactor, edge-triggered, like a socket.
//!
//! Registration is lazy: it happens on the first read or write, with the loop running it. So a
//! child may be spawned outside any loop (or on one runtime) and its pipes used on another.
//! After that first use the pipe stays with that loop, which must keep running while the pipe
//! is used (as with sockets).

use crate::rt::reactor::{Direction, Registration};
use crate::sys;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::OnceLock;
use std::task::{Context, Poll};

/// One end of a pipe, registered with a loop on first use. Field order matters: the
/// registration is dropped (deregistered) before the descriptor is closed.
struct PipeEnd {
    registration: OnceLock<Registration>,
    fd: Option<OwnedFd>,
}

impl PipeEnd {
    fn new(fd: OwnedFd) -> io::Result<PipeEnd> {
        sys::pipe::set_nonblocking(&fd, true)?;
        Ok(PipeEnd {
            registration: OnceLock::new(),
            fd: Some(fd),
        })
    }

    fn raw(&self) -> io::Result<RawFd> {
        self.fd.as_ref().map(AsRawFd::as_raw_fd).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "weft::process: the pipe to the child was closed",
            )
        })
    }

    /// The registration, made on the current loop if this is the first use.
    fn registration(&self) -> io::Result<&Registration> {
        if let Some(registration) = self.registration.get() {
            return Ok(registration);
        }
        let made = Registration::new(self.raw()?);
        match made {
            Ok(registration) => {
                // A concurrent first use on another loop may have won; ours is then dropped
                // (deregistered from its loop) and theirs is used.
                let _ = self.registration.set(registration);
            }
            // Same loop, same descriptor, registered meanwhile by another task: use theirs.
            Err(_) if self.registration.get().is_some() => {}
            Err(err) => return Err(err),
        }
        Ok(self.registration.get().expect("registration was just set"))
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let (fd, registration) = match self.raw().and_then(|fd| Ok((fd, self.registration()?))) {
            Ok(pair) => pair,
            Err(err) => return Poll::Ready(Err(err)),
        };
        registration.poll_transfer(cx, Direction::Read, buf.len(), || {
            sys::socket::read(fd, buf)
        })
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let (fd, registration) = match self.raw().and_then(|fd| Ok((fd, self.registration()?))) {
            Ok(pair) => pair,
            Err(err) => return Poll::Ready(Err(err)),
        };
        registration.poll_transfer(cx, Direction::Write, buf.len(), || {
            sys::pipe::write(fd, buf)
        })
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let (fd, registration) = match self.raw().and_then(|fd| Ok((fd, self.registration()?))) {
            Ok(pair) => pair,
            Err(err) => return Poll::Ready(Err(err)),
        };
        let wanted = bufs.iter().map(|b| b.len()).sum();
        registration.poll_transfer(cx, Direction::Write, wanted, || {
            sys::pipe::write_vectored(fd, bufs)
        })
    }

    /// Closes our end now (the child reads end of file), deregistering it first.
    fn close(&mut self) {
        drop(self.registration.take());
        self.fd = None;
    }
}

impl fmt::Debug for PipeEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeEnd")
            .field("fd", &self.fd.as_ref().map(AsRawFd::as_raw_fd))
            .finish()
    }
}

/// Implements what both directions share: construction from std's pipe end, descriptor
/// access, `into_owned_fd`.
macro_rules! pipe_common {
    ($ty:ident, $std:ty) => {
        impl $ty {
            /// Adopts std's end of the pipe (switching it to non-blocking mode).
            pub fn from_std(pipe: $std) -> io::Result<$ty> {
                Ok($ty {
                    pipe: PipeEnd::new(OwnedFd::from(pipe))?,
                })
            }

            /// Gives back the descriptor, deregistered but still non-blocking. To make it
            /// another child's stdio, use `Stdio::try_from` instead, which makes it blocking
            /// again.
            pub fn into_owned_fd(mut self) -> io::Result<OwnedFd> {
                drop(self.pipe.registration.take());
                self.pipe.fd.take().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::BrokenPipe, "weft::process: pipe closed")
                })
            }
        }

        impl TryFrom<$ty> for Stdio {
            type Error = io::Error;

            /// Hands the pipe to another child (a shell pipeline: one child's stdout as the
            /// next one's stdin), switched back to blocking mode as programs expect.
            fn try_from(pipe: $ty) -> io::Result<Stdio> {
                let fd = pipe.into_owned_fd()?;
                sys::pipe::set_nonblocking(&fd, false)?;
                Ok(Stdio::from(fd))
            }
        }

        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.raw().unwrap_or(-1)
            }
        }

        impl AsFd for $ty {
            /// # Panics
            ///
            /// After `close` (through `AsyncWriteExt::close`) there is no descriptor left.
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe
                    .fd
                    .as_ref()
                    .expect("weft::process: the pipe was closed")
                    .as_fd()
            }
        }
    };
}

/// Implements the reading side (inherent `read`, futures-io `AsyncRead` for `T` and `&T`).
macro_rules! read_half {
    ($ty:ident) => {
        impl $ty {
            /// Reads into `buf`, waiting until the child writes; `Ok(0)` is end of stream (the
            /// child closed its end or exited).
            ///
            /// # Cancel safety
            ///
            /// Cancel safe: if dropped before completing, no data was read.
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                poll_fn(|cx| self.pipe.poll_read(cx, buf)).await
            }

            /// Reads until end of stream, appending to `out`; returns how many bytes were read.
            ///
            /// # Cancel safety
            ///
            /// Not cancel safe for the caller's view: bytes already appended stay in `out`,
            /// the rest of the stream is still to be read.
            pub async fn read_to_end(&self, out: &mut Vec<u8>) -> io::Result<usize> {
                let start = out.len();
                poll_fn(|cx| read_to_end(&self.pipe, cx, out)).await?;
                Ok(out.len() - start)
            }

            /// Polls a read into `buf`.
            pub fn poll_read(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }
        }

        impl futures_io::AsyncRead for &$ty {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_read(cx, buf)
            }
        }
    };
}

/// Bytes asked of the kernel per read while collecting a whole stream: 64 KiB is Linux's
/// default pipe capacity, so one read usually empties the pipe.
const COLLECT_CHUNK: usize = 64 * 1024;

/// Reads from `pipe` into `out` until end of stream (`Ready(Ok)`) or until the pipe is empty
/// for now (`Pending`).
fn read_to_end(pipe: &PipeEnd, cx: &mut Context<'_>, out: &mut Vec<u8>) -> Poll<io::Result<()>> {
    loop {
        out.reserve(COLLECT_CHUNK);
        let len = out.len();
        // Read into the initialised tail: zero-filling 64 KiB is cheap next to the syscall.
        out.resize(len + COLLECT_CHUNK, 0);
        let result = pipe.poll_read(cx, &mut out[len..]);
        let n = match &result {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        out.truncate(len + n);
        match result {
            Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(_)) => continue,
            Poll::Ready(Err(err)) if err.kind() == io::ErrorKind::Interrupted => continue,
            Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
            Poll::Pending => return Poll::Pending,
        }
    }
}

/// The parent's end of a child's standard input: an `AsyncWrite`.
///
/// Dropping it (or `close`) closes the pipe, so the child reads end of file.
pub struct ChildStdin {
    pipe: PipeEnd,
}

/// The parent's end of a child's standard output: an `AsyncRead`.
pub struct ChildStdout {
    pipe: PipeEnd,
}

/// The parent's end of a child's standard error: an `AsyncRead`.
pub struct ChildStderr {
    pipe: PipeEnd,
}

impl fmt::Debug for ChildStdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChildStdin").field(&self.pipe).finish()
    }
}

impl fmt::Debug for ChildStdout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChildStdout").field(&self.pipe).finish()
    }
}

impl fmt::Debug for ChildStderr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ChildStderr").field(&self.pipe).finish()
    }
}

pipe_common!(ChildStdin, std::process::ChildStdin);
pipe_common!(ChildStdout, std::process::ChildStdout);
pipe_common!(ChildStderr, std::process::ChildStderr);
read_half!(ChildStdout);
read_half!(ChildStderr);

impl ChildStdin {
    /// Writes some of `buf`, waiting until the pipe has room.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if dropped before completing, nothing was written.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.pipe.poll_write(cx, buf)).await
    }

    /// Writes all of `buf`. A child that exited (or closed its stdin) makes this fail with
    /// `BrokenPipe`.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: part of `buf` may have been written.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Polls a write of `buf`.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.pipe.poll_write(cx, buf)
    }
}

/// Implements futures-io's `AsyncWrite` for `ChildStdin` or `&ChildStdin`; `$close` says how
/// `poll_close` closes (only the owner can close the descriptor).
macro_rules! write_half {
    ($target:ty, $close:expr) => {
        impl futures_io::AsyncWrite for $target {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.pipe.poll_write_vectored(cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Nothing is buffered in user space.
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let close: fn(Pin<&mut Self>) = $close;
                close(self);
                Poll::Ready(Ok(()))
            }
        }
    };
}

write_half!(ChildStdin, |mut this| this.pipe.close());
// Through a shared reference the pipe cannot be closed; closing is left to the owner's drop.
write_half!(&ChildStdin, |_| {});

/// Wraps std's pipe ends taken from a freshly spawned child.
pub(crate) fn adopt(
    child: &mut std::process::Child,
) -> io::Result<(Option<ChildStdin>, Option<ChildStdout>, Option<ChildStderr>)> {
    let stdin = child.stdin.take().map(ChildStdin::from_std).transpose()?;
    let stdout = child.stdout.take().map(ChildStdout::from_std).transpose()?;
    let stderr = child.stderr.take().map(ChildStderr::from_std).transpose()?;
    Ok((stdin, stdout, stderr))
}

/// Collects a child's stdout and stderr concurrently until both reach end of stream.
pub(crate) async fn collect(
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut out_done, mut err_done) = (stdout.is_none(), stderr.is_none());
    poll_fn(|cx| {
        if let (false, Some(pipe)) = (out_done, &stdout) {
            match read_to_end(&pipe.pipe, cx, &mut out) {
                Poll::Ready(Ok(())) => out_done = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if let (false, Some(pipe)) = (err_done, &stderr) {
            match read_to_end(&pipe.pipe, cx, &mut err) {
                Poll::Ready(Ok(())) => err_done = true,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if out_done && err_done {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    })
    .await?;
    Ok((out, err))
}
