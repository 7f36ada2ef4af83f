//! SIGINT and SIGTERM as a future, without a thread and without `unsafe`.
//!
//! `signal-hook` installs handlers whose only action is an async-signal-safe
//! `send` of a byte on one end of a Unix socket pair (the classic self-pipe).
//! The other end is adopted by the current weft loop, so waiting for a
//! signal is an ordinary socket read: the loop sleeps in `epoll_wait` as
//! usual and wakes when a signal arrives.
//!
//! Handlers are installed by [`ShutdownSignals::install`], before the server
//! starts, so a signal that arrives during start-up is not lost (and does not
//! kill the process with the default action).

use std::io;
use std::os::unix::net::UnixStream as StdUnixStream;

use signal_hook::consts::{SIGINT, SIGTERM};

/// Installed SIGINT/SIGTERM handlers and the socket they write to.
#[derive(Debug)]
pub(crate) struct ShutdownSignals {
    read_end: StdUnixStream,
}

impl ShutdownSignals {
    /// Installs the handlers.
    pub(crate) fn install() -> io::Result<ShutdownSignals> {
        let (read_end, write_end) = StdUnixStream::pair()?;
        signal_hook::low_level::pipe::register(SIGINT, write_end.try_clone()?)?;
        signal_hook::low_level::pipe::register(SIGTERM, write_end)?;
        Ok(ShutdownSignals { read_end })
    }

    /// Completes when SIGINT or SIGTERM arrives. Must run inside a weft loop.
    pub(crate) async fn recv(self) -> io::Result<()> {
        let socket = weft::net::UnixStream::from_std(self.read_end)?;
        let mut byte = [0u8; 1];
        loop {
            // The handler may also send empty probes; only a real byte counts.
            if socket.read(&mut byte).await? > 0 {
                return Ok(());
            }
        }
    }
}
