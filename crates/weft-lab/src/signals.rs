//! SIGINT and SIGTERM as a future, with `weft::signal`.
//!
//! The handlers are installed by [`ShutdownSignals::install`] before the
//! server starts, so a signal that arrives during start-up is neither lost
//! nor fatal (the default action would kill the process); the stream is
//! attached to a loop when the server waits for it, and reports that signal.

use std::io;

use weft::signal::{InstalledSignals, SignalKind, Signals};

/// Installed SIGINT/SIGTERM handlers, waiting to be read by a loop.
#[derive(Debug)]
pub(crate) struct ShutdownSignals {
    installed: InstalledSignals,
}

impl ShutdownSignals {
    /// Installs the handlers.
    pub(crate) fn install() -> io::Result<ShutdownSignals> {
        let installed = Signals::install(&[SignalKind::Interrupt, SignalKind::Terminate])?;
        Ok(ShutdownSignals { installed })
    }

    /// The stream of both signals, on the current loop. Must run inside a weft loop.
    pub(crate) fn attach(self) -> io::Result<weft::signal::Signals> {
        self.installed.attach()
    }
}
