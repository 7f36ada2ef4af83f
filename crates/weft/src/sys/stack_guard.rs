//! Saying so when a green thread overflows its stack.
//!
//! (It lives in `sys` because it installs a signal handler; `weft::green` uses it.)
//!
//! An overflow runs into the guard page below the green thread's stack
//! (see `green::stack`) and faults: the process cannot safely continue, since the
//! faulting code was mid-call with no stack left. Without help the process
//! would die by a bare `SIGSEGV`, because std's handler only recognizes
//! the guard pages of OS thread stacks. This module adds the message std
//! prints for OS threads, then lets the fault kill the process as before.
//!
//! # Roles and states
//!
//! - `RUNNING`: per OS thread, the guard page and size of the green thread
//!   running on it right now (empty between green threads). Set by
//!   [`Running::enter`] around each resume of a coroutine, restored after,
//!   so nesting works.
//! - `on_fault`: a `SIGSEGV`/`SIGBUS` handler installed once, on the first
//!   green thread of the process ([`install`]). If the faulting address is
//!   in the running green thread's guard page it writes one line to stderr,
//!   restores the default action and returns: the faulting instruction
//!   runs again and the process dies by the same signal (exit status says
//!   `SIGSEGV`). Any other fault is passed to the handler that was
//!   installed before (std's), unchanged.
//!
//! # Signal safety
//!
//! The handler only reads a `Cell` in a `const`-initialized thread-local
//! without destructor (a plain `#[thread_local]` access on Linux, no lazy
//! allocation), formats into a stack buffer, and calls `write(2)` and
//! `sigaction(2)`, both async-signal-safe. It runs on the thread's
//! alternate signal stack, which std sets up for every thread it starts
//! (an overflowed stack has no room for a signal frame); on a thread
//! without one the kernel kills the process with `SIGSEGV` directly, with
//! no message, which is still a fault and never memory corruption.

use std::cell::Cell;
use std::ffi::c_void;
use std::mem;
use std::ptr;
use std::sync::{Once, OnceLock};

/// The signals a guard-page hit raises: `SIGSEGV` on Linux; `SIGBUS` on
/// some other Unixes (kept for them).
const FAULT_SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// Guard page `[start, end)` and usable size of the running green thread.
#[derive(Clone, Copy)]
pub(crate) struct Guard {
    start: usize,
    end: usize,
    stack_size: usize,
}

impl Guard {
    /// No green thread: no address is in this guard.
    pub(crate) const NONE: Guard = Guard {
        start: 0,
        end: 0,
        stack_size: 0,
    };

    /// The guard page of a stack whose lowest mapped address (guard
    /// included) is `limit`.
    pub(crate) fn below(limit: usize, stack_size: usize) -> Guard {
        Guard {
            start: limit,
            end: limit + page_size(),
            stack_size,
        }
    }

    fn contains(&self, addr: usize) -> bool {
        self.start <= addr && addr < self.end
    }
}

thread_local! {
    /// The running green thread's guard; `Guard::NONE` between green threads.
    static RUNNING: Cell<Guard> = const { Cell::new(Guard::NONE) };
}

/// Marks a green thread as running on this OS thread until dropped.
pub(crate) struct Running(Guard);

impl Running {
    pub(crate) fn enter(guard: Guard) -> Running {
        Running(RUNNING.with(|r| r.replace(guard)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(self.0));
    }
}

fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions; _SC_PAGESIZE is always valid.
        let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(size).unwrap_or(4096)
    })
}

/// The handlers that were installed before ours, one per `FAULT_SIGNALS`.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();

/// Installs the fault handler, once per process.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = FAULT_SIGNALS.map(|sig| {
            // SAFETY: `sigaction` is plain data; all-zero is a valid value.
            let mut old: libc::sigaction = unsafe { mem::zeroed() };
            // SAFETY: a null new action only queries; `old` is writable.
            unsafe { libc::sigaction(sig, ptr::null(), &mut old) };
            old
        });
        // Recorded before ours is installed, so the handler always finds it.
        let _ = PREVIOUS.set(previous);
        for sig in FAULT_SIGNALS {
            // SAFETY: `sigaction` is plain data; all-zero is a valid value.
            let mut action: libc::sigaction = unsafe { mem::zeroed() };
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) = on_fault;
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: `action.sa_mask` is a valid sigset to initialize;
            // `action` is then fully initialized, and `on_fault` has the
            // SA_SIGINFO signature.
            unsafe {
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, ptr::null_mut());
            }
        }
    });
}

/// Restores the default action for `sig`, so that returning from the
/// handler re-runs the fault and the process dies by `sig`.
fn reset_to_default(sig: libc::c_int) {
    // SAFETY: `sigaction` is plain data; all-zero is a valid value (SIG_DFL needs no handler).
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = libc::SIG_DFL;
    // SAFETY: `action` is fully initialized; sigaction is async-signal-safe.
    unsafe { libc::sigaction(sig, &action, ptr::null_mut()) };
}

/// Writes `n` in decimal into `buf`; returns the digits.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

fn write_stderr(bytes: &[u8]) {
    // SAFETY: `bytes` is a valid buffer of that length; write(2) is
    // async-signal-safe. A short or failed write only shortens the message.
    unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
}

/// The `SA_SIGINFO` handler (see the module doc).
extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers;
    // for SIGSEGV/SIGBUS `si_addr` is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    let guard = RUNNING.try_with(Cell::get).unwrap_or(Guard::NONE);
    if guard.contains(addr) {
        let mut digits = [0u8; 20];
        write_stderr(b"weft: a green thread has overflowed its stack of ");
        write_stderr(decimal(guard.stack_size, &mut digits));
        write_stderr(b" bytes (it hit the guard page); the process cannot continue. Give it a larger stack with weft::green::Builder::stack_size.\n");
        reset_to_default(sig);
        return;
    }
    let index = usize::from(sig != FAULT_SIGNALS[0]);
    let Some(previous) = PREVIOUS.get().map(|p| p[index]) else {
        reset_to_default(sig);
        return;
    };
    match previous.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => reset_to_default(sig),
        handler if previous.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the previous action was installed with SA_SIGINFO, so
            // `handler` is a three-argument handler; we forward the
            // kernel's arguments unchanged.
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) =
                unsafe { mem::transmute(handler) };
            handler(sig, info, ctx);
        }
        handler => {
            // SAFETY: without SA_SIGINFO the previous action is a
            // one-argument handler.
            let handler: extern "C" fn(libc::c_int) = unsafe { mem::transmute(handler) };
            handler(sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_formats() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(262_144, &mut buf), b"262144");
        assert_eq!(
            decimal(usize::MAX, &mut buf),
            usize::MAX.to_string().as_bytes()
        );
    }

    #[test]
    fn guard_contains_only_its_page() {
        let g = Guard::below(0x10000, 4096);
        assert!(!g.contains(0xffff));
        assert!(g.contains(0x10000));
        assert!(g.contains(0x10000 + page_size() - 1));
        assert!(!g.contains(0x10000 + page_size()));
    }
}
