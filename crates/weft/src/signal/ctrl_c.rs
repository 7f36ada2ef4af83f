//! [`ctrl_c`]: the one-line wait for Ctrl-C (`SIGINT`) that servers use for a graceful stop.

use super::{SignalKind, Signals};
use std::future::Future;
use std::io;

/// Completes when the process next receives `SIGINT` (Ctrl-C in a terminal, `kill -INT`).
///
/// The handler is installed when `ctrl_c()` is *called*, not when the future is first polled,
/// so a Ctrl-C that arrives in between is not lost (and no longer kills the process: like
/// every weft signal handler, it stays installed for the life of the process). The future must
/// be polled inside a weft loop.
///
/// ```no_run
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// weft::signal::ctrl_c().await?;
/// println!("shutting down");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
///
/// # Errors
///
/// If the handler cannot be installed or the stream cannot be registered with the loop.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future before it completes consumes no signal that another
/// stream would have seen.
pub fn ctrl_c() -> impl Future<Output = io::Result<()>> + Send {
    let installed = Signals::install(&[SignalKind::Interrupt]);
    async move {
        let mut stream = installed?.attach()?;
        stream.recv().await?;
        Ok(())
    }
}
