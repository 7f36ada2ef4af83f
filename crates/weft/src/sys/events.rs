//! What every [`Poller`](super::Poller) backend reports: [`Readiness`] bits and the reusable
//! [`Events`] buffer a wait fills.
//!
//! The buffer holds `epoll_event`s because `poll(2)` and epoll share their bit values (`POLLIN`
//! is `EPOLLIN`, `POLLOUT` is `EPOLLOUT`, `POLLRDHUP` is `EPOLLRDHUP`, and so on: Linux defines
//! the epoll bits as the poll ones). So epoll fills it in place, and the io_uring backend
//! stores the `poll` mask of each completion in the same slots; the reactor reads both through
//! one [`Events::iter`], and the epoll path pays no conversion.

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

    /// From epoll (or, equal bit for bit, `poll`) flags.
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

// The io_uring backend reports `poll(2)` masks through the epoll decoding above.
const _: () = {
    assert!(libc::POLLIN as i32 == libc::EPOLLIN);
    assert!(libc::POLLPRI as i32 == libc::EPOLLPRI);
    assert!(libc::POLLOUT as i32 == libc::EPOLLOUT);
    assert!(libc::POLLERR as i32 == libc::EPOLLERR);
    assert!(libc::POLLHUP as i32 == libc::EPOLLHUP);
    assert!(libc::POLLRDHUP as i32 == libc::EPOLLRDHUP);
};

/// A reusable buffer of events filled by [`Poller::wait`](super::Poller::wait).
pub(crate) struct Events {
    pub(super) buf: Vec<libc::epoll_event>,
    pub(super) len: usize,
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

    /// Empties the buffer (a backend starts each wait with this).
    pub(super) fn clear(&mut self) {
        self.len = 0;
    }

    /// True when no more events fit.
    pub(super) fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// Appends one event with `poll(2)` flags; the caller checks [`is_full`](Self::is_full).
    pub(super) fn push(&mut self, token: u64, poll_flags: u32) {
        self.buf[self.len] = libc::epoll_event {
            events: poll_flags,
            u64: token,
        };
        self.len += 1;
    }
}
