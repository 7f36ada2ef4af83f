//! Pipe ends handed to us by `std::process` (a child's stdin, stdout, stderr): switching them
//! to non-blocking mode and writing to them (`send` is for sockets; a pipe needs `write`).
//! Reading is the same `read` as sockets ([`super::socket::read`]).

use super::cvt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// Sets or clears `O_NONBLOCK` on our end of a pipe. The child's end is a separate open file
/// description, so the child still sees a blocking pipe; an end handed on to another child
/// must be made blocking again first (programs do not expect `EAGAIN` on their stdio).
pub(crate) fn set_nonblocking(fd: &impl AsRawFd, on: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL takes no argument.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    let wanted = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if wanted != flags {
        // SAFETY: F_SETFL takes the new status flags as an int.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, wanted) })?;
    }
    Ok(())
}

/// Writes `buf` to a pipe. A closed read end gives `EPIPE` as an error (Rust programs ignore
/// `SIGPIPE`, so no signal kills us).
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the whole call.
    let n = cvt(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })?;
    Ok(n as usize)
}

/// Gathered write to a pipe.
pub(crate) fn write_vectored(fd: RawFd, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    let count = bufs.len().min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: `IoSlice` is ABI-compatible with `iovec`; the slices are live for the call and
    // `count` does not exceed their number.
    let n = cvt(unsafe { libc::writev(fd, bufs.as_ptr().cast(), count) })?;
    Ok(n as usize)
}
