//! The operating-system edge: the only module in weft that makes syscalls.
//!
//! # Why libc
//!
//! We call the kernel through `libc` directly. It is the thinnest possible layer: every flag is
//! reachable (`EPOLLET`, `EPOLLRDHUP`, `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)`, `SO_REUSEPORT`,
//! the listen backlog), nothing is allocated or abstracted on the hot path, and the `unsafe` it
//! needs is confined to this module where each block argues its soundness. `mio` would add a
//! registry and token layer we already have in the reactor; `rustix` is a fine alternative whose
//! safe wrappers we may adopt later, but it changes no syscall we make.
//!
//! # The contract a backend provides
//!
//! A backend (epoll, the default, and io_uring, chosen per runtime: `weft::rt::Backend`;
//! kqueue is planned) must provide:
//!
//! - [`Poller`]: a readiness queue. `register(fd, token, writable)` subscribes once,
//!   edge-triggered, to readable readiness plus hang-up and error, and to writable readiness if
//!   asked (no re-arming syscall per wait); `modify` adds writability later, reporting it at once
//!   if the descriptor is already writable; `deregister(fd, token)`; `wait(events, timeout)` blocks at
//!   most `timeout` and fills `events` with `(token, Readiness)` pairs; no token is reported
//!   after `deregister(fd, token)` returned (except from an event batch already in hand).
//!   Registration may be called from any thread; a change made off the loop thread may
//!   answer `Queued::WakeLoop`, and then takes effect once the caller has woken the loop
//!   (io_uring: only the loop thread submits). [`poller`] dispatches to the backend
//!   ([`epoll`], [`uring`]); [`events`] is what both report.
//! - [`Notifier`]: a kernel object registered in a poller that another thread can make readable
//!   to wake a sleeping `wait`; `notify()` is async-signal-tolerant and cheap; `drain()` resets it.
//! - [`socket`]: non-blocking, close-on-exec sockets (TCP, UDP, Unix) with the options servers
//!   need, and the read/write/accept/connect calls that report `WouldBlock` instead of blocking.
//! - [`thread`]: pinning the current thread to a CPU.
//! - [`thread_signal`]: signals aimed at one thread (`tgkill`), its kernel id, a timed wait.
//! - [`stack_guard`]: a `SIGSEGV` handler that names a green thread's stack overflow (its
//!   guard page) before letting the fault kill the process.
//! - [`signal`]: signal handlers that only write to a self-pipe (async-signal-safe), the pipe.
//! - [`process`]: what a process supervisor needs: `kill`, the parent's pid, the parent-death
//!   signal, close-on-exec flags and inspection of inherited sockets; the calls that may run
//!   between `fork` and `exec` say so.
//! - [`pidfd`]: process descriptors that become readable when a child exits (`weft::process`).
//! - [`pipe`]: non-blocking mode and writes for a child's stdio pipes (`weft::process`).
//! - [`file`]: reading a regular file into a vector's spare capacity (for `weft::fs`, on pool
//!   threads).
//!
//! Every call returns `io::Result`; errors are the OS error, unchanged, so callers can add context.

mod epoll;
mod eventfd;
mod events;
pub(crate) mod file;
pub(crate) mod pidfd;
pub(crate) mod pipe;
mod poller;
pub(crate) mod process;
pub(crate) mod signal;
pub(crate) mod socket;
pub(crate) mod stack_guard;
pub(crate) mod thread;
pub(crate) mod thread_signal;
mod uring;

pub(crate) use eventfd::Notifier;
pub(crate) use events::{Events, Readiness};
pub(crate) use poller::{Poller, PollerKind, Queued};

use std::io;

/// Turns a `-1`-on-error syscall return value into an `io::Result`.
pub(crate) fn cvt<T: IsMinusOne>(ret: T) -> io::Result<T> {
    if ret.is_minus_one() {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Return types of syscalls that signal failure with `-1`.
pub(crate) trait IsMinusOne {
    fn is_minus_one(&self) -> bool;
}

impl IsMinusOne for i32 {
    fn is_minus_one(&self) -> bool {
        *self == -1
    }
}

impl IsMinusOne for isize {
    fn is_minus_one(&self) -> bool {
        *self == -1
    }
}

// `libc::syscall` returns a C `long` (i64 on 64-bit Linux).
impl IsMinusOne for i64 {
    fn is_minus_one(&self) -> bool {
        *self == -1
    }
}
