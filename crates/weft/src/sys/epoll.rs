//! The epoll backend of [`Poller`](super::Poller).
//!
//! Each file descriptor is registered once, edge-triggered, for input, peer hang-up
//! (`EPOLLRDHUP`) and errors, and for output only when asked (see the reactor: writability is
//! subscribed to the first time a write has to wait). Edge triggering means the kernel reports a
//! transition once; the reactor keeps the readiness until an operation sees `WouldBlock`, so no
//! `epoll_ctl` is needed between waits.

use super::cvt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Readiness reported for one registered descriptor, as bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Readiness(pub(crate) u32);

impl Readiness {
    /// Data can be read (or the read side reached end of file / error).
    pub(crate) const READABLE: u32 = 1;
    /// Data can be written (or the write side is closed / errored).
    pub(crate) const WRITABLE: u32 = 2;
    /// The peer closed its write side: reads will return end of file.
    pub(crate) const READ_CLOSED: u32 = 4;
    /// Both sides hung up: writes will fail.
    pub(crate) const WRITE_CLOSED: u32 = 8;
    /// An error is pending on the socket (`SO_ERROR`).
    pub(crate) const ERROR: u32 = 16;

    fn from_epoll(flags: u32) -> Readiness {
        let mut bits = 0;
        if flags & (libc::EPOLLIN | libc::EPOLLPRI) as u32 != 0 {
            bits |= Self::READABLE;
        }
        if flags & libc::EPOLLOUT as u32 != 0 {
            bits |= Self::WRITABLE;
        }
        if flags & libc::EPOLLRDHUP as u32 != 0 {
            bits |= Self::READABLE | Self::READ_CLOSED;
        }
        if flags & libc::EPOLLHUP as u32 != 0 {
            bits |= Self::READABLE | Self::WRITABLE | Self::READ_CLOSED | Self::WRITE_CLOSED;
        }
        if flags & libc::EPOLLERR as u32 != 0 {
            bits |= Self::READABLE | Self::WRITABLE | Self::ERROR;
        }
        Readiness(bits)
    }
}

/// An epoll instance.
#[derive(Debug)]
pub(crate) struct Poller {
    epfd: OwnedFd,
}

/// A reusable buffer of events filled by [`Poller::wait`].
pub(crate) struct Events {
    buf: Vec<libc::epoll_event>,
    len: usize,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("len", &self.len).finish()
    }
}

impl Events {
    /// A buffer for up to `capacity` events per wait.
    pub(crate) fn with_capacity(capacity: usize) -> Events {
        Events {
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; capacity],
            len: 0,
        }
    }

    /// The `(token, readiness)` pairs of the last wait.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, Readiness)> + '_ {
        self.buf[..self.len].iter().map(|ev| {
            // `epoll_event` is packed on x86_64: copy the fields out instead of borrowing them.
            let flags = ev.events;
            let token = ev.u64;
            (token, Readiness::from_epoll(flags))
        })
    }
}

impl Poller {
    /// Creates a new epoll instance (close-on-exec).
    pub(crate) fn new() -> io::Result<Poller> {
        // SAFETY: epoll_create1 takes no pointers; the flag is valid.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just returned by the kernel and is owned by nobody else.
        Ok(Poller {
            epfd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Subscribes `fd`, edge-triggered, to readable (and, if `writable`, writable) readiness;
    /// hang-up and errors are always reported.
    pub(crate) fn register(&self, fd: RawFd, token: u64, writable: bool) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, writable)
    }

    /// Changes the subscription of a registered `fd`. With edge triggering the kernel checks the
    /// descriptor's readiness at once and reports it if already ready, so a readiness that
    /// arrived before the change is not lost.
    pub(crate) fn modify(&self, fd: RawFd, token: u64, writable: bool) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, token, writable)
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64, writable: bool) -> io::Result<()> {
        let mut events = libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET;
        if writable {
            events |= libc::EPOLLOUT;
        }
        let mut ev = libc::epoll_event {
            events: events as u32,
            u64: token,
        };
        // SAFETY: `ev` is a valid epoll_event that lives across the call; the kernel copies it.
        cvt(unsafe { libc::epoll_ctl(self.epfd.as_raw_fd(), op, fd, &mut ev) })?;
        Ok(())
    }

    /// Removes `fd` from the interest list.
    pub(crate) fn deregister(&self, fd: RawFd) -> io::Result<()> {
        // SAFETY: a null event pointer is allowed for EPOLL_CTL_DEL since Linux 2.6.9.
        cvt(unsafe {
            libc::epoll_ctl(
                self.epfd.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                std::ptr::null_mut(),
            )
        })?;
        Ok(())
    }

    /// Waits for events for at most `timeout` (`None`: without limit). `EINTR` counts as an
    /// empty wait.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        let timeout_ms: i32 = match timeout {
            None => -1,
            Some(d) => {
                // Round up so that a 0.3 ms deadline does not become a busy 0 ms wait.
                let ms = d.as_nanos().div_ceil(1_000_000);
                ms.min(i32::MAX as u128) as i32
            }
        };
        // SAFETY: `buf` has `buf.len()` initialised entries the kernel may overwrite.
        let n = unsafe {
            libc::epoll_wait(
                self.epfd.as_raw_fd(),
                events.buf.as_mut_ptr(),
                events.buf.len() as i32,
                timeout_ms,
            )
        };
        if n < 0 {
            events.len = 0;
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                return Ok(());
            }
            return Err(err);
        }
        events.len = n as usize;
        Ok(())
    }
}
