//! A server child: a process that names the address it listens on in a start line (`weft
//! serve`, or a test binary re-executed as a cluster supervisor), watched line by line.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::process::{Command, ExitStatus, Stdio};

use crate::child::{Watch, WatchedChild};
use crate::wait::DEADLINE;

/// What `weft serve` logs (on stderr) once it listens, followed by the address.
pub const WEFT_SERVE_START: &str = "listening on http://";

/// The signal [`ServeChild::terminate`] sends: the graceful stop.
const SIGTERM: i32 = libc::SIGTERM;

/// A running server child and the address of its start line. Waiting for its lines, for its
/// exit and signalling it are [`WatchedChild`]'s (through `Deref`); dropping it kills it.
#[derive(Debug)]
pub struct ServeChild {
    child: WatchedChild,
    /// The address the start line named.
    pub addr: SocketAddr,
}

impl ServeChild {
    /// Spawns `command` with its `watch`ed output read line by line, and waits (up to
    /// [`DEADLINE`]) for the line containing `start`; the address follows `start` in it.
    pub fn spawn(command: Command, watch: Watch, start: &str) -> ServeChild {
        let mut child = WatchedChild::spawn(command, watch, DEADLINE);
        let line = child.wait_logged(|l| l.contains(start), &format!("the start line {start:?}"));
        let addr = line
            .split(start)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address after {start:?} in the start line {line:?}"));
        ServeChild { child, addr }
    }

    /// Runs `weft serve` with `args` (after `serve`): `bin` is the test's
    /// `env!("CARGO_BIN_EXE_weft")`. Its stderr (the log) is watched, its stdout discarded;
    /// returns once it logged [`WEFT_SERVE_START`].
    pub fn weft_serve<I, S>(bin: &str, args: I) -> ServeChild
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        ServeChild::spawn(command, Watch::Stderr, WEFT_SERVE_START)
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM and waits (up to [`DEADLINE`]) for the exit, reading the rest of the
    /// log into [`WatchedChild::log`].
    pub fn terminate(&mut self) -> ExitStatus {
        self.child.signal(SIGTERM);
        self.child.wait_exit()
    }
}

impl std::ops::Deref for ServeChild {
    type Target = WatchedChild;
    fn deref(&self) -> &WatchedChild {
        &self.child
    }
}

impl std::ops::DerefMut for ServeChild {
    fn deref_mut(&mut self) -> &mut WatchedChild {
        &mut self.child
    }
}
