//! Signals by number: which numbers a stream may subscribe to, and their names.
//!
//! Any signal a handler can usefully catch is accepted ([`SignalKind::from_raw`]). Refused, with
//! an error that says why ([`SignalKind::try_from_raw`]):
//!
//! - `SIGKILL` and `SIGSTOP`: the kernel never lets a process catch them;
//! - `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`: raised by a faulting instruction, which a handler
//!   that only records the signal would return to and re-run forever (and weft's own `SIGSEGV`
//!   handler names green-thread stack overflows);
//! - glibc's internal signals (32 and 33, below `SIGRTMIN`), which `sigaction` refuses;
//! - numbers outside `1..=SIGRTMAX`.
//!
//! [`SignalKind::from_raw`]: super::SignalKind::from_raw
//! [`SignalKind::try_from_raw`]: super::SignalKind::try_from_raw

use std::fmt;
use std::io;

/// A signal without a named [`SignalKind`](super::SignalKind) variant (`SIGQUIT`, `SIGWINCH`,
/// a real-time signal, …): made only by [`SignalKind::from_raw`](super::SignalKind::from_raw),
/// so it always holds a number a stream can subscribe to.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OtherSignal {
    signum: i32,
}

impl OtherSignal {
    /// The signal number.
    pub fn as_raw(self) -> i32 {
        self.signum
    }

    /// The conventional name, such as `"SIGQUIT"`; `"SIGRT"` for real-time signals (whose
    /// `Display` says which: `SIGRTMIN+3`).
    pub fn name(self) -> &'static str {
        conventional_name(self.signum).unwrap_or("SIGRT")
    }
}

impl fmt::Debug for OtherSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} ({})", self.signum)
    }
}

impl fmt::Display for OtherSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match conventional_name(self.signum) {
            Some(name) => f.write_str(name),
            None => write!(f, "SIGRTMIN+{}", self.signum - libc::SIGRTMIN()),
        }
    }
}

/// Checks that `signum` may be subscribed to; see the module docs.
pub(super) fn validate(signum: i32) -> io::Result<OtherSignal> {
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "weft::signal: signal {signum}{}: {why}",
                display_name(signum)
            ),
        ))
    };
    match signum {
        libc::SIGKILL | libc::SIGSTOP => refuse("cannot be caught"),
        libc::SIGSEGV | libc::SIGBUS | libc::SIGILL | libc::SIGFPE => refuse(
            "is raised by a faulting instruction; a stream cannot handle it \
             (the instruction would run again)",
        ),
        n if n < 1 || n > libc::SIGRTMAX() => refuse(&format!(
            "is not a signal number (valid: 1..={})",
            libc::SIGRTMAX()
        )),
        n if n < libc::SIGRTMIN() && conventional_name(n).is_none() => {
            refuse("is reserved by the C library")
        }
        n => Ok(OtherSignal { signum: n }),
    }
}

/// `" (SIGKILL)"` for a named signal, `""` otherwise: for error messages.
fn display_name(signum: i32) -> String {
    conventional_name(signum).map_or_else(String::new, |name| format!(" ({name})"))
}

/// The names of Linux's standard signals (those below `SIGRTMIN`).
fn conventional_name(signum: i32) -> Option<&'static str> {
    Some(match signum {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}
