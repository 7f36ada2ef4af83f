//! Process descriptors (`pidfd_open`, Linux 5.3): a descriptor that becomes readable when its
//! process exits, so an event loop can wait for a child like for a socket.
//!
//! `pidfd_open` is called through `libc::syscall` because glibc only wraps it from 2.36 on. On
//! an older kernel it fails with `ENOSYS`, and a seccomp sandbox may answer `EPERM`:
//! [`is_unsupported`] names the errors after which a caller should fall back to `SIGCHLD`.

use super::cvt;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// Opens a close-on-exec, non-blocking descriptor for process `pid` (a child of ours that has
/// not been reaped, so the number cannot have been reused).
pub(crate) fn open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("pid {pid} out of range"),
        )
    })?;
    // SAFETY: SYS_pidfd_open takes (pid_t pid, unsigned int flags); no pointers. PIDFD_NONBLOCK
    // is O_NONBLOCK, which only concerns waitid(P_PIDFD) on the descriptor; the descriptor is
    // always close-on-exec.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, libc::O_NONBLOCK) })?;
    // SAFETY: the call succeeded, so `fd` is a new descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// True for the errors of [`open`] that mean "no pidfds here" (old kernel, sandbox) rather
/// than "this process" or "out of descriptors".
pub(crate) fn is_unsupported(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENOSYS | libc::EPERM))
}
