//! `AsyncFd`: a user's own descriptor on the loop's reactor, shaped like tokio's.
//!
//! weft's sockets, pipes and signal streams are all built on the reactor's `Registration`
//! (an edge-triggered epoll entry plus a readiness word per descriptor). `AsyncFd` hands
//! that same machinery to descriptors weft does not know: an inotify or timer fd, a serial
//! port, a socket from a C library. The owner keeps doing the I/O itself; the loop only says
//! when to try.
//!
//! The protocol is the reactor's: `readable().await` returns a guard once the descriptor is
//! believed ready; the caller tries its non-blocking syscall inside
//! [`AsyncFdReadyGuard::try_io`], which forgets the readiness when the syscall answers
//! `WouldBlock` (so the next `readable()` waits for the next edge), or calls
//! [`clear_ready`](AsyncFdReadyGuard::clear_ready) itself. A readiness edge that arrives
//! between the check and the clear is never thrown away (the readiness word carries a tick).
//!
//! The descriptor must be in non-blocking mode: `AsyncFd` does not change it, and a blocking
//! read would stall the whole loop.

use crate::rt::reactor::{Direction, ReadyEvent, Registration};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{Context, Poll};

/// A descriptor-owning value registered with the current loop's reactor.
///
/// ```
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// use std::io::Read;
/// use weft::io::AsyncFd;
/// let (reader, mut writer) = std::os::unix::net::UnixStream::pair()?;
/// reader.set_nonblocking(true)?;
/// let reader = AsyncFd::new(reader)?;
/// std::io::Write::write_all(&mut writer, b"hi")?;
/// let mut buf = [0; 2];
/// let n = loop {
///     let mut guard = reader.readable().await?;
///     match guard.try_io(|fd| fd.get_ref().read(&mut buf)) {
///         Ok(result) => break result?,
///         Err(_would_block) => continue,
///     }
/// };
/// assert_eq!(&buf[..n], b"hi");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct AsyncFd<T: AsFd> {
    // Field order matters: the registration leaves epoll before the descriptor can close.
    registration: Registration,
    inner: T,
}

impl<T: AsFd> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("fd", &self.as_raw_fd())
            .finish_non_exhaustive()
    }
}

impl<T: AsFd> AsyncFd<T> {
    /// Registers `inner`'s descriptor (which must be non-blocking) with the current loop, for
    /// both directions.
    ///
    /// # Errors
    ///
    /// Outside a weft loop; or when epoll refuses the descriptor (a regular file or a
    /// directory: `EPERM`), or it is already registered elsewhere with this loop's poller.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        let registration = Registration::new(inner.as_fd().as_raw_fd())?;
        Ok(AsyncFd {
            registration,
            inner,
        })
    }

    /// The wrapped value.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Deregisters the descriptor and gives the value back (its descriptor still open).
    pub fn into_inner(self) -> T {
        let AsyncFd {
            registration,
            inner,
        } = self;
        drop(registration);
        inner
    }

    /// Waits until the descriptor is (believed) readable.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Direction::Read).await
    }

    /// Waits until the descriptor is (believed) writable.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        self.ready(Direction::Write).await
    }

    /// Like [`readable`](Self::readable), with a guard whose [`try_io`](AsyncFdReadyMutGuard::try_io)
    /// hands out `&mut AsyncFd<T>` (for a value whose reads need `&mut`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let event = poll_fn(|cx| self.registration.poll_ready(cx, Direction::Read)).await;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            event: Some(event),
        })
    }

    /// Like [`writable`](Self::writable), with a guard that hands out `&mut AsyncFd<T>`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let event = poll_fn(|cx| self.registration.poll_ready(cx, Direction::Write)).await;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            event: Some(event),
        })
    }

    /// Polls for read readiness; the guard works as [`readable`](Self::readable)'s does.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Direction::Read)
    }

    /// Polls for write readiness; the guard works as [`writable`](Self::writable)'s does.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.poll_ready(cx, Direction::Write)
    }

    async fn ready(&self, dir: Direction) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        let event = poll_fn(|cx| self.registration.poll_ready(cx, dir)).await;
        Ok(AsyncFdReadyGuard {
            fd: self,
            event: Some(event),
        })
    }

    fn poll_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        self.registration.poll_ready(cx, dir).map(|event| {
            Ok(AsyncFdReadyGuard {
                fd: self,
                event: Some(event),
            })
        })
    }
}

impl<T: AsFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

impl<T: AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// The readiness `readable()`/`writable()` saw. Dropping it keeps the readiness (the next wait
/// returns at once); [`clear_ready`](Self::clear_ready) or a `WouldBlock` inside
/// [`try_io`](Self::try_io) forgets it.
pub struct AsyncFdReadyGuard<'a, T: AsFd> {
    fd: &'a AsyncFd<T>,
    event: Option<ReadyEvent>,
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", &self.fd.as_raw_fd())
            .field("cleared", &self.event.is_none())
            .finish()
    }
}

impl<'a, T: AsFd> AsyncFdReadyGuard<'a, T> {
    /// Forgets the readiness this guard saw (unless a newer event arrived meanwhile), so the
    /// next `readable()`/`writable()` waits for the next edge. Call it after a syscall answered
    /// `WouldBlock`.
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.fd.registration.clear_readiness(event);
        }
    }

    /// Keeps the readiness (the same as dropping the guard).
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// Runs `f`, the caller's non-blocking syscall. A `WouldBlock` from it clears the readiness
    /// and comes back as `Err(TryIoError)` (wait again); any other outcome is `Ok(result)`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd` this guard belongs to.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

/// The guard of [`AsyncFd::readable_mut`] and [`AsyncFd::writable_mut`]: as
/// [`AsyncFdReadyGuard`], with mutable access.
pub struct AsyncFdReadyMutGuard<'a, T: AsFd> {
    fd: &'a mut AsyncFd<T>,
    event: Option<ReadyEvent>,
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("fd", &self.fd.as_raw_fd())
            .field("cleared", &self.event.is_none())
            .finish()
    }
}

impl<T: AsFd> AsyncFdReadyMutGuard<'_, T> {
    /// Forgets the readiness this guard saw (see [`AsyncFdReadyGuard::clear_ready`]).
    pub fn clear_ready(&mut self) {
        if let Some(event) = self.event.take() {
            self.fd.registration.clear_readiness(event);
        }
    }

    /// Keeps the readiness (the same as dropping the guard).
    pub fn retain_ready(&mut self) {
        self.event = None;
    }

    /// Runs `f` with mutable access; a `WouldBlock` clears the readiness and comes back as
    /// `Err(TryIoError)`, any other outcome as `Ok(result)`.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        match f(self.fd) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                self.clear_ready();
                Err(TryIoError(()))
            }
            result => Ok(result),
        }
    }

    /// The `AsyncFd` this guard belongs to.
    pub fn get_ref(&self) -> &AsyncFd<T> {
        self.fd
    }

    /// The `AsyncFd` this guard belongs to, mutably.
    pub fn get_mut(&mut self) -> &mut AsyncFd<T> {
        self.fd
    }

    /// The wrapped value.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The wrapped value, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

/// [`AsyncFdReadyGuard::try_io`]'s answer when the syscall would have blocked: the readiness was
/// cleared; wait for it again.
#[derive(Debug)]
pub struct TryIoError(());

impl fmt::Display for TryIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation would block; wait for readiness again")
    }
}

impl std::error::Error for TryIoError {}
