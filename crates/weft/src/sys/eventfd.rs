//! The eventfd backend of [`Notifier`](super::Notifier): the way another thread wakes a loop
//! that sleeps in `epoll_wait`.

use super::cvt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A counter the kernel reports readable when non-zero.
#[derive(Debug)]
pub(crate) struct Notifier {
    fd: OwnedFd,
}

impl Notifier {
    /// A non-blocking, close-on-exec eventfd.
    pub(crate) fn new() -> io::Result<Notifier> {
        // SAFETY: no pointers; flags are valid.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) })?;
        // SAFETY: `fd` was just created and is owned by nobody else.
        Ok(Notifier {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The descriptor to register with the poller.
    pub(crate) fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Makes the eventfd readable. Never blocks: a full counter (2^64-2 pending notifications)
    /// already guarantees a wake-up, so `EAGAIN` is ignored.
    pub(crate) fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64, as eventfd requires.
        let _ = unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }

    /// Resets the counter so the next `notify` produces a new edge.
    pub(crate) fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64, as eventfd requires.
        let _ = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut value as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}
