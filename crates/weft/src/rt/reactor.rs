//! The reactor: turns readiness (from epoll, or io_uring's multishot polls) into task
//! wake-ups.
//!
//! Each registered descriptor has an [`IoSource`]: a readiness word and one waiter slot per
//! direction (read, write). The descriptor is registered once, edge-triggered, for both
//! directions, with the source's address as its epoll token, so an event finds its source
//! without a lookup and no `epoll_ctl` is made between waits.
//!
//! # Readiness protocol
//!
//! The readiness word holds direction bits in its low 16 bits and a *tick* above them, bumped by
//! every event. An operation:
//!
//! 1. reads the readiness; if its direction is not ready, it stores its waker, re-reads (so an
//!    event between the two reads is not lost) and returns `Pending`;
//! 2. tries the syscall; on `WouldBlock` it clears the direction *only if the tick is unchanged*,
//!    so readiness delivered by an event that raced with the syscall is never thrown away.
//!
//! A source starts out readable and writable: the first operation tries the syscall at once,
//! which saves an epoll round trip for a freshly accepted connection whose request has arrived.
//! (A connecting socket is the exception: it starts with nothing ready and waits for the
//! kernel's word that the handshake finished.)
//!
//! # Writability on demand
//!
//! Most sockets never fill their send buffer, yet with `EPOLLOUT` subscribed every ACK that frees
//! buffer space would queue an epoll event for nobody. So a source is subscribed to writability
//! only the first time a write has to wait: `poll_ready(Write)` then makes one `EPOLL_CTL_MOD`,
//! which also reports at once a writability that arrived meanwhile. The subscription stays for
//! the life of the source, so that is at most one extra syscall per socket, and none for sockets
//! whose writes never block.
//!
//! # Lifetime
//!
//! The poller's token is an `Arc<IoSource>` turned into a raw pointer. When the owner drops its
//! [`Registration`], the descriptor is removed from epoll and the pointer is handed to the home
//! loop's release list; the loop frees it after finishing the event batch in hand, the last
//! place where the kernel could still have named it.

pub(crate) use super::io_source::{Direction, IoSource, ReadyEvent};
use crate::loom::{Arc, Ordering::*};
use crate::rt::coop;
use crate::rt::{current_shared, with_current, LoopShared};
use crate::sys::Readiness;
use std::io;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// A descriptor's registration with the loop that was current when it was created.
pub(crate) struct Registration {
    source: NonNull<IoSource>,
    home: Arc<LoopShared>,
    fd: RawFd,
}

// SAFETY: the source is an Arc'd, Sync `IoSource` kept alive until this registration is dropped
// (and then until the home loop frees it); the rest is `Arc<LoopShared>` and an integer.
unsafe impl Send for Registration {}
// SAFETY: shared access only uses the atomics of `IoSource` and `LoopShared`.
unsafe impl Sync for Registration {}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.fd)
            .field("loop", &self.home.id)
            .finish()
    }
}

impl Registration {
    /// Registers `fd` with the current loop, optimistically ready in both directions. Fails
    /// outside a weft loop.
    pub(crate) fn new(fd: RawFd) -> io::Result<Registration> {
        let ready = (Readiness::READABLE | Readiness::WRITABLE) as usize;
        Registration::with_state(fd, ready, false)
    }

    /// Registers a socket whose non-blocking `connect` is in progress: nothing is ready until
    /// the kernel reports the handshake's outcome (writable, or an error).
    pub(crate) fn connecting(fd: RawFd) -> io::Result<Registration> {
        Registration::with_state(fd, 0, true)
    }

    fn with_state(fd: RawFd, ready: usize, writable: bool) -> io::Result<Registration> {
        let home = current_shared().ok_or_else(|| {
            io::Error::other("weft I/O objects must be created inside a weft loop (in Runtime::block_on or a spawned task)")
        })?;
        let source = Arc::new(IoSource::new(ready, writable));
        let raw = Arc::into_raw(source) as *mut IoSource;
        match home.poller.register(fd, raw as u64, writable) {
            Ok(queued) => home.after_poller_change(queued),
            Err(err) => {
                // SAFETY: the pointer was never given to the kernel; take the reference back.
                drop(unsafe { Arc::from_raw(raw) });
                return Err(err);
            }
        }
        Ok(Registration {
            // SAFETY: `Arc::into_raw` never returns null.
            source: unsafe { NonNull::new_unchecked(raw) },
            home,
            fd,
        })
    }

    fn source(&self) -> &IoSource {
        // SAFETY: the registration's reference keeps the source alive.
        unsafe { self.source.as_ref() }
    }

    /// Waits until the direction is (believed) ready.
    pub(crate) fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<ReadyEvent> {
        let source = self.source();
        if let Some(event) = source.ready(dir) {
            return Poll::Ready(event);
        }
        source.register(dir, cx.waker());
        if dir == Direction::Write && !source.write_subscribed.swap(true, AcqRel) {
            let token = self.source.as_ptr() as u64;
            match self.home.poller.modify(self.fd, token, true) {
                Ok(queued) => self.home.after_poller_change(queued),
                Err(err) => {
                    // Let the write itself run into (and report) whatever is wrong.
                    tracing::debug!(fd = self.fd, error = %err, "could not subscribe to writability");
                    return Poll::Ready(source.snapshot(dir));
                }
            }
        }
        match source.ready(dir) {
            Some(event) => Poll::Ready(event),
            None => Poll::Pending,
        }
    }

    /// Forgets the readiness seen in `event`, unless an event arrived since.
    ///
    /// Events are recorded only by the home loop, between task polls. So on
    /// the home loop's thread (the usual case: tasks never migrate) no event
    /// can arrive between reading the word and writing it back, and a plain
    /// load and store do what a compare-and-swap would, without its locked
    /// instruction (a measurable part of a request's userspace time). Another
    /// thread clearing the other direction at the same moment (a stream split
    /// across threads) can at worst see a cleared bit come back: one extra
    /// syscall that answers `WouldBlock`, never a lost event.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let on_home_loop =
            with_current(|core| core.is_some_and(|core| core.shared.id == self.home.id));
        self.source().clear(event, on_home_loop);
    }

    /// Runs `op` when the direction is ready, retrying after `WouldBlock`; spends one unit of
    /// the task's cooperative budget.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_op(cx, dir, op, |_| false)
    }

    /// Like [`poll_io`](Self::poll_io) for stream reads and writes: a transfer shorter than
    /// asked means the socket buffer is drained (or full), so the readiness is cleared at once
    /// and the next call waits for the next edge instead of paying a syscall to hear
    /// `WouldBlock`.
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        wanted: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_op(cx, dir, op, |&n| n > 0 && n < wanted)
    }

    /// The operation loop: budget, readiness, syscall, and clearing the readiness after
    /// `WouldBlock` or when `drained` says a success emptied the socket.
    fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        loop {
            let event = match self.poll_ready(cx, dir) {
                Poll::Ready(event) => event,
                Poll::Pending => {
                    coop::refund();
                    crate::diag::hooks::park(|| crate::diag::hooks::WaitReason::Io {
                        fd: self.fd,
                        read: dir == Direction::Read,
                    });
                    return Poll::Pending;
                }
            };
            match op() {
                Ok(done) => {
                    crate::diag::hooks::progress();
                    if drained(&done) {
                        self.clear_readiness(event);
                    }
                    return Poll::Ready(Ok(done));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(event),
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
    }

    /// Runs `op` once if the direction is believed ready; `WouldBlock` otherwise. Never waits.
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        op: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let Some(event) = self.source().ready(dir) else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        let result = op();
        if matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.clear_readiness(event);
        }
        result
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The descriptor may already be closed by its owner (then epoll dropped it itself).
        if let Ok(queued) = self
            .home
            .poller
            .deregister(self.fd, self.source.as_ptr() as u64)
        {
            self.home.after_poller_change(queued);
        }
        self.source().forget_waiters();
        self.home.release(self.source);
    }
}

#[cfg(test)]
mod tests {
    use super::{Direction, Registration};
    use std::future::poll_fn;
    use std::io;
    use std::os::fd::AsRawFd;
    use std::sync::Arc;
    use std::task::Poll;

    /// A registration that outlives its loop, with a waiter's waker still in it (a wait
    /// abandoned by a timeout, then the runtime dropped, as `process_cross_runtime` does with a
    /// child's pidfd) lets the loop's shared state go once it is dropped itself. It used to leak
    /// it (LeakSanitizer): loop → released source → the waiter's waker → loop.
    #[test]
    fn a_registration_dropped_after_its_loop_frees_the_loop() {
        let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let rt = crate::rt::Runtime::builder()
            .current_thread()
            .build()
            .unwrap();
        let (registration, home) = rt.block_on(async {
            let registration = Registration::new(socket.as_raw_fd()).unwrap();
            // Nothing to read: the wait registers this task's waker and is then abandoned.
            poll_fn(|cx| {
                let waiting = registration.poll_io(cx, Direction::Read, || {
                    Err::<(), _>(io::Error::from(io::ErrorKind::WouldBlock))
                });
                assert!(waiting.is_pending());
                Poll::Ready(())
            })
            .await;
            let home = Arc::downgrade(&crate::rt::current_shared().unwrap());
            (registration, home)
        });
        drop(rt);
        drop(registration);
        assert!(
            home.upgrade().is_none(),
            "the stopped loop's shared state outlived its last registration"
        );
    }
}
