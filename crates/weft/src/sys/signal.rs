//! Signal dispositions and the self-pipe that signal handlers write to.
//!
//! Everything a signal handler calls from here is async-signal-safe (POSIX.1-2017 §2.4.3):
//! `write` on a non-blocking pipe, and reading/restoring `errno`. The rest (`pipe2`,
//! `sigaction`, `fcntl`) runs in ordinary context.

use super::cvt;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A signal handler as the kernel calls it.
pub(crate) type Handler = extern "C" fn(libc::c_int);

/// A non-blocking, close-on-exec pipe: `(read end, write end)`.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: `fds` is a live array of two ints, as pipe2 requires; the flags are valid.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 succeeded, so both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A close-on-exec duplicate of `fd` (sharing its open file description, hence its
/// `O_NONBLOCK` flag and its data).
pub(crate) fn dup_cloexec(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int argument (the lowest acceptable new number).
    let new = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) })?;
    // SAFETY: fcntl succeeded, so `new` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Installs `handler` for `signum` with `SA_RESTART` (so that blocking syscalls elsewhere in
/// the process are restarted rather than failing with `EINTR`) and an empty mask.
pub(crate) fn install(signum: libc::c_int, handler: Handler) -> io::Result<()> {
    // SAFETY: sigaction is plain old data; all-zero is a valid starting value.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as usize;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: `sa_mask` is a live sigset_t owned by `action`.
    cvt(unsafe { libc::sigemptyset(&mut action.sa_mask) })?;
    // SAFETY: `action` is fully initialised; a null old-action pointer is allowed; `handler`
    // is an `extern "C" fn(c_int)`, the shape the kernel calls without SA_SIGINFO.
    cvt(unsafe { libc::sigaction(signum, &action, std::ptr::null_mut()) })
        .map_err(|e| io::Error::new(e.kind(), format!("sigaction({signum}): {e}")))?;
    Ok(())
}

/// Writes the byte `byte` to `fd`, ignoring every error (a full pipe already guarantees a
/// wake-up), and leaves `errno` as it found it.
///
/// Async-signal-safe: made for signal handlers.
pub(crate) fn write_byte_in_handler(fd: RawFd, byte: u8) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: reading this thread's errno through its own slot.
    let saved = unsafe { *errno };
    // SAFETY: writes one byte from a live local; `write` is async-signal-safe and the pipe is
    // non-blocking, so it cannot stall the interrupted thread.
    let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    // SAFETY: writing this thread's errno through its own slot (valid for the thread's life);
    // restoring it keeps the interrupted code's view unchanged.
    unsafe { *errno = saved };
}

/// Reads and discards everything in the non-blocking pipe `fd`; returns how many bytes were
/// read, or `WouldBlock` if there were none.
pub(crate) fn drain(fd: &impl AsRawFd) -> io::Result<usize> {
    let mut total = 0;
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reads at most `buf.len()` bytes into a live local buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match cvt(n) {
            Ok(0) => return Ok(total),
            Ok(n) => total += n as usize,
            Err(err) if err.kind() == io::ErrorKind::WouldBlock && total > 0 => return Ok(total),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
}
