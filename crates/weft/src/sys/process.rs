//! Processes and inherited descriptors: what a supervisor and its workers need from the kernel.
//!
//! Functions marked *async-signal-safe* may run in a child between `fork` and `exec` (inside a
//! `pre_exec` closure): they make exactly one or two raw syscalls from the POSIX list of
//! async-signal-safe functions (or Linux's `prctl`, a plain syscall), allocate nothing and take
//! no lock. `io::Error::last_os_error()` only reads `errno` and builds an unallocated value.

use super::cvt;
use std::io;
use std::os::fd::RawFd;

/// Sends `signal` to process `pid`.
pub(crate) fn kill(pid: u32, signal: libc::c_int) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("pid {pid} out of range"),
        )
    })?;
    // SAFETY: no pointers; kill reports a bad pid or signal through errno.
    cvt(unsafe { libc::kill(pid, signal) })?;
    Ok(())
}

/// The parent's process id. Async-signal-safe.
pub(crate) fn parent_pid() -> u32 {
    // SAFETY: getppid has no arguments and cannot fail.
    unsafe { libc::getppid() as u32 }
}

/// Asks the kernel to send `signal` to this process when the thread that created it exits.
/// Async-signal-safe.
pub(crate) fn set_parent_death_signal(signal: libc::c_int) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes the signal number as its one argument; the rest are unused.
    cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal as libc::c_ulong, 0, 0, 0) })?;
    Ok(())
}

/// Sets the disposition of `signal` to "ignore" (which survives `exec`). Async-signal-safe.
pub(crate) fn ignore_signal(signal: libc::c_int) -> io::Result<()> {
    // SAFETY: SIG_IGN is a valid disposition for the catchable signals we pass.
    if unsafe { libc::signal(signal, libc::SIG_IGN) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets or clears `FD_CLOEXEC` on `fd`. Async-signal-safe.
pub(crate) fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFD takes no argument.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    let wanted = if on {
        flags | libc::FD_CLOEXEC
    } else {
        flags & !libc::FD_CLOEXEC
    };
    if wanted != flags {
        // SAFETY: F_SETFD takes the new flags as an int.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, wanted) })?;
    }
    Ok(())
}

/// What kind of socket an inherited descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SocketKind {
    /// `AF_INET`, `AF_INET6`, `AF_UNIX`, …
    pub(crate) family: libc::c_int,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, …
    pub(crate) ty: libc::c_int,
    /// Whether `listen` was called on it.
    pub(crate) listening: bool,
}

/// Inspects `fd`: fails with `EBADF` if it is not open and `ENOTSOCK` if it is not a socket.
pub(crate) fn socket_kind(fd: RawFd) -> io::Result<SocketKind> {
    let get = |level, name| super::socket::get_int_opt(fd, level, name);
    Ok(SocketKind {
        family: get(libc::SOL_SOCKET, libc::SO_DOMAIN)?,
        ty: get(libc::SOL_SOCKET, libc::SO_TYPE)?,
        listening: get(libc::SOL_SOCKET, libc::SO_ACCEPTCONN)? != 0,
    })
}

/// Sets the kernel send and receive buffer sizes of a socket (the kernel doubles the value
/// for its own bookkeeping and clamps it to `net.core.{w,r}mem_max`).
pub(crate) fn set_socket_buffers(fd: RawFd, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    for name in [libc::SO_SNDBUF, libc::SO_RCVBUF] {
        super::socket::set_int_opt(fd, libc::SOL_SOCKET, name, value)?;
    }
    Ok(())
}
