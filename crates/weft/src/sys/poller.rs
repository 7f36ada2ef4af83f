//! [`Poller`]: the readiness queue of a loop, on one of two backends chosen at run time.
//!
//! An enum rather than a trait object or a type parameter: the reactor and the loop stay
//! one (non-generic) piece of code, and each call costs one match on a discriminant that never
//! changes for a given loop, a branch the CPU predicts. Both backends report into the same
//! [`Events`] buffer (see `events`).

use super::events::Events;
use super::{epoll, uring};
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Which kernel interface a [`Poller`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollerKind {
    /// `epoll_wait` and `epoll_ctl`.
    Epoll,
    /// io_uring multishot poll requests and `io_uring_enter`.
    Uring,
}

/// What a change of subscriptions asks of its caller.
#[must_use = "a loop asked to be woken never submits the change"]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    /// Nothing: the change is made, or the loop's next wait makes it.
    Done,
    /// The change waits for the loop's next wait, which may be asleep: wake it (the io_uring
    /// backend, called on a thread other than the loop's).
    WakeLoop,
}

/// A readiness queue; see the [`sys`](super) module for the contract.
#[derive(Debug)]
pub(crate) enum Poller {
    /// The epoll backend.
    Epoll(epoll::Poller),
    /// The io_uring backend (boxed: its rings and lock would make every `Poller` large, and
    /// the epoll variant is a descriptor).
    Uring(Box<uring::Poller>),
}

impl Poller {
    /// A poller of `kind`. io_uring setup fails where the kernel refuses it (see
    /// `uring::Poller::new`); choosing a fallback is the caller's business.
    pub(crate) fn new(kind: PollerKind) -> io::Result<Poller> {
        Ok(match kind {
            PollerKind::Epoll => Poller::Epoll(epoll::Poller::new()?),
            PollerKind::Uring => Poller::Uring(Box::new(uring::Poller::new()?)),
        })
    }

    /// The backend of this poller.
    pub(crate) fn kind(&self) -> PollerKind {
        match self {
            Poller::Epoll(_) => PollerKind::Epoll,
            Poller::Uring(_) => PollerKind::Uring,
        }
    }

    /// Subscribes `fd`, edge-triggered, to readable (and, if `writable`, writable) readiness,
    /// reported with `token`; hang-up and errors are always reported.
    #[inline]
    pub(crate) fn register(&self, fd: RawFd, token: u64, writable: bool) -> io::Result<Queued> {
        match self {
            Poller::Epoll(p) => p.register(fd, token, writable).map(|()| Queued::Done),
            Poller::Uring(p) => p.register(fd, token, writable),
        }
    }

    /// Changes the writability subscription of a registered `fd`; a readiness that arrived
    /// before the change is reported.
    #[inline]
    pub(crate) fn modify(&self, fd: RawFd, token: u64, writable: bool) -> io::Result<Queued> {
        match self {
            Poller::Epoll(p) => p.modify(fd, token, writable).map(|()| Queued::Done),
            Poller::Uring(p) => p.modify(fd, token, writable),
        }
    }

    /// Removes the registration of `fd` made with `token`.
    #[inline]
    pub(crate) fn deregister(&self, fd: RawFd, token: u64) -> io::Result<Queued> {
        match self {
            Poller::Epoll(p) => p.deregister(fd).map(|()| Queued::Done),
            Poller::Uring(p) => p.deregister(fd, token),
        }
    }

    /// Waits for events for at most `timeout` (`None`: without limit).
    #[inline]
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Poller::Epoll(p) => p.wait(events, timeout),
            Poller::Uring(p) => p.wait(events, timeout),
        }
    }
}
