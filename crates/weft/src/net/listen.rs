//! Listening sockets: options, and the accept loop that survives running out of descriptors.
//!
//! # Accept under resource exhaustion
//!
//! When the process (`EMFILE`) or the system (`ENFILE`) runs out of descriptors, or the kernel
//! out of buffers (`ENOBUFS`, `ENOMEM`), `accept` fails while the pending connection stays in the
//! backlog, so the listener stays readable. Retrying at once would spin a core at 100% doing
//! nothing. Instead [`accept`](super::TcpListener::accept) logs a warning once per episode, sleeps
//! on the loop's timer (other tasks keep running, and may close descriptors meanwhile), doubling
//! the pause from [`ACCEPT_BACKOFF_START`] up to [`ACCEPT_BACKOFF_MAX`], and then tries again. The
//! listener is never closed and the error is never returned to the caller: a server's accept loop
//! just continues once descriptors are free. Errors that concern one aborted connection
//! (`ECONNABORTED`, `EPROTO`, `EPERM`) are skipped at once.

use super::evented::Evented;
use crate::rt::reactor::Direction;
use std::future::poll_fn;
use std::io;
use std::time::Duration;

/// Default pending-connection queue length. Linux caps it at `net.core.somaxconn` (4096 since
/// 5.4); 1024 absorbs a burst of a thousand simultaneous connects, which is what a benchmark
/// with 1000+ connections or a reconnect storm produces, without reserving much kernel memory.
pub const DEFAULT_BACKLOG: i32 = 1024;

/// First pause after `accept` reports resource exhaustion: short enough that a server that
/// frees a descriptor quickly loses no noticeable time.
pub const ACCEPT_BACKOFF_START: Duration = Duration::from_millis(5);

/// Longest pause between accept attempts under exhaustion (hyper's server pauses 1 s too): at
/// most one wasted syscall per second while the condition lasts.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How long an accept loop waits after `accept` returned an error before trying again.
///
/// [`TcpListener::accept`](super::TcpListener::accept) already absorbs descriptor exhaustion
/// (see the module docs) and skips errors of one aborted connection, so what reaches the caller
/// is rare and likely persistent (the listener's socket is broken): retrying at once would spin
/// the loop and flood the log. 100 ms reports it a few times a second and lets the server go on
/// as soon as it clears. Every accept loop in the workspace (the callback server, weft-http's
/// `serve`, the lab's green acceptor) pauses this long.
pub const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How to set up a listening socket.
///
/// ```
/// use weft::net::{ListenOptions, TcpListener};
/// # let rt = weft::rt::Runtime::builder().current_thread().build().unwrap();
/// # rt.block_on(async {
/// let opts = ListenOptions::default().reuse_port(true).backlog(4096);
/// let listener = TcpListener::bind_with("127.0.0.1:0", &opts).unwrap();
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenOptions {
    pub(crate) backlog: i32,
    pub(crate) reuse_port: bool,
    pub(crate) reuse_addr: bool,
}

impl Default for ListenOptions {
    /// Backlog [`DEFAULT_BACKLOG`], `SO_REUSEADDR` on (restarting a server must not wait for
    /// old connections in TIME_WAIT), `SO_REUSEPORT` off.
    fn default() -> Self {
        ListenOptions {
            backlog: DEFAULT_BACKLOG,
            reuse_port: false,
            reuse_addr: true,
        }
    }
}

impl ListenOptions {
    /// Length of the queue of connections not yet accepted.
    pub fn backlog(mut self, backlog: i32) -> Self {
        self.backlog = backlog;
        self
    }

    /// `SO_REUSEPORT`: several sockets (one per loop, or per process) bind the same port and the
    /// kernel spreads incoming connections among them.
    pub fn reuse_port(mut self, on: bool) -> Self {
        self.reuse_port = on;
        self
    }

    /// `SO_REUSEADDR` (on by default).
    pub fn reuse_addr(mut self, on: bool) -> Self {
        self.reuse_addr = on;
        self
    }
}

/// True for errors that mean "out of descriptors or memory", after which the pending
/// connection is still queued.
fn is_exhaustion(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// True for errors that concern only the connection being accepted.
fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::ECONNABORTED | libc::EPROTO | libc::EPERM | libc::EINTR)
    )
}

/// Accepts through `op`, backing off under resource exhaustion; see the module docs.
pub(crate) async fn accept_loop<T>(
    io: &Evented,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    let mut backoff: Option<Duration> = None;
    loop {
        match poll_fn(|cx| io.registration().poll_io(cx, Direction::Read, &mut op)).await {
            Ok(accepted) => {
                if backoff.is_some() {
                    tracing::info!(fd = io.raw(), "accept recovered from descriptor exhaustion");
                }
                return Ok(accepted);
            }
            Err(err) if is_exhaustion(&err) => {
                let pause = match backoff {
                    None => {
                        tracing::warn!(fd = io.raw(), error = %err,
                            "accept failed for lack of resources; backing off (the listener stays open)");
                        ACCEPT_BACKOFF_START
                    }
                    Some(prev) => (prev * 2).min(ACCEPT_BACKOFF_MAX),
                };
                backoff = Some(pause);
                crate::time::sleep(pause).await;
            }
            Err(err) if is_per_connection(&err) => continue,
            Err(err) => return Err(err),
        }
    }
}
