//! [`Backend`]: which kernel interface a runtime's loops wait on, chosen at run time, and the
//! fallback to epoll where io_uring cannot be set up.
//!
//! The choice is, in order: [`Builder::backend`](super::Builder::backend) (the code wins), else
//! the `WEFT_BACKEND` variable (`uring` or `epoll`; anything else fails the build with an error
//! naming the value), else epoll. Every loop of a runtime uses the same backend. If io_uring was
//! asked for and its setup fails (`kernel.io_uring_disabled`, a seccomp filter, a kernel older
//! than 5.13), the runtime runs on epoll instead and says so once per process with a
//! `tracing` warning; [`Handle::backend`](super::Handle::backend) tells which one runs.

use crate::sys::{Poller, PollerKind};
use std::fmt;
use std::io;
use std::str::FromStr;
use std::sync::Once;

/// The environment variable read by [`Builder::build`](super::Builder::build) when the
/// builder was given no [`Backend`].
pub const ENV_VAR: &str = "WEFT_BACKEND";

/// The kernel interface an event loop waits on for I/O readiness.
///
/// ```
/// use weft::rt::{Backend, Runtime};
///
/// let rt = Runtime::builder().current_thread().backend(Backend::Epoll).build().unwrap();
/// assert_eq!(rt.backend(), Backend::Epoll);
/// assert_eq!("uring".parse::<Backend>().unwrap(), Backend::IoUring);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Edge-triggered epoll (`epoll_wait`, `epoll_ctl`): the default.
    #[default]
    Epoll,
    /// io_uring: readiness from multishot poll requests, one `io_uring_enter` per wait that
    /// also submits the turn's registrations. Falls back to epoll where unavailable.
    IoUring,
}

impl Backend {
    /// The name `WEFT_BACKEND` and `weft serve --backend` use: `epoll` or `uring`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::IoUring => "uring",
        }
    }

    /// The backend named by `WEFT_BACKEND`, if set; `InvalidInput` naming the value if it is
    /// neither `uring` nor `epoll`.
    pub fn from_env() -> io::Result<Option<Backend>> {
        match std::env::var(ENV_VAR) {
            Ok(value) => value.parse().map(Some).map_err(|err: ParseBackendError| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{ENV_VAR}: {err}"))
            }),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(value)) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{ENV_VAR}: {value:?} is not UTF-8 (expected `uring` or `epoll`)"),
            )),
        }
    }

    pub(crate) fn poller_kind(self) -> PollerKind {
        match self {
            Backend::Epoll => PollerKind::Epoll,
            Backend::IoUring => PollerKind::Uring,
        }
    }

    pub(crate) fn of(kind: PollerKind) -> Backend {
        match kind {
            PollerKind::Epoll => Backend::Epoll,
            PollerKind::Uring => Backend::IoUring,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`Backend`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseBackendError {
    value: String,
}

impl fmt::Display for ParseBackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown backend `{}` (expected `uring` or `epoll`)",
            self.value
        )
    }
}

impl std::error::Error for ParseBackendError {}

impl FromStr for Backend {
    type Err = ParseBackendError;

    /// `epoll`, or `uring` (also `io_uring`, `io-uring`, `iouring`), in any case.
    fn from_str(s: &str) -> Result<Backend, ParseBackendError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "epoll" => Ok(Backend::Epoll),
            "uring" | "io_uring" | "io-uring" | "iouring" => Ok(Backend::IoUring),
            _ => Err(ParseBackendError {
                value: s.to_string(),
            }),
        }
    }
}

/// Opens a loop's poller of `kind`, falling back to epoll if io_uring cannot be set up.
pub(crate) fn open_poller(kind: PollerKind) -> io::Result<Poller> {
    open_with(kind, || Poller::new(PollerKind::Uring))
}

/// [`open_poller`] with the io_uring setup given (tests make it fail).
fn open_with(kind: PollerKind, uring: impl FnOnce() -> io::Result<Poller>) -> io::Result<Poller> {
    if kind == PollerKind::Epoll {
        return Poller::new(PollerKind::Epoll);
    }
    uring().or_else(|err| {
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                error = %err,
                "io_uring is unavailable (io_uring_disabled, seccomp or an old kernel?): \
                 weft falls back to epoll"
            );
        });
        Poller::new(PollerKind::Epoll)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_display() {
        for backend in [Backend::Epoll, Backend::IoUring] {
            assert_eq!(backend.name().parse::<Backend>(), Ok(backend));
            assert_eq!(backend.to_string(), backend.name());
        }
        assert_eq!("IO_URING".parse::<Backend>(), Ok(Backend::IoUring));
        let err = "kqueue".parse::<Backend>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown backend `kqueue` (expected `uring` or `epoll`)"
        );
    }

    #[test]
    fn a_failed_uring_setup_falls_back_to_epoll() {
        let poller = open_with(PollerKind::Uring, || {
            Err(io::Error::from_raw_os_error(libc::EPERM))
        })
        .unwrap();
        assert_eq!(poller.kind(), PollerKind::Epoll);
        let poller = open_with(PollerKind::Uring, || {
            Err(io::Error::from_raw_os_error(libc::ENOSYS))
        })
        .unwrap();
        assert_eq!(poller.kind(), PollerKind::Epoll);
    }
}
