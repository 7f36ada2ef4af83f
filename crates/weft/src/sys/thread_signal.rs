//! Signals aimed at one thread of this process (the watchdog's backtrace request), the thread
//! ids they need, and a timed wait on a descriptor (the diagnostics thread's tick).
//!
//! `tgkill` rather than `pthread_kill`: the watchdog knows loop threads by their kernel id,
//! which it records on the loop thread itself (`gettid`), and `tgkill` with our own process id
//! can only ever reach a thread of this process.

use super::cvt;
use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// A signal handler called with `SA_SIGINFO` (number, info, `ucontext`).
pub(crate) type InfoHandler = extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

/// The kernel's id of the calling thread. Async-signal-safe (one syscall).
pub(crate) fn gettid() -> i32 {
    // SAFETY: SYS_gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// Sends `signum` to thread `tid` of this process.
pub(crate) fn tgkill(tid: i32, signum: libc::c_int) -> io::Result<()> {
    // SAFETY: integer arguments only; a thread that is gone makes it fail with ESRCH.
    cvt(unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, signum) }).map(drop)
}

/// Installs `handler` for `signum` with `SA_SIGINFO | SA_RESTART` (interrupted syscalls of the
/// target thread resume) and an empty mask.
pub(crate) fn install_info(signum: libc::c_int, handler: InfoHandler) -> io::Result<()> {
    // SAFETY: sigaction is plain old data; all-zero is a valid starting value.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
    // SAFETY: `sa_mask` is a live sigset_t owned by `action`.
    cvt(unsafe { libc::sigemptyset(&mut action.sa_mask) })?;
    // SAFETY: `action` is fully initialised, the old-action pointer may be null, and `handler`
    // has the three-argument shape the kernel calls with SA_SIGINFO.
    cvt(unsafe { libc::sigaction(signum, &action, std::ptr::null_mut()) })
        .map_err(|e| io::Error::new(e.kind(), format!("sigaction({signum}): {e}")))?;
    Ok(())
}

/// Waits until `fd` is readable or `timeout` passes; true if it is readable.
pub(crate) fn wait_readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one live pollfd, count 1.
    match cvt(unsafe { libc::poll(&mut pfd, 1, ms) }) {
        Ok(n) => Ok(n > 0),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(e),
    }
}
